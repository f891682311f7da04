// The 82574L's (qemu 7.2's e1000e) MSI-X Pending Bit Array read through the
// vfio-pci BAR3 region: with only vector 0 given an eventfd, causes IVAR
// routes to vectors 1 and 2 (masked in the table the host kernel programs)
// set their PBA bits; an IMS write of such a cause clears its vector's bit
// only while CTRL_EXT.PBA_CLR is set; PBA writes are ignored; a PBACLR
// write clears the bits it names; then what a disable and a re-enable of
// MSI-X with three eventfds does with bits still pending. Interrupt
// moderation and auto-masking are cleared first (not asserted on): the
// NIC keeps what an earlier client of the same boot left there; vfio1,
// whose interrupt moderation no earlier client of the boot touched (qemu
// 7.2 keeps an EITR timer's pending mark for good).
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"
#include <sys/eventfd.h>
#include <time.h>

#define BAR0 ((off_t)0)
#define BAR3 ((off_t)3 << 40)
#define PBA 0x2000
#define CFG ((off_t)7 << 40)
#define SET_IRQS _IO(VFIO_TYPE, VFIO_BASE + 10)
#define IRQ_DATA_NONE (1u << 0)
#define IRQ_DATA_EVENTFD (1u << 2)
#define IRQ_ACTION_TRIGGER (1u << 5)
#define IRQ_MSIX 2

enum { CTRL_EXT = 0x18, ICR = 0xc0, ITR = 0xc4, ICS = 0xc8, IMS = 0xd0, IMC = 0xd8, EIAC = 0xdc, IAM = 0xe0, IVAR = 0xe4, EITR0 = 0xe8, PBACLR = 0x5b68 };
#define LSC (1u << 2)
#define RXQ0 (1u << 20)
#define TXQ0 (1u << 22)
#define OTHER (1u << 24)
#define PBA_CLR (1u << 31)
/* CTRL_EXT bits an earlier client of the same boot may have left set */
#define EIAME (1u << 24)
#define IAME (1u << 27)
#define INT_TIMERS_CLEAR_ENA (1u << 29)

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

static unsigned long long irqs(int v)
{
	__u64 n = 0;

	if (read(efd[v], &n, 8) != 8)
		return 0;
	return n;
}

static void pba(const char *what)
{
	__u64 v = 0;
	ssize_t n;

	sleep_ms(20);
	n = pread(dev, &v, 8, BAR3 + PBA);
	if (n != 8)
		printf("%s: PBA pread %zd %s\n", what, n, errno_name(errno));
	else
		printf("%s: PBA 0x%016llx\n", what, (unsigned long long)v);
}

static void vectors(const char *what)
{
	unsigned long long a = irqs(0), b = irqs(1), c = irqs(2);

	printf("%s: vector interrupts %llu %llu %llu\n", what, a, b, c);
}

static int set_msix(int count)
{
	struct { __u32 argsz, flags, index, start, count; __s32 fd[3]; } s = {
		.argsz = sizeof(s), .flags = IRQ_DATA_EVENTFD | IRQ_ACTION_TRIGGER,
		.index = IRQ_MSIX, .start = 0, .count = count, .fd = { efd[0], efd[1], efd[2] },
	};

	if (!count) {
		s.argsz = 20;
		s.flags = IRQ_DATA_NONE | IRQ_ACTION_TRIGGER;
	}
	return xioctl(dev, SET_IRQS, &s);
}

int main(void)
{
	int fd = iofd_open();
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };
	__u64 ones = ~0ull;
	__u32 ext;
	__u16 c = 0;
	int i;

	dev = open("/dev/vfio/devices/vfio1", O_RDWR);
	step("open vfio1", dev < 0 ? -errno : 0, NULL);
	b.iommufd = fd;
	step("bind vfio1", xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b), NULL);
	pread(dev, &c, 2, CFG + 4);
	c |= 0x6; /* memory, bus master */
	pwrite(dev, &c, 2, CFG + 4);
	for (i = 0; i < 3; i++)
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	note("MSI-X with an eventfd for vector 0 only");
	step("SET_IRQS MSI-X vector 0", set_msix(1), NULL);
	wr(IMC, 0xffffffff);
	wr(ICR, 0xffffffff);
	/* no moderation or auto-masking left over from an earlier client */
	wr(ITR, 0);
	for (i = 0; i < 5; i++)
		wr(EITR0 + 4 * i, 0);
	wr(IAM, 0);
	wr(EIAC, 0);
	ext = rd(CTRL_EXT) & ~(EIAME | IAME | INT_TIMERS_CLEAR_ENA);
	wr(CTRL_EXT, ext & ~PBA_CLR);
	/* a vector an earlier client left pending fired when MSI-X came on: drain it */
	sleep_ms(20);
	for (i = 0; i < 3; i++)
		irqs(i);
	wr(IVAR, 0x8 | (0x9 << 8) | (0xa << 16)); /* RXQ0 -> 0, TXQ0 -> 1, OTHER -> 2 */
	wr(IMS, RXQ0 | TXQ0 | OTHER | LSC);
	pba("start");
	wr(ICS, TXQ0);
	pba("ICS TXQ0 (vector 1)");
	wr(ICS, LSC);
	pba("ICS LSC (OTHER, vector 2)");
	wr(ICS, RXQ0);
	pba("ICS RXQ0 (vector 0)");
	vectors("so far");
	wr(IMS, TXQ0);
	pba("IMS TXQ0, PBA_CLR off");
	wr(CTRL_EXT, ext | PBA_CLR);
	wr(IMS, LSC);
	pba("IMS LSC, PBA_CLR on");
	wr(IMS, TXQ0);
	pba("IMS TXQ0, PBA_CLR on");
	if (pwrite(dev, &ones, 8, BAR3 + PBA) != 8)
		printf("PBA pwrite: %s\n", errno_name(errno));
	pba("PBA written with ones");
	wr(PBACLR, 0x4);
	pba("PBACLR 0x4");
	printf("PBACLR 0x%08x\n", rd(PBACLR));

	note("pending again, then MSI-X off and on with three eventfds");
	sleep_ms(50);
	wr(ICR, 0xffffffff);
	wr(ICS, TXQ0 | OTHER);
	pba("ICS TXQ0|OTHER");
	vectors("so far");
	step("SET_IRQS MSI-X off", set_msix(0), NULL);
	pba("MSI-X off");
	step("SET_IRQS MSI-X vectors 0-2", set_msix(3), NULL);
	pba("MSI-X vectors 0-2");
	vectors("after enabling");
	wr(IMC, 0xffffffff);
	wr(ICR, 0xffffffff);
	wr(CTRL_EXT, ext);
	wr(IVAR, 0);
	step("SET_IRQS MSI-X off", set_msix(0), NULL);
	return 0;
}
