/* One call or two of every ioctl family, and the reads, writes and mmaps
 * of emulated fds, for test/trace-families.test.ts, which compares the
 * trace of each mode with test/shim/trace_families.MODE.expected:
 *   iommufd  (mock)      core, IOAS, HWPT, IOMMU_TEST_CMD, vIOMMU, vDEVICE,
 *                        vEVENTQ, fault queue, HW queue, the iommufd's mmap
 *   vfio     (qemu-vtd)  the device cdev, its regions and irqs, the group
 *                        and the container
 *   hwinfo   (any)       GET_HW_INFO and a nested HWPT_ALLOC with the
 *                        vendor's data (VT-d, SMMUv3, AMD)
 * Failures are part of it: each family has one. Built with
 * -I test/conformance/include. Prints "done" at its end. */
#include <linux/vfio.h>
#include "iofd.h"
#include <sys/eventfd.h>

static char page[4096] __attribute__((aligned(4096)));

static void iommufd_mode(void)
{
	int fd = iofd_open();
	__u32 ioas = 0, ioas2 = 0, stdev = 0, hwpt = 0, idev = 0, parent = 0, nested = 0, viommu, vdev, fault, hwq;
	struct iommu_iova_range allow[2] = { { 0x100000, 0x1ffffff }, { 0x4000000, 0x7fffffff } };
	struct iommu_iova_range r[4];
	char *buf = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 iova = 0x1000000, bitmap[2] = { 0 }, val = 0;

	/* core */
	ioas_alloc(fd, &ioas);
	ioas_alloc(fd, &ioas2);
	iommu_opt(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &val);
	iommu_opt(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &val);
	vfio_ioas(fd, IOMMU_VFIO_IOAS_SET, &ioas2);
	obj_destroy(fd, 99);
	/* IOAS */
	ioas_allow(fd, ioas2, allow, 2);
	ioas_ranges(fd, ioas2, r, 4, NULL, NULL);
	ioas_map(fd, ioas, MAP_FIXED_RW, buf, 1 << 16, &iova);
	ioas_map(fd, ioas, MAP_FIXED_RW, buf, 1 << 16, &iova);
	{
		__u64 dst = 0x100000;
		ioas_copy(fd, ioas2, ioas, MAP_FIXED_RW, 0x1000000, 1 << 16, &dst);
	}
	/* IOMMU_TEST_CMD and the mock device */
	mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev);
	add_reserved(fd, ioas, 0x2000000, 0x1000000);
	{
		struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_MD_CHECK_MAP, hwpt);
		c.check_map.iova = 0x1000000;
		c.check_map.length = 4096;
		c.check_map.uptr = (uintptr_t)buf;
		xioctl(fd, IOMMU_TEST_CMD, &c);
	}
	{
		int afd = -1;
		create_access(fd, ioas, 0, &afd);
		access_rw(fd, afd, 0, 0x1000000, 16, page);
		close(afd);
	}
	{
		struct iommu_hw_info c = { .size = sizeof(c), .dev_id = idev, .data_len = 8, .data_uptr = (uintptr_t)page };
		xioctl(fd, IOMMU_GET_HW_INFO, &c);
	}
	/* HWPT */
	{
		struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
		__u32 dirty;
		hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, idev, ioas, 0, NULL, 0, &parent);
		hwpt_alloc(fd, 0, idev, parent, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &nested);
		hwpt_alloc(fd, 0, idev, parent, IOMMU_HWPT_DATA_SELFTEST, (void *)8, sizeof(data), &dirty);
		if (hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas, 0, NULL, 0, &dirty) == 0) {
			struct iommu_hwpt_set_dirty_tracking s = { .size = sizeof(s), .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE, .hwpt_id = dirty };
			struct iommu_hwpt_get_dirty_bitmap g = { .size = sizeof(g), .hwpt_id = dirty, .iova = 0x1000000,
				.length = 64 << 12, .page_size = 4096, .data = (uintptr_t)bitmap };
			xioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &s);
			xioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
		}
	}
	{
		struct iommu_hwpt_invalidate_selftest inv[2] = { { .iotlb_id = 0 }, { .flags = IOMMU_TEST_INVALIDATE_FLAG_ALL } };
		struct iommu_hwpt_invalidate c = { .size = sizeof(c), .hwpt_id = nested, .data_uptr = (uintptr_t)inv,
			.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, .entry_len = sizeof(inv[0]), .entry_num = 2 };
		xioctl(fd, IOMMU_HWPT_INVALIDATE, &c);
		c.entry_len = 0;
		xioctl(fd, IOMMU_HWPT_INVALIDATE, &c);
	}
	/* vIOMMU, vDEVICE, vEVENTQ, HW queue, fault queue */
	{
		struct iommu_viommu_selftest vd = { .in_data = 0xbeef };
		struct iommu_viommu_alloc c = { .size = sizeof(c), .type = IOMMU_VIOMMU_TYPE_SELFTEST, .dev_id = idev,
			.hwpt_id = parent, .data_len = sizeof(vd), .data_uptr = (uintptr_t)&vd };
		struct iommu_vdevice_alloc v = { .size = sizeof(v), .dev_id = idev, .virt_id = 0x42 };
		struct iommu_veventq_alloc q = { .size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_SELFTEST, .veventq_depth = 4 };
		struct iommu_hw_queue_alloc h = { .size = sizeof(h), .type = IOMMU_HW_QUEUE_TYPE_SELFTEST,
			.nesting_parent_iova = 0x1000000, .length = 4096 };
		struct iommu_fault_alloc f = { .size = sizeof(f) };
		struct iommu_test_cmd t = test_cmd(IOMMU_TEST_OP_TRIGGER_VEVENT, 0);
		char ev[64];
		void *m;

		xioctl(fd, IOMMU_VIOMMU_ALLOC, &c);
		viommu = c.out_viommu_id;
		c.type = 0x77;
		xioctl(fd, IOMMU_VIOMMU_ALLOC, &c);
		v.viommu_id = viommu;
		xioctl(fd, IOMMU_VDEVICE_ALLOC, &v);
		vdev = v.out_vdevice_id;
		{
			/* A nested HWPT on the vIOMMU, the mock device on it: it can raise vEVENTs. */
			struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
			struct iommu_viommu_invalidate_selftest inv = { .vdev_id = 0x42 };
			struct iommu_hwpt_invalidate ic = { .size = sizeof(ic), .data_uptr = (uintptr_t)&inv,
				.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, .entry_len = sizeof(inv), .entry_num = 1 };
			__u32 vnested = 0;

			hwpt_alloc(fd, 0, idev, viommu, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &vnested);
			mock_replace(fd, stdev, &vnested);
			ic.hwpt_id = viommu;
			xioctl(fd, IOMMU_HWPT_INVALIDATE, &ic);
		}
		q.viommu_id = viommu;
		xioctl(fd, IOMMU_VEVENTQ_ALLOC, &q);
		t.trigger_vevent.dev_id = idev;
		xioctl(fd, IOMMU_TEST_CMD, &t);
		if (read(q.out_veventq_fd, ev, sizeof(ev)) < 0)
			printf("veventq read: %s\n", errno_name(errno));
		if (read(q.out_veventq_fd, ev, 4) < 0)
			printf("veventq short read: %s\n", errno_name(errno));
		close(q.out_veventq_fd);
		h.viommu_id = viommu;
		xioctl(fd, IOMMU_HW_QUEUE_ALLOC, &h);
		hwq = h.out_hw_queue_id;
		xioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &f);
		fault = f.out_fault_id;
		if (read(f.out_fault_fd, ev, 4) < 0)
			printf("fault read: %s\n", errno_name(errno));
		{
			/* A page fault on a nested HWPT with a fault queue: read, then answered. */
			struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
			struct iommu_hwpt_alloc a = { .size = sizeof(a), .flags = IOMMU_HWPT_FAULT_ID_VALID, .dev_id = idev, .pt_id = parent,
				.data_type = IOMMU_HWPT_DATA_SELFTEST, .data_len = sizeof(data), .data_uptr = (uintptr_t)&data, .fault_id = fault };
			struct iommu_test_cmd tc = test_cmd(IOMMU_TEST_OP_TRIGGER_IOPF, 0);
			struct iommu_hwpt_pgfault pf;
			struct iommu_hwpt_page_response resp = { .code = IOMMUFD_PAGE_RESP_SUCCESS };

			xioctl(fd, IOMMU_HWPT_ALLOC, &a);
			mock_replace(fd, stdev, &a.out_hwpt_id);
			tc.trigger_iopf.dev_id = idev;
			tc.trigger_iopf.pasid = 1;
			tc.trigger_iopf.grpid = 2;
			tc.trigger_iopf.perm = IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE;
			tc.trigger_iopf.addr = 0xdeadb000;
			xioctl(fd, IOMMU_TEST_CMD, &tc);
			if (read(f.out_fault_fd, &pf, sizeof(pf)) == sizeof(pf))
				resp.cookie = pf.cookie;
			if (write(f.out_fault_fd, &resp, sizeof(resp)) < 0)
				printf("fault response: %s\n", errno_name(errno));
			if (write(f.out_fault_fd, &resp, sizeof(resp)) < 0)
				printf("fault response again: %s\n", errno_name(errno));
		}
		close(f.out_fault_fd);
		m = mmap(NULL, vd.out_mmap_length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, vd.out_mmap_offset);
		if (m != MAP_FAILED)
			munmap(m, vd.out_mmap_length);
		if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
			printf("mmap at 0: %s\n", errno_name(errno));
		obj_destroy(fd, hwq);
		obj_destroy(fd, vdev);
		obj_destroy(fd, fault);
	}
	{
		struct iommu_ioas_change_process c = { .size = sizeof(c) };
		xioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &c);
	}
	ioas_unmap(fd, ioas2, 0, U64_MAX_, NULL);
	ioas_unmap(fd, ioas2, 0, U64_MAX_, NULL);
	close(fd);
}

