// Test ABI mock domains: MOCK_DOMAIN IDs, aperture and alignment in the
// IOVA ranges, pinning on map (EFAULT), MD_CHECK_MAP / MD_CHECK_REFS,
// DESTROY EBUSY while attached, MOCK_DOMAIN_REPLACE, HWPT_ALLOC on a mock
// device, GET_HW_INFO of a mock device.
// platform: mock
#include "step.h"
#include "iofd.h"

static int fd;

static void map_fixed(__u32 ioas, void *va, __u64 iova, __u64 len,
		      const char *what)
{
	__u64 io = iova;
	int rc = ioas_map(fd, ioas, MAP_FIXED_RW, va, len, &io);

	step(L("ioas_map %u fixed 0x%llx+0x%llx%s", ioas,
	       (unsigned long long)iova, (unsigned long long)len, what), rc,
	     NULL);
}

static __u64 map_auto(__u32 ioas, void *va, __u64 len, const char *what)
{
	__u64 io = 0;
	int rc = ioas_map(fd, ioas, MAP_RW, va, len, &io);

	step_ok(L("ioas_map %u auto +0x%llx%s", ioas, (unsigned long long)len,
		  what), rc, "iova=0x%llx", (unsigned long long)io);
	return io;
}

int main(void)
{
	char *buf = buf_alloc(4 << 20);
	__u32 ioas = 0, ioas2 = 0, stdev = 0, hwpt = 0, idev = 0;
	__u32 stdev2 = 0, hwpt2 = 0, idev2 = 0, h = 0, pt;
	__u64 iova, n;
	int rc;

	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	map_fixed(ioas, buf, 0x100000, 0x4000, " (before any domain)");
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev);
	step_ok("mock_domain on ioas (mapping outside aperture)", rc,
		"stdev=%u hwpt=%u idev=%u", stdev, hwpt, idev);
	step("ioas_unmap all", ioas_unmap(fd, ioas, 0, ~0ULL, NULL), NULL);
	map_fixed(ioas, buf, 0x1000000, 0x4000, " (inside aperture)");
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev);
	step_ok("mock_domain on ioas", rc, "stdev=%u hwpt=%u idev=%u", stdev,
		hwpt, idev);
	show_ranges(fd, ioas, "iova_ranges with mock domain");
	step("md_check_map 0x1000000+0x4000",
	     check_map(fd, hwpt, 0x1000000, 0x4000, buf), NULL);
	step("md_check_map wrong buffer",
	     check_map(fd, hwpt, 0x1000000, 0x4000, buf + 0x4000), NULL);
	step("md_check_map unmapped iova",
	     check_map(fd, hwpt, 0x2000000, 0x1000, buf), NULL);
	step("md_check_map unaligned",
	     check_map(fd, hwpt, 0x1000100, 0x1000, buf), NULL);
	step("md_check_map on ioas id",
	     check_map(fd, ioas, 0x1000000, 0x1000, buf), NULL);
	step("md_check_refs 1", check_refs(fd, buf, 0x4000, 1), NULL);
	step("md_check_refs 2", check_refs(fd, buf, 0x4000, 2), NULL);
	step("md_check_refs unpinned page is 0",
	     check_refs(fd, buf + 0x4000, 0x1000, 0), NULL);
	step("md_check_refs unaligned", check_refs(fd, buf + 1, 0x1000, 0), NULL);

	note("maps with the domain attached");
	map_fixed(ioas, buf, 0xfff000, 0x1000, " below aperture");
	map_fixed(ioas, buf, 0x7ffff000, 0x2000, " crosses aperture end");
	map_fixed(ioas, buf, 0x7ffff000, 0x1000, " last page");
	map_fixed(ioas, buf, 0x1100800, 0x800, " mock page (2K)");
	map_fixed(ioas, buf, 0x1100400, 0x400, " below mock page");
	map_fixed(ioas, buf + 0x800, 0x1200800, 0x1800, " va+0x800");
	map_fixed(ioas, buf + 0x400, 0x1300400, 0x1000, " va+0x400");
	map_fixed(ioas, (void *)0x1000, 0x1400000, 0x1000, " unmapped va");
	{
		char *ro = mmap(NULL, 0x2000, PROT_READ,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		iova = 0x1500000;
		rc = ioas_map(fd, ioas, MAP_FIXED_RW, ro, 0x2000, &iova);
		step("ioas_map fixed rw of a PROT_READ buffer", rc, NULL);
		iova = 0x1500000;
		rc = ioas_map(fd, ioas, IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_READABLE, ro, 0x2000, &iova);
		step("ioas_map fixed read-only of a PROT_READ buffer", rc, NULL);
	}
	iova = map_auto(ioas, buf, 0x1000, "");
	iova = map_auto(ioas, buf, 0x200000, "");
	iova = map_auto(ioas, buf + 0x800, 0x800, " va+0x800");
	step("md_check_map auto 0x800 area",
	     check_map(fd, hwpt, iova, 0x800, buf + 0x800), NULL);
	note("pins of page 0 after several maps: %d", page_pins(fd, buf));
	note("pins of page 1: %d", page_pins(fd, buf + 0x1000));
	rc = ioas_unmap(fd, ioas, 0x1100800, 0x800, &n);
	step_ok("ioas_unmap mock page", rc, "length=0x%llx",
		(unsigned long long)n);

	note("destroy while attached");
	step("destroy ioas", obj_destroy(fd, ioas), NULL);
	step("destroy hwpt", obj_destroy(fd, hwpt), NULL);
	step("destroy idev", obj_destroy(fd, idev), NULL);

	note("second mock device on the same ioas");
	rc = mock_domain(fd, ioas, 0, &stdev2, &hwpt2, &idev2);
	step_ok("mock_domain 2 on ioas", rc, "stdev=%u hwpt=%u idev=%u", stdev2,
		hwpt2, idev2);
	step("md_check_map dev2 0x1000000+0x4000",
	     check_map(fd, hwpt2, 0x1000000, 0x4000, buf), NULL);
	note("pins of page 1 with two devices: %d", page_pins(fd, buf + 0x1000));

	note("hwpt_alloc on a mock device");
	rc = hwpt_alloc(fd, 0, idev, ioas, 0, NULL, 0, &h);
	step_ok("hwpt_alloc flags 0", rc, "hwpt=%u", h);
	step("md_check_map new hwpt (filled from the ioas)",
	     check_map(fd, h, 0x1000000, 0x4000, buf), NULL);
	note("pins of page 1 with a third domain: %d",
	     page_pins(fd, buf + 0x1000));
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, idev, ioas, 0, NULL,
			0, &pt);
	step_ok("hwpt_alloc NEST_PARENT", rc, "hwpt=%u", pt);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas, 0,
			NULL, 0, &pt);
	step_ok("hwpt_alloc DIRTY_TRACKING", rc, "hwpt=%u", pt);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_PASID, idev, ioas, 0, NULL, 0, &pt);
	step_ok("hwpt_alloc PASID", rc, "hwpt=%u", pt);
	rc = hwpt_alloc(fd, IOMMU_HWPT_FAULT_ID_VALID, idev, ioas, 0, NULL, 0,
			&pt);
	step_ok("hwpt_alloc FAULT_ID_VALID, fault_id 0", rc, "hwpt=%u", pt);
	rc = hwpt_alloc(fd, 1u << 4, idev, ioas, 0, NULL, 0, &pt);
	step_ok("hwpt_alloc flags 0x10", rc, "hwpt=%u", pt);
	rc = hwpt_alloc(fd, 0, 99, ioas, 0, NULL, 0, &pt);
	step_ok("hwpt_alloc bad dev", rc, "hwpt=%u", pt);
	rc = hwpt_alloc(fd, 0, idev, 99, 0, NULL, 0, &pt);
	step_ok("hwpt_alloc bad pt", rc, "hwpt=%u", pt);
	rc = hwpt_alloc(fd, 0, idev, stdev, 0, NULL, 0, &pt);
	step_ok("hwpt_alloc pt is a selftest obj", rc, "hwpt=%u", pt);
	rc = hwpt_alloc(fd, 0, ioas, ioas, 0, NULL, 0, &pt);
	step_ok("hwpt_alloc dev is an ioas", rc, "hwpt=%u", pt);
	rc = hwpt_alloc(fd, 0, stdev, ioas, 0, NULL, 0, &pt);
	step_ok("hwpt_alloc dev is a selftest obj", rc, "hwpt=%u", pt);
	{
		struct iommu_hwpt_selftest d = { .iotlb = 0x1234 };

		rc = hwpt_alloc(fd, 0, idev, ioas, IOMMU_HWPT_DATA_SELFTEST,
				&d, sizeof(d), &pt);
		step_ok("hwpt_alloc paging with selftest data", rc, "hwpt=%u",
			pt);
		rc = hwpt_alloc(fd, 0, idev, h, IOMMU_HWPT_DATA_SELFTEST, &d,
				sizeof(d), &pt);
		step_ok("hwpt_alloc nested on non-NEST_PARENT", rc, "hwpt=%u",
			pt);
		rc = hwpt_alloc(fd, 0, idev, h, 0, NULL, 0, &pt);
		step_ok("hwpt_alloc nested no data", rc, "hwpt=%u", pt);
	}

	note("replace");
	pt = h;
	rc = mock_replace(fd, stdev, &pt);
	step_ok("mock_domain_replace stdev -> manual hwpt", rc, "pt=%u", pt);
	step("destroy auto hwpt (device 2 still attached)",
	     obj_destroy(fd, hwpt), NULL);
	step("destroy manual hwpt while attached", obj_destroy(fd, h), NULL);
	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc 2", rc, "id=%u", ioas2);
	pt = ioas2;
	rc = mock_replace(fd, stdev, &pt);
	step_ok("mock_domain_replace stdev -> empty ioas2", rc, "pt=%u", pt);
	step("md_check_map on ioas2's hwpt (nothing mapped)",
	     check_map(fd, pt, 0x1000000, 0x1000, buf), NULL);
	step("destroy manual hwpt after replace", obj_destroy(fd, h), NULL);
	pt = 99;
	rc = mock_replace(fd, stdev, &pt);
	step_ok("mock_domain_replace to bad id", rc, "pt=%u", pt);
	pt = ioas;
	rc = mock_replace(fd, 99, &pt);
	step_ok("mock_domain_replace bad stdev", rc, "pt=%u", pt);

	note("hw info of a mock device");
	{
		struct iommu_test_hw_info info;
		struct iommu_hw_info out;

		memset(&info, 0xee, sizeof(info));
		rc = get_hw_info(fd, idev, &info, sizeof(info), &out);
		step("get_hw_info", rc,
		     "type=0x%x data_len=%u flags=0x%x test_reg=0x%x caps=0x%llx pasid_log2=%u",
		     out.out_data_type, out.data_len, info.flags, info.test_reg,
		     (unsigned long long)out.out_capabilities,
		     out.out_max_pasid_log2);
		rc = get_hw_info(fd, idev, NULL, 0, &out);
		step("get_hw_info data_len 0", rc, "type=0x%x data_len=%u",
		     out.out_data_type, out.data_len);
		rc = get_hw_info(fd, stdev, NULL, 0, &out);
		step("get_hw_info on stdev id", rc, NULL);
	}

	note("teardown");
	step("destroy stdev", obj_destroy(fd, stdev), NULL);
	step("destroy stdev again", obj_destroy(fd, stdev), NULL);
	step("destroy stdev2", obj_destroy(fd, stdev2), NULL);
	note("pins of page 1 after detaching all mock devices: %d",
	     page_pins(fd, buf + 0x1000));
	for (pt = 1; pt <= 20; pt++) {
		rc = obj_destroy(fd, pt);
		if (rc != -ENOENT)
			step(L("destroy id %u", pt), rc, NULL);
	}
	note("pins of page 1 after teardown: %d", page_pins(fd, buf + 0x1000));
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc after teardown", rc, "id=%u", ioas);
	close(fd);
	return 0;
}
