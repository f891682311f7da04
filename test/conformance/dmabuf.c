// The selftest's dma-bufs (IOMMU_TEST_OP_DMABUF_GET/REVOKE) and
// IOMMU_IOAS_MAP_FILE of a dma-buf fd: the fd is DMABUF_GET's return value
// (close-on-exec as open_flags say); lengths round up to pages, 0 and over
// 512 pages are EINVAL; REVOKE wants a dma-buf fd (EBADF/EINVAL). MAP_FILE
// checks the range against the buffer (EINVAL), maps at once (ENODEV while
// revoked), never pins (accesses: EINVAL). Any REVOKE call, revoking or
// restoring, unmaps every live mapping of the buffer from every domain for
// good (seen through the mock's dirty bits); the areas stay until unmapped,
// new domains get nothing of them, and a MAP_FILE after a restore maps again.
// platform: mock
#include "step.h"
#include "iofd.h"
#include <fcntl.h>
#include <sys/syscall.h>

#define PG 0x1000ULL
#define BASE 0x1000000ULL /* the mock domain's aperture starts at 16 MiB */

static int fd;

static int dmabuf_get(__u32 len, __u32 open_flags)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_DMABUF_GET, 0);

	c.dmabuf_get.length = len;
	c.dmabuf_get.open_flags = open_flags;
	return xioctl(fd, IOMMU_TEST_CMD, &c);
}

static void get_bad(__u32 len)
{
	int rc = dmabuf_get(len, O_CLOEXEC);

	step(L("dmabuf_get len=0x%x", len), rc < 0 ? rc : 0, NULL);
	if (rc >= 0)
		close(rc);
}

static int dmabuf_revoke(int dfd, __u32 revoked)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_DMABUF_REVOKE, 0);

	c.dmabuf_revoke.dmabuf_fd = dfd;
	c.dmabuf_revoke.revoked = revoked;
	return xioctl(fd, IOMMU_TEST_CMD, &c);
}

static int map_file(__u32 ioas, __u32 flags, int file, __u64 start, __u64 len,
		    __u64 *iova)
{
	struct iommu_ioas_map_file c = {
		.size = sizeof(c), .flags = flags, .ioas_id = ioas, .fd = file,
		.start = start, .length = len, .iova = iova ? *iova : 0,
	};
	int rc = xioctl(fd, IOMMU_IOAS_MAP_FILE, &c);

	if (rc == 0 && iova)
		*iova = c.iova;
	return rc;
}

static __u64 auto_map(__u32 ioas, __u32 flags, int file, __u64 start,
		      __u64 len, const char *what)
{
	__u64 iova = 0;
	int rc = map_file(ioas, flags, file, start, len, &iova);

	step_ok(L("map_file %s start=0x%llx len=0x%llx", what,
		  (unsigned long long)start, (unsigned long long)len), rc,
		"iova=0x%llx", (unsigned long long)iova);
	return rc ? 0 : iova;
}

static void fixed(__u32 ioas, int file, __u64 start, __u64 len, __u64 iova,
		  const char *what)
{
	step(L("map_file %s start=0x%llx len=0x%llx at 0x%llx", what,
	       (unsigned long long)start, (unsigned long long)len,
	       (unsigned long long)iova),
	     map_file(ioas, MAP_FIXED_RW, file, start, len, &iova), NULL);
}

static void unmap(__u32 ioas, __u64 iova, __u64 len, const char *what)
{
	__u64 n = 0;
	int rc = ioas_unmap(fd, ioas, iova, len, &n);

	step_ok(L("unmap %s 0x%llx+0x%llx", what, (unsigned long long)iova,
		  (unsigned long long)len), rc, "length=0x%llx",
		(unsigned long long)n);
}

static int set_tracking(__u32 hwpt, __u32 flags)
{
	struct iommu_hwpt_set_dirty_tracking c = {
		.size = sizeof(c), .flags = flags, .hwpt_id = hwpt,
	};

	return xioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &c);
}

/*
 * Which pages of [iova, iova + 16 pages) the dirty hwpt maps: dirty every
 * one (the mock marks only present IOPTEs), read the bitmap back (clearing).
 */
