/*
 * peer.node: what the kernel says about the other end of a Unix socket, for
 * the server (Node has no getsockopt). It knows nothing of iommufd: a few
 * calls over plain file descriptors and shared memory.
 *
 *   peerCred(fd)    -> [pid, uid, gid]  (SO_PEERCRED, fixed at connect())
 *   peerPidfd(fd)   -> a pidfd of the peer process (SO_PEERPIDFD, Linux 6.5+;
 *                      else pidfd_open of the SO_PEERCRED pid), or -errno
 *   pidfdOpen(pid)  -> a pidfd of process pid, or -errno
 *   pidfdAlive(fd)  -> whether the process behind a pidfd has not exited
 *   pidfdGetfd(pidfd, fd) -> a copy of that process's fd `fd` (pidfd_getfd(2):
 *                      the same ptrace access as /proc/PID/mem), or -errno
 *   eventfdSignal(fd) -> add 1 to an eventfd's counter unless that would
 *                      block (the counter is full): 0, or -errno
 *   eventfdRead(fd)  -> take an eventfd's counter without blocking
 *                      (preadv2 RWF_NOWAIT, whatever the description's
 *                      O_NONBLOCK): the count (a Number), 0 when it was 0,
 *                      or -errno
 *   fdWatch(fd, cb)  -> call cb() on the event loop whenever fd is readable
 *                      (a uv_poll_t that does not keep the loop alive);
 *                      returns a handle for fdUnwatch(handle), which must
 *                      come before fd is closed
 *   shmMap(fd, len)  -> an ArrayBuffer over a MAP_SHARED mapping of the first
 *                      len bytes of fd, which must be a (tmpfs) memfd sealed against
 *                      shrinking (F_SEAL_SHRINK: its owner cannot truncate it
 *                      under us and turn our loads into SIGBUS) and at least
 *                      len bytes long; or -errno (EINVAL: not such a file).
 *                      The mapping goes when the buffer is collected.
 *   futexWake(ab, off) -> FUTEX_WAKE (shared: the mapping is another
 *                      process's too) on the 32-bit word at byte off of ab:
 *                      how many waiters woke, or -errno
 *
 * Errors of peerCred are thrown as Error with .code = errno name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static int arg_fd(napi_env env, napi_callback_info info, int *fd)
{
	size_t argc = 1;
	napi_value argv[1];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_value_int32(env, argv[0], fd) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected an integer");
		return -1;
	}
	return 0;
}

static napi_value throw_errno(napi_env env, const char *what, int err)
{
	napi_value msg, code, e;
	napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg);
	napi_create_error(env, NULL, msg, &e);
	napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &code);
	napi_set_named_property(env, e, "syscall", code);
	napi_create_int32(env, err, &code);
	napi_set_named_property(env, e, "errno", code);
	napi_throw(env, e);
	return NULL;
}

static napi_value peer_cred(napi_env env, napi_callback_info info)
{
	int fd;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	napi_value out, v;
	if (arg_fd(env, info, &fd))
		return NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
	napi_create_array_with_length(env, 3, &out);
	napi_create_int32(env, uc.pid, &v);
	napi_set_element(env, out, 0, v);
	napi_create_uint32(env, uc.uid, &v);
	napi_set_element(env, out, 1, v);
	napi_create_uint32(env, uc.gid, &v);
	napi_set_element(env, out, 2, v);
	return out;
}

static napi_value peer_pidfd(napi_env env, napi_callback_info info)
{
	int fd, pidfd;
	socklen_t len = sizeof(pidfd);
	napi_value out;
	if (arg_fd(env, info, &fd))
		return NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
		struct ucred uc;
		socklen_t ulen = sizeof(uc);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) < 0 || uc.pid <= 0)
			pidfd = -errno;
		else if ((pidfd = (int)syscall(SYS_pidfd_open, uc.pid, 0)) < 0)
			pidfd = -errno;
	}
	napi_create_int32(env, pidfd, &out);
	return out;
}

static napi_value pidfd_open(napi_env env, napi_callback_info info)
{
	int pid, pidfd;
	napi_value out;
	if (arg_fd(env, info, &pid))
		return NULL;
	pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : (errno = ESRCH, -1);
	napi_create_int32(env, pidfd < 0 ? -errno : pidfd, &out);
	return out;
}

static napi_value pidfd_alive(napi_env env, napi_callback_info info)
{
	int fd;
	napi_value out;
	if (arg_fd(env, info, &fd))
		return NULL;
	/* Signal 0 checks for existence: ESRCH once the process has exited. */
	napi_get_boolean(env, syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) == 0 || errno == EPERM, &out);
	return out;
}

