/*
 * peer.node: what the kernel says about the other end of a Unix socket, for
 * the server (Node has no getsockopt). It knows nothing of iommufd: three
 * calls over plain file descriptors.
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
 *
 * Errors of peerCred are thrown as Error with .code = errno name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <node_api.h>

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

NAPI_MODULE_INIT()
{
	napi_value fn;
	napi_create_function(env, "peerCred", NAPI_AUTO_LENGTH, peer_cred, NULL, &fn);
	napi_set_named_property(env, exports, "peerCred", fn);
	napi_create_function(env, "peerPidfd", NAPI_AUTO_LENGTH, peer_pidfd, NULL, &fn);
	napi_set_named_property(env, exports, "peerPidfd", fn);
	napi_create_function(env, "pidfdOpen", NAPI_AUTO_LENGTH, pidfd_open, NULL, &fn);
	napi_set_named_property(env, exports, "pidfdOpen", fn);
	napi_create_function(env, "pidfdAlive", NAPI_AUTO_LENGTH, pidfd_alive, NULL, &fn);
	napi_set_named_property(env, exports, "pidfdAlive", fn);
	napi_create_function(env, "pidfdGetfd", NAPI_AUTO_LENGTH, pidfd_getfd, NULL, &fn);
	napi_set_named_property(env, exports, "pidfdGetfd", fn);
	napi_create_function(env, "eventfdSignal", NAPI_AUTO_LENGTH, eventfd_signal, NULL, &fn);
	napi_set_named_property(env, exports, "eventfdSignal", fn);
	return exports;
}
