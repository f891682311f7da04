// vfio-pci's VFIO_DEVICE_PCI_HOT_RESET (the header rules for a cdev and a
// group's device file; then no slot or bus reset for a function on the root
// bus) and VFIO_DEVICE_IOEVENTFD registration: the header, the size flag,
// the region and offset rules, the MSI-X table, fd -1 to remove, EEXIST,
// ENODEV, and the limit of 1000 per device.
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"
#include <sys/eventfd.h>

#define HOT_RESET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)
#define HOT_RESET _IO(VFIO_TYPE, VFIO_BASE + 13)
#define IOEVENTFD _IO(VFIO_TYPE, VFIO_BASE + 16)
#define REGION(i) ((__u64)(i) << 40)

struct hot_reset {
	__u32 argsz;
	__u32 flags;
	__u32 count;
	__s32 group_fds[4];
};

struct ioeventfd {
	__u32 argsz;
	__u32 flags;
	__u64 offset;
	__u64 data;
	__s32 fd;
	__u32 reserved;
};

struct vfio_group_status {
	__u32 argsz;
	__u32 flags;
};

static int hot_reset(int d, __u32 argsz, __u32 flags, __u32 count, int gfd)
{
	struct hot_reset h = { .argsz = argsz, .flags = flags, .count = count };

	h.group_fds[0] = gfd;
	return xioctl(d, HOT_RESET, &h);
}

static int ioevent(int d, __u32 argsz, __u32 flags, __u64 off, __u64 data, int fd)
{
	struct ioeventfd e = {
		.argsz = argsz, .flags = flags, .offset = off, .data = data, .fd = fd,
	};

	return xioctl(d, IOEVENTFD, &e);
}

