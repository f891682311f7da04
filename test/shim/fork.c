/* fork: the child uses the inherited fd (same open file, its own memory);
 * the file outlives the child's close and the parent's IOAS is still there. */
#include "common.h"
#include <sys/mman.h>
#include <sys/wait.h>

static int map_one(int fd, uint32_t ioas, uint64_t iova)
{
	struct iommu_ioas_map m = { .size = sizeof(m), .ioas_id = ioas, .iova = iova,
				    .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					     IOMMU_IOAS_MAP_WRITEABLE, .length = 4096 };
	void *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m.user_va = (uintptr_t)buf;
	return ioctl(fd, IOMMU_IOAS_MAP, &m);
}

int main(void)
{
	struct iommu_ioas_alloc al = { .size = sizeof(al) };
	int fd = open("/dev/iommu", O_RDWR), status;
	pid_t pid;

	if (fd < 0) {
		report("open", fd);
		return 1;
	}
	report("parent alloc", ioctl(fd, IOMMU_IOAS_ALLOC, &al));
	printf("parent ioas: %u\n", al.out_ioas_id);
	report("parent map", map_one(fd, al.out_ioas_id, 0x100000));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct iommu_ioas_alloc c = { .size = sizeof(c) };
		report("child option get", option_get(fd, NULL));
		report("child alloc", ioctl(fd, IOMMU_IOAS_ALLOC, &c));
		printf("child ioas: %u\n", c.out_ioas_id);
		report("child map", map_one(fd, al.out_ioas_id, 0x200000));
		report("child map same iova", map_one(fd, al.out_ioas_id, 0x100000));
		close(fd);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	printf("child exit: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	{
		struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = al.out_ioas_id,
					      .iova = 0x200000, .length = 4096 };
		report("parent unmap child's", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
	}
	report("parent option get", option_get(fd, NULL));
	report("close", close(fd));
	return 0;
}
