/* libiommufd-shim: LD_PRELOAD bridge from an unmodified program to the
 * iommufd-emu server. It knows nothing of iommufd: open() of an emulated path
 * becomes a connected Unix socket, and ioctl() on such a socket becomes a
 * (request, arg, pid, tid) frame whose reply is the result or errno.
 *
 * Environment (set by `iommufd-emu run`):
 *   IOMMUFD_EMU_SOCKET  the server's socket path; without it the shim is inert
 *   IOMMUFD_EMU_PATHS   ':'-separated fnmatch patterns of emulated paths, each
 *                       optionally "=MAJOR,MINOR" (what stat() reports)
 *   IOMMUFD_EMU_TRACER  server pid to name as ptracer (Yama) at start-up
 *
 * Recognising our fds: an fd is ours when it is a socket whose inode we
 * created, or (after exec, when our table is gone) whose peer is the server's
 * socket path. So any fd inherited across fork or exec, dup'd or passed with
 * SCM_RIGHTS works, and nothing needs to track close(). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_PATTERNS 32
#define KNOWN_SLOTS 256
#define CHANNEL_FD_FLOOR 900

struct pattern {
	char *glob;
	dev_t rdev;
	int chardev; /* stat() reports a character device (the entry had =MAJ,MIN) */
};

static int active;
static struct sockaddr_un server_addr;
static socklen_t server_addr_len;
static struct pattern patterns[MAX_PATTERNS];
static int npatterns;
static pid_t tracer_pid;

/* Socket inodes we know to be emulated files, with their device numbers. A
 * miss costs one getpeername(); entries never go stale in a harmful way since
 * sockfs inode numbers are not reused while a socket lives. */
static struct { ino_t ino; dev_t rdev; } known[KNOWN_SLOTS];
static unsigned known_next;

/* The per-process channel; `lock` serialises request/reply on it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int chan_fd = -1;
static pid_t chan_pid;
/* Names this process image to the server: new at start-up (so after exec) and
 * in a forked child, so the server knows a reconnecting image from a new one. */
static uint64_t image_cookie;

static void new_cookie(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	image_cookie = ((uint64_t)getpid() << 40) ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
		       (uint64_t)(uintptr_t)&ts;
	if (!image_cookie)
		image_cookie = 1;
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef int (*stat_fn)(const char *, struct stat *);
typedef int (*fstat_fn)(int, struct stat *);
typedef int (*fstatat_fn)(int, const char *, struct stat *, int);
typedef int (*access_fn)(const char *, int);
typedef int (*faccessat_fn)(int, const char *, int, int);

static open_fn real_open, real_open64;
static openat_fn real_openat, real_openat64;
static ioctl_fn real_ioctl;
static fopen_fn real_fopen, real_fopen64;
static stat_fn real_stat, real_stat64, real_lstat, real_lstat64;
static fstat_fn real_fstat, real_fstat64;
static fstatat_fn real_fstatat, real_fstatat64;
static access_fn real_access;
static faccessat_fn real_faccessat;

static void *next_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static int resolved;

/* Other libraries' constructors may call us before shim_init runs. */
static void resolve(void)
{
	if (resolved)
		return;
	real_open = (open_fn)next_sym("open");
	real_open64 = (open_fn)next_sym("open64");
	real_openat = (openat_fn)next_sym("openat");
	real_openat64 = (openat_fn)next_sym("openat64");
	real_ioctl = (ioctl_fn)next_sym("ioctl");
	real_fopen = (fopen_fn)next_sym("fopen");
	real_fopen64 = (fopen_fn)next_sym("fopen64");
	real_stat = (stat_fn)next_sym("stat");
	real_stat64 = (stat_fn)next_sym("stat64");
	real_lstat = (stat_fn)next_sym("lstat");
	real_lstat64 = (stat_fn)next_sym("lstat64");
	real_fstat = (fstat_fn)next_sym("fstat");
	real_fstat64 = (fstat_fn)next_sym("fstat64");
	real_fstatat = (fstatat_fn)next_sym("fstatat");
	real_fstatat64 = (fstatat_fn)next_sym("fstatat64");
	real_access = (access_fn)next_sym("access");
	real_faccessat = (faccessat_fn)next_sym("faccessat");
	resolved = 1;
}

static void reset_after_fork(void)
{
	/* The child has one thread: the lock may have been held by another thread
	 * of the parent, and the channel is the parent's. */
	pthread_mutex_init(&lock, NULL);
	if (chan_fd >= 0)
		close(chan_fd);
	chan_fd = -1;
	new_cookie();
	if (active && tracer_pid > 0)
		prctl(PR_SET_PTRACER, (unsigned long)tracer_pid, 0, 0, 0);
}

static void parse_patterns(const char *env)
{
	char *copy = strdup(env), *save = NULL, *tok;
	if (!copy)
		return;
	for (tok = strtok_r(copy, ":", &save); tok && npatterns < MAX_PATTERNS;
	     tok = strtok_r(NULL, ":", &save)) {
		char *eq = strchr(tok, '=');
		unsigned maj = 10, min = 0;
		if (eq) {
			*eq = 0;
			sscanf(eq + 1, "%u,%u", &maj, &min);
		}
		patterns[npatterns].glob = strdup(tok);
		patterns[npatterns].rdev = makedev(maj, min);
		patterns[npatterns].chardev = eq != NULL;
		npatterns++;
	}
	free(copy);
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *sock = getenv("IOMMUFD_EMU_SOCKET");
	const char *paths = getenv("IOMMUFD_EMU_PATHS");
	const char *tracer = getenv("IOMMUFD_EMU_TRACER");

	resolve();
	if (!sock || !*sock || strlen(sock) >= sizeof(server_addr.sun_path))
		return;
	memset(&server_addr, 0, sizeof(server_addr));
	server_addr.sun_family = AF_UNIX;
	strcpy(server_addr.sun_path, sock);
	server_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sock) + 1);
	parse_patterns(paths && *paths ? paths : "/dev/iommu=10,123");
	if (tracer)
		tracer_pid = (pid_t)atoi(tracer);
	if (tracer_pid > 0)
		prctl(PR_SET_PTRACER, (unsigned long)tracer_pid, 0, 0, 0);
	new_cookie();
	pthread_atfork(NULL, NULL, reset_after_fork);
	active = 1;
}

