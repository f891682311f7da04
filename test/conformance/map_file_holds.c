// IOAS_MAP_FILE keeps the mapped file open (the pages hold a reference to
// it), whatever the file is: mapped into one of its own IOASes, an iommufd
// is never released after its last close (its objects and pins stay); a
// VFIO device file mapped into an IOAS stays bound after close (a new open's
// bind is refused) until the mapping goes. Found by the random generator.
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
	unsigned char *buf = buf_alloc(4 * PG);
	int a = iofd_open(), b = iofd_open(), c, dev, dev2;
	__u32 ioas, ioas2, ioas_b, idev = 0;
	__u64 iova = 1 << 24;

	/* an iommufd mapped into its own IOAS */
	step("ioas", ioas_alloc(a, &ioas), NULL);
	step("mock domain", mock_domain(a, ioas, 0, NULL, NULL, &idev), NULL);
	step("map 4 pages", ioas_map(a, ioas, MAP_FIXED_RW, buf, 4 * PG, &iova), NULL);
	step("refs 1 (the domain pins)", check_refs(b, buf, 4 * PG, 1), NULL);
	step("map_file the iommufd itself, into a domain-attached IOAS (pins: not shmem)", map_file(a, ioas, a, 1 << 25), NULL);
	step("ioas2 (no domain)", ioas_alloc(a, &ioas2), NULL);
	step("map_file the iommufd itself into ioas2", map_file(a, ioas2, a, 1 << 25), NULL);
	close(a);
	step("refs 1 after its last close (never released)", check_refs(b, buf, 4 * PG, 1), NULL);

	/* the same with an unmap first: released at close */
	c = iofd_open();
	iova = 1 << 24;
	step("ioas c", ioas_alloc(c, &ioas), NULL);
	step("mock domain c", mock_domain(c, ioas, 0, NULL, NULL, &idev), NULL);
	buf = buf_alloc(4 * PG);	/* new pages: the first ones stay pinned */
	step("map 4 pages c", ioas_map(c, ioas, MAP_FIXED_RW, buf, 4 * PG, &iova), NULL);
	step("ioas2 c", ioas_alloc(c, &ioas2), NULL);
	step("map_file c itself into ioas2", map_file(c, ioas2, c, 1 << 25), NULL);
	step("unmap the file", ioas_unmap(c, ioas2, 1 << 25, PG, NULL), NULL);
	close(c);
	step("refs 0 after close", check_refs(b, buf, 4 * PG, 0), NULL);

	/* a VFIO device file */
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
