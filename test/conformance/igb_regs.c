// The 82576 (qemu's igb, 8086:10c9, qemu 8.0 or later) as vfio-pci shows it:
// VFIO_DEVICE_GET_INFO, every region's info and capability chain, every IRQ
// index's info, config space (IDs, the standard and extended capability
// chains with MSI-X and SR-IOV decoded, every non-zero dword), the MSI-X
// table through its region, then BAR0: every non-zero register after the
// reset that opening the device does, the named ones (CTRL, STATUS, EECD,
// CTRL_EXT, the interrupt registers at their legacy and 82576 offsets, GPIE,
// EIMS, IVAR, RAL0/RAH0), the NVM words EERD serves (the MAC first), the PHY
// registers MDIC reads, ICR/EICR read-to-clear after ICS/EICS, and what
// CTRL.RST and VFIO_DEVICE_RESET bring back.
// oracle: --igb
// platform: qemu-vtd-igb
#include "step.h"
#include "iofd.h"

#define REGION(i) ((off_t)((__u64)(i) << 40))
#define BAR0 REGION(0)
#define CFG REGION(7)
#define GET_REGION_INFO _IO(VFIO_TYPE, VFIO_BASE + 8)
#define GET_IRQ_INFO _IO(VFIO_TYPE, VFIO_BASE + 9)
#define DEVICE_RESET _IO(VFIO_TYPE, VFIO_BASE + 11)

struct region_info {
	__u32 argsz;
	__u32 flags;
	__u32 index;
	__u32 cap_offset;
	__u64 size;
	__u64 offset;
};

struct irq_info {
	__u32 argsz;
	__u32 flags;
	__u32 index;
	__u32 count;
};

static int dev;

static __u32 rd(unsigned int off)
{
	__u32 v = 0;

	if (pread(dev, &v, 4, BAR0 + off) != 4)
		printf("pread 0x%05x: %s\n", off, errno_name(errno));
	return v;
}

static void wr(unsigned int off, __u32 v)
{
	if (pwrite(dev, &v, 4, BAR0 + off) != 4)
		printf("pwrite 0x%05x: %s\n", off, errno_name(errno));
}

static long long cfg(unsigned int off, int size)
{
	__u32 v = 0;
	ssize_t n = pread(dev, &v, size, CFG + off);

	if (n < 0)
		return -errno;
	return n == size ? (long long)v : -1000;
}

/* ---------------------------------------------------------------- VFIO info */

static void device_info(void)
{
	struct vfio_device_info i = { .argsz = sizeof(i) };
	int rc = xioctl(dev, VFIO_DEVICE_GET_INFO, &i);

	step("VFIO_DEVICE_GET_INFO", rc, "flags=0x%x num_regions=%u num_irqs=%u",
	     i.flags, i.num_regions, i.num_irqs);
}

static void region_caps(const __u8 *buf, __u32 off, __u32 argsz)
{
	int n = 0;

	while (off && off + 8 <= argsz && n++ < 16) {
		const __u16 *h = (const __u16 *)(buf + off);
		__u32 next = *(const __u32 *)(buf + off + 4);

		printf("  cap id=%u version=%u", h[0], h[1]);
		if (h[0] == 1 && off + 16 <= argsz) {  /* sparse mmap areas */
			__u32 nr = *(const __u32 *)(buf + off + 8), k;

			printf(" sparse nr_areas=%u", nr);
			for (k = 0; k < nr && off + 16 + 16 * (k + 1) <= argsz; k++) {
				const __u64 *a = (const __u64 *)(buf + off + 16 + 16 * k);

				printf(" [0x%llx+0x%llx]", (unsigned long long)a[0], (unsigned long long)a[1]);
			}
		} else if (h[0] == 2 && off + 16 <= argsz) {  /* type */
			printf(" type=%u subtype=%u", *(const __u32 *)(buf + off + 8),
			       *(const __u32 *)(buf + off + 12));
		}
		printf("\n");
		off = next;
	}
}

