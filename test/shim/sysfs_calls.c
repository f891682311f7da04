/* The entry points a program reaches the machine's sysfs through besides
 * open/stat/opendir, built with _FORTIFY_SOURCE (as distributions build
 * QEMU and DPDK, whose readlink into a stack buffer becomes __readlink_chk
 * and realpath into one __realpath_chk): each prints "name: result". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int only_fns(const struct dirent *e)
{
	return e->d_name[0] == '0';
}

int main(void)
{
	char buf[PATH_MAX], res[PATH_MAX];
	ssize_t n;
	struct dirent **list;
	struct stat st;
	struct statx sx;
	char *c;
	int dfd, k;
	size_t len;

	/* A length the compiler cannot see: the fortified entry points. */
	len = sizeof(buf);
	__asm__ volatile("" : "+r"(len));
	n = readlink("/sys/bus/pci/devices/0000:00:02.0/iommu_group", buf, len);
	printf("readlink: %.*s\n", (int)(n < 0 ? 0 : n), buf);
	dfd = open("/sys/bus/pci/devices/0000:00:01.0/", O_RDONLY | O_DIRECTORY);
	n = readlinkat(dfd, "driver", buf, len);
	printf("readlinkat dirfd: %.*s\n", (int)(n < 0 ? 0 : n), buf);
	n = readlinkat(AT_FDCWD, "/sys/bus/pci/devices/0000:00:01.0/driver", buf, sizeof(buf));
	printf("readlinkat: %.*s\n", (int)(n < 0 ? 0 : n), buf);
	k = fstatat(dfd, "vendor", &st, 0);
	printf("fstatat dirfd: %d %s\n", k, S_ISREG(st.st_mode) ? "reg" : "?");
	close(dfd);
	printf("realpath: %s\n", realpath("/sys/class/vfio-dev/vfio1", res) ? res : strerror(errno));
	c = canonicalize_file_name("/sys/bus/pci/devices/0000:00:02.0/iommu_group");
	printf("canonicalize_file_name: %s\n", c ? c : strerror(errno));
	free(c);
	k = scandir("/sys/bus/pci/devices", &list, only_fns, alphasort);
	printf("scandir: %d", k);
	for (int i = 0; i < k; i++) {
		printf(" %s", list[i]->d_name);
		free(list[i]);
	}
	printf("\n");
	free(k >= 0 ? list : NULL);
	printf("faccessat: %d\n", faccessat(AT_FDCWD, "/sys/module/vfio_pci/parameters/nointxmask", R_OK, 0));
	k = access("/sys/module/vfio_iommu_type1", F_OK);
	printf("access missing: %d %s\n", k, k ? strerror(errno) : "");
	k = lstat("/sys/bus/pci/devices/0000:00:01.0", &st);
	printf("lstat link: %d %s\n", k, S_ISLNK(st.st_mode) ? "link" : "?");
	k = stat("/sys/bus/pci/devices/0000:00:01.0", &st);
	printf("stat dir: %d %s\n", k, S_ISDIR(st.st_mode) ? "dir" : "?");
	k = statx(AT_FDCWD, "/sys/bus/pci/devices/0000:00:01.0/resource0", 0, STATX_BASIC_STATS, &sx);
	printf("statx: %d size %llu mode %o\n", k, (unsigned long long)sx.stx_size, sx.stx_mode & 07777);
	k = statx(AT_FDCWD, "/dev/vfio/devices/vfio1", 0, STATX_BASIC_STATS, &sx);
	printf("statx cdev: %d %u:%u\n", k, sx.stx_rdev_major, sx.stx_rdev_minor);
	if (chdir("/sys/bus/pci/devices/0000:00:01.0") == 0 && realpath("iommu_group/devices", res))
		printf("realpath from a directory in the tree: %s\n", res);
	else
		printf("realpath from a directory in the tree: %s\n", strerror(errno));
	return 0;
}
