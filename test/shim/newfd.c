/* An ioctl that makes an fd (like IOMMU_FAULT_QUEUE_ALLOC): the fd appears at
 * the address the engine named, is O_CLOEXEC, and is read, written and polled
 * like the kernel's queue files. */
#include "emu_test.h"
#include <poll.h>
#include <sys/mman.h>
#include <sys/uio.h>

static int pollin(int fd, int timeout)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc = poll(&p, 1, timeout);
	return rc <= 0 ? rc : (p.revents & POLLIN) ? 1 : 0;
}

int main(void)
{
	int ctl = open_test(), fd, rc, dupfd;
	struct t_newfd nf = { 0, -1 };
	uint64_t v[2] = { 0, 0 }, resp = 0x5151;
	struct iovec iov[2];
	struct t_stats st;

	report("newfd", ioctl(ctl, T_NEWFD, &nf));
	fd = nf.fd;
	printf("fd valid: %s\n", fd > 2 && fcntl(fd, F_GETFD) >= 0 ? "yes" : "no");
	printf("cloexec: %d\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) ? 1 : 0);
	printf("poll empty: %d\n", pollin(fd, 0));
	report("read empty", (int)read(fd, v, 8));
	report("push", ioctl(ctl, T_PUSH, 0x1234));
	printf("poll after push: %d\n", pollin(fd, 0));
	rc = (int)read(fd, v, 16);
	printf("read: %d value 0x%llx\n", rc, (unsigned long long)v[0]);
	printf("poll after read: %d\n", pollin(fd, 0));
	report("read short", (int)read(fd, v, 4));
	report("pread at 8", (int)pread(fd, v, 8, 8));
	report("write response", (int)write(fd, &resp, 8));
	report("push later", ioctl(ctl, T_PUSH_LATER, 0x777));
	printf("poll waits for the timer: %d\n", pollin(fd, 5000));
	iov[0].iov_base = v; iov[0].iov_len = 4;
	iov[1].iov_base = (char *)v + 4; iov[1].iov_len = 12;
	rc = (int)readv(fd, iov, 2);
	printf("readv: %d value 0x%llx\n", rc, (unsigned long long)v[0]);
	report("push", ioctl(ctl, T_PUSH, 0x4444));
	report("read into read-only memory", (int)read(fd, (void *)"constant", 8));
	rc = (int)read(fd, v, 8);
	printf("the record stayed: %d value 0x%llx\n", rc, (unsigned long long)v[0]);
	iov[0].iov_base = &resp; iov[0].iov_len = 4;
	iov[1].iov_base = (char *)&resp + 4; iov[1].iov_len = 4;
	resp = 0x6262;
	report("writev response", (int)writev(fd, iov, 2));
	st = stats(ctl);
	printf("responses: %u last 0x%llx released %u\n", st.responses, (unsigned long long)st.last_response, st.released);
	dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 50);
	report("dup", dupfd >= 50 ? 0 : -1);
	report("push via dup", ioctl(ctl, T_PUSH, 0x99));
	rc = (int)read(dupfd, v, 8);
	printf("read via dup: %d value 0x%llx\n", rc, (unsigned long long)v[0]);
	close(dupfd);
	close(fd);
	st = stats(ctl);
	printf("released after close: %u\n", st.released);

	/* The ioctl fails after making the file: no fd, the file is released. */
	nf.fail_after = 1;
	nf.fd = -1;
	report("newfd then fail", ioctl(ctl, T_NEWFD, &nf));
	printf("fd untouched: %d\n", nf.fd);
	st = stats(ctl);
	printf("released after failed ioctl: %u\n", st.released);

	/* The fd number cannot be stored: EFAULT, the fd is closed and released. */
	{
		struct t_newfd *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int before = dup(0), after;
		close(before);
		ro->fd = -1;
		mprotect(ro, 4096, PROT_READ);
		report("newfd into read-only memory", ioctl(ctl, T_NEWFD, ro));
		after = dup(0);
		printf("no fd leaked: %s\n", after == before ? "yes" : "no");
		close(after);
		st = stats(ctl);
		printf("released after EFAULT: %u\n", st.released);
	}
	return 0;
}
