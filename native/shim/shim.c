/* libiommufd-shim: LD_PRELOAD bridge from an unmodified program to the
 * iommufd-emu server. It knows nothing of iommufd: open() of an emulated path
 * becomes a connected Unix socket, and ioctl/read/write/mmap on such a socket
 * become frames on the process's channel whose replies say what to return and
 * what to do first (write these bytes here, make this new fd). See proto.h.
 *
 * Environment (set by `iommufd-emu run`):
 *   IOMMUFD_EMU_SOCKET    the server's socket path; without it, or without
 *                         IOMMUFD_EMU_PATHS, the shim is inert
 *   IOMMUFD_EMU_PATHS     ':'-separated fnmatch patterns of emulated paths, each
 *                         optionally "=MAJOR,MINOR" (what stat() reports)
 *   IOMMUFD_EMU_REDIRECT  ':'-separated fnmatch patterns of control paths
 *                         (fail-nth, debugfs, /proc/<pid>/status) whose real
 *                         file the server names (maybe the path itself)
 *   IOMMUFD_EMU_STATE     the server's state directory (control files live there)
 *   IOMMUFD_EMU_TRACER    server pid to name as ptracer (Yama) at start-up
 *   IOMMUFD_EMU_NO_SHM    1: no channel page (proto.h); every request and
 *                         reply travels on the channel's socket
 *   IOMMUFD_EMU_FOREIGN   ':'-separated ioctl request numbers to forward even
 *                         on fds that are not ours (proto.h: IEMU_OP_FOREIGN)
 *
 * Recognising our fds: ioctl and fstat check any fd (a socket whose inode we
 * created, or whose peer is the server's socket path), so fds inherited across
 * fork or exec, dup'd or passed with SCM_RIGHTS work; an fd found so joins a
 * table of fds we made (open, dup, the fds of ioctls, a scan of /proc/self/fd
 * at start-up after exec), which ioctl trusts as it is (every close path
 * through us clears it). The other hot calls (read, write, mmap...) only look
 * at that table and confirm the socket's inode with one fstat; any other fd
 * costs nothing.
 *
 * poll/select/epoll are not intercepted: the server keeps a wake byte queued
 * on an emulated file's socket while it is readable (proto.h), so they work
 * on the real fd. They also see POLLOUT always (a socket is writable).
 *
 * As robust as libc: a call that succeeds leaves errno alone; our locks are
 * held with signals blocked once the program has a handler (which may close
 * an fd mid-ioctl); the pid is cached in a page every fork wipes (children of
 * the raw fork/clone syscalls and of vfork get their own channel); user memory is only touched through
 * process_vm_readv/writev (EFAULT, never SIGSEGV); every way an fd goes
 * (close, dup2/dup3 over it, close_range, closefrom, close-on-exec) waits for
 * the release it caused; the ioctls the VFS answers never reach the server. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/fiemap.h>
#include <linux/futex.h>
#include <linux/fs.h>

#include "proto.h"
#include "trap.h"

/* Newer than some installed headers (include/uapi/linux/fs.h). */
#ifndef FS_IOC_GETFSUUID
#define FS_IOC_GETFSUUID _IOR(0x15, 0, struct { __u8 len; __u8 uuid[16]; })
#endif
#ifndef FS_IOC_GETFSSYSFSPATH
#define FS_IOC_GETFSSYSFSPATH _IOR(0x15, 1, struct { __u8 len; __u8 name[128]; })
#endif

#define EXPORT __attribute__((visibility("default")))
#define MAX_PATTERNS 32
#define KNOWN_SLOTS 256
#define CHANNEL_FD_FLOOR 900
#define FDTAB 65536
#define MAX_MAPS 256
/* Largest write we forward at once (a short write returns the rest). */
#define MAX_WRITE (1u << 20)
#define MAX_RW 0x7ffff000u

struct pattern {
	char *glob;
	dev_t rdev;
	int chardev; /* stat() reports a character device (the entry had =MAJ,MIN) */
};

static int active;
static struct sockaddr_un server_addr;
static socklen_t server_addr_len;
static struct pattern patterns[MAX_PATTERNS], redirects[MAX_PATTERNS];
static int npatterns, nredirects;
static char state_dir[PATH_MAX];
static size_t state_dir_len;
/* IOMMUFD_EMU_TREE: a directory tree of the server's that stands for whole
 * subtrees of the file system (the emulated machine's sysfs and /dev/vfio):
 * a path under one of its prefixes is the same path under tree_root. */
#define MAX_TREE 64
static char tree_root[PATH_MAX];
static size_t tree_root_len;
static struct { char *prefix; size_t len; } tree[MAX_TREE];
static int ntree;
static pid_t tracer_pid;

/* Socket inodes we know to be emulated files, with their device numbers. A
 * miss costs one getpeername(); entries never go stale in a harmful way since
 * sockfs inode numbers are not reused while a socket lives. */
static struct { ino_t ino; dev_t rdev; } known[KNOWN_SLOTS];
static unsigned known_next;

/* fds we made, by number: what they are and the inode that proves it is still
 * that file (a number closed behind our back and reused fails the check). */
enum { FD_NONE = 0, FD_EMU = 1, FD_CTL = 2 };
static struct { unsigned char kind; ino_t ino; } fdtab[FDTAB];

/* Mappings of emulated files: pieces of address space, each naming the
 * server's mapping id; when the last piece of an id goes, the server hears.
 * A trap piece (IEMU_REC_TRAP) is reserved with no access: a load or store
 * there faults and becomes a READ or WRITE of file `ino` at `off` (the file
 * offset of `start`) plus the distance into the piece, if `prot` allows it. */
struct map {
	uintptr_t start, end;
	uint32_t id;
	int trap, prot;
	uint64_t ino, off;
};
static struct map maps[MAX_MAPS];
static int nmaps;
static pthread_mutex_t maplock = PTHREAD_MUTEX_INITIALIZER;

/* The per-process channel; `lock` serialises request/reply on it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int chan_fd = -1;
static pid_t chan_pid;
static ino_t chan_ino;
/* A vfork child that made its own channel keeps its parent's here (they
 * share this memory); the parent takes it back when it runs again. */
static int lent_fd = -1;
static pid_t lent_pid;
static ino_t lent_ino;
/* The channel's page (proto.h), NULL when the server took none; the lent
 * channel's with it. */
static struct iemu_page *chan_page, *lent_page;
/* IOMMUFD_EMU_NO_SHM=1: offer no page. */
static int no_page;
/* IOMMUFD_EMU_FOREIGN: requests the server sees on any fd (what they mean is
 * the server's business). */
#define FOREIGN_MAX 8
static uint32_t foreign_req[FOREIGN_MAX];
static int nforeign;
/* How long a round trip spins on the page before it sleeps (ns): the most
 * after a spin that found the reply; a spin in vain halves it, down to none
 * (a reply that keeps coming later than we spin costs no spinning). */
#define SPIN_MAX_NS 50000L
#define SPIN_MIN_NS 2000L
/* With spinning off, every SPIN_PROBE-th wait spins once more. */
#define SPIN_PROBE 64
static long spin_ns = SPIN_MAX_NS;
static int spin_skipped;
/* A REC_WRITE faulted, or the program took memory away (munmap, mprotect,
 * mmap MAP_FIXED, mremap): tell the server with the next request, so it
 * checks user pointers against the mappings as they are now (its snapshot
 * re-reads on a miss, which only finds memory added). */
static int maps_stale;
/* Names this process image to the server: new at start-up (so after exec) and
 * in a forked child, so the server knows a reconnecting image from a new one. */
static uint64_t image_cookie;

/* A signal handler may close, dup or ioctl an emulated fd (close() is
 * async-signal-safe) while its thread is inside one of our round trips: our
 * locks are therefore held with the program's signals blocked, and the
 * handler runs when the round trip is over, as it would after a syscall.
 * That costs two sigprocmask calls per lock, paid only once the program has
 * a handler for some asynchronous signal: with none (every disposition
 * default or ignored, as after exec) no program code can run on this thread
 * while we hold a lock. Every way to install a handler goes through us
 * (sigaction, signal, sigset...; glibc's own internal handlers never call
 * into the shim), and the first one waits for the locks to be free before
 * it is installed (note_handler). The synchronous signals stay open
 * (blocked, a fault would kill the process at once instead of reaching the
 * program's handler). Cancellation is off as well: the send/recv/poll of a
 * round trip are cancellation points, and a thread cancelled there would
 * leave the lock held for ever (glibc's ioctl is no cancellation point at
 * all). Neither call changes errno. */
struct held {
	sigset_t sigs;
	int cancel;
	int masked;
};

static sigset_t async_sigs;
static int async_sigs_ready;
/* Set (for good, inherited by fork, reset by exec) once the program has a
 * handler for an asynchronous signal. */
static int handlers_seen;
/* Locks this thread holds: a trapped access cannot be carried out then. */
static __thread int locks_held;
static int sigmask_raw(int how, const sigset_t *set, sigset_t *old);

static int sync_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS;
}

static void take(pthread_mutex_t *m, struct held *old)
{
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old->cancel);
	old->masked = 0;
	if (!__atomic_load_n(&handlers_seen, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(m);
		/* A first handler being installed now waits for this lock. */
		if (!__atomic_load_n(&handlers_seen, __ATOMIC_SEQ_CST)) {
			locks_held++;
			return;
		}
		pthread_mutex_unlock(m);
	}
	if (!async_sigs_ready) {
		sigset_t s;
		int sig;
		sigfillset(&s);
		for (sig = 1; sig < NSIG; sig++)
			if (sync_signal(sig))
				sigdelset(&s, sig);
		async_sigs = s;
		async_sigs_ready = 1;
	}
	sigmask_raw(SIG_BLOCK, &async_sigs, &old->sigs);
	old->masked = 1;
	pthread_mutex_lock(m);
	locks_held++;
}

static void give(pthread_mutex_t *m, const struct held *old)
{
	locks_held--;
	pthread_mutex_unlock(m);
	if (old->masked)
		sigmask_raw(SIG_SETMASK, &old->sigs, NULL);
	pthread_setcancelstate(old->cancel, NULL);
}

/* Who we are. A child made by the raw fork, clone or vfork syscall runs no
 * fork handlers and still holds our memory, caches and all (glibc's getpid()
 * is a plain syscall for that reason). Our pid is cached in the fork_mark
 * page below, which the kernel hands every forked copy as zeros (glibc's fork
 * and the raw syscalls alike): a copy reads 0 and asks the kernel once. A
 * child that shares our memory does not get a fresh page: glibc's vfork is
 * ours (a trampoline that counts children running in our memory), and while
 * one runs every call asks the kernel. Left out: a child of the raw clone
 * syscall with CLONE_VM but no vfork (it would be taken as its parent), and
 * kernels without MADV_WIPEONFORK, where every call asks. The tid is cached
 * per thread, with the pid it was read in. */
static __thread pid_t my_tid, my_tid_pid;
static volatile int *fork_mark;
/* Children of our vfork running in our memory (the parent waits meanwhile). */
__attribute__((used)) static volatile int vfork_children;

static pid_t self_pid(void)
{
	pid_t p;
	if (!fork_mark || __atomic_load_n(&vfork_children, __ATOMIC_SEQ_CST))
		return (pid_t)syscall(SYS_getpid);
	p = (pid_t)fork_mark[1];
	if (!p) {
		p = (pid_t)syscall(SYS_getpid);
		fork_mark[1] = p;
	}
	return p;
}

#if defined(__x86_64__)
/* vfork as glibc's: the return address leaves the shared stack before the
 * syscall (the child may overwrite it) and is pushed back after. */
__attribute__((used)) static long vfork_failed(long r)
{
	errno = (int)-r;
	return -1;
}

__asm__(".text\n"
	".globl vfork\n"
	".type vfork, @function\n"
	"vfork:\n"
	"\tendbr64\n"
	"\tlock incl vfork_children(%rip)\n"
	"\tpopq %rdi\n"
	"\tmovl $" "58" ", %eax\n" /* SYS_vfork */
	"\tsyscall\n"
	"\tpushq %rdi\n"
	"\ttestq %rax, %rax\n"
	"\tjz 1f\n"
	"\tlock decl vfork_children(%rip)\n"
	"\tcmpq $-4095, %rax\n"
	"\tjae 2f\n"
	"1:\tret\n"
	"2:\tmovq %rax, %rdi\n"
	"\tjmp vfork_failed\n"
	".size vfork, .-vfork\n");
#endif

static pid_t self_tid(pid_t pid)
{
	if (my_tid_pid != pid) {
		my_tid = (pid_t)syscall(SYS_gettid);
		my_tid_pid = pid;
	}
	return my_tid;
}

/* A page the kernel gives a forked child as zeros (MADV_WIPEONFORK): still
 * set when the pid changed, our memory is shared with the process whose
 * channel we hold (a vfork or CLONE_VM child); cleared, it is a copy (a raw
 * fork). NULL where the kernel has no MADV_WIPEONFORK: taken as a copy.
 * fork_mark[1] is the pid of the process the page belongs to (self_pid). */
static void fork_mark_init(void)
{
#ifdef MADV_WIPEONFORK
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (madvise(p, 4096, MADV_WIPEONFORK) != 0) {
		munmap(p, 4096);
		return;
	}
	fork_mark = p;
	*fork_mark = 1;
#endif
}

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
typedef DIR *(*opendir_fn)(const char *);
typedef int (*statx_fn)(int, const char *, int, unsigned int, struct statx *);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*readv_fn)(int, const struct iovec *, int);
typedef ssize_t (*preadv_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*read_chk_fn)(int, void *, size_t, size_t);
typedef ssize_t (*pread_chk_fn)(int, void *, size_t, off_t, size_t);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);
typedef int (*mprotect_fn)(void *, size_t, int);
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef sighandler_t (*signal_fn)(int, sighandler_t);
typedef int (*close_fn)(int);
typedef pid_t (*fork_fn)(void);
typedef int (*dup_fn)(int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);
typedef int (*fcntl_fn)(int, int, ...);

/* The libc functions the shim calls on, resolved at the first wrapper call
 * (resolve), in this order: X(variable, type, symbol). */
