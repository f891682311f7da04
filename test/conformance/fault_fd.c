// The fault queue fd as a file: read at the file position works, pread and
// pwrite are ESPIPE at any offset (an anon inode has no pread mode), a
// negative pread offset is EINVAL.
// platform: mock
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "iommufd_abi.h"
int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	char buf[80];
	if (ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa)) { perror("fault alloc"); return 1; }
	int q = fa.out_fault_fd;
	ssize_t n = pread(q, buf, 40, 0);
	printf("pread 0: %zd %s\n", n, n < 0 ? strerror(errno) : "-");
	n = read(q, buf, 40);
	printf("read: %zd %s\n", n, n < 0 ? strerror(errno) : "-");
	n = pwrite(q, buf, 8, 0);
	printf("pwrite 0: %zd %s\n", n, n < 0 ? strerror(errno) : "-");
	n = pread(q, buf, 40, -1);
	printf("pread -1: %zd %s\n", n, n < 0 ? strerror(errno) : "-");
	return 0;
}
