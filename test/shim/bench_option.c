/* Benchmark: IOMMU_OPTION get round trips through the shim.
 * Usage: bench_option N; prints "us_per_op VALUE". */
#include "common.h"
#include <time.h>

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
	double t0;

	for (i = 0; i < n / 10 + 100; i++)
		if (option_get(fd, NULL) < 0) {
			report("option get", -1);
			return 1;
		}
	t0 = now_us();
	for (i = 0; i < n; i++)
		option_get(fd, NULL);
	printf("us_per_op %.3f\n", (now_us() - t0) / n);
	return 0;
}
