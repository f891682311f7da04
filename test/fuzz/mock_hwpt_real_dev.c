// A kernel bug the random generator found (Linux 7.2.13, CONFIG_IOMMUFD_TEST):
// replacing a real (VT-d) device's attachment with a mock domain's HWPT
// calls the mock driver's attach on a device that is not a mock device.
// Run on the oracle's --vfio machine: the guest oopses at the last step.
// Not a conformance client (it takes the kernel down); the emulator answers
// EINVAL (the mock HWPT's domain is not the device's IOMMU's), which is why
// gen.c creates no mock domains on a machine with VFIO devices.
#include "step.h"
#include "iofd.h"
#include <fcntl.h>

int main(void)
{
	int fd = iofd_open(), dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = fd };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	__u32 ioas, stdev, hwpt, idev;

	step("ioas", ioas_alloc(fd, &ioas), NULL);
	step("bind", xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b), NULL);
	at.pt_id = ioas;
	step("attach ioas", xioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), NULL);
	step("mock domain", mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev), NULL);
	at.pt_id = hwpt;
	step("attach the mock hwpt", xioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), NULL);
	return 0;
}
