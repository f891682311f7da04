/* A userspace driver's first steps with an Intel 82574L (e1000e) through the
 * VFIO cdev: map BAR0, read the link state and the MAC address from the
 * EEPROM (EERD), route the "other causes" interrupt to MSI-X vector 0 with an
 * eventfd, raise a link-status-change cause from software (ICS) and take the
 * interrupt. Build and run it on the emulated q35 with VT-d:
 *
 *   cc -I include -o nic-irq examples/nic-irq.c
 *   bin/iommufd-emu run --platform qemu-vtd -- ./nic-irq
 *
 * The register offsets and bits are the 82574L datasheet's (and qemu's
 * e1000e, which the emulator follows register by register). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>
#include <iommufd_abi.h>

enum { CTRL = 0x0000, STATUS = 0x0008, EERD = 0x0014, ICR = 0x00c0, ICS = 0x00c8, IMS = 0x00d0, IMC = 0x00d8, IVAR = 0x00e4 };
#define STATUS_LU (1u << 1)
#define EERD_START 1u
#define EERD_DONE 2u
#define ICR_LSC (1u << 2)
#define ICR_OTHER (1u << 24)
#define IVAR_OTHER_VECTOR0 (0x8u << 16) /* bit 19: valid; bits 16-18: vector 0 */

static volatile uint32_t *bar0;
static uint32_t rd(unsigned off) { return bar0[off / 4]; }
static void wr(unsigned off, uint32_t v) { bar0[off / 4] = v; }

static int fail(const char *what)
{
	printf("%s: %s\n", what, strerror(errno));
	return 1;
}

/* One 16-bit EEPROM word through EERD: start, then poll DONE. */
static int eeprom_word(unsigned addr)
{
	wr(EERD, (addr << 2) | EERD_START);
	for (int i = 0; i < 1000; i++) {
		uint32_t v = rd(EERD);
		if (v & EERD_DONE)
			return (int)(v >> 16);
	}
	return -1;
}

int main(void)
{
	int iommufd = open("/dev/iommu", O_RDWR);
	int dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	if (iommufd < 0 || dev < 0)
		return fail("open");
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return fail("VFIO_DEVICE_BIND_IOMMUFD");
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		return fail("IOMMU_IOAS_ALLOC");
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT");

	/* BAR0: the registers, mmapped at the region's offset. */
	struct vfio_region_info reg = { .argsz = sizeof(reg), .index = VFIO_PCI_BAR0_REGION_INDEX };
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg))
		return fail("VFIO_DEVICE_GET_REGION_INFO");
	bar0 = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)reg.offset);
	if (bar0 == MAP_FAILED)
		return fail("mmap BAR0");
	printf("STATUS 0x%08x: link %s\n", rd(STATUS), rd(STATUS) & STATUS_LU ? "up" : "down");
	int w0 = eeprom_word(0), w1 = eeprom_word(1), w2 = eeprom_word(2);
	if (w0 < 0 || w1 < 0 || w2 < 0)
		return fail("EERD");
	printf("MAC %02x:%02x:%02x:%02x:%02x:%02x (EEPROM words 0-2)\n", w0 & 0xff, w0 >> 8, w1 & 0xff, w1 >> 8,
	       w2 & 0xff, w2 >> 8);

	/* An MSI-X message is a memory write by the device: it needs bus mastering
	 * (PCI_COMMAND_MASTER in config space, region 7). */
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd = 0;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &cfg) || pread(dev, &cmd, 2, (off_t)cfg.offset + 4) != 2)
		return fail("config space");
	cmd |= 0x4;
	if (pwrite(dev, &cmd, 2, (off_t)cfg.offset + 4) != 2)
		return fail("PCI_COMMAND");

	/* MSI-X vector 0 signals an eventfd; VFIO enables MSI-X on the device. */
	int efd = eventfd(0, EFD_CLOEXEC);
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	*set = (struct vfio_irq_set){ .argsz = sizeof(buf), .index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = 1,
				      .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER };
	memcpy(set->data, &efd, sizeof(efd));
	if (ioctl(dev, VFIO_DEVICE_SET_IRQS, set))
		return fail("VFIO_DEVICE_SET_IRQS");

	/* The device's side: "other" causes to vector 0, LSC enabled, then a software-raised LSC. */
	(void)rd(ICR); /* clear what was pending */
	wr(IVAR, IVAR_OTHER_VECTOR0);
	wr(IMS, ICR_LSC | ICR_OTHER);
	wr(ICS, ICR_LSC);
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t n = 0;
	if (poll(&p, 1, 5000) == 1 && read(efd, &n, sizeof(n)) == sizeof(n))
		printf("MSI-X vector 0 fired (%llu), ICR 0x%08x\n", (unsigned long long)n, rd(ICR));
	else
		printf("no interrupt\n");
	wr(IMC, ~0u);
	return 0;
}
