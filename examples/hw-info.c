/* What IOMMU_GET_HW_INFO says about the IOMMU in front of each assigned
 * device, and what IOMMU_CACHE can mean there: the uAPI's coherency question
 * asked of every platform. Run it on each built-in machine and compare with
 * the coherency table of `iommufd-emu platform show NAME`:
 *
 *   cc -I include -o hw-info examples/hw-info.c
 *   for p in qemu-vtd qemu-vtd-sc intel-client arm-smmuv3 amd-vi; do
 *     bin/iommufd-emu run --platform $p -- ./hw-info; done
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vfio.h>
#include <iommufd_abi.h>

#define VTD_ECAP_SC (1ull << 7)        /* snoop control: SNP in second-stage entries */
#define SMMU_IDR0_COHACC (1u << 4)     /* the SMMU's table walks and DMA are coherent */

static void describe(const struct iommu_hw_info *hw, const void *data)
{
	switch (hw->out_data_type) {
	case IOMMU_HW_INFO_TYPE_INTEL_VTD: {
		const struct iommu_hw_info_vtd *v = data;
		printf("  Intel VT-d: cap 0x%llx ecap 0x%llx\n", (unsigned long long)v->cap_reg, (unsigned long long)v->ecap_reg);
		printf("  IOMMU_CACHE: %s\n", v->ecap_reg & VTD_ECAP_SC ? "the unit can force snooping (ECAP.SC): enforceable"
								   : "no snoop control: No Snoop DMA cannot be forced to snoop");
		break;
	}
	case IOMMU_HW_INFO_TYPE_ARM_SMMUV3: {
		const struct iommu_hw_info_arm_smmuv3 *s = data;
		printf("  Arm SMMUv3: IDR0 0x%08x IDR1 0x%08x IDR3 0x%08x IDR5 0x%08x IIDR 0x%08x AIDR 0x%08x\n", s->idr[0],
		       s->idr[1], s->idr[3], s->idr[5], s->iidr, s->aidr);
		printf("  IOMMU_CACHE: cacheable memory attributes in the page table; SMMU %s\n",
		       s->idr[0] & SMMU_IDR0_COHACC ? "coherent (COHACC)" : "not coherent");
		break;
	}
	case IOMMU_HW_INFO_TYPE_AMD: {
		const struct iommu_hw_info_amd *a = data;
		printf("  AMD-Vi: EFR 0x%llx EFR2 0x%llx\n", (unsigned long long)a->efr, (unsigned long long)a->efr2);
		printf("  IOMMU_CACHE: always coherent (FC set in every v1 entry)\n");
		break;
	}
	default:
		printf("  type %u, %u bytes of data\n", hw->out_data_type, hw->data_len);
	}
}

int main(void)
{
	int iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0) {
		perror("open /dev/iommu");
		return 1;
	}
	for (int n = 0;; n++) {
		char path[64];
		snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", n);
		int dev = open(path, O_RDWR);
		if (dev < 0)
			break;
		struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
		if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
			/* iommufd refuses a device the IOMMU cannot keep coherent. */
			printf("vfio%d: bind refused: %s\n", n, strerror(errno));
			continue;
		}
		uint64_t data[8] = { 0 };
		struct iommu_hw_info hw = { .size = sizeof(hw), .dev_id = bind.out_devid, .data_len = sizeof(data),
					    .data_uptr = (uintptr_t)data };
		if (ioctl(iommufd, IOMMU_GET_HW_INFO, &hw)) {
			printf("vfio%d: IOMMU_GET_HW_INFO: %s\n", n, strerror(errno));
			continue;
		}
		printf("vfio%d: dev_id %u, %u bytes of hw info, capabilities 0x%llx%s\n", n, bind.out_devid, hw.data_len,
		       (unsigned long long)hw.out_capabilities,
		       hw.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING ? " (dirty tracking)" : "");
		describe(&hw, data);
	}
	return 0;
}
