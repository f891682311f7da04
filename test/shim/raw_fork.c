/* Children made by the raw fork and clone syscalls (no glibc fork handlers
 * run in them) and by vfork are processes of their own: an IOAS_MAP of a
 * buffer the child mapped after the fork pins the child's pages, accounted
 * to the child (VmPin in its /proc/self/status), not to its parent; the
 * parent's calls after the child are its own again.
 * Built with -I test/conformance/include; runs unchanged on the oracle
 * (npm run oracle -- record shim/raw_fork). */
// golden: raw_fork
#define _GNU_SOURCE
#include "iofd.h"
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PAGE 4096UL

static int fd;
static __u32 ioas;

static void vmpin(const char *who)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	if (!f) {
		printf("%s: status %s\n", who, errno_name(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmPin:", 6) == 0) {
			long kb = -1;
			sscanf(line + 6, "%ld", &kb);
			printf("%s: VmPin %ld kB\n", who, kb);
		}
	}
	fclose(f);
	fflush(stdout);
}

/* What every child does: map pages it allocated itself, at its own IOVA. */
static int child(const char *who, __u64 iova, int pages)
{
	char label[64];
	char *buf = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 0x5a, pages * PAGE);
	snprintf(label, sizeof(label), "%s: map its own buffer", who);
	step(label, ioas_map(fd, ioas, MAP_FIXED_RW, buf, pages * PAGE, &iova), NULL);
	snprintf(label, sizeof(label), "%s", who);
	vmpin(label);
	snprintf(label, sizeof(label), "%s: unmap", who);
	step(label, ioas_unmap(fd, ioas, iova, pages * PAGE, NULL), NULL);
	return 0;
}

static void reap(const char *who, pid_t pid)
{
	int status = 0;
	if (pid < 0) {
		printf("%s: fork %s\n", who, errno_name(errno));
		return;
	}
	waitpid(pid, &status, 0);
	printf("%s: exit %d\n", who, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	fflush(stdout);
}

int main(void)
{
	char *mine;
	__u64 iova = 1UL << 24;
	long pid;

	fd = iofd_open();
	step("ioas", ioas_alloc(fd, &ioas), NULL);
	step("mock domain", mock_domain(fd, ioas, 0, NULL, NULL, NULL), NULL);
	mine = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(mine, 1, PAGE);
	step("parent map 1 page", ioas_map(fd, ioas, MAP_FIXED_RW, mine, PAGE, &iova), NULL);
	vmpin("parent");

	pid = syscall(SYS_fork);
	if (pid == 0)
		_exit(child("SYS_fork child", 2UL << 24, 2));
	reap("SYS_fork child", (pid_t)pid);
	vmpin("parent");

	pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(child("SYS_clone child", 3UL << 24, 3));
	reap("SYS_clone child", (pid_t)pid);
	vmpin("parent");

	/* A vfork child that closes a dup of the fd before it exits. */
	int d = dup(fd);
	pid = vfork();
	if (pid == 0) {
		close(d);
		_exit(0);
	}
	reap("vfork child", (pid_t)pid);
	step("parent close of its dup", close(d) ? -errno : 0, NULL);

	/* The parent is itself again. */
	iova = 4UL << 24;
	step("parent map again", ioas_map(fd, ioas, MAP_FIXED_RW, mine, PAGE, &iova), NULL);
	vmpin("parent");
	step("parent unmap all", ioas_unmap(fd, ioas, 0, U64_MAX_, NULL), NULL);
	vmpin("parent");
	return 0;
}
