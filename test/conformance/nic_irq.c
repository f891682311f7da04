// The 82574L's (qemu 7.2's e1000e) interrupt moderation registers and
// masks through vfio-pci: ITR, EITR, RDTR, RADV, TADV, TIDV, RAID read-backs
// (the guest's value, 16 bits, FPD not kept, TIDV unreadable); under MSI-X
// with three eventfds and the Linux driver's setup (EIAME and PBA_CLR, IAME
// off, IAM, EIAC): no message without bus mastering, LSC to the other vector, EIAME clearing IAM, the
// driver's ICR read + IMS write with LSC still pending raising nothing, the
// ICR write of OTHER, EIAC's auto-clear of a queue cause (ICR, IMS, and the
// ICS copy), EITR throttling a burst to one interrupt now and one at the end
// of the interval; then a PHY autonegotiation restart (link down, up 500 ms
// later with LSC and flow control).
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>

#define BAR0 ((off_t)0)
#define CFG ((off_t)7 << 40)
#define SET_IRQS _IO(VFIO_TYPE, VFIO_BASE + 10)
#define IRQ_DATA_NONE (1u << 0)
#define IRQ_DATA_EVENTFD (1u << 2)
#define IRQ_ACTION_TRIGGER (1u << 5)
#define IRQ_MSIX 2

enum {
	CTRL = 0x0, STATUS = 0x8, CTRL_EXT = 0x18, MDIC = 0x20,
	ICR = 0xc0, ITR = 0xc4, ICS = 0xc8, IMS = 0xd0, IMC = 0xd8, EIAC = 0xdc, IAM = 0xe0,
	IVAR = 0xe4, EITR = 0xe8, RDTR = 0x2820, RADV = 0x282c, RAID = 0x2c08, TIDV = 0x3820, TADV = 0x382c,
};
#define LSC (1u << 2)
#define RXQ0 (1u << 20)
#define RXQ1 (1u << 21)
#define TXQ0 (1u << 22)
#define TXQ1 (1u << 23)
#define OTHER (1u << 24)
#define EIAME (1u << 24)
#define IAME (1u << 27)
#define PBA_CLR (1u << 31)

static int dev;
static int efd[3];

static __u32 rd(unsigned int off)
{
	__u32 v = 0;

	if (pread(dev, &v, 4, BAR0 + off) != 4)
		printf("pread 0x%05x: %s\n", off, errno_name(errno));
	return v;
}

static void wr(unsigned int off, __u32 v)
{
	if (pwrite(dev, &v, 4, BAR0 + off) != 4)
		printf("pwrite 0x%05x: %s\n", off, errno_name(errno));
}

