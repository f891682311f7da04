// The page sizes of AMD-Vi v1 domains, as VFIO_IOMMU_GET_INFO's iova_pgsizes
// reports them on the iommufd's compat IOAS: the AND of its domains' sizes.
// The generic page table offers every power of two below the VA width but a
// whole-table size (48-bit IOVAs: up to 64 TiB), the driver drops 512 GiB:
// 0x7f7ffffff000 (found by the fuzz generator, amd-vi v2 seed 777 step 627).
// oracle: --amd
// platform: amd-vi
#include "vfio_body.h"

static void get_info(const char *what)
{
	struct vfio_iommu_type1_info i = { .argsz = sizeof(i) };
	int rc = xioctl(fd, VFIO_IOMMU_GET_INFO, &i);

	step(L("iommu_get_info%s", what), rc,
	     "flags=0x%x pgsizes=0x%llx", i.flags, (unsigned long long)i.iova_pgsizes);
}

int main(void)
{
	__u32 dev0 = 0, ioas = 0, ioas2 = 0, pt, x;
	int d0, rc;

	fd = iofd_open();
	d0 = open_dev(0);
	rc = bind_dev(d0, fd, 24, 0, &dev0);
	step_ok("bind vfio0", rc, "devid=%u", dev0);

	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	x = ioas;
	step("vfio_ioas SET", vfio_ioas(fd, IOMMU_VFIO_IOAS_SET, &x), NULL);
	get_info(" no domain");

	pt = ioas;
	rc = attach(d0, 16, 0, &pt);
	step_ok("attach vfio0 -> ioas", rc, "pt=%u", pt);
	get_info(" automatic domain");

	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc 2", rc, "id=%u", ioas2);
	x = ioas2;
	step("vfio_ioas SET 2", vfio_ioas(fd, IOMMU_VFIO_IOAS_SET, &x), NULL);
	rc = hwpt_alloc(fd, 0, dev0, ioas2, 0, NULL, 0, &x);
	step_ok("hwpt_alloc flags 0", rc, "hwpt=%u", x);
	get_info(" explicit domain");
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, dev0, ioas2, 0, NULL, 0, &x);
	step_ok("hwpt_alloc DIRTY_TRACKING", rc, "hwpt=%u", x);
	get_info(" two domains");
	return 0;
}
