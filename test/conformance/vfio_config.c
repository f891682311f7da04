// vfio-pci's device file regions for qemu's e1000e: config space through
// pread/pwrite at the config region's offset as vfio_pci_config.c
// virtualises it (dump, BAR and ROM sizing, command and status registers,
// capability chain, MSI/MSI-X enable, read-only fields), BAR regions through
// pread/pwrite, the errnos of bad offsets and sizes, VFIO_DEVICE_RESET and
// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO.
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"

/* include/uapi/linux/vfio.h (the parts iommufd_abi.h does not carry) */
#define REGION_SHIFT 40
#define REGION_OFF(i) ((off_t)((__u64)(i) << REGION_SHIFT))
#define CONFIG_INDEX 7
#define CFG REGION_OFF(CONFIG_INDEX)
#define DEVICE_RESET _IO(VFIO_TYPE, VFIO_BASE + 11)
#define DEVICE_HOT_RESET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)

struct dep_dev {
	__u32 devid;
	__u16 segment;
	__u8 bus;
	__u8 devfn;
};

struct hot_reset_info {
	__u32 argsz;
	__u32 flags;
	__u32 count;
	struct dep_dev devices[8];
};

static int dev;

static int xpread(int d, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(d, buf, len, off);

	return n < 0 ? -errno : (int)n;
}

static int xpwrite(int d, const void *buf, size_t len, off_t off)
{
	ssize_t n = pwrite(d, buf, len, off);

	return n < 0 ? -errno : (int)n;
}

/* Read `size` (1, 2 or 4) config bytes at `off`; -errno on failure. */
static long long cfg_rd(int d, unsigned int off, int size)
{
	__u32 v = 0;
	int rc = xpread(d, &v, size, CFG + off);

	if (rc < 0)
		return rc;
	if (rc != size)
		return -1000 - rc;
	return v;
}

static int cfg_wr(int d, unsigned int off, int size, __u32 v)
{
	int rc = xpwrite(d, &v, size, CFG + off);

	return rc == size ? 0 : rc;
}

static void show_rd(const char *label, unsigned int off, int size)
{
	long long v = cfg_rd(dev, off, size);

	if (v < 0 && v > -1000)
		step(label, (int)v, NULL);
	else if (v <= -1000)
		step(label, 0, "short=%lld", -1000 - v);
	else
		step(label, 0, "0x%0*llx", size * 2, v);
}

/* Write, then read back the same width. */
static void wr_rb(const char *what, unsigned int off, int size, __u32 v)
{
	int rc = cfg_wr(dev, off, size, v);
	long long r = cfg_rd(dev, off, size);

	step(L("write %s 0x%x", what, v), rc, "read back 0x%0*llx", size * 2,
	     r < 0 ? 0 : r);
}

static void dump(int d, unsigned int from, unsigned int to, int skip_zero)
{
	unsigned int off, zero = 0;

	for (off = from; off < to; off += 4) {
		long long v = cfg_rd(d, off, 4);

		if (v < 0) {
			step(L("cfg 0x%03x", off), (int)v, NULL);
			continue;
		}
		if (skip_zero && v == 0) {
			zero++;
			continue;
		}
		printf("cfg 0x%03x: 0x%08llx\n", off, v);
	}
	if (skip_zero)
		printf("cfg 0x%03x-0x%03x: %u zero dwords\n", from, to - 1, zero);
}

static void size_bar(unsigned int off, __u32 probe, const char *name)
{
	long long orig = cfg_rd(dev, off, 4);
	long long sz, back;
	int rc;

	rc = cfg_wr(dev, off, 4, probe);
	sz = cfg_rd(dev, off, 4);
	cfg_wr(dev, off, 4, (__u32)orig);
	back = cfg_rd(dev, off, 4);
	step(L("size %s with 0x%x", name, probe), rc,
	     "orig=0x%08llx sized=0x%08llx restored=0x%08llx", orig, sz, back);
}

