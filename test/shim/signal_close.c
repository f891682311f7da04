/* close() is async-signal-safe: a signal handler may dup and close an fd of
 * /dev/iommu while its thread is inside an ioctl on the same file. Another
 * thread signals the main thread again and again while it issues ioctls;
 * every handler dups the fd and closes the dup. Nothing may hang, every call
 * must succeed, and a successful ioctl leaves errno as the program had it.
 * Built with -I test/conformance/include; runs unchanged on the oracle
 * (npm run oracle -- record shim/signal_close). */
// golden: signal_close
#define _GNU_SOURCE
#include "iofd.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>

#define ROUNDS 3000

static int fd;
static volatile sig_atomic_t handled, handler_failures, stop;

static void on_signal(int sig)
{
	int saved = errno, d;
	(void)sig;
	d = dup(fd);
	if (d < 0 || close(d) != 0)
		handler_failures++;
	handled++;
	errno = saved;
}

static void *signaller(void *arg)
{
	pthread_t main_thread = *(pthread_t *)arg;
	struct timespec ts = { 0, 20000 };
	while (!stop) {
		pthread_kill(main_thread, SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	pthread_t self = pthread_self(), t;
	int failed = 0, errno_changed = 0, i;
	__u32 ioas;

	fd = iofd_open();
	step("ioas", ioas_alloc(fd, &ioas), NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&t, NULL, signaller, &self);
	for (i = 0; i < ROUNDS; i++) {
		struct iommu_option o = {
			.size = sizeof(o), .option_id = IOMMU_OPTION_HUGE_PAGES,
			.op = IOMMU_OPTION_OP_GET, .object_id = ioas,
		};
		errno = 1234;
		if (ioctl(fd, IOMMU_OPTION, &o) != 0 || o.val64 != 1)
			failed++;
		else if (errno != 1234)
			errno_changed++;
	}
	/* Let the handler run while the main thread waits, too. */
	while (handled < 10)
		usleep(1000);
	stop = 1;
	pthread_join(t, NULL);
	printf("ioctls: %d failed: %d errno changed: %d\n", ROUNDS, failed, errno_changed);
	printf("handler ran: %s failures: %d\n", handled > 0 ? "yes" : "no", (int)handler_failures);
	step("ioctl after", ioas_alloc(fd, &ioas), NULL);
	step("close", close(fd) ? -errno : 0, NULL);
	return 0;
}