static void vfio_mode(void)
{
	int fd = iofd_open(), dev, grp, ctr, gdev, efd[2];
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = fd };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct vfio_device_detach_iommufd_pt dt = { .argsz = sizeof(dt) };
	__u32 ioas, cfg;
	void *bar;

	/* The device cdev, bound to the iommufd */
	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	if (pread(dev, &cfg, 4, (__u64)VFIO_PCI_CONFIG_REGION_INDEX << 40) < 0)
		printf("pread before bind: %s\n", errno_name(errno));
	ioas_alloc(fd, &ioas);
	xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
	at.pt_id = ioas;
	xioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
	{
		struct vfio_device_info di = { .argsz = sizeof(di) };
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX };
		struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
		struct vfio_pci_hot_reset_info hi = { .argsz = sizeof(hi) };
		struct { struct vfio_irq_set s; __s32 fds[2]; } is = {
			{ .argsz = sizeof(is), .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			  .index = VFIO_PCI_MSIX_IRQ_INDEX, .count = 2 } };
		struct vfio_device_feature ft = { .argsz = sizeof(ft), .flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | 3 };
		struct vfio_device_ioeventfd ie = { .argsz = sizeof(ie), .flags = VFIO_DEVICE_IOEVENTFD_32,
			.offset = ((__u64)VFIO_PCI_BAR0_REGION_INDEX << 40) | 0x100, .data = 1 };

		xioctl(dev, VFIO_DEVICE_GET_INFO, &di);
		xioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri);
		xioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &ii);
		efd[0] = eventfd(0, EFD_CLOEXEC);
		efd[1] = eventfd(0, EFD_CLOEXEC);
		is.fds[0] = efd[0];
		is.fds[1] = efd[1];
		xioctl(dev, VFIO_DEVICE_SET_IRQS, &is);
		xioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hi);
		xioctl(dev, VFIO_DEVICE_FEATURE, &ft);
		ie.fd = efd[0];
		xioctl(dev, VFIO_DEVICE_IOEVENTFD, &ie);
		xioctl(dev, VFIO_DEVICE_RESET, NULL);
	}
	/* Its regions: config space, BAR0 by read and write and by mmap */
	pread(dev, &cfg, 4, (__u64)VFIO_PCI_CONFIG_REGION_INDEX << 40);
	pwrite(dev, &cfg, 2, ((__u64)VFIO_PCI_CONFIG_REGION_INDEX << 40) | 4);
	pread(dev, &cfg, 4, (__u64)VFIO_PCI_BAR0_REGION_INDEX << 40);
	if (pwrite(dev, &cfg, 4, (__u64)VFIO_PCI_BAR4_REGION_INDEX << 40) < 0)
		printf("pwrite BAR4: %s\n", errno_name(errno));
	bar = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (__u64)VFIO_PCI_BAR0_REGION_INDEX << 40);
	if (bar != MAP_FAILED)
		munmap(bar, 0x1000);
	if (mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, dev, (__u64)VFIO_PCI_CONFIG_REGION_INDEX << 40) == MAP_FAILED)
		printf("mmap config: %s\n", errno_name(errno));
	xioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt);
	close(dev);

	/* The group of vfio1 and the container */
	grp = open("/dev/vfio/2", O_RDWR);
	ctr = open("/dev/vfio/vfio", O_RDWR);
	{
		struct vfio_group_status gs = { .argsz = sizeof(gs) };
		struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
		struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)page, .iova = 0x100000, .size = 4096 };
		struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap), .iova = 0x100000, .size = 4096 };
		struct { struct vfio_pci_hot_reset h; __s32 fds[1]; } hr = { { .argsz = sizeof(hr), .count = 1 } };

		xioctl(grp, VFIO_GROUP_GET_STATUS, &gs);
		xioctl(ctr, VFIO_GET_API_VERSION, NULL);
		ioctl(ctr, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
		xioctl(grp, VFIO_GROUP_GET_DEVICE_FD, "0000:00:02.0");
		xioctl(grp, VFIO_GROUP_SET_CONTAINER, &ctr);
		ioctl(ctr, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
		xioctl(ctr, VFIO_IOMMU_GET_INFO, &info);
		xioctl(ctr, VFIO_IOMMU_MAP_DMA, &map);
		xioctl(ctr, VFIO_IOMMU_MAP_DMA, &map);
		xioctl(ctr, VFIO_IOMMU_UNMAP_DMA, &unmap);
		gdev = ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, "0000:00:02.0");
		hr.fds[0] = grp;
		xioctl(gdev, VFIO_DEVICE_PCI_HOT_RESET, &hr);
		close(gdev);
		xioctl(grp, VFIO_GROUP_UNSET_CONTAINER, NULL);
	}
	close(ctr);
	close(grp);
	close(fd);
}

