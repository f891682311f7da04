// Fault injection sweeps (/proc/self/task/<tid>/fail-nth) of one access
// ioctl at a time: IOMMU_TEST_OP_ACCESS_PAGES (iommufd_access_pin_pages:
// iopt_pages_fill_xarray span by span) and IOMMU_TEST_OP_ACCESS_RW through
// the pages (the slow-path flag, or a memfd's pages). For each case the
// setup runs unarmed, then the call with its Nth iommufd injection point
// failing, N = 1, 2, ... until it runs clean: the line lists the result at
// each N, so the number and the order of the points are both compared.
// Only fail_iommufd counts (failslab filtered, fail_page_alloc above order
// 63), as in fail_nth. Every failure must leave no pin behind.
// platform: mock
#include "step.h"
#include "iofd.h"
#include "failnth.h"

#define PG 0x1000ULL
#define IOVA 0x1000000ULL

static char *buf;
static int mfd = -1;

static int map_file(int fd, __u32 ioas, __u64 start, __u64 len, __u64 iova)
{
	struct iommu_ioas_map_file c = {
		.size = sizeof(c), .flags = MAP_FIXED_RW, .ioas_id = ioas,
		.fd = mfd, .start = start, .length = len, .iova = iova,
	};

	return xioctl(fd, IOMMU_IOAS_MAP_FILE, &c);
}

enum { PIN, RW };

struct scase {
	const char *name;
	int op;          /* PIN or RW */
	int domain;      /* a mock domain on the IOAS */
	int file;        /* the memfd's pages, not buf's */
	int prepin;      /* an access already pins [IOVA, IOVA + 2 pages) */
	__u32 flags;     /* ACCESS_RW flags */
	__u64 len;       /* of the call, from IOVA */
};

/* Fresh iommufd: IOAS, two adjacent areas of 4 pages, the access. */
static int setup(const struct scase *c, int *fd, int *afd)
{
	__u32 ioas = 0, item = 0;
	__u64 iova = IOVA;
	int rc;

	*fd = iofd_open();
	rc = ioas_alloc(*fd, &ioas);
	if (!rc && c->domain)
		rc = mock_domain(*fd, ioas, 0, NULL, NULL, NULL);
	if (!rc && c->file)
		rc = map_file(*fd, ioas, 0, 4 * PG, IOVA) ?: map_file(*fd, ioas, 4 * PG, 4 * PG, IOVA + 4 * PG);
	else if (!rc) {
		rc = ioas_map(*fd, ioas, MAP_FIXED_RW, buf, 4 * PG, &iova);
		iova = IOVA + 4 * PG;
		rc = rc ?: ioas_map(*fd, ioas, MAP_FIXED_RW, buf + 4 * PG, 4 * PG, &iova);
	}
	if (!rc)
		rc = create_access(*fd, ioas, c->op == PIN || c->prepin ? MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES : 0, afd);
	if (!rc && c->prepin)
		rc = access_pages(*fd, *afd, 0, IOVA, 2 * PG, NULL, &item);
	return rc;
}

static void sweep(const struct scase *c)
{
	char tmp[8 * PG];
	int n, fd, afd, rc, fired, pins;

	printf("%s:", c->name);
	for (n = 1; n <= 40; n++) {
		rc = setup(c, &fd, &afd);
		if (rc) {
			printf(" setup=%s", rc_str(rc));
			close(fd);
			break;
		}
		arm(n);
		if (c->op == PIN)
			rc = access_pages(fd, afd, 0, IOVA, c->len, NULL, NULL);
		else
			rc = access_rw(fd, afd, c->flags, IOVA + 0x10, c->len - 0x20, tmp);
		fired = disarm();
		close(afd);
		close(fd);
		printf(" %s", fired ? rc_str(rc) : rc ? rc_str(rc) : "clean");
		if (!fired)
			break;
	}
	fd = iofd_open();
	pins = page_pins(fd, buf);
	close(fd);
	printf(" (points %d, buf pins after %d)\n", n - 1, pins);
	fflush(stdout);
}

int main(void)
{
	static const struct scase cases[] = {
		{ "pin 2 areas, no domain", PIN, 0, 0, 0, 0, 8 * PG },
		{ "pin 1 area, no domain", PIN, 0, 0, 0, 0, 4 * PG },
		{ "pin 2 areas, mock domain", PIN, 1, 0, 0, 0, 8 * PG },
		{ "pin over an access's 2 pages", PIN, 0, 0, 1, 0, 4 * PG },
		{ "pin 2 memfd areas", PIN, 0, 1, 0, 0, 8 * PG },
		{ "pin 2 memfd areas, mock domain", PIN, 1, 1, 0, 0, 8 * PG },
		{ "rw slow 1 page", RW, 0, 0, 0, MOCK_ACCESS_RW_SLOW_PATH, 0x1000 + 0x20 - 0x10 },
		{ "rw slow 2 areas", RW, 0, 0, 0, MOCK_ACCESS_RW_SLOW_PATH, 8 * PG },
		{ "rw slow 2 areas, mock domain", RW, 1, 0, 0, MOCK_ACCESS_RW_SLOW_PATH, 8 * PG },
		{ "rw slow over an access's 2 pages", RW, 0, 0, 1, MOCK_ACCESS_RW_SLOW_PATH, 4 * PG },
		{ "rw fast 2 areas", RW, 0, 0, 0, 0, 8 * PG },
		{ "rw memfd 2 areas", RW, 0, 1, 0, 0, 8 * PG },
		{ "rw memfd 1 page, write", RW, 0, 1, 0, MOCK_ACCESS_RW_WRITE, 0x1000 + 0x20 - 0x10 },
		{ "rw memfd 2 areas, mock domain", RW, 1, 1, 0, 0, 8 * PG },
	};
	unsigned i;

	buf = buf_alloc(16 * PG);
	memset(buf, 0x5a, 16 * PG);
	mfd = memfd_create("fail-nth", 0);
	if (mfd < 0 || ftruncate(mfd, 8 * PG)) {
		printf("memfd: %s\n", errno_name(errno));
		return 1;
	}
	failnth_open();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		sweep(&cases[i]);
	return 0;
}
