// VFIO device cdevs on iommufd, VT-d in scalable mode with first-stage
// translation and PASIDs (qemu's x-scalable-mode, x-flts, x-pasid-mode), no
// snoop control: the steps of vfio_cdev.c. Paging domains are first-stage
// (IA-32e) tables, 48-bit: the IOVA ranges and the flags the unit takes differ.
// oracle: --vfio --scalable
// platform: qemu-vtd-sm
#include "vfio_body.h"

int main(void)
{
	return vfio_main();
}
