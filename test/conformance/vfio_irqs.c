// vfio-pci's interrupts for qemu's e1000e: VFIO_DEVICE_GET_IRQ_INFO and
// VFIO_DEVICE_SET_IRQS for INTx, MSI, MSI-X, ERR and REQ: the header
// validation, DATA_NONE/BOOL/EVENTFD, MASK/UNMASK/TRIGGER, eventfd -1 to
// tear a vector down, count 0 with DATA_NONE to disable, eventfds for no
// vectors (ERANGE while off), loopback triggers
// read back from the eventfds, INTx disabled in the command register, and
// everything gone after the device file is closed.
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"
#include <sys/eventfd.h>

#define CFG ((off_t)((__u64)7 << 40))
#define SET_IRQS _IO(VFIO_TYPE, VFIO_BASE + 10)
#define GET_IRQ_INFO _IO(VFIO_TYPE, VFIO_BASE + 9)

#define DATA_NONE (1 << 0)
#define DATA_BOOL (1 << 1)
#define DATA_EVENTFD (1 << 2)
#define ACT_MASK (1 << 3)
#define ACT_UNMASK (1 << 4)
#define ACT_TRIGGER (1 << 5)

enum { INTX, MSI, MSIX, ERR, REQ };

struct irq_info {
	__u32 argsz;
	__u32 flags;
	__u32 index;
	__u32 count;
};

struct irq_set {
	__u32 argsz;
	__u32 flags;
	__u32 index;
	__u32 start;
	__u32 count;
	__u8 data[64];
};

static int dev;

static int set_irqs(__u32 argsz, __u32 flags, __u32 index, __u32 start,
		    __u32 count, const void *data, size_t len)
{
	struct irq_set s;

	memset(&s, 0, sizeof(s));
	s.argsz = argsz;
	s.flags = flags;
	s.index = index;
	s.start = start;
	s.count = count;
	if (data)
		memcpy(s.data, data, len);
	return xioctl(dev, SET_IRQS, &s);
}

/* SET_IRQS with count eventfds (or -1s) */
static int set_fds(__u32 index, __u32 start, __u32 count, const int *fds)
{
	return set_irqs(20 + 4 * count, DATA_EVENTFD | ACT_TRIGGER, index, start,
			count, fds, 4 * count);
}

static int set_none(__u32 action, __u32 index, __u32 start, __u32 count)
{
	return set_irqs(20, DATA_NONE | action, index, start, count, NULL, 0);
}

static int set_bools(__u32 action, __u32 index, __u32 start, __u32 count,
		     const __u8 *b)
{
	return set_irqs(20 + count, DATA_BOOL | action, index, start, count, b,
			count);
}

static int efd_new(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/* What a read of the eventfd gives now: its count, or the errno. */
static const char *efd_read(int fd)
{
	static char b[8][32];
	static int n;
	char *s = b[n++ & 7];
	__u64 v = 0;

	if (read(fd, &v, 8) != 8)
		snprintf(s, 32, "%s", errno_name(errno));
	else
		snprintf(s, 32, "count=%llu", (unsigned long long)v);
	return s;
}

static void irq_info(__u32 index, __u32 argsz)
{
	struct irq_info i = { .argsz = argsz, .index = index, .flags = 0x5a,
			      .count = 0x5a };
	int rc = xioctl(dev, GET_IRQ_INFO, &i);

	step_ok(L("irq_info index %u argsz %u", index, argsz), rc,
		"flags=0x%x count=%u", i.flags, i.count);
}

static int open_dev(int iofd)
{
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = iofd };
	int d = open("/dev/vfio/devices/vfio0", O_RDWR);

	if (d < 0 || xioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &b)) {
		printf("open and bind vfio0: %s\n", errno_name(errno));
		exit(1);
	}
	return d;
}

static void cmd_write(__u16 v)
{
	step(L("config command = 0x%04x", v),
	     pwrite(dev, &v, 2, CFG + 4) == 2 ? 0 : -errno, NULL);
}