static void hwinfo_mode(void)
{
	int fd = iofd_open(), dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = fd };
	struct iommu_hw_info c = { .size = sizeof(c), .data_len = 64, .data_uptr = (uintptr_t)page };
	struct iommu_hwpt_vtd_s1 vtd = { .flags = IOMMU_VTD_S1_SRE, .pgtbl_addr = 0x1000, .addr_width = 48 };
	struct iommu_hwpt_arm_smmuv3 smmu = { .ste = { 0x1, 0x2 } };
	struct iommu_hwpt_amd_guest amd = { .dte = { 0x3, 0, 0, 0 } };
	__u32 ioas, parent, nested;

	xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
	ioas_alloc(fd, &ioas);
	c.dev_id = b.out_devid;
	xioctl(fd, IOMMU_GET_HW_INFO, &c);
	if (hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, b.out_devid, ioas, 0, NULL, 0, &parent))
		parent = ioas;
	switch (c.out_data_type) {
	case IOMMU_HW_INFO_TYPE_INTEL_VTD:
		hwpt_alloc(fd, 0, b.out_devid, parent, IOMMU_HWPT_DATA_VTD_S1, &vtd, sizeof(vtd), &nested);
		break;
	case IOMMU_HW_INFO_TYPE_ARM_SMMUV3:
		hwpt_alloc(fd, 0, b.out_devid, parent, IOMMU_HWPT_DATA_ARM_SMMUV3, &smmu, sizeof(smmu), &nested);
		break;
	case IOMMU_HW_INFO_TYPE_AMD:
		hwpt_alloc(fd, 0, b.out_devid, parent, IOMMU_HWPT_DATA_AMD_GUEST, &amd, sizeof(amd), &nested);
		break;
	}
	close(dev);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "iommufd"))
		iommufd_mode();
	else if (!strcmp(mode, "vfio"))
		vfio_mode();
	else if (!strcmp(mode, "hwinfo"))
		hwinfo_mode();
	else
		return printf("usage: trace_families iommufd|vfio|hwinfo\n"), 2;
	printf("done\n");
	return 0;
}
