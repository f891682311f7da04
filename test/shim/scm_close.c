/* An fd of /dev/iommu that came through SCM_RIGHTS and is closed without
 * ever being used is still the last fd of its file: close() returns after
 * the release, as the kernel's last fput is done before the syscall
 * returns. VmPin in /proc/self/status shows the file's pins gone at once.
 * Then a loop closing every fd number above the program's own (as daemons
 * do) closes nothing the program opened, and its fd still works.
 * Built with -I test/conformance/include; runs unchanged on the oracle
 * (npm run oracle -- record shim/scm_close). */
// golden: scm_close
#define _GNU_SOURCE
#include "iofd.h"
#include <sys/socket.h>
#include <sys/uio.h>

#define PAGE 4096UL

static long vmpin(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmPin:", 6) == 0)
			sscanf(line + 6, "%ld", &kb);
	if (f)
		fclose(f);
	return kb;
}

static int pass_fd(int sock, int fd)
{
	char c = 'x';
	struct iovec iov = { &c, 1 };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -errno;
}

static int take_fd(int sock)
{
	char c;
	struct iovec iov = { &c, 1 };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	int fd = -1;
	if (recvmsg(sock, &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
		return -1;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
	return fd;
}

int main(void)
{
	int sv[2], fd, got, round, stale = 0;
	char *buf = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(buf, 1, 4 * PAGE);
	step("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ? -errno : 0, NULL);
	for (round = 0; round < 100; round++) {
		__u32 ioas;
		__u64 iova = 1UL << 24;
		fd = iofd_open();
		if (ioas_alloc(fd, &ioas) || mock_domain(fd, ioas, 0, NULL, NULL, NULL) ||
		    ioas_map(fd, ioas, MAP_FIXED_RW, buf, 4 * PAGE, &iova)) {
			printf("setup: %s\n", errno_name(errno));
			return 1;
		}
		if (pass_fd(sv[0], fd))
			return 1;
		close(fd);
		got = take_fd(sv[1]);
		if (round == 0)
			printf("received: %s, VmPin %ld kB\n", got >= 0 ? "an fd" : "nothing", vmpin());
		close(got);
		stale += vmpin() != 0;
	}
	printf("rounds: %d with VmPin left after the close: %d\n", round, stale);

	/* A loop closing every fd number above its own, as daemons do. */
	{
		__u32 ioas;
		int i;
		fd = iofd_open();
		/* (How many close is not printed: inherited fds vary.) */
		for (i = fd + 1; i < 1024; i++)
			close(i);
		step("ioctl after", ioas_alloc(fd, &ioas), NULL);
		step("close", close(fd) ? -errno : 0, NULL);
	}
	return 0;
}
