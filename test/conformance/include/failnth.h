/* SPDX-License-Identifier: MIT */
/*
 * failnth.h - fail-nth control for the sweep clients (fail_nth*.c, fail_sweep*.c):
 * the task's /proc/self/task/<tid>/fail-nth, armed before one call and
 * read back after it, and the debugfs knobs of the fault_attr directories.
 */
#ifndef IOMMUFD_EMU_FAILNTH_H
#define IOMMUFD_EMU_FAILNTH_H

#include "step.h"
#include <fcntl.h>
#include <sys/syscall.h>

static int nth_fd = -1;

static int write_file(const char *path, const char *val)
{
	int f = open(path, O_WRONLY), rc = 0;

	if (f < 0)
		return -errno;
	if (write(f, val, strlen(val)) < 0)
		rc = -errno;
	close(f);
	return rc;
}

/* Open this task's fail-nth; quiet the logs; count fail_iommufd only. */
static __attribute__((unused)) void failnth_open(void)
{
	char path[64];
	int rc;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	nth_fd = open(path, O_RDWR);
	step("open fail-nth", nth_fd < 0 ? -errno : 0, NULL);
	rc = write_file("/sys/kernel/debug/failslab/cache-filter", "Y");
	step("failslab/cache-filter = Y", rc, NULL);
	rc = write_file("/sys/kernel/debug/fail_page_alloc/min-order", "63");
	step("fail_page_alloc/min-order = 63", rc, NULL);
	write_file("/sys/kernel/debug/failslab/verbose", "0");
	write_file("/sys/kernel/debug/fail_iommufd/verbose", "0");
	write_file("/sys/kernel/debug/fail_page_alloc/verbose", "0");
}

/* From now on every slab allocation counts too, sleeping or not. */
static __attribute__((unused)) void failnth_failslab(int on)
{
	int rc = write_file("/sys/kernel/debug/failslab/cache-filter", on ? "N" : "Y");

	if (on)
		step("failslab/cache-filter = N", rc, NULL);
	rc = write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", on ? "N" : "Y");
	if (on)
		step("failslab/ignore-gfp-wait = N", rc, NULL);
}

static void arm(int n)
{
	char s[16];

	snprintf(s, sizeof(s), "%d", n);
	if (pwrite(nth_fd, s, strlen(s), 0) < 0)
		printf("arm %d: %s\n", n, errno_name(errno));
}

/* Disarm; returns 1 if the armed failure fired. */
static int disarm(void)
{
	char s[16] = { 0 };

	if (pread(nth_fd, s, sizeof(s) - 1, 0) < 0)
		printf("read fail-nth: %s\n", errno_name(errno));
	if (pwrite(nth_fd, "0", 1, 0) < 0)
		printf("disarm: %s\n", errno_name(errno));
	return s[0] == '0';
}

#endif /* IOMMUFD_EMU_FAILNTH_H */