#define REAL_SYMBOLS(X)                                    \
	X(real_open, open_fn, "open")                      \
	X(real_open64, open_fn, "open64")                  \
	X(real_openat, openat_fn, "openat")                \
	X(real_openat64, openat_fn, "openat64")            \
	X(real_ioctl, ioctl_fn, "ioctl")                   \
	X(real_fopen, fopen_fn, "fopen")                   \
	X(real_fopen64, fopen_fn, "fopen64")               \
	X(real_stat, stat_fn, "stat")                      \
	X(real_stat64, stat_fn, "stat64")                  \
	X(real_lstat, stat_fn, "lstat")                    \
	X(real_lstat64, stat_fn, "lstat64")                \
	X(real_fstat, fstat_fn, "fstat")                   \
	X(real_fstat64, fstat_fn, "fstat64")               \
	X(real_fstatat, fstatat_fn, "fstatat")             \
	X(real_fstatat64, fstatat_fn, "fstatat64")         \
	X(real_access, access_fn, "access")                \
	X(real_faccessat, faccessat_fn, "faccessat")       \
	X(real_opendir, opendir_fn, "opendir")             \
	X(real_statx, statx_fn, "statx")                   \
	X(real_read, read_fn, "read")                      \
	X(real_write, write_fn, "write")                   \
	X(real_pread, pread_fn, "pread")                   \
	X(real_pread64, pread_fn, "pread64")               \
	X(real_pwrite, pwrite_fn, "pwrite")                \
	X(real_pwrite64, pwrite_fn, "pwrite64")            \
	X(real_readv, readv_fn, "readv")                   \
	X(real_writev, readv_fn, "writev")                 \
	X(real_preadv, preadv_fn, "preadv")                \
	X(real_pwritev, preadv_fn, "pwritev")              \
	X(real_preadv64, preadv_fn, "preadv64")            \
	X(real_pwritev64, preadv_fn, "pwritev64")          \
	X(real_read_chk, read_chk_fn, "__read_chk")        \
	X(real_pread_chk, pread_chk_fn, "__pread_chk")     \
	X(real_pread64_chk, pread_chk_fn, "__pread64_chk") \
	X(real_mmap, mmap_fn, "mmap")                      \
	X(real_mmap64, mmap_fn, "mmap64")                  \
	X(real_munmap, munmap_fn, "munmap")                \
	X(real_mremap, mremap_fn, "mremap")                \
	X(real_mprotect, mprotect_fn, "mprotect")          \
	X(real_sigaction, sigaction_fn, "sigaction")       \
	X(real_signal, signal_fn, "signal")                \
	X(real_close, close_fn, "close")                   \
	X(real_fork, fork_fn, "fork")                      \
	X(real_dup, dup_fn, "dup")                         \
	X(real_dup2, dup2_fn, "dup2")                      \
	X(real_dup3, dup3_fn, "dup3")                      \
	X(real_fcntl, fcntl_fn, "fcntl")                   \
	X(real_fcntl64, fcntl_fn, "fcntl64")

#define DECLARE_REAL(var, type, sym) static type var;
REAL_SYMBOLS(DECLARE_REAL)
#undef DECLARE_REAL

static void *next_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static int resolved;

/* Other libraries' constructors may call us before shim_init runs. */
static void resolve(void)
{
	if (__builtin_expect(resolved, 1))
		return;
#define RESOLVE_REAL(var, type, sym) var = (type)next_sym(sym);
	REAL_SYMBOLS(RESOLVE_REAL)
#undef RESOLVE_REAL
	if (!real_fcntl64)
		real_fcntl64 = real_fcntl;
	if (!real_mmap64)
		real_mmap64 = real_mmap;
	resolved = 1;
}

/* ---- small I/O helpers: whole frames, EINTR-safe ---- */

/* Move `len` bytes through the socket whole: sent (`out`) or received, EINTR
 * retried, EAGAIN waited out on a non-blocking socket; a peer gone before the
 * last byte arrives is EPIPE. */
static int xfer_all(int fd, char *p, size_t len, int out)
{
	while (len) {
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n == 0 && !out) {
			errno = EPIPE;
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = out ? POLLOUT : POLLIN };
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

static int write_all(int fd, const void *buf, size_t len)
{
	return xfer_all(fd, (char *)buf, len, 1);
}

/* Send a frame and its extension in one call when we can. */
static int write_two(int fd, const void *a, size_t alen, const void *b, size_t blen)
{
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = blen ? 2 : 1 };
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN)
		return -1;
	if (n < 0)
		n = 0;
	if ((size_t)n >= alen)
		return write_all(fd, (const char *)b + ((size_t)n - alen), blen - ((size_t)n - alen));
	if (write_all(fd, (const char *)a + n, alen - (size_t)n) < 0)
		return -1;
	return write_all(fd, b, blen);
}

static int read_all(int fd, void *buf, size_t len)
{
	return xfer_all(fd, buf, len, 0);
}

static int raw_fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}

static int raw_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

/* Copy to our own memory as the kernel's copy_to_user would: honours page
 * protections, never faults, whatever the program did to its address space
 * behind our back (free() of a big block, a raw munmap syscall): checked at
 * every call, as the kernel checks. Returns 0 or -1 (EFAULT). */
static int vm_write(pid_t pid, uintptr_t addr, const void *src, size_t len)
{
	struct iovec local = { (void *)src, len }, remote = { (void *)addr, len };
	if (!len)
		return 0;
	if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -1;
	return 0;
}

/* Copy from our own memory as copy_from_user would; returns bytes read. */
static ssize_t vm_read(pid_t pid, void *dst, uintptr_t addr, size_t len)
{
	struct iovec local = { dst, len }, remote = { (void *)addr, len };
	if (!len)
		return 0;
	return process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

static int connect_server(int cloexec)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | (cloexec ? SOCK_CLOEXEC : 0), 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&server_addr, server_addr_len) < 0) {
		int e = errno;
		raw_close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ---- which fds are ours ---- */

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

static void fd_mark(int fd, int kind, ino_t ino)
{
	if (fd >= 0 && fd < FDTAB) {
		fdtab[fd].ino = ino;
		fdtab[fd].kind = (unsigned char)kind;
	}
}

static void fd_forget(int fd)
{
	if (fd >= 0 && fd < FDTAB)
		fdtab[fd].kind = FD_NONE;
}

static void fd_copy(int from, int to)
{
	if (to < 0 || to >= FDTAB)
		return;
	if (from >= 0 && from < FDTAB && fdtab[from].kind) {
		fdtab[to].ino = fdtab[from].ino;
		fdtab[to].kind = fdtab[from].kind;
	} else {
		fdtab[to].kind = FD_NONE;
	}
}

/* The kind of a table fd, confirmed by its inode (FD_NONE for any other fd).
 * Never changes errno. */
static int fd_kind(int fd, ino_t *ino)
{
	struct stat st;
	int saved, kind;
	if (fd < 0 || fd >= FDTAB || !fdtab[fd].kind)
		return FD_NONE;
	saved = errno;
	kind = fdtab[fd].kind;
	if (raw_fstat(fd, &st) < 0 || st.st_ino != fdtab[fd].ino) {
		fdtab[fd].kind = FD_NONE;
		kind = FD_NONE;
	} else if (ino) {
		*ino = st.st_ino;
	}
	errno = saved;
	return kind;
}

static int peer_is_server(int fd)
{
	struct sockaddr_un peer;
	socklen_t len = sizeof(peer);
	memset(&peer, 0, sizeof(peer));
	return getpeername(fd, (struct sockaddr *)&peer, &len) == 0 && peer.sun_family == AF_UNIX &&
	       strcmp(peer.sun_path, server_addr.sun_path) == 0;
}

/* Is `fd` one of ours (any fd, however it came)? Fills its socket inode.
 * Never changes errno. */
static int is_emulated_fd(int fd, ino_t *ino)
{
	struct held sigs;
	struct stat st;
	int saved = errno, ours = 0;

	if (!active || fd < 0)
		goto out;
	/* Our table is trusted here without an fstat: every way an fd number
	 * goes through us (close, dup2/dup3, close_range, closefrom, exec,
	 * fclose, closedir) clears its entry. Not seen: the raw close/dup2
	 * syscalls. */
	if (fd < FDTAB && fdtab[fd].kind == FD_EMU) {
		*ino = fdtab[fd].ino;
		ours = 1;
		goto out;
	}
	if (raw_fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		goto out;
	*ino = st.st_ino;
	take(&lock, &sigs);
	ours = lookup_known(st.st_ino, NULL);
	give(&lock, &sigs);
	if (!ours && fd != chan_fd && fd != lent_fd && peer_is_server(fd)) {
		ours = 1;
		take(&lock, &sigs);
		remember(st.st_ino, 0);
		give(&lock, &sigs);
	}
	if (ours)
		fd_mark(fd, FD_EMU, st.st_ino);
out:
	errno = saved;
	return ours;
}

/* After exec our table is empty: find the emulated and control fds we hold. */
static int in_state_dir(const char *norm);

/* readlink(2) itself: the shim's own look at /proc/self/fd, not the program's. */
static ssize_t sys_readlink(const char *path, char *buf, size_t size)
{
	return syscall(SYS_readlinkat, AT_FDCWD, path, buf, size);
}

static void scan_fds(void)
{
	DIR *d = real_opendir ? real_opendir("/proc/self/fd") : NULL;
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;
		int fd = atoi(e->d_name);
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d) || fd >= FDTAB)
			continue;
		if (raw_fstat(fd, &st) < 0)
			continue;
		if (S_ISSOCK(st.st_mode) && peer_is_server(fd)) {
			remember(st.st_ino, 0);
			fd_mark(fd, FD_EMU, st.st_ino);
		} else if (S_ISREG(st.st_mode) && (st.st_mode & S_IWUSR) && state_dir_len) {
			char link[64], target[PATH_MAX];
			ssize_t n;
			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			n = sys_readlink(link, target, sizeof(target) - 1);
			if (n > 0) {
				target[n] = 0;
				if (in_state_dir(target))
					fd_mark(fd, FD_CTL, st.st_ino);
			}
		}
	}
	closedir(d);
}

/* ---- the channel ---- */

static int fd_is(int fd, ino_t ino)
{
	struct stat st;
	return fd >= 0 && raw_fstat(fd, &st) == 0 && st.st_ino == ino;
}

static void mappings_not_ours(void);

/* Unmap a channel page (ours, or a copy a fork gave us) and forget it. */
static void page_drop(struct iemu_page **p)
{
	if (*p)
		real_munmap(*p, IEMU_PAGE_SIZE);
	*p = NULL;
}

/* A new channel page: a sealed memfd (the server maps it too: it must not
 * shrink under it) mapped shared; its fd in *fdp (close-on-exec, to be
 * closed once the server has answered the hello). NULL when the kernel
 * cannot (the channel then works on its socket alone). */
static struct iemu_page *page_create(int *fdp)
{
	void *p;
	int fd = (int)syscall(SYS_memfd_create, "iommufd-emu-channel", MFD_CLOEXEC | MFD_ALLOW_SEALING), high;
	if (fd < 0)
		return NULL;
	high = real_fcntl(fd, F_DUPFD_CLOEXEC, CHANNEL_FD_FLOOR);
	if (high >= 0) {
		raw_close(fd);
		fd = high;
	}
	if (ftruncate(fd, IEMU_PAGE_SIZE) < 0 ||
	    real_fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		raw_close(fd);
		return NULL;
	}
	p = real_mmap(NULL, IEMU_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		raw_close(fd);
		return NULL;
	}
	*fdp = fd;
	return p;
}

static long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Wait for the server to answer request `seq` on the page: spin a while,
 * then sleep on rep_seq (the server wakes us when client_sleeping is set).
 * Returns 0, or -1 when the channel's socket says the server is gone. */
static int page_wait(struct iemu_page *pg, int fd, uint32_t seq)
{
	long spin = spin_ns;
	uint32_t v;
	int i;

	/* Spinning found nothing lately: try once in a while whether it would. */
	if (!spin && ++spin_skipped >= SPIN_PROBE) {
		spin = SPIN_MAX_NS;
		spin_skipped = 0;
	}
	if (spin > 0) {
		long end = now_ns() + spin;
		for (;;) {
			for (i = 0; i < 32; i++) {
				if (__atomic_load_n(&pg->rep_seq, __ATOMIC_ACQUIRE) == seq) {
					/* It pays: spin as long as we may. */
					spin_ns = SPIN_MAX_NS;
					return 0;
				}
				cpu_relax();
			}
			if (now_ns() >= end)
				break;
		}
		/* In vain: spin half as long next time, not at all below the minimum. */
		spin_ns = spin / 2 < SPIN_MIN_NS ? 0 : spin / 2;
	}
	/* Say we sleep, then look again (the server publishes, then looks
	 * whether we sleep): one of us sees the other. */
	__atomic_exchange_n(&pg->client_sleeping, 1, __ATOMIC_SEQ_CST);
	while ((v = __atomic_load_n(&pg->rep_seq, __ATOMIC_SEQ_CST)) != seq) {
		struct timespec tmo = { 0, 50 * 1000 * 1000 };
		if (syscall(SYS_futex, &pg->rep_seq, FUTEX_WAIT, v, &tmo, NULL, 0) < 0 && errno == ETIMEDOUT) {
			/* A slow answer, or no server: its end of the socket is gone. */
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			char c;
			if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR) ||
						     recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)) {
				__atomic_store_n(&pg->client_sleeping, 0, __ATOMIC_RELAXED);
				return -1;
			}
		}
	}
	__atomic_store_n(&pg->client_sleeping, 0, __ATOMIC_RELAXED);
	return 0;
}

/* Send request q (and its extension) through the page and take the reply;
 * returns 1 when the reply is in the page (*rep, the records after it),
 * 0 when it comes on the socket, -1 when the channel broke. */
static int page_transact(struct iemu_page *pg, int fd, const struct iemu_req *q, const void *ext, uint32_t ext_len,
			 struct iemu_reply *rep)
{
	uint32_t seq = pg->req_seq + 1, len;
	unsigned char *req = (unsigned char *)pg + IEMU_PAGE_REQ;

	memcpy(req, q, sizeof(*q));
	if (ext_len)
		memcpy(req + sizeof(*q), ext, ext_len);
	pg->req_len = (uint32_t)sizeof(*q) + ext_len;
	/* Publish with a full fence, then see whether the server polls. */
	__atomic_exchange_n(&pg->req_seq, seq, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&pg->server_polling, __ATOMIC_SEQ_CST)) {
		struct iemu_req bell;
		memset(&bell, 0, sizeof(bell));
		bell.op = IEMU_OP_DOORBELL;
		bell.pid = q->pid;
		bell.tid = q->tid;
		if (write_all(fd, &bell, sizeof(bell)) < 0)
			return -1;
	}
	if (page_wait(pg, fd, seq) < 0)
		return -1;
	len = __atomic_load_n(&pg->rep_len, __ATOMIC_ACQUIRE);
	if (len == IEMU_REP_ON_SOCKET)
		return 0;
	if (len < sizeof(*rep) || len > IEMU_PAGE_REP_MAX)
		return -1;
	memcpy(rep, (unsigned char *)pg + IEMU_PAGE_REP, sizeof(*rep));
	if (rep->magic != IEMU_MAGIC || rep->ext_len != len - sizeof(*rep))
		return -1;
	return 1;
}