/* ---- small I/O helpers: whole frames, EINTR-safe ---- */

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };
				poll(&pfd, 1, -1);
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = recv(fd, p, len, 0);
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLIN };
				poll(&pfd, 1, -1);
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int raw_fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}

static int connect_server(int cloexec)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | (cloexec ? SOCK_CLOEXEC : 0), 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&server_addr, server_addr_len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void remember(ino_t ino, dev_t rdev)
{
	unsigned i;
	for (i = 0; i < KNOWN_SLOTS; i++)
		if (known[i].ino == ino) {
			known[i].rdev = rdev;
			return;
		}
	known[known_next % KNOWN_SLOTS].ino = ino;
	known[known_next % KNOWN_SLOTS].rdev = rdev;
	known_next++;
}

static int lookup_known(ino_t ino, dev_t *rdev)
{
	unsigned i;
	for (i = 0; i < KNOWN_SLOTS; i++)
		if (known[i].ino == ino) {
			if (rdev)
				*rdev = known[i].rdev;
			return 1;
		}
	return 0;
}

/* Is `fd` one of ours? Fills its socket inode. Never changes errno. */
static int is_emulated_fd(int fd, ino_t *ino)
{
	struct stat st;
	struct sockaddr_un peer;
	socklen_t len = sizeof(peer);
	int saved = errno, ours = 0;

	if (!active || fd < 0 || raw_fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		goto out;
	*ino = st.st_ino;
	pthread_mutex_lock(&lock);
	ours = lookup_known(st.st_ino, NULL);
	pthread_mutex_unlock(&lock);
	if (ours)
		goto out;
	memset(&peer, 0, sizeof(peer));
	if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0 && peer.sun_family == AF_UNIX &&
	    strcmp(peer.sun_path, server_addr.sun_path) == 0 && fd != chan_fd) {
		ours = 1;
		pthread_mutex_lock(&lock);
		remember(st.st_ino, 0);
		pthread_mutex_unlock(&lock);
	}
out:
	errno = saved;
	return ours;
}

