/*
 * A client another process attacks: it opens /dev/iommu, allocates IOAS 1
 * and a one-page buffer mapped at a fixed IOVA, says where it is, waits for a
 * line on stdin, then checks that nothing of its changed.
 */
#include "common.h"
#include <sys/mman.h>

int main(void)
{
	int fd = open_iommu();
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	char line[16];
	unsigned char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(buf, 0x5a, 4096);
	report("alloc", ioctl(fd, IOMMU_IOAS_ALLOC, &a));
	struct iommu_ioas_map m = { .size = sizeof(m), .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				    IOMMU_IOAS_MAP_WRITEABLE, .ioas_id = a.out_ioas_id, .user_va = (uintptr_t)buf,
				    .length = 4096, .iova = 0x100000 };
	report("map", ioctl(fd, IOMMU_IOAS_MAP, &m));
	printf("fd: %d\nready\n", fd);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;
	int same = 1;
	for (int i = 0; i < 4096; i++)
		same &= buf[i] == 0x5a;
	printf("buffer unchanged: %s\n", same ? "yes" : "no");
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = a.out_ioas_id, .iova = 0x100000, .length = 4096 };
	report("unmap", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	struct iommu_destroy d = { .size = sizeof(d), .id = a.out_ioas_id };
	report("destroy", ioctl(fd, IOMMU_DESTROY, &d));
	return 0;
}
