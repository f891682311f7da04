/* SPDX-License-Identifier: MIT */
/*
 * step.h - one deterministic output line per step for conformance clients.
 *
 *   LABEL: ok [FIELDS]        the call returned 0
 *   LABEL: ret=N [FIELDS]     the call returned N > 0
 *   LABEL: ENAME [FIELDS]     the call failed with errno ENAME
 *
 * Never print pointers, user VAs, pids or timings: the output of a client is
 * compared line by line between the real kernel and the emulator.
 */
#ifndef IOMMUFD_EMU_STEP_H
#define IOMMUFD_EMU_STEP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>

static inline const char *errno_name(int e)
{
	static char other[16];

	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENODEV: return "ENODEV";
	case ENOTDIR: return "ENOTDIR";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case ERANGE: return "ERANGE";
	case EDEADLK: return "EDEADLK";
	case ENOSYS: return "ENOSYS";
	case ENOLINK: return "ENOLINK";
	case EBADE: return "EBADE";
	case EOVERFLOW: return "EOVERFLOW";
	case EBADFD: return "EBADFD";
	case EMSGSIZE: return "EMSGSIZE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EADDRINUSE: return "EADDRINUSE";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EALREADY: return "EALREADY";
	default:
		snprintf(other, sizeof(other), "E#%d", e);
		return other;
	}
}

/* ioctl that returns its result, or -errno; errno is preserved. */
static inline int xioctl(int fd, unsigned long req, void *arg)
{
	int rc = ioctl(fd, req, arg);

	return rc < 0 ? -errno : rc;
}

/* ioctl whose argument is a plain value (VFIO_CHECK_EXTENSION, ...) */
static inline int xioctl_val(int fd, unsigned long req, unsigned long val)
{
	int rc = ioctl(fd, req, val);

	return rc < 0 ? -errno : rc;
}

/* Result part of a line: "ok", "ret=N" or the errno name. */
static inline const char *rc_str(int rc)
{
	static char buf[24];

	if (rc == 0)
		return "ok";
	if (rc > 0) {
		snprintf(buf, sizeof(buf), "ret=%d", rc);
		return buf;
	}
	return errno_name(-rc);
}

/*
 * Print one step. fmt (may be NULL) adds out-fields after the result; it is
 * printed whatever the result, so pass NULL when the fields are meaningless on
 * failure (or use step_ok, which prints them only on success).
 */
static inline void step(const char *label, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void step(const char *label, int rc, const char *fmt, ...)
{
	va_list ap;

	printf("%s: %s", label, rc_str(rc));
	if (fmt && *fmt) {
		putchar(' ');
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	fflush(stdout);
}

/* Like step(), but the fields are printed only when rc >= 0. */
static inline void step_ok(const char *label, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void step_ok(const char *label, int rc, const char *fmt, ...)
{
	va_list ap;

	printf("%s: %s", label, rc_str(rc));
	if (rc >= 0 && fmt && *fmt) {
		putchar(' ');
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	fflush(stdout);
}

/* A free-form line (section titles, values computed by the client). */
static inline void note(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Label built with printf formatting, for use as step()'s first argument. */
static inline const char *L(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline const char *L(const char *fmt, ...)
{
	static char bufs[4][256];
	static int next;
	char *b = bufs[next++ & 3];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

#define BUF_ALIGN (2UL << 20)

/*
 * Anonymous private memory, aligned to 2 MiB (so the kernel's automatic IOVA
 * alignment does not depend on where mmap put it), populated page by page,
 * with THP off so every page is a plain 4 KiB page. Exits on failure (that
 * is a broken test machine, not a result).
 */
static inline void *buf_alloc(size_t len)
{
	size_t span = len + BUF_ALIGN;
	char *raw, *p;
	size_t off;

	/*
	 * No transparent huge pages in this process: MD_CHECK_REFS skips
	 * compound pages, and the oracle's tiny kernel has THP "always" but no
	 * madvise() (CONFIG_ADVISE_SYSCALLS=n), so use the prctl.
	 */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (raw == MAP_FAILED) {
		printf("buf_alloc: mmap failed (%s)\n", errno_name(errno));
		exit(1);
	}
	p = (char *)(((uintptr_t)raw + BUF_ALIGN - 1) & ~(BUF_ALIGN - 1));
	if (p > raw)
		munmap(raw, p - raw);
	if ((size_t)(raw + span - (p + len)) > 0)
		munmap(p + len, raw + span - (p + len));
	madvise(p, len, MADV_NOHUGEPAGE);
	for (off = 0; off < len; off += 4096)
		p[off] = (char)(off >> 12) | 1;
	return p;
}

static inline void buf_free(void *p, size_t len)
{
	munmap(p, len);
}

#endif /* IOMMUFD_EMU_STEP_H */
