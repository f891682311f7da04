/* A minimal iommufd user: allocate an IOAS, map a buffer for DMA, ask for
 * the usable IOVA ranges, unmap. Run it under the emulator:
 *   bin/iommufd-emu run --trace -- ./hello-iommufd
 * The structs are spelled out here so it builds without kernel headers. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define IOMMU_IOAS_ALLOC 0x3b81
#define IOMMU_IOAS_IOVA_RANGES 0x3b84
#define IOMMU_IOAS_MAP 0x3b85
#define IOMMU_IOAS_UNMAP 0x3b86

struct ioas_alloc { uint32_t size, flags, out_ioas_id; };
struct iova_range { uint64_t start, last; };
struct iova_ranges { uint32_t size, ioas_id, num_iovas, reserved; uint64_t allowed_iovas, out_iova_alignment; };
struct ioas_map { uint32_t size, flags, ioas_id, reserved; uint64_t user_va, length, iova; };
struct ioas_unmap { uint32_t size, ioas_id; uint64_t iova, length; };

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	if (fd < 0) { perror("open /dev/iommu"); return 1; }

	struct ioas_alloc alloc = { .size = sizeof(alloc) };
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc)) { perror("IOMMU_IOAS_ALLOC"); return 1; }
	printf("IOAS %u\n", alloc.out_ioas_id);

	size_t len = 2 << 20;
	void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ioas_map map = { .size = sizeof(map), .flags = 0x6 /* READABLE | WRITEABLE */,
				.ioas_id = alloc.out_ioas_id, .user_va = (uintptr_t)buf, .length = len };
	if (ioctl(fd, IOMMU_IOAS_MAP, &map)) { perror("IOMMU_IOAS_MAP"); return 1; }
	printf("mapped %zu bytes at IOVA 0x%llx\n", len, (unsigned long long)map.iova);

	struct iova_range r[4];
	struct iova_ranges q = { .size = sizeof(q), .ioas_id = alloc.out_ioas_id, .num_iovas = 4,
				 .allowed_iovas = (uintptr_t)r };
	if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q)) { perror("IOMMU_IOAS_IOVA_RANGES"); return 1; }
	for (unsigned i = 0; i < q.num_iovas; i++)
		printf("usable IOVA 0x%llx..0x%llx\n", (unsigned long long)r[i].start, (unsigned long long)r[i].last);

	struct ioas_unmap un = { .size = sizeof(un), .ioas_id = alloc.out_ioas_id, .iova = map.iova, .length = len };
	if (ioctl(fd, IOMMU_IOAS_UNMAP, &un)) { perror("IOMMU_IOAS_UNMAP"); return 1; }
	printf("unmapped %llu bytes\n", (unsigned long long)un.length);

	un.length = len;
	if (ioctl(fd, IOMMU_IOAS_UNMAP, &un) == 0 || errno != ENOENT) { printf("expected ENOENT\n"); return 1; }
	printf("second unmap: %s\n", strerror(errno));
	close(fd);
	return 0;
}
