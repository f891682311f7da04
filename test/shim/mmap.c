/* mmap of an emulated fd: the region is shared with the engine, and the
 * kernel's rules for iommufd regions hold (EINVAL, EPERM, ENXIO, EBUSY). */
#include "emu_test.h"
#include <sys/mman.h>
#include <sys/wait.h>

static void try_map(const char *step, int fd, size_t len, int prot, int flags, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);
	if (p == MAP_FAILED) {
		printf("%s: -1 %s\n", step, ename(errno));
	} else {
		printf("%s: mapped\n", step);
		munmap(p, len);
	}
}

int main(void)
{
	int fd = open_test(), i;
	volatile uint32_t *a, *b;
	pid_t child;

	report("set before map", ioctl(fd, T_REGION_SET, 0xabcd));
	try_map("private", fd, REGION_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, REGION_OFFSET);
	try_map("exec", fd, REGION_LEN, PROT_READ | PROT_EXEC, MAP_SHARED, REGION_OFFSET);
	try_map("unknown offset", fd, REGION_LEN, PROT_READ, MAP_SHARED, REGION_OFFSET + 4096);
	try_map("wrong length", fd, REGION_LEN * 2, PROT_READ, MAP_SHARED, REGION_OFFSET);
	try_map("unaligned offset", fd, REGION_LEN, PROT_READ, MAP_SHARED, REGION_OFFSET + 1);
	try_map("zero length", fd, 0, PROT_READ, MAP_SHARED, REGION_OFFSET);
	report("destroy unmapped", ioctl(fd, T_DESTROY, 0));

	a = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, REGION_OFFSET);
	if (a == MAP_FAILED) {
		printf("map: -1 %s\n", ename(errno));
		return 1;
	}
	printf("engine's value: 0x%x\n", a[0]);
	a[2] = 0x5678;
	printf("engine reads ours: 0x%x\n", ioctl(fd, T_REGION_GET, 0));
	report("set while mapped", ioctl(fd, T_REGION_SET, 0x1111));
	printf("we read engine's: 0x%x\n", a[0]);
	report("destroy while mapped", ioctl(fd, T_DESTROY, 0));
	b = mmap(NULL, 100, PROT_READ, MAP_SHARED, fd, REGION_OFFSET); /* rounded to the page */
	printf("second mapping sees it: 0x%x\n", b == MAP_FAILED ? 0 : b[2]);
	munmap((void *)a, REGION_LEN);
	report("destroy with one mapping left", ioctl(fd, T_DESTROY, 0));

	/* A forked child's copy holds the region until it exits. */
	child = fork();
	if (child == 0) {
		usleep(200000);
		_exit(0);
	}
	munmap((void *)b, REGION_LEN);
	report("destroy while the child maps it", ioctl(fd, T_DESTROY, 0));
	waitpid(child, NULL, 0);
	/* The server learns of the exit on the child's own socket, in no fixed
	 * order with our next request: allow it a moment. */
	for (i = 0; i < 50 && ioctl(fd, T_DESTROY, 0) < 0 && errno == EBUSY; i++)
		usleep(10000);
	report("destroy after the child exited", ioctl(fd, T_DESTROY, 0));

	/* close() with a mapping left: the file lives until munmap (vma->vm_file). */
	a = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, REGION_OFFSET);
	close(fd);
	fd = open_test();
	printf("released while mapped: %u\n", stats(fd).ctl_released);
	munmap((void *)a, REGION_LEN);
	for (i = 0; i < 50 && stats(fd).ctl_released == 0; i++)
		usleep(10000);
	printf("released after munmap: %u\n", stats(fd).ctl_released);
	return 0;
}
