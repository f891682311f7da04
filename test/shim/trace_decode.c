/* What a decoded trace shows (test/cli-trace.test.ts): IOMMU_TEST_CMD
 * MOCK_DOMAIN and ADD_RESERVED, IOMMU_HWPT_ALLOC with selftest data,
 * IOMMU_IOAS_IOVA_RANGES with two ranges, IOMMU_GET_HW_INFO of a VT-d
 * device and VFIO_DEVICE_SET_IRQS with two eventfds. Prints the IDs and fds
 * the trace lines must show. Built with -I test/conformance/include. */
#include "iofd.h"
#include <sys/eventfd.h>

#define GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 7)
#define GET_REGION_INFO _IO(VFIO_TYPE, VFIO_BASE + 8)
#define GET_IRQ_INFO _IO(VFIO_TYPE, VFIO_BASE + 9)
#define SET_IRQS _IO(VFIO_TYPE, VFIO_BASE + 10)

struct dev_info { __u32 argsz, flags, num_regions, num_irqs, cap_offset, pad; };
struct region_info { __u32 argsz, flags, index, cap_offset; __u64 size, offset; };
struct irq_info { __u32 argsz, flags, index, count; };
struct irq_set { __u32 argsz, flags, index, start, count; __s32 fds[2]; };

int main(void)
{
	int fd = iofd_open();
	__u32 ioas, stdev, hwpt, idev, parent, nested;
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_iova_range r[8];
	struct iommu_hw_info_vtd vtd;
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };
	struct irq_set s = { .argsz = sizeof(s), .flags = 4 | 32, .index = 2, .count = 2 };
	int dev, rc;

	if (ioas_alloc(fd, &ioas) || mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev))
		return printf("setup: %s\n", errno_name(errno)), 1;
	printf("ioas %u stdev %u hwpt %u idev %u\n", ioas, stdev, hwpt, idev);
	if (hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, idev, ioas, 0, NULL, 0, &parent) ||
	    hwpt_alloc(fd, 0, idev, parent, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &nested))
		return printf("hwpt_alloc: %s\n", errno_name(errno)), 1;
	printf("parent %u nested %u\n", parent, nested);
	if (add_reserved(fd, ioas, 0x2000000, 0x1000000))
		return printf("add_reserved: %s\n", errno_name(errno)), 1;
	rc = ioas_ranges(fd, ioas, r, 8, NULL, NULL);
	printf("ranges: %d\n", rc);

	b.iommufd = fd;
	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	if (dev < 0 || xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b))
		return printf("bind: %s\n", errno_name(errno)), 1;
	printf("devid %u\n", b.out_devid);
	printf("hw_info: %d\n", get_hw_info(fd, b.out_devid, &vtd, sizeof(vtd), NULL));
	{
		struct dev_info di = { .argsz = sizeof(di) };
		struct region_info ri = { .argsz = sizeof(ri), .index = 7 };
		struct irq_info ii = { .argsz = sizeof(ii), .index = 2 };

		printf("info: %d\n", xioctl(dev, GET_INFO, &di));
		printf("region_info: %d\n", xioctl(dev, GET_REGION_INFO, &ri));
		printf("irq_info: %d\n", xioctl(dev, GET_IRQ_INFO, &ii));
	}
	s.fds[0] = eventfd(0, EFD_CLOEXEC);
	s.fds[1] = eventfd(0, EFD_CLOEXEC);
	printf("eventfds %d %d\n", s.fds[0], s.fds[1]);
	printf("set_irqs: %d\n", xioctl(dev, SET_IRQS, &s));
	return 0;
}
