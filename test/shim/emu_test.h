/* The test-only emulated file /dev/emu-test of test/server-files.test.ts:
 * its ioctls (_IO('E', n)) drive the shim's generic features. */
#ifndef EMU_TEST_H
#define EMU_TEST_H
#include "common.h"
#include <sys/ioctl.h>

#define T_NEWFD _IO('E', 1)       /* arg: struct t_newfd; out: a queue fd at arg+4 */
#define T_PUSH _IO('E', 2)        /* arg: a value queued on the last queue */
#define T_STATS _IO('E', 3)       /* arg: struct t_stats (out) */
#define T_FAILNTH _IO('E', 4)     /* arg: n injection points (fail_iommufd); returns which failed */
#define T_FAILNTH_SLAB _IO('E', 5) /* same, failslab with mayWait */
#define T_PUSH_LATER _IO('E', 6)  /* arg: a value queued 100 ms later, from a timer */
#define T_REGION_SET _IO('E', 7)  /* arg: u32 stored at region offset 0 by the engine */
#define T_REGION_GET _IO('E', 8)  /* returns the u32 at region offset 8 */
#define T_DESTROY _IO('E', 9)     /* EBUSY while the region is mapped */

#define REGION_OFFSET 0x10000
#define REGION_LEN 4096

struct t_newfd { uint32_t fail_after; int32_t fd; };
struct t_stats { uint32_t released, responses; uint64_t last_response; uint32_t ctl_released, pad; };

static inline int open_test(void)
{
	int fd = open("/dev/emu-test", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("open: -1 %s\n", ename(errno));
		exit(1);
	}
	return fd;
}

static inline struct t_stats stats(int fd)
{
	struct t_stats s = { 0 };
	if (ioctl(fd, T_STATS, &s) < 0)
		printf("stats: -1 %s\n", ename(errno));
	return s;
}
#endif
