// IOAS_MAP_FILE keeps the mapped file open, a VFIO device file too: mapped
// into an IOAS, the cdev stays bound after its close (a new open's bind is
// refused) until the mapping goes. (An iommufd mapped into itself:
// map_file_holds.c.) Found by the random generator.
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"
#include <fcntl.h>

#define PG 4096

static int bind(int dev, int ifd)
{
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = ifd };

	return xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
}

static int map_file(int fd, __u32 ioas, int file, __u64 iova)
{
	struct iommu_ioas_map_file m = {
		.size = sizeof(m), .flags = MAP_FIXED_RW, .ioas_id = ioas, .fd = file,
		.start = 0, .length = PG, .iova = iova,
	};

	return xioctl(fd, IOMMU_IOAS_MAP_FILE, &m);
}

int main(void)
{
	int b = iofd_open(), dev, dev2;
	__u32 ioas_b;

	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	step("open vfio0", dev < 0 ? -errno : 0, NULL);
	step("bind vfio0", bind(dev, b), NULL);
	step("ioas b", ioas_alloc(b, &ioas_b), NULL);
	step("map_file vfio0", map_file(b, ioas_b, dev, 1 << 20), NULL);
	close(dev);
	dev2 = open("/dev/vfio/devices/vfio0", O_RDWR);
	step("reopen vfio0", dev2 < 0 ? -errno : 0, NULL);
	step("bind again while mapped", bind(dev2, b), NULL);
	step("unmap vfio0's file", ioas_unmap(b, ioas_b, 1 << 20, PG, NULL), NULL);
	step("bind again after unmap", bind(dev2, b), NULL);
	return 0;
}
