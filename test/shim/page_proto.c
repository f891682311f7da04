/* Speaks the channel page protocol (native/shim/proto.h) by hand, without the
 * shim, as an honest shim would and as a careless or hostile one would.
 * Usage: page_proto SOCKET MODE; prints "step: result" lines.
 *   sealed    a sealed memfd: requests through the page and the socket, a
 *             reply the server sends later (OP_CLOSED), then a request
 *             longer than the page's area (the server drops us)
 *   badlen    a page request whose length disagrees with its frame
 *   liar      a page request that states another pid (our parent's)
 *   unsealed  a memfd without seals; notmemfd  a pipe; short  a sealed memfd
 *             smaller than the page: each refused, the socket still serves */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../native/shim/proto.h"

static const char *sock_path;

static int connect_server(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	strncpy(a.sun_path, sock_path, sizeof(a.sun_path) - 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static int read_full(int fd, void *b, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)b + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void hello(int fd, uint16_t kind, uint64_t ino, uint32_t oflags, const char *path, struct iemu_reply *r)
{
	struct iemu_hello h = { .magic = IEMU_MAGIC, .version = IEMU_VERSION, .kind = kind };
	char buf[sizeof(h) + 64];
	h.pid = h.tid = (uint32_t)getpid();
	h.ino = ino;
	h.oflags = oflags;
	h.path_len = path ? (uint32_t)strlen(path) : 0;
	memcpy(buf, &h, sizeof(h));
	if (path)
		memcpy(buf + sizeof(h), path, h.path_len);
	if (write(fd, buf, sizeof(h) + h.path_len) < 0 || read_full(fd, r, sizeof(*r)) < 0) {
		printf("hello: failed\n");
		exit(1);
	}
}

static void req_init(struct iemu_req *q, uint32_t op, uint64_t ino)
{
	memset(q, 0, sizeof(*q));
	q->op = op;
	q->pid = q->tid = (uint32_t)getpid();
	q->ino = ino;
}

/* A request on the socket; the reply's result. */
static int sock_call(int fd, struct iemu_req *q, const char *ext)
{
	struct iemu_reply r;
	char buf[sizeof(*q) + 256], recs[4096];
	q->ext_len = ext ? (uint32_t)strlen(ext) : 0;
	memcpy(buf, q, sizeof(*q));
	if (ext)
		memcpy(buf + sizeof(*q), ext, q->ext_len);
	if (write(fd, buf, sizeof(*q) + q->ext_len) < 0 || read_full(fd, &r, sizeof(r)) < 0 || r.ext_len > sizeof(recs) ||
	    read_full(fd, recs, r.ext_len) < 0)
		return 9999;
	return r.result;
}

static uint32_t seq;

/* Publish a request in the page (raw bytes: len of them) and ring. */
static void page_send(struct iemu_page *pg, int fd, const void *frame, uint32_t len, uint32_t stated_len)
{
	struct iemu_req bell;
	memcpy((char *)pg + IEMU_PAGE_REQ, frame, len);
	pg->req_len = stated_len;
	__atomic_exchange_n(&pg->req_seq, ++seq, __ATOMIC_SEQ_CST);
	req_init(&bell, IEMU_OP_DOORBELL, 0);
	if (!__atomic_load_n(&pg->server_polling, __ATOMIC_SEQ_CST) && write(fd, &bell, sizeof(bell)) < 0)
		perror("doorbell");
}

/* Wait for the reply to the last request (sleeping on the futex); its result. */
static int page_reply(struct iemu_page *pg)
{
	struct iemu_reply r;
	uint32_t v;
	int rounds = 0;
	__atomic_exchange_n(&pg->client_sleeping, 1, __ATOMIC_SEQ_CST);
	while ((v = __atomic_load_n(&pg->rep_seq, __ATOMIC_SEQ_CST)) != seq) {
		struct timespec t = { 0, 100 * 1000 * 1000 };
		if (++rounds > 50)
			return 9999;
		syscall(SYS_futex, &pg->rep_seq, FUTEX_WAIT, v, &t, NULL, 0);
	}
	pg->client_sleeping = 0;
	if (pg->rep_len == IEMU_REP_ON_SOCKET)
		return 8888;
	memcpy(&r, (char *)pg + IEMU_PAGE_REP, sizeof(r));
	return r.magic == IEMU_MAGIC ? r.result : 7777;
}

static int page_call(struct iemu_page *pg, int fd, struct iemu_req *q, const char *ext)
{
	char buf[sizeof(*q) + 256];
	q->ext_len = ext ? (uint32_t)strlen(ext) : 0;
	memcpy(buf, q, sizeof(*q));
	if (ext)
		memcpy(buf + sizeof(*q), ext, q->ext_len);
	page_send(pg, fd, buf, sizeof(*q) + q->ext_len, sizeof(*q) + q->ext_len);
	return page_reply(pg);
}

/* The server closed the connection (within a few seconds). */
static const char *dropped(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	if (poll(&p, 1, 5000) <= 0)
		return "no";
	return recv(fd, &c, 1, MSG_DONTWAIT) == 0 || (p.revents & (POLLHUP | POLLERR)) ? "yes" : "no";
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "sealed";
	struct iemu_page *pg = NULL;
	struct iemu_reply r;
	struct iemu_req q;
	int mfd, ch, pfd[2];
	off_t size = strcmp(mode, "short") ? IEMU_PAGE_SIZE : 4096;

	sock_path = argv[1];
	if (!strcmp(mode, "notmemfd")) {
		if (pipe(pfd) < 0)
			return 1;
		mfd = pfd[0];
	} else {
		mfd = memfd_create("page", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (mfd < 0 || ftruncate(mfd, size) < 0)
			return 1;
		if (strcmp(mode, "unsealed") && fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
			return 1;
		pg = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
		if (pg == MAP_FAILED)
			return 1;
	}
	ch = connect_server();
	hello(ch, IEMU_KIND_CHANNEL, 1, (uint32_t)mfd, NULL, &r);
	close(mfd);
	printf("hello: %d page %u\n", r.result, r.aux & IEMU_AUX_PAGE);

	/* The same requests on the socket, and (when taken) through the page. */
	req_init(&q, IEMU_OP_FILE_INFO, 12345);
	printf("socket file info: %d\n", sock_call(ch, &q, NULL));
	req_init(&q, IEMU_OP_RESOLVE, 0);
	printf("socket resolve: %d\n", sock_call(ch, &q, "/no/such/control"));
	if (!(r.aux & IEMU_AUX_PAGE))
		return 0;
	req_init(&q, IEMU_OP_FILE_INFO, 12345);
	printf("page file info: %d\n", page_call(pg, ch, &q, NULL));
	req_init(&q, IEMU_OP_RESOLVE, 0);
	printf("page resolve: %d\n", page_call(pg, ch, &q, "/no/such/control"));
	/* A socket request between page requests. */
	req_init(&q, IEMU_OP_FILE_INFO, 12345);
	printf("socket again: %d\n", sock_call(ch, &q, NULL));

	if (!strcmp(mode, "badlen")) {
		/* The frame announces 8 bytes of extension; the page says none. */
		req_init(&q, IEMU_OP_RESOLVE, 0);
		q.ext_len = 8;
		page_send(pg, ch, &q, sizeof(q), sizeof(q));
		printf("bad length dropped: %s\n", dropped(ch));
		return 0;
	}

	if (!strcmp(mode, "liar")) {
		req_init(&q, IEMU_OP_FILE_INFO, 12345);
		q.pid = (uint32_t)getppid();
		page_send(pg, ch, &q, sizeof(q), sizeof(q));
		printf("liar dropped: %s\n", dropped(ch));
		return 0;
	}

	/* A reply the server makes later: OP_CLOSED of a file that is open. */
	{
		struct stat st;
		int f = connect_server();
		if (fstat(f, &st) < 0)
			return 1;
		hello(f, IEMU_KIND_FILE, st.st_ino, O_RDWR, "/dev/iommu", &r);
		printf("open: %d\n", r.result);
		req_init(&q, IEMU_OP_CLOSED, st.st_ino);
		printf("page closed (answered later): %d\n", page_call(pg, ch, &q, NULL));
		req_init(&q, IEMU_OP_FILE_INFO, st.st_ino);
		printf("page file info of it: %d\n", page_call(pg, ch, &q, NULL) >= 0 ? 0 : -1);
	}

	/* More than the request area holds: the server drops us. */
	req_init(&q, IEMU_OP_FILE_INFO, 12345);
	page_send(pg, ch, &q, sizeof(q), IEMU_PAGE_REQ_MAX + 8);
	printf("oversized dropped: %s\n", dropped(ch));
	return 0;
}
