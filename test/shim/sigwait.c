/* A client that waits for a signal: opens /dev/iommu, issues an ioctl,
 * writes its pid and the server's socket and state paths to OUTFILE, prints
 * "ready" and waits. "die": the signal's default action kills it; "catch":
 * its handler writes "caught N" to OUTFILE and exits 100+N.
 * Usage: sigwait OUTFILE die|catch */
#include "common.h"
#include <signal.h>

static int outfd = -1;

static void on_signal(int sig)
{
	char msg[32];
	int n = snprintf(msg, sizeof(msg), "caught %d\n", sig);

	if (write(outfd, msg, n) < 0)
		_exit(99);
	_exit(100 + sig);
}

int main(int argc, char **argv)
{
	char line[512];
	int fd, n;

	if (argc < 3)
		return 2;
	outfd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (outfd < 0)
		return 3;
	fd = open("/dev/iommu", O_RDWR);
	n = snprintf(line, sizeof(line), "pid: %d\nsocket: %s\nstate: %s\noption get: %d\n", getpid(),
		     getenv("IOMMUFD_EMU_SOCKET") ?: "", getenv("IOMMUFD_EMU_STATE") ?: "",
		     fd < 0 ? -1 : option_get(fd, NULL));
	if (write(outfd, line, n) != n)
		return 4;
	if (!strcmp(argv[2], "catch")) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
