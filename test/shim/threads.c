/* Threads issuing ioctls concurrently on one fd: every reply reaches its caller. */
#include "common.h"
#include <pthread.h>

#define THREADS 8
#define ITERS 500

static int fd;
static uint32_t ids[THREADS][ITERS / 50];
static int failures;

static void *worker(void *p)
{
	long t = (long)p;
	int i;
	for (i = 0; i < ITERS; i++) {
		uint64_t v = 77;
		if (option_get(fd, &v) != 0 || v != 0)
			__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
		if (i % 50 == 0) {
			struct iommu_ioas_alloc al = { .size = sizeof(al) };
			if (ioctl(fd, IOMMU_IOAS_ALLOC, &al) != 0)
				__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
			ids[t][i / 50] = al.out_ioas_id;
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t th[THREADS];
	long t;
	int i, j, k, dups = 0, n = THREADS * (ITERS / 50);
	uint32_t *all = (uint32_t *)ids;

	fd = open_iommu();
	for (t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (all[i] == all[j])
				dups++;
	(void)k;
	printf("failures: %d\n", failures);
	printf("ids: %d duplicate: %d\n", n, dups);
	return 0;
}