static void sleep_ms(int ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

/* Interrupts on vector `v` since the last call (the eventfd's counter). */
static unsigned long long irqs(int v)
{
	__u64 n = 0;

	if (read(efd[v], &n, 8) != 8)
		return 0;
	return n;
}

static __u32 mdic(__u32 op, unsigned int reg, __u32 data)
{
	wr(MDIC, op << 26 | 1u << 21 | reg << 16 | data);
	return rd(MDIC);
}

static void show(const char *what, unsigned int off)
{
	__u32 v = rd(off);

	printf("%s 0x%08x\n", what, v);
}

static void vectors(const char *what)
{
	unsigned long long a = irqs(0), b = irqs(1), c = irqs(2);

	printf("%s: vector interrupts %llu %llu %llu\n", what, a, b, c);
}

/* PCI_COMMAND: memory (0x2), bus master (0x4). */
static void command(__u16 bits)
{
	__u16 c = 0;

	pread(dev, &c, 2, CFG + 4);
	c = (c & ~0x6) | bits;
	pwrite(dev, &c, 2, CFG + 4);
}

static void readback(const char *name, unsigned int off, __u32 v)
{
	__u32 r;

	wr(off, v);
	r = rd(off);
	printf("%s write 0x%08x reads 0x%08x\n", name, v, r);
}

static void timers(void)
{
	static const __u32 vals[] = { 0, 100, 500, 1000, 0x12345, 0xffffffff };
	unsigned int i, k;

	note("moderation registers");
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		readback("ITR", ITR, vals[i]);
	for (k = 0; k < 5; k++)
		readback(L("EITR%u", k), EITR + 4 * k, 1000 + k);
	readback("EITR0", EITR, 0x12345);
	readback("RDTR", RDTR, 0x80000010);
	readback("RDTR", RDTR, 0x12345);
	readback("RADV", RADV, 0x12345);
	readback("RAID", RAID, 0x12345);
	readback("TIDV", TIDV, 0x80000010);
	readback("TADV", TADV, 0x12345);
	for (k = 0; k < 5; k++)
		wr(EITR + 4 * k, 0);
	wr(ITR, 0);
	wr(RDTR, 0);
	wr(RADV, 0);
	wr(RAID, 0);
	wr(TIDV, 0);
	wr(TADV, 0);
}

static int set_msix(int count)
{
	struct { __u32 argsz, flags, index, start, count; __s32 fd[3]; } s = {
		.argsz = sizeof(s), .flags = IRQ_DATA_EVENTFD | IRQ_ACTION_TRIGGER,
		.index = IRQ_MSIX, .start = 0, .count = 3, .fd = { efd[0], efd[1], efd[2] },
	};

	if (!count) {
		s.argsz = 20;
		s.flags = IRQ_DATA_NONE | IRQ_ACTION_TRIGGER;
		s.count = 0;
	}
	return xioctl(dev, SET_IRQS, &s);
}

static void msix(void)
{
	__u32 ext;
	int i;

	note("MSI-X: RXQ0 -> 0, TXQ0 -> 1, OTHER -> 2, as Linux's e1000e sets it up");
	for (i = 0; i < 3; i++)
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	step("SET_IRQS MSI-X vectors 0-2", set_msix(3), NULL);
	wr(IMC, 0xffffffff);
	wr(ICR, 0xffffffff);
	printf("ICR after clearing 0x%08x\n", rd(ICR));
	wr(IVAR, 0x80000000 | 0x8 | (0x9 << 8) | (0xa << 16));
	wr(EIAC, RXQ0 | RXQ1 | TXQ0 | TXQ1);
	wr(IAM, ~(RXQ0 | RXQ1 | TXQ0 | TXQ1) | OTHER | LSC);
	ext = rd(CTRL_EXT);
	wr(CTRL_EXT, (ext & ~IAME) | EIAME | PBA_CLR);
	wr(IMS, RXQ0 | TXQ0 | OTHER | LSC);
	show("IVAR", IVAR);
	show("EIAC", EIAC);
	show("IAM", IAM);
	show("IMS", IMS);
	show("CTRL_EXT", CTRL_EXT);
	vectors("interrupts so far");

	wr(ICS, LSC);
	sleep_ms(20);
	vectors("bus master off, ICS LSC");
	wr(ICR, OTHER);
	command(0x6);
	wr(ICS, LSC);
	sleep_ms(20);
	vectors("bus master on, ICS LSC");
	show("IAM", IAM);
	show("IMS", IMS);
	show("ICS", ICS);
	for (i = 0; i < 50; i++) {
		__u32 icr = rd(ICR);

		if (i == 0 || i == 49)
			printf("other handler %d: ICR 0x%08x\n", i, icr);
		wr(IMS, OTHER | LSC);
	}
	sleep_ms(20);
	vectors("50 ICR reads and IMS OTHER|LSC writes");
	show("IMS", IMS);
	show("IAM", IAM);
	wr(ICR, OTHER);
	show("after the ICR write of OTHER: ICR", ICR);
	wr(ICS, LSC);
	sleep_ms(20);
	vectors("ICS LSC again");
	wr(ICR, OTHER);

	note("EIAC auto-clear of RXQ0");
	wr(ICS, RXQ0);
	sleep_ms(20);
	vectors("ICS RXQ0");
	show("IMS", IMS);
	show("ICS", ICS);
	show("ICR", ICR);
	show("ICR again", ICR);

	note("EITR0 0xffff (16.8 ms): five RXQ0 causes in a row");
	wr(EITR, 0xffff);
	sleep_ms(200); /* the interval the last interrupt started is over */
	for (i = 0; i < 5; i++) {
		wr(IMS, RXQ0);
		wr(ICS, RXQ0);
	}
	sleep_ms(4); /* the interrupt reaches the eventfd; the 16.8 ms interval still runs */
	printf("within the interval: vector 0 interrupts %llu\n", irqs(0));
	sleep_ms(200);
	printf("after the interval: vector 0 interrupts %llu\n", irqs(0));
	sleep_ms(200);
	printf("later: vector 0 interrupts %llu\n", irqs(0));
	wr(EITR, 0);
	wr(IMC, 0xffffffff);
	wr(ICR, 0xffffffff);
	rd(ICR);
	wr(CTRL_EXT, ext);
	wr(IVAR, 0);
	wr(EIAC, 0);
	wr(IAM, 0);
	step("SET_IRQS MSI-X off", set_msix(0), NULL);
	for (i = 0; i < 3; i++)
		close(efd[i]);
}

static void phy(const char *what, unsigned int reg)
{
	__u32 v = mdic(2, reg, 0);

	printf("%s 0x%04x\n", what, v & 0xffff);
}

static void autoneg(void)
{
	__u32 ctrl;

	note("PHY: restart autonegotiation");
	wr(IMC, 0xffffffff);
	rd(ICR);
	show("STATUS", STATUS);
	phy("PHY status", 1);
	ctrl = rd(CTRL);
	wr(CTRL, ctrl & ~(3u << 27));
	mdic(1, 0, 0x1000 | 0x0200 | 0x0100 | 0x0040);
	phy("PHY control", 0);
	note("at once");
	show("STATUS", STATUS);
	phy("PHY status", 1);
	phy("PHY LP ability", 5);
	sleep_ms(1500);
	note("after 1.5 s");
	show("STATUS", STATUS);
	phy("PHY status", 1);
	phy("PHY LP ability", 5);
	printf("CTRL.RFCE|TFCE 0x%08x\n", rd(CTRL) & (3u << 27));
	show("ICR", ICR);
	wr(CTRL, ctrl);
}

int main(void)
{
	int fd = iofd_open();
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };
	__u16 c = 0;

	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	step("open vfio0", dev < 0 ? -errno : 0, NULL);
	b.iommufd = fd;
	step("bind vfio0", xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b), NULL);
	pread(dev, &c, 2, CFG + 4);
	printf("command 0x%04x\n", c);
	command(0x2);
	timers();
	msix();
	autoneg();
	return 0;
}
