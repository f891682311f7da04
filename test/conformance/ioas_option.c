// IOMMU_OPTION: RLIMIT_MODE (global, needs no objects) and HUGE_PAGES (per
// IOAS, changes the IOVA alignment), argument checks.
// platform: mock
#include "step.h"
#include "iofd.h"

static int fd;

static void opt(const char *what, __u32 option, __u16 op, __u32 obj, __u64 val)
{
	__u64 v = val;
	int rc = iommu_opt(fd, option, op, obj, &v);

	step(L("option %s %s obj=%u val=%llu%s",
	       option == IOMMU_OPTION_RLIMIT_MODE ? "RLIMIT_MODE" :
	       option == IOMMU_OPTION_HUGE_PAGES ? "HUGE_PAGES" : "unknown",
	       op == IOMMU_OPTION_OP_GET ? "GET" :
	       op == IOMMU_OPTION_OP_SET ? "SET" : "op?", obj,
	       (unsigned long long)val, what), rc, "val64=%llu",
	     (unsigned long long)v);
}

static void map_fixed(__u32 ioas, void *va, __u64 iova, __u64 len)
{
	__u64 io = iova;
	int rc = ioas_map(fd, ioas, MAP_FIXED_RW, va, len, &io);

	step(L("ioas_map fixed 0x%llx+0x%llx", (unsigned long long)iova,
	       (unsigned long long)len), rc, NULL);
}

int main(void)
{
	char *buf = buf_alloc(1 << 20);
	__u32 ioas = 0, ioas2 = 0, stdev = 0, hwpt = 0;
	int rc;

	fd = iofd_open();
	note("RLIMIT_MODE");
	opt("", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 77);
	opt("", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1);
	opt("", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0);
	opt("", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 2);
	opt("", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 0);
	opt("", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0);
	opt(" object_id", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 1, 0);
	opt(" bad op", IOMMU_OPTION_RLIMIT_MODE, 2, 0, 0);
	opt(" bad option", 2, IOMMU_OPTION_OP_GET, 0, 0);
	opt(" bad option", 0xffffffffu, IOMMU_OPTION_OP_GET, 0, 0);
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	opt(" with an object", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0,
	    1);
	opt(" with an object", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0,
	    0);
	{
		struct iommu_option c = {
			.size = sizeof(c), .option_id = IOMMU_OPTION_RLIMIT_MODE,
			.op = IOMMU_OPTION_OP_GET, .__reserved = 1,
		};
		step("option __reserved=1", xioctl(fd, IOMMU_OPTION, &c), NULL);
	}

	note("HUGE_PAGES");
	opt("", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, 0);
	opt(" object 0", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 0, 0);
	opt(" bad object", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 99, 0);
	opt("", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, 2);
	opt("", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, 0);
	opt("", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, 9);
	show_ranges(fd, ioas, "iova_ranges huge off");
	map_fixed(ioas, buf, 0x100000, 0x800);
	map_fixed(ioas, buf, 0x100800, 0x1000);
	map_fixed(ioas, buf + 0x800, 0x100000, 0x1000);
	map_fixed(ioas, buf, 0x100000, 0x2000);
	opt("", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, 0);
	opt("", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, 1);
	show_ranges(fd, ioas, "iova_ranges huge on");
	map_fixed(ioas, buf, 0x200800, 0x800);
	opt(" sub-page area", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
	    ioas, 0);
	opt("", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, 0);
	step("ioas_unmap 0x200800+0x800",
	     ioas_unmap(fd, ioas, 0x200800, 0x800, NULL), NULL);
	opt("", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, 0);

	note("HUGE_PAGES with a mock domain");
	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc", rc, "id=%u", ioas2);
	rc = mock_domain(fd, ioas2, 0, &stdev, &hwpt, NULL);
	step_ok("mock_domain", rc, "stdev=%u hwpt=%u", stdev, hwpt);
	opt(" domain, no maps", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
	    ioas2, 0);
	show_ranges(fd, ioas2, "iova_ranges mock + huge off");
	opt("", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas2, 1);
	show_ranges(fd, ioas2, "iova_ranges mock + huge on");
	map_fixed(ioas2, buf, 0x1000000, 0x4000);
	opt(" domain and maps", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
	    ioas2, 0);
	opt(" domain and maps", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
	    ioas2, 1);
	opt("", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas2, 0);
	opt(" on a HWPT", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, hwpt, 0);
	opt(" on a stdev", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, stdev,
	    0);
	step("destroy stdev", obj_destroy(fd, stdev), NULL);
	opt(" maps, domain gone", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
	    ioas2, 0);
	show_ranges(fd, ioas2, "iova_ranges");
	close(fd);

	note("RLIMIT_MODE on a new file");
	fd = iofd_open();
	opt("", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0);
	opt("", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1);
	close(fd);
	fd = iofd_open();
	opt(" another file", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0,
	    0);
	close(fd);
	return 0;
}