static napi_value pidfd_getfd(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], out;
	int pidfd, fd, r;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
	    napi_get_value_int32(env, argv[0], &pidfd) != napi_ok ||
	    napi_get_value_int32(env, argv[1], &fd) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected two integers");
		return NULL;
	}
	r = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	napi_create_int32(env, r < 0 ? -errno : r, &out);
	return out;
}

static napi_value eventfd_signal(napi_env env, napi_callback_info info)
{
	int fd, r = 0;
	uint64_t one = 1;
	struct pollfd p;
	napi_value out;
	if (arg_fd(env, info, &fd))
		return NULL;
	/* The description may be blocking (it is the client's): write only when
	 * poll says a write of 1 fits, so a full counter never stalls us. */
	p.fd = fd;
	p.events = POLLOUT;
	p.revents = 0;
	if (poll(&p, 1, 0) < 0)
		r = -errno;
	else if (!(p.revents & POLLOUT))
		r = -EAGAIN;
	else if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		r = -errno;
	napi_create_int32(env, r, &out);
	return out;
}

static napi_value eventfd_read(napi_env env, napi_callback_info info)
{
	int fd;
	uint64_t v = 0;
	struct iovec iov = { &v, sizeof(v) };
	ssize_t n;
	napi_value out;
	if (arg_fd(env, info, &fd))
		return NULL;
	n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
	if (n == (ssize_t)sizeof(v))
		napi_create_double(env, (double)v, &out);
	else
		napi_create_int32(env, n < 0 && errno == EAGAIN ? 0 : n < 0 ? -errno : -EIO, &out);
	return out;
}

struct fd_watch {
	uv_poll_t poll;
	napi_env env;
	napi_ref cb;
	napi_async_context ctx;
};

static void watch_fired(uv_poll_t *h, int status, int events)
{
	struct fd_watch *w = h->data;
	napi_handle_scope scope;
	napi_value cb, recv, result;
	(void)status;
	(void)events;
	if (napi_open_handle_scope(w->env, &scope) != napi_ok)
		return;
	if (napi_get_reference_value(w->env, w->cb, &cb) == napi_ok && cb &&
	    napi_get_global(w->env, &recv) == napi_ok) {
		if (napi_make_callback(w->env, w->ctx, recv, cb, 0, NULL, &result) != napi_ok) {
			napi_value e;
			napi_get_and_clear_last_exception(w->env, &e);
		}
	}
	napi_close_handle_scope(w->env, scope);
}

static void watch_closed(uv_handle_t *h)
{
	struct fd_watch *w = h->data;
	napi_delete_reference(w->env, w->cb);
	napi_async_destroy(w->env, w->ctx);
	free(w);
}

