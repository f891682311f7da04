/*
 * guest-run: run one oracle client inside the guest and report how it ended.
 *
 *   guest-run UID SECONDS STDOUT-FILE STDERR-FILE PROGRAM [ARGS...]
 *
 * UID is "-" to keep root, or a number: the client then runs with that uid
 * and gid and no supplementary groups. The client gets its own process group,
 * /dev/null as stdin and /tmp as its working directory. After SECONDS it is
 * killed. Whatever it leaves behind (forked children) is killed when it ends.
 *
 * One line goes to our stdout:  "exit=N ms=T"  (N is 128+sig after a signal,
 * like a shell reports it), "timeout ms=T", or "error=TEXT".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t expired;

static void on_alarm(int sig)
{
	(void)sig;
	expired = 1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int reopen(int fd, const char *path, int flags)
{
	int nfd = open(path, flags, 0644);

	if (nfd < 0)
		return -1;
	if (nfd != fd) {
		if (dup2(nfd, fd) < 0)
			return -1;
		close(nfd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	long start, secs;
	int status = 0;
	pid_t pid, r;

	if (argc < 6) {
		fprintf(stderr, "usage: guest-run UID SECONDS OUT ERR PROGRAM [ARGS...]\n");
		return 2;
	}
	secs = strtol(argv[2], NULL, 10);
	start = now_ms();
	pid = fork();
	if (pid < 0) {
		printf("error=fork:%s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		if (reopen(0, "/dev/null", O_RDONLY) ||
		    reopen(1, argv[3], O_WRONLY | O_CREAT | O_TRUNC) ||
		    reopen(2, argv[4], O_WRONLY | O_CREAT | O_TRUNC))
			_exit(120);
		if (chdir("/tmp"))
			_exit(121);
		if (strcmp(argv[1], "-") != 0) {
			uid_t id = (uid_t)strtoul(argv[1], NULL, 10);

			/* the output files were created as root: hand them over */
			if (fchown(1, id, id) || fchown(2, id, id) ||
			    setgroups(0, NULL) || setgid(id) || setuid(id)) {
				dprintf(2, "guest-run: cannot become uid %u: %s\n",
					(unsigned)id, strerror(errno));
				_exit(122);
			}
		}
		execv(argv[5], argv + 5);
		dprintf(2, "guest-run: exec %s: %s\n", argv[5], strerror(errno));
		_exit(123);
	}
	setpgid(pid, pid);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: waitpid returns EINTR */
	alarm((unsigned)secs);
	for (;;) {
		r = waitpid(pid, &status, 0);
		if (r == pid)
			break;
		if (r < 0 && errno == EINTR && expired) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			printf("timeout ms=%ld\n", now_ms() - start);
			return 0;
		}
		if (r < 0 && errno != EINTR) {
			printf("error=waitpid:%s\n", strerror(errno));
			return 1;
		}
	}
	alarm(0);
	kill(-pid, SIGKILL);	/* children the client left running */
	if (WIFEXITED(status))
		printf("exit=%d ms=%ld\n", WEXITSTATUS(status), now_ms() - start);
	else if (WIFSIGNALED(status))
		printf("exit=%d ms=%ld\n", 128 + WTERMSIG(status), now_ms() - start);
	else
		printf("error=status:%#x\n", status);
	return 0;
}
