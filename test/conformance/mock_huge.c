// The mock driver's page-table formats (iommu_hwpt_selftest.pagetable_type):
// the default domain has the MOCK aperture [1<<24, (1<<31)-1]; the huge
// format keeps the generic AMDv1 table's own aperture (2 KiB granule,
// starting level 2: 38 bits), which IOVA_RANGES shows once the HWPT is in
// the IOAS; an unknown format is EOPNOTSUPP.
// platform: mock
#include "step.h"
#include "iofd.h"

int main(void)
{
	int fd = iofd_open();
	__u32 ioas, ioas2, ioas3, idev = 0, hwpt = 0;
	struct iommu_hwpt_selftest huge = { .pagetable_type = MOCK_IOMMUPT_HUGE };
	struct iommu_hwpt_selftest dflt = { .pagetable_type = MOCK_IOMMUPT_DEFAULT };
	struct iommu_hwpt_selftest bad = { .pagetable_type = 7 };

	step("ioas alloc", ioas_alloc(fd, &ioas), NULL);
	step("ioas2 alloc", ioas_alloc(fd, &ioas2), NULL);
	step("ioas3 alloc", ioas_alloc(fd, &ioas3), NULL);
	step("mock domain", mock_domain(fd, ioas, 0, NULL, NULL, &idev), NULL);
	show_ranges(fd, ioas, "ranges with the mock domain");
	step("hwpt alloc huge", hwpt_alloc(fd, 0, idev, ioas2, IOMMU_HWPT_DATA_SELFTEST, &huge, sizeof(huge), &hwpt), NULL);
	show_ranges(fd, ioas2, "ranges with a huge HWPT");
	step("hwpt alloc default", hwpt_alloc(fd, 0, idev, ioas3, IOMMU_HWPT_DATA_SELFTEST, &dflt, sizeof(dflt), NULL), NULL);
	show_ranges(fd, ioas3, "ranges with a default HWPT");
	step("hwpt alloc format 7", hwpt_alloc(fd, 0, idev, ioas3, IOMMU_HWPT_DATA_SELFTEST, &bad, sizeof(bad), NULL), NULL);
	return 0;
}
