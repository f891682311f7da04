// RLIMIT_MEMLOCK accounting as root: CAP_IPC_LOCK means no limit; without
// CAP_IPC_LOCK the limit applies in both RLIMIT modes (user and mm).
// platform: mock
#include "step.h"
#include "iofd.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>

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

/* Drop one capability from the effective set (raw capset, no libcap). */
static int drop_cap(int cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[cap / 32].effective &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

static void session(int mm_mode, char *buf)
{
	__u32 ioas = 0, stdev = 0;
	__u64 v = mm_mode;
	int rc;

	fd = iofd_open();
	rc = iommu_opt(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v);
	step(L("option RLIMIT_MODE SET %d", mm_mode), rc, NULL);
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	rc = mock_domain(fd, ioas, 0, &stdev, NULL, NULL);
	step_ok("mock_domain", rc, "stdev=%u", stdev);
	map_fixed(ioas, buf, 0x1000000, 16 * PG, "");
	map_fixed(ioas, buf + 16 * PG, 0x1100000, 1 * PG, " (one over)");
	map_fixed(ioas, buf, 0x1200000, 1 * PG, " (same VA, new mapping)");
	step("ioas_unmap all", ioas_unmap(fd, ioas, 0, ~0ULL, NULL), NULL);
	map_fixed(ioas, buf + 16 * PG, 0x1100000, 16 * PG, " (after unmap)");
	close(fd);
}

int main(void)
{
	struct rlimit rl = { .rlim_cur = 16 * PG, .rlim_max = 16 * PG };
	char *buf = buf_alloc(64 * PG);
	__u32 ioas = 0, stdev = 0;
	int rc;

	rc = setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
	step("setrlimit MEMLOCK 16 pages", rc, NULL);

	note("root with CAP_IPC_LOCK: no limit");
	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	rc = mock_domain(fd, ioas, 0, &stdev, NULL, NULL);
	step_ok("mock_domain", rc, "stdev=%u", stdev);
	map_fixed(ioas, buf, 0x1000000, 64 * PG, " (4x limit)");
	note("pins of page 0: %d", page_pins(fd, buf));
	close(fd);

	rc = drop_cap(CAP_IPC_LOCK);
	step("drop CAP_IPC_LOCK", rc, NULL);
	note("user mode (per user)");
	session(0, buf);
	note("mm mode (per process, VFIO compatible)");
	session(1, buf);

	note("RLIMIT_MODE belongs to the file");
	fd = iofd_open();
	{
		__u64 v = 0;

		rc = iommu_opt(fd, IOMMU_OPTION_RLIMIT_MODE,
			       IOMMU_OPTION_OP_GET, 0, &v);
		step_ok("option RLIMIT_MODE GET on a new file", rc,
			"val64=%llu", (unsigned long long)v);
	}
	close(fd);
	return 0;
}
