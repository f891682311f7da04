// IOAS_MAP / IOAS_UNMAP with no domain: fixed and automatic IOVAs, flags,
// overlap, whole-area unmap, partial cover, unmap-all, byte counts.
// platform: mock
#include "step.h"
#include "iofd.h"

#define MB (1ULL << 20)
#define KB (1ULL << 10)

static int fd;
static __u32 ioas;

static void map_fixed(const char *what, void *va, __u64 iova, __u64 len,
		      __u32 flags)
{
	__u64 io = iova;
	int rc = ioas_map(fd, ioas, flags | IOMMU_IOAS_MAP_FIXED_IOVA, va, len,
			  &io);

	step_ok(L("ioas_map fixed 0x%llx+0x%llx%s", (unsigned long long)iova,
		  (unsigned long long)len, what), rc, "iova=0x%llx",
		(unsigned long long)io);
}

static __u64 map_auto(const char *what, void *va, __u64 len, __u32 flags)
{
	__u64 io = 0;
	int rc = ioas_map(fd, ioas, flags, va, len, &io);

	step_ok(L("ioas_map auto +0x%llx%s", (unsigned long long)len, what), rc,
		"iova=0x%llx", (unsigned long long)io);
	return rc ? 0 : io;
}

static void unmap(const char *what, __u64 iova, __u64 len)
{
	__u64 n = 0;
	int rc = ioas_unmap(fd, ioas, iova, len, &n);

	step_ok(L("ioas_unmap 0x%llx+0x%llx%s", (unsigned long long)iova,
		  (unsigned long long)len, what), rc, "length=0x%llx",
		(unsigned long long)n);
}