/* The channel of this process; called with `lock` held. The server knows a
 * connection by its peer's credentials, so a new process needs its own. */
static int channel(pid_t pid)
{
	struct iemu_hello h;
	struct iemu_reply r;
	struct iemu_page *page;
	int fd, high, page_fd = -1, ok;

	if (chan_fd >= 0 && chan_pid == pid)
		return chan_fd;
	if (chan_fd >= 0) {
		/* The channel of another process: we are a child made without
		 * glibc's fork (its handlers reset all this). */
		if (fork_mark && *fork_mark) {
			/* Its memory is ours (vfork, CLONE_VM): keep its channel for it. */
			if (lent_fd < 0 || lent_pid != pid) {
				page_drop(&lent_page);
				lent_fd = chan_fd;
				lent_pid = chan_pid;
				lent_ino = chan_ino;
				lent_page = chan_page;
				chan_page = NULL;
			}
			/* (Any other page in this memory is a child's, done with.) */
			page_drop(&chan_page);
		} else {
			/* A copy of the parent (the raw fork or clone syscall): this
			 * fd is our copy of its channel; the parent's mappings of
			 * emulated files are not registered in our name. */
			if (fd_is(chan_fd, chan_ino))
				raw_close(chan_fd);
			lent_fd = -1;
			/* Our copies of its pages: never ours to use. */
			page_drop(&chan_page);
			page_drop(&lent_page);
			new_cookie();
			mappings_not_ours();
			if (tracer_pid > 0)
				prctl(PR_SET_PTRACER, (unsigned long)tracer_pid, 0, 0, 0);
		}
		chan_fd = -1;
	}
	if (lent_fd >= 0 && lent_pid == pid) {
		/* The parent of a vfork child, running again. */
		fd = lent_fd;
		lent_fd = -1;
		if (fd_is(fd, lent_ino)) {
			chan_fd = fd;
			chan_pid = pid;
			chan_ino = lent_ino;
			chan_page = lent_page;
			lent_page = NULL;
			return fd;
		}
		page_drop(&lent_page);
	}
	if (fork_mark)
		*fork_mark = 1;
	fd = connect_server(1);
	if (fd < 0)
		return -1;
	/* Keep it out of the way of programs that reuse low fd numbers. */
	high = real_fcntl(fd, F_DUPFD_CLOEXEC, CHANNEL_FD_FLOOR);
	if (high >= 0) {
		raw_close(fd);
		fd = high;
	}
	page = no_page ? NULL : page_create(&page_fd);
	memset(&h, 0, sizeof(h));
	h.magic = IEMU_MAGIC;
	h.version = IEMU_VERSION;
	h.kind = IEMU_KIND_CHANNEL;
	h.pid = (uint32_t)pid;
	h.tid = (uint32_t)self_tid(pid);
	h.ino = image_cookie;
	h.oflags = page ? (uint32_t)page_fd : IEMU_NO_PAGE;
	ok = write_all(fd, &h, sizeof(h)) == 0 && read_all(fd, &r, sizeof(r)) == 0 && r.magic == IEMU_MAGIC;
	/* The server has its own copy of the memfd by now, if it took one. */
	if (page)
		raw_close(page_fd);
	if (page && (!ok || r.result < 0 || !(r.aux & IEMU_AUX_PAGE)))
		page_drop(&page);
	if (!ok) {
		raw_close(fd);
		errno = EIO;
		return -1;
	}
	if (r.result < 0) {
		raw_close(fd);
		if (r.result == -EPERM || r.result == -EACCES)
			fprintf(stderr,
				"iommufd-emu: the server cannot access this process's memory "
				"(/proc/%d/mem: %s); run it as the server's child or allow ptrace\n",
				pid, strerror(-r.result));
		errno = -r.result;
		return -1;
	}
	{
		struct stat st;
		chan_ino = raw_fstat(fd, &st) == 0 ? st.st_ino : 0;
	}
	chan_fd = fd;
	chan_pid = pid;
	chan_page = page;
	return fd;
}

/* A FILE or ADOPT connection; returns the fd (its inode in *ino, rdev in
 * *rdev) or -1 with errno. */
static int file_connect(uint16_t kind, int cloexec, uint32_t oflags, const void *body, uint32_t body_len, ino_t *ino,
			dev_t *rdev)
{
	struct iemu_hello h;
	struct iemu_reply r;
	struct stat st;
	int fd = connect_server(cloexec), e;

	if (fd < 0) {
		errno = ENODEV;
		return -1;
	}
	if (raw_fstat(fd, &st) < 0)
		goto io;
	memset(&h, 0, sizeof(h));
	h.magic = IEMU_MAGIC;
	h.version = IEMU_VERSION;
	h.kind = kind;
	h.pid = (uint32_t)self_pid();
	h.tid = (uint32_t)self_tid(h.pid);
	h.ino = st.st_ino;
	h.oflags = oflags;
	h.path_len = body_len;
	if (write_two(fd, &h, sizeof(h), body, body_len) < 0 || read_all(fd, &r, sizeof(r)) < 0 ||
	    r.magic != IEMU_MAGIC)
		goto io;
	if (r.result < 0) {
		raw_close(fd);
		errno = -r.result;
		return -1;
	}
	*ino = st.st_ino;
	*rdev = (dev_t)r.aux;
	return fd;
io:
	e = errno;
	raw_close(fd);
	errno = e == EPIPE ? EIO : e;
	return -1;
}

/* What a reply's records gave back besides the result. */
struct outcome {
	uint32_t aux;
	char *path; /* REC_PATH is copied here (NUL-terminated) when set */
	size_t path_size;
	int trap;   /* the reply had a REC_TRAP */
};

/* Carry out a reply's records (with `lock` held); returns the final result. */
static long apply_records(long ret, const unsigned char *p, size_t len, struct outcome *out)
{
	int made[8], nmade = 0, i;
	size_t o = 0;

	while (o + sizeof(struct iemu_rec) <= len) {
		struct iemu_rec rec;
		const unsigned char *payload;
		memcpy(&rec, p + o, sizeof(rec));
		payload = p + o + sizeof(rec);
		if (rec.size > len - o - sizeof(rec))
			break;
		o += sizeof(rec) + (((size_t)rec.size + 7) & ~(size_t)7);
		switch (rec.type) {
		case IEMU_REC_WRITE:
			if (vm_write(chan_pid, (uintptr_t)rec.addr, payload, rec.size) < 0) {
				maps_stale = 1;
				if (ret >= 0)
					ret = -EFAULT;
			}
			break;
		case IEMU_REC_NEWFD: {
			uint64_t token;
			ino_t ino;
			dev_t rdev;
			int32_t fdno;
			int fd;
			if (ret < 0 || rec.size < 8 || nmade == 8)
				break; /* not adopted: the server releases it */
			memcpy(&token, payload, 8);
			fd = file_connect(IEMU_KIND_ADOPT, rec.flags & IEMU_NEWFD_CLOEXEC, O_RDWR, &token, 8, &ino, &rdev);
			if (fd < 0) {
				ret = -(errno == ENODEV ? EMFILE : errno);
				break;
			}
			remember(ino, rdev);
			fd_mark(fd, FD_EMU, ino);
			made[nmade++] = fd;
			fdno = fd;
			if (rec.flags & IEMU_NEWFD_RESULT)
				ret = fd;
			else if (vm_write(chan_pid, (uintptr_t)rec.addr, &fdno, sizeof(fdno)) < 0)
				ret = -EFAULT;
			break;
		}
		case IEMU_REC_TRAP:
			if (out)
				out->trap = 1;
			break;
		case IEMU_REC_PATH:
			if (out && out->path && out->path_size > rec.size) {
				memcpy(out->path, payload, rec.size);
				out->path[rec.size] = 0;
			}
			break;
		}
	}
	if (ret < 0)
		for (i = 0; i < nmade; i++) {
			fd_forget(made[i]);
			raw_close(made[i]);
		}
	return ret;
}

/* One request/reply on the channel; returns the reply's result (or -errno)
 * after carrying out its records. */
static long transact(struct iemu_req *q, const void *ext, uint32_t ext_len, struct outcome *out)
{
	struct held sigs;
	struct iemu_reply r;
	/* The reply and small records arrive in one recv: we never read past our
	 * reply, since the server answers one request at a time. */
	union { struct iemu_reply r; unsigned char b[sizeof(struct iemu_reply) + 512]; } in;
	unsigned char *big = NULL, *recs;
	size_t got = 0;
	long ret;
	int fd, saved = errno;

	/* The caller may have asked the kernel who we are already. */
	if (!q->pid)
		q->pid = (uint32_t)self_pid();
	q->tid = (uint32_t)self_tid((pid_t)q->pid);
	q->ext_len = ext_len;
	take(&lock, &sigs);
	fd = channel((pid_t)q->pid);
	if (fd < 0) {
		ret = -(errno ? errno : EIO);
		goto out;
	}
	q->pid = (uint32_t)chan_pid;
	if (maps_stale) {
		q->op |= IEMU_REQ_MAPS_STALE;
		maps_stale = 0;
	}
	if (chan_page && sizeof(*q) + ext_len <= IEMU_PAGE_REQ_MAX) {
		int how = page_transact(chan_page, fd, q, ext, ext_len, &r);
		if (how < 0)
			goto broken;
		if (how > 0) {
			if (out)
				out->aux = r.aux;
			ret = apply_records(r.result, (unsigned char *)chan_page + IEMU_PAGE_REP + sizeof(r), r.ext_len, out);
			goto out;
		}
		/* The reply did not fit the page: it comes on the socket. */
	} else if (write_two(fd, q, sizeof(*q), ext, ext_len) < 0)
		goto broken;
	while (got < sizeof(r)) {
		ssize_t n = recv(fd, in.b + got, sizeof(in.b) - got, 0);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			poll(&pfd, 1, -1);
			continue;
		}
		goto broken;
	}
	memcpy(&r, in.b, sizeof(r));
	if (r.magic != IEMU_MAGIC || got > sizeof(r) + r.ext_len)
		goto broken;
	recs = in.b + sizeof(r);
	if (r.ext_len > sizeof(in.b) - sizeof(r)) {
		big = malloc(r.ext_len);
		if (!big)
			goto broken; /* cannot take the records: drop the channel (the server cleans up) */
		memcpy(big, recs, got - sizeof(r));
		recs = big;
	}
	if (got - sizeof(r) < r.ext_len &&
	    read_all(fd, recs + (got - sizeof(r)), r.ext_len - (got - sizeof(r))) < 0)
		goto broken;
	if (out)
		out->aux = r.aux;
	ret = apply_records(r.result, recs, r.ext_len, out);
	goto out;
broken:
	/* The server went away mid-request; the next call reconnects. (Close
	 * the number only while it is still our channel.) */
	if (fd_is(fd, chan_ino))
		raw_close(fd);
	chan_fd = -1;
	page_drop(&chan_page);
	ret = -EIO;
out:
	give(&lock, &sigs);
	free(big);
	/* The result carries any error: errno stays as the program had it. */
	errno = saved;
	return ret;
}

static void req_init(struct iemu_req *q, uint32_t op, ino_t ino)
{
	memset(q, 0, offsetof(struct iemu_req, inline_data) + 32);
	q->op = op;
	q->ino = (uint64_t)ino;
}

static long ret_errno(long ret)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/* ---- fork: mappings and the channel ---- */

static void mappings_after_fork(void);
static pthread_mutex_t traplock;
static void exec_closed_wait(void);
static dev_t file_rdev(ino_t ino);

static void reset_after_fork(void)
{
	/* The child has one thread: the locks may have been held by another thread
	 * of the parent, and the channel is the parent's. */
	pthread_mutex_init(&lock, NULL);
	pthread_mutex_init(&maplock, NULL);
	pthread_mutex_init(&traplock, NULL);
	if (chan_fd >= 0)
		raw_close(chan_fd);
	chan_fd = -1;
	lent_fd = -1;
	/* Our copies of the parent's pages (MAP_SHARED survives fork). */
	page_drop(&chan_page);
	page_drop(&lent_page);
	if (fork_mark)
		*fork_mark = 1;
	new_cookie();
	if (active && tracer_pid > 0)
		prctl(PR_SET_PTRACER, (unsigned long)tracer_pid, 0, 0, 0);
	if (active && nmaps)
		mappings_after_fork();
}

static int parse_patterns(const char *env, struct pattern *out, int devices)
{
	char *copy = strdup(env), *save = NULL, *tok;
	int n = 0;
	if (!copy)
		return 0;
	for (tok = strtok_r(copy, ":", &save); tok && n < MAX_PATTERNS; tok = strtok_r(NULL, ":", &save)) {
		char *eq = devices ? strchr(tok, '=') : NULL;
		unsigned maj = 10, min = 0;
		if (eq) {
			*eq = 0;
			sscanf(eq + 1, "%u,%u", &maj, &min);
		}
		out[n].glob = strdup(tok);
		out[n].rdev = makedev(maj, min);
		out[n].chardev = eq != NULL;
		n++;
	}
	free(copy);
	return n;
}