static void caps(void)
{
	long long ptr = cfg_rd(dev, 0x34, 1);
	int n = 0;

	while (ptr > 0 && n++ < 48) {
		long long hdr = cfg_rd(dev, (unsigned int)ptr, 2);

		printf("cap at 0x%02llx: id=0x%02llx next=0x%02llx\n", ptr,
		       hdr & 0xff, (hdr >> 8) & 0xff);
		ptr = (hdr >> 8) & 0xff;
	}
	ptr = 0x100;
	n = 0;
	while (ptr && n++ < 48) {
		long long hdr = cfg_rd(dev, (unsigned int)ptr, 4);

		printf("ecap at 0x%03llx: 0x%08llx id=0x%04llx ver=%lld next=0x%03llx\n",
		       ptr, hdr, hdr & 0xffff, (hdr >> 16) & 0xf,
		       (hdr >> 20) & 0xffc);
		if (hdr <= 0)
			break;
		ptr = (hdr >> 20) & 0xffc;
	}
}

/* Offset of capability `id` in the standard list, 0 if absent. */
static unsigned int find_cap(int id)
{
	long long ptr = cfg_rd(dev, 0x34, 1);
	int n = 0;

	while (ptr > 0 && n++ < 48) {
		long long hdr = cfg_rd(dev, (unsigned int)ptr, 2);

		if ((hdr & 0xff) == id)
			return (unsigned int)ptr;
		ptr = (hdr >> 8) & 0xff;
	}
	return 0;
}

static void dump_fields(const char *what)
{
	printf("%s: cmd 0x%04llx cacheline 0x%02llx line 0x%02llx msi 0x%04llx "
	       "0x40 0x%08llx 0xffc 0x%08llx aer_sever 0x%08llx\n", what,
	       cfg_rd(dev, 0x04, 2), cfg_rd(dev, 0x0c, 1), cfg_rd(dev, 0x3c, 1),
	       cfg_rd(dev, 0xd2, 2), cfg_rd(dev, 0x40, 4), cfg_rd(dev, 0xffc, 4),
	       cfg_rd(dev, 0x10c, 4));
}

static void rw_errnos(void)
{
	char buf[16];
	off_t r;

	note("region read/write errnos");
	step("pread cfg 4 at 0xffc", xpread(dev, buf, 4, CFG + 0xffc), NULL);
	step("pread cfg 8 at 0xffc", xpread(dev, buf, 8, CFG + 0xffc), NULL);
	step("pread cfg 4 at 0xffe", xpread(dev, buf, 4, CFG + 0xffe), NULL);
	step("pread cfg 4 at 0x1000", xpread(dev, buf, 4, CFG + 0x1000), NULL);
	step("pread cfg 0 at 0", xpread(dev, buf, 0, CFG), NULL);
	step("pread cfg 3 at 0", xpread(dev, buf, 3, CFG), NULL);
	step("pread cfg 16 at 0", xpread(dev, buf, 16, CFG), NULL);
	step("pread cfg 4 at 1", xpread(dev, buf, 4, CFG + 1), NULL);
	step("pread cfg 2 at 3", xpread(dev, buf, 2, CFG + 3), NULL);
	step("pwrite cfg 4 at 0x1000", xpwrite(dev, buf, 4, CFG + 0x1000), NULL);
	step("pwrite cfg 0 at 0x4", xpwrite(dev, buf, 0, CFG + 4), NULL);
	for (r = 0; r <= 12; r++) {
		if (r == CONFIG_INDEX)
			continue;
		step(L("pread region %d 4 at 0", (int)r),
		     xpread(dev, buf, 4, REGION_OFF(r)), NULL);
	}
	step("pread region 0 4 at 0x1fffc",
	     xpread(dev, buf, 4, REGION_OFF(0) + 0x1fffc), NULL);
	step("pread region 0 8 at 0x1fffc",
	     xpread(dev, buf, 8, REGION_OFF(0) + 0x1fffc), NULL);
	step("pread region 0 4 at 0x20000",
	     xpread(dev, buf, 4, REGION_OFF(0) + 0x20000), NULL);
	step("pread region 0 3 at 0", xpread(dev, buf, 3, REGION_OFF(0)), NULL);
	step("pread region 0 16 at 0", xpread(dev, buf, 16, REGION_OFF(0)), NULL);
	step("pread region 0 2 at 1", xpread(dev, buf, 2, REGION_OFF(0) + 1),
	     NULL);
	step("pread region 2 4 at 0x1c", xpread(dev, buf, 4, REGION_OFF(2) + 0x1c),
	     NULL);
	step("pread region 2 8 at 0x1c", xpread(dev, buf, 8, REGION_OFF(2) + 0x1c),
	     NULL);
	step("pread region 2 4 at 0x20", xpread(dev, buf, 4, REGION_OFF(2) + 0x20),
	     NULL);
	step("pread region 3 4 at 0 (MSI-X table)",
	     xpread(dev, buf, 4, REGION_OFF(3)), NULL);
	step("pread region 3 4 at 0x2000 (PBA)",
	     xpread(dev, buf, 4, REGION_OFF(3) + 0x2000), NULL);
	step("pread region 3 4 at 0x3ffc",
	     xpread(dev, buf, 4, REGION_OFF(3) + 0x3ffc), NULL);
	step("pwrite region 4 4 at 0", xpwrite(dev, buf, 4, REGION_OFF(4)), NULL);
	step("pwrite region 6 4 at 0", xpwrite(dev, buf, 4, REGION_OFF(6)), NULL);
	step("pwrite region 8 4 at 0", xpwrite(dev, buf, 4, REGION_OFF(8)), NULL);
	step("pwrite region 9 4 at 0", xpwrite(dev, buf, 4, REGION_OFF(9)), NULL);
	step("read() at f_pos 0", (int)(read(dev, buf, 4) < 0 ? -errno : 4), NULL);
	step("lseek", lseek(dev, 4, SEEK_SET) < 0 ? -errno : 0, NULL);
}

