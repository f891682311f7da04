// The two e1000e functions of the --vfio --scalable machine (QEMU 10) as
// vfio-pci shows them: their whole config space (0x000-0xfff) read through
// the VFIO cdev, 16 bytes a line, before and after VFIO_DEVICE_RESET. QEMU
// 10's e1000e differs from 7.2's (the --vfio machine, vfio_config): PCIe
// DevCap has Extended Tag (0xe4 bit 5) and AER's uncorrectable mask (0x108)
// starts with the internal and TLP prefix blocked errors masked. Found by
// the random differential generator (test/fuzz/gen.c, qemu-vtd-sm seed 701
// step 2686: CONFIG off=0xe4).
// oracle: --vfio --scalable
// platform: qemu-vtd-sm
#include "vfio_body.h"

#define CFG ((off_t)7 << 40)
#define DEVICE_RESET _IO(VFIO_TYPE, VFIO_BASE + 11)

static void dump(int d, int n, const char *when)
{
	__u32 off;

	for (off = 0; off < 0x1000; off += 16) {
		__u32 v[4] = { 0 };
		ssize_t got = pread(d, v, sizeof(v), CFG + off);

		if (got == (ssize_t)sizeof(v) && !v[0] && !v[1] && !v[2] && !v[3])
			continue;   /* (zero lines left out) */
		printf("vfio%d %s cfg %#05x: ", n, when, off);
		if (got != (ssize_t)sizeof(v))
			printf("%s\n", errno_name(errno));
		else
			printf("%08x %08x %08x %08x\n", v[0], v[1], v[2], v[3]);
	}
}

int main(void)
{
	int n;

	fd = iofd_open();
	for (n = 0; n < 2; n++) {
		int d = open_dev(n);
		__u32 devid = 0;

		step(L("bind vfio%d", n), bind_dev(d, fd, sizeof(struct vfio_device_bind_iommufd), 0, &devid), NULL);
		dump(d, n, "open");
		step(L("reset vfio%d", n), xioctl(d, DEVICE_RESET, NULL), NULL);
		dump(d, n, "reset");
	}
	return 0;
}
