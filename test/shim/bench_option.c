/* Benchmark: IOMMU_OPTION get round trips through the shim.
 * Usage: bench_option N; prints "us_per_op VALUE" (wall clock) and
 * "cpu_us_per_op VALUE" (this process's user+system time: the shim's own
 * work and syscalls, little disturbed by other load on the machine). */
#include "common.h"
#include <sys/resource.h>
#include <time.h>

static double cpu_us(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000, i;
	int fd = open_iommu();
	double t0, c0;

	for (i = 0; i < n / 10 + 100; i++)
		if (option_get(fd, NULL) < 0) {
			report("option get", -1);
			return 1;
		}
	c0 = cpu_us();
	t0 = now_us();
	for (i = 0; i < n; i++)
		option_get(fd, NULL);
	printf("us_per_op %.3f\n", (now_us() - t0) / n);
	printf("cpu_us_per_op %.3f\n", (cpu_us() - c0) / n);
	return 0;
}
