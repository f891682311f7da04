/* exec: an fd opened without O_CLOEXEC survives exec and the new image's
 * shim recognises it (by its peer) and forwards its ioctls. */
#include "common.h"
#include <sys/stat.h>
#include <sys/sysmacros.h>

int main(int argc, char **argv)
{
	if (argc > 1) {
		int fd = atoi(argv[1]);
		struct stat st;
		uint64_t v = 99;
		report("after exec option get", option_get(fd, &v));
		printf("after exec val64: %llu\n", (unsigned long long)v);
		report("after exec fstat", fstat(fd, &st));
		printf("after exec fstat mode: %s major %u\n", S_ISCHR(st.st_mode) ? "chr" : "other", major(st.st_rdev));
		return 0;
	}
	int fd = open("/dev/iommu", O_RDWR), cl = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	char buf[16];
	struct iommu_ioas_alloc al = { .size = sizeof(al) };
	report("before exec alloc", ioctl(fd, IOMMU_IOAS_ALLOC, &al));
	report("cloexec alloc", ioctl(cl, IOMMU_IOAS_ALLOC, &al));
	fflush(stdout);
	snprintf(buf, sizeof(buf), "%d", fd);
	execl("/proc/self/exe", argv[0], buf, (char *)NULL);
	report("exec", -1);
	return 1;
}
