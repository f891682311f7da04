// User memory is touched in order, byte by byte as the kernel's uaccess
// helpers do, so what happens before a fault is visible:
//  - copy_to_user / clear_user (GET_HW_INFO's data, the struct written back)
//    write every byte before the first unwritable one, then EFAULT;
//  - an over-long struct whose tail runs into unmapped memory: a non-zero
//    byte before the hole is E2BIG, a zero tail up to the hole EFAULT;
//  - MD_CHECK_REFS goes page by page: a miscounted page before a hole is EIO,
//    a hole before any miscounted page EFAULT.
// Found by the random differential generator (test/fuzz/gen.c).
// platform: mock
#include "step.h"
#include "iofd.h"

#define PG 4096

static unsigned char *page_before_hole(void)
{
	unsigned char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(1);
	munmap(p + PG, PG);
	return p;
}

static void show_tail(const char *label, const unsigned char *p, int n)
{
	int i;

	printf("%s:", label);
	for (i = 0; i < n; i++)
		printf(" %02x", p[i]);
	putchar('\n');
}

int main(void)
{
	int fd = iofd_open();
	unsigned char *pg = page_before_hole(), *data = buf_alloc(16 * PG);
	struct iommu_hw_info *hi;
	struct iommu_ioas_alloc *ia;
	__u32 ioas, idev = 0;
	__u64 iova = 0;
	int off;

	step("ioas", ioas_alloc(fd, &ioas), NULL);
	step("mock domain", mock_domain(fd, ioas, 0, NULL, NULL, &idev), NULL);

	/* GET_HW_INFO: 8 bytes of data, then zeros up to data_len */
	for (off = 24; off >= 4; off -= 4) {
		unsigned char *d = pg + PG - off;

		memset(d, 0xa5, off);
		step(L("hw_info 32 bytes, %d before the hole", off),
		     get_hw_info(fd, idev, d, 32, NULL), NULL);
		show_tail("  bytes", d, off);
	}

	/* the struct itself runs into the hole: nothing is read, nothing written */
	hi = (void *)(pg + PG - 16);
	memset(hi, 0, 16);
	hi->size = sizeof(*hi);
	hi->dev_id = idev;
	step("hw_info struct across the hole", xioctl(fd, IOMMU_GET_HW_INFO, hi), NULL);
	show_tail("  struct", (unsigned char *)hi, 16);

	/* an over-long IOAS_ALLOC: the tail runs into the hole */
	ia = (void *)(pg + PG - 32);
	memset(ia, 0, 32);
	ia->size = 64;
	step("ioas_alloc size 64, zero tail into the hole", xioctl(fd, IOMMU_IOAS_ALLOC, ia), NULL);
	((unsigned char *)ia)[20] = 1;
	step("ioas_alloc size 64, non-zero byte before the hole", xioctl(fd, IOMMU_IOAS_ALLOC, ia), NULL);
	ia->size = 16;
	((unsigned char *)ia)[20] = 0;
	((unsigned char *)ia)[31] = 0;
	step("ioas_alloc size 16, zero tail", xioctl(fd, IOMMU_IOAS_ALLOC, ia), NULL);

	/* MD_CHECK_REFS over a range that ends in a hole */
	step("map 4 pages", ioas_map(fd, ioas, MAP_RW, data + 4 * PG, 4 * PG, &iova), NULL);
	munmap(data + 12 * PG, 4 * PG);
	step("refs 1 over the 4 pinned pages", check_refs(fd, data + 4 * PG, 4 * PG, 1), NULL);
	step("refs 0 from page 0, pinned page 4 before the hole", check_refs(fd, data, 16 * PG, 0), NULL);
	step("refs 1 from page 4, unpinned page 8 before the hole", check_refs(fd, data + 4 * PG, 12 * PG, 1), NULL);
	step("refs 0 from page 8, the hole first", check_refs(fd, data + 8 * PG, 8 * PG, 0), NULL);
	step("refs 0 from page 10 to the hole", check_refs(fd, data + 10 * PG, 2 * PG, 0), NULL);
	return 0;
}
