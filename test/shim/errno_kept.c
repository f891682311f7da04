/* A call that succeeds leaves errno as the program had it, as libc's do:
 * every call the shim takes over on an emulated file or path, each made
 * with errno set to a value no call would set.
 * Built with -I test/conformance/include; runs unchanged on the oracle
 * (npm run oracle -- record shim/errno_kept). */
// golden: errno_kept
#define _GNU_SOURCE
#include "iofd.h"
#include <linux/close_range.h>
#include <sys/stat.h>

#define MARK 4242

static void check(const char *what, long rc)
{
	int e = errno;
	if (rc < 0)
		printf("%s: failed %s\n", what, errno_name(e));
	else
		printf("%s: ok, errno %s\n", what, e == MARK ? "kept" : errno_name(e));
	fflush(stdout);
	errno = MARK;
}

int main(void)
{
	struct stat st;
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	char line[256];
	int fd, fd2, d, on = 1;
	FILE *f;

	errno = MARK;
	check("stat /dev/iommu", stat("/dev/iommu", &st));
	check("access /dev/iommu", access("/dev/iommu", R_OK | W_OK));
	check("open", fd = open("/dev/iommu", O_RDWR));
	check("open O_NONBLOCK", fd2 = open("/dev/iommu", O_RDWR | O_NONBLOCK));
	check("fstat", fstat(fd, &st));
	check("ioctl IOAS_ALLOC", ioctl(fd, IOMMU_IOAS_ALLOC, &a));
	check("ioctl FIOCLEX", ioctl(fd, FIOCLEX));
	check("ioctl FIONBIO", ioctl(fd2, FIONBIO, &on));
	check("ioctl FAULT_QUEUE_ALLOC", ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	check("fcntl F_GETFL", fcntl(fd, F_GETFL));
	check("fcntl F_SETFL", fcntl(fd2, F_SETFL, O_RDWR));
	check("dup", d = dup(fd));
	check("dup2 over a dup", dup2(fd2, d));
	check("dup3 over the last fd", dup3(fd, fd2, 0));
	check("close", close(d));
	check("close fault queue", close(fa.out_fault_fd));
	f = fopen("/proc/self/status", "r");
	check("fopen /proc/self/status", f ? 0 : -1);
	while (f && fgets(line, sizeof(line), f))
		;
	if (f)
		fclose(f);
	errno = MARK;
	check("close_range", close_range(fd2, fd2, 0));
	check("close", close(fd));
	return 0;
}
