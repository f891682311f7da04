// The selftest's syzkaller IOVAs (CONFIG_IOMMUFD_TEST): with the flag
// MOCK_FLAGS_ACCESS_SYZ (1 << 16) an IOVA is {nth_area, offset}, meaning the
// nth area's start (in IOVA order) plus offset, or 0 when there is no such
// area. IOAS_COPY takes the flag off and converts src_iova (both written
// back); ACCESS_PAGES and ACCESS_RW convert through the access's IOAS and
// write nothing back. Found by the random differential generator.
// platform: mock
#include "step.h"
#include "iofd.h"

#define SYZ (1u << 16)
#define PG 4096
#define SYZ_IOVA(nth, off) ((__u64)(nth) | ((__u64)(off) << 32))

int main(void)
{
	int fd = iofd_open(), afd = -1;
	unsigned char *buf = buf_alloc(8 * PG), got[16];
	__u64 iova;
	__u32 ioas, ioas2, item = 0;
	struct iommu_ioas_copy c;
	struct iommu_test_cmd t;

	step("ioas", ioas_alloc(fd, &ioas), NULL);
	step("ioas2", ioas_alloc(fd, &ioas2), NULL);
	iova = 0x300000;
	step("map pages 4-7 at 0x300000", ioas_map(fd, ioas, MAP_FIXED_RW, buf + 4 * PG, 4 * PG, &iova), NULL);
	iova = 0x100000;
	step("map pages 0-3 at 0x100000", ioas_map(fd, ioas, MAP_FIXED_RW, buf, 4 * PG, &iova), NULL);

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = SYZ | MAP_RW;
	c.dst_ioas_id = ioas2;
	c.src_ioas_id = ioas;
	c.length = PG;
	c.src_iova = SYZ_IOVA(1, 2 * PG);
	step("copy from area 1 + 2 pages", xioctl(fd, IOMMU_IOAS_COPY, &c),
	     "flags=%#x src_iova=%#llx dst_iova=%#llx", c.flags, (unsigned long long)c.src_iova,
	     (unsigned long long)c.dst_iova);
	c.flags = SYZ | MAP_RW;
	c.src_iova = SYZ_IOVA(5, 0);
	step("copy from area 5 (none: iova 0)", xioctl(fd, IOMMU_IOAS_COPY, &c),
	     "flags=%#x src_iova=%#llx", c.flags, (unsigned long long)c.src_iova);
	c.flags = SYZ | MAP_RW;
	c.src_ioas_id = 999;
	c.src_iova = SYZ_IOVA(0, 0);
	step("copy from no IOAS (not converted)", xioctl(fd, IOMMU_IOAS_COPY, &c),
	     "flags=%#x src_iova=%#llx", c.flags, (unsigned long long)c.src_iova);
	c.flags = SYZ | 0x100 | MAP_RW;
	c.src_ioas_id = ioas;
	step("copy with SYZ and an unknown flag", xioctl(fd, IOMMU_IOAS_COPY, &c),
	     "flags=%#x", c.flags);

	step("create access", create_access(fd, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &afd), NULL);
	t = test_cmd(IOMMU_TEST_OP_ACCESS_PAGES, afd);
	t.access_pages.flags = SYZ;
	t.access_pages.iova = SYZ_IOVA(0, PG);
	t.access_pages.length = PG;
	t.access_pages.uptr = (uintptr_t)(buf + PG);
	step("access pages area 0 + 1 page", xioctl(fd, IOMMU_TEST_CMD, &t), "iova=%#llx",
	     (unsigned long long)t.access_pages.iova);
	item = t.access_pages.out_access_pages_id;
	step("refs on page 1", check_refs(fd, buf + PG, PG, 1), NULL);
	step("unpin", access_unpin(fd, afd, item), NULL);
	memset(got, 0, sizeof(got));
	t = test_cmd(IOMMU_TEST_OP_ACCESS_RW, afd);
	t.access_rw.flags = SYZ;
	t.access_rw.iova = SYZ_IOVA(1, PG + 8);
	t.access_rw.length = sizeof(got);
	t.access_rw.uptr = (uintptr_t)got;
	step("read area 1 + 1 page + 8", xioctl(fd, IOMMU_TEST_CMD, &t), "first=%#x iova=%#llx", got[0],
	     (unsigned long long)t.access_rw.iova);
	t.access_rw.iova = SYZ_IOVA(2, 0);
	step("read area 2 (none: iova 0)", xioctl(fd, IOMMU_TEST_CMD, &t), NULL);
	return 0;
}
