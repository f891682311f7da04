// VT-d in scalable mode (qemu's x-scalable-mode, x-flts, x-pasid-mode; snoop
// control): which HWPT_ALLOC flags the unit takes (first stage preferred,
// second stage for NEST_PARENT and DIRTY_TRACKING), IOMMU_HWPT_DATA_VTD_S1
// nested HWPTs and their checks, HWPT_INVALIDATE with VTD_S1 entries, PASID
// attach/replace/detach of a device without a PASID capability (the e1000e),
// enforcement on a first-stage domain and DMA_CC_IOMMU on the compat IOAS.
// oracle: --vfio --scalable --snoop-control
// platform: qemu-vtd-sm-sc
#include "step.h"
#include "iofd.h"

static int fd;

static int open_bind(int n, __u32 *devid)
{
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = 0 };
	char path[64];
	int d, rc;

	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", n);
	d = open(path, O_RDWR);
	step(L("open vfio%d", n), d < 0 ? -errno : 0, NULL);
	b.iommufd = fd;
	rc = xioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &b);
	*devid = b.out_devid;
	step_ok(L("bind vfio%d", n), rc, "devid=%u", b.out_devid);
	return d;
}

static int attach(int dev, __u32 flags, __u32 pasid, __u32 *pt)
{
	struct vfio_device_attach_iommufd_pt c = {
		.argsz = sizeof(c), .flags = flags, .pt_id = *pt, .pasid = pasid,
	};
	int rc = xioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &c);

	if (rc == 0)
		*pt = c.pt_id;
	return rc;
}

static int detach(int dev, __u32 flags, __u32 pasid)
{
	struct vfio_device_detach_iommufd_pt c = {
		.argsz = sizeof(c), .flags = flags, .pasid = pasid,
	};

	return xioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &c);
}

static void hw_info(__u32 devid, const char *what)
{
	struct iommu_hw_info_vtd v;
	struct iommu_hw_info c = {
		.size = sizeof(c), .dev_id = devid, .data_len = sizeof(v),
		.data_uptr = (uintptr_t)&v,
	};
	int rc;

	memset(&v, 0xee, sizeof(v));
	rc = xioctl(fd, IOMMU_GET_HW_INFO, &c);
	step_ok(L("get_hw_info %s", what), rc,
		"type=%u data_len=%u pasid_log2=%u caps=0x%llx vtd.flags=0x%x cap=0x%016llx ecap=0x%016llx",
		c.out_data_type, c.data_len, c.out_max_pasid_log2,
		(unsigned long long)c.out_capabilities, v.flags,
		(unsigned long long)v.cap_reg, (unsigned long long)v.ecap_reg);
}

static int s1_alloc(__u32 flags, __u32 dev, __u32 parent, __u64 s1flags,
		    __u32 aw, __u32 rsvd, __u32 len, __u32 *out)
{
	struct {
		struct iommu_hwpt_vtd_s1 s1;
		__u64 tail;
	} d;

	memset(&d, 0, sizeof(d));
	d.s1.flags = s1flags;
	d.s1.pgtbl_addr = 0x10000;
	d.s1.addr_width = aw;
	d.s1.__reserved = rsvd;
	return hwpt_alloc(fd, flags, dev, parent, IOMMU_HWPT_DATA_VTD_S1, &d,
			  len, out);
}

static int invalidate(__u32 hwpt, __u32 type, __u32 entry_len, __u32 *num,
		      const struct iommu_hwpt_vtd_s1_invalidate *e)
{
	struct iommu_hwpt_invalidate c = {
		.size = sizeof(c), .hwpt_id = hwpt, .data_uptr = (uintptr_t)e,
		.data_type = type, .entry_len = entry_len, .entry_num = *num,
	};
	int rc = xioctl(fd, IOMMU_HWPT_INVALIDATE, &c);

	*num = c.entry_num;
	return rc;
}

static void inv_step(const char *label, __u32 hwpt, __u32 type, __u32 len,
		     __u32 num, const struct iommu_hwpt_vtd_s1_invalidate *e)
{
	int rc = invalidate(hwpt, type, len, &num, e);

	step(label, rc, "entry_num=%u", num);
}

static void dma_cc(const char *what)
{
	int rc = xioctl_val(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);

	step(L("check_extension DMA_CC_IOMMU%s", what), rc < 0 ? rc : 0,
	     rc < 0 ? NULL : "val=%d", rc);
}