int main(void)
{
	char *buf = buf_alloc(16 * MB);
	__u64 a;
	int rc;

	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	show_ranges(fd, ioas, "iova_ranges fresh");

	note("fixed maps");
	map_fixed("", buf, 0x100000, 0x4000, MAP_RW);
	map_fixed(" overlap same", buf, 0x100000, 0x4000, MAP_RW);
	map_fixed(" overlap tail", buf, 0x103000, 0x2000, MAP_RW);
	map_fixed(" overlap head", buf, 0xff000, 0x2000, MAP_RW);
	map_fixed(" covering", buf, 0xf0000, 0x40000, MAP_RW);
	map_fixed(" adjacent after", buf, 0x104000, 0x1000, MAP_RW);
	map_fixed(" adjacent before", buf, 0xff000, 0x1000, MAP_RW);
	map_fixed(" at iova 0", buf, 0, 0x1000, MAP_RW);
	map_fixed(" read-only", buf, 0x200000, 0x1000, IOMMU_IOAS_MAP_READABLE);
	map_fixed(" write-only", buf, 0x201000, 0x1000,
		  IOMMU_IOAS_MAP_WRITEABLE);
	map_fixed(" no read/write", buf, 0x202000, 0x1000, 0);
	map_fixed(" length 0", buf, 0x203000, 0, MAP_RW);
	map_fixed(" sub-page length", buf, 0x300000, 0x800, MAP_RW);
	map_fixed(" sub-page va offset", buf + 0x800, 0x310800, 0x800, MAP_RW);
	map_fixed(" unaligned iova", buf, 0x320123, 0x1000, MAP_RW);
	map_fixed(" top page", buf, 0xfffffffffffff000ULL, 0x1000, MAP_RW);
	map_fixed(" wraps", buf, 0xfffffffffffff000ULL, 0x2000, MAP_RW);
	map_fixed(" iova ULONG_MAX", buf, ~0ULL, 0x1000, MAP_RW);
	map_fixed(" length ULONG_MAX", buf, 0x400000, ~0ULL, MAP_RW);
	map_fixed(" unmapped user va", (void *)0x1000, 0x500000, 0x1000, MAP_RW);
	map_fixed(" va wraps", (void *)0xfffffffffffff000ULL, 0x510000, 0x2000,
		  MAP_RW);
	{
		struct iommu_ioas_map c = {
			.size = sizeof(c), .flags = MAP_FIXED_RW, .ioas_id = 99,
			.user_va = (uintptr_t)buf, .length = 0x1000,
			.iova = 0x600000,
		};
		step("ioas_map bad ioas id", xioctl(fd, IOMMU_IOAS_MAP, &c),
		     NULL);
		c.ioas_id = ioas;
		c.flags |= 8;
		step("ioas_map unknown flag 8", xioctl(fd, IOMMU_IOAS_MAP, &c),
		     NULL);
		c.flags = MAP_FIXED_RW;
		c.__reserved = 1;
		step("ioas_map __reserved=1", xioctl(fd, IOMMU_IOAS_MAP, &c),
		     NULL);
	}

	note("automatic IOVAs (buffer 2 MiB aligned)");
	a = map_auto("", buf, 0x1000, MAP_RW);
	a = map_auto("", buf, 0x1000, MAP_RW);
	a = map_auto("", buf, 0x3000, MAP_RW);
	a = map_auto("", buf, 0x10000, MAP_RW);
	a = map_auto("", buf, 0x100000, MAP_RW);
	a = map_auto("", buf, 0x300000, MAP_RW);
	a = map_auto("", buf, 0x800000, MAP_RW);
	a = map_auto(" va+0x1000", buf + 0x1000, 0x4000, MAP_RW);
	a = map_auto(" va+0x10000", buf + 0x10000, 0x40000, MAP_RW);
	a = map_auto(" va+0x800", buf + 0x800, 0x800, MAP_RW);
	a = map_auto(" va+0x800 len 0x1800", buf + 0x800, 0x1800, MAP_RW);
	a = map_auto(" read-only", buf, 0x2000, IOMMU_IOAS_MAP_READABLE);
	a = map_auto(" no read/write", buf, 0x2000, 0);
	a = map_auto(" length 0", buf, 0, MAP_RW);
	(void)a;
	show_ranges(fd, ioas, "iova_ranges with maps");

	note("unmap");
	unmap(" exact", 0x100000, 0x4000);
	unmap(" again", 0x100000, 0x4000);
	unmap(" head of area", 0x104000 - 0x1000, 0x1000);
	unmap(" partial cover of 0x300000", 0x300000, 0x400);
	unmap(" covering two with hole", 0xff000, 0x6000);
	unmap(" sub-page area", 0x300000, 0x800);
	unmap(" nothing mapped", 0x700000000ULL, 0x1000);
	unmap(" length 0", 0x200000, 0);
	unmap(" iova ULONG_MAX", ~0ULL, 0x1000);
	unmap(" wraps", 0xfffffffffffff000ULL, 0x2000);
	unmap(" top page", 0xfffffffffffff000ULL, 0x1000);
	unmap(" iova 0 len 0x1000", 0, 0x1000);
	unmap(" spans areas, last sticks out", 0x200000, 0x1800);
	unmap(" rest of 0x201000", 0x201000, 0x1000);
	unmap(" all", 0, ~0ULL);
	unmap(" all when empty", 0, ~0ULL);
	unmap(" 0..U64_MAX-1", 0, ~0ULL - 1);
	unmap(" 1..U64_MAX", 1, ~0ULL);
	{
		struct iommu_ioas_unmap c = {
			.size = sizeof(c), .ioas_id = 77, .iova = 0,
			.length = 0x1000,
		};
		step("ioas_unmap bad ioas id", xioctl(fd, IOMMU_IOAS_UNMAP, &c),
		     NULL);
	}

	note("many areas, one unmap");
	map_fixed("", buf, 0x1000000, 0x8000, MAP_RW);
	map_fixed("", buf + 0x8000, 0x1008000, 0x8000, MAP_RW);
	map_fixed("", buf, 0x1010000, 0x8000, MAP_RW);
	map_fixed("", buf, 0x1020000, 0x8000, MAP_RW);
	unmap(" superset of 4 areas", 0xf00000, 0x200000);
	show_ranges(fd, ioas, "iova_ranges at end");
	step("destroy ioas", obj_destroy(fd, ioas), NULL);
	close(fd);
	return 0;
}