/* "ROOT|PREFIX|PREFIX...": the tree's directory, then the absolute paths it stands for. */
static void parse_tree(const char *env)
{
	char *copy = strdup(env), *save = NULL, *tok;
	if (!copy)
		return;
	tok = strtok_r(copy, "|", &save);
	if (tok && tok[0] == '/' && strlen(tok) < sizeof(tree_root)) {
		strcpy(tree_root, tok);
		tree_root_len = strlen(tok);
		while ((tok = strtok_r(NULL, "|", &save)) && ntree < MAX_TREE) {
			size_t l = strlen(tok);
			while (l > 1 && tok[l - 1] == '/')
				tok[--l] = 0;
			if (tok[0] != '/' || l < 2 || !(tree[ntree].prefix = strdup(tok)))
				continue;
			tree[ntree++].len = l;
		}
	}
	free(copy);
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *sock = getenv("IOMMUFD_EMU_SOCKET");
	const char *paths = getenv("IOMMUFD_EMU_PATHS");
	const char *redir = getenv("IOMMUFD_EMU_REDIRECT");
	const char *state = getenv("IOMMUFD_EMU_STATE");
	const char *tracer = getenv("IOMMUFD_EMU_TRACER");
	const char *tree_env = getenv("IOMMUFD_EMU_TREE");
	const char *no_shm = getenv("IOMMUFD_EMU_NO_SHM");
	const char *foreign = getenv("IOMMUFD_EMU_FOREIGN");

	resolve();
	/* Nothing of our own about which paths are emulated: the server says. */
	if (!sock || !*sock || strlen(sock) >= sizeof(server_addr.sun_path) || !paths || !*paths)
		return;
	memset(&server_addr, 0, sizeof(server_addr));
	server_addr.sun_family = AF_UNIX;
	strcpy(server_addr.sun_path, sock);
	server_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sock) + 1);
	npatterns = parse_patterns(paths, patterns, 1);
	no_page = no_shm && *no_shm && strcmp(no_shm, "0") != 0;
	while (foreign && *foreign && nforeign < FOREIGN_MAX) {
		char *end;
		unsigned long req = strtoul(foreign, &end, 0);
		if (end == foreign || (*end && *end != ':'))
			break;
		foreign_req[nforeign++] = (uint32_t)req;
		foreign = *end ? end + 1 : end;
	}
	if (redir && *redir)
		nredirects = parse_patterns(redir, redirects, 0);
	if (tree_env && *tree_env)
		parse_tree(tree_env);
	if (state && *state && strlen(state) < sizeof(state_dir)) {
		strcpy(state_dir, state);
		state_dir_len = strlen(state);
	}
	if (tracer)
		tracer_pid = (pid_t)atoi(tracer);
	if (tracer_pid > 0)
		prctl(PR_SET_PTRACER, (unsigned long)tracer_pid, 0, 0, 0);
	new_cookie();
	fork_mark_init();
	pthread_atfork(NULL, NULL, reset_after_fork);
	active = 1;
	scan_fds();
	exec_closed_wait();
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
		n = sys_readlink(link, base, sizeof(base) - 1);
		if (n <= 0)
			return NULL;
		base[n] = 0;
	}
	if ((size_t)snprintf(buf, size, "%s/%s", strcmp(base, "/") ? base : "", path) >= size)
		return NULL;
	return buf;
}

/* (dirfd, path) as an absolute path with "//", "/./" and a trailing "/"
 * collapsed, in norm[PATH_MAX]; 0 when it cannot be emulated. */
static int normalize(int dirfd, const char *path, char *norm)
{
	char abs[PATH_MAX];
	const char *p;
	size_t o = 0;

	if (!active)
		return 0;
	p = absolute(dirfd, path, abs, sizeof(abs));
	if (!p || strlen(p) >= PATH_MAX)
		return 0;
	while (*p) {
		if (p[0] == '/' && (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || p[2] == 0)))) {
			p += p[1] == '/' ? 1 : 2;
			continue;
		}
		norm[o++] = *p++;
	}
	while (o > 1 && norm[o - 1] == '/')
		o--;
	norm[o] = 0;
	return 1;
}

static const struct pattern *match_norm(const char *norm)
{
	int i;
	for (i = 0; i < npatterns; i++)
		if (fnmatch(patterns[i].glob, norm, FNM_PATHNAME) == 0)
			return &patterns[i];
	return NULL;
}

static int is_redirect(const char *norm)
{
	int i;
	for (i = 0; i < nredirects; i++)
		if (fnmatch(redirects[i].glob, norm, 0) == 0)
			return 1;
	return 0;
}

/* A control path (fail-nth, debugfs): the server names the file standing for
 * it. 1 with `out` filled; 0 when `norm` is not one; -1 with errno. */
static int redirect_norm(const char *norm, char *out, size_t size)
{
	struct iemu_req q;
	struct outcome oc = { .path = out, .path_size = size };
	long ret;
	if (!nredirects || !is_redirect(norm))
		return 0;
	out[0] = 0;
	req_init(&q, IEMU_OP_RESOLVE, 0);
	ret = transact(&q, norm, (uint32_t)strlen(norm), &oc);
	if (ret < 0) {
		errno = (int)-ret == EIO ? ENOENT : (int)-ret;
		return -1;
	}
	if (!out[0]) {
		errno = ENOENT;
		return -1;
	}
	return 1;
}

/* A path the server's tree stands for: its file in the tree, in out. 1 when
 * `norm` is under a tree prefix (the file may not exist: then the real call
 * fails with ENOENT, as for any entry the machine does not have), 0 when not,
 * -1 with errno when the tree's path would be too long. */
static int tree_map(const char *norm, char *out, size_t size)
{
	int i;
	for (i = 0; i < ntree; i++) {
		size_t l = tree[i].len;
		if (strncmp(norm, tree[i].prefix, l) != 0 || (norm[l] != 0 && norm[l] != '/'))
			continue;
		if (tree_root_len + strlen(norm) >= size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(out, tree_root, tree_root_len);
		strcpy(out + tree_root_len, norm);
		return 1;
	}
	return 0;
}

/* (dirfd, path) as the file to use: the tree's when the path is under a
 * prefix (in buf, then 1), else 0; -1 with errno. */
static int tree_path(int dirfd, const char *path, char *buf, size_t size)
{
	char norm[PATH_MAX];
	if (!ntree || !normalize(dirfd, path, norm))
		return 0;
	return tree_map(norm, buf, size);
}

/* A path in the tree as the program should see it: tree_root taken off. */
static void tree_unmap(char *p)
{
	if (tree_root_len && strncmp(p, tree_root, tree_root_len) == 0 && p[tree_root_len] == '/')
		memmove(p, p + tree_root_len, strlen(p + tree_root_len) + 1);
	else if (tree_root_len && strcmp(p, tree_root) == 0)
		strcpy(p, "/");
}

static int in_state_dir(const char *norm)
{
	if (tree_root_len && strncmp(norm, tree_root, tree_root_len) == 0 &&
	    (norm[tree_root_len] == '/' || norm[tree_root_len] == 0))
		return 0; /* the machine's tree: plain files, not control files */
	return state_dir_len && strncmp(norm, state_dir, state_dir_len) == 0 && norm[state_dir_len] == '/';
}

/* A regular file under the server's state dir is a control file: writes set
 * it. Read-only ones (a /proc/<pid>/status copy, or the real file the server
 * passed a path through to) are plain files. */
static void mark_if_control(int fd)
{
	struct stat st;
	if (fd >= 0 && raw_fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IWUSR))
		fd_mark(fd, FD_CTL, st.st_ino);
}

/* open(2) of an emulated path: a FILE connection to the server. */
static int emu_open(const char *p, int flags)
{
	struct held sigs;
	ino_t ino;
	dev_t rdev;
	int fd, saved = errno;

	/* The channel first, so the server knows this process before its files. */
	take(&lock, &sigs);
	fd = channel(self_pid());
	give(&lock, &sigs);
	if (fd < 0) {
		errno = errno == ECONNREFUSED || errno == ENOENT ? ENODEV : errno;
		return -1;
	}
	fd = file_connect(IEMU_KIND_FILE, flags & O_CLOEXEC, (uint32_t)flags, p, (uint32_t)strlen(p), &ino, &rdev);
	if (fd < 0)
		return -1;
	take(&lock, &sigs);
	remember(ino, rdev);
	give(&lock, &sigs);
	fd_mark(fd, FD_EMU, ino);
	if (flags & O_NONBLOCK)
		real_fcntl(fd, F_SETFL, O_NONBLOCK);
	errno = saved;
	return fd;
}

static int wants_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* Every open: an emulated path, a control path, or the real file (marked
 * when it is one of the server's control files, e.g. openat relative to a
 * redirected /sys/kernel/debug). */
#define OPEN_BODY(dirfd, real_fn, ...)                                              \
	mode_t mode = 0;                                                            \
	char norm[PATH_MAX], target[PATH_MAX];                                      \
	int have, fd, r;                                                            \
	if (wants_mode(flags)) {                                                    \
		va_list ap;                                                         \
		va_start(ap, flags);                                                \
		mode = (mode_t)va_arg(ap, int);                                     \
		va_end(ap);                                                         \
	}                                                                           \
	have = normalize(dirfd, path, norm);                                        \
	if (have && match_norm(norm))                                               \
		return emu_open(norm, flags);                                       \
	if (have && (r = redirect_norm(norm, target, sizeof(target))) != 0) {       \
		if (r < 0)                                                          \
			return -1;                                                  \
		fd = real_open(target, flags, mode);                                \
		mark_if_control(fd);                                                \
		return fd;                                                          \
	}                                                                           \
	if (have && ntree && (r = tree_map(norm, target, sizeof(target))) != 0)     \
		return r < 0 ? -1 : real_open(target, flags, mode);                 \
	fd = real_fn(__VA_ARGS__);                                                  \
	if (have && fd >= 0 && in_state_dir(norm))                                  \
		mark_if_control(fd);                                                \
	return fd;

EXPORT int open(const char *path, int flags, ...)
{
	resolve();
	OPEN_BODY(AT_FDCWD, real_open, path, flags, mode)
}

EXPORT int open64(const char *path, int flags, ...)
{
	resolve();
	OPEN_BODY(AT_FDCWD, real_open64, path, flags, mode)
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	resolve();
	OPEN_BODY(dirfd, real_openat, dirfd, path, flags, mode)
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	resolve();
	OPEN_BODY(dirfd, real_openat64, dirfd, path, flags, mode)
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

static FILE *emu_fopen(const char *path, const char *mode, fopen_fn real)
{
	char norm[PATH_MAX], target[PATH_MAX];
	int flags = strchr(mode, '+') ? O_RDWR : mode[0] == 'r' ? O_RDONLY : O_WRONLY;
	int fd, r;
	FILE *f;

	if (!normalize(AT_FDCWD, path, norm))
		return real(path, mode);
	if (!match_norm(norm)) {
		r = redirect_norm(norm, target, sizeof(target));
		if (r < 0)
			return NULL;
		if (!r && ntree && (r = tree_map(norm, target, sizeof(target))) != 0)
			return r < 0 ? NULL : real(target, mode);
		f = real(r ? target : path, mode);
		if (f && (r || in_state_dir(norm)))
			mark_if_control(fileno(f));
		return f;
	}
	if (strchr(mode, 'e'))
		flags |= O_CLOEXEC;
	fd = emu_open(norm, flags);
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
	return emu_fopen(path, mode, real_fopen);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	resolve();
	return emu_fopen(path, mode, real_fopen64);
}

EXPORT DIR *opendir(const char *path)
{
	char norm[PATH_MAX], target[PATH_MAX];
	int r;
	resolve();
	if (!normalize(AT_FDCWD, path, norm))
		return real_opendir(path);
	r = redirect_norm(norm, target, sizeof(target));
	if (r == 0 && ntree)
		r = tree_map(norm, target, sizeof(target));
	if (r != 0)
		return r < 0 ? NULL : real_opendir(target);
	return real_opendir(path);
}

/* ---- the server's tree: readlink, realpath, scandir, chdir ---- */

typedef ssize_t (*readlink_fn)(const char *, char *, size_t);
typedef ssize_t (*readlinkat_fn)(int, const char *, char *, size_t);
typedef char *(*realpath_fn)(const char *, char *);
typedef char *(*canonicalize_fn)(const char *);
typedef int (*chdir_fn)(const char *);
typedef int (*scandir_fn)(const char *, struct dirent ***, int (*)(const struct dirent *),
			  int (*)(const struct dirent **, const struct dirent **));

/* The body of a wrapper whose `path` (relative to `dirfd`) may name a file
 * of the tree: `in_tree` calls the real function `name` of type `type` on
 * the tree's file (char target[]), `outside` on the path as given; a path
 * the tree refuses fails (-1, errno set). */
#define TREE_PATH_BODY(type, name, dirfd, in_tree, outside)                         \
	static type real;                                                           \
	char target[PATH_MAX];                                                      \
	int r;                                                                      \
	if (!real)                                                                  \
		real = (type)next_sym(name);                                        \
	if ((r = tree_path(dirfd, path, target, sizeof(target))) != 0)              \
		return r < 0 ? -1 : in_tree;                                        \
	return outside;

/* The tree's links are relative, so a link read there reads as the kernel's. */
EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
	TREE_PATH_BODY(readlink_fn, "readlink", AT_FDCWD, real(target, buf, size), real(path, buf, size))
}

EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	TREE_PATH_BODY(readlinkat_fn, "readlinkat", dirfd, real(AT_FDCWD, target, buf, size), real(dirfd, path, buf, size))
}

/* _FORTIFY_SOURCE entry points (a link read into a buffer of known size). */
typedef ssize_t (*readlink_chk_fn)(const char *, char *, size_t, size_t);
typedef ssize_t (*readlinkat_chk_fn)(int, const char *, char *, size_t, size_t);

EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t size, size_t buflen)
{
	TREE_PATH_BODY(readlink_chk_fn, "__readlink_chk", AT_FDCWD, real(target, buf, size, buflen),
		       real(path, buf, size, buflen))
}

EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t size, size_t buflen)
{
	TREE_PATH_BODY(readlinkat_chk_fn, "__readlinkat_chk", dirfd, real(AT_FDCWD, target, buf, size, buflen),
		       real(dirfd, path, buf, size, buflen))
}

/* glibc resolves links with its own internal calls: resolve in the tree,
 * then name the result as the program sees it (also for a relative path
 * from a working directory in the tree). */
static char *tree_realpath(const char *path, char *resolved, realpath_fn real)
{
	char target[PATH_MAX], *out;
	int r = tree_path(AT_FDCWD, path, target, sizeof(target));
	if (r < 0)
		return NULL;
	out = real(r ? target : path, resolved);
	if (out && ntree)
		tree_unmap(out);
	return out;
}

EXPORT char *realpath(const char *path, char *resolved)
{
	static realpath_fn real;
	if (!real)
		real = (realpath_fn)next_sym("realpath");
	return tree_realpath(path, resolved, real);
}

EXPORT char *canonicalize_file_name(const char *path)
{
	static realpath_fn real;
	if (!real)
		real = (realpath_fn)next_sym("realpath");
	return tree_realpath(path, NULL, real);
}

EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	static realpath_fn real;
	(void)resolvedlen; /* PATH_MAX or more: the caller's buffer was checked at build time */
	if (!real)
		real = (realpath_fn)next_sym("realpath");
	return tree_realpath(path, resolved, real);
}