int main(void)
{
	int io = iofd_open(), d, g, c, gd, e = eventfd(0, EFD_CLOEXEC), i, rc;
	int nullfd = open("/dev/null", O_RDWR);
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = io };

	note("hot reset, cdev");
	d = open("/dev/vfio/devices/vfio0", O_RDWR);
	step("hot reset unbound", hot_reset(d, 12, 0, 0, -1), NULL);
	step("bind", xioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &b), NULL);
	step("hot reset argsz 11", hot_reset(d, 11, 0, 0, -1), NULL);
	step("hot reset flags 1", hot_reset(d, 12, 1, 0, -1), NULL);
	step("hot reset count 1", hot_reset(d, 16, 0, 1, -1), NULL);
	step("hot reset count 0", hot_reset(d, 12, 0, 0, -1), NULL);

	note("ioeventfd");
	step("argsz 27", ioevent(d, 27, 4, 0, 0, e), NULL);
	step("argsz 28", ioevent(d, 28, 4, 0x100, 0, e), NULL);
	step("remove it", ioevent(d, 32, 4, 0x100, 0, -1), NULL);
	step("flags 0x10", ioevent(d, 32, 0x14, 0, 0, e), NULL);
	step("flags 0", ioevent(d, 32, 0, 0, 0, e), NULL);
	step("flags 3", ioevent(d, 32, 3, 0, 0, e), NULL);
	step("8 bytes", ioevent(d, 32, 8, 0, 0, e), NULL);
	step("fd -2", ioevent(d, 32, 4, 0, 0, -2), NULL);
	step("fd 999", ioevent(d, 32, 4, 0, 0, 999), NULL);
	step("fd /dev/null", ioevent(d, 32, 4, 0, 0, nullfd), NULL);
	step("config region", ioevent(d, 32, 4, REGION(7), 0, e), NULL);
	step("ROM region", ioevent(d, 32, 4, REGION(6), 0, e), NULL);
	step("BAR4 (none)", ioevent(d, 32, 4, REGION(4), 0, e), NULL);
	step("BAR0 last 4 bytes", ioevent(d, 32, 4, REGION(0) + 0x1fffc, 0, e), NULL);
	step("BAR0 past the end", ioevent(d, 32, 4, REGION(0) + 0x1fffe, 0, e), NULL);
	step("BAR0 offset 1, 2 bytes", ioevent(d, 32, 2, REGION(0) + 1, 0, e), NULL);
	step("BAR2 (I/O)", ioevent(d, 32, 1, REGION(2) + 4, 0, e), NULL);
	step("BAR3 MSI-X table", ioevent(d, 32, 4, REGION(3), 0, e), NULL);
	step("BAR3 past the table", ioevent(d, 32, 4, REGION(3) + 0x2000, 0, e), NULL);
	step("BAR0 0x2800", ioevent(d, 32, 4, REGION(0) + 0x2800, 7, e), NULL);
	step("BAR0 0x2800 again", ioevent(d, 32, 4, REGION(0) + 0x2800, 7, e), NULL);
	step("BAR0 0x2800 other data", ioevent(d, 32, 4, REGION(0) + 0x2800, 8, e), NULL);
	step("BAR0 0x2800 2 bytes", ioevent(d, 32, 2, REGION(0) + 0x2800, 7, e), NULL);
	step("remove 0x2800 data 7", ioevent(d, 32, 4, REGION(0) + 0x2800, 7, -1), NULL);
	step("remove it again", ioevent(d, 32, 4, REGION(0) + 0x2800, 7, -1), NULL);
	step("remove with another eventfd", ioevent(d, 32, 4, REGION(0) + 0x2800, 8, nullfd), NULL);
	rc = 0;
	for (i = 0; i < 1100 && rc == 0; i++)
		rc = ioevent(d, 32, 4, REGION(0) + 0x3000, 1000 + i, e);
	step("register until it fails", rc, "registered=%d", i - 1);
	step("remove one", ioevent(d, 32, 4, REGION(0) + 0x3000, 1000, -1), NULL);
	step("one more", ioevent(d, 32, 4, REGION(0) + 0x3000, 5000, e), NULL);
	close(d);
	d = open("/dev/vfio/devices/vfio0", O_RDWR);
	step("bind again", xioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &b), NULL);
	step("after reopen: remove one", ioevent(d, 32, 4, REGION(0) + 0x3000, 1001, -1), NULL);
	step("after reopen: register", ioevent(d, 32, 4, REGION(0) + 0x3000, 1001, e), NULL);

	note("ioeventfd writes");
	{
		__u16 cmd = 0;
		__u32 v = 0;
		__u64 one = 1, cnt = 0;
		int w = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		step("config command", pread(d, &cmd, 2, REGION(7) + 4) == 2 ? 0 : -errno, NULL);
		cmd |= 2; /* memory decoding on */
		step("memory on", pwrite(d, &cmd, 2, REGION(7) + 4) == 2 ? 0 : -errno, NULL);
		/* a known value first: an earlier client may have left one there */
		step("clear BAR0 0x2800", pwrite(d, &v, 4, REGION(0) + 0x2800) == 4 ? 0 : -errno, NULL);
		step("register BAR0 0x2800 = 0x12345670",
		     ioevent(d, 32, 4, REGION(0) + 0x2800, 0x12345670, w), NULL);
		rc = pread(d, &v, 4, REGION(0) + 0x2800) == 4 ? 0 : -errno;
		step("BAR0 0x2800 before", rc, "0x%08x", v);
		step("signal", write(w, &one, 8) == 8 ? 0 : -errno, NULL);
		usleep(20000);
		rc = pread(d, &v, 4, REGION(0) + 0x2800) == 4 ? 0 : -errno;
		step("BAR0 0x2800 after", rc, "0x%08x", v);
		rc = read(w, &cnt, 8) == 8 ? 0 : -errno;
		step("eventfd counter after", rc, NULL);
		step("register BAR0 0x2800 = 0x0badcaf0 (memory off)",
		     ioevent(d, 32, 4, REGION(0) + 0x2800, 0x0badcaf0, w), NULL);
		cmd &= ~2;
		step("memory off", pwrite(d, &cmd, 2, REGION(7) + 4) == 2 ? 0 : -errno, NULL);
		step("signal", write(w, &one, 8) == 8 ? 0 : -errno, NULL);
		usleep(20000);
		cmd |= 2;
		step("memory on", pwrite(d, &cmd, 2, REGION(7) + 4) == 2 ? 0 : -errno, NULL);
		rc = pread(d, &v, 4, REGION(0) + 0x2800) == 4 ? 0 : -errno;
		step("BAR0 0x2800 after a signal with memory off", rc, "0x%08x", v);
		step("remove 0x12345670", ioevent(d, 32, 4, REGION(0) + 0x2800, 0x12345670, -1), NULL);
		step("signal", write(w, &one, 8) == 8 ? 0 : -errno, NULL);
		usleep(20000);
		rc = pread(d, &v, 4, REGION(0) + 0x2800) == 4 ? 0 : -errno;
		step("BAR0 0x2800 after (0x0badcaf0 remains registered)", rc, "0x%08x", v);
		close(w);
	}
	close(d);

	note("hot reset, group");
	g = open("/dev/vfio/1", O_RDWR);
	c = open("/dev/vfio/vfio", O_RDWR);
	step("set_container", xioctl(g, VFIO_GROUP_SET_CONTAINER, &c), NULL);
	gd = xioctl(g, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0");
	step("get_device_fd", gd < 0 ? gd : 0, NULL);
	step("hot reset count 0", hot_reset(gd, 12, 0, 0, -1), NULL);
	step("hot reset count 1 argsz 12", hot_reset(gd, 12, 0, 1, g), NULL);
	step("hot reset count 1", hot_reset(gd, 16, 0, 1, g), NULL);
	step("hot reset count 1 fd -1", hot_reset(gd, 16, 0, 1, -1), NULL);
	{
		struct { __u32 argsz, flags, count; __u32 dev[8]; } hi = { .argsz = sizeof(hi) };

		step("hot reset info", xioctl(gd, HOT_RESET_INFO, &hi), NULL);
	}
	step("ioeventfd", ioevent(gd, 32, 4, REGION(0) + 0x2800, 7, e), NULL);
	close(gd);
	close(g);
	return 0;
}
