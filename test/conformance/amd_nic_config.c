// The two e1000e functions of the --amd machine as the firmware left them:
// config space 0x00-0x3f of each (vendor, command, BARs, interrupt line and
// pin) read through its VFIO cdev. SeaBIOS routes INTx by slot, and the NICs
// sit at 00:02.0 and 00:03.0 here (00:01.0 is the IOMMU), one slot later
// than on the --vfio machine. Found by the random differential generator
// (test/fuzz/gen.c, amd-vi seed 213: CONFIG off=0x3c).
// oracle: --amd
// platform: amd-vi
#include "vfio_body.h"

#define CFG ((off_t)7 << 40)

int main(void)
{
	int n;

	fd = iofd_open();
	for (n = 0; n < 2; n++) {
		int d = open_dev(n);
		__u32 devid = 0, off;

		step(L("bind vfio%d", n), bind_dev(d, fd, sizeof(struct vfio_device_bind_iommufd), 0, &devid), NULL);
		for (off = 0; off < 0x40; off += 16) {
			__u32 v[4] = { 0 };
			ssize_t got = pread(d, v, sizeof(v), CFG + off);

			printf("vfio%d cfg %#04x: ", n, off);
			if (got != (ssize_t)sizeof(v))
				printf("%s\n", errno_name(errno));
			else
				printf("%08x %08x %08x %08x\n", v[0], v[1], v[2], v[3]);
		}
	}
	return 0;
}
