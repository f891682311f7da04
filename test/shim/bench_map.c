/* Benchmark: one IOMMU_IOAS_MAP of SIZE bytes (default 1 GiB) through the
 * shim, end to end, then its unmap. Prints "map_us V" and "unmap_us V". */
#include "common.h"
#include <sys/mman.h>
#include <time.h>

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	uint64_t len = argc > 1 ? strtoull(argv[1], NULL, 0) : (1ull << 30);
	struct iommu_ioas_alloc al = { .size = sizeof(al) };
	struct iommu_ioas_map m = { .size = sizeof(m) };
	struct iommu_ioas_unmap u = { .size = sizeof(u) };
	int fd = open_iommu();
	void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	double t0, t1;

	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &al)) {
		report("ioas alloc", -1);
		return 1;
	}
	m.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	m.ioas_id = al.out_ioas_id;
	m.user_va = (uintptr_t)buf;
	m.length = len;
	t0 = now_us();
	if (ioctl(fd, IOMMU_IOAS_MAP, &m)) {
		report("ioas map", -1);
		return 1;
	}
	t1 = now_us();
	printf("map_us %.1f\n", t1 - t0);
	u.ioas_id = al.out_ioas_id;
	u.iova = m.iova;
	u.length = len;
	t0 = now_us();
	if (ioctl(fd, IOMMU_IOAS_UNMAP, &u)) {
		report("ioas unmap", -1);
		return 1;
	}
	printf("unmap_us %.1f\n", now_us() - t0);
	return 0;
}
