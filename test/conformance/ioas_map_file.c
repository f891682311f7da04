// IOMMU_IOAS_MAP_FILE and IOMMU_IOAS_CHANGE_PROCESS: any open file maps
// (lazily); pinning it (a domain now or later, an access) needs a memfd and
// whole pages inside its size; COPY and access objects work on file pages;
// CHANGE_PROCESS refuses MAP areas and moves the pin charge to the caller
// (charge first: ENOMEM with nothing changed), also from a forked child.
// platform: mock
#include "step.h"
#include "iofd.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#define PG 0x1000ULL
#define BASE 0x1000000ULL /* the mock domain's aperture starts at 16 MiB */

static int fd;

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

static void auto_map(__u32 ioas, int file, __u64 start, __u64 len,
		     const char *what)
{
	__u64 iova = 0;
	int rc = map_file(ioas, MAP_RW, file, start, len, &iova);

	step_ok(L("map_file %s start=0x%llx len=0x%llx", what,
		  (unsigned long long)start, (unsigned long long)len), rc,
		"iova=0x%llx", (unsigned long long)iova);
}

static int fixed(__u32 ioas, int file, __u64 start, __u64 len, __u64 iova,
		 const char *what)
{
	int rc = map_file(ioas, MAP_FIXED_RW, file, start, len, &iova);

	step(L("map_file %s start=0x%llx len=0x%llx at 0x%llx", what,
	       (unsigned long long)start, (unsigned long long)len,
	       (unsigned long long)iova), rc, NULL);
	return rc;
}

static void unmap_all(__u32 ioas)
{
	__u64 n = 0;
	int rc = ioas_unmap(fd, ioas, 0, U64_MAX_, &n);

	step_ok(L("unmap all of %u", ioas), rc, "pages=%llu",
		(unsigned long long)(n / PG));
}

static int change_process(void)
{
	struct iommu_ioas_change_process c = { .size = sizeof(c) };

	return xioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &c);
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

static int memlock(__u64 pages)
{
	struct rlimit rl = { .rlim_cur = pages * PG, .rlim_max = pages * PG };

	return setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
}

