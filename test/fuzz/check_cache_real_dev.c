// A kernel bug the random generator found (Linux 7.2.13, CONFIG_IOMMUFD_TEST):
// IOMMU_TEST_CMD's DEV_CHECK_CACHE (and TRIGGER_VEVENT) take any iommufd
// device for one of the mock driver's and read its struct as a mock_dev's:
// given a VFIO function's ID, the "cache" compared is whatever lies past the
// pci_dev's struct device (on the --vfio machine, cache IDs 2 and 3 read 0,
// so cache=0 there is "ok"; 0 and 1 never match). Not a conformance client
// (the answer is the layout of kernel memory); the emulator says EINVAL for
// every non-mock device, which is why gen.c issues neither op on a machine
// with VFIO devices (qemu-vtd-sc seed 302 step 59 met it).
// Run: npm run oracle -- run --vfio test/fuzz/check_cache_real_dev.c
#include "vfio_body.h"

int main(void)
{
	__u32 devid = 0, id, k;
	static const __u32 values[] = { 0, 1, 0xffffffff, 0x10d38086 };
	int d;

	fd = iofd_open();
	d = open_dev(0);
	step("bind vfio0", bind_dev(d, fd, sizeof(struct vfio_device_bind_iommufd), 0, &devid), NULL);
	for (id = 0; id <= 4; id++) {
		for (k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
			struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_DEV_CHECK_CACHE, devid);

			c.check_dev_cache.id = id;
			c.check_dev_cache.cache = values[k];
			step(L("check_dev_cache vfio0 id=%u cache=%#x", id, values[k]), xioctl(fd, IOMMU_TEST_CMD, &c), NULL);
		}
	}
	{
		struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_DEV_CHECK_CACHE, devid + 100);

		step("check_dev_cache, no such device", xioctl(fd, IOMMU_TEST_CMD, &c), NULL);
	}
	return 0;
}
