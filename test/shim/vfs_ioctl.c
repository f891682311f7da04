/* The generic ioctls that the VFS answers itself (fs/ioctl.c do_vfs_ioctl)
 * before a device's own unlocked_ioctl sees them, on the files an iommufd
 * program holds: /dev/iommu (a misc character device) and a fault queue fd
 * (an anon-inode file). Under the emulator these fds are sockets; the shim
 * must answer as the VFS does for the device, never as for a socket.
 * With an argument "vfio": the same on /dev/vfio/devices/vfio0 (not bound).
 * Built with -I test/conformance/include; runs unchanged on the oracle
 * (npm run oracle -- record shim/vfs_ioctl shim/vfs_ioctl_vfio). */
// golden: vfs_ioctl
// golden: vfs_ioctl_vfio --vfio -- vfio
#define _GNU_SOURCE
#include "iofd.h"
#include <linux/fs.h>
#include <linux/fiemap.h>
#include <termios.h>

#ifndef FS_IOC_GETFSUUID
#define FS_IOC_GETFSUUID _IOR(0x15, 0, struct { __u8 len; __u8 uuid[16]; })
#endif
#ifndef FS_IOC_GETFSSYSFSPATH
#define FS_IOC_GETFSSYSFSPATH _IOR(0x15, 1, struct { __u8 len; __u8 name[128]; })
#endif

#define BAD ((void *)8) /* below mmap_min_addr: never mapped */

static void one(const char *what, const char *label, int fd, unsigned long cmd, void *arg)
{
	char name[96];
	int saved = 4242, rc;
	snprintf(name, sizeof(name), "%s %s", what, label);
	errno = saved;
	rc = ioctl(fd, cmd, arg);
	if (rc < 0)
		printf("%s: %s\n", name, errno_name(errno));
	else
		printf("%s: ret=%d errno %s\n", name, rc, errno == saved ? "kept" : "changed");
	fflush(stdout);
}

static void probe(const char *what, int fd)
{
	int on = 1, off = 0, val = -1;
	long long q = -1;
	char big[4096];

	one(what, "FIOCLEX", fd, FIOCLEX, NULL);
	printf("%s FD_CLOEXEC: %d\n", what, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	one(what, "FIONCLEX", fd, FIONCLEX, NULL);
	printf("%s FD_CLOEXEC: %d\n", what, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	one(what, "FIONBIO on", fd, FIONBIO, &on);
	printf("%s O_NONBLOCK: %d\n", what, !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	one(what, "FIONBIO off", fd, FIONBIO, &off);
	printf("%s O_NONBLOCK: %d\n", what, !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	one(what, "FIONBIO bad pointer", fd, FIONBIO, BAD);
	one(what, "FIOASYNC off", fd, FIOASYNC, &off);
	one(what, "FIOASYNC on", fd, FIOASYNC, &on);
	printf("%s O_ASYNC: %d\n", what, !!(fcntl(fd, F_GETFL) & O_ASYNC));
	one(what, "FIOASYNC bad pointer", fd, FIOASYNC, BAD);
	printf("%s F_SETFL O_ASYNC: %s\n", what, fcntl(fd, F_SETFL, O_ASYNC) ? errno_name(errno) : "ok");
	printf("%s O_ASYNC: %d\n", what, !!(fcntl(fd, F_GETFL) & O_ASYNC));
	fcntl(fd, F_SETFL, 0);
	one(what, "FIOQSIZE", fd, FIOQSIZE, &q);
	printf("%s FIOQSIZE value: %lld\n", what, q);
	one(what, "FIGETBSZ", fd, FIGETBSZ, &val);
	printf("%s FIGETBSZ value: %d\n", what, val);
	one(what, "FIGETBSZ bad pointer", fd, FIGETBSZ, BAD);
	val = -1;
	one(what, "FIONREAD", fd, FIONREAD, &val);
	printf("%s FIONREAD value: %d\n", what, val);
	one(what, "FIFREEZE", fd, FIFREEZE, NULL);
	one(what, "FITHAW", fd, FITHAW, NULL);
	memset(big, 0, sizeof(big));
	one(what, "FS_IOC_FIEMAP", fd, FS_IOC_FIEMAP, big);
	one(what, "FS_IOC_FIEMAP bad pointer", fd, FS_IOC_FIEMAP, BAD);
	one(what, "FICLONE self", fd, FICLONE, (void *)(long)fd);
	one(what, "FICLONE bad fd", fd, FICLONE, (void *)(long)-1);
	one(what, "FICLONERANGE bad pointer", fd, FICLONERANGE, BAD);
	one(what, "FIDEDUPERANGE", fd, FIDEDUPERANGE, big);
	one(what, "FIDEDUPERANGE bad pointer", fd, FIDEDUPERANGE, BAD);
	val = -1;
	one(what, "FS_IOC_GETFLAGS", fd, FS_IOC_GETFLAGS, &val);
	one(what, "FS_IOC_SETFLAGS bad pointer", fd, FS_IOC_SETFLAGS, BAD);
	one(what, "FS_IOC_FSGETXATTR", fd, FS_IOC_FSGETXATTR, big);
	one(what, "FS_IOC_GETFSUUID", fd, FS_IOC_GETFSUUID, big);
	one(what, "FS_IOC_GETFSSYSFSPATH", fd, FS_IOC_GETFSSYSFSPATH, big);
	one(what, "TCGETS", fd, TCGETS, big);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "vfio")) {
		int d = open("/dev/vfio/devices/vfio0", O_RDWR);
		if (d < 0) {
			printf("open vfio0: %s\n", errno_name(errno));
			return 1;
		}
		probe("vfio0", d);
		return 0;
	}
	int fd = iofd_open();
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	probe("iommu", fd);
	step("fault queue", xioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa), NULL);
	probe("fault", fa.out_fault_fd);
	return 0;
}
