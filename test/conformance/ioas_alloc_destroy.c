// Object IDs: IOAS alloc/destroy, lowest-free ID reuse, DESTROY errors.
// platform: mock
#include "step.h"
#include "iofd.h"

int main(void)
{
	int fd = iofd_open();
	__u32 id[6] = { 0 }, x = 0;
	int i, rc;
	char *buf = buf_alloc(0x10000);
	__u64 iova;

	for (i = 0; i < 5; i++) {
		rc = ioas_alloc(fd, &id[i]);
		step_ok(L("ioas_alloc #%d", i), rc, "id=%u", id[i]);
	}
	step("destroy id 2", obj_destroy(fd, id[1]), NULL);
	step("destroy id 4", obj_destroy(fd, id[3]), NULL);
	step("destroy id 2 again", obj_destroy(fd, id[1]), NULL);
	rc = ioas_alloc(fd, &x);
	step_ok("ioas_alloc after destroying 2 and 4", rc, "id=%u", x);
	rc = ioas_alloc(fd, &x);
	step_ok("ioas_alloc next", rc, "id=%u", x);
	rc = ioas_alloc(fd, &x);
	step_ok("ioas_alloc next", rc, "id=%u", x);
	step("destroy id 0", obj_destroy(fd, 0), NULL);
	step("destroy id 99", obj_destroy(fd, 99), NULL);
	step("destroy id 0x7fffffff", obj_destroy(fd, 0x7fffffff), NULL);
	step("destroy id 0x80000000", obj_destroy(fd, 0x80000000u), NULL);
	step("destroy id 0xffffffff", obj_destroy(fd, 0xffffffffu), NULL);

	/* An IOAS that only holds mappings can be destroyed. */
	iova = 0x100000;
	rc = ioas_map(fd, id[0], MAP_FIXED_RW, buf, 0x10000, &iova);
	step_ok("ioas_map fixed 0x100000+0x10000 into id 1", rc, "iova=0x%llx",
		(unsigned long long)iova);
	step("destroy id 1 with a mapping", obj_destroy(fd, id[0]), NULL);
	step("destroy id 1 again", obj_destroy(fd, id[0]), NULL);
	rc = ioas_alloc(fd, &x);
	step_ok("ioas_alloc reuses 1", rc, "id=%u", x);
	iova = 0x100000;
	rc = ioas_map(fd, x, MAP_FIXED_RW, buf, 0x10000, &iova);
	step_ok("ioas_map same range in the new id 1", rc, "iova=0x%llx",
		(unsigned long long)iova);

	/* ioas_alloc flags must be zero */
	{
		struct iommu_ioas_alloc c = { .size = sizeof(c), .flags = 1 };

		rc = xioctl(fd, IOMMU_IOAS_ALLOC, &c);
		step("ioas_alloc flags=1", rc, NULL);
		c.flags = 0x80000000u;
		rc = xioctl(fd, IOMMU_IOAS_ALLOC, &c);
		step("ioas_alloc flags=0x80000000", rc, NULL);
	}
	rc = ioas_alloc(fd, &x);
	step_ok("ioas_alloc after failed allocs", rc, "id=%u", x);

	/* Destroy everything, then IDs start again at the lowest. */
	for (i = 1; i <= 10; i++) {
		rc = obj_destroy(fd, i);
		step(L("destroy id %d", i), rc, NULL);
	}
	rc = ioas_alloc(fd, &x);
	step_ok("ioas_alloc after destroying all", rc, "id=%u", x);
	close(fd);
	return 0;
}
