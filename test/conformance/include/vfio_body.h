/* SPDX-License-Identifier: MIT */
/*
 * vfio_body.h - the body shared by vfio_cdev.c (VT-d without snoop control)
 * and vfio_cdev_sc.c (with snoop control): VFIO device cdevs bound to an
 * iommufd, attach/replace/detach, GET_HW_INFO, HWPT_ALLOC, DMA_CC_IOMMU.
 * The machine has two e1000e NICs, /dev/vfio/devices/vfio0 and vfio1.
 */
#ifndef IOMMUFD_EMU_VFIO_BODY_H
#define IOMMUFD_EMU_VFIO_BODY_H

#include "step.h"
#include "iofd.h"

static int fd;

static int open_dev(int n)
{
	char path[64];
	int d;

	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", n);
	d = open(path, O_RDWR);
	step(L("open vfio%d", n), d < 0 ? -errno : 0, NULL);
	return d;
}

static int bind_dev(int dev, int iommufd, __u32 argsz, __u32 flags,
		    __u32 *devid)
{
	struct {
		struct vfio_device_bind_iommufd b;
		__u64 extra;
	} c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.b.argsz = argsz;
	c.b.flags = flags;
	c.b.iommufd = iommufd;
	rc = xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &c);
	if (rc == 0 && devid)
		*devid = c.b.out_devid;
	return rc;
}

static int attach(int dev, __u32 argsz, __u32 flags, __u32 *pt)
{
	struct vfio_device_attach_iommufd_pt c = {
		.argsz = argsz, .flags = flags, .pt_id = *pt,
	};
	int rc = xioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &c);

	if (rc == 0)
		*pt = c.pt_id;
	return rc;
}

static int detach(int dev, __u32 argsz, __u32 flags)
{
	struct vfio_device_detach_iommufd_pt c = {
		.argsz = argsz, .flags = flags,
	};

	return xioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &c);
}

static void dev_info(int dev, const char *what)
{
	struct vfio_device_info c = { .argsz = sizeof(c) };
	int rc = xioctl(dev, VFIO_DEVICE_GET_INFO, &c);

	step_ok(L("device_get_info%s", what), rc,
		"flags=0x%x num_regions=%u num_irqs=%u", c.flags, c.num_regions,
		c.num_irqs);
}

static void dma_cc(const char *what)
{
	int rc = xioctl_val(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);

	step(L("check_extension DMA_CC_IOMMU%s", what), rc < 0 ? rc : 0,
	     rc < 0 ? NULL : "val=%d", rc);
}

static void hw_info(__u32 devid, __u32 len, __u32 size, __u32 flags,
		    __u32 type, const char *what)
{
	unsigned char data[40];
	struct iommu_hw_info c = {
		.size = size, .flags = flags, .dev_id = devid, .data_len = len,
		.data_uptr = (uintptr_t)data, .in_data_type = type,
	};
	struct iommu_hw_info_vtd *v = (void *)data;
	int rc, i, dirty = 0;

	memset(data, 0xee, sizeof(data));
	c.out_capabilities = 0x5a5a;
	rc = xioctl(fd, IOMMU_GET_HW_INFO, &c);
	printf("get_hw_info%s: %s", what, rc_str(rc));
	if (rc == 0) {
		printf(" type=%u data_len=%u pasid_log2=%u caps=0x%llx",
		       c.out_data_type, c.data_len, c.out_max_pasid_log2,
		       (unsigned long long)c.out_capabilities);
		if (len >= 24)
			printf(" vtd.flags=0x%x cap=0x%016llx ecap=0x%016llx",
			       v->flags, (unsigned long long)v->cap_reg,
			       (unsigned long long)v->ecap_reg);
		printf(" bytes=");
		for (i = 0; i < 40 && i < (int)len + 4; i++) {
			printf("%02x", data[i]);
			if (i >= (int)len && data[i] != 0xee)
				dirty = 1;
		}
		if (dirty)
			printf(" (wrote past data_len)");
	}
	putchar('\n');
	fflush(stdout);
}

