// An fd number carried inside an ioctl (the test ABI's access fd in
// IOMMU_TEST_OP_ACCESS_RW) names what the caller's fd table holds at that
// call: after close, dup2 over it, close_range or a reuse of the number by
// another file, the number no longer names the access it named before, even
// while a dup keeps that access open. (The emulator remembers which numbers
// name its files; this is what it must forget.)
// platform: mock
#include "step.h"
#include "iofd.h"

#define PG 0x1000ULL

static int fd;

/* Read 4 bytes at IOVA 0x100000 through access fd `afd`: "AAAA" through the
 * first IOAS, "BBBB" through the second. */
static void read_via(const char *label, int afd)
{
	char out[5] = { 0 };
	int rc = access_rw(fd, afd, 0, 0x100000, 4, out);

	step(label, rc, rc ? NULL : "data=%s", out);
}

int main(void)
{
	char *a = buf_alloc(PG), *b = buf_alloc(PG);
	__u32 ioas_a = 0, ioas_b = 0;
	__u64 iova;
	int afd = -1, bfd = -1, keep, n, p[2], rc;

	fd = iofd_open();
	memset(a, 'A', PG);
	memset(b, 'B', PG);
	step("ioas_alloc a", ioas_alloc(fd, &ioas_a), NULL);
	step("ioas_alloc b", ioas_alloc(fd, &ioas_b), NULL);
	iova = 0x100000;
	step("map a", ioas_map(fd, ioas_a, MAP_FIXED_RW, a, PG, &iova), NULL);
	iova = 0x100000;
	step("map b", ioas_map(fd, ioas_b, MAP_FIXED_RW, b, PG, &iova), NULL);
	step("create_access a", create_access(fd, ioas_a, 0, &afd), NULL);
	step("create_access b", create_access(fd, ioas_b, 0, &bfd), NULL);
	n = afd;
	keep = dup(afd);
	step("dup a", keep < 0 ? -errno : 0, NULL);

	read_via("access a", n);
	read_via("access a again", n);
	read_via("access b", bfd);

	/* close: the number is free, the access lives on in the dup */
	step("close a", close(n) ? -errno : 0, NULL);
	read_via("closed number", n);
	read_via("the dup", keep);

	/* the number reused by a pipe */
	rc = pipe(p);
	step("pipe", rc ? -errno : 0, "same number=%s", p[0] == n || p[1] == n ? "yes" : "no");
	read_via("number now a pipe", n);
	close(p[0]);
	close(p[1]);

	/* dup2 of access a to the free number, then b over it, then a again */
	rc = dup2(keep, n);
	step("dup2 a to the number", rc < 0 ? -errno : 0, NULL);
	read_via("number after dup2 a", n);
	rc = dup2(bfd, n);
	step("dup2 b over it", rc < 0 ? -errno : 0, NULL);
	read_via("number after dup2 b", n);
	rc = dup3(keep, n, O_CLOEXEC);
	step("dup3 a over it", rc < 0 ? -errno : 0, NULL);
	read_via("number after dup3 a", n);

	/* close_range of just that number */
	rc = close_range(n, n, 0);
	step("close_range", rc ? -errno : 0, NULL);
	read_via("number after close_range", n);

	/* a new access takes the lowest free number: that one */
	rc = create_access(fd, ioas_b, 0, &afd);
	step("create_access b again", rc, "same number=%s", afd == n ? "yes" : "no");
	read_via("number as a new access", n);

	close(afd);
	close(bfd);
	close(keep);
	close(fd);
	return 0;
}
