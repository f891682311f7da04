// VFIO device cdevs on iommufd, VT-d with snoop control (ECAP.SC=1): the same
// steps as vfio_cdev.c; enforce-coherent HWPTs make DMA_CC_IOMMU read 1.
// oracle: --vfio --snoop-control
// platform: qemu-vtd-sc
#include "vfio_body.h"

int main(void)
{
	return vfio_main();
}