#define SCANDIR_BODY(type, name) \
	TREE_PATH_BODY(type, name, AT_FDCWD, real(target, list, filter, compar), real(path, list, filter, compar))

EXPORT int scandir(const char *path, struct dirent ***list, int (*filter)(const struct dirent *),
		   int (*compar)(const struct dirent **, const struct dirent **))
{
	SCANDIR_BODY(scandir_fn, "scandir")
}

typedef int (*scandir64_fn)(const char *, struct dirent64 ***, int (*)(const struct dirent64 *),
			    int (*)(const struct dirent64 **, const struct dirent64 **));

EXPORT int scandir64(const char *path, struct dirent64 ***list, int (*filter)(const struct dirent64 *),
		     int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	SCANDIR_BODY(scandir64_fn, "scandir64")
}

/* Extended attributes (ls -l asks for ACLs and security labels): of the tree's file. */
typedef ssize_t (*getxattr_fn)(const char *, const char *, void *, size_t);
typedef ssize_t (*listxattr_fn)(const char *, char *, size_t);

#define XATTR_BODY(type, name, ...)                                                 \
	static type real;                                                           \
	char target[PATH_MAX];                                                      \
	int r;                                                                      \
	if (!real)                                                                  \
		real = (type)next_sym(name);                                        \
	if (!real) {                                                                \
		errno = ENOSYS;                                                     \
		return -1;                                                          \
	}                                                                           \
	if ((r = tree_path(AT_FDCWD, path, target, sizeof(target))) != 0) {         \
		if (r < 0)                                                          \
			return -1;                                                  \
		path = target;                                                      \
	}                                                                           \
	return real(__VA_ARGS__);

EXPORT ssize_t getxattr(const char *path, const char *name, void *value, size_t size)
{
	XATTR_BODY(getxattr_fn, "getxattr", path, name, value, size)
}

EXPORT ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	XATTR_BODY(getxattr_fn, "lgetxattr", path, name, value, size)
}

EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
	XATTR_BODY(listxattr_fn, "listxattr", path, list, size)
}

EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
	XATTR_BODY(listxattr_fn, "llistxattr", path, list, size)
}

/* A working directory in the tree: relative paths then resolve there. */
EXPORT int chdir(const char *path)
{
	TREE_PATH_BODY(chdir_fn, "chdir", AT_FDCWD, real(target), real(path))
}

/* ---- ioctl ---- */

/* The ioctls fs/ioctl.c's do_vfs_ioctl() answers itself, before the file's
 * own unlocked_ioctl: the same for every file of a kind, so the shim answers
 * them and the server never sees them. For a character device or an anon
 * inode file and for our socket (neither regular, both on a filesystem with
 * a page-sized block, no freeze, fiemap, uuid or sysfs name) they act the
 * same, so most run on the real fd, which also keeps FD_CLOEXEC and
 * O_NONBLOCK where fcntl() and exec look. The exceptions:
 *  - FIOASYNC: sockets have ->fasync, the emulated files do not: turning it
 *    on is ENOTTY, turning it off (no change) is 0, after reading the int.
 *  - FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR: the VFS reads the argument (EFAULT)
 *    and, as the inode has no fileattr_set, hands the call to the driver.
 *  - FS_IOC_GETFSUUID: the uuid of the file's filesystem. sockfs and anon
 *    inodes have none (ENOTTY); a character device node is on /dev's
 *    filesystem (devtmpfs has one): asked of /dev itself.
 *  - FIONREAD, FS_IOC_GETFLAGS, FS_IOC_FSGETXATTR go to the driver of a
 *    non-regular file: forwarded as any other ioctl. */
enum { VFS_DRIVER = 0, VFS_ON_SOCKET, VFS_FIOASYNC, VFS_READS_INT, VFS_READS_FSXATTR, VFS_FSUUID };

static int vfs_ioctl_kind(unsigned int cmd)
{
	switch (cmd) {
	case FIOCLEX:
	case FIONCLEX:
	case FIONBIO:
	case FIOQSIZE:
	case FIFREEZE:
	case FITHAW:
	case FS_IOC_FIEMAP:
	case FIGETBSZ:
	case FICLONE:
	case FICLONERANGE:
	case FIDEDUPERANGE:
	case FS_IOC_GETFSSYSFSPATH:
		return VFS_ON_SOCKET;
	case FS_IOC_GETFSUUID:
		return VFS_FSUUID;
	case FIOASYNC:
		return VFS_FIOASYNC;
	case FS_IOC_SETFLAGS:
		return VFS_READS_INT;
	case FS_IOC_FSSETXATTR:
		return VFS_READS_FSXATTR;
	default:
		return VFS_DRIVER;
	}
}


/* The first bytes at `arg` into q's inline window (0 when unreadable). */
static void read_inline(struct iemu_req *q, pid_t pid, unsigned long arg)
{
	if (arg >= 4096 && arg <= (unsigned long)-4096) {
		/* Safe on any value: a bad address reads short, never faults. */
		ssize_t n = vm_read(pid, q->inline_data, arg, IEMU_INLINE);
		if (n < 0 && errno == EFAULT) {
			/* The window crosses into an unmapped page: take what precedes it. */
			size_t part = 4096 - (arg & 4095);
			if (part < IEMU_INLINE)
				n = vm_read(pid, q->inline_data, arg, part);
		}
		q->inline_len = n > 0 ? (uint32_t)n : 0;
	}
}

static int is_foreign(unsigned long request)
{
	int i;
	for (i = 0; i < nforeign; i++)
		if (foreign_req[i] == (uint32_t)request)
			return 1;
	return 0;
}

/* One of IOMMUFD_EMU_FOREIGN on an fd that is not ours: the server answers,
 * or says it is the kernel's (and so does a server we cannot reach). */
static int foreign_ioctl(int fd, unsigned long request, unsigned long arg)
{
	struct iemu_req q;
	struct outcome out;
	pid_t pid = self_pid();
	int saved = errno;
	long ret;

	req_init(&q, IEMU_OP_FOREIGN, (ino_t)fd);
	q.pid = (uint32_t)pid;
	q.request = (uint32_t)request;
	q.arg = arg;
	read_inline(&q, pid, arg);
	memset(&out, 0, sizeof(out));
	out.aux = IEMU_AUX_KERNEL;
	errno = saved;
	ret = transact(&q, NULL, 0, &out);
	if (out.aux & IEMU_AUX_KERNEL)
		return real_ioctl(fd, request, arg);
	return (int)ret_errno(ret);
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	struct iemu_req q;
	va_list ap;
	unsigned long arg;
	ino_t ino;
	pid_t pid;
	int saved;

	resolve();
	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (!is_emulated_fd(fd, &ino)) {
		if (nforeign && fd >= 0 && is_foreign(request))
			return foreign_ioctl(fd, request, arg);
		return real_ioctl(fd, request, arg);
	}
	pid = self_pid();
	switch (vfs_ioctl_kind((unsigned int)request)) {
	case VFS_ON_SOCKET:
		return real_ioctl(fd, request, arg);
	case VFS_FIOASYNC: {
		int on;
		if (vm_read(pid, &on, arg, sizeof(on)) != (ssize_t)sizeof(on)) {
			errno = EFAULT;
			return -1;
		}
		if (on) {
			errno = ENOTTY;
			return -1;
		}
		return 0;
	}
	case VFS_FSUUID: {
		int dev, r, e;
		if (!file_rdev(ino))
			return real_ioctl(fd, request, arg);
		dev = real_open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dev < 0)
			return real_ioctl(fd, request, arg);
		r = real_ioctl(dev, request, arg);
		e = errno;
		raw_close(dev);
		errno = e;
		return r;
	}
	case VFS_READS_INT:
	case VFS_READS_FSXATTR: {
		unsigned char in[sizeof(struct fsxattr)];
		size_t need = vfs_ioctl_kind((unsigned int)request) == VFS_READS_INT ? sizeof(int) : sizeof(struct fsxattr);
		saved = errno;
		if (vm_read(pid, in, arg, need) != (ssize_t)need) {
			errno = EFAULT;
			return -1;
		}
		errno = saved;
		break;
	}
	default:
		break;
	}
	saved = errno;
	req_init(&q, IEMU_OP_IOCTL, ino);
	q.pid = (uint32_t)pid;
	q.request = (uint32_t)request;
	q.arg = arg;
	read_inline(&q, pid, arg);
	errno = saved;
	return (int)ret_errno(transact(&q, NULL, 0, NULL));
}

/* ---- read and write ---- */

/* After a READ/WRITE whose reply says the file stopped being readable. */
static void drain_wake(int fd, uint32_t aux)
{
	char c;
	int saved = errno;
	if (aux & IEMU_AUX_DRAIN)
		while (recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EINTR)
			;
	errno = saved;
}

/* read of an emulated file into `buf` (the server writes it as copy_to_user). */
static ssize_t emu_read(int fd, ino_t ino, void *buf, size_t len, off_t pos, int positional)
{
	struct iemu_req q;
	struct outcome oc = { 0 };
	long ret;
	if (positional && pos < 0) {
		errno = EINVAL;
		return -1;
	}
	req_init(&q, IEMU_OP_READ, ino);
	q.request = (uint32_t)(len > MAX_RW ? MAX_RW : len);
	q.arg = (uint64_t)(uintptr_t)buf;
	q.a[0] = (uint64_t)pos;
	q.a[1] = (uint64_t)positional; /* pread: the file must have a pread mode */
	ret = transact(&q, NULL, 0, &oc);
	drain_wake(fd, oc.aux);
	return ret_errno(ret);
}

/* write of an emulated file: its bytes travel with the request (the readable
 * prefix of them; the server faults on the rest as copy_from_user would). */
static ssize_t emu_write(int fd, ino_t ino, const void *buf, size_t len, off_t pos, int positional)
{
	struct iemu_req q;
	struct outcome oc = { 0 };
	unsigned char small[512], *data = small;
	ssize_t got = 0;

	small[0] = 0;
	long ret;

	if (positional && pos < 0) {
		errno = EINVAL;
		return -1;
	}
	if (len > MAX_WRITE)
		len = MAX_WRITE;
	if (len > sizeof(small) && !(data = malloc(len))) {
		errno = ENOMEM;
		return -1;
	}
	if (len) {
		struct iovec local = { data, len }, remote = { (void *)buf, len };
		int saved = errno;
		got = process_vm_readv(self_pid(), &local, 1, &remote, 1, 0);
		if (got < 0)
			got = 0;
		errno = saved;
	}
	req_init(&q, IEMU_OP_WRITE, ino);
	q.request = (uint32_t)len;
	q.arg = (uint64_t)(uintptr_t)buf;
	q.a[0] = (uint64_t)pos;
	q.a[1] = (uint64_t)positional; /* pwrite: the file must have a pwrite mode */
	ret = transact(&q, data, (uint32_t)got, &oc);
	drain_wake(fd, oc.aux);
	if (data != small)
		free(data);
	return ret_errno(ret);
}

/* A write to a control file sets its value, as the kernel's does: the file
 * becomes the written text (trailing whitespace trimmed) and a newline, and
 * the file position does not move. */
static ssize_t ctl_write(int fd, const void *buf, size_t len)
{
	char text[4097];
	struct iovec local = { text, len }, remote = { (void *)buf, len };
	size_t n = len;
	if (len > 4096)
		return real_pwrite(fd, buf, len, 0);
	if (len && process_vm_readv(self_pid(), &local, 1, &remote, 1, 0) != (ssize_t)len) {
		errno = EFAULT;
		return -1;
	}
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == 0))
		n--;
	text[n++] = '\n';
	if (ftruncate(fd, 0) < 0 || real_pwrite(fd, text, n, 0) != (ssize_t)n)
		return -1;
	return (ssize_t)len;
}

/* Gather iovecs into one buffer (process_vm_readv: EFAULT, never a fault). */
static void *gather(const struct iovec *iov, int cnt, size_t *total)
{
	size_t t = 0;
	void *buf;
	int i;
	for (i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	if (t > MAX_WRITE)
		t = MAX_WRITE;
	*total = t;
	buf = malloc(t ? t : 1);
	if (buf && t) {
		struct iovec local = { buf, t };
		if (process_vm_readv(self_pid(), &local, 1, iov, (unsigned long)cnt, 0) < 0) {
			free(buf);
			errno = EFAULT;
			return NULL;
		}
	}
	return buf;
}

static ssize_t emu_readv(int fd, ino_t ino, const struct iovec *iov, int cnt, off_t pos, int positional)
{
	size_t t = 0;
	ssize_t n;
	void *bounce;
	int i;
	if (cnt < 0 || cnt > IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	if (t > MAX_RW)
		t = MAX_RW;
	bounce = malloc(t ? t : 1);
	if (!bounce) {
		errno = ENOMEM;
		return -1;
	}
	n = emu_read(fd, ino, bounce, t, pos, positional);
	if (n > 0) {
		struct iovec local = { bounce, (size_t)n };
		if (process_vm_writev(self_pid(), &local, 1, iov, (unsigned long)cnt, 0) != n) {
			errno = EFAULT;
			n = -1;
		}
	}
	free(bounce);
	return n;
}

static ssize_t emu_writev(int fd, ino_t ino, const struct iovec *iov, int cnt, off_t pos, int positional, int ctl)
{
	size_t t;
	ssize_t n;
	void *buf;
	if (cnt < 0 || cnt > IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	buf = gather(iov, cnt, &t);
	if (!buf)
		return -1;
	n = ctl ? ctl_write(fd, buf, t) : emu_write(fd, ino, buf, t, pos, positional);
	free(buf);
	return n;
}

/* The bodies of the read and write families: an emulated file's fd goes to
 * the server (at `off_`, `pos_`: positional), the control fd takes writes,
 * any other fd the real function (`real_call`). A _chk entry point
 * (_FORTIFY_SOURCE) leaves a read into too small a buffer (`fits` false) to
 * the real function, which reports it. */
#define EMU_READ_BODY(fits, emu_call, real_call)                    \
	ino_t ino;                                                  \
	resolve();                                                  \
	if ((fits) && fd_kind(fd, &ino) == FD_EMU)                  \
		return emu_call;                                    \
	return real_call;

#define EMU_WRITE_BODY(emu_call, real_call)                         \
	ino_t ino;                                                  \
	int k;                                                      \
	resolve();                                                  \
	k = fd_kind(fd, &ino);                                      \
	if (k != FD_NONE)                                           \
		return emu_call;                                    \
	return real_call;

#define READ_BODY(fits, off_, pos_, real_call) EMU_READ_BODY(fits, emu_read(fd, ino, buf, len, off_, pos_), real_call)
#define READV_BODY(off_, pos_, real_call) EMU_READ_BODY(1, emu_readv(fd, ino, iov, cnt, off_, pos_), real_call)
#define WRITE_BODY(off_, pos_, real_call) \
	EMU_WRITE_BODY(k == FD_CTL ? ctl_write(fd, buf, len) : emu_write(fd, ino, buf, len, off_, pos_), real_call)
#define WRITEV_BODY(off_, pos_, real_call) EMU_WRITE_BODY(emu_writev(fd, ino, iov, cnt, off_, pos_, k == FD_CTL), real_call)

EXPORT ssize_t read(int fd, void *buf, size_t len) { READ_BODY(1, 0, 0, real_read(fd, buf, len)) }
EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	READ_BODY(len <= buflen, 0, 0, real_read_chk(fd, buf, len, buflen))
}
EXPORT ssize_t write(int fd, const void *buf, size_t len) { WRITE_BODY(0, 0, real_write(fd, buf, len)) }

EXPORT ssize_t pread(int fd, void *buf, size_t len, off_t off) { READ_BODY(1, off, 1, real_pread(fd, buf, len, off)) }
EXPORT ssize_t pread64(int fd, void *buf, size_t len, off_t off) { READ_BODY(1, off, 1, real_pread64(fd, buf, len, off)) }
EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t off) { WRITE_BODY(off, 1, real_pwrite(fd, buf, len, off)) }
EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	WRITE_BODY(off, 1, real_pwrite64(fd, buf, len, off))
}

