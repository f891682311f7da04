// VFIO device cdevs on iommufd, VT-d in scalable mode with first-stage
// translation, PASIDs and snoop control: the steps of vfio_cdev.c; an
// enforcing first-stage domain snoops by the PASID entry's PGSNP bit.
// oracle: --vfio --scalable --snoop-control
// platform: qemu-vtd-sm-sc
#include "vfio_body.h"

int main(void)
{
	return vfio_main();
}
