/* Opens /dev/iommu, allocates and maps, prints "ready", then issues ioctls
 * until killed (a client killed mid-run). */
#include "common.h"
#include <sys/mman.h>

int main(void)
{
	struct iommu_ioas_alloc al = { .size = sizeof(al) };
	struct iommu_ioas_map m = { .size = sizeof(m), .length = 1 << 20,
				    .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE };
	int fd = open_iommu();
	report("alloc", ioctl(fd, IOMMU_IOAS_ALLOC, &al));
	m.ioas_id = al.out_ioas_id;
	m.user_va = (uintptr_t)mmap(NULL, m.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	report("map", ioctl(fd, IOMMU_IOAS_MAP, &m));
	printf("ready\n");
	fflush(stdout);
	for (;;)
		option_get(fd, NULL);
}
