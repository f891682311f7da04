// VFIO device cdevs on iommufd behind qemu's AMD IOMMU (amd-iommu): bind of
// both NICs, GET_HW_INFO (type AMD: the raw EFR and EFR2, out_capabilities),
// automatic HWPT sharing between the two NICs on one IOAS, the IOVA ranges
// the v1 table and the reserved windows leave, HWPT_ALLOC with and without
// DIRTY_TRACKING / NEST_PARENT / PASID / AMD guest data, and enforcement:
// DMA_CC_IOMMU on the compat IOAS reads 1 on every domain (AMD forces
// coherency in every PTE).
// oracle: --amd
// platform: amd-vi
#include "vfio_body.h"

static void amd_hw_info(__u32 devid, __u32 len, __u32 flags, __u32 type,
			const char *what)
{
	unsigned char data[40];
	struct iommu_hw_info c = {
		.size = sizeof(c), .flags = flags, .dev_id = devid,
		.data_len = len, .data_uptr = (uintptr_t)data,
		.in_data_type = type,
	};
	struct iommu_hw_info_amd *a = (void *)data;
	int rc, i, dirty = 0;

	memset(data, 0xee, sizeof(data));
	c.out_capabilities = 0x5a5a;
	rc = xioctl(fd, IOMMU_GET_HW_INFO, &c);
	printf("get_hw_info%s: %s", what, rc_str(rc));
	if (rc == 0) {
		printf(" type=%u data_len=%u pasid_log2=%u caps=0x%llx",
		       c.out_data_type, c.data_len, c.out_max_pasid_log2,
		       (unsigned long long)c.out_capabilities);
		if (len >= 16)
			printf(" efr=0x%016llx efr2=0x%016llx",
			       (unsigned long long)a->efr,
			       (unsigned long long)a->efr2);
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

static void map_at(__u32 ioas, void *buf, __u64 iova, const char *what)
{
	step(what, ioas_map(fd, ioas, MAP_FIXED_RW, buf, 0x1000, &iova), NULL);
}

int main(void)
{
	int d0, d1;
	__u32 dev0 = 0, dev1 = 0, ioas = 0, ioas2 = 0, pt, hw = 0, hw2 = 0;
	__u32 h = 0, x;
	char *buf = buf_alloc(1 << 20);
	int rc;

	fd = iofd_open();
	d0 = open_dev(0);
	d1 = open_dev(1);

	note("bind");
	rc = bind_dev(d0, fd, 24, 0, &dev0);
	step_ok("bind vfio0", rc, "devid=%u", dev0);
	rc = bind_dev(d1, fd, 24, 0, &dev1);
	step_ok("bind vfio1", rc, "devid=%u", dev1);
	dev_info(d0, " vfio0");
	dev_info(d1, " vfio1");

	note("hw info");
	amd_hw_info(dev0, 16, 0, 0, "");
	amd_hw_info(dev1, 16, 0, 0, " vfio1");
	amd_hw_info(dev0, 32, 0, 0, " data_len 32");
	amd_hw_info(dev0, 8, 0, 0, " data_len 8");
	amd_hw_info(dev0, 0, 0, 0, " data_len 0");
	amd_hw_info(dev0, 16, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
		    IOMMU_HW_INFO_TYPE_AMD, " type AMD");
	amd_hw_info(dev0, 16, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
		    IOMMU_HW_INFO_TYPE_DEFAULT, " type DEFAULT");
	amd_hw_info(dev0, 16, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
		    IOMMU_HW_INFO_TYPE_INTEL_VTD, " type VTD");
	amd_hw_info(dev0, 16, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
		    IOMMU_HW_INFO_TYPE_ARM_SMMUV3, " type SMMUV3");

	note("automatic HWPT, shared by both NICs");
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	show_ranges(fd, ioas, "iova_ranges before attach");
	pt = ioas;
	rc = attach(d0, 16, 0, &pt);
	step_ok("attach vfio0 -> ioas", rc, "pt=%u", pt);
	hw = pt;
	pt = ioas;
	rc = attach(d1, 16, 0, &pt);
	step_ok("attach vfio1 -> ioas", rc, "pt=%u", pt);
	printf("vfio1 shares vfio0's hwpt: %s\n", pt == hw ? "yes" : "no");
	show_ranges(fd, ioas, "iova_ranges attached");
	map_at(ioas, buf, 0x100000, "ioas_map 0x100000");
	map_at(ioas, buf, 0xfee00000, "ioas_map in the MSI window");
	map_at(ioas, buf, 0xfd00000000ULL, "ioas_map in the HyperTransport range");
	map_at(ioas, buf, 0x10000000000ULL, "ioas_map at 1<<40");
	map_at(ioas, buf, 1ULL << 52, "ioas_map at 1<<52");
	map_at(ioas, buf, 0xfffffffffffff000ULL, "ioas_map last page of 64 bits");
	dma_cc(" (no compat ioas)");
	x = ioas;
	step("vfio_ioas SET", vfio_ioas(fd, IOMMU_VFIO_IOAS_SET, &x), NULL);
	dma_cc(" automatic hwpt");

	note("explicit HWPTs");
	rc = hwpt_alloc(fd, 0, dev0, ioas, 0, NULL, 0, &h);
	step_ok("hwpt_alloc flags 0", rc, "hwpt=%u", h);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, dev0, ioas, 0,
			NULL, 0, &x);
	step_ok("hwpt_alloc DIRTY_TRACKING", rc, "hwpt=%u", x);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, dev0, ioas, 0, NULL,
			0, &x);
	step_ok("hwpt_alloc NEST_PARENT", rc, "hwpt=%u", x);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			IOMMU_HWPT_ALLOC_NEST_PARENT, dev0, ioas, 0, NULL, 0, &x);
	step_ok("hwpt_alloc DIRTY_TRACKING|NEST_PARENT", rc, "hwpt=%u", x);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_PASID, dev0, ioas, 0, NULL, 0, &x);
	step_ok("hwpt_alloc PASID", rc, "hwpt=%u", x);
	{
		struct iommu_hwpt_amd_guest g = { 0 };

		rc = hwpt_alloc(fd, 0, dev0, ioas, IOMMU_HWPT_DATA_AMD_GUEST,
				&g, sizeof(g), &x);
		step_ok("hwpt_alloc AMD_GUEST data on an ioas", rc, "hwpt=%u",
			x);
		rc = hwpt_alloc(fd, 0, dev0, hw, IOMMU_HWPT_DATA_AMD_GUEST, &g,
				sizeof(g), &x);
		step_ok("hwpt_alloc AMD_GUEST nested on the auto hwpt", rc,
			"hwpt=%u", x);
	}
	pt = h;
	rc = attach(d0, 16, 0, &pt);
	step_ok("attach vfio0 -> explicit hwpt (replace)", rc, "pt=%u", pt);
	pt = h;
	rc = attach(d1, 16, 0, &pt);
	step_ok("attach vfio1 -> explicit hwpt", rc, "pt=%u", pt);
	step("destroy auto hwpt (now unused)", obj_destroy(fd, hw), NULL);
	dma_cc(" explicit hwpt");

	note("a second IOAS: one more shared automatic HWPT");
	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc 2", rc, "id=%u", ioas2);
	pt = ioas2;
	rc = attach(d0, 16, 0, &pt);
	step_ok("attach vfio0 -> ioas2", rc, "pt=%u", pt);
	hw2 = pt;
	pt = ioas2;
	rc = attach(d1, 16, 0, &pt);
	step_ok("attach vfio1 -> ioas2", rc, "pt=%u", pt);
	printf("vfio1 shares vfio0's hwpt on ioas2: %s\n",
	       pt == hw2 ? "yes" : "no");
	step("destroy explicit hwpt (unused)", obj_destroy(fd, h), NULL);
	dma_cc(" no hwpt on the compat ioas");

	note("detach and unbind");
	step("detach vfio0", detach(d0, 12, 0), NULL);
	step("detach vfio1", detach(d1, 12, 0), NULL);
	step("destroy auto hwpt of ioas2 after detach", obj_destroy(fd, hw2),
	     NULL);
	close(d0);
	close(d1);
	step("destroy devid of closed vfio0", obj_destroy(fd, dev0), NULL);
	step("destroy ioas2", obj_destroy(fd, ioas2), NULL);
	step("destroy ioas", obj_destroy(fd, ioas), NULL);
	close(fd);
	return 0;
}
