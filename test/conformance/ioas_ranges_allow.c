// IOVA_RANGES (EMSGSIZE protocol), ALLOW_IOVAS and reserved ranges
// (IOMMU_TEST_OP_ADD_RESERVED), and how they steer automatic IOVAs.
// platform: mock
#include "step.h"
#include "iofd.h"

static int fd;
static __u32 ioas;

static void ranges(const char *what, __u32 cap, int null_ptr)
{
	struct iommu_iova_range r[8];
	__u32 n = 0, i;
	__u64 align = 0;
	int rc;

	memset(r, 0xaa, sizeof(r));
	rc = ioas_ranges(fd, ioas, null_ptr ? NULL : r, cap, &n, &align);
	printf("iova_ranges cap=%u%s: %s num_iovas=%u", cap, what, rc_str(rc), n);
	if (rc == 0 || rc == -EMSGSIZE) {
		printf(" align=0x%llx", (unsigned long long)align);
		for (i = 0; i < cap && i < 8 && !null_ptr; i++) {
			if (r[i].start == 0xaaaaaaaaaaaaaaaaULL)
				printf(" [untouched]");
			else
				printf(" [0x%llx-0x%llx]",
				       (unsigned long long)r[i].start,
				       (unsigned long long)r[i].last);
		}
	}
	putchar('\n');
	fflush(stdout);
}

static void allow(const char *what, struct iommu_iova_range *r, __u32 n)
{
	step(L("allow_iovas n=%u%s", n, what), ioas_allow(fd, ioas, r, n), NULL);
}

static void reserve(__u64 start, __u64 len)
{
	step(L("add_reserved 0x%llx+0x%llx", (unsigned long long)start,
	       (unsigned long long)len), add_reserved(fd, ioas, start, len),
	     NULL);
}

static void map_auto(void *va, __u64 len)
{
	__u64 io = 0;
	int rc = ioas_map(fd, ioas, MAP_RW, va, len, &io);

	step_ok(L("ioas_map auto +0x%llx", (unsigned long long)len), rc,
		"iova=0x%llx", (unsigned long long)io);
}

static void map_fixed(void *va, __u64 iova, __u64 len)
{
	__u64 io = iova;
	int rc = ioas_map(fd, ioas, MAP_FIXED_RW, va, len, &io);

	step(L("ioas_map fixed 0x%llx+0x%llx", (unsigned long long)iova,
	       (unsigned long long)len), rc, NULL);
}

int main(void)
{
	char *buf = buf_alloc(2 << 20);
	struct iommu_iova_range r[4];
	int rc;

	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);

	note("iova_ranges protocol");
	ranges("", 4, 0);
	ranges(" null array", 0, 1);
	ranges("", 0, 0);
	ranges("", 1, 0);
	{
		struct iommu_ioas_iova_ranges c = {
			.size = sizeof(c), .ioas_id = ioas, .num_iovas = 2,
			.allowed_iovas = 0x10,
		};
		rc = xioctl(fd, IOMMU_IOAS_IOVA_RANGES, &c);
		step("iova_ranges cap=2 bad pointer", rc, "num_iovas=%u",
		     c.num_iovas);
		c.allowed_iovas = (uintptr_t)r;
		c.__reserved = 1;
		rc = xioctl(fd, IOMMU_IOAS_IOVA_RANGES, &c);
		step("iova_ranges __reserved=1", rc, NULL);
		c.__reserved = 0;
		c.ioas_id = 55;
		rc = xioctl(fd, IOMMU_IOAS_IOVA_RANGES, &c);
		step("iova_ranges bad ioas", rc, NULL);
	}

	note("reserved ranges");
	reserve(0x100000, 0x100000);
	reserve(0x400000, 0x1000);
	reserve(0x401000, 0x1000);
	reserve(0x0, 0x1000);
	reserve(0x500000, 0);
	reserve(0xfffffffffffff000ULL, 0x2000);
	ranges("", 8, 0);
	ranges("", 2, 0);
	ranges("", 0, 0);
	map_fixed(buf, 0x180000, 0x1000);
	map_fixed(buf, 0xff000, 0x2000);
	map_fixed(buf, 0xff000, 0x1000);
	map_fixed(buf, 0x200000, 0x1000);
	reserve(0x200000, 0x1000);
	reserve(0x1ff000, 0x2000);
	map_auto(buf, 0x1000);
	map_auto(buf, 0x100000);
	map_auto(buf, 0x200000);
	step("ioas_unmap all", ioas_unmap(fd, ioas, 0, ~0ULL, NULL), NULL);

	note("allow_iovas");
	r[0].start = 0x800000; r[0].last = 0x8fffff;
	r[1].start = 0x1000000; r[1].last = 0x1ffffff;
	allow("", r, 2);
	map_auto(buf, 0x1000);
	map_auto(buf, 0x100000);
	map_auto(buf, 0x200000);
	map_auto(buf, 0x1000000);
	map_fixed(buf, 0x3000000, 0x1000);
	ranges("", 8, 0);
	reserve(0x880000, 0x1000);
	reserve(0x900000, 0x1000);
	r[0].start = 0x2000; r[0].last = 0x2000;
	allow(" start==last", r, 1);
	r[0].start = 0x3000; r[0].last = 0x2fff;
	allow(" start>last", r, 1);
	r[0].start = 0x10000; r[0].last = 0x1ffff;
	r[1].start = 0x18000; r[1].last = 0x2ffff;
	allow(" overlapping", r, 2);
	r[0].start = 0x10000; r[0].last = 0x1ffff;
	r[1].start = 0x20000; r[1].last = 0x2ffff;
	allow(" touching", r, 2);
	r[0].start = 0x30000; r[0].last = 0x3ffff;
	r[1].start = 0x10000; r[1].last = 0x1ffff;
	allow(" unsorted", r, 2);
	r[0].start = 0x100000; r[0].last = 0x1fffff;
	allow(" over a reserved range", r, 1);
	r[0].start = 0x2000000; r[0].last = 0x3ffffff;
	allow(" over a mapping", r, 1);
	map_auto(buf, 0x1000);
	allow(" bad pointer", (struct iommu_iova_range *)0x10, 2);
	map_auto(buf, 0x1000);
	r[0].start = 0x6000000; r[0].last = 0x6000fff;
	allow(" one page", r, 1);
	map_auto(buf, 0x1000);
	map_auto(buf, 0x1000);
	map_auto(buf, 0x2000);
	allow(" clear", r, 0);
	map_auto(buf, 0x2000);
	{
		struct iommu_ioas_allow_iovas c = {
			.size = sizeof(c), .ioas_id = ioas, .__reserved = 1,
		};
		step("allow_iovas __reserved=1",
		     xioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &c), NULL);
		c.__reserved = 0;
		c.ioas_id = 44;
		step("allow_iovas bad ioas",
		     xioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &c), NULL);
	}
	ranges("", 8, 0);
	step("destroy ioas", obj_destroy(fd, ioas), NULL);
	close(fd);
	return 0;
}
