/* Arms vfio0's MSI-X vectors, ERR and REQ with eventfds and registers an
 * ioeventfd (which the server watches), then closes the
 * device, waiting for a line on stdin before each step, so the test can
 * look at the server's own copies of the eventfds in between (see
 * test/vfio-irqs-server.test.ts). Prints one word per step. */
#include "step.h"
#include "iofd.h"
#include <sys/eventfd.h>

struct irq_set {
	__u32 argsz, flags, index, start, count;
	__s32 fds[5];
};

static void wait_line(const char *word)
{
	char b[16];

	printf("%s\n", word);
	fflush(stdout);
	if (!fgets(b, sizeof(b), stdin))
		exit(0);
}

int main(void)
{
	int io = iofd_open(), d = open("/dev/vfio/devices/vfio0", O_RDWR), i, rc;
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = io };
	struct irq_set s = { .argsz = sizeof(s), .flags = (1 << 2) | (1 << 5), .index = 2, .count = 5 };

	if (d < 0 || xioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &b)) {
		printf("bind: %s\n", errno_name(errno));
		return 1;
	}
	for (i = 0; i < 5; i++)
		s.fds[i] = eventfd(0, EFD_CLOEXEC);
	rc = xioctl(d, _IO(VFIO_TYPE, VFIO_BASE + 10), &s);
	s.argsz = 24;
	s.count = 1;
	s.index = 3;
	rc = rc ?: xioctl(d, _IO(VFIO_TYPE, VFIO_BASE + 10), &s);
	s.index = 4;
	rc = rc ?: xioctl(d, _IO(VFIO_TYPE, VFIO_BASE + 10), &s);
	if (rc) {
		printf("set_irqs: %s\n", errno_name(-rc));
		return 1;
	}
	{
		struct { __u32 argsz, flags; __u64 offset, data; __s32 fd; __u32 r; } io = {
			.argsz = 32, .flags = 4, .offset = 0x2800, .data = 1, .fd = eventfd(0, EFD_CLOEXEC),
		};

		rc = xioctl(d, _IO(VFIO_TYPE, VFIO_BASE + 16), &io);
		close(io.fd);
		if (rc) {
			printf("ioeventfd: %s\n", errno_name(-rc));
			return 1;
		}
	}
	/* The client's own copies go: only the server's remain. */
	for (i = 0; i < 5; i++)
		close(s.fds[i]);
	wait_line("armed");
	close(d);
	wait_line("closed");
	return 0;
}
