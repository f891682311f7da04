// Generic ioctl argument checks on every iommufd ioctl: size below the
// minimum (EINVAL), non-zero bytes past the struct (E2BIG), bad pointers
// (EFAULT), unknown request numbers (ENOTTY), then per-ioctl __reserved and
// unknown-flag checks (EOPNOTSUPP).
// platform: mock
#include "step.h"
#include "iofd.h"

struct req {
	const char *name;
	unsigned long nr;
	unsigned int min, full;
};

static const struct req reqs[] = {
	{ "DESTROY", IOMMU_DESTROY, 8, 8 },
	{ "IOAS_ALLOC", IOMMU_IOAS_ALLOC, 12, 12 },
	{ "IOAS_ALLOW_IOVAS", IOMMU_IOAS_ALLOW_IOVAS, 24, 24 },
	{ "IOAS_COPY", IOMMU_IOAS_COPY, 40, 40 },
	{ "IOAS_IOVA_RANGES", IOMMU_IOAS_IOVA_RANGES, 32, 32 },
	{ "IOAS_MAP", IOMMU_IOAS_MAP, 40, 40 },
	{ "IOAS_UNMAP", IOMMU_IOAS_UNMAP, 24, 24 },
	{ "OPTION", IOMMU_OPTION, 24, 24 },
	{ "VFIO_IOAS", IOMMU_VFIO_IOAS, 12, 12 },
	{ "HWPT_ALLOC", IOMMU_HWPT_ALLOC, 24, 48 },
	{ "GET_HW_INFO", IOMMU_GET_HW_INFO, 32, 40 },
	{ "HWPT_SET_DIRTY_TRACKING", IOMMU_HWPT_SET_DIRTY_TRACKING, 16, 16 },
	{ "HWPT_GET_DIRTY_BITMAP", IOMMU_HWPT_GET_DIRTY_BITMAP, 48, 48 },
	{ "HWPT_INVALIDATE", IOMMU_HWPT_INVALIDATE, 32, 32 },
	{ "FAULT_QUEUE_ALLOC", IOMMU_FAULT_QUEUE_ALLOC, 16, 16 },
	{ "IOAS_MAP_FILE", IOMMU_IOAS_MAP_FILE, 40, 40 },
	{ "VIOMMU_ALLOC", IOMMU_VIOMMU_ALLOC, 24, 40 },
	{ "VDEVICE_ALLOC", IOMMU_VDEVICE_ALLOC, 24, 24 },
	{ "IOAS_CHANGE_PROCESS", IOMMU_IOAS_CHANGE_PROCESS, 8, 8 },
	{ "VEVENTQ_ALLOC", IOMMU_VEVENTQ_ALLOC, 28, 32 },
	{ "HW_QUEUE_ALLOC", IOMMU_HW_QUEUE_ALLOC, 40, 40 },
	{ "TEST_CMD", IOMMU_TEST_CMD, 68, 72 },
};

static int fd;
static unsigned char *page;	/* one zeroed page, reused for every call */

static int call(unsigned long nr, __u32 size, int tail_byte)
{
	memset(page, 0, 4096);
	memcpy(page, &size, 4);
	if (tail_byte >= 0)
		page[tail_byte] = 1;
	return xioctl(fd, nr, page);
}

/* Run one struct with a given field patched to a non-zero value. */
static int patched(unsigned long nr, __u32 size, unsigned off, unsigned width,
		   __u64 val)
{
	memset(page, 0, 4096);
	memcpy(page, &size, 4);
	memcpy(page + off, &val, width);
	return xioctl(fd, nr, page);
}