static void hot_reset_info(int d, __u32 argsz, const char *what)
{
	struct hot_reset_info c;
	int rc;
	__u32 i;

	memset(&c, 0, sizeof(c));
	c.argsz = argsz;
	rc = xioctl(d, DEVICE_HOT_RESET_INFO, &c);
	step(L("hot_reset_info%s", what), rc, "argsz=%u flags=0x%x count=%u",
	     c.argsz, c.flags, c.count);
	for (i = 0; rc == 0 && i < c.count && i < 8; i++)
		printf("  dev %u: devid=0x%x %04x:%02x:%02x.%u\n", i,
		       c.devices[i].devid, c.devices[i].segment,
		       c.devices[i].bus, c.devices[i].devfn >> 3,
		       c.devices[i].devfn & 7);
}

int main(void)
{
	int fd = iofd_open();
	int d1, rc;
	unsigned int off, msi, msix, pcie;
	__u32 devid = 0;
	char buf[8];
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };

	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	d1 = open("/dev/vfio/devices/vfio1", O_RDWR);
	step("open vfio0", dev < 0 ? -errno : 0, NULL);
	step("pread cfg unbound", xpread(dev, buf, 4, CFG), NULL);
	b.iommufd = fd;
	rc = xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
	devid = b.out_devid;
	step_ok("bind vfio0", rc, "devid=%u", devid);

	note("config space of vfio0");
	dump(dev, 0, 0x100, 0);
	dump(dev, 0x100, 0x1000, 1);
	note("capabilities");
	caps();

	note("reads of 1 and 2 bytes");
	show_rd("cfg8 0x00", 0x00, 1);
	show_rd("cfg8 0x03", 0x03, 1);
	show_rd("cfg16 0x02", 0x02, 2);
	show_rd("cfg16 0x06", 0x06, 2);
	show_rd("cfg8 0x3c", 0x3c, 1);
	show_rd("cfg8 0x3d", 0x3d, 1);

	note("BAR sizing");
	for (off = 0x10; off <= 0x24; off += 4)
		size_bar(off, 0xffffffff, L("BAR%u", (off - 0x10) / 4));
	size_bar(0x30, 0xffffffff, "ROM");
	size_bar(0x30, 0xfffffffe, "ROM");
	size_bar(0x30, 0xfffff801, "ROM");
	size_bar(0x10, 0x12345678, "BAR0");
	size_bar(0x18, 0x12345678, "BAR2");
	{
		/* byte-wise sizing of BAR0's top byte */
		long long orig = cfg_rd(dev, 0x10, 4);
		int rc = cfg_wr(dev, 0x13, 1, 0xff);

		step("write BAR0 byte 3 0xff", rc, "BAR0=0x%08llx",
		     cfg_rd(dev, 0x10, 4));
		cfg_wr(dev, 0x10, 4, (__u32)orig);
		show_rd("BAR0 restored", 0x10, 4);
	}

	note("command and status");
	show_rd("command", 0x04, 2);
	wr_rb("command", 0x04, 2, 0x0000);
	wr_rb("command", 0x04, 2, 0x0007);
	wr_rb("command", 0x04, 2, 0x0407);
	wr_rb("command", 0x04, 2, 0xffff);
	wr_rb("command", 0x04, 2, 0x0006);
	show_rd("status", 0x06, 2);
	wr_rb("status", 0x06, 2, 0xffff);
	wr_rb("status", 0x06, 2, 0x0000);
	wr_rb("command+status dword", 0x04, 4, 0xffff0006);

	note("read-only and other header fields");
	wr_rb("vendor", 0x00, 2, 0x1234);
	wr_rb("device", 0x02, 2, 0x5678);
	wr_rb("revision", 0x08, 1, 0x55);
	wr_rb("class", 0x09, 1, 0x55);
	wr_rb("cache line", 0x0c, 1, 0x10);
	wr_rb("latency", 0x0d, 1, 0x40);
	wr_rb("header type", 0x0e, 1, 0x55);
	wr_rb("bist", 0x0f, 1, 0x40);
	wr_rb("cardbus cis", 0x28, 4, 0xffffffff);
	wr_rb("subsys vendor", 0x2c, 2, 0x1234);
	wr_rb("subsys id", 0x2e, 2, 0x1234);
	wr_rb("cap ptr", 0x34, 1, 0x40);
	wr_rb("reserved 0x38", 0x38, 4, 0xffffffff);
	wr_rb("interrupt line", 0x3c, 1, 0x5a);
	wr_rb("interrupt pin", 0x3d, 1, 0x03);
	wr_rb("min gnt", 0x3e, 1, 0x55);
	wr_rb("max lat", 0x3f, 1, 0x55);

	note("capabilities: writes");
	msi = find_cap(0x05);
	msix = find_cap(0x11);
	pcie = find_cap(0x10);
	off = find_cap(0x01);
	if (off) {
		show_rd("PM pmc", off + 2, 2);
		show_rd("PM pmcsr", off + 4, 2);
		wr_rb("PM pmc", off + 2, 2, 0xffff);
		wr_rb("PM pmcsr", off + 4, 2, 0x8103);
		wr_rb("PM pmcsr", off + 4, 2, 0x0000);
		wr_rb("PM next", off + 1, 1, 0x00);
	}
	if (msi) {
		show_rd("MSI flags", msi + 2, 2);
		wr_rb("MSI flags enable", msi + 2, 2, 0x0001);
		wr_rb("MSI flags qsize", msi + 2, 2, 0x0070);
		wr_rb("MSI flags all", msi + 2, 2, 0xffff);
		wr_rb("MSI flags", msi + 2, 2, 0x0000);
		wr_rb("MSI addr lo", msi + 4, 4, 0xfee01004);
		wr_rb("MSI addr hi", msi + 8, 4, 0xffffffff);
		wr_rb("MSI data (64-bit)", msi + 12, 2, 0xabcd);
		wr_rb("MSI data (32-bit)", msi + 8, 2, 0xabcd);
		wr_rb("MSI id", msi, 1, 0x33);
		dump(dev, msi, msi + 24, 0);
	}
	if (msix) {
		show_rd("MSI-X flags", msix + 2, 2);
		wr_rb("MSI-X flags enable", msix + 2, 2, 0x8000);
		wr_rb("MSI-X flags mask", msix + 2, 2, 0x4000);
		wr_rb("MSI-X flags all", msix + 2, 2, 0xffff);
		wr_rb("MSI-X flags", msix + 2, 2, 0x0000);
		wr_rb("MSI-X table", msix + 4, 4, 0xffffffff);
		wr_rb("MSI-X pba", msix + 8, 4, 0xffffffff);
	}
	if (pcie) {
		show_rd("PCIe flags", pcie + 2, 2);
		show_rd("PCIe devcap", pcie + 4, 4);
		show_rd("PCIe devctl", pcie + 8, 2);
		wr_rb("PCIe devctl", pcie + 8, 2, 0x0000);
		wr_rb("PCIe devctl", pcie + 8, 2, 0x7fff);
		wr_rb("PCIe devctl FLR", pcie + 8, 2, 0x8000);
		wr_rb("PCIe devsta", pcie + 10, 2, 0xffff);
		wr_rb("PCIe lnkctl", pcie + 16, 2, 0xffff);
		wr_rb("PCIe lnksta", pcie + 18, 2, 0xffff);
		wr_rb("PCIe devctl2", pcie + 40, 2, 0xffff);
		wr_rb("PCIe lnkctl2", pcie + 48, 2, 0xffff);
		dump(dev, pcie, pcie + 60, 0);
	}
	wr_rb("ecap 0x100", 0x100, 4, 0xffffffff);
	wr_rb("ecap 0x104", 0x104, 4, 0xffffffff);
	wr_rb("ecap 0x108", 0x108, 4, 0xffffffff);
	wr_rb("ecap 0x10c", 0x10c, 4, 0xffffffff);
	wr_rb("cfg 0xffc", 0xffc, 4, 0xffffffff);
	note("config space after the writes");
	dump(dev, 0, 0x100, 0);
	dump(dev, 0x100, 0x1000, 1);

	rw_errnos();

	note("reset");
	cfg_wr(dev, 0x04, 2, 0x0407);
	cfg_wr(dev, 0x10, 4, 0xffffffff);
	cfg_wr(dev, 0x3c, 1, 0x77);
	step("VFIO_DEVICE_RESET", xioctl(dev, DEVICE_RESET, NULL), NULL);
	note("config space after reset");
	dump(dev, 0, 0x100, 0);
	dump(dev, 0x100, 0x1000, 1);

	note("hot reset info");
	hot_reset_info(dev, 0, " argsz 0");
	hot_reset_info(dev, 8, " argsz 8");
	hot_reset_info(dev, 12, " argsz 12");
	hot_reset_info(dev, 20, " argsz 20");
	hot_reset_info(dev, sizeof(struct hot_reset_info), "");
	hot_reset_info(d1, sizeof(struct hot_reset_info), " vfio1 unbound");

	note("vfio1");
	b.iommufd = fd;
	b.out_devid = 0;
	rc = xioctl(d1, VFIO_DEVICE_BIND_IOMMUFD, &b);
	devid = b.out_devid;
	step_ok("bind vfio1", rc, "devid=%u", devid);
	dump(d1, 0, 0x100, 0);
	dump(d1, 0x100, 0x1000, 1);
	hot_reset_info(d1, sizeof(struct hot_reset_info), " vfio1");

	/*
	 * Close and open again: the PCI core puts back the state it saved at
	 * the first open; what it does not save stays. Then put back what
	 * this client changed, so that a client after it in the same boot
	 * reads the same config space.
	 */
	note("close and reopen vfio0");
	cfg_wr(dev, 0x04, 2, 0x0405);
	cfg_wr(dev, 0x40, 4, 0x12345678);
	dump_fields("before close");
	close(dev);
	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	b.iommufd = fd;
	rc = xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
	step("bind vfio0 again", rc, NULL);
	dump_fields("after reopen");
	cfg_wr(dev, 0x40, 4, 0);
	cfg_wr(dev, 0xffc, 4, 0);
	cfg_wr(dev, 0x10c, 4, 0x00462030);
	dump_fields("restored");
	close(d1);
	close(dev);
	close(fd);
	return 0;
}