/* The channel of this process; called with `lock` held. */
static int channel(void)
{
	struct iemu_hello h;
	struct iemu_reply r;
	pid_t pid = getpid();
	int fd, high;

	if (chan_fd >= 0 && chan_pid == pid)
		return chan_fd;
	/* A child made without fork() (clone, vfork) still has the parent's. */
	chan_fd = -1;
	fd = connect_server(1);
	if (fd < 0)
		return -1;
	/* Keep it out of the way of programs that reuse low fd numbers. */
	high = fcntl(fd, F_DUPFD_CLOEXEC, CHANNEL_FD_FLOOR);
	if (high >= 0) {
		close(fd);
		fd = high;
	}
	memset(&h, 0, sizeof(h));
	h.magic = IEMU_MAGIC;
	h.version = IEMU_VERSION;
	h.kind = IEMU_KIND_CHANNEL;
	h.pid = (uint32_t)pid;
	h.tid = (uint32_t)gettid();
	h.ino = image_cookie;
	if (write_all(fd, &h, sizeof(h)) < 0 || read_all(fd, &r, sizeof(r)) < 0 || r.magic != IEMU_MAGIC) {
		close(fd);
		errno = EIO;
		return -1;
	}
	if (r.result < 0) {
		close(fd);
		if (r.result == -EPERM || r.result == -EACCES)
			fprintf(stderr,
				"iommufd-emu: the server cannot access this process's memory "
				"(/proc/%d/mem: %s); run it as the server's child or allow ptrace\n",
				pid, strerror(-r.result));
		errno = -r.result;
		return -1;
	}
	chan_fd = fd;
	chan_pid = pid;
	return fd;
}

/* One request/reply on the channel; returns the reply's result (or -errno). */
static long transact(uint32_t op, uint32_t request, uint64_t arg, ino_t ino, uint64_t *aux)
{
	struct iemu_req q;
	struct iemu_reply r;
	long ret;
	int fd, saved = errno;

	q.op = op;
	q.inline_len = 0;
	q.__reserved = 0;
	if (op == IEMU_OP_IOCTL && arg >= 4096) {
		/* Safe on any value: a bad address reads short, never faults. */
		struct iovec local = { q.inline_data, IEMU_INLINE };
		struct iovec remote = { (void *)(uintptr_t)arg, IEMU_INLINE };
		ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		if (n < 0 && errno == EFAULT) {
			/* The window crosses into an unmapped page: take what precedes it. */
			remote.iov_len = local.iov_len = 4096 - (arg & 4095);
			if (remote.iov_len < IEMU_INLINE)
				n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		}
		q.inline_len = n > 0 ? (uint32_t)n : 0;
	}
	q.pid = (uint32_t)getpid();
	q.tid = (uint32_t)gettid();
	q.request = request;
	q.arg = arg;
	q.ino = (uint64_t)ino;
	errno = saved;
	pthread_mutex_lock(&lock);
	fd = channel();
	if (fd < 0) {
		ret = -(errno ? errno : EIO);
		goto out;
	}
	if (write_all(fd, &q, sizeof(q)) < 0 || read_all(fd, &r, sizeof(r)) < 0 || r.magic != IEMU_MAGIC) {
		/* The server went away mid-request; the next call reconnects. */
		close(fd);
		chan_fd = -1;
		ret = -EIO;
		goto out;
	}
	ret = r.result;
	if (aux)
		*aux = r.aux;
out:
	pthread_mutex_unlock(&lock);
	return ret;
}

/* ---- paths ---- */

/* The absolute form of (dirfd, path), or NULL when it cannot be emulated. */
static const char *absolute(int dirfd, const char *path, char *buf, size_t size)
{
	char base[PATH_MAX];
	if (!path)
		return NULL;
	if (path[0] == '/')
		return path;
	if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof(base)))
			return NULL;
	} else {
		char link[64];
		ssize_t n;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		n = readlink(link, base, sizeof(base) - 1);
		if (n <= 0)
			return NULL;
		base[n] = 0;
	}
	if ((size_t)snprintf(buf, size, "%s/%s", strcmp(base, "/") ? base : "", path) >= size)
		return NULL;
	return buf;
}

