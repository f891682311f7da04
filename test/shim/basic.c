/* open, an unknown ioctl, a bad pointer, OPTION get, fstat, dup, close. */
#include "common.h"
#include <sys/stat.h>
#include <sys/sysmacros.h>

int main(void)
{
	struct stat st;
	uint64_t val = 0;
	int fd = open_iommu(), fd2;

	printf("open: ok\n");
	report("stat", stat("/dev/iommu", &st));
	printf("stat mode: %s\n", S_ISCHR(st.st_mode) ? "chr" : "other");
	report("fstat", fstat(fd, &st));
	printf("fstat mode: %s major %u\n", S_ISCHR(st.st_mode) ? "chr" : "other", major(st.st_rdev));
	report("unknown ioctl", ioctl(fd, _IO('x', 0x42), 0));
	report("option bad pointer", ioctl(fd, IOMMU_OPTION, (void *)8));
	report("option get", option_get(fd, &val));
	printf("option val64: %llu\n", (unsigned long long)val);
	fd2 = dup(fd);
	close(fd);
	report("dup option get", option_get(fd2, &val));
	report("close", close(fd2));
	report("closed ioctl", option_get(fd2, NULL));
	report("tty ioctl passes through", ioctl(0, FIONREAD, &fd2) < 0 && errno == EFAULT ? -1 : 0);
	return 0;
}