EXPORT ssize_t __pread_chk(int fd, void *buf, size_t len, off_t off, size_t buflen)
{
	READ_BODY(len <= buflen, off, 1, real_pread_chk(fd, buf, len, off, buflen))
}
EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t len, off_t off, size_t buflen)
{
	READ_BODY(len <= buflen, off, 1, real_pread64_chk(fd, buf, len, off, buflen))
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt) { READV_BODY(0, 0, real_readv(fd, iov, cnt)) }
EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt) { WRITEV_BODY(0, 0, real_writev(fd, iov, cnt)) }
EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off) { READV_BODY(off, 1, real_preadv(fd, iov, cnt, off)) }
EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	READV_BODY(off, 1, real_preadv64(fd, iov, cnt, off))
}
EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	WRITEV_BODY(off, 1, real_pwritev(fd, iov, cnt, off))
}
EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	WRITEV_BODY(off, 1, real_pwritev64(fd, iov, cnt, off))
}

/* ---- mmap ---- */

/* Drop [start, end) from the mapping table; tell the server about each
 * mapping whose last piece went. */
static void forget_range(uintptr_t start, uintptr_t end)
{
	struct held sigs;
	uint32_t gone[MAX_MAPS];
	int ngone = 0, i, j;

	take(&maplock, &sigs);
	for (i = 0; i < nmaps; i++) {
		uintptr_t s = maps[i].start, e = maps[i].end;
		uint32_t id = maps[i].id;
		int left;
		if (e <= start || s >= end)
			continue;
		if (s < start && e > end && nmaps < MAX_MAPS) {
			/* A hole in the middle: two pieces of one mapping. */
			maps[nmaps] = maps[i];
			maps[nmaps].start = end;
			maps[nmaps].off += end - s;
			nmaps++;
			maps[i].end = start;
			continue;
		}
		if (s < start) {
			maps[i].end = start;
		} else if (e > end) {
			maps[i].start = end;
			maps[i].off += end - s;
		} else {
			maps[i] = maps[--nmaps];
			i--;
		}
		for (left = 0, j = 0; j < nmaps; j++)
			left |= maps[j].id == id;
		if (!left && id)
			gone[ngone++] = id;
	}
	give(&maplock, &sigs);
	for (i = 0; i < ngone; i++) {
		struct iemu_req q;
		req_init(&q, IEMU_OP_MUNMAP, 0);
		q.arg = gone[i];
		transact(&q, NULL, 0, NULL);
	}
}

/* fork(): before it returns in the parent, the server learns that the child
 * holds copies of our mappings (same ids, in the child's name). The child
 * opens its channel at once (reset_after_fork) so its exit is seen. */
EXPORT pid_t fork(void)
{
	struct held sigs;
	uint32_t ids[MAX_MAPS];
	int n = 0, i, j;
	pid_t child;

	resolve();
	child = real_fork();
	if (child <= 0 || !active || !nmaps)
		return child;
	take(&maplock, &sigs);
	for (i = 0; i < nmaps; i++) {
		if (!maps[i].id)
			continue;
		for (j = 0; j < n && ids[j] != maps[i].id; j++)
			;
		if (j == n)
			ids[n++] = maps[i].id;
	}
	give(&maplock, &sigs);
	for (i = 0; i < n; i++) {
		struct iemu_req q;
		int saved = errno;
		req_init(&q, IEMU_OP_MMAP_DUP, 0);
		q.arg = ids[i];
		q.a[0] = (uint64_t)child;
		transact(&q, NULL, 0, NULL);
		errno = saved;
	}
	return child;
}

/* A raw-fork child holds copies of its parent's mappings of emulated
 * files, but the server knows them only in the parent's name (OP_MMAP_DUP
 * comes from glibc's fork path): forget them here, so that our munmaps do
 * not speak for mappings we were never given. Trap pieces stay (their
 * loads and stores are reads and writes of a file the child holds too),
 * under id 0: no mapping of the server's. */
static void mappings_not_ours(void)
{
	int i, n = 0;
	for (i = 0; i < nmaps; i++)
		if (maps[i].trap) {
			maps[n] = maps[i];
			maps[n++].id = 0;
		}
	nmaps = n;
}

static void mappings_after_fork(void)
{
	struct held sigs;
	int saved = errno;
	take(&lock, &sigs);
	channel(self_pid());
	give(&lock, &sigs);
	errno = saved;
}

/* ---- SIGSEGV stays deliverable ---- */

/* A program that blocks SIGSEGV (threads made with every signal blocked,
 * as QEMU and DPDK make theirs) would be killed by its first access to a
 * trap mapping: the kernel does not deliver a fault's signal to a blocked
 * handler. So SIGSEGV is never really blocked while the shim is active;
 * what the program believes is kept per thread (what its masks read back,
 * and a fault of its own then kills as it would have). */
static __thread int segv_masked;

typedef int (*sigmask_fn)(int, const sigset_t *, sigset_t *);
static sigmask_fn real_pthread_sigmask, real_sigprocmask;

static void resolve_sigmask(void)
{
	if (!real_pthread_sigmask) {
		real_sigprocmask = (sigmask_fn)next_sym("sigprocmask");
		real_pthread_sigmask = (sigmask_fn)next_sym("pthread_sigmask");
	}
}

/* pthread_sigmask without our interposition (returns an errno value). */
static int sigmask_raw(int how, const sigset_t *set, sigset_t *old)
{
	resolve_sigmask();
	return real_pthread_sigmask(how, set, old);
}

/* One call of `real` (pthread_sigmask: returns the error; sigprocmask:
 * -1 and errno), as an errno value or 0. */
static int sigmask_call(sigmask_fn real, int how, const sigset_t *set, sigset_t *old)
{
	int r = real(how, set, old);
	if (real == real_sigprocmask)
		return r == 0 ? 0 : errno;
	return r;
}

/* Returns 0 or an errno value, as pthread_sigmask. */
static int sigmask_common(sigmask_fn real, int how, const sigset_t *set, sigset_t *old)
{
	sigset_t s;
	int was = segv_masked, has = 0, r;

	if (!active)
		return sigmask_call(real, how, set, old);
	if (set) {
		if (how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
			return EINVAL;
		s = *set;
		has = sigismember(&s, SIGSEGV) == 1;
		sigdelset(&s, SIGSEGV);
		set = &s;
	}
	r = sigmask_call(real, how, set, old);
	if (r)
		return r;
	if (old && was)
		sigaddset(old, SIGSEGV);
	if (set && has)
		segv_masked = how != SIG_UNBLOCK;
	else if (set && how == SIG_SETMASK)
		segv_masked = 0;
	return 0;
}

EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	resolve_sigmask();
	return sigmask_common(real_pthread_sigmask, how, set, old);
}

EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	int r;
	resolve_sigmask();
	r = sigmask_common(real_sigprocmask, how, set, old);
	if (r) {
		errno = r;
		return -1;
	}
	return 0;
}

/* ---- trap mappings: loads and stores that are reads and writes ---- */

/* The address space of a trap mapping: no access, where the program asked
 * (a hint, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_32BIT) and nothing behind it. */
static void *trap_reserve(mmap_fn real, void *addr, size_t len, int flags)
{
	int keep = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_32BIT);
	return real(addr, len, PROT_NONE, keep | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

/* The program's own SIGSEGV action while ours is installed: what its
 * sigaction() and signal() calls set and read. */
static struct sigaction prog_segv;
static volatile int trap_installed;
static pthread_mutex_t traplock = PTHREAD_MUTEX_INITIALIZER;
/* A fault while this thread is already emulating one: not ours to handle. */
static __thread int in_trap;

/* One access of `size` bytes at `addr` of a trap piece: a READ or WRITE
 * frame on the channel, as pread/pwrite of the mapped file would be. */
static int trap_rw(uintptr_t addr, uint64_t *val, unsigned size, int store)
{
	struct held sigs;
	struct iemu_req q;
	uint64_t ino = 0, pos = 0, buf = 0;
	int i, found = 0;
	long ret;

	take(&maplock, &sigs);
	for (i = 0; i < nmaps; i++) {
		struct map *m = &maps[i];
		if (!m->trap || addr < m->start || addr >= m->end)
			continue;
		/* An access past the piece, or one its protection forbids,
		 * faults as it would on the real mapping. */
		if (addr + size <= m->end && (m->prot & (store ? PROT_WRITE : PROT_READ))) {
			ino = m->ino;
			pos = m->off + (addr - m->start);
			found = 1;
		}
		break;
	}
	give(&maplock, &sigs);
	if (!found)
		return -EFAULT;
	req_init(&q, store ? IEMU_OP_WRITE : IEMU_OP_READ, (ino_t)ino);
	q.request = size;
	q.arg = (uint64_t)(uintptr_t)&buf;
	q.a[0] = pos;
	q.a[1] = 1;
	q.a[2] = 1; /* the mapping's access, not a pread/pwrite */
	if (store)
		memcpy(&buf, val, size);
	ret = transact(&q, store ? &buf : NULL, store ? size : 0, NULL);
	if (ret < 0)
		return ret == -EFAULT ? -EIO : (int)ret;
	if (ret != (long)size)
		return -EIO;
	if (!store) {
		*val = 0;
		memcpy(val, &buf, size);
	}
	return 0;
}

/* A fault we do not handle goes where it would have gone without us: the
 * program's handler, or the default action (the instruction faults again
 * once we return, and the kernel kills with SIGSEGV). */
static void chain_segv(int sig, siginfo_t *si, void *ctx)
{
	struct sigaction a = prog_segv;
	sigset_t old, mask;

	/* A fault with SIGSEGV blocked (as the program sees it), or ignored,
	 * kills with the default action (the kernel's force_sig_fault). */
	if (segv_masked || (!(a.sa_flags & SA_SIGINFO) && (a.sa_handler == SIG_DFL || a.sa_handler == SIG_IGN))) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		real_sigaction(sig, &dfl, NULL);
		return;
	}
	if (a.sa_flags & SA_RESETHAND) {
		memset(&prog_segv, 0, sizeof(prog_segv));
		prog_segv.sa_handler = SIG_DFL;
	}
	/* The mask the kernel would have set for the program's handler. */
	mask = a.sa_mask;
	if (!(a.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	/* SIGSEGV itself stays open: the handler may touch a BAR too. */
	sigdelset(&mask, SIGSEGV);
	sigmask_raw(SIG_BLOCK, &mask, &old);
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, si, ctx);
	else
		a.sa_handler(sig);
	sigmask_raw(SIG_SETMASK, &old, NULL);
}

/* An access the device refused (memory decoding off, say): the kernel's
 * fault handler answers SIGBUS, at the faulting address. */
static void trap_sigbus(siginfo_t *fault, void *ctx)
{
	struct sigaction a;
	siginfo_t si;
	sigset_t set;

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_ADRERR;
	si.si_addr = fault->si_addr;
	if (real_sigaction(SIGBUS, NULL, &a) == 0 && (a.sa_flags & SA_SIGINFO) && a.sa_sigaction) {
		a.sa_sigaction(SIGBUS, &si, ctx);
		return;
	}
	if (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN) {
		a.sa_handler(SIGBUS);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.sa_handler = SIG_DFL;
	real_sigaction(SIGBUS, &a, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGBUS);
	sigmask_raw(SIG_UNBLOCK, &set, NULL);
	syscall(SYS_rt_tgsigqueueinfo, self_pid(), self_tid(self_pid()), SIGBUS, &si);
}

static void trap_handler(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno, r = 0;

	/* Not while this thread is in one of our round trips (a synchronous
	 * signal's handler touching a BAR then): its locks are not recursive. */
	if (!in_trap && !locks_held && si && si->si_code == SEGV_ACCERR) {
		in_trap = 1;
		r = trap_emulate((ucontext_t *)ctx, trap_rw);
		in_trap = 0;
	}
	errno = saved;
	if (r > 0)
		return;
	if (r < 0) {
		trap_sigbus(si, ctx);
		errno = saved;
		return;
	}
	chain_segv(sig, si, ctx);
	errno = saved;
}

/* Our SIGSEGV handler, from the first trap mapping on; whatever the program
 * had becomes its remembered action. */
static void trap_install(void)
{
	struct sigaction a;
	struct held sigs;

	if (trap_installed)
		return;
	take(&traplock, &sigs);
	if (!trap_installed) {
		memset(&a, 0, sizeof(a));
		a.sa_sigaction = trap_handler;
		a.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART;
		sigemptyset(&a.sa_mask);
		if (real_sigaction(SIGSEGV, &a, &prog_segv) == 0)
			trap_installed = 1;
	}
	give(&traplock, &sigs);
}

/* Before the program's first handler for an asynchronous signal is in
 * place: from now on our locks are held with signals blocked (take), and
 * whoever took one without blocking is waited out. */
static void note_handler(int sig, sighandler_t h)
{
	struct held sigs;
	if (sig <= 0 || sig >= NSIG || sync_signal(sig) || h == SIG_DFL || h == SIG_IGN || h == SIG_ERR)
		return;
	if (__atomic_load_n(&handlers_seen, __ATOMIC_SEQ_CST))
		return;
	__atomic_store_n(&handlers_seen, 1, __ATOMIC_SEQ_CST);
	if (locks_held)
		return; /* cannot happen: nothing of the program runs under our locks yet */
	take(&lock, &sigs);
	give(&lock, &sigs);
	take(&maplock, &sigs);
	give(&maplock, &sigs);
	take(&traplock, &sigs);
	give(&traplock, &sigs);
}

/* sigaction(SIGSEGV) while ours is installed sets and reads the program's. */
static int segv_action(const struct sigaction *act, struct sigaction *old)
{
	struct held sigs;
	take(&traplock, &sigs);
	if (old)
		*old = prog_segv;
	if (act)
		prog_segv = *act;
	give(&traplock, &sigs);
	return 0;
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction copy;
	resolve();
	if (act)
		note_handler(sig, act->sa_handler);
	if (sig == SIGSEGV && trap_installed)
		return segv_action(act, old);
	if (active && act && sigismember(&act->sa_mask, SIGSEGV) == 1) {
		/* A handler that blocks everything may still touch a BAR. */
		copy = *act;
		sigdelset(&copy.sa_mask, SIGSEGV);
		act = &copy;
	}
	return real_sigaction(sig, act, old);
}

EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

/* signal(): BSD semantics, as glibc's (SA_RESTART, the signal blocked in its handler). */
static sighandler_t segv_signal(sighandler_t h, int flags)
{
	struct sigaction a, old;
	memset(&a, 0, sizeof(a));
	a.sa_handler = h;
	a.sa_flags = flags;
	sigemptyset(&a.sa_mask);
	if (!(flags & SA_NODEFER))
		sigaddset(&a.sa_mask, SIGSEGV);
	segv_action(&a, &old);
	return old.sa_handler;
}

EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	resolve();
	note_handler(sig, h);
	if (sig == SIGSEGV && trap_installed)
		return segv_signal(h, SA_RESTART);
	return real_signal(sig, h);
}

EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return signal(sig, h);
}

