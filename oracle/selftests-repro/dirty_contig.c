/* Reproduces a divergence the kernel's iommufd selftests found
 * (iommufd_dirty_tracking.*.get_dirty_bitmap): which 2 KiB granules
 * IOMMU_HWPT_GET_DIRTY_BITMAP reports for a 4 KiB page of a
 * MOCK_IOMMUPT_DEFAULT dirty-tracking domain (IOAS huge pages off) after the
 * test op DIRTY marked granule g. Linux 7.2 reports only the entry's first
 * granule (0x1 for g = 0 or 1, 0x4 for g = 2 or 3); see oracle/README.md.
 *
 * Build against the oracle's tree (after `bash oracle/selftests` made the headers):
 *   H=~/.cache/iommufd-emu/oracle/selftests/linux-source-7.2_7.2.13-1/hdr/usr/include
 *   K=~/.cache/iommufd-emu/oracle/src/linux-source-7.2
 *   gcc -O1 -isystem $H -I $K -o /tmp/dirty_contig dirty_contig.c          # emulator
 *   gcc -O1 -static -isystem $H -I $K -o /tmp/dirty_contig.static dirty_contig.c   # kernel
 *   bin/iommufd-emu run -- /tmp/dirty_contig
 *   npm run oracle -- run /tmp/dirty_contig.static
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>
#include "drivers/iommu/iommufd/iommufd_test.h"
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)
static int fd;
static void dirty_case(uint32_t ioas, uint32_t idev, int mark, uint32_t flags, int size) {
	uint32_t hwpt; struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT, .pagetable_type = MOCK_IOMMUPT_DEFAULT };
	struct iommu_hwpt_alloc a = { .size = sizeof(a), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING, .dev_id = idev, .pt_id = ioas,
		.data_type = IOMMU_HWPT_DATA_SELFTEST, .data_len = sizeof(data), .data_uptr = (uintptr_t)&data };
	if (ioctl(fd, IOMMU_HWPT_ALLOC, &a)) { perror("hwpt_alloc"); return; }
	hwpt = a.out_hwpt_id;
	struct iommu_hwpt_set_dirty_tracking st = { .size = sizeof(st), .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE, .hwpt_id = hwpt };
	if (ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &st)) perror("set_dirty_tracking");
	uint64_t bm = 1ull << mark;
	struct iommu_test_cmd d = { .size = sizeof(d), .op = IOMMU_TEST_OP_DIRTY, .id = hwpt,
		.dirty = { .iova = MOCK_APERTURE_START, .length = size, .page_size = MOCK_PAGE_SIZE, .uptr = (uintptr_t)&bm } };
	if (ioctl(fd, IOMMU_TEST_CMD, &d)) perror("test dirty");
	for (int pass = 0; pass < 2; pass++) {
		uint64_t out = 0;
		struct iommu_hwpt_get_dirty_bitmap g = { .size = sizeof(g), .hwpt_id = hwpt, .flags = flags, .iova = MOCK_APERTURE_START,
			.length = size, .page_size = MOCK_PAGE_SIZE, .data = (uintptr_t)&out };
		if (ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g)) perror("get_dirty_bitmap");
		printf("mark granule %d, flags %u, pass %d: bitmap 0x%llx\n", mark, flags, pass, (unsigned long long)out);
	}
	ioctl(fd, IOMMU_DESTROY, &(struct iommu_destroy){ .size = sizeof(struct iommu_destroy), .id = hwpt });
}
int main(void) {
	fd = open("/dev/iommu", O_RDWR);
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	ioctl(fd, IOMMU_IOAS_ALLOC, &ia);
	struct iommu_option o = { .size = sizeof(o), .option_id = IOMMU_OPTION_HUGE_PAGES, .op = IOMMU_OPTION_OP_SET, .object_id = ia.out_ioas_id, .val64 = 0 };
	if (ioctl(fd, IOMMU_OPTION, &o)) perror("option");
	struct iommu_test_cmd md = { .size = sizeof(md), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ia.out_ioas_id };
	if (ioctl(fd, IOMMU_TEST_CMD, &md)) perror("mock_domain");
	int size = 16384;
	void *buf = mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_map m = { .size = sizeof(m), .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ia.out_ioas_id, .user_va = (uintptr_t)buf, .length = size, .iova = MOCK_APERTURE_START };
	if (ioctl(fd, IOMMU_IOAS_MAP, &m)) perror("map");
	for (int mark = 0; mark < 4; mark++) {
		dirty_case(ia.out_ioas_id, md.mock_domain.out_idev_id, mark, 0, size);
		dirty_case(ia.out_ioas_id, md.mock_domain.out_idev_id, mark, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, size);
	}
	return 0;
}
