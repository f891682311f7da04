// RLIMIT_MEMLOCK accounting as an ordinary user (uid 65534, no CAP_IPC_LOCK):
// pages are charged when a domain pins them, per distinct mapping; COPY
// shares the charge; attach can fail with ENOMEM; options need privilege.
// oracle: --user
// platform: mock
#include "step.h"
#include "iofd.h"
#include <sys/resource.h>

#define PG 0x1000ULL

static int fd;

static void map_fixed(__u32 ioas, void *va, __u64 iova, __u64 len,
		      const char *what)
{
	__u64 io = iova;
	int rc = ioas_map(fd, ioas, MAP_FIXED_RW, va, len, &io);

	step(L("ioas_map %u fixed 0x%llx+%llu pages%s", ioas,
	       (unsigned long long)iova, (unsigned long long)(len / PG), what),
	     rc, NULL);
}

static void unmap(__u32 ioas, __u64 iova, __u64 len)
{
	__u64 n = 0;
	int rc = ioas_unmap(fd, ioas, iova, len, &n);

	step_ok(L("ioas_unmap %u 0x%llx", ioas, (unsigned long long)iova), rc,
		"pages=%llu", (unsigned long long)(n / PG));
}

int main(void)
{
	struct rlimit rl = { .rlim_cur = 16 * PG, .rlim_max = 16 * PG };
	char *buf = buf_alloc(64 * PG);
	__u32 ioas = 0, ioas2 = 0, stdev = 0, hwpt = 0, idev = 0, s2 = 0;
	__u64 v, d;
	int rc, afd = -1;
	__u32 item = 0;

	note("uid is %s", getuid() == 0 ? "root" : "not root");
	rc = setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
	step("setrlimit MEMLOCK 16 pages", rc, NULL);
	fd = iofd_open();

	v = 0;
	rc = iommu_opt(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v);
	step_ok("option RLIMIT_MODE GET", rc, "val64=%llu",
		(unsigned long long)v);
	v = 1;
	rc = iommu_opt(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v);
	step("option RLIMIT_MODE SET 1 as user", rc, NULL);

	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);

	note("no domain: nothing is pinned, no limit");
	map_fixed(ioas, buf, 0x1000000, 32 * PG, " (2x limit)");
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev);
	step_ok("mock_domain attach needs 32 pages", rc, "stdev=%u", stdev);
	unmap(ioas, 0x1000000, 32 * PG);

	note("with a domain");
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev);
	step_ok("mock_domain", rc, "stdev=%u hwpt=%u idev=%u", stdev, hwpt,
		idev);
	map_fixed(ioas, buf, 0x1000000, 8 * PG, "");
	note("pins of page 0: %d", page_pins(fd, buf));
	map_fixed(ioas, buf + 8 * PG, 0x1100000, 8 * PG, " (reaches limit)");
	map_fixed(ioas, buf + 16 * PG, 0x1200000, 1 * PG, " (one over)");
	map_fixed(ioas, buf, 0x1300000, 1 * PG, " (same VA again)");
	note("pins of page 16 after the failure: %d", page_pins(fd, buf + 16 * PG));

	note("COPY shares pages: no new charge");
	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc 2", rc, "id=%u", ioas2);
	rc = mock_domain(fd, ioas2, 0, &s2, NULL, NULL);
	step_ok("mock_domain on ioas 2", rc, "stdev=%u", s2);
	d = 0x1000000;
	rc = ioas_copy(fd, ioas2, ioas, MAP_FIXED_RW, 0x1000000, 8 * PG, &d);
	step("ioas_copy 8 pinned pages into ioas 2", rc, NULL);
	note("pins of page 0: %d", page_pins(fd, buf));
	d = 0x1400000;
	rc = ioas_copy(fd, ioas, ioas, MAP_FIXED_RW, 0x1000000, 4 * PG, &d);
	step("ioas_copy within ioas 1", rc, NULL);

	note("unmap frees the charge");
	unmap(ioas, 0x1100000, 8 * PG);
	map_fixed(ioas, buf + 16 * PG, 0x1200000, 8 * PG, " (fits again)");
	map_fixed(ioas, buf + 24 * PG, 0x1500000, 1 * PG, " (one over)");
	unmap(ioas2, 0x1000000, 8 * PG);
	map_fixed(ioas, buf + 24 * PG, 0x1500000, 1 * PG,
		  " (still over: ioas 1 holds the pages)");

	note("access objects charge too");
	rc = create_access(fd, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
			   &afd);
	step("create_access", rc, NULL);
	rc = access_pages(fd, afd, 0, 0x1000000, 4 * PG, buf, &item);
	step_ok("access_pages of mapped pages", rc, "item=%u", item);
	step("destroy_access_pages", access_unpin(fd, afd, item), NULL);
	step("destroy stdev (last domain of ioas 1)", obj_destroy(fd, stdev),
	     NULL);
	map_fixed(ioas, buf + 32 * PG, 0x1600000, 16 * PG,
		  " (no domain: not pinned)");
	rc = access_pages(fd, afd, 0, 0x1600000, 16 * PG, buf + 32 * PG, &item);
	step_ok("access_pages 16 unpinned pages (limit 16)", rc, "item=%u", item);
	rc = access_pages(fd, afd, 0, 0x1600000, 8 * PG, buf + 32 * PG, &item);
	step_ok("access_pages first 8 of them again", rc, "item=%u", item);
	step("destroy_access_pages", access_unpin(fd, afd, item), NULL);
	close(afd);
	unmap(ioas, 0, ~0ULL);

	note("raising the limit");
	rl.rlim_cur = rl.rlim_max = 64 * PG;
	rc = setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
	step("setrlimit MEMLOCK 64 pages as user (above hard limit)", rc, NULL);
	rl.rlim_cur = rl.rlim_max = 8 * PG;
	rc = setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
	step("setrlimit MEMLOCK 8 pages", rc, NULL);
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev);
	step_ok("mock_domain", rc, "stdev=%u", stdev);
	map_fixed(ioas, buf, 0x1000000, 8 * PG, "");
	map_fixed(ioas, buf + 8 * PG, 0x1100000, 1 * PG, " (one over)");
	close(fd);

	note("closing the file releases the charge");
	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev);
	step_ok("mock_domain", rc, "stdev=%u", stdev);
	map_fixed(ioas, buf, 0x1000000, 8 * PG, "");
	close(fd);
	return 0;
}