/* System V semantics: the handler is reset and the signal not blocked. */
EXPORT sighandler_t __sysv_signal(int sig, sighandler_t h)
{
	struct sigaction a, old;
	resolve();
	note_handler(sig, h);
	if (sig == SIGSEGV && trap_installed)
		return segv_signal(h, SA_RESETHAND | SA_NODEFER);
	memset(&a, 0, sizeof(a));
	a.sa_handler = h;
	a.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&a.sa_mask);
	if (real_sigaction(sig, &a, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	return __sysv_signal(sig, h);
}

/* The other ways glibc offers to install a handler (they call its internal
 * sigaction, not ours). */
typedef sighandler_t (*sigset_fn)(int, sighandler_t);

EXPORT sighandler_t sigset(int sig, sighandler_t h)
{
	static sigset_fn real;
	if (!real)
		real = (sigset_fn)next_sym("sigset");
	note_handler(sig, h);
	return real(sig, h);
}

EXPORT sighandler_t ssignal(int sig, sighandler_t h)
{
	return signal(sig, h);
}

/* fclose and closedir close their fd inside glibc, past our close(). */
typedef int (*fclose_fn)(FILE *);
typedef int (*closedir_fn)(DIR *);

/* Forget the stream's fd `fd`, then close it through the real `name`. */
#define CLOSE_STREAM_BODY(type, name, stream, fd)                   \
	static type real;                                           \
	int fd_ = fd;                                               \
	if (!real)                                                  \
		real = (type)next_sym(name);                        \
	fd_forget(fd_);                                             \
	return real(stream);

EXPORT int fclose(FILE *f) { CLOSE_STREAM_BODY(fclose_fn, "fclose", f, fileno(f)) }
EXPORT int closedir(DIR *d) { CLOSE_STREAM_BODY(closedir_fn, "closedir", d, dirfd(d)) }

static void *emu_mmap(mmap_fn real, void *addr, size_t len, int prot, int flags, ino_t ino, off_t off)
{
	struct held sigs;
	char path[PATH_MAX];
	struct iemu_req q;
	struct outcome oc = { .path = path, .path_size = sizeof(path) };
	size_t plen = (len + 4095) & ~(size_t)4095;
	long id;
	void *p;
	int bfd, e;

	path[0] = 0;
	req_init(&q, IEMU_OP_MMAP, ino);
	q.arg = (uint64_t)off;
	q.a[0] = len;
	q.a[1] = (uint64_t)(unsigned)prot;
	q.a[2] = (uint64_t)(unsigned)flags;
	id = transact(&q, NULL, 0, &oc);
	if (id < 0) {
		errno = (int)-id;
		return MAP_FAILED;
	}
	if (oc.trap) {
		/* Registers: nothing backs them; every access faults to us. */
		bfd = -1;
		p = trap_reserve(real, addr, plen, flags);
	} else {
		bfd = real_open(path, O_RDWR | O_CLOEXEC);
		p = bfd < 0 ? MAP_FAILED : real(addr, plen, prot, flags, bfd, 0);
	}
	e = errno;
	if (bfd >= 0)
		raw_close(bfd);
	if (p == MAP_FAILED) {
		req_init(&q, IEMU_OP_MUNMAP, 0);
		q.arg = (uint64_t)id;
		transact(&q, NULL, 0, NULL);
		errno = e;
		return MAP_FAILED;
	}
	if (flags & MAP_FIXED)
		forget_range((uintptr_t)p, (uintptr_t)p + plen);
	take(&maplock, &sigs);
	if (nmaps < MAX_MAPS) {
		maps[nmaps].start = (uintptr_t)p;
		maps[nmaps].end = (uintptr_t)p + plen;
		maps[nmaps].id = (uint32_t)id;
		maps[nmaps].trap = oc.trap;
		maps[nmaps].prot = prot;
		maps[nmaps].ino = (uint64_t)ino;
		maps[nmaps].off = (uint64_t)off;
		nmaps++;
	} else if (oc.trap) {
		/* Nowhere to remember it: its accesses could not be carried out. */
		give(&maplock, &sigs);
		real_munmap(p, plen);
		req_init(&q, IEMU_OP_MUNMAP, 0);
		q.arg = (uint64_t)id;
		transact(&q, NULL, 0, NULL);
		errno = ENOMEM;
		return MAP_FAILED;
	}
	give(&maplock, &sigs);
	if (oc.trap)
		trap_install();
	return p;
}

static void *mmap_common(mmap_fn real, void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	ino_t ino;
	void *p;
	if (!(flags & MAP_ANONYMOUS) && fd_kind(fd, &ino) == FD_EMU)
		return emu_mmap(real, addr, len, prot, flags, ino, off);
	p = real(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && (flags & MAP_FIXED))
		maps_stale = 1;
	if (p != MAP_FAILED && (flags & MAP_FIXED) && nmaps)
		forget_range((uintptr_t)p, (uintptr_t)p + ((len + 4095) & ~(size_t)4095));
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	resolve();
	return mmap_common(real_mmap, addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	resolve();
	return mmap_common(real_mmap64, addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	int r;
	resolve();
	r = real_munmap(addr, len);
	if (r == 0)
		maps_stale = 1;
	if (r == 0 && nmaps)
		forget_range((uintptr_t)addr, (uintptr_t)addr + ((len + 4095) & ~(size_t)4095));
	return r;
}

/* The trap pieces in [start, end) keep no access whatever the program asks
 * for; the protection it asked for is what their loads and stores honour.
 * Only the rest of the range is really changed (never a window where a
 * piece is accessible). */
EXPORT int mprotect(void *addr, size_t len, int prot)
{
	struct held sigs;
	uintptr_t start = (uintptr_t)addr, end = start + ((len + 4095) & ~(size_t)4095), cur;
	int r = 0, i, any = 0;

	resolve();
	maps_stale = 1;
	if (!nmaps || !len || (start & 4095))
		return real_mprotect(addr, len, prot);
	take(&maplock, &sigs);
	for (i = 0; i < nmaps; i++) {
		struct map *m = &maps[i];
		uintptr_t s, e;
		if (!m->trap || m->end <= start || m->start >= end)
			continue;
		any = 1;
		s = m->start > start ? m->start : start;
		e = m->end < end ? m->end : end;
		/* Part of a piece: split it so each part has one protection. */
		if ((s > m->start || e < m->end) && nmaps + 2 > MAX_MAPS)
			continue;
		if (s > m->start) {
			maps[nmaps] = *m;
			maps[nmaps].end = s;
			nmaps++;
			m->off += s - m->start;
			m->start = s;
		}
		if (e < m->end) {
			maps[nmaps] = *m;
			maps[nmaps].start = e;
			maps[nmaps].off += e - m->start;
			nmaps++;
			m->end = e;
		}
		m->prot = prot;
	}
	/* The parts of [start, end) outside every trap piece. */
	for (cur = start; any && r == 0 && cur < end;) {
		uintptr_t next = end;
		int inside = 0;
		for (i = 0; i < nmaps; i++) {
			if (!maps[i].trap)
				continue;
			if (maps[i].start <= cur && cur < maps[i].end) {
				cur = maps[i].end;
				inside = 1;
				break;
			}
			if (maps[i].start > cur && maps[i].start < next)
				next = maps[i].start;
		}
		if (inside)
			continue;
		r = real_mprotect((void *)cur, next - cur, prot);
		cur = next;
	}
	give(&maplock, &sigs);
	return any ? r : real_mprotect(addr, len, prot);
}

/* mremap of a mapping of an emulated file moves its pieces with it. A trap
 * piece (the kernel's VM_PFNMAP | VM_DONTEXPAND) cannot grow: EFAULT. */
EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	struct held sigs;
	uintptr_t os = (uintptr_t)old, oe = os + ((old_len + 4095) & ~(size_t)4095);
	void *want = NULL, *p;
	va_list ap;
	int i;

	resolve();
	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	if (nmaps && new_len > old_len) {
		int trap = 0;
		take(&maplock, &sigs);
		for (i = 0; i < nmaps; i++)
			trap |= maps[i].trap && maps[i].start < oe && maps[i].end > os;
		give(&maplock, &sigs);
		if (trap) {
			errno = EFAULT;
			return MAP_FAILED;
		}
	}
	p = real_mremap(old, old_len, new_len, flags, want);
	if (p != MAP_FAILED)
		maps_stale = 1;
	if (p == MAP_FAILED || !nmaps)
		return p;
	{
		size_t nlen = (new_len + 4095) & ~(size_t)4095;
		/* A shrink dropped the tail. */
		if (os + nlen < oe) {
			forget_range(os + nlen, oe);
			oe = os + nlen;
		}
		if (p == old)
			return p;
		/* What the new range replaced (MREMAP_FIXED) is gone. */
		if (flags & MREMAP_FIXED)
			forget_range((uintptr_t)p, (uintptr_t)p + nlen);
		take(&maplock, &sigs);
		for (i = 0; i < nmaps; i++) {
			struct map *m = &maps[i];
			if (m->start < os || m->end > oe)
				continue;
			m->start = m->start - os + (uintptr_t)p;
			m->end = m->end - os + (uintptr_t)p;
		}
		give(&maplock, &sigs);
	}
	return p;
}

/* ---- close and dup: keep the fd table true ---- */

/* Closing an emulated fd may release the file; the server sees that on the
 * file's socket, with no order against our channel. So ask the server to
 * answer once it has: a close() is complete when it returns, as the kernel's
 * last fput is before the next syscall. Every way an fd goes (close, dup2 and
 * dup3 over it, close_range, closefrom, close-on-exec) ends here. Never
 * changes errno. */
static void file_closed(ino_t ino)
{
	struct iemu_req q;
	int saved = errno;
	req_init(&q, IEMU_OP_CLOSED, ino);
	transact(&q, NULL, 0, NULL);
	errno = saved;
}

EXPORT int close(int fd)
{
	ino_t ino;
	int r;
	resolve();
	/* Any fd, however it came (SCM_RIGHTS, inherited and never used): one
	 * fstat for an fd that is not in our table, a getpeername more for a
	 * socket we do not know. */
	if (!is_emulated_fd(fd, &ino)) {
		if (fd >= 0 && fd == chan_fd && chan_pid == self_pid()) {
			/* Not an fd the program opened (a loop closing every
			 * number, say): to it the number is free. */
			errno = EBADF;
			return -1;
		}
		fd_forget(fd);
		return real_close(fd);
	}
	fd_forget(fd);
	r = real_close(fd);
	if (r == 0)
		file_closed(ino);
	return r;
}

/* The program is about to put its own file at `fd`, which holds our
 * channel: move the channel out of the way first (the fd number is the
 * program's). Returns 1 when it moved (`fd` then holds a stale copy). */
static int spare_channel(int fd)
{
	struct held sigs;
	int moved = 0;
	take(&lock, &sigs);
	if (fd >= 0 && fd == chan_fd && chan_pid == self_pid()) {
		int to = real_fcntl(fd, F_DUPFD_CLOEXEC, CHANNEL_FD_FLOOR);
		chan_fd = to;
		moved = 1;
	}
	give(&lock, &sigs);
	return moved;
}

/* dup2/dup3 close what `to` held first, as close() would. */
static int dup_over(int fd, int to, int flags, int three)
{
	ino_t ino = 0;
	int was, moved, r, saved;
	was = fd != to && is_emulated_fd(to, &ino);
	moved = fd != to && spare_channel(to);
	r = three ? real_dup3(fd, to, flags) : real_dup2(fd, to);
	if (r < 0) {
		if (moved) {
			saved = errno;
			raw_close(to);
			errno = saved;
		}
		return r;
	}
	if (r != fd)
		fd_copy(fd, r);
	if (was)
		file_closed(ino);
	return r;
}

EXPORT int dup(int fd)
{
	int r;
	resolve();
	r = real_dup(fd);
	if (r >= 0)
		fd_copy(fd, r);
	return r;
}

EXPORT int dup2(int fd, int to)
{
	resolve();
	return dup_over(fd, to, 0, 0);
}

EXPORT int dup3(int fd, int to, int flags)
{
	resolve();
	return dup_over(fd, to, flags, 1);
}

/* ---- close_range, closefrom, exec: many fds at once ---- */

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#define MAX_CLOSING 256

struct linux_dirent64_ {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Call `fn` for each open fd in [first, last], from /proc/self/fd with raw
 * syscalls only (no malloc: this runs in vfork children and after fork in
 * threaded programs). Our channel is never passed. Returns -1 when the
 * directory cannot be read. */
static int each_fd(unsigned first, unsigned last, void (*fn)(int fd, void *ctx), void *ctx)
{
	char buf[4096];
	int saved = errno;
	int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;
	if (dir < 0) {
		errno = saved;
		return -1;
	}
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		long o = 0;
		while (o < n) {
			struct linux_dirent64_ *d = (struct linux_dirent64_ *)(buf + o);
			const char *c = d->d_name;
			unsigned long v = 0;
			o += d->d_reclen;
			if (*c < '0' || *c > '9')
				continue;
			while (*c >= '0' && *c <= '9')
				v = v * 10 + (unsigned long)(*c++ - '0');
			if (v < first || v > last || (int)v == dir || (int)v == chan_fd)
				continue;
			fn((int)v, ctx);
		}
	}
	raw_close(dir);
	errno = saved;
	return 0;
}

struct closing {
	ino_t ino[MAX_CLOSING];
	int n;
	int cloexec_only; /* collect only the fds marked close-on-exec */
};

static void collect_fd(int fd, void *ctx)
{
	struct closing *c = ctx;
	ino_t ino;
	int i;
	if (c->cloexec_only) {
		int fl = real_fcntl(fd, F_GETFD);
		if (fl < 0 || !(fl & FD_CLOEXEC))
			return;
	}
	if (!is_emulated_fd(fd, &ino))
		return;
	for (i = 0; i < c->n; i++)
		if (c->ino[i] == ino)
			return;
	if (c->n < MAX_CLOSING)
		c->ino[c->n++] = ino;
}

static int sys_close_range(unsigned first, unsigned last, unsigned flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

/* close_range(2) that leaves our channel where it is (it is not the
 * program's fd) and waits for the releases it caused, as close() does. */
static int emu_close_range(unsigned first, unsigned last, unsigned flags)
{
	struct closing c;
	unsigned i;
	int ch = chan_fd >= 0 && chan_pid == self_pid() ? chan_fd : -1, r;

	c.n = 0;
	c.cloexec_only = 0;
	if (first > last || !active)
		return sys_close_range(first, last, flags);
	/* Marking close-on-exec closes nothing now (exec will: see exec_env). */
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		each_fd(first, last, collect_fd, &c);
	if (ch < 0 || (unsigned)ch < first || (unsigned)ch > last || (flags & CLOSE_RANGE_CLOEXEC)) {
		r = sys_close_range(first, last, flags);
	} else {
		r = 0;
		if ((unsigned)ch > first)
			r = sys_close_range(first, (unsigned)ch - 1, flags);
		if (r == 0 && (unsigned)ch < last)
			r = sys_close_range((unsigned)ch + 1, last, flags);
		if (r == 0 && first == last && (flags & CLOSE_RANGE_UNSHARE))
			r = unshare(CLONE_FILES);
	}
	if (r != 0 || (flags & CLOSE_RANGE_CLOEXEC))
		return r;
	for (i = first; i <= last && i < FDTAB; i++)
		if ((int)i != ch)
			fd_forget((int)i);
	for (i = 0; i < (unsigned)c.n; i++)
		file_closed(c.ino[i]);
	return 0;
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	resolve();
	return emu_close_range(first, last, (unsigned)flags);
}

static void close_one(int fd, void *ctx)
{
	(void)ctx;
	close(fd);
}

EXPORT void closefrom(int lowfd)
{
	int saved;
	resolve();
	saved = errno;
	if (lowfd < 0)
		lowfd = 0;
	if (emu_close_range((unsigned)lowfd, ~0U, 0) != 0)
		each_fd((unsigned)lowfd, ~0U, close_one, NULL);
	errno = saved;
}

/* exec closes the close-on-exec fds once it cannot fail any more, and the
 * server then sees their files' sockets close with nothing to order that
 * against. Closing them ourselves before the exec would be wrong when it
 * fails (execvp tries each PATH entry; the fds must survive), so the new
 * image does what close() does: the exec wrappers name the files in
 * EXEC_CLOSED_ENV and the shim's constructor in the new image waits for each
 * release (OP_CLOSED) and removes the variable before main() runs. */
#define EXEC_CLOSED_ENV "IOMMUFD_EMU_EXEC_CLOSED"
#define EXEC_CLOSED_MAX 64

/* The environment for an exec: `envp` without any EXEC_CLOSED_ENV, plus one
 * naming the close-on-exec emulated files, in `out` (n + 2 slots). Returns
 * envp itself when there are none. */
static char *const *exec_env(char *const *envp, char **out, size_t slots, char *var, size_t varsize)
{
	struct closing c;
	size_t o = 0, len, k = 0;
	int i;

	if (!active)
		return envp;
	c.n = 0;
	c.cloexec_only = 1;
	each_fd(0, ~0U, collect_fd, &c);
	if (!c.n)
		return envp;
	len = (size_t)snprintf(var, varsize, "%s=", EXEC_CLOSED_ENV);
	for (i = 0; i < c.n && i < EXEC_CLOSED_MAX && len + 24 < varsize; i++)
		len += (size_t)snprintf(var + len, varsize - len, "%s%llu", i ? "," : "", (unsigned long long)c.ino[i]);
	for (; envp && envp[o]; o++)
		if (strncmp(envp[o], EXEC_CLOSED_ENV "=", sizeof(EXEC_CLOSED_ENV)) != 0 && k + 2 < slots)
			out[k++] = envp[o];
	out[k++] = var;
	out[k] = NULL;
	return out;
}

static size_t env_count(char *const *envp)
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	return n;
}

/* In a new image: wait for the releases the exec caused. */
static void exec_closed_wait(void)
{
	const char *v = getenv(EXEC_CLOSED_ENV);
	char copy[EXEC_CLOSED_MAX * 24];
	char *p, *save = NULL;
	if (!v)
		return;
	snprintf(copy, sizeof(copy), "%s", v);
	unsetenv(EXEC_CLOSED_ENV);
	for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		unsigned long long ino = strtoull(p, NULL, 10);
		if (ino)
			file_closed((ino_t)ino);
	}
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
static execve_fn real_execve, real_execvpe;
static fexecve_fn real_fexecve;
static execveat_fn real_execveat;

static void resolve_exec(void)
{
	if (!real_execve) {
		real_execvpe = (execve_fn)next_sym("execvpe");
		real_fexecve = (fexecve_fn)next_sym("fexecve");
		real_execveat = (execveat_fn)next_sym("execveat");
		real_execve = (execve_fn)next_sym("execve");
	}
}

/* Every exec: our symbols resolved, then env_, the environment it passes on
 * (`envp` and the emulated files it closes, EXEC_CLOSED_ENV). */
#define EXEC_ENV(envp)                                                                       \
	resolve();                                                                           \
	resolve_exec();                                                                      \
	size_t slots_ = env_count(envp) + 2;                                                 \
	char *slot_[slots_];                                                                 \
	char var_[sizeof(EXEC_CLOSED_ENV) + EXEC_CLOSED_MAX * 24];                          \
	char *const *env_ = exec_env(envp, slot_, slots_, var_, sizeof(var_))

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	EXEC_ENV(envp);
	return real_execve(path, argv, env_);
}

EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	EXEC_ENV(envp);
	return real_execvpe(file, argv, env_);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	EXEC_ENV(envp);
	return real_fexecve(fd, argv, env_);
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	EXEC_ENV(envp);
	if (!real_execveat)
		return (int)syscall(SYS_execveat, dirfd, path, argv, env_, flags);
	return real_execveat(dirfd, path, argv, env_, flags);
}