static void regions(void)
{
	__u32 idx;

	note("regions");
	for (idx = 0; idx < 9; idx++) {
		__u8 buf[512];
		struct region_info *r = (struct region_info *)buf;
		int rc;

		memset(buf, 0, sizeof(buf));
		r->argsz = sizeof(buf);
		r->index = idx;
		rc = xioctl(dev, GET_REGION_INFO, r);
		step(L("region %u", idx), rc, "flags=0x%x size=0x%llx offset=0x%llx argsz=%u cap_offset=%u",
		     r->flags, (unsigned long long)r->size, (unsigned long long)r->offset,
		     r->argsz, r->cap_offset);
		if (rc == 0 && r->cap_offset)
			region_caps(buf, r->cap_offset, r->argsz < sizeof(buf) ? r->argsz : sizeof(buf));
	}
}

static void irqs(void)
{
	__u32 idx;

	note("irqs");
	for (idx = 0; idx < 6; idx++) {
		struct irq_info i = { .argsz = sizeof(i), .index = idx };
		int rc = xioctl(dev, GET_IRQ_INFO, &i);

		step(L("irq index %u", idx), rc, "flags=0x%x count=%u", i.flags, i.count);
	}
}

/* ---------------------------------------------------------------- config space */

static void cfg_dump(unsigned int from, unsigned int to)
{
	unsigned int off, zero = 0;

	for (off = from; off < to; off += 4) {
		long long v = cfg(off, 4);

		if (v < 0) {
			printf("cfg 0x%03x: %s\n", off, v == -1000 ? "short" : errno_name((int)-v));
			continue;
		}
		if (!v) {
			zero++;
			continue;
		}
		printf("cfg 0x%03x: 0x%08llx\n", off, v);
	}
	printf("cfg 0x%03x-0x%03x: %u zero dwords\n", from, to - 1, zero);
}

static void msix_cap(unsigned int p)
{
	long long ctl = cfg(p + 2, 2), tab = cfg(p + 4, 4), pba = cfg(p + 8, 4);

	printf("  MSI-X: table size %lld, control 0x%04llx, table BIR %lld offset 0x%llx, PBA BIR %lld offset 0x%llx\n",
	       (ctl & 0x7ff) + 1, ctl, tab & 7, tab & ~7ll, pba & 7, pba & ~7ll);
}

static void sriov_cap(unsigned int p)
{
	int b;

	printf("  SR-IOV: cap 0x%08llx ctrl 0x%04llx status 0x%04llx initial VFs %lld total VFs %lld num VFs %lld link %lld\n",
	       cfg(p + 4, 4), cfg(p + 8, 2), cfg(p + 10, 2), cfg(p + 12, 2), cfg(p + 14, 2),
	       cfg(p + 16, 2), cfg(p + 18, 1));
	printf("  SR-IOV: first VF offset %lld stride %lld VF device 0x%04llx page sizes 0x%08llx system page size 0x%08llx\n",
	       cfg(p + 20, 2), cfg(p + 22, 2), cfg(p + 26, 2), cfg(p + 28, 4), cfg(p + 32, 4));
	for (b = 0; b < 6; b++)
		printf("  SR-IOV: VF BAR%d 0x%08llx\n", b, cfg(p + 36 + 4 * b, 4));
	printf("  SR-IOV: migration state 0x%08llx\n", cfg(p + 60, 4));
}

