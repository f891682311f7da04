/* Benchmark floor: the same frames as the shim's (a struct iemu_req request,
 * a 16-byte reply) over a Unix socket to a Node server, with no ioctl behind them.
 * Usage: bench_pingpong SOCKET N; prints "us_per_op VALUE". */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "../../native/shim/proto.h"

#define REQ_BYTES sizeof(struct iemu_req)

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int xfer(int fd, char *req, char *rep)
{
	size_t got = 0;
	if (send(fd, req, REQ_BYTES, MSG_NOSIGNAL) != (ssize_t)REQ_BYTES)
		return -1;
	while (got < 16) {
		ssize_t n = recv(fd, rep + got, 16 - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char req[sizeof(struct iemu_req)] = { 1 }, rep[16];
	long n = argc > 2 ? atol(argv[2]) : 10000, i;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	double t0;

	if (argc < 2 || strlen(argv[1]) >= sizeof(a.sun_path))
		return 2;
	strcpy(a.sun_path, argv[1]);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		return 1;
	}
	for (i = 0; i < n / 10 + 100; i++)
		if (xfer(fd, req, rep) < 0)
			return 1;
	t0 = now_us();
	for (i = 0; i < n; i++)
		xfer(fd, req, rep);
	printf("us_per_op %.3f\n", (now_us() - t0) / n);
	return 0;
}