static napi_value fd_watch(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], name, out;
	struct uv_loop_s *loop;
	struct fd_watch *w;
	int fd;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
	    napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected an fd and a function");
		return NULL;
	}
	if (napi_get_uv_event_loop(env, &loop) != napi_ok || !(w = calloc(1, sizeof(*w))))
		return throw_errno(env, "fdWatch", ENOMEM);
	w->env = env;
	napi_create_reference(env, argv[1], 1, &w->cb);
	napi_create_string_utf8(env, "fdWatch", NAPI_AUTO_LENGTH, &name);
	napi_async_init(env, NULL, name, &w->ctx);
	if (uv_poll_init(loop, &w->poll, fd) != 0) {
		napi_delete_reference(env, w->cb);
		napi_async_destroy(env, w->ctx);
		free(w);
		return throw_errno(env, "uv_poll_init", EBADF);
	}
	w->poll.data = w;
	uv_unref((uv_handle_t *)&w->poll);
	uv_poll_start(&w->poll, UV_READABLE, watch_fired);
	napi_create_external(env, w, NULL, NULL, &out);
	return out;
}

static napi_value fd_unwatch(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct fd_watch *w = NULL;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_value_external(env, argv[0], (void **)&w) != napi_ok || !w) {
		napi_throw_type_error(env, NULL, "expected a watch handle");
		return NULL;
	}
	uv_poll_stop(&w->poll);
	uv_close((uv_handle_t *)&w->poll, watch_closed);
	return NULL;
}

static void shm_unmap(napi_env env, void *data, void *hint)
{
	(void)env;
	munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value shm_map(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], out;
	int fd, len, seals;
	struct stat st;
	struct statfs sf;
	void *p;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
	    napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &len) != napi_ok ||
	    len <= 0) {
		napi_throw_type_error(env, NULL, "expected an fd and a length");
		return NULL;
	}
	/* Only a file that can never shrink below what we map, of ordinary
	 * shared memory (not hugetlbfs, whose pages may run out). */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < len ||
	    fstatfs(fd, &sf) < 0 || sf.f_type != TMPFS_MAGIC) {
		napi_create_int32(env, -EINVAL, &out);
		return out;
	}
	p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		napi_create_int32(env, -errno, &out);
		return out;
	}
	if (napi_create_external_arraybuffer(env, p, (size_t)len, shm_unmap, (void *)(uintptr_t)len, &out) != napi_ok) {
		munmap(p, (size_t)len);
		napi_create_int32(env, -ENOMEM, &out);
		return out;
	}
	{
		int64_t adjusted;
		napi_adjust_external_memory(env, len, &adjusted);
	}
	return out;
}

static napi_value futex_wake(napi_env env, napi_callback_info info)
{
	size_t argc = 2, len = 0;
	napi_value argv[2], out;
	void *data = NULL;
	uint32_t off;
	long r;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
	    napi_get_arraybuffer_info(env, argv[0], &data, &len) != napi_ok ||
	    napi_get_value_uint32(env, argv[1], &off) != napi_ok || (off & 3) || (size_t)off + 4 > len) {
		napi_throw_type_error(env, NULL, "expected an ArrayBuffer and an aligned offset in it");
		return NULL;
	}
	r = syscall(SYS_futex, (uint32_t *)((char *)data + off), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	napi_create_int32(env, r < 0 ? -errno : (int32_t)r, &out);
	return out;
}

/* What the module exports: JavaScript name, native function. */
static const struct {
	const char *name;
	napi_callback fn;
} EXPORTS[] = {
	{ "peerCred", peer_cred },
	{ "peerPidfd", peer_pidfd },
	{ "pidfdOpen", pidfd_open },
	{ "pidfdAlive", pidfd_alive },
	{ "pidfdGetfd", pidfd_getfd },
	{ "eventfdSignal", eventfd_signal },
	{ "eventfdRead", eventfd_read },
	{ "fdWatch", fd_watch },
	{ "fdUnwatch", fd_unwatch },
	{ "shmMap", shm_map },
	{ "futexWake", futex_wake },
};

NAPI_MODULE_INIT()
{
	for (size_t i = 0; i < sizeof(EXPORTS) / sizeof(EXPORTS[0]); i++) {
		napi_value fn;
		napi_create_function(env, EXPORTS[i].name, NAPI_AUTO_LENGTH, EXPORTS[i].fn, NULL, &fn);
		napi_set_named_property(env, exports, EXPORTS[i].name, fn);
	}
	return exports;
}