/* The pattern `path` matches, or NULL. Collapses "//" and "/./" first. */
static const struct pattern *match(int dirfd, const char *path)
{
	char abs[PATH_MAX], norm[PATH_MAX];
	const char *p;
	size_t o = 0;
	int i;

	if (!active)
		return NULL;
	p = absolute(dirfd, path, abs, sizeof(abs));
	if (!p || strlen(p) >= sizeof(norm))
		return NULL;
	while (*p) {
		if (p[0] == '/' && (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || p[2] == 0)))) {
			p += p[1] == '/' ? 1 : 2;
			continue;
		}
		norm[o++] = *p++;
	}
	norm[o] = 0;
	for (i = 0; i < npatterns; i++)
		if (fnmatch(patterns[i].glob, norm, FNM_PATHNAME) == 0)
			return &patterns[i];
	return NULL;
}

/* open(2) of an emulated path: a FILE connection to the server. */
static int emu_open(int dirfd, const char *path, int flags)
{
	char abs[PATH_MAX];
	const char *p = absolute(dirfd, path, abs, sizeof(abs));
	struct iemu_hello h;
	struct iemu_reply r;
	struct stat st;
	size_t plen;
	int fd, e;

	/* The channel first, so the server knows this process before its files. */
	pthread_mutex_lock(&lock);
	fd = channel();
	pthread_mutex_unlock(&lock);
	if (fd < 0) {
		errno = errno == ECONNREFUSED || errno == ENOENT ? ENODEV : errno;
		return -1;
	}
	plen = strlen(p);
	fd = connect_server(flags & O_CLOEXEC);
	if (fd < 0) {
		errno = ENODEV;
		return -1;
	}
	if (raw_fstat(fd, &st) < 0)
		goto io;
	memset(&h, 0, sizeof(h));
	h.magic = IEMU_MAGIC;
	h.version = IEMU_VERSION;
	h.kind = IEMU_KIND_FILE;
	h.pid = (uint32_t)getpid();
	h.tid = (uint32_t)gettid();
	h.ino = st.st_ino;
	h.oflags = (uint32_t)flags;
	h.path_len = (uint32_t)plen;
	if (write_all(fd, &h, sizeof(h)) < 0 || write_all(fd, p, plen) < 0 ||
	    read_all(fd, &r, sizeof(r)) < 0 || r.magic != IEMU_MAGIC)
		goto io;
	if (r.result < 0) {
		close(fd);
		errno = -r.result;
		return -1;
	}
	pthread_mutex_lock(&lock);
	remember(st.st_ino, (dev_t)r.aux);
	pthread_mutex_unlock(&lock);
	if (flags & O_NONBLOCK)
		fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
io:
	e = errno;
	close(fd);
	errno = e == EPIPE ? EIO : e;
	return -1;
}

static int wants_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define OPEN_BODY(dirfd, real_call)                                                \
	mode_t mode = 0;                                                           \
	if (wants_mode(flags)) {                                                   \
		va_list ap;                                                        \
		va_start(ap, flags);                                               \
		mode = (mode_t)va_arg(ap, int);                                    \
		va_end(ap);                                                        \
	}                                                                          \
	if (match(dirfd, path))                                                    \
		return emu_open(dirfd, path, flags);                               \
	return real_call;

EXPORT int open(const char *path, int flags, ...)
{
	resolve();
	OPEN_BODY(AT_FDCWD, real_open(path, flags, mode))
}

EXPORT int open64(const char *path, int flags, ...)
{
	resolve();
	OPEN_BODY(AT_FDCWD, real_open64(path, flags, mode))
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	resolve();
	OPEN_BODY(dirfd, real_openat(dirfd, path, flags, mode))
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	resolve();
	OPEN_BODY(dirfd, real_openat64(dirfd, path, flags, mode))
}

