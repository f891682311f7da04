// IOAS_COPY: whole areas, sub-ranges, spans over several areas, holes,
// across IOASes, automatic destination IOVAs, flags.
// platform: mock
#include "step.h"
#include "iofd.h"

static int fd;

static void copy(const char *what, __u32 dst, __u32 src, __u32 flags,
		 __u64 src_iova, __u64 len, __u64 dst_iova)
{
	__u64 d = dst_iova;
	int rc = ioas_copy(fd, dst, src, flags, src_iova, len, &d);

	step_ok(L("ioas_copy %u<-%u 0x%llx+0x%llx%s", dst, src,
		  (unsigned long long)src_iova, (unsigned long long)len, what),
		rc, "dst_iova=0x%llx", (unsigned long long)d);
}

static void unmap(__u32 ioas, __u64 iova, __u64 len)
{
	__u64 n = 0;
	int rc = ioas_unmap(fd, ioas, iova, len, &n);

	step_ok(L("ioas_unmap %u 0x%llx+0x%llx", ioas, (unsigned long long)iova,
		  (unsigned long long)len), rc, "length=0x%llx",
		(unsigned long long)n);
}

int main(void)
{
	char *buf = buf_alloc(4 << 20);
	__u32 a = 0, b = 0, c = 0;
	__u64 iova;
	int rc;

	fd = iofd_open();
	rc = ioas_alloc(fd, &a);
	step_ok("ioas_alloc a", rc, "id=%u", a);
	rc = ioas_alloc(fd, &b);
	step_ok("ioas_alloc b", rc, "id=%u", b);

	iova = 0x100000;
	rc = ioas_map(fd, a, MAP_FIXED_RW, buf, 0x10000, &iova);
	step("ioas_map a 0x100000+0x10000", rc, NULL);
	iova = 0x110000;
	rc = ioas_map(fd, a, MAP_FIXED_RW, buf + 0x10000, 0x10000, &iova);
	step("ioas_map a 0x110000+0x10000 (contiguous)", rc, NULL);
	iova = 0x200000;
	rc = ioas_map(fd, a, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		      buf + 0x20000, 0x8000, &iova);
	step("ioas_map a 0x200000+0x8000 read-only", rc, NULL);

	copy(" whole area fixed", b, a, MAP_FIXED_RW, 0x100000, 0x10000,
	     0x100000);
	copy(" again (overlap)", b, a, MAP_FIXED_RW, 0x100000, 0x10000,
	     0x100000);
	copy(" sub-range", b, a, MAP_FIXED_RW, 0x104000, 0x4000, 0x400000);
	copy(" across two areas", b, a, MAP_FIXED_RW, 0x108000, 0x10000,
	     0x500000);
	copy(" into a hole", b, a, MAP_FIXED_RW, 0x118000, 0x10000, 0x600000);
	copy(" all hole", b, a, MAP_FIXED_RW, 0x300000, 0x1000, 0x700000);
	copy(" auto", b, a, MAP_RW, 0x100000, 0x10000, 0);
	copy(" auto sub-range", b, a, MAP_RW, 0x104000, 0x2000, 0);
	copy(" auto across", b, a, MAP_RW, 0x10c000, 0x8000, 0);
	copy(" same ioas", a, a, MAP_FIXED_RW, 0x100000, 0x4000, 0x800000);
	copy(" read-only src, ask rw", b, a, MAP_FIXED_RW, 0x200000, 0x8000,
	     0x900000);
	copy(" read-only src, ask read", b, a,
	     IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE, 0x200000,
	     0x8000, 0x900000);
	copy(" rw src, ask write-only", b, a,
	     IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE, 0x100000,
	     0x1000, 0xa00000);
	copy(" no read/write", b, a, IOMMU_IOAS_MAP_FIXED_IOVA, 0x100000,
	     0x1000, 0xb00000);
	copy(" length 0", b, a, MAP_FIXED_RW, 0x100000, 0, 0xb00000);
	copy(" unknown flag", b, a, MAP_FIXED_RW | 0x10, 0x100000, 0x1000,
	     0xb00000);
	copy(" bad src", b, 99, MAP_FIXED_RW, 0x100000, 0x1000, 0xb00000);
	copy(" bad dst", 99, a, MAP_FIXED_RW, 0x100000, 0x1000, 0xb00000);
	copy(" src wraps", b, a, MAP_FIXED_RW, 0xfffffffffffff000ULL, 0x2000,
	     0xb00000);
	copy(" src ULONG_MAX", b, a, MAP_FIXED_RW, ~0ULL, 0x1000, 0xb00000);
	copy(" dst ULONG_MAX", b, a, MAP_FIXED_RW, 0x100000, 0x1000, ~0ULL);
	copy(" dst wraps", b, a, MAP_FIXED_RW, 0x100000, 0x2000,
	     0xfffffffffffff000ULL);
	copy(" unaligned dst", b, a, MAP_FIXED_RW, 0x100000, 0x1000, 0xc00123);

	/* Copies are independent areas: unmapping the source leaves them. */
	unmap(a, 0x100000, 0x10000);
	copy(" from unmapped source", b, a, MAP_FIXED_RW, 0x100000, 0x1000,
	     0xd00000);
	unmap(b, 0x100000, 0x10000);
	unmap(b, 0x400000, 0x4000);
	unmap(b, 0x500000, 0x8000);
	unmap(b, 0x508000, 0x8000);
	unmap(b, 0x500000, 0x10000);
	show_ranges(fd, b, "iova_ranges b");

	/* chain: c <- b <- a */
	rc = ioas_alloc(fd, &c);
	step_ok("ioas_alloc c", rc, "id=%u", c);
	copy(" chain", c, b, MAP_FIXED_RW, 0x10000,
	     0x10000, 0x10000);
	step("destroy a", obj_destroy(fd, a), NULL);
	copy(" from destroyed a", c, a, MAP_FIXED_RW, 0x110000, 0x1000,
	     0x30000);
	unmap(c, 0, ~0ULL);
	unmap(b, 0, ~0ULL);
	step("destroy b", obj_destroy(fd, b), NULL);
	step("destroy c", obj_destroy(fd, c), NULL);
	close(fd);
	return 0;
}
