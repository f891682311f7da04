/*
 * The last close of an emulated fd is synchronous in whichever process makes
 * it: a forked child that inherited the fd and never used it closes it last,
 * and once the parent has reaped the child the pins are gone (VmPin 0), as on
 * Linux, where the release runs inside the child's close(). The pins come from
 * a mock domain (the kernel's test driver) attached to the IOAS. Built with
 * -I test/conformance/include.
 */
#define _GNU_SOURCE
#include "iofd.h"
#include <sys/mman.h>
#include <sys/wait.h>

static long vmpin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(void)
{
	int stale = 0, rounds = 20;
	unsigned char *buf = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(buf, 1, 1 << 20);
	for (int i = 0; i < rounds; i++) {
		int fd = iofd_open(), go[2];
		__u32 ioas, hwpt;
		if (ioas_alloc(fd, &ioas) || mock_domain(fd, ioas, 0, NULL, &hwpt, NULL) ||
		    ioas_map(fd, ioas, MAP_RW, buf, 1 << 20, NULL) || pipe(go)) {
			printf("setup failed\n");
			return 1;
		}
		if (i == 0)
			printf("pinned while mapped: %ld kB\n", vmpin_kb());
		pid_t child = fork();
		if (child == 0) {
			char c;
			close(go[1]);
			if (read(go[0], &c, 1) != 1)
				_exit(2);
			close(fd); /* the last reference: the file is released here */
			_exit(0);
		}
		close(go[0]);
		close(fd);
		if (write(go[1], "x", 1) != 1)
			return 1;
		close(go[1]);
		waitpid(child, NULL, 0);
		stale += vmpin_kb() != 0;
	}
	printf("rounds with pins left after the child's last close: %d of %d\n", stale, rounds);
	return 0;
}
