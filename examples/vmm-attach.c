/* What a VMM does to give a guest an assigned PCI device through iommufd and
 * the VFIO device cdev: bind the device to an iommufd, make an IOAS, attach,
 * map guest RAM at guest-physical addresses, and look at what the device and
 * the IOMMU offer. Build and run it on the emulated q35 with VT-d:
 *
 *   cc -I include -o vmm-attach examples/vmm-attach.c
 *   bin/iommufd-emu run --platform qemu-vtd -- ./vmm-attach
 *
 * On a real machine the same program needs the device bound to vfio-pci and
 * read-write access to /dev/iommu and /dev/vfio/devices/vfio0. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>   /* the device part of VFIO (regions, IRQs) */
#include <iommufd_abi.h>  /* iommufd and the cdev ioctls, where linux/ lacks them */

#define GUEST_RAM (2ul << 20)

static int fail(const char *what)
{
	printf("%s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	int iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0)
		return fail("open /dev/iommu");
	int dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	if (dev < 0)
		return fail("open /dev/vfio/devices/vfio0");

	/* 1. The device joins the iommufd: until now its DMA was blocked. */
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return fail("VFIO_DEVICE_BIND_IOMMUFD");
	printf("bound: dev_id %u\n", bind.out_devid);

	/* 2. What the IOMMU in front of it can do. */
	struct iommu_hw_info_vtd vtd = { 0 };
	struct iommu_hw_info hw = { .size = sizeof(hw), .dev_id = bind.out_devid,
				    .data_len = sizeof(vtd), .data_uptr = (uintptr_t)&vtd };
	if (ioctl(iommufd, IOMMU_GET_HW_INFO, &hw))
		return fail("IOMMU_GET_HW_INFO");
	printf("iommu: type %u (1 = Intel VT-d), cap 0x%llx ecap 0x%llx, snoop control %s\n", hw.out_data_type,
	       (unsigned long long)vtd.cap_reg, (unsigned long long)vtd.ecap_reg,
	       (vtd.ecap_reg >> 7) & 1 ? "yes" : "no");

	/* 3. The guest's physical address space, and the device in it. */
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		return fail("IOMMU_IOAS_ALLOC");
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = alloc.out_ioas_id };
	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	printf("attached: ioas %u, the kernel made hwpt %u for it\n", alloc.out_ioas_id, attach.pt_id);

	/* 4. Guest RAM at guest-physical 0: the pages get pinned and mapped. */
	void *ram = mmap(NULL, GUEST_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return fail("mmap");
	struct iommu_ioas_map map = { .size = sizeof(map), .ioas_id = alloc.out_ioas_id,
				      .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
				      .user_va = (uintptr_t)ram, .length = GUEST_RAM, .iova = 0 };
	if (ioctl(iommufd, IOMMU_IOAS_MAP, &map))
		return fail("IOMMU_IOAS_MAP");
	printf("mapped: %lu KiB of guest RAM at IOVA 0x%llx\n", GUEST_RAM >> 10, (unsigned long long)map.iova);

	/* 5. The device: regions to map or trap for the guest, interrupts to route. */
	struct vfio_device_info info = { .argsz = sizeof(info) };
	if (ioctl(dev, VFIO_DEVICE_GET_INFO, &info))
		return fail("VFIO_DEVICE_GET_INFO");
	printf("device: flags 0x%x (%s%s), %u regions, %u irqs\n", info.flags,
	       info.flags & VFIO_DEVICE_FLAGS_PCI ? "PCI" : "", info.flags & VFIO_DEVICE_FLAGS_RESET ? ", reset" : "",
	       info.num_regions, info.num_irqs);
	for (unsigned i = VFIO_PCI_BAR0_REGION_INDEX; i <= VFIO_PCI_BAR5_REGION_INDEX; i++) {
		struct vfio_region_info reg = { .argsz = sizeof(reg), .index = i };
		if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg) || !reg.size)
			continue;
		printf("  BAR%u: %llu bytes%s%s\n", i, (unsigned long long)reg.size,
		       reg.flags & VFIO_REGION_INFO_FLAG_MMAP ? ", mmap" : "",
		       reg.flags & VFIO_REGION_INFO_FLAG_CAPS ? ", caps" : "");
	}
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	if (ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &irq) == 0)
		printf("  MSI-X: %u vectors\n", irq.count);

	/* 6. Tear down as a VMM does at guest shutdown. */
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = alloc.out_ioas_id, .iova = 0, .length = GUEST_RAM };
	if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap))
		return fail("IOMMU_IOAS_UNMAP");
	printf("unmapped %llu bytes\n", (unsigned long long)unmap.length);
	close(dev);
	close(iommufd);
	return 0;
}