/* CHANGE_PROCESS from a forked child under a MEMLOCK limit of `pages`. */
static void child_change(const char *what, __u64 pages)
{
	pid_t c = fork();
	int st = 0;

	if (c == 0) {
		step(L("child: setrlimit MEMLOCK %llu pages",
		       (unsigned long long)pages), memlock(pages), NULL);
		step(L("child: change_process %s", what), change_process(),
		     NULL);
		exit(0);
	}
	waitpid(c, &st, 0);
	note("child exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void)
{
	__u32 ioas = 0, ioas2 = 0, stdev = 0, hwpt = 0, stdev2 = 0;
	char *buf = buf_alloc(16 * PG);
	int mfd, zfd, pfd, odd, afd = -1, rc;
	unsigned char rb[8];
	char *mp;
	__u64 iova;

	mfd = memfd_create("buffer", 0);
	if (mfd < 0 || ftruncate(mfd, 8 * PG)) {
		printf("memfd: %s\n", errno_name(errno));
		return 1;
	}
	mp = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (mp == MAP_FAILED) {
		printf("mmap memfd: %s\n", errno_name(errno));
		return 1;
	}
	memset(mp, 0x5a, 8 * PG);
	zfd = open("/dev/zero", O_RDWR);
	pfd = open("/proc/self/status", O_RDONLY);
	odd = memfd_create("odd", 0);
	if (zfd < 0 || pfd < 0 || odd < 0 || ftruncate(odd, PG + 100)) {
		printf("setup: %s\n", errno_name(errno));
		return 1;
	}
	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);

	note("no domain: any open file maps, nothing is pinned");
	auto_map(ioas, mfd, 0, 4 * PG, "memfd");
	auto_map(ioas, mfd, 0x3100, 2 * PG, "memfd");
	auto_map(ioas, mfd, 6 * PG, 4 * PG, "memfd past EOF");
	auto_map(ioas, mfd, 100 * PG, PG, "memfd start past EOF");
	fixed(ioas, zfd, 0, 4 * PG, 0x800000, "/dev/zero");
	fixed(ioas, pfd, 0, PG, 0x900000, "procfs file");
	fixed(ioas, fd, 0, PG, 0xa00000, "the iommufd");
	step("map_file fd -1", map_file(ioas, MAP_RW, -1, 0, PG, NULL), NULL);
	step("map_file closed fd 999", map_file(ioas, MAP_RW, 999, 0, PG, NULL),
	     NULL);
	step("map_file length 0", map_file(ioas, MAP_RW, mfd, 0, 0, NULL), NULL);
	step("map_file start+length overflows",
	     map_file(ioas, MAP_RW, mfd, ~0ULL - 10, PG, NULL), NULL);
	step("map_file no READ/WRITE", map_file(ioas, 0, mfd, 0, PG, NULL),
	     NULL);
	step("map_file bad ioas with a bad fd",
	     map_file(99, MAP_RW, 999, 0, PG, NULL), NULL);
	unmap_all(ioas);

	note("access objects read and write the file's pages");
	step("create_access", create_access(fd, ioas, 0, &afd), NULL);
	fixed(ioas, mfd, 0, 2 * PG, BASE, "memfd");
	memset(rb, 0, sizeof(rb));
	rc = access_rw(fd, afd, 0, BASE + 0x10, 4, rb);
	step_ok("access_rw read", rc, "%02x%02x%02x%02x", rb[0], rb[1], rb[2],
		rb[3]);
	memset(rb, 0x11, sizeof(rb));
	rc = access_rw(fd, afd, MOCK_ACCESS_RW_WRITE, BASE + 0x20, 4, rb);
	step_ok("access_rw write", rc, "memfd byte=%02x",
		(unsigned char)mp[0x20]);
	fixed(ioas, mfd, 6 * PG, 4 * PG, BASE + 0x100000, "memfd past EOF");
	step("access_rw inside the file",
	     access_rw(fd, afd, 0, BASE + 0x100000, 4, rb), NULL);
	step("access_rw past EOF",
	     access_rw(fd, afd, 0, BASE + 0x100000 + 3 * PG, 4, rb), NULL);
	iova = BASE + 0x200000;
	step("map_file read-only",
	     map_file(ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		      mfd, 0, PG, &iova), NULL);
	step("access_rw write to read-only",
	     access_rw(fd, afd, MOCK_ACCESS_RW_WRITE, BASE + 0x200000, 4, rb),
	     NULL);
	close(afd);
	unmap_all(ioas);

	note("a domain pins at attach: one bad area fails it");
	struct { const char *what; int file; __u64 start, len; } att[] = {
		{ "memfd", mfd, 0, 4 * PG },
		{ "memfd up to EOF", mfd, 4 * PG, 4 * PG },
		{ "memfd past EOF", mfd, 6 * PG, 4 * PG },
		{ "memfd start past EOF", mfd, 100 * PG, PG },
		{ "/dev/zero", zfd, 0, PG },
		{ "procfs file", pfd, 0, PG },
		{ "the iommufd", fd, 0, PG },
	};
	for (unsigned i = 0; i < sizeof(att) / sizeof(att[0]); i++) {
		fixed(ioas, att[i].file, att[i].start, att[i].len, BASE,
		      att[i].what);
		rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, NULL);
		step(L("mock_domain over %s", att[i].what), rc, NULL);
		if (rc == 0)
			step("destroy stdev", obj_destroy(fd, stdev), NULL);
		unmap_all(ioas);
	}

	note("with a domain: MAP_FILE pins at once");
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, NULL);
	step_ok("mock_domain", rc, "stdev=%u", stdev);
	for (unsigned i = 0; i < sizeof(att) / sizeof(att[0]); i++)
		fixed(ioas, att[i].file, att[i].start, att[i].len,
		      BASE + 0x100000 * i, att[i].what);
	fixed(ioas, mfd, 0x100, PG, BASE + 0x800000, "memfd unaligned start");
	fixed(ioas, odd, 0, PG + 100, BASE + 0x900000, "odd-size memfd whole");
	fixed(ioas, odd, 0, PG, BASE + 0xa00000, "odd-size memfd first page");
	fixed(ioas, odd, PG, 100, BASE + 0xb00000, "odd-size memfd tail");
	iova = 0;
	rc = map_file(ioas, MAP_RW, mfd, 0x2000, 2 * PG, &iova);
	step_ok("map_file memfd auto with a domain", rc, "iova=0x%llx",
		(unsigned long long)iova);

	note("COPY shares the file pages");
	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc 2", rc, "id=%u", ioas2);
	step("mock_domain on ioas 2",
	     mock_domain(fd, ioas2, 0, &stdev2, NULL, NULL), NULL);
	iova = BASE;
	step("ioas_copy file area into ioas 2",
	     ioas_copy(fd, ioas2, ioas, MAP_FIXED_RW, BASE, 4 * PG, &iova),
	     NULL);
	iova = BASE + PG * 16;
	step("ioas_copy two file areas in one",
	     ioas_copy(fd, ioas2, ioas, MAP_FIXED_RW, BASE + 0x100000, 4 * PG,
		       &iova), NULL);
	step("change_process with file areas only", change_process(), NULL);
	unmap_all(ioas);
	step("change_process with only ioas 2's file areas", change_process(),
	     NULL);
	unmap_all(ioas2);

	note("CHANGE_PROCESS refuses MAP areas");
	step("change_process with nothing mapped", change_process(), NULL);
	iova = BASE;
	step("ioas_map user memory",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, PG, &iova), NULL);
	fixed(ioas, mfd, 0, PG, BASE + 0x100000, "memfd");
	step("change_process with a MAP area", change_process(), NULL);
	unmap_all(ioas);

	note("the charge moves: no CAP_IPC_LOCK, MEMLOCK 8 pages, one user");
	step("drop CAP_IPC_LOCK", drop_cap(CAP_IPC_LOCK), NULL);
	step("setrlimit MEMLOCK 8 pages", memlock(8), NULL);
	fixed(ioas, mfd, 0, 4 * PG, BASE, "memfd 4 pages");
	child_change("(charge 4 more, then the parent's 4 go)", 8);
	step("change_process back to the parent", change_process(), NULL);
	child_change("over a 7-page limit", 7);
	fixed(ioas, mfd, 4 * PG, 4 * PG, BASE + 0x100000, "memfd 4 more pages");
	fixed(ioas, mfd, 0, PG, BASE + 0x200000, "memfd one over the limit");
	child_change("needs 16 pages of 8", 8);
	step("change_process in the owner itself (nothing to move)",
	     change_process(), NULL);
	unmap_all(ioas);
	fixed(ioas, mfd, 0, 8 * PG, BASE, "memfd 8 pages after unmap");
	unmap_all(ioas);
	step("destroy stdev", obj_destroy(fd, stdev), NULL);
	step("destroy stdev2", obj_destroy(fd, stdev2), NULL);
	return 0;
}
