// Dirty tracking on a mock domain: HWPT_ALLOC with DIRTY_TRACKING,
// SET_DIRTY_TRACKING, IOMMU_TEST_OP_DIRTY to dirty IOVAs, GET_DIRTY_BITMAP
// with and without NO_CLEAR, and the argument checks of each.
// platform: mock
#include "step.h"
#include "iofd.h"

#define PG 0x1000ULL
#define BASE 0x1000000ULL

static int fd;

static int set_tracking(__u32 hwpt, __u32 flags)
{
	struct iommu_hwpt_set_dirty_tracking c = {
		.size = sizeof(c), .flags = flags, .hwpt_id = hwpt,
	};

	return xioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &c);
}

static void make_dirty(const char *what, __u32 hwpt, __u64 iova, __u64 len,
		       __u64 pgsz, __u64 bits)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_DIRTY, hwpt);
	__u64 bm[4] = { bits, 0, 0, 0 };
	int rc;

	c.dirty.iova = iova;
	c.dirty.length = len;
	c.dirty.page_size = pgsz;
	c.dirty.uptr = (uintptr_t)bm;
	rc = xioctl(fd, IOMMU_TEST_CMD, &c);
	step_ok(L("test_dirty 0x%llx+0x%llx pgsz=0x%llx bits=0x%llx%s",
		  (unsigned long long)iova, (unsigned long long)len,
		  (unsigned long long)pgsz, (unsigned long long)bits, what),
		rc, "nr_dirty=%llu", (unsigned long long)c.dirty.out_nr_dirty);
}

static void bitmap(const char *what, __u32 hwpt, __u32 flags, __u64 iova,
		   __u64 len, __u64 pgsz)
{
	struct iommu_hwpt_get_dirty_bitmap c = {
		.size = sizeof(c), .hwpt_id = hwpt, .flags = flags,
		.iova = iova, .length = len, .page_size = pgsz,
	};
	__u64 bm[4] = { 0 };
	int rc;

	c.data = (uintptr_t)bm;
	rc = xioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &c);
	step_ok(L("get_dirty_bitmap%s 0x%llx+0x%llx pgsz=0x%llx%s",
		  flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR ? " NO_CLEAR" : "",
		  (unsigned long long)iova, (unsigned long long)len,
		  (unsigned long long)pgsz, what), rc, "bitmap=0x%llx",
		(unsigned long long)bm[0]);
}