int main(void)
{
	int iofd = iofd_open();
	int e0 = efd_new(), e1 = efd_new(), e2 = efd_new(), e3 = efd_new();
	int e4 = efd_new(), nullfd = open("/dev/null", O_RDWR);
	int fds[8], i, rc;
	__u8 b[8];
	__u16 cmd = 0;

	dev = open_dev(iofd);
	if (pread(dev, &cmd, 2, CFG + 4) != 2)
		printf("config read: %s\n", errno_name(errno));

	note("irq info");
	for (i = 0; i <= 5; i++)
		irq_info(i, 16);
	irq_info(0, 12);
	irq_info(2, 32);

	note("set_irqs header");
	step("argsz 19", set_irqs(19, DATA_NONE | ACT_TRIGGER, INTX, 0, 1, NULL, 0), NULL);
	step("index 5", set_irqs(20, DATA_NONE | ACT_TRIGGER, 5, 0, 1, NULL, 0), NULL);
	step("index 9", set_irqs(20, DATA_NONE | ACT_TRIGGER, 9, 0, 1, NULL, 0), NULL);
	step("flags 0x40", set_irqs(20, 0x40 | DATA_NONE | ACT_TRIGGER, INTX, 0, 1, NULL, 0), NULL);
	step("no data type", set_irqs(20, ACT_TRIGGER, INTX, 0, 1, NULL, 0), NULL);
	step("two data types", set_irqs(20, DATA_NONE | DATA_BOOL | ACT_TRIGGER, INTX, 0, 1, NULL, 0), NULL);
	step("no action", set_irqs(20, DATA_NONE, INTX, 0, 1, NULL, 0), NULL);
	step("two actions", set_irqs(20, DATA_NONE | ACT_MASK | ACT_UNMASK, INTX, 0, 1, NULL, 0), NULL);
	step("INTx start 1", set_none(ACT_TRIGGER, INTX, 1, 1), NULL);
	step("INTx count 2", set_none(ACT_TRIGGER, INTX, 0, 2), NULL);
	step("count 0xffffffff", set_none(ACT_TRIGGER, INTX, 0, 0xffffffff), NULL);
	step("start 0xffffffff", set_none(ACT_TRIGGER, MSIX, 0xffffffff, 1), NULL);
	step("MSI-X start 4 count 2", set_none(ACT_TRIGGER, MSIX, 4, 2), NULL);
	step("MSI-X start 5 count 0", set_none(ACT_TRIGGER, MSIX, 5, 0), NULL);
	step("eventfd argsz 23", set_irqs(23, DATA_EVENTFD | ACT_TRIGGER, INTX, 0, 1, &e0, 4), NULL);
	step("bool argsz 20", set_irqs(20, DATA_BOOL | ACT_TRIGGER, INTX, 0, 1, NULL, 0), NULL);
	step("MSI mask", set_none(ACT_MASK, MSI, 0, 1), NULL);
	step("MSI-X unmask", set_none(ACT_UNMASK, MSIX, 0, 1), NULL);
	step("ERR mask", set_none(ACT_MASK, ERR, 0, 1), NULL);
	step("REQ unmask", set_none(ACT_UNMASK, REQ, 0, 1), NULL);

	note("INTx");
	step("trigger before enable", set_none(ACT_TRIGGER, INTX, 0, 1), NULL);
	step("mask before enable", set_none(ACT_MASK, INTX, 0, 1), NULL);
	step("unmask before enable", set_none(ACT_UNMASK, INTX, 0, 1), NULL);
	step("disable before enable", set_none(ACT_TRIGGER, INTX, 0, 0), NULL);
	fds[0] = 999;
	step("eventfd 999", set_fds(INTX, 0, 1, fds), NULL);
	fds[0] = nullfd;
	step("eventfd /dev/null", set_fds(INTX, 0, 1, fds), NULL);
	fds[0] = -1;
	step("eventfd -1 (enable without a trigger)", set_fds(INTX, 0, 1, fds), NULL);
	step("trigger without an eventfd", set_none(ACT_TRIGGER, INTX, 0, 1), NULL);
	fds[0] = e0;
	step("eventfd", set_fds(INTX, 0, 1, fds), NULL);
	rc = 0;
	step("read before any trigger", rc, "%s", efd_read(e0));
	rc = set_none(ACT_TRIGGER, INTX, 0, 1);
	step("trigger", rc, "%s", efd_read(e0));
	rc = set_none(ACT_TRIGGER, INTX, 0, 1) ?: set_none(ACT_TRIGGER, INTX, 0, 1);
	step("trigger twice", rc, "%s", efd_read(e0));
	b[0] = 0;
	rc = set_bools(ACT_TRIGGER, INTX, 0, 1, b);
	step("trigger bool 0", rc, "%s", efd_read(e0));
	b[0] = 1;
	rc = set_bools(ACT_TRIGGER, INTX, 0, 1, b);
	step("trigger bool 1", rc, "%s", efd_read(e0));
	step("mask", set_none(ACT_MASK, INTX, 0, 1), NULL);
	step("mask again", set_none(ACT_MASK, INTX, 0, 1), NULL);
	rc = set_none(ACT_TRIGGER, INTX, 0, 1);
	step("trigger while masked", rc, "%s", efd_read(e0));
	rc = set_none(ACT_UNMASK, INTX, 0, 1);
	step("unmask", rc, "%s", efd_read(e0));
	b[0] = 1;
	step("mask bool 1", set_bools(ACT_MASK, INTX, 0, 1, b), NULL);
	rc = set_bools(ACT_UNMASK, INTX, 0, 1, b);
	step("unmask bool 1", rc, "%s", efd_read(e0));
	fds[0] = e1;
	step("mask eventfd", set_irqs(24, DATA_EVENTFD | ACT_MASK, INTX, 0, 1, fds, 4), NULL);
	step("unmask eventfd", set_irqs(24, DATA_EVENTFD | ACT_UNMASK, INTX, 0, 1, fds, 4), NULL);
	fds[0] = -1;
	step("unmask eventfd -1", set_irqs(24, DATA_EVENTFD | ACT_UNMASK, INTX, 0, 1, fds, 4), NULL);
	cmd_write(cmd | 0x400);
	rc = set_none(ACT_TRIGGER, INTX, 0, 1);
	step("trigger with INTx disabled", rc, "%s", efd_read(e0));
	cmd_write(cmd);
	rc = set_none(ACT_TRIGGER, INTX, 0, 1);
	step("trigger with INTx enabled", rc, "%s", efd_read(e0));
	fds[0] = e1;
	step("swap the eventfd", set_fds(INTX, 0, 1, fds), NULL);
	rc = set_none(ACT_TRIGGER, INTX, 0, 1);
	step("trigger", rc, "old %s new %s", efd_read(e0), efd_read(e1));
	fds[0] = -1;
	step("eventfd -1", set_fds(INTX, 0, 1, fds), NULL);
	rc = set_none(ACT_TRIGGER, INTX, 0, 1);
	step("trigger without an eventfd", rc, "%s", efd_read(e1));
	fds[0] = e0;
	step("MSI while INTx", set_fds(MSI, 0, 1, fds), NULL);
	step("MSI trigger while INTx", set_none(ACT_TRIGGER, MSI, 0, 1), NULL);
	step("MSI disable while INTx", set_none(ACT_TRIGGER, MSI, 0, 0), NULL);
	step("disable", set_none(ACT_TRIGGER, INTX, 0, 0), NULL);
	step("disable again", set_none(ACT_TRIGGER, INTX, 0, 0), NULL);
	step("trigger after disable", set_none(ACT_TRIGGER, INTX, 0, 1), NULL);

	note("MSI");
	fds[0] = e0;
	step("eventfd", set_fds(MSI, 0, 1, fds), NULL);
	rc = set_none(ACT_TRIGGER, MSI, 0, 1);
	step("trigger", rc, "%s", efd_read(e0));
	b[0] = 1;
	rc = set_bools(ACT_TRIGGER, MSI, 0, 1, b);
	step("trigger bool 1", rc, "%s", efd_read(e0));
	step("INTx while MSI", set_fds(INTX, 0, 1, fds), NULL);
	step("MSI-X while MSI", set_fds(MSIX, 0, 1, fds), NULL);
	fds[0] = -1;
	step("eventfd -1", set_fds(MSI, 0, 1, fds), NULL);
	rc = set_none(ACT_TRIGGER, MSI, 0, 1);
	step("trigger without an eventfd", rc, "%s", efd_read(e0));
	fds[0] = e1;
	step("eventfd again", set_fds(MSI, 0, 1, fds), NULL);
	rc = set_none(ACT_TRIGGER, MSI, 0, 1);
	step("trigger", rc, "%s", efd_read(e1));
	step("disable", set_none(ACT_TRIGGER, MSI, 0, 0), NULL);
	step("trigger after disable", set_none(ACT_TRIGGER, MSI, 0, 1), NULL);
	fds[0] = -1;
	step("eventfd -1 while disabled", set_fds(MSI, 0, 1, fds), NULL);
	step("trigger (enabled with no vectors)", set_none(ACT_TRIGGER, MSI, 0, 1), NULL);
	step("disable", set_none(ACT_TRIGGER, MSI, 0, 0), NULL);

	note("MSI-X");
	fds[0] = e0; fds[1] = e1; fds[2] = e2;
	step("eventfds 0-2", set_fds(MSIX, 0, 3, fds), NULL);
	rc = set_none(ACT_TRIGGER, MSIX, 1, 1);
	step("trigger 1", rc, "%s %s %s", efd_read(e0), efd_read(e1), efd_read(e2));
	b[0] = 1; b[1] = 0; b[2] = 1; b[3] = 1;
	rc = set_bools(ACT_TRIGGER, MSIX, 0, 4, b);
	step("trigger bools 1,0,1,1", rc, "%s %s %s", efd_read(e0), efd_read(e1), efd_read(e2));
	fds[0] = e3; fds[1] = e4;
	step("eventfds 3-4 (growing)", set_fds(MSIX, 3, 2, fds), NULL);
	rc = set_none(ACT_TRIGGER, MSIX, 0, 5);
	step("trigger all", rc, "%s %s %s %s %s", efd_read(e0), efd_read(e1), efd_read(e2), efd_read(e3), efd_read(e4));
	fds[0] = e2; fds[1] = 999;
	step("eventfds 3-4 = e2, 999", set_fds(MSIX, 3, 2, fds), NULL);
	rc = set_none(ACT_TRIGGER, MSIX, 0, 5);
	step("trigger all", rc, "%s %s %s %s %s", efd_read(e0), efd_read(e1), efd_read(e2), efd_read(e3), efd_read(e4));
	fds[0] = -1; fds[1] = e4;
	step("eventfds 1-2 = -1, e4", set_fds(MSIX, 1, 2, fds), NULL);
	rc = set_none(ACT_TRIGGER, MSIX, 0, 5);
	step("trigger all", rc, "%s %s %s %s %s", efd_read(e0), efd_read(e1), efd_read(e2), efd_read(e3), efd_read(e4));
	fds[0] = nullfd;
	step("eventfd /dev/null", set_fds(MSIX, 0, 1, fds), NULL);
	rc = set_none(ACT_TRIGGER, MSIX, 0, 5);
	step("trigger all", rc, "%s %s %s %s %s", efd_read(e0), efd_read(e1), efd_read(e2), efd_read(e3), efd_read(e4));
	step("disable", set_none(ACT_TRIGGER, MSIX, 0, 0), NULL);
	step("trigger after disable", set_none(ACT_TRIGGER, MSIX, 0, 1), NULL);
	fds[0] = e0; fds[1] = e0;
	step("one eventfd for two vectors", set_fds(MSIX, 0, 2, fds), NULL);
	rc = set_none(ACT_TRIGGER, MSIX, 0, 2);
	step("trigger both", rc, "%s", efd_read(e0));
	step("disable", set_none(ACT_TRIGGER, MSIX, 0, 0), NULL);

	note("eventfds for no vectors (nvec = start + count)");
	for (i = MSI; i <= MSIX; i++) {
		const char *n = i == MSI ? "MSI" : "MSI-X";

		step(L("%s eventfd count 0 while off", n),
		     set_irqs(20, DATA_EVENTFD | ACT_TRIGGER, i, 0, 0, NULL, 0), NULL);
		step(L("%s trigger after it", n), set_none(ACT_TRIGGER, i, 0, 1), NULL);
		step(L("%s disable after it", n), set_none(ACT_TRIGGER, i, 0, 0), NULL);
	}
	step("MSI-X eventfd start 1 count 0 while off",
	     set_irqs(20, DATA_EVENTFD | ACT_TRIGGER, MSIX, 1, 0, NULL, 0), NULL);
	step("MSI-X trigger 0 after it", set_none(ACT_TRIGGER, MSIX, 0, 1), NULL);
	step("MSI-X eventfd count 0 while on",
	     set_irqs(20, DATA_EVENTFD | ACT_TRIGGER, MSIX, 0, 0, NULL, 0), NULL);
	step("MSI while MSI-X is on", set_irqs(20, DATA_EVENTFD | ACT_TRIGGER, MSI, 0, 0, NULL, 0), NULL);
	step("disable", set_none(ACT_TRIGGER, MSIX, 0, 0), NULL);

	note("ERR and REQ");
	for (i = ERR; i <= REQ; i++) {
		const char *n = i == ERR ? "ERR" : "REQ";

		step(L("%s trigger without an eventfd", n), set_none(ACT_TRIGGER, i, 0, 1), NULL);
		step(L("%s disable without an eventfd", n), set_none(ACT_TRIGGER, i, 0, 0), NULL);
		b[0] = 1;
		step(L("%s bool without an eventfd", n), set_bools(ACT_TRIGGER, i, 0, 1, b), NULL);
		step(L("%s bool count 0", n), set_bools(ACT_TRIGGER, i, 0, 0, b), NULL);
		fds[0] = e0;
		step(L("%s eventfd count 0", n), set_irqs(24, DATA_EVENTFD | ACT_TRIGGER, i, 0, 0, fds, 4), NULL);
		fds[0] = -2;
		step(L("%s eventfd -2", n), set_fds(i, 0, 1, fds), NULL);
		fds[0] = 999;
		step(L("%s eventfd 999", n), set_fds(i, 0, 1, fds), NULL);
		fds[0] = nullfd;
		step(L("%s eventfd /dev/null", n), set_fds(i, 0, 1, fds), NULL);
		fds[0] = e0;
		step(L("%s eventfd", n), set_fds(i, 0, 1, fds), NULL);
		rc = set_none(ACT_TRIGGER, i, 0, 1);
		step(L("%s trigger", n), rc, "%s", efd_read(e0));
		b[0] = 0;
		rc = set_bools(ACT_TRIGGER, i, 0, 1, b);
		step(L("%s bool 0", n), rc, "%s", efd_read(e0));
		b[0] = 1;
		rc = set_bools(ACT_TRIGGER, i, 0, 1, b);
		step(L("%s bool 1", n), rc, "%s", efd_read(e0));
		step(L("%s disable", n), set_none(ACT_TRIGGER, i, 0, 0), NULL);
		step(L("%s trigger after disable", n), set_none(ACT_TRIGGER, i, 0, 1), NULL);
		fds[0] = e1;
		step(L("%s eventfd again", n), set_fds(i, 0, 1, fds), NULL);
		fds[0] = -1;
		step(L("%s eventfd -1", n), set_fds(i, 0, 1, fds), NULL);
		step(L("%s trigger after -1", n), set_none(ACT_TRIGGER, i, 0, 1), NULL);
	}

	note("close tears down");
	fds[0] = e0;
	rc = set_fds(MSIX, 0, 1, fds);
	fds[0] = e1;
	rc = rc ?: set_fds(ERR, 0, 1, fds);
	fds[0] = e2;
	rc = rc ?: set_fds(REQ, 0, 1, fds);
	step("MSI-X, ERR and REQ eventfds", rc, NULL);
	close(dev);
	dev = open_dev(iofd);
	step("MSI-X trigger after reopen", set_none(ACT_TRIGGER, MSIX, 0, 1), NULL);
	step("ERR trigger after reopen", set_none(ACT_TRIGGER, ERR, 0, 1), NULL);
	step("REQ trigger after reopen", set_none(ACT_TRIGGER, REQ, 0, 1), NULL);
	fds[0] = e0;
	step("INTx after reopen", set_fds(INTX, 0, 1, fds), NULL);
	rc = set_none(ACT_TRIGGER, INTX, 0, 1);
	step("INTx trigger", rc, "%s %s %s", efd_read(e0), efd_read(e1), efd_read(e2));
	close(dev);
	return 0;
}
