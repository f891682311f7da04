// Mappings made by a process that has exited since (a forked child sharing
// the iommufd), pinned later by the parent's new domain. A memfd mapped with
// IOAS_MAP_FILE pins from the file: it fills, and as root (CAP_IPC_LOCK: the
// pages charge nothing) no limit of the gone process is read (amd-vi v2 seed
// 782 step 3031: the emulator answered ESRCH). The child's own memory (IOAS_MAP)
// cannot be pinned once its mm is gone: EFAULT.
// platform: mock
#define _GNU_SOURCE
#include "step.h"
#include "iofd.h"

#include <sys/wait.h>

#define PG 0x1000ULL

static int fd;

static int map_file(__u32 ioas, int file, __u64 start, __u64 len, __u64 iova)
{
	struct iommu_ioas_map_file c = {
		.size = sizeof(c), .flags = MAP_FIXED_RW, .ioas_id = ioas,
		.fd = file, .start = start, .length = len, .iova = iova,
	};

	return xioctl(fd, IOMMU_IOAS_MAP_FILE, &c);
}

/* Run `what` in a forked child that then exits; the parent reaps it. */
static void in_child(const char *label, __u32 ioas, int file, void *mem)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		__u64 iova = 0x2000000;
		int rc = file >= 0 ? map_file(ioas, file, 0, 3 * PG, iova)
				   : ioas_map(fd, ioas, MAP_FIXED_RW, mem, 3 * PG, &iova);

		step(L("child: %s", label), rc, NULL);
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		printf("fork/wait failed\n");
		exit(1);
	}
	printf("child exited: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void)
{
	__u32 ioas = 0, ioas2 = 0, hwpt = 0, stdev = 0;
	unsigned char *view, *mem;
	int mfd, rc;

	fd = iofd_open();
	mfd = memfd_create("map_exited", 0);
	if (mfd < 0 || ftruncate(mfd, 8 * PG))
		return 1;
	view = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	mem = buf_alloc(4 * PG);
	memset(view, 0x5a, 8 * PG);
	memset(mem, 0x3c, 4 * PG);

	note("a memfd mapped by a child that exited");
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	in_child("map_file memfd at 0x2000000", ioas, mfd, NULL);
	step("map_file memfd at 0x3000000", map_file(ioas, mfd, PG, 2 * PG, 0x3000000), NULL);
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, NULL);
	step_ok("mock_domain", rc, "hwpt=%u", hwpt);
	step("check_map child's range", check_map(fd, hwpt, 0x2000000, 3 * PG, view), NULL);
	step("check_map parent's range", check_map(fd, hwpt, 0x3000000, 2 * PG, view + PG), NULL);
	step("unmap child's range", ioas_unmap(fd, ioas, 0x2000000, 3 * PG, NULL), NULL);

	note("a child's own memory, after it exited");
	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc", rc, "id=%u", ioas2);
	in_child("ioas_map its memory at 0x2000000", ioas2, -1, mem);
	rc = mock_domain(fd, ioas2, 0, NULL, &hwpt, NULL);
	step_ok("mock_domain", rc, "hwpt=%u", hwpt);
	step("unmap child's range", ioas_unmap(fd, ioas2, 0x2000000, 3 * PG, NULL), NULL);
	rc = mock_domain(fd, ioas2, 0, NULL, &hwpt, NULL);
	step_ok("mock_domain after the unmap", rc, "hwpt=%u", hwpt);
	return 0;
}
