// read() and write() on a vfio-pci device file use and advance the file
// position (f_pos), shared by dup'd fds; lseek is not supported; pread and
// pwrite leave the position alone. BAR0 of qemu's e1000e is 128 KiB at
// region offset 0.
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"

static int rd(int d, size_t len)
{
	static char buf[0x20000];
	ssize_t n = read(d, buf, len);

	return n < 0 ? -errno : (int)n;
}

int main(void)
{
	int fd = iofd_open();
	int dev, dup1;
	char buf[8];
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };

	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	step("open vfio0", dev < 0 ? -errno : 0, NULL);
	b.iommufd = fd;
	step("bind vfio0", xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b), NULL);
	step("lseek 0 SEEK_SET", lseek(dev, 0, SEEK_SET) < 0 ? -errno : 0, NULL);
	step("read 0x1fffc", rd(dev, 0x1fffc), NULL);
	step("pread 4 at 0 (position unchanged)", pread(dev, buf, 4, 0) < 0 ? -errno : 4, NULL);
	dup1 = dup(dev);
	step("read 8 on a dup: 4 left in BAR0", rd(dup1, 8), NULL);
	step("read 8 at BAR0's end", rd(dev, 8), NULL);
	step("write 4 at BAR0's end", write(dev, buf, 4) < 0 ? -errno : 4, NULL);
	close(dup1);
	close(dev);
	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	b.iommufd = fd;
	step("reopen and bind", xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b), NULL);
	step("a new open file starts at 0: read 16", rd(dev, 16), NULL);
	step("write 4 advances too", write(dev, buf, 4) < 0 ? -errno : 4, NULL);
	step("read 0x1fff0 reaches the end", rd(dev, 0x1fff0), NULL);
	step("read 1 past the end", rd(dev, 1), NULL);
	return 0;
}
