// Fault injection sweep (/proc/self/task/<tid>/fail-nth): fail the Nth
// injection point of a short iommufd sequence for N = 1, 2, ... until the
// sequence runs clean; every failure must unwind completely. Sweep 1 uses
// only the iommufd injection points (fail_iommufd; failslab and
// fail_page_alloc are filtered out so the count does not depend on slab
// state); sweep 2 also fails slab allocations, for IOAS_ALLOC alone.
// platform: mock
#include "step.h"
#include "iofd.h"
#include "failnth.h"

#define PG 0x1000ULL

static char *buf;

static int page_pins_probe(void)
{
	int fd = iofd_open(), r = page_pins(fd, buf);

	close(fd);
	return r;
}

/*
 * The sequence under test. Prints one compact line: the result of each step
 * (a step is skipped, "-", once an earlier one failed).
 */
static int sequence(int n)
{
	int fd = iofd_open(), rc, failed = 0, fired;
	__u32 ioas = 0, stdev = 0, hwpt = 0;
	__u64 iova = 0x1000000;
	char line[256];
	int len = 0;

#define RUN(name, expr)                                                       \
	do {                                                                  \
		if (failed) {                                                 \
			len += snprintf(line + len, sizeof(line) - len,       \
					" %s=-", name);                       \
			break;                                                \
		}                                                             \
		rc = (expr);                                                  \
		len += snprintf(line + len, sizeof(line) - len, " %s=%s",     \
				name, rc_str(rc));                            \
		if (rc)                                                       \
			failed = 1;                                           \
	} while (0)

	if (n)
		arm(n);
	RUN("ioas_alloc", ioas_alloc(fd, &ioas));
	RUN("map", ioas_map(fd, ioas, MAP_FIXED_RW, buf, 8 * PG, &iova));
	RUN("mock_domain", mock_domain(fd, ioas, 0, &stdev, &hwpt, NULL));
	iova = 0x1100000;
	RUN("map2", ioas_map(fd, ioas, MAP_FIXED_RW, buf, 4 * PG, &iova));
	RUN("check_map", check_map(fd, hwpt, 0x1000000, 8 * PG, buf));
	RUN("unmap", ioas_unmap(fd, ioas, 0x1000000, 8 * PG, NULL));
	RUN("destroy_stdev", obj_destroy(fd, stdev));
	fired = n ? disarm() : 0;
	close(fd);
	printf("nth=%d:%s fired=%s pins_after_close=%d\n", n, line,
	       fired ? "yes" : "no", page_pins_probe());
	fflush(stdout);
	return fired;
#undef RUN
}

int main(void)
{
	int n, rc;

	buf = buf_alloc(16 * PG);
	/*
	 * Sweep 1 counts only fail_iommufd: failslab filtered to caches that
	 * ask for it (none do), page allocations only above order 63.
	 */
	failnth_open();

	note("sweep 1: iommufd injection points");
	for (n = 0; n <= 60; n++)
		if (!sequence(n) && n)
			break;

	note("sweep 2: IOAS_ALLOC with sleeping slab allocations failing");
	rc = write_file("/sys/kernel/debug/failslab/cache-filter", "N");
	step("failslab/cache-filter = N", rc, NULL);
	rc = write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
	step("failslab/ignore-gfp-wait = N", rc, NULL);
	for (n = 1; n <= 40; n++) {
		int fd = iofd_open(), fired;
		__u32 id = 0;

		arm(n);
		rc = ioas_alloc(fd, &id);
		fired = disarm();
		printf("nth=%d: ioas_alloc=%s id=%u fired=%s\n", n, rc_str(rc),
		       rc ? 0 : id, fired ? "yes" : "no");
		rc = ioas_alloc(fd, &id);
		step("  next ioas_alloc", rc, "id=%u", id);
		close(fd);
		if (!fired)
			break;
	}
	write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "Y");
	return 0;
}
