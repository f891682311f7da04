// VFIO device cdevs on iommufd, VT-d without snoop control: bind, attach
// (automatic HWPT), replace, detach, GET_HW_INFO, HWPT_ALLOC, DMA_CC_IOMMU.
// oracle: --vfio
// platform: qemu-vtd
// needs: VFIO platform qemu-vtd (VT-d driver, e1000e devices, device cdevs)
#include "vfio_body.h"

int main(void)
{
	return vfio_main();
}