static void mapped(const char *what, __u32 hwpt, __u64 iova)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_DIRTY, hwpt);
	struct iommu_hwpt_get_dirty_bitmap g = {
		.size = sizeof(g), .hwpt_id = hwpt, .iova = iova,
		.length = 16 * PG, .page_size = PG,
	};
	__u64 bits = 0xffff, bm = 0;
	int rc;

	c.dirty.iova = iova;
	c.dirty.length = 16 * PG;
	c.dirty.page_size = PG;
	c.dirty.uptr = (uintptr_t)&bits;
	rc = xioctl(fd, IOMMU_TEST_CMD, &c);
	if (rc == 0) {
		g.data = (uintptr_t)&bm;
		rc = xioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
	}
	step_ok(L("mapped in hwpt %s 0x%llx", what, (unsigned long long)iova),
		rc, "pages=0x%llx", (unsigned long long)bm);
}

int main(void)
{
	__u32 ioas = 0, ioas2 = 0, stdev = 0, hwpt = 0, idev = 0, dh = 0;
	__u32 dh2 = 0, item = 0;
	__u64 iova, iova2, iova3, cp;
	int dfd, dfd2, small, afd = -1, mfd, rc;
	char buf[64];

	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);

	note("DMABUF_GET");
	get_bad(0);
	get_bad(512 * PG + 1);
	get_bad(0xffffffffu);
	rc = dmabuf_get(512 * PG, 0);
	step("dmabuf_get len=512 pages, no O_CLOEXEC", rc < 0 ? rc : 0, NULL);
	if (rc >= 0) {
		step("F_GETFD", 0, "cloexec=%d",
		     !!(fcntl(rc, F_GETFD) & FD_CLOEXEC));
		close(rc);
	}
	small = dmabuf_get(1, O_CLOEXEC);
	step("dmabuf_get len=1 O_CLOEXEC", small < 0 ? small : 0, NULL);
	if (small >= 0)
		step("F_GETFD", 0, "cloexec=%d",
		     !!(fcntl(small, F_GETFD) & FD_CLOEXEC));
	dfd = dmabuf_get(4 * PG, O_CLOEXEC);
	step("dmabuf_get len=4 pages", dfd < 0 ? dfd : 0, NULL);
	step("read dma-buf fd", read(dfd, buf, sizeof(buf)) < 0 ? -errno : 0,
	     NULL);
	step("ioctl dma-buf fd IOMMU_IOAS_ALLOC",
	     xioctl(dfd, IOMMU_IOAS_ALLOC, &(struct iommu_ioas_alloc){
			.size = sizeof(struct iommu_ioas_alloc) }), NULL);

	note("DMABUF_REVOKE of other fds");
	step("revoke fd -1", dmabuf_revoke(-1, 1), NULL);
	step("revoke closed fd 1000", dmabuf_revoke(1000, 1), NULL);
	step("revoke /dev/iommu fd", dmabuf_revoke(fd, 1), NULL);
	mfd = (int)syscall(SYS_memfd_create, "m", 0);
	step("ftruncate memfd", ftruncate(mfd, 4 * PG) ? -errno : 0, NULL);
	step("revoke memfd", dmabuf_revoke(mfd, 1), NULL);

	note("MAP_FILE checks");
	step("map_file len=0", map_file(ioas, MAP_RW, dfd, 0, 0, &iova), NULL);
	step("map_file start=size len=size",
	     map_file(ioas, MAP_RW, dfd, 4 * PG, 4 * PG, &iova), NULL);
	step("map_file len=size+1",
	     map_file(ioas, MAP_RW, dfd, 0, 4 * PG + 1, &iova), NULL);
	step("map_file start=1 len=size",
	     map_file(ioas, MAP_RW, dfd, 1, 4 * PG, &iova), NULL);
	step("map_file start=~0 len=2",
	     map_file(ioas, MAP_RW, dfd, ~0ULL, 2, &iova), NULL);
	step("map_file bad flags",
	     map_file(ioas, 1u << 5, dfd, 0, PG, &iova), NULL);
	step("map_file ioas 999", map_file(999, MAP_RW, dfd, 0, PG, &iova),
	     NULL);
	auto_map(ioas, MAP_RW, small, 0, PG, "1-byte buffer, whole page");
	auto_map(ioas, MAP_RW, dfd, 4 * PG - 1, 1, "last byte");
	auto_map(ioas, IOMMU_IOAS_MAP_READABLE, dfd, 0x800, PG, "read-only, unaligned");
	auto_map(ioas, MAP_RW, dfd, PG, 2 * PG, "middle");
	unmap(ioas, 0, U64_MAX_, "all");

	note("accesses and COPY");
	step("create_access",
	     create_access(fd, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
			   &afd), NULL);
	iova = auto_map(ioas, MAP_RW, dfd, 0, 4 * PG, "whole");
	step("access_pages", access_pages(fd, afd, 0, iova, PG, buf, &item),
	     NULL);
	step("access_rw read", access_rw(fd, afd, 0, iova, 16, buf), NULL);
	step("access_rw write",
	     access_rw(fd, afd, MOCK_ACCESS_RW_WRITE, iova, 16, buf), NULL);
	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc 2", rc, "id=%u", ioas2);
	cp = BASE;
	step("copy to ioas 2", ioas_copy(fd, ioas2, ioas, MAP_FIXED_RW, iova,
					 4 * PG, &cp), NULL);
	unmap(ioas2, cp, 4 * PG, "the copy");
	unmap(ioas, iova, 4 * PG, "whole");
	step("destroy access", close(afd) ? -errno : 0, NULL);

	note("revoke with a dirty-tracking mock domain");
	step("ioas_option HUGE_PAGES=0",
	     iommu_opt(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas,
		       &(__u64){ 0 }), NULL);
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev);
	step_ok("mock_domain", rc, "stdev=%u hwpt=%u idev=%u", stdev, hwpt, idev);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas, 0, NULL,
			0, &dh);
	step_ok("hwpt_alloc DIRTY_TRACKING", rc, "hwpt=%u", dh);
	step("set_dirty_tracking", set_tracking(dh, 1), NULL);

	iova = BASE;
	fixed(ioas, dfd, 0, 4 * PG, iova, "A");
	mapped("after map", dh, iova);
	step("revoke", dmabuf_revoke(dfd, 1), NULL);
	mapped("after revoke", dh, iova);
	step("map_file revoked",
	     map_file(ioas, MAP_RW, dfd, 0, 4 * PG, &iova2), NULL);
	step("revoke again", dmabuf_revoke(dfd, 1), NULL);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas, 0, NULL,
			0, &dh2);
	step_ok("hwpt_alloc DIRTY_TRACKING while revoked", rc, "hwpt=%u", dh2);
	step("set_dirty_tracking 2", set_tracking(dh2, 1), NULL);
	mapped("new hwpt, revoked area", dh2, iova);
	step("restore", dmabuf_revoke(dfd, 0), NULL);
	mapped("old area after restore", dh, iova);
	mapped("new hwpt, old area after restore", dh2, iova);
	iova2 = BASE + 0x100000;
	fixed(ioas, dfd, 0, 4 * PG, iova2, "B");
	mapped("new area", dh, iova2);
	mapped("new hwpt, new area", dh2, iova2);
	dfd2 = dup(dfd);
	step("restore again (live mapping)", dmabuf_revoke(dfd2, 0), NULL);
	mapped("new area after a second restore", dh, iova2);
	mapped("new hwpt, new area after a second restore", dh2, iova2);
	iova3 = BASE + 0x200000;
	fixed(ioas, dfd, 0, 2 * PG, iova3, "C");
	mapped("area C", dh, iova3);
	unmap(ioas, iova, 4 * PG, "revoked A");
	fixed(ioas, dfd, 0, 4 * PG, iova, "A again");
	mapped("A again", dh, iova);
	mapped("new hwpt, A again", dh2, iova);
	step("destroy hwpt 2", obj_destroy(fd, dh2), NULL);

	note("a mapping outlives the fd");
	close(dfd);
	close(dfd2);
	mapped("A after close", dh, iova);
	step("revoke closed fd", dmabuf_revoke(dfd, 1), NULL);
	unmap(ioas, 0, U64_MAX_, "all");
	mapped("after unmap all", dh, iova);
	step("destroy mock device", obj_destroy(fd, stdev), NULL);
	step("destroy dirty hwpt", obj_destroy(fd, dh), NULL);
	close(small);
	close(mfd);
	return 0;
}