/* _FORTIFY_SOURCE entry points: no mode argument. */
EXPORT int __open_2(const char *path, int flags)
{
	resolve();
	return open(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	resolve();
	return open64(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	resolve();
	return openat(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	resolve();
	return openat64(dirfd, path, flags);
}

static FILE *emu_fopen(const char *path, const char *mode)
{
	int flags = strchr(mode, '+') ? O_RDWR : mode[0] == 'r' ? O_RDONLY : O_WRONLY;
	int fd;
	FILE *f;
	if (strchr(mode, 'e'))
		flags |= O_CLOEXEC;
	fd = emu_open(AT_FDCWD, path, flags);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, mode);
	if (!f)
		close(fd);
	return f;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	resolve();
	if (match(AT_FDCWD, path))
		return emu_fopen(path, mode);
	return real_fopen(path, mode);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	resolve();
	if (match(AT_FDCWD, path))
		return emu_fopen(path, mode);
	return real_fopen64(path, mode);
}

/* ---- ioctl ---- */

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	resolve();
	va_list ap;
	unsigned long arg;
	ino_t ino;
	long ret;

	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (!is_emulated_fd(fd, &ino))
		return real_ioctl(fd, request, arg);
	ret = transact(IEMU_OP_IOCTL, (uint32_t)request, arg, ino, NULL);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return (int)ret;
}

/* On the LP64 targets we support, struct stat64 is struct stat. */
_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 layout");

/* ---- stat probes: an emulated path or fd is a character device ---- */

static void fake_stat(struct stat *st, dev_t rdev, ino_t ino)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(0, 5); /* devtmpfs-like */
	st->st_ino = ino;
	st->st_mode = S_IFCHR | 0666;
	st->st_nlink = 1;
	st->st_rdev = rdev;
	st->st_blksize = 4096;
}

static int stat_path(int dirfd, const char *path, struct stat *st)
{
	const struct pattern *m = match(dirfd, path);
	if (!m || !m->chardev)
		return 0;
	fake_stat(st, m->rdev, (ino_t)(1000 + (m - patterns)));
	return 1;
}

static int stat_fd(int fd, struct stat *st)
{
	ino_t ino;
	dev_t rdev = 0;
	uint64_t aux = 0;
	int found;
	if (!is_emulated_fd(fd, &ino))
		return 0;
	pthread_mutex_lock(&lock);
	found = lookup_known(ino, &rdev);
	pthread_mutex_unlock(&lock);
	if (!found || rdev == 0) {
		if (transact(IEMU_OP_FILE_INFO, 0, 0, ino, &aux) >= 0)
			rdev = (dev_t)aux;
		pthread_mutex_lock(&lock);
		remember(ino, rdev);
		pthread_mutex_unlock(&lock);
	}
	fake_stat(st, rdev, ino);
	return 1;
}

EXPORT int stat(const char *path, struct stat *st)
{
	resolve();
	return stat_path(AT_FDCWD, path, st) ? 0 : real_stat(path, st);
}

EXPORT int stat64(const char *path, struct stat64 *st64)
{
	resolve();
	struct stat *st = (struct stat *)st64;
	return stat_path(AT_FDCWD, path, st) ? 0 : real_stat64(path, st);
}

EXPORT int lstat(const char *path, struct stat *st)
{
	resolve();
	return stat_path(AT_FDCWD, path, st) ? 0 : real_lstat(path, st);
}

EXPORT int lstat64(const char *path, struct stat64 *st64)
{
	resolve();
	struct stat *st = (struct stat *)st64;
	return stat_path(AT_FDCWD, path, st) ? 0 : real_lstat64(path, st);
}

EXPORT int fstat(int fd, struct stat *st)
{
	resolve();
	return stat_fd(fd, st) ? 0 : real_fstat(fd, st);
}

EXPORT int fstat64(int fd, struct stat64 *st64)
{
	resolve();
	struct stat *st = (struct stat *)st64;
	return stat_fd(fd, st) ? 0 : real_fstat64(fd, st);
}

static int fstatat_common(fstatat_fn real, int dirfd, const char *path, struct stat *st, int flags)
{
	if ((flags & AT_EMPTY_PATH) && path && !*path)
		return stat_fd(dirfd, st) ? 0 : real(dirfd, path, st, flags);
	return stat_path(dirfd, path, st) ? 0 : real(dirfd, path, st, flags);
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	resolve();
	return fstatat_common(real_fstatat, dirfd, path, st, flags);
}

EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st64, int flags)
{
	resolve();
	struct stat *st = (struct stat *)st64;
	return fstatat_common(real_fstatat64, dirfd, path, st, flags);
}

EXPORT int access(const char *path, int mode)
{
	resolve();
	return match(AT_FDCWD, path) ? 0 : real_access(path, mode);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	resolve();
	return match(dirfd, path) ? 0 : real_faccessat(dirfd, path, mode, flags);
}
