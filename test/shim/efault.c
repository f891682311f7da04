/* An ioctl whose struct lies in memory the program gave back behind libc's
 * wrappers' backs: freed by free() (a big block, which glibc munmaps), unmapped
 * by the raw munmap syscall, made read-only by the raw mprotect syscall. The
 * kernel's copy_from_user/copy_to_user answer EFAULT; the process must never
 * get a SIGSEGV, even when an earlier ioctl used the same page.
 * Built with -I test/conformance/include; runs unchanged on the oracle
 * (npm run oracle -- record shim/efault). */
// golden: efault
#define _GNU_SOURCE
#include "iofd.h"
#include <sys/syscall.h>

#define PAGE 4096UL

/* Fill the structs while the memory is there; the ioctls after it is gone
 * only pass the address (the program never touches that memory itself). */
static void fill_alloc(void *where)
{
	struct iommu_ioas_alloc *c = where;
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
}

static void fill_option(void *where)
{
	struct iommu_option *o = where;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->option_id = IOMMU_OPTION_RLIMIT_MODE;
	o->op = IOMMU_OPTION_OP_GET;
}

static int call(int fd, unsigned long cmd, uintptr_t addr)
{
	return xioctl(fd, cmd, (void *)addr);
}

int main(void)
{
	int fd = iofd_open();
	uintptr_t big, page;

	/* 1. free() of a block glibc got from mmap. */
	big = (uintptr_t)malloc(1 << 20);
	fill_alloc((void *)(big + 64));
	fill_option((void *)(big + 128));
	step("alloc in a big malloc", call(fd, IOMMU_IOAS_ALLOC, big + 64), NULL);
	step("option get in it", call(fd, IOMMU_OPTION, big + 128), NULL);
	free((void *)big);
	step("alloc after free", call(fd, IOMMU_IOAS_ALLOC, big + 64), NULL);
	step("option get after free", call(fd, IOMMU_OPTION, big + 128), NULL);

	/* 2. The raw munmap syscall. */
	page = (uintptr_t)mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fill_alloc((void *)(page + 16));
	fill_option((void *)(page + 256));
	/* A struct straddling the two pages. */
	fill_alloc((void *)(page + PAGE - 4));
	step("alloc in a page", call(fd, IOMMU_IOAS_ALLOC, page + 16), NULL);
	step("option get in the page", call(fd, IOMMU_OPTION, page + 256), NULL);
	step("alloc across two pages", call(fd, IOMMU_IOAS_ALLOC, page + PAGE - 4), NULL);
	step("raw munmap of the second page", syscall(SYS_munmap, page + PAGE, PAGE) ? -errno : 0, NULL);
	step("alloc across into the hole", call(fd, IOMMU_IOAS_ALLOC, page + PAGE - 4), NULL);
	step("alloc in the first page", call(fd, IOMMU_IOAS_ALLOC, page + 16), NULL);
	step("raw munmap of the first page", syscall(SYS_munmap, page, PAGE) ? -errno : 0, NULL);
	step("alloc after raw munmap", call(fd, IOMMU_IOAS_ALLOC, page + 16), NULL);
	step("option get after raw munmap", call(fd, IOMMU_OPTION, page + 256), NULL);

	/* 3. The raw mprotect syscall: the struct is readable, not writable. */
	page = (uintptr_t)mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fill_option((void *)page);
	step("option get", call(fd, IOMMU_OPTION, page), NULL);
	step("raw mprotect read-only", syscall(SYS_mprotect, page, PAGE, PROT_READ) ? -errno : 0, NULL);
	step("option get read-only", call(fd, IOMMU_OPTION, page), NULL);
	/* 4. And through the libc wrapper. */
	step("munmap", munmap((void *)page, PAGE) ? -errno : 0, NULL);
	step("option get after munmap", call(fd, IOMMU_OPTION, page), NULL);
	printf("alive\n");
	return 0;
}
