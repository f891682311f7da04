// VFIO device cdevs on iommufd behind qemu's SMMUv3 (arm64 virt,
// iommu=smmuv3, booted through UEFI/ACPI): bind of both NICs (the SMMU is
// coherent: IORT's COHACC override), GET_HW_INFO (type ARM_SMMUV3: IDR0-5,
// IIDR, AIDR as the SMMU reports them), automatic HWPT sharing between the
// two NICs on one IOAS, the IOVA ranges a stage-1 domain and the software MSI
// window leave, HWPT_ALLOC with and without DIRTY_TRACKING / NEST_PARENT /
// PASID / SMMUv3 nested data, a vSMMU on a non-nest-parent, and enforcement:
// qemu's root complex has no CANWBS in IORT, so no domain enforces cache
// coherency and DMA_CC_IOMMU on the compat IOAS reads 0 once it has one.
// oracle: --arm
// platform: qemu-smmuv3
#include "vfio_body.h"

static void smmu_hw_info(__u32 devid, __u32 len, __u32 flags, __u32 type,
			 const char *what)
{
	unsigned char data[48];
	struct iommu_hw_info c = {
		.size = sizeof(c), .flags = flags, .dev_id = devid,
		.data_len = len, .data_uptr = (uintptr_t)data,
		.in_data_type = type,
	};
	struct iommu_hw_info_arm_smmuv3 *a = (void *)data;
	int rc, i, dirty = 0;

	memset(data, 0xee, sizeof(data));
	c.out_capabilities = 0x5a5a;
	rc = xioctl(fd, IOMMU_GET_HW_INFO, &c);
	printf("get_hw_info%s: %s", what, rc_str(rc));
	if (rc == 0) {
		printf(" type=%u data_len=%u pasid_log2=%u caps=0x%llx",
		       c.out_data_type, c.data_len, c.out_max_pasid_log2,
		       (unsigned long long)c.out_capabilities);
		if (len >= 40) {
			printf(" flags=0x%x reserved=0x%x idr=", a->flags,
			       a->__reserved);
			for (i = 0; i < 6; i++)
				printf("%s0x%08x", i ? "," : "", a->idr[i]);
			printf(" iidr=0x%08x aidr=0x%08x", a->iidr, a->aidr);
		}
		printf(" bytes=");
		for (i = 0; i < 48 && i < (int)len + 4; i++) {
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

static int viommu_alloc(__u32 dev, __u32 hwpt, __u32 type, __u32 *out)
{
	struct iommu_viommu_alloc c = {
		.size = sizeof(c), .type = type, .dev_id = dev, .hwpt_id = hwpt,
	};
	int rc = xioctl(fd, IOMMU_VIOMMU_ALLOC, &c);

	if (rc == 0 && out)
		*out = c.out_viommu_id;
	return rc;
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
	smmu_hw_info(dev0, 40, 0, 0, "");
	smmu_hw_info(dev1, 40, 0, 0, " vfio1");
	smmu_hw_info(dev0, 44, 0, 0, " data_len 44");
	smmu_hw_info(dev0, 16, 0, 0, " data_len 16");
	smmu_hw_info(dev0, 0, 0, 0, " data_len 0");
	smmu_hw_info(dev0, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
		     IOMMU_HW_INFO_TYPE_ARM_SMMUV3, " type SMMUV3");
	smmu_hw_info(dev0, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
		     IOMMU_HW_INFO_TYPE_DEFAULT, " type DEFAULT");
	smmu_hw_info(dev0, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
		     IOMMU_HW_INFO_TYPE_INTEL_VTD, " type VTD");
	smmu_hw_info(dev0, 40, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
		     IOMMU_HW_INFO_TYPE_AMD, " type AMD");

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
	map_at(ioas, buf, 0x8000000, "ioas_map in the software MSI window");
	map_at(ioas, buf, 0x80ff000, "ioas_map last page of the MSI window");
	map_at(ioas, buf, 0x8100000, "ioas_map after the MSI window");
	map_at(ioas, buf, 0x10000000000ULL, "ioas_map at 1<<40");
	map_at(ioas, buf, 0xfffffffff000ULL, "ioas_map last page of 48 bits");
	map_at(ioas, buf, 1ULL << 48, "ioas_map at 1<<48");
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
	if (rc == 0)
		step("destroy the PASID hwpt", obj_destroy(fd, x), NULL);
	{
		struct iommu_hwpt_arm_smmuv3 s = { { 0, 0 } };

		rc = hwpt_alloc(fd, 0, dev0, ioas, IOMMU_HWPT_DATA_ARM_SMMUV3,
				&s, sizeof(s), &x);
		step_ok("hwpt_alloc ARM_SMMUV3 data on an ioas", rc, "hwpt=%u",
			x);
		rc = hwpt_alloc(fd, 0, dev0, hw, IOMMU_HWPT_DATA_ARM_SMMUV3, &s,
				sizeof(s), &x);
		step_ok("hwpt_alloc ARM_SMMUV3 nested on the auto hwpt", rc,
			"hwpt=%u", x);
	}
	rc = viommu_alloc(dev0, hw, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, &x);
	step_ok("viommu_alloc ARM_SMMUV3 on the auto hwpt", rc, "viommu=%u", x);
	rc = viommu_alloc(dev0, hw, IOMMU_VIOMMU_TYPE_DEFAULT, &x);
	step_ok("viommu_alloc DEFAULT on the auto hwpt", rc, "viommu=%u", x);
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