int main(void)
{
	unsigned i;
	unsigned long nr;
	void *unmapped;

	fd = iofd_open();
	page = buf_alloc(4096);
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			0);

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		const struct req *r = &reqs[i];

		note("%s (0x%lx) min=%u full=%u", r->name, r->nr, r->min,
		     r->full);
		step(L("%s size=0", r->name), call(r->nr, 0, -1), NULL);
		step(L("%s size=4", r->name), call(r->nr, 4, -1), NULL);
		step(L("%s size=min-1", r->name), call(r->nr, r->min - 1, -1),
		     NULL);
		step(L("%s size=min zeroed", r->name), call(r->nr, r->min, -1),
		     NULL);
		if (r->full != r->min)
			step(L("%s size=full zeroed", r->name),
			     call(r->nr, r->full, -1), NULL);
		step(L("%s size=full+8 zero tail", r->name),
		     call(r->nr, r->full + 8, -1), NULL);
		step(L("%s size=full+8 byte at full", r->name),
		     call(r->nr, r->full + 8, r->full), NULL);
		step(L("%s size=4096 byte at 4095", r->name),
		     call(r->nr, 4096, 4095), NULL);
		if (r->full != r->min)
			step(L("%s size=min byte at min (ignored)", r->name),
			     call(r->nr, r->min, r->min), NULL);
		step(L("%s arg NULL", r->name), xioctl(fd, r->nr, NULL), NULL);
		step(L("%s arg unmapped", r->name), xioctl(fd, r->nr, unmapped),
		     NULL);
	}

	note("unknown request numbers");
	for (nr = 0x95; nr <= 0xa1; nr++) {
		if (nr == 0xa0)
			continue;
		step(L("ioctl _IO(';', 0x%lx)", nr),
		     call(_IO(IOMMUFD_TYPE, nr), 64, -1), NULL);
	}
	step("ioctl _IO(';', 0xff)", call(_IO(IOMMUFD_TYPE, 0xff), 64, -1), NULL);
	step("ioctl _IO(';', 0x7f)", call(_IO(IOMMUFD_TYPE, 0x7f), 64, -1), NULL);
	step("ioctl _IO(';', 0x00)", call(_IO(IOMMUFD_TYPE, 0x00), 64, -1), NULL);
	step("ioctl _IO('a', 0x81)", call(_IO('a', 0x81), 12, -1), NULL);
	step("ioctl _IOWR(';', 0x81, 12 bytes)",
	     call(_IOWR(IOMMUFD_TYPE, 0x81, struct iommu_ioas_alloc), 12, -1),
	     NULL);
	step("ioctl _IOR(';', 0x80, 8 bytes)",
	     call(_IOR(IOMMUFD_TYPE, 0x80, struct iommu_destroy), 8, -1), NULL);
	step("ioctl _IO(';', 0x80) | size 8",
	     call(_IO(IOMMUFD_TYPE, 0x80) | (8u << 16), 8, -1), NULL);
	step("ioctl FIONREAD", call(0x541b, 64, -1), NULL);

	note("__reserved and flags (other fields zero)");
	step("IOAS_ALLOC flags=1", patched(IOMMU_IOAS_ALLOC, 12, 4, 4, 1), NULL);
	step("IOAS_MAP __reserved", patched(IOMMU_IOAS_MAP, 40, 12, 4, 1), NULL);
	step("IOAS_MAP flags=0x8", patched(IOMMU_IOAS_MAP, 40, 4, 4, 8), NULL);
	step("IOAS_MAP_FILE flags=0x8",
	     patched(IOMMU_IOAS_MAP_FILE, 40, 4, 4, 8), NULL);
	step("IOAS_COPY flags=0x8", patched(IOMMU_IOAS_COPY, 40, 4, 4, 8), NULL);
	step("IOAS_IOVA_RANGES __reserved",
	     patched(IOMMU_IOAS_IOVA_RANGES, 32, 12, 4, 1), NULL);
	step("IOAS_ALLOW_IOVAS __reserved",
	     patched(IOMMU_IOAS_ALLOW_IOVAS, 24, 12, 4, 1), NULL);
	step("OPTION __reserved", patched(IOMMU_OPTION, 24, 10, 2, 1), NULL);
	step("VFIO_IOAS __reserved", patched(IOMMU_VFIO_IOAS, 12, 10, 2, 1),
	     NULL);
	step("VFIO_IOAS op=3", patched(IOMMU_VFIO_IOAS, 12, 8, 2, 3), NULL);
	step("HWPT_ALLOC __reserved", patched(IOMMU_HWPT_ALLOC, 48, 20, 4, 1),
	     NULL);
	step("HWPT_ALLOC __reserved2", patched(IOMMU_HWPT_ALLOC, 48, 44, 4, 1),
	     NULL);
	step("HWPT_ALLOC flags=0x10", patched(IOMMU_HWPT_ALLOC, 48, 4, 4, 0x10),
	     NULL);
	step("HWPT_ALLOC data_len=8 type NONE",
	     patched(IOMMU_HWPT_ALLOC, 48, 28, 4, 8), NULL);
	step("GET_HW_INFO __reserved[0]",
	     patched(IOMMU_GET_HW_INFO, 40, 29, 1, 1), NULL);
	step("GET_HW_INFO __reserved[2]",
	     patched(IOMMU_GET_HW_INFO, 40, 31, 1, 1), NULL);
	step("GET_HW_INFO flags=0x2", patched(IOMMU_GET_HW_INFO, 40, 4, 4, 2),
	     NULL);
	step("HWPT_SET_DIRTY_TRACKING __reserved",
	     patched(IOMMU_HWPT_SET_DIRTY_TRACKING, 16, 12, 4, 1), NULL);
	step("HWPT_SET_DIRTY_TRACKING flags=0x2",
	     patched(IOMMU_HWPT_SET_DIRTY_TRACKING, 16, 4, 4, 2), NULL);
	step("HWPT_GET_DIRTY_BITMAP __reserved",
	     patched(IOMMU_HWPT_GET_DIRTY_BITMAP, 48, 12, 4, 1), NULL);
	step("HWPT_GET_DIRTY_BITMAP flags=0x2",
	     patched(IOMMU_HWPT_GET_DIRTY_BITMAP, 48, 8, 4, 2), NULL);
	step("HWPT_INVALIDATE __reserved",
	     patched(IOMMU_HWPT_INVALIDATE, 32, 28, 4, 1), NULL);
	step("HWPT_INVALIDATE entry_num=1 no data",
	     patched(IOMMU_HWPT_INVALIDATE, 32, 24, 4, 1), NULL);
	step("FAULT_QUEUE_ALLOC flags=1",
	     patched(IOMMU_FAULT_QUEUE_ALLOC, 16, 4, 4, 1), NULL);
	step("VIOMMU_ALLOC flags=1", patched(IOMMU_VIOMMU_ALLOC, 40, 4, 4, 1),
	     NULL);
	step("VIOMMU_ALLOC __reserved",
	     patched(IOMMU_VIOMMU_ALLOC, 40, 28, 4, 1), NULL);
	step("VDEVICE_ALLOC virt_id=U64_MAX",
	     patched(IOMMU_VDEVICE_ALLOC, 24, 16, 8, ~0ULL), NULL);
	step("IOAS_CHANGE_PROCESS __reserved",
	     patched(IOMMU_IOAS_CHANGE_PROCESS, 8, 4, 4, 1), NULL);
	step("VEVENTQ_ALLOC flags=1", patched(IOMMU_VEVENTQ_ALLOC, 32, 4, 4, 1),
	     NULL);
	step("VEVENTQ_ALLOC __reserved",
	     patched(IOMMU_VEVENTQ_ALLOC, 32, 28, 4, 1), NULL);
	step("HW_QUEUE_ALLOC flags=1",
	     patched(IOMMU_HW_QUEUE_ALLOC, 40, 4, 4, 1), NULL);
	step("TEST_CMD op=0", patched(IOMMU_TEST_CMD, 72, 4, 4, 0), NULL);
	step("TEST_CMD op=99", patched(IOMMU_TEST_CMD, 72, 4, 4, 99), NULL);
	{
		struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_MD_CHECK_REFS, 0);

		step("TEST_CMD MD_CHECK_REFS length 0",
		     xioctl(fd, IOMMU_TEST_CMD, &c), NULL);
		c.__reserved = 1;
		step("TEST_CMD MD_CHECK_REFS length 0 __reserved=1",
		     xioctl(fd, IOMMU_TEST_CMD, &c), NULL);
	}
	close(fd);
	return 0;
}