static void config_space(void)
{
	long long p;
	int n = 0;

	note("config space");
	printf("vendor 0x%04llx device 0x%04llx command 0x%04llx status 0x%04llx\n",
	       cfg(0, 2), cfg(2, 2), cfg(4, 2), cfg(6, 2));
	printf("revision 0x%02llx class 0x%06llx header 0x%02llx\n",
	       cfg(8, 1), cfg(8, 4) >> 8, cfg(0xe, 1));
	printf("subsystem vendor 0x%04llx subsystem 0x%04llx interrupt pin %lld line 0x%02llx\n",
	       cfg(0x2c, 2), cfg(0x2e, 2), cfg(0x3d, 1), cfg(0x3c, 1));
	cfg_dump(0, 0x100);
	p = cfg(0x34, 1);
	while (p > 0 && n++ < 48) {
		long long h = cfg((unsigned int)p, 2);

		printf("cap at 0x%02llx: id=0x%02llx next=0x%02llx\n", p, h & 0xff, (h >> 8) & 0xff);
		if ((h & 0xff) == 0x11)
			msix_cap((unsigned int)p);
		p = (h >> 8) & 0xfc;
	}
	p = 0x100;
	n = 0;
	while (p && n++ < 48) {
		long long h = cfg((unsigned int)p, 4);

		if (h <= 0) {
			printf("ecap at 0x%03llx: 0x%08llx\n", p, h);
			break;
		}
		printf("ecap at 0x%03llx: id=0x%04llx ver=%lld next=0x%03llx\n", p, h & 0xffff,
		       (h >> 16) & 0xf, (h >> 20) & 0xffc);
		if ((h & 0xffff) == 0x10)
			sriov_cap((unsigned int)p);
		p = (h >> 20) & 0xffc;
	}
	cfg_dump(0x100, 0x1000);
}

/* Offset of the standard capability ID `id`, or 0. */
static unsigned int find_cap(unsigned int id)
{
	long long p = cfg(0x34, 1);
	int n = 0;

	while (p > 0 && n++ < 48) {
		long long h = cfg((unsigned int)p, 2);

		if (h < 0)
			return 0;
		if ((h & 0xff) == id)
			return (unsigned int)p;
		p = (h >> 8) & 0xfc;
	}
	return 0;
}

/* The MSI-X table and PBA through the region of the BAR that holds them. */
static void msix_table(void)
{
	unsigned int p = find_cap(0x11), k, n;
	long long tab, pba;
	__u32 v = 0;
	ssize_t r;

	note("MSI-X table");
	if (!p) {
		printf("no MSI-X capability\n");
		return;
	}
	n = (unsigned int)(cfg(p + 2, 2) & 0x7ff) + 1;
	tab = cfg(p + 4, 4);
	pba = cfg(p + 8, 4);
	for (k = 0; k < n; k++) {
		__u32 e[4] = { 0 };

		r = pread(dev, e, 16, REGION(tab & 7) + (tab & ~7ll) + 16 * k);
		if (r != 16)
			printf("vector %u: %s\n", k, r < 0 ? errno_name(errno) : "short");
		else
			printf("vector %u: addr 0x%08x%08x data 0x%08x control 0x%08x\n", k, e[1], e[0], e[2], e[3]);
	}
	r = pread(dev, &v, 4, REGION(pba & 7) + (pba & ~7ll));
	if (r != 4)
		printf("PBA: %s\n", r < 0 ? errno_name(errno) : "short");
	else
		printf("PBA: 0x%08x\n", v);
}

/* ---------------------------------------------------------------- BAR0 */

/* Registers whose value depends on time: SYSTIML/SYSTIMH, and the interrupt
 * assertion count IAC. */
static int varies(unsigned int off)
{
	return off == 0xb600 || off == 0xb604 || off == 0x4100;
}

static void dump(const char *what)
{
	unsigned int off, zero = 0;

	note(what);
	for (off = 0; off < 0x20000; off += 4) {
		__u32 v;

		if (varies(off))
			continue;
		v = rd(off);
		if (!v) {
			zero++;
			continue;
		}
		printf("reg 0x%05x: 0x%08x\n", off, v);
	}
	printf("%u zero dwords\n", zero);
}