/* execl, execle, execlp: their arguments as an argv on the stack. */
#define ARGV_FROM_VA(arg, argv_, envp_out)                                  \
	size_t n_ = 1;                                                      \
	va_list ap_;                                                        \
	va_start(ap_, arg);                                                 \
	while (va_arg(ap_, char *))                                         \
		n_++;                                                       \
	va_end(ap_);                                                        \
	char *argv_[n_ + 1];                                                \
	argv_[0] = (char *)arg;                                             \
	va_start(ap_, arg);                                                 \
	for (size_t i_ = 1; i_ <= n_; i_++)                                 \
		argv_[i_] = va_arg(ap_, char *);                            \
	envp_out;                                                           \
	va_end(ap_)

EXPORT int execl(const char *path, const char *arg, ...)
{
	ARGV_FROM_VA(arg, av, (void)0);
	return execv(path, av);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	ARGV_FROM_VA(arg, av, (void)0);
	return execvp(file, av);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	ARGV_FROM_VA(arg, av, envp = va_arg(ap_, char *const *));
	return execve(path, av, envp);
}

static int fcntl_common(fcntl_fn real, int fd, int cmd, va_list ap)
{
	void *arg = va_arg(ap, void *);
	ino_t ino;
	int r;
	/* setfl() sets FASYNC only through ->fasync, which sockets have and
	 * the emulated files do not: O_ASYNC is ignored for them. */
	if (cmd == F_SETFL && ((uintptr_t)arg & O_ASYNC) && is_emulated_fd(fd, &ino))
		arg = (void *)((uintptr_t)arg & ~(uintptr_t)O_ASYNC);
	r = real(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		fd_copy(fd, r);
	return r;
}

#define FCNTL_BODY(real_fn)                                         \
	va_list ap;                                                 \
	int r;                                                      \
	resolve();                                                  \
	va_start(ap, cmd);                                          \
	r = fcntl_common(real_fn, fd, cmd, ap);                     \
	va_end(ap);                                                 \
	return r;

EXPORT int fcntl(int fd, int cmd, ...) { FCNTL_BODY(real_fcntl) }
EXPORT int fcntl64(int fd, int cmd, ...) { FCNTL_BODY(real_fcntl64) }

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

/* 1: answered (st filled or -1 in *ret); 0: the real call should run on
 * `path`, which may now name a control path's file in `target`. */
static int stat_path(int dirfd, const char **path, struct stat *st, char *target, int *redirected)
{
	char norm[PATH_MAX];
	const struct pattern *m;
	int r;
	*redirected = 0;
	if (!normalize(dirfd, *path, norm))
		return 0;
	m = match_norm(norm);
	if (m && m->chardev) {
		fake_stat(st, m->rdev, (ino_t)(1000 + (m - patterns)));
		return 1;
	}
	r = redirect_norm(norm, target, PATH_MAX);
	if (r == 0 && ntree)
		r = tree_map(norm, target, PATH_MAX);
	if (r < 0)
		return -1;
	if (r > 0) {
		*path = target;
		*redirected = 1;
	}
	return 0;
}

/* The device number of an emulated file (0: not a device node, e.g. a file
 * an ioctl made), asking the server when we do not know it. */
static dev_t file_rdev(ino_t ino)
{
	struct held sigs;
	dev_t rdev = 0;
	struct outcome oc = { 0 };
	int found;
	take(&lock, &sigs);
	found = lookup_known(ino, &rdev);
	give(&lock, &sigs);
	if (!found || rdev == 0) {
		struct iemu_req q;
		req_init(&q, IEMU_OP_FILE_INFO, ino);
		if (transact(&q, NULL, 0, &oc) >= 0)
			rdev = (dev_t)oc.aux;
		take(&lock, &sigs);
		remember(ino, rdev);
		give(&lock, &sigs);
	}
	return rdev;
}

static int stat_fd(int fd, struct stat *st)
{
	ino_t ino;
	if (!is_emulated_fd(fd, &ino))
		return 0;
	fake_stat(st, file_rdev(ino), ino);
	return 1;
}

#define STAT_BODY(real_fn)                                              \
	char target[PATH_MAX];                                          \
	int redirected, r;                                              \
	resolve();                                                      \
	r = stat_path(AT_FDCWD, &path, (struct stat *)st, target, &redirected); \
	if (r)                                                          \
		return r > 0 ? 0 : -1;                                  \
	return real_fn(path, (struct stat *)st);

EXPORT int stat(const char *path, struct stat *st) { STAT_BODY(real_stat) }
EXPORT int stat64(const char *path, struct stat64 *st) { STAT_BODY(real_stat64) }
EXPORT int lstat(const char *path, struct stat *st) { STAT_BODY(real_lstat) }
EXPORT int lstat64(const char *path, struct stat64 *st) { STAT_BODY(real_lstat64) }

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
	char target[PATH_MAX];
	int redirected, r;
	if ((flags & AT_EMPTY_PATH) && path && !*path)
		return stat_fd(dirfd, st) ? 0 : real(dirfd, path, st, flags);
	r = stat_path(dirfd, &path, st, target, &redirected);
	if (r)
		return r > 0 ? 0 : -1;
	return real(redirected ? AT_FDCWD : dirfd, path, st, flags);
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

/* statx (ls, coreutils): the same answers as stat. */
EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *stx)
{
	char target[PATH_MAX];
	struct stat st;
	int redirected, r;
	resolve();
	if (!real_statx) {
		errno = ENOSYS;
		return -1;
	}
	if ((flags & AT_EMPTY_PATH) && path && !*path) {
		if (!stat_fd(dirfd, &st))
			return real_statx(dirfd, path, flags, mask, stx);
	} else {
		r = stat_path(dirfd, &path, &st, target, &redirected);
		if (r < 0)
			return -1;
		if (r == 0)
			return real_statx(redirected ? AT_FDCWD : dirfd, path, flags, mask, stx);
	}
	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS;
	stx->stx_blksize = (uint32_t)st.st_blksize;
	stx->stx_nlink = (uint32_t)st.st_nlink;
	stx->stx_mode = (uint16_t)st.st_mode;
	stx->stx_ino = st.st_ino;
	stx->stx_rdev_major = major(st.st_rdev);
	stx->stx_rdev_minor = minor(st.st_rdev);
	stx->stx_dev_major = major(st.st_dev);
	stx->stx_dev_minor = minor(st.st_dev);
	return 0;
}

static int access_common(int dirfd, const char *path, int mode, int flags, int at)
{
	char norm[PATH_MAX], target[PATH_MAX];
	int r;
	if (normalize(dirfd, path, norm)) {
		if (match_norm(norm))
			return 0;
		r = redirect_norm(norm, target, sizeof(target));
		if (r == 0 && ntree)
			r = tree_map(norm, target, sizeof(target));
		if (r < 0)
			return -1;
		if (r > 0)
			return at ? real_faccessat(AT_FDCWD, target, mode, flags) : real_access(target, mode);
	}
	return at ? real_faccessat(dirfd, path, mode, flags) : real_access(path, mode);
}

EXPORT int access(const char *path, int mode)
{
	resolve();
	return access_common(AT_FDCWD, path, mode, 0, 0);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	resolve();
	return access_common(dirfd, path, mode, flags, 1);
}
