/* The fault-injection control files, used as the kernel's own iommufd
 * fail_nth test does: debugfs knobs, readdir, and per-task fail-nth with
 * pread/pwrite. */
#include "emu_test.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static int ctl;

static void writeat(int dfd, const char *fn, const char *val)
{
	int fd = openat(dfd, fn, O_WRONLY);
	if (fd < 0) {
		printf("openat %s: -1 %s\n", fn, ename(errno));
		return;
	}
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		printf("write %s: short\n", fn);
	close(fd);
}

static void show(const char *step, int fd)
{
	char buf[32] = { 0 };
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n >= 0 && n && buf[n - 1] == '\n')
		buf[n - 1] = '$';
	printf("%s: %zd \"%s\"\n", step, n, buf);
}

static int nth(const char *path)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		printf("open %s: -1 %s\n", path, ename(errno));
	return fd;
}

static void *thread(void *arg)
{
	int fd = nth("/proc/thread-self/fail-nth");
	(void)arg;
	pwrite(fd, "2", 1, 0);
	printf("thread fails point: %d\n", ioctl(ctl, T_FAILNTH, 4));
	show("thread fail-nth after", fd);
	close(fd);
	return NULL;
}

int main(void)
{
	DIR *d = opendir("/sys/kernel/debug/");
	struct dirent *e;
	char path[128], names[256] = "";
	struct stat st;
	pthread_t t;
	int fd, k;

	ctl = open_test();
	if (!d) {
		printf("opendir: -1 %s\n", ename(errno));
		return 1;
	}
	writeat(dirfd(d), "failslab/ignore-gfp-wait", "N");
	writeat(dirfd(d), "fail_page_alloc/ignore-gfp-wait", "N");
	writeat(dirfd(d), "fail_page_alloc/ignore-gfp-highmem", "N");
	for (k = 0; (e = readdir(d)); ) {
		char fn[300];
		if (strncmp(e->d_name, "fail", 4) != 0)
			continue;
		snprintf(fn, sizeof(fn), "%s/verbose", e->d_name);
		writeat(dirfd(d), fn, "0");
		k++;
	}
	closedir(d);
	printf("fail* entries: %d\n", k);
	fd = open("/sys/kernel/debug/failslab/ignore-gfp-wait", O_RDONLY);
	show("ignore-gfp-wait", fd);
	close(fd);
	fd = open("/sys/kernel/debug/fail_iommufd/verbose", O_RDONLY);
	show("verbose", fd);
	close(fd);
	printf("stat debugfs dir: %s\n", stat("/sys/kernel/debug/failslab", &st) == 0 && S_ISDIR(st.st_mode) ? "dir" : "no");
	{
		struct statx sx;
		printf("statx debugfs dir: %s\n",
		       statx(AT_FDCWD, "/sys/kernel/debug/failslab", 0, STATX_TYPE, &sx) == 0 && S_ISDIR(sx.stx_mode) ? "dir" : "no");
		printf("statx /dev/emu-test: %s\n", statx(AT_FDCWD, "/dev/emu-test", 0, STATX_TYPE, &sx) == 0 ? "ok" : ename(errno));
	}
	(void)names;

	snprintf(path, sizeof(path), "/proc/self/task/%u/fail-nth", (unsigned)getpid());
	fd = nth(path);
	show("fresh", fd);
	report("arm 3", (int)pwrite(fd, "3", 1, 0));
	printf("fails point: %d\n", ioctl(ctl, T_FAILNTH, 10));
	show("after firing", fd);
	report("disarm", (int)pwrite(fd, "0", 1, 0));
	printf("disarmed fails point: %d\n", ioctl(ctl, T_FAILNTH, 5));
	report("arm 12", (int)pwrite(fd, "12", 2, 0));
	printf("too few points: %d\n", ioctl(ctl, T_FAILNTH, 5));
	show("not fired", fd);
	report("disarm", (int)pwrite(fd, "0", 1, 0));
	show("disarmed", fd);

	pthread_create(&t, NULL, thread, NULL);
	pthread_join(t, NULL);
	show("main fail-nth untouched", fd);

	/* The failslab filter: allocations that may sleep are skipped while ignore-gfp-wait is Y. */
	writeat(AT_FDCWD, "/sys/kernel/debug/failslab/ignore-gfp-wait", "Y");
	pwrite(fd, "1", 1, 0);
	printf("filtered: %d\n", ioctl(ctl, T_FAILNTH_SLAB, 3));
	show("filtered leaves it armed", fd);
	writeat(AT_FDCWD, "/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
	printf("unfiltered: %d\n", ioctl(ctl, T_FAILNTH_SLAB, 3));
	close(fd);

	printf("other task: %s\n", open("/proc/self/task/999999999/fail-nth", O_RDWR) < 0 ? ename(errno) : "opened");
	fd = nth("/proc/thread-self/fail-nth");
	show("thread-self of main", fd);
	close(fd);
	return 0;
}