static void named(void)
{
	static const struct { const char *name; unsigned int off; } r[] = {
		{ "CTRL", 0x0 }, { "STATUS", 0x8 }, { "EECD", 0x10 }, { "CTRL_EXT", 0x18 },
		{ "MDIC", 0x20 }, { "ICR (0x0c0)", 0xc0 }, { "IMS (0x0d0)", 0xd0 },
		{ "ICR", 0x1500 }, { "IMS", 0x1508 }, { "IAM", 0x1510 }, { "GPIE", 0x1514 },
		{ "EIMS", 0x1524 }, { "EIAC", 0x152c }, { "EIAM", 0x1530 }, { "EICR", 0x1580 },
		{ "EITR0", 0x1680 }, { "IVAR0", 0x1700 }, { "IVAR_MISC", 0x1740 },
		{ "RCTL", 0x100 }, { "TCTL", 0x400 }, { "RXPBS", 0x2404 }, { "TXPBS", 0x3404 },
		{ "RXDCTL0", 0xc028 }, { "TXDCTL0", 0xe028 }, { "SRRCTL0", 0xc00c },
		{ "RAL0", 0x5400 }, { "RAH0", 0x5404 }, { "RAL1", 0x5408 }, { "RAH1", 0x540c },
		{ "MRQC", 0x5818 }, { "VT_CTL", 0x581c }, { "MANC", 0x5820 },
		{ "SWSM", 0x5b50 }, { "FWSM", 0x5b54 }, { "SW_FW_SYNC", 0x5b5c },
		{ "GCR", 0x5b00 }, { "MBVFICR", 0xc80 }, { "MBVFIMR", 0xc84 },
		{ "VFRE", 0xc8c }, { "VFTE", 0xc90 }, { "PBA", 0x1000 },
	};
	unsigned int i;

	note("named registers");
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		printf("%s (0x%05x): 0x%08x\n", r[i].name, r[i].off, rd(r[i].off));
}

static void nvm(void)
{
	unsigned int a;

	note("EERD: NVM words");
	for (a = 0; a < 0x40; a++) {
		wr(0x14, (a << 2) | 1);
		printf("nvm 0x%02x: EERD 0x%08x\n", a, rd(0x14));
	}
	wr(0x14, 5 << 2);
	printf("EERD without START: 0x%08x\n", rd(0x14));
}

static __u32 mdic(__u32 v)
{
	wr(0x20, v);
	return rd(0x20);
}

static void phy(void)
{
	unsigned int reg;

	note("MDIC: PHY registers (phy 1)");
	for (reg = 0; reg < 32; reg++)
		printf("phy reg %2u: MDIC 0x%08x\n", reg, mdic((2u << 26) | (1u << 21) | (reg << 16)));
	printf("phy 2 reg 1 read: MDIC 0x%08x\n", mdic((2u << 26) | (2u << 21) | (1u << 16)));
	printf("phy 1 write reg 4 0x0de1: MDIC 0x%08x\n", mdic((1u << 26) | (1u << 21) | (4u << 16) | 0x0de1));
	printf("phy 1 read reg 4: MDIC 0x%08x\n", mdic((2u << 26) | (1u << 21) | (4u << 16)));
	printf("phy 1 write reg 2 (ID1) 0: MDIC 0x%08x\n", mdic((1u << 26) | (1u << 21) | (2u << 16)));
	printf("phy 1 read reg 2: MDIC 0x%08x\n", mdic((2u << 26) | (1u << 21) | (2u << 16)));
}

