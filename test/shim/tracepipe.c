/* A client whose trace reader goes away: opens /dev/iommu, issues one ioctl,
 * waits until the reader of fd WAITFD (1 or 2, a pipe or socket it shares
 * with `run --trace`) is gone (poll with no events: POLLERR/POLLHUP), then
 * issues many ioctls. Writes nothing to stdout or stderr: its report goes to
 * OUTFILE, one "step: result" per line. Exits 7.
 * Usage: tracepipe OUTFILE WAITFD */
#include "common.h"
#include <poll.h>
#include <sys/mman.h>

static FILE *out;

static void step(const char *name, int rc)
{
	if (rc < 0)
		fprintf(out, "%s: -1 %s\n", name, ename(errno));
	else
		fprintf(out, "%s: %d\n", name, rc);
}

int main(int argc, char **argv)
{
	struct pollfd p = { .events = 0 };
	int fd, i, fails = 0, n = 0, rc;
	const char *first = "none";
	char firstbuf[64];
	void *buf;

	if (argc < 3)
		return 2;
	out = fopen(argv[1], "w");
	if (!out)
		return 3;
	setvbuf(out, NULL, _IOLBF, 0);
	fprintf(out, "pid: %d\n", getpid());
	fprintf(out, "socket: %s\n", getenv("IOMMUFD_EMU_SOCKET") ?: "");
	fprintf(out, "state: %s\n", getenv("IOMMUFD_EMU_STATE") ?: "");
	fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	step("open", fd < 0 ? -1 : 0);
	if (fd < 0)
		return 4;
	step("first option get", option_get(fd, NULL));
	p.fd = atoi(argv[2]);
	rc = poll(&p, 1, 10000);
	fprintf(out, "reader gone: %s\n", rc == 1 && (p.revents & (POLLERR | POLLHUP)) ? "yes" : "no");
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < 50; i++) {
		struct iommu_ioas_alloc al = { .size = sizeof(al) };
		struct iommu_ioas_map m = { .size = sizeof(m), .user_va = (uintptr_t)buf, .length = 4096,
					    .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE };
		struct iommu_ioas_unmap u = { .size = sizeof(u), .length = 4096 };
		struct iommu_destroy d = { .size = sizeof(d) };
		const char *what;

#define DO(name, expr) do { what = name; n++; if ((expr) < 0) goto fail; } while (0)
		DO("alloc", ioctl(fd, IOMMU_IOAS_ALLOC, &al));
		m.ioas_id = u.ioas_id = d.id = al.out_ioas_id;
		DO("map", ioctl(fd, IOMMU_IOAS_MAP, &m));
		u.iova = m.iova;
		DO("unmap", ioctl(fd, IOMMU_IOAS_UNMAP, &u));
		DO("destroy", ioctl(fd, IOMMU_DESTROY, &d));
		DO("option get", option_get(fd, NULL));
		continue;
fail:
		if (!fails++) {
			snprintf(firstbuf, sizeof(firstbuf), "%s %s", what, ename(errno));
			first = firstbuf;
		}
	}
	fprintf(out, "ioctls: %d\n", n);
	fprintf(out, "failures: %d\n", fails);
	fprintf(out, "first failure: %s\n", first);
	step("close", close(fd));
	fprintf(out, "done: yes\n");
	return 7;
}