int main(void)
{
	char *buf = buf_alloc(64 * PG);
	__u32 ioas = 0, stdev = 0, hwpt = 0, idev = 0, dh = 0, plain = 0;
	__u32 nd_stdev = 0, nd_idev = 0, x = 0;
	__u64 iova;
	int rc;

	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev);
	step_ok("mock_domain", rc, "stdev=%u hwpt=%u idev=%u", stdev, hwpt, idev);
	rc = mock_domain(fd, ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &nd_stdev, NULL,
			 &nd_idev);
	step_ok("mock_domain NO_DIRTY", rc, "stdev=%u idev=%u", nd_stdev,
		nd_idev);
	/*
	 * As the kernel's own dirty tests do: with large pages on, the mock
	 * domain (AMDv1 generic page table) maps physically contiguous pages
	 * with one larger IO PTE, and dirtying one 4K page marks the whole
	 * entry, so the bitmaps would depend on this boot's physical layout.
	 * With HUGE_PAGES off every 4K page gets its own entry.
	 */
	step("ioas_option HUGE_PAGES=0",
	     iommu_opt(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas,
		       &(__u64){ 0 }), NULL);
	iova = BASE;
	step("ioas_map 0x1000000+64 pages",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 64 * PG, &iova), NULL);

	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas, 0, NULL,
			0, &dh);
	step_ok("hwpt_alloc DIRTY_TRACKING", rc, "hwpt=%u", dh);
	rc = hwpt_alloc(fd, 0, idev, ioas, 0, NULL, 0, &plain);
	step_ok("hwpt_alloc plain", rc, "hwpt=%u", plain);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, nd_idev, ioas, 0,
			NULL, 0, &x);
	step_ok("hwpt_alloc DIRTY_TRACKING for NO_DIRTY device", rc, "hwpt=%u",
		x);
	x = dh;
	rc = mock_replace(fd, nd_stdev, &x);
	step_ok("mock_domain_replace NO_DIRTY device -> dirty hwpt", rc,
		"pt=%u", x);
	x = dh;
	rc = mock_replace(fd, stdev, &x);
	step_ok("mock_domain_replace device -> dirty hwpt", rc, "pt=%u", x);

	note("set_dirty_tracking");
	step("set_dirty_tracking enable plain hwpt", set_tracking(plain, 1), NULL);
	step("set_dirty_tracking enable auto hwpt", set_tracking(hwpt, 1), NULL);
	step("set_dirty_tracking on ioas id", set_tracking(ioas, 1), NULL);
	step("set_dirty_tracking flags=2", set_tracking(dh, 2), NULL);
	make_dirty(" before enabling", dh, BASE, 4 * PG, PG, 0xf);
	bitmap(" before enabling", dh, 0, BASE, 64 * PG, PG);
	step("set_dirty_tracking enable", set_tracking(dh, 1), NULL);
	step("set_dirty_tracking enable again", set_tracking(dh, 1), NULL);
	bitmap(" fresh", dh, 0, BASE, 64 * PG, PG);

	note("dirty and read back");
	make_dirty("", dh, BASE, 64 * PG, PG, 0x8000000000000005ULL);
	bitmap(" NO_CLEAR", dh, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, BASE,
	       64 * PG, PG);
	bitmap("", dh, 0, BASE, 64 * PG, PG);
	bitmap(" after clear", dh, 0, BASE, 64 * PG, PG);
	make_dirty(" 2K pages", dh, BASE, 8 * 0x800, 0x800, 0x3c);
	bitmap(" 4K", dh, 0, BASE, 8 * PG, PG);
	make_dirty("", dh, BASE + 8 * PG, 8 * PG, PG, 0x81);
	bitmap(" 8K pages", dh, 0, BASE, 64 * PG, 2 * PG);
	make_dirty("", dh, BASE + 16 * PG, 8 * PG, PG, 0xff);
	bitmap(" window +16 pages", dh, 0, BASE + 16 * PG, 4 * PG, PG);
	bitmap(" rest of the window", dh, 0, BASE + 16 * PG, 8 * PG, PG);
	make_dirty(" unmapped iova", dh, 0x3000000, PG, PG, 1);
	bitmap(" unmapped iova", dh, 0, 0x3000000, 4 * PG, PG);

	note("argument checks");
	make_dirty(" page_size 0", dh, BASE, PG, 0, 1);
	make_dirty(" length 0", dh, BASE, 0, PG, 1);
	make_dirty(" unaligned", dh, BASE + 0x800, PG, PG, 1);
	make_dirty(" on plain hwpt", plain, BASE, PG, PG, 1);
	bitmap(" page_size 0", dh, 0, BASE, 4 * PG, 0);
	bitmap(" page_size 3K", dh, 0, BASE, 3 * PG, 0xc00);
	bitmap(" unaligned iova", dh, 0, BASE + 0x800, 4 * PG, PG);
	bitmap(" unaligned length", dh, 0, BASE, 4 * PG + 0x800, PG);
	bitmap(" wraps", dh, 0, 0xfffffffffffff000ULL, 2 * PG, PG);
	bitmap(" plain hwpt", plain, 0, BASE, 4 * PG, PG);
	bitmap(" ioas id", ioas, 0, BASE, 4 * PG, PG);
	bitmap(" flags=2", dh, 2, BASE, 4 * PG, PG);
	{
		struct iommu_hwpt_get_dirty_bitmap c = {
			.size = sizeof(c), .hwpt_id = dh, .iova = BASE,
			.length = 4 * PG, .page_size = PG, .data = 0x10,
		};
		step("get_dirty_bitmap bad data pointer",
		     xioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &c), NULL);
		c.data = 0;
		step("get_dirty_bitmap data NULL",
		     xioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &c), NULL);
	}

	note("disable");
	make_dirty("", dh, BASE, 4 * PG, PG, 0xf);
	step("set_dirty_tracking disable", set_tracking(dh, 0), NULL);
	bitmap(" disabled", dh, 0, BASE, 4 * PG, PG);
	make_dirty(" disabled", dh, BASE, 4 * PG, PG, 0xf);
	step("set_dirty_tracking re-enable", set_tracking(dh, 1), NULL);
	bitmap(" re-enabled (stale bits cleared)", dh, 0, BASE, 4 * PG, PG);

	note("hw info");
	{
		struct iommu_hw_info out;

		rc = get_hw_info(fd, idev, NULL, 0, &out);
		step("get_hw_info dirty device", rc, "caps=0x%llx",
		     (unsigned long long)out.out_capabilities);
		rc = get_hw_info(fd, nd_idev, NULL, 0, &out);
		step("get_hw_info NO_DIRTY device", rc, "caps=0x%llx",
		     (unsigned long long)out.out_capabilities);
	}
	step("destroy dirty hwpt while attached", obj_destroy(fd, dh), NULL);
	step("destroy stdev", obj_destroy(fd, stdev), NULL);
	step("destroy dirty hwpt", obj_destroy(fd, dh), NULL);
	close(fd);
	return 0;
}
