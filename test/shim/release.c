/* Every way a program can drop the last fd of /dev/iommu releases the file
 * before the call returns, as close() does: dup2 and dup3 over it,
 * close_range (plain, with CLOSE_RANGE_UNSHARE; CLOSE_RANGE_CLOEXEC only
 * marks it), closefrom, and exec for a close-on-exec fd (set by O_CLOEXEC or
 * FIOCLEX). The release unpins what the file had mapped: VmPin in
 * /proc/self/status drops at once; across exec, the new image sees the pins
 * of a shared memfd page gone. A failed exec keeps the fds.
 * Built with -I test/conformance/include; runs unchanged on the oracle
 * (npm run oracle -- record shim/release). */
// golden: release
#define _GNU_SOURCE
#include "iofd.h"
#include <linux/close_range.h>
#include <sys/syscall.h>

#define PAGE 4096UL
#define PAGES 4

static char *buf;

static long vmpin(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmPin:", 6) == 0)
			sscanf(line + 6, "%ld", &kb);
	fclose(f);
	return kb;
}

static void show(const char *what)
{
	printf("%s: VmPin %ld kB\n", what, vmpin());
	fflush(stdout);
}

/* A file holding PAGES pinned pages of buf. */
static int pinned_file(int flags)
{
	__u32 ioas;
	__u64 iova = 1UL << 24;
	int fd = open("/dev/iommu", O_RDWR | flags);
	if (fd < 0 || ioas_alloc(fd, &ioas) || mock_domain(fd, ioas, 0, NULL, NULL, NULL) ||
	    ioas_map(fd, ioas, MAP_FIXED_RW, buf, PAGES * PAGE, &iova)) {
		printf("setup failed: %s\n", errno_name(errno));
		exit(1);
	}
	return fd;
}

/* The new image asks at once, through the fd it inherited. */
static int after_exec(int memfd, int kept)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	int pins = page_pins(kept, p);
	printf("after exec: pins of the memfd page %d\n", pins);
	printf("after exec: %s in the environment\n", getenv("IOMMUFD_EMU_EXEC_CLOSED") ? "a variable" : "nothing");
	return 0;
}

int main(int argc, char **argv)
{
	int fd, d, devnull, memfd, rc;
	__u32 ioas;
	__u64 iova = 1UL << 24;
	char *shared, arg[16], arg2[16];

	if (argc == 4 && !strcmp(argv[1], "after-exec"))
		return after_exec(atoi(argv[2]), atoi(argv[3]));

	devnull = open("/dev/null", O_RDWR);
	buf = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, PAGES * PAGE);
	show("start");

	fd = pinned_file(0);
	show("pinned");
	step("dup2 over it", dup2(devnull, fd) < 0 ? -errno : 0, NULL);
	show("after dup2");
	close(fd);

	fd = pinned_file(0);
	step("dup3 over it", dup3(devnull, fd, O_CLOEXEC) < 0 ? -errno : 0, NULL);
	show("after dup3");
	close(fd);

	fd = pinned_file(0);
	d = dup(fd);
	step("dup2 over one of two fds", dup2(devnull, fd) < 0 ? -errno : 0, NULL);
	show("the other fd holds it");
	step("close the other", close(d), NULL);
	show("after close");
	close(fd);

	fd = pinned_file(0);
	step("close_range", close_range(fd, fd, 0), NULL);
	show("after close_range");

	fd = pinned_file(0);
	step("close_range CLOEXEC", close_range(fd, fd, CLOSE_RANGE_CLOEXEC), NULL);
	show("marked only");
	printf("FD_CLOEXEC: %d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
	step("ioctl still", ioas_alloc(fd, &ioas), NULL);
	step("close", close(fd), NULL);
	show("after close");

	fd = pinned_file(0);
	step("close_range UNSHARE", close_range(fd, ~0U, CLOSE_RANGE_UNSHARE), NULL);
	show("after close_range UNSHARE");

	fd = pinned_file(0);
	closefrom(fd);
	printf("closefrom: done\n");
	show("after closefrom");
	printf("devnull still open: %s\n", fcntl(devnull, F_GETFD) >= 0 ? "yes" : "no");

	/* exec: the close-on-exec fd goes with the old image. */
	memfd = memfd_create("release", 0);
	step("ftruncate", ftruncate(memfd, PAGE) ? -errno : 0, NULL);
	shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	memset(shared, 2, PAGE);
	fd = iofd_open();
	step("ioas", ioas_alloc(fd, &ioas), NULL);
	step("mock domain", mock_domain(fd, ioas, 0, NULL, NULL, NULL), NULL);
	step("map the memfd page", ioas_map(fd, ioas, MAP_FIXED_RW, shared, PAGE, &iova), NULL);
	printf("pins of the memfd page: %d\n", page_pins(fd, shared));
	step("FIOCLEX", ioctl(fd, FIOCLEX) ? -errno : 0, NULL);
	snprintf(arg, sizeof(arg), "%d", memfd);
	snprintf(arg2, sizeof(arg2), "%d", iofd_open()); /* kept across exec */
	{
		char *av[] = { argv[0], "after-exec", arg, arg2, NULL };
		rc = execv("/nonexistent/program", av);
		step("execv of a missing program", rc ? -errno : 0, NULL);
		rc = execvp("nonexistent-program-iommufd-emu", av);
		step("execvp of a missing program", rc ? -errno : 0, NULL);
		step("the fd survives", ioas_alloc(fd, &ioas), NULL);
		printf("pins of the memfd page: %d\n", page_pins(fd, shared));
		fflush(stdout);
		execv("/proc/self/exe", av);
		printf("exec: %s\n", errno_name(errno));
	}
	return 1;
}
