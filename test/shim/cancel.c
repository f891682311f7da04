/* ioctl() is not a pthread cancellation point in glibc, and a thread
 * cancelled at one of its own (pthread_testcancel) between ioctls leaves
 * the file usable by the other threads. Threads loop on ioctls of one fd
 * with deferred cancellation enabled; the main thread cancels them at
 * once and joins them; its own ioctls must still work.
 * Built with -I test/conformance/include; runs unchanged on the oracle
 * (npm run oracle -- record shim/cancel). */
// golden: cancel
#define _GNU_SOURCE
#include "iofd.h"
#include <pthread.h>

#define THREADS 4

static int fd;
static volatile int started;

static void *worker(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		struct iommu_ioas_alloc a = { .size = sizeof(a) };
		if (ioctl(fd, IOMMU_IOAS_ALLOC, &a) == 0) {
			struct iommu_destroy d = { .size = sizeof(d), .id = a.out_ioas_id };
			ioctl(fd, IOMMU_DESTROY, &d);
		}
		pthread_testcancel();
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	int i, round, cancelled = 0, joined = 0;
	__u32 ioas;

	fd = iofd_open();
	for (round = 0; round < 10; round++) {
		started = 0;
		for (i = 0; i < THREADS; i++)
			pthread_create(&t[i], NULL, worker, NULL);
		while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < THREADS)
			usleep(100);
		usleep(2000);
		for (i = 0; i < THREADS; i++)
			pthread_cancel(t[i]);
		for (i = 0; i < THREADS; i++) {
			void *r;
			if (pthread_join(t[i], &r) == 0) {
				joined++;
				cancelled += r == PTHREAD_CANCELED;
			}
		}
		if (ioas_alloc(fd, &ioas) != 0)
			break;
	}
	printf("rounds: %d joined: %d cancelled: %d\n", round, joined, cancelled);
	step("ioctl after", ioas_alloc(fd, &ioas), NULL);
	step("close", close(fd) ? -errno : 0, NULL);
	return 0;
}