static int vfio_main(void)
{
	int d0, d1, nullfd;
	__u32 dev0 = 0, dev1 = 0, ioas = 0, ioas2 = 0, pt, hw = 0, h2 = 0, hp = 0, x;
	__u64 iova;
	char *buf = buf_alloc(1 << 20);
	int rc;

	fd = iofd_open();
	d0 = open_dev(0);
	d1 = open_dev(1);

	note("before bind");
	dev_info(d0, " unbound");
	pt = 1;
	step("attach unbound", attach(d0, 16, 0, &pt), NULL);
	step("check_extension on a device fd",
	     xioctl_val(d0, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), NULL);

	note("bind");
	nullfd = open("/dev/null", O_RDWR);
	step("bind argsz 12", bind_dev(d0, fd, 12, 0, &dev0), NULL);
	step("bind flags 2", bind_dev(d0, fd, 24, 2, &dev0), NULL);
	step("bind TOKEN flag, no token",
	     bind_dev(d0, fd, 24, VFIO_DEVICE_BIND_FLAG_TOKEN, &dev0), NULL);
	step("bind iommufd -1", bind_dev(d0, -1, 24, 0, &dev0), NULL);
	step("bind iommufd 999", bind_dev(d0, 999, 24, 0, &dev0), NULL);
	step("bind to /dev/null", bind_dev(d0, nullfd, 24, 0, &dev0), NULL);
	{
		struct {
			struct vfio_device_bind_iommufd b;
			__u64 extra;
		} c;

		memset(&c, 0, sizeof(c));
		c.b.argsz = 32;
		c.b.iommufd = fd;
		c.extra = 1;
		step("bind argsz 32 non-zero tail",
		     xioctl(d0, VFIO_DEVICE_BIND_IOMMUFD, &c), NULL);
	}
	rc = bind_dev(d0, fd, 16, 0, &dev0);
	step_ok("bind vfio0 argsz 16", rc, "devid=%u", dev0);
	step("bind vfio0 again", bind_dev(d0, fd, 24, 0, &x), NULL);
	rc = bind_dev(d1, fd, 24, 0, &dev1);
	step_ok("bind vfio1", rc, "devid=%u", dev1);
	dev_info(d0, "");
	step("destroy a device id", obj_destroy(fd, dev0), NULL);

	note("hw info");
	hw_info(dev0, 24, 40, 0, 0, "");
	hw_info(dev0, 32, 40, 0, 0, " data_len 32");
	hw_info(dev0, 8, 40, 0, 0, " data_len 8");
	hw_info(dev0, 0, 40, 0, 0, " data_len 0");
	hw_info(dev0, 24, 32, 0, 0, " size 32");
	hw_info(dev1, 24, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
		IOMMU_HW_INFO_TYPE_INTEL_VTD, " vfio1 type VTD");
	hw_info(dev0, 24, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
		IOMMU_HW_INFO_TYPE_ARM_SMMUV3, " type SMMUV3");
	hw_info(dev0, 24, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE, 0, " type DEFAULT");
	hw_info(99, 24, 40, 0, 0, " bad dev");

	note("attach to an IOAS");
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	show_ranges(fd, ioas, "iova_ranges before attach");
	iova = 0xfee00000;
	step("ioas_map in the MSI window before attach",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 0x1000, &iova), NULL);
	pt = ioas;
	rc = attach(d0, 16, 0, &pt);
	step_ok("attach vfio0 -> ioas (MSI window mapped)", rc, "pt=%u", pt);
	step("ioas_unmap MSI window",
	     ioas_unmap(fd, ioas, 0xfee00000, 0x1000, NULL), NULL);
	pt = ioas;
	rc = attach(d0, 12, 0, &pt);
	step_ok("attach vfio0 -> ioas argsz 12", rc, "pt=%u", pt);
	hw = pt;
	pt = ioas;
	rc = attach(d1, 16, 0, &pt);
	step_ok("attach vfio1 -> ioas", rc, "pt=%u", pt);
	show_ranges(fd, ioas, "iova_ranges attached");
	iova = 0x100000;
	step("ioas_map 0x100000+1M",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 1 << 20, &iova), NULL);
	iova = 0xfee00000;
	step("ioas_map in the MSI window",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 0x1000, &iova), NULL);
	iova = 0x7ffffff000ULL;
	step("ioas_map last page of 39 bits",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 0x1000, &iova), NULL);
	iova = 0x8000000000ULL;
	step("ioas_map at 1<<39",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 0x1000, &iova), NULL);
	iova = 0;
	rc = ioas_map(fd, ioas, MAP_RW, buf, 0x10000, &iova);
	step_ok("ioas_map auto 64K", rc, "iova=0x%llx", (unsigned long long)iova);
	pt = 99;
	step("attach -> id 99", attach(d0, 16, 0, &pt), NULL);
	pt = dev1;
	step("attach -> a device id", attach(d0, 16, 0, &pt), NULL);
	pt = ioas;
	step("attach argsz 8", attach(d0, 8, 0, &pt), NULL);
	pt = ioas;
	step("attach flags 2", attach(d0, 16, 2, &pt), NULL);
	pt = ioas;
	step("attach PASID flag", attach(d0, 16, VFIO_DEVICE_ATTACH_PASID, &pt),
	     NULL);

	note("explicit HWPTs");
	rc = hwpt_alloc(fd, 0, dev0, ioas, 0, NULL, 0, &h2);
	step_ok("hwpt_alloc flags 0", rc, "hwpt=%u", h2);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, dev0, ioas, 0, NULL, 0,
			&x);
	step_ok("hwpt_alloc NEST_PARENT", rc, "hwpt=%u", x);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, dev0, ioas, 0, NULL,
			0, &x);
	step_ok("hwpt_alloc DIRTY_TRACKING", rc, "hwpt=%u", x);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_PASID, dev0, ioas, 0, NULL, 0, &hp);
	step_ok("hwpt_alloc PASID", rc, "hwpt=%u", hp);
	{
		struct iommu_hwpt_vtd_s1 s1 = { .addr_width = 48 };

		rc = hwpt_alloc(fd, 0, dev0, ioas, IOMMU_HWPT_DATA_VTD_S1, &s1,
				sizeof(s1), &x);
		step_ok("hwpt_alloc VTD_S1 data on an ioas", rc, "hwpt=%u", x);
		rc = hwpt_alloc(fd, 0, dev0, hw, IOMMU_HWPT_DATA_VTD_S1, &s1,
				sizeof(s1), &x);
		step_ok("hwpt_alloc VTD_S1 nested on the auto hwpt", rc,
			"hwpt=%u", x);
	}
	dma_cc(" (no compat ioas)");
	x = ioas;
	step("vfio_ioas SET", vfio_ioas(fd, IOMMU_VFIO_IOAS_SET, &x), NULL);
	dma_cc("");

	note("replace");
	pt = h2;
	rc = attach(d0, 16, 0, &pt);
	step_ok("attach vfio0 -> explicit hwpt (replace)", rc, "pt=%u", pt);
	step("destroy auto hwpt (vfio1 still on it)", obj_destroy(fd, hw), NULL);
	pt = h2;
	rc = attach(d1, 16, 0, &pt);
	step_ok("attach vfio1 -> explicit hwpt", rc, "pt=%u", pt);
	step("destroy auto hwpt (now unused)", obj_destroy(fd, hw), NULL);
	step("destroy explicit hwpt in use", obj_destroy(fd, h2), NULL);
	step("destroy ioas in use", obj_destroy(fd, ioas), NULL);
	dma_cc(" explicit hwpt");
	pt = ioas;
	rc = attach(d0, 16, 0, &pt);
	step_ok("attach vfio0 -> ioas again", rc, "pt=%u", pt);
	hw = pt;
	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc 2", rc, "id=%u", ioas2);
	pt = ioas2;
	rc = attach(d0, 16, 0, &pt);
	step_ok("attach vfio0 -> ioas2 (replace across IOASes)", rc, "pt=%u", pt);
	step("destroy previous auto hwpt", obj_destroy(fd, hw), NULL);

	note("detach");
	step("detach vfio0", detach(d0, 12, 0), NULL);
	step("detach vfio0 again", detach(d0, 12, 0), NULL);
	step("detach argsz 4", detach(d0, 4, 0), NULL);
	step("detach flags 2", detach(d0, 12, 2), NULL);
	step("detach PASID flag", detach(d0, 12, VFIO_DEVICE_DETACH_PASID), NULL);
	step("detach vfio1 argsz 8", detach(d1, 8, 0), NULL);
	dma_cc(" explicit hwpt, nothing attached");
	step("destroy explicit hwpt", obj_destroy(fd, h2), NULL);
	dma_cc(" PASID hwpt left");
	step("destroy PASID hwpt", obj_destroy(fd, hp), NULL);
	dma_cc(" no hwpt");
	step("destroy ioas2", obj_destroy(fd, ioas2), NULL);
	show_ranges(fd, ioas, "iova_ranges after detach");

	note("close the device fds (unbind)");
	close(d0);
	step("destroy devid of closed vfio0", obj_destroy(fd, dev0), NULL);
	pt = ioas;
	rc = attach(d1, 16, 0, &pt);
	step_ok("attach vfio1 -> ioas", rc, "pt=%u", pt);
	dma_cc(" vfio1 attached");
	close(d1);
	step("destroy auto hwpt after closing vfio1", obj_destroy(fd, pt), NULL);
	step("destroy ioas", obj_destroy(fd, ioas), NULL);
	rc = ioas_alloc(fd, &x);
	step_ok("ioas_alloc", rc, "id=%u", x);
	d0 = open_dev(0);
	rc = bind_dev(d0, fd, 24, 0, &dev0);
	step_ok("bind vfio0 again after close", rc, "devid=%u", dev0);
	close(d0);
	close(fd);
	return 0;
}

#endif /* IOMMUFD_EMU_VFIO_BODY_H */
