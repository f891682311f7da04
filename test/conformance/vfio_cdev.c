// VFIO device cdevs on iommufd, VT-d without snoop control: bind, attach
// (automatic HWPT), replace, detach, GET_HW_INFO, HWPT_ALLOC, DMA_CC_IOMMU.
// oracle: --vfio
// platform: qemu-vtd
#include "vfio_body.h"

int main(void)
{
	return vfio_main();
}
