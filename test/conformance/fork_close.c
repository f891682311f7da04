// fork and close: a child inherits the iommufd and shares its objects; a
// child's own open is a separate context; dup keeps the context alive;
// closing the last reference releases every object and pin, and a new
// open starts IDs at 1 again.
// platform: mock
#include "step.h"
#include "iofd.h"
#include <sys/wait.h>

#define PG 0x1000ULL

/* Wait for a child; its exit status is the ID of the IOAS it made. */
static __u32 wait_child(pid_t pid, const char *what)
{
	int st = 0, code;

	if (waitpid(pid, &st, 0) < 0) {
		step(L("waitpid %s", what), -errno, NULL);
		return 0;
	}
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	step(L("child %s exited", what), 0, "status=%d", code);
	return code;
}

int main(void)
{
	char *buf = buf_alloc(16 * PG);
	__u32 ioas = 0, x = 0, stdev = 0, hwpt = 0;
	__u64 iova;
	pid_t pid;
	int fd, fd2, rc;

	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("parent ioas_alloc", rc, "id=%u", ioas);
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, NULL);
	step_ok("parent mock_domain", rc, "stdev=%u hwpt=%u", stdev, hwpt);
	iova = 0x1000000;
	step("parent ioas_map 0x1000000+4 pages",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 4 * PG, &iova), NULL);
	note("parent pins of page 0: %d", page_pins(fd, buf));

	note("child uses the inherited fd");
	pid = fork();
	if (pid == 0) {
		__u32 cid = 0;

		rc = ioas_alloc(fd, &cid);
		step_ok("child ioas_alloc", rc, "id=%u", cid);
		iova = 0x1100000;
		rc = ioas_map(fd, ioas, MAP_FIXED_RW, buf + 4 * PG, 4 * PG,
			      &iova);
		step("child ioas_map its own pages into the parent's ioas", rc,
		     NULL);
		note("child pins of page 4: %d", page_pins(fd, buf + 4 * PG));
		note("child pins of page 0: %d", page_pins(fd, buf));
		step("child md_check_map of its pages",
		     check_map(fd, hwpt, 0x1100000, 4 * PG, buf + 4 * PG), NULL);
		step("child destroy id 99",
		     obj_destroy(fd, 99), NULL);
		close(fd);
		fd2 = iofd_open();
		rc = ioas_alloc(fd2, &x);
		step_ok("child ioas_alloc on its own open", rc, "id=%u", x);
		exit(cid);
	}
	x = wait_child(pid, "1");
	step("parent destroy the child's ioas", obj_destroy(fd, x), NULL);
	rc = ioas_alloc(fd, &x);
	step_ok("parent ioas_alloc after the child", rc, "id=%u", x);
	step("parent md_check_map of the child's area at its own va",
	     check_map(fd, hwpt, 0x1100000, 4 * PG, buf + 4 * PG), NULL);
	note("parent pins of page 4: %d", page_pins(fd, buf + 4 * PG));
	rc = ioas_unmap(fd, ioas, 0x1100000, 4 * PG, &iova);
	step_ok("parent unmaps the child's area", rc, "length=0x%llx",
		(unsigned long long)iova);

	note("child exits without closing");
	pid = fork();
	if (pid == 0) {
		__u32 cid = 0;

		rc = ioas_alloc(fd, &cid);
		step_ok("child ioas_alloc", rc, "id=%u", cid);
		_exit(cid);
	}
	x = wait_child(pid, "2");
	step("parent destroy the child's ioas", obj_destroy(fd, x), NULL);

	note("dup keeps the context alive");
	fd2 = dup(fd);
	step("dup", fd2 < 0 ? -errno : 0, NULL);
	close(fd);
	rc = ioas_alloc(fd2, &x);
	step_ok("ioas_alloc via the dup", rc, "id=%u", x);
	note("pins of page 0 after closing the original: %d",
	     page_pins(fd2, buf));

	note("close releases everything");
	close(fd2);
	fd = iofd_open();
	note("pins of page 0 after the last close: %d", page_pins(fd, buf));
	rc = ioas_alloc(fd, &x);
	step_ok("ioas_alloc on a new open", rc, "id=%u", x);
	step("destroy id 2 (old stdev) in the new context", obj_destroy(fd, 2),
	     NULL);
	rc = mock_domain(fd, x, 0, &stdev, &hwpt, NULL);
	step_ok("mock_domain on a new open", rc, "stdev=%u hwpt=%u", stdev, hwpt);
	close(fd);
	return 0;
}