int main(void)
{
	__u32 dev0, dev1, ioas = 0, x, pt, h0 = 0, hnp = 0, hd = 0, hp = 0, hs1 = 0;
	__u64 iova;
	char *buf = buf_alloc(1 << 20);
	int d0, d1, rc;

	fd = iofd_open();
	d0 = open_bind(0, &dev0);
	d1 = open_bind(1, &dev1);
	hw_info(dev0, "vfio0");
	hw_info(dev1, "vfio1");

	note("paging HWPTs by flags");
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	rc = hwpt_alloc(fd, 0, dev0, ioas, 0, NULL, 0, &h0);
	step_ok("hwpt_alloc flags 0", rc, "hwpt=%u", h0);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, dev0, ioas, 0, NULL, 0,
			&hnp);
	step_ok("hwpt_alloc NEST_PARENT", rc, "hwpt=%u", hnp);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, dev0, ioas, 0, NULL,
			0, &hd);
	step_ok("hwpt_alloc DIRTY_TRACKING", rc, "hwpt=%u", hd);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_PASID, dev0, ioas, 0, NULL, 0, &hp);
	step_ok("hwpt_alloc PASID", rc, "hwpt=%u", hp);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID,
			dev0, ioas, 0, NULL, 0, &x);
	step_ok("hwpt_alloc NEST_PARENT|PASID", rc, "hwpt=%u", x);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT |
			IOMMU_HWPT_ALLOC_DIRTY_TRACKING, dev0, ioas, 0, NULL, 0, &x);
	step_ok("hwpt_alloc NEST_PARENT|DIRTY_TRACKING", rc, "hwpt=%u", x);
	rc = hwpt_alloc(fd, 1 << 4, dev0, ioas, 0, NULL, 0, &x);
	step_ok("hwpt_alloc flag 1<<4", rc, "hwpt=%u", x);

	{
		struct iommu_hwpt_set_dirty_tracking c = {
			.size = sizeof(c), .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
			.hwpt_id = h0,
		};

		step("set_dirty_tracking on a flags-0 hwpt",
		     xioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &c), NULL);
	}

	note("nested HWPTs (IOMMU_HWPT_DATA_VTD_S1)");
	rc = s1_alloc(0, dev0, hnp ? hnp : h0, 0, 48, 0, 24, &hs1);
	step_ok("s1 on NEST_PARENT (or flags-0 hwpt)", rc, "hwpt=%u", hs1);
	rc = s1_alloc(0, dev0, h0, 0, 48, 0, 24, &x);
	step_ok("s1 on a flags-0 hwpt", rc, "hwpt=%u", x);
	rc = s1_alloc(0, dev0, ioas, 0, 48, 0, 24, &x);
	step_ok("s1 on an ioas", rc, "hwpt=%u", x);
	rc = s1_alloc(IOMMU_HWPT_ALLOC_PASID, dev0, h0, 0, 48, 0, 24, &x);
	step_ok("s1 PASID flag", rc, "hwpt=%u", x);
	rc = s1_alloc(IOMMU_HWPT_ALLOC_NEST_PARENT, dev0, h0, 0, 48, 0, 24, &x);
	step_ok("s1 NEST_PARENT flag", rc, "hwpt=%u", x);
	rc = s1_alloc(0, dev0, h0, 0, 48, 1, 24, &x);
	step_ok("s1 __reserved=1", rc, "hwpt=%u", x);
	rc = s1_alloc(0, dev0, h0, 0, 48, 0, 16, &x);
	step_ok("s1 data_len 16", rc, "hwpt=%u", x);

	note("HWPT_INVALIDATE");
	{
		struct iommu_hwpt_vtd_s1_invalidate e[2] = {
			{ .addr = 0x1000, .npages = 1 },
			{ .addr = 0, .npages = ~0ULL, .flags = IOMMU_VTD_INV_FLAGS_LEAF },
		};

		inv_step("invalidate flags-0 hwpt", h0,
			 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(e[0]), 2, e);
		inv_step("invalidate ioas", ioas,
			 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(e[0]), 2, e);
		inv_step("invalidate 0 entries on flags-0 hwpt", h0,
			 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(e[0]), 0, e);
	}

	note("attach and enforcement (first stage)");
	dma_cc(" (no compat ioas)");
	x = ioas;
	step("vfio_ioas SET", vfio_ioas(fd, IOMMU_VFIO_IOAS_SET, &x), NULL);
	pt = ioas;
	rc = attach(d0, 0, 0, &pt);
	step_ok("attach vfio0 -> ioas", rc, "pt=%u", pt);
	x = pt;
	pt = ioas;
	rc = attach(d1, 0, 0, &pt);
	step_ok("attach vfio1 -> ioas", rc, "pt=%u (same: %d)", pt, pt == x);
	show_ranges(fd, ioas, "iova_ranges attached");
	iova = 0x100000;
	step("ioas_map 0x100000+1M",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 1 << 20, &iova), NULL);
	iova = 0x7ffffffff000ULL;
	step("ioas_map last page of 47 bits",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 0x1000, &iova), NULL);
	iova = 0x200000;
	step("ioas_map read-only 0x200000+4K",
	     ioas_map(fd, ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		      buf, 0x1000, &iova), NULL);
	iova = 0x800000000000ULL;
	step("ioas_map at 1<<47",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 0x1000, &iova), NULL);
	dma_cc("");
	pt = h0;
	rc = attach(d0, 0, 0, &pt);
	step_ok("attach vfio0 -> flags-0 hwpt (replace)", rc, "pt=%u", pt);
	if (hnp) {
		pt = hnp;
		rc = attach(d1, 0, 0, &pt);
		step_ok("attach vfio1 -> NEST_PARENT hwpt", rc, "pt=%u", pt);
	}
	if (hs1) {
		pt = hs1;
		rc = attach(d1, 0, 0, &pt);
		step_ok("attach vfio1 -> nested hwpt", rc, "pt=%u", pt);
		{
			struct iommu_hwpt_vtd_s1_invalidate e[4] = {
				{ .addr = 0x1000, .npages = 1 },
				{ .addr = 0, .npages = ~0ULL,
				  .flags = IOMMU_VTD_INV_FLAGS_LEAF },
				{ .addr = 0x1234, .npages = 1 },
				{ .addr = 0x2000, .npages = 1, .flags = 2 },
			};
			struct iommu_hwpt_vtd_s1_invalidate r = {
				.addr = 0, .npages = 1, .__reserved = 1,
			};
			struct iommu_hwpt_vtd_s1_invalidate m = {
				.addr = 0x1000, .npages = ~0ULL,
			};

			inv_step("invalidate nested 2 good", hs1,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 24, 2, e);
			inv_step("invalidate nested 3rd unaligned", hs1,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 24, 3, e);
			inv_step("invalidate nested bad flag", hs1,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 24, 1, &e[3]);
			inv_step("invalidate nested reserved", hs1,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 24, 1, &r);
			inv_step("invalidate nested all pages at 0x1000", hs1,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 24, 1, &m);
			inv_step("invalidate nested type 1", hs1, 1, 24, 1, e);
			inv_step("invalidate nested entry_len 16", hs1,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 16, 1, e);
			inv_step("invalidate nested entry_len 32", hs1,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 32, 1, e);
		}
	}

	note("PASID (the e1000e has no PASID capability)");
	pt = hp;
	rc = attach(d0, VFIO_DEVICE_ATTACH_PASID, 1, &pt);
	step_ok("attach PASID 1 -> PASID hwpt", rc, "pt=%u", pt);
	pt = h0;
	rc = attach(d0, VFIO_DEVICE_ATTACH_PASID, 1, &pt);
	step_ok("attach PASID 1 -> flags-0 hwpt", rc, "pt=%u", pt);
	pt = ioas;
	rc = attach(d0, VFIO_DEVICE_ATTACH_PASID, 1, &pt);
	step_ok("attach PASID 1 -> ioas", rc, "pt=%u", pt);
	step("detach PASID 1", detach(d0, VFIO_DEVICE_DETACH_PASID, 1), NULL);
	pt = hp;
	rc = attach(d0, 0, 0, &pt);
	step_ok("attach vfio0 -> PASID hwpt (no pasid)", rc, "pt=%u", pt);

	note("teardown");
	step("detach vfio0", detach(d0, 0, 0), NULL);
	step("detach vfio1", detach(d1, 0, 0), NULL);
	dma_cc(" nothing attached");
	if (hs1)
		step("destroy nested hwpt", obj_destroy(fd, hs1), NULL);
	if (hnp)
		step("destroy NEST_PARENT hwpt", obj_destroy(fd, hnp), NULL);
	step("destroy flags-0 hwpt", obj_destroy(fd, h0), NULL);
	step("destroy PASID hwpt", obj_destroy(fd, hp), NULL);
	close(d0);
	close(d1);
	close(fd);
	(void)hd;
	return 0;
}
