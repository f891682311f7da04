// IOAS_MAP_FILE keeps the mapped file open (the pages hold a reference to
// it), whatever the file is: mapped into one of its own IOASes, an iommufd
// is never released after its last close (its objects and pins stay for the
// life of the machine: a mock device no later client sees, on the plain
// machine). The VFIO device file case is map_file_vfio.c. Found by the
// random generator.
// platform: mock
#include "step.h"
#include "iofd.h"

#define PG 4096

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
	int a = iofd_open(), b = iofd_open(), c;
	__u32 ioas, ioas2, idev = 0;
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

	return 0;
}