static void intr(void)
{
	__u32 a, b, c;

	note("ICS, ICR, IMS, IMC; EICS, EICR, EIMS, EIMC");
	wr(0x150c, 0xffffffff);
	wr(0x1528, 0xffffffff);
	a = rd(0x1500);
	b = rd(0x1580);
	printf("ICR at start: 0x%08x EICR 0x%08x\n", a, b);
	wr(0x1508, 0xffffffff);
	printf("IMS all ones: IMS 0x%08x\n", rd(0x1508));
	wr(0x150c, 0xffffffff);
	printf("IMC all ones: IMS 0x%08x\n", rd(0x1508));
	wr(0x1504, 0x4);
	a = rd(0x1500);
	b = rd(0x1500);
	printf("ICS LSC, IMS 0: ICR 0x%08x then 0x%08x\n", a, b);
	wr(0x1508, 0x4);
	wr(0x1504, 0x4);
	c = rd(0x1508);
	a = rd(0x1500);
	b = rd(0x1500);
	printf("ICS LSC, IMS LSC: IMS 0x%08x ICR 0x%08x then 0x%08x\n", c, a, b);
	wr(0xc8, 0x4);
	a = rd(0x1500);
	b = rd(0xc0);
	c = rd(0xc0);
	printf("ICS LSC at 0x0c8: ICR at 0x1500 0x%08x, at 0x0c0 0x%08x then 0x%08x\n", a, b, c);
	wr(0xd0, 0xffffffff);
	printf("IMS (0x0d0) all ones: IMS 0x%08x\n", rd(0xd0));
	wr(0xd8, 0xffffffff);
	printf("IMC (0x0d8) all ones: IMS 0x%08x\n", rd(0xd0));
	wr(0xd0, 0x4);
	wr(0xc8, 0x4);
	c = rd(0xd0);
	a = rd(0xc0);
	b = rd(0xc0);
	printf("ICS LSC, IMS LSC (0x0d0): IMS 0x%08x ICR 0x%08x then 0x%08x\n", c, a, b);
	wr(0xc8, 0x14);
	wr(0xc0, 0x10);
	a = rd(0xc0);
	b = rd(0xc0);
	printf("ICS 0x14, write ICR 0x10: ICR 0x%08x then 0x%08x\n", a, b);
	wr(0xd8, 0xffffffff);
	wr(0x1514, 0x00000001);
	wr(0xc8, 0x4);
	wr(0xd0, 0x4);
	a = rd(0xc0);
	b = rd(0xc0);
	printf("GPIE.NSICR, ICS LSC, IMS LSC: ICR 0x%08x then 0x%08x\n", a, b);
	wr(0xd8, 0xffffffff);
	wr(0x1514, 0);
	rd(0xc0);
	wr(0x150c, 0xffffffff);
	wr(0x1524, 0xffffffff);
	printf("EIMS all ones: EIMS 0x%08x\n", rd(0x1524));
	wr(0x1528, 0xffffffff);
	printf("EIMC all ones: EIMS 0x%08x\n", rd(0x1524));
	wr(0x1520, 0x3);
	a = rd(0x1580);
	b = rd(0x1580);
	printf("EICS 0x3, EIMS 0: EICR 0x%08x then 0x%08x\n", a, b);
	wr(0x1514, 0x80000011);
	printf("GPIE 0x80000011: GPIE 0x%08x\n", rd(0x1514));
	wr(0x1514, 0);
	wr(0x1700, 0x81808180);
	printf("IVAR0 0x81808180: IVAR0 0x%08x\n", rd(0x1700));
	wr(0x1700, 0);
	wr(0x1740, 0xffffffff);
	printf("IVAR_MISC all ones: IVAR_MISC 0x%08x\n", rd(0x1740));
	wr(0x1740, 0);
	rd(0xc0);
	rd(0x1580);
}

static void ctrl_rst(void)
{
	note("CTRL.RST");
	wr(0xc000, 0x12340);
	wr(0xe008, 0x1000);
	wr(0x1508, 0x4);
	wr(0x5400, 0x11223344);
	wr(0x5200, 0xff);
	wr(0x0, rd(0x0) | (1u << 26));
	dump("registers after CTRL.RST");
}

int main(void)
{
	int fd = iofd_open();
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };
	__u16 c = 0;

	dev = open("/dev/vfio/devices/vfio2", O_RDWR);
	step("open vfio2", dev < 0 ? -errno : 0, NULL);
	b.iommufd = fd;
	step("bind vfio2", xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b), NULL);
	device_info();
	regions();
	irqs();
	config_space();
	msix_table();
	pread(dev, &c, 2, CFG + 4);
	printf("command 0x%04x\n", c);
	c |= 0x2;
	pwrite(dev, &c, 2, CFG + 4);
	dump("BAR0 at open");
	named();
	nvm();
	phy();
	intr();
	ctrl_rst();
	wr(0xc000, 0x12340);
	step("VFIO_DEVICE_RESET", xioctl(dev, DEVICE_RESET, NULL), NULL);
	c = 0;
	pread(dev, &c, 2, CFG + 4);
	printf("command after reset 0x%04x\n", c);
	c |= 0x2;
	pwrite(dev, &c, 2, CFG + 4);
	dump("registers after VFIO_DEVICE_RESET");
	named();
	return 0;
}
