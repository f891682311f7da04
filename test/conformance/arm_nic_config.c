// The two e1000e functions of the --arm machine as UEFI and the arm64
// kernel left them: their config space (0x000-0xfff, zero lines left out)
// read through the VFIO cdev, and what VFIO_DEVICE_GET_IRQ_INFO says of each
// interrupt index. The firmware places the BARs (the I/O BAR at the start of
// the host bridge's port window), and MSI-X cannot grow once enabled: the
// GICv3 ITS domain has no dynamic MSI-X allocation, so the MSI-X index is
// NORESIZE (x86's vector domain allows it). Found by the random differential
// generator (test/fuzz/gen.c, qemu-smmuv3 seed 1061 step 86: CONFIG
// off=0x18; seed 1063 step 462: GET_INFO IRQ index=2).
// oracle: --arm
// platform: qemu-smmuv3
#include "vfio_body.h"

#define CFG ((off_t)7 << 40)
#define GET_IRQ_INFO _IO(VFIO_TYPE, VFIO_BASE + 9)

int main(void)
{
	int n;

	fd = iofd_open();
	for (n = 0; n < 2; n++) {
		int d = open_dev(n);
		__u32 devid = 0, off, i;

		step(L("bind vfio%d", n), bind_dev(d, fd, sizeof(struct vfio_device_bind_iommufd), 0, &devid), NULL);
		for (off = 0; off < 0x1000; off += 16) {
			__u32 v[4] = { 0 };
			ssize_t got = pread(d, v, sizeof(v), CFG + off);

			if (got == (ssize_t)sizeof(v) && !v[0] && !v[1] && !v[2] && !v[3])
				continue;
			printf("vfio%d cfg %#05x: ", n, off);
			if (got != (ssize_t)sizeof(v))
				printf("%s\n", errno_name(errno));
			else
				printf("%08x %08x %08x %08x\n", v[0], v[1], v[2], v[3]);
		}
		for (i = 0; i < 5; i++) {
			__u32 info[4] = { 16, 0, i, 0 };   /* argsz, flags, index, count */
			int rc = xioctl(d, GET_IRQ_INFO, info);

			printf("vfio%d irq %u: %s flags=%#x count=%u\n", n, i, rc ? errno_name(-rc) : "ok", info[1], info[3]);
		}
	}
	return 0;
}

