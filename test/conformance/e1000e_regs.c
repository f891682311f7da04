// The 82574L (qemu's e1000e) registers through vfio-pci's BAR0 region
// (pread/pwrite at region 0): every register's value after the reset that
// opening the device does, the NVM words EERD serves (the MAC first), the
// PHY registers MDIC reads, which bits of the common registers take a
// write, ICR read-to-clear after ICS with and without IMS, IMS/IMC, and
// what CTRL.RST and VFIO_DEVICE_RESET bring back.
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"

#define BAR0 ((off_t)0)
#define CFG ((off_t)7 << 40)
#define DEVICE_RESET _IO(VFIO_TYPE, VFIO_BASE + 11)

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

/* Registers whose value depends on time: SYSTIML/SYSTIMH, and IAC (how
 * often INTx was asserted, which depends on when the guest kernel ran). */
static int varies(unsigned int off)
{
	return off == 0xb600 || off == 0xb604 || off == 0x4100;
}

/* Every non-zero dword of BAR0 (clear-on-read ones read as they are). */
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

static void wr_rb(const char *name, unsigned int off, __u32 v)
{
	wr(off, v);
	printf("write %s (0x%05x) 0x%08x: read back 0x%08x\n", name, off, v, rd(off));
}

static void masks(void)
{
	static const struct { const char *name; unsigned int off; } r[] = {
		{ "CTRL_EXT", 0x18 }, { "FLA", 0x1c }, { "FCAL", 0x28 },
		{ "FCAH", 0x2c }, { "FCT", 0x30 }, { "VET", 0x38 }, { "ITR", 0xc4 },
		{ "IAM", 0xe0 }, { "IVAR", 0xe4 }, { "EITR0", 0xe8 }, { "EIAC", 0xdc },
		{ "RCTL", 0x100 }, { "FCTTV", 0x170 }, { "TXCW", 0x178 },
		{ "TCTL", 0x400 }, { "TIPG", 0x410 }, { "LEDCTL", 0xe00 },
		{ "EXTCNF_CTRL", 0xf00 }, { "PBA", 0x1000 }, { "FCRTL", 0x2160 },
		{ "FCRTH", 0x2168 }, { "PSRCTL", 0x2170 },
		{ "RDBAL0", 0x2800 }, { "RDBAH0", 0x2804 }, { "RDLEN0", 0x2808 },
		{ "RDH0", 0x2810 }, { "RDT0", 0x2818 }, { "RDTR", 0x2820 },
		{ "RXDCTL0", 0x2828 }, { "RADV", 0x282c }, { "RDBAL1", 0x2900 },
		{ "RDLEN1", 0x2908 }, { "TDBAL0", 0x3800 }, { "TDBAH0", 0x3804 },
		{ "TDLEN0", 0x3808 }, { "TDH0", 0x3810 }, { "TDT0", 0x3818 },
		{ "TIDV", 0x3820 }, { "TXDCTL0", 0x3828 }, { "TADV", 0x382c },
		{ "TARC0", 0x3840 }, { "TDBAL1", 0x3900 }, { "TDLEN1", 0x3908 },
		{ "RXCSUM", 0x5000 }, { "RFCTL", 0x5008 }, { "MTA0", 0x5200 },
		{ "MTA127", 0x53fc }, { "RAL0", 0x5400 }, { "RAH0", 0x5404 },
		{ "RAL1", 0x5408 }, { "RAH1", 0x540c }, { "VFTA0", 0x5600 },
		{ "WUC", 0x5800 }, { "WUFC", 0x5808 }, { "MRQC", 0x5818 },
		{ "MANC", 0x5820 }, { "GCR", 0x5b00 }, { "SWSM", 0x5b50 },
		{ "FWSM", 0x5b54 }, { "RETA0", 0x5c00 }, { "RSSRK0", 0x5c80 },
		{ "STATUS", 0x8 }, { "EECD", 0x10 }, { "ICR", 0xc0 },
		{ "CRCERRS", 0x4000 }, { "GPRC", 0x4074 }, { "TPR", 0x40d0 },
		{ "TIMINCA", 0xb608 },
	};
	unsigned int i;

	note("write masks: all ones, then zero");
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		__u32 orig = rd(r[i].off);

		wr_rb(r[i].name, r[i].off, 0xffffffff);
		wr_rb(r[i].name, r[i].off, 0);
		wr(r[i].off, orig);
	}
}

static void nvm(void)
{
	unsigned int a;

	note("EERD: NVM words");
	for (a = 0; a < 0x42; a++) {
		wr(0x14, (a << 2) | 1);
		printf("nvm 0x%02x: EERD 0x%08x\n", a, rd(0x14));
	}
	wr(0x14, 5 << 2);
	printf("EERD without START: 0x%08x\n", rd(0x14));
	wr(0x14, 0xffffffff);
	printf("EERD all ones: 0x%08x\n", rd(0x14));
}

static __u32 mdic(__u32 v)
{
	wr(0x20, v);
	return rd(0x20);
}

static void phy(void)
{
	unsigned int page, reg;
	static const unsigned int pages[] = { 0, 2, 3, 769, 770, 800 };

	note("MDIC: PHY registers (phy 1)");
	for (page = 0; page < sizeof(pages) / sizeof(pages[0]); page++) {
		mdic((1u << 26) | (1u << 21) | (22u << 16) | pages[page]);
		for (reg = 0; reg < 32; reg++)
			printf("phy page %u reg %2u: MDIC 0x%08x\n", pages[page], reg,
			       mdic((2u << 26) | (1u << 21) | (reg << 16)));
	}
	mdic((1u << 26) | (1u << 21) | (22u << 16) | 0);
	printf("phy 2 reg 1 read: MDIC 0x%08x\n", mdic((2u << 26) | (2u << 21) | (1u << 16)));
	printf("phy 1 no op: MDIC 0x%08x\n", mdic((1u << 21) | (1u << 16) | 0x1234));
	printf("phy 1 write reg 4 0x0de1: MDIC 0x%08x\n", mdic((1u << 26) | (1u << 21) | (4u << 16) | 0x0de1));
	printf("phy 1 read reg 4: MDIC 0x%08x\n", mdic((2u << 26) | (1u << 21) | (4u << 16)));
	printf("phy 1 write reg 1 (BMSR) 0: MDIC 0x%08x\n", mdic((1u << 26) | (1u << 21) | (1u << 16)));
	printf("phy 1 read reg 1: MDIC 0x%08x\n", mdic((2u << 26) | (1u << 21) | (1u << 16)));
	printf("phy 1 write reg 2 (ID1) 0: MDIC 0x%08x\n", mdic((1u << 26) | (1u << 21) | (2u << 16)));
	printf("phy 1 read reg 2: MDIC 0x%08x\n", mdic((2u << 26) | (1u << 21) | (2u << 16)));
	printf("MDIC read and write ops: MDIC 0x%08x\n", mdic((3u << 26) | (1u << 21) | (4u << 16) | 0x01e1));
	printf("phy 1 read reg 4: MDIC 0x%08x\n", mdic((2u << 26) | (1u << 21) | (4u << 16)));
}

static void intr(void)
{
	__u32 a, b, c;

	note("ICS, ICR, IMS, IMC");
	wr(0xd8, 0xffffffff);
	printf("ICR at start: 0x%08x\n", rd(0xc0));
	wr_rb("IMS", 0xd0, 0xffffffff);
	wr_rb("IMC", 0xd8, 0xffffffff);
	wr(0xc8, 0x4);
	a = rd(0xc0);
	b = rd(0xc0);
	printf("ICS LSC, IMS 0: ICR 0x%08x then 0x%08x\n", a, b);
	wr(0xc8, 0x00000084);
	printf("ICS 0x84, ICS reads 0x%08x\n", rd(0xc8));
	a = rd(0xc0);
	b = rd(0xc0);
	printf("ICR 0x%08x then 0x%08x\n", a, b);
	wr(0xd0, 0x10);
	wr(0xc8, 0x4);
	c = rd(0xd0);
	a = rd(0xc0);
	b = rd(0xc0);
	printf("ICS LSC, IMS RXDMT0: IMS 0x%08x ICR 0x%08x then 0x%08x\n", c, a, b);
	wr(0xc8, 0x10);
	a = rd(0xc0);
	b = rd(0xc0);
	printf("ICS RXDMT0, IMS RXDMT0: ICR 0x%08x then 0x%08x\n", a, b);
	wr(0xc8, 0x14);
	wr(0xc0, 0x10);
	a = rd(0xc0);
	b = rd(0xc0);
	printf("ICS 0x14, write ICR 0x10: ICR 0x%08x then 0x%08x\n", a, b);
	wr(0xe0, 0x10);
	wr(0x18, rd(0x18) | (1u << 27));
	wr(0xc8, 0x10);
	c = rd(0xd0);
	a = rd(0xc0);
	b = rd(0xd0);
	printf("IAME, IAM RXDMT0, ICS RXDMT0: IMS 0x%08x ICR 0x%08x IMS 0x%08x\n", c, a, b);
	wr(0x18, rd(0x18) & ~(1u << 27));
	wr(0xe0, 0);
	wr(0xd0, 0x104);
	wr(0xd8, 0x4);
	printf("IMS 0x104 then IMC 0x4: IMS 0x%08x\n", rd(0xd0));
	wr(0xd8, 0xffffffff);
	rd(0xc0);
}

/* pread/pwrite narrower and wider than a register, and at unaligned offsets. */
static void widths(void)
{
	__u64 v;
	int o;

	note("access widths");
	wr(0x5200, 0x44332211);
	wr(0x5204, 0x88776655);
	for (o = 0; o < 4; o++) {
		v = 0;
		pread(dev, &v, 1, BAR0 + 0x5200 + o);
		printf("read8 MTA0+%d: 0x%02llx\n", o, (unsigned long long)v);
	}
	v = 0;
	pread(dev, &v, 2, BAR0 + 0x5202);
	printf("read16 MTA0+2: 0x%04llx\n", (unsigned long long)v);
	v = 0;
	pread(dev, &v, 8, BAR0 + 0x5200);
	printf("read64 MTA0: 0x%016llx\n", (unsigned long long)v);
	v = 0xab;
	pwrite(dev, &v, 1, BAR0 + 0x5201);
	printf("write8 0xab at MTA0+1: MTA0 0x%08x\n", rd(0x5200));
	v = 0xcdef;
	pwrite(dev, &v, 2, BAR0 + 0x5202);
	printf("write16 0xcdef at MTA0+2: MTA0 0x%08x\n", rd(0x5200));
	v = 0x1122334455667788ull;
	pwrite(dev, &v, 8, BAR0 + 0x5200);
	printf("write64 at MTA0: MTA0 0x%08x MTA1 0x%08x\n", rd(0x5200), rd(0x5204));
	wr(0x5200, 0);
	wr(0x5204, 0);
	v = 0x12345678;
	pwrite(dev, &v, 4, ((off_t)1 << 40) + 0x5200);
	v = 0;
	pread(dev, &v, 4, ((off_t)1 << 40) + 0x5200);
	printf("BAR1 (flash) 0x5200 after a write: 0x%08llx, MTA0 0x%08x\n", (unsigned long long)v, rd(0x5200));
	v = 0;
	pread(dev, &v, 4, ((off_t)1 << 40) + 0x8);
	printf("BAR1 (flash) 0x8: 0x%08llx\n", (unsigned long long)v);
	v = 0x8;
	pwrite(dev, &v, 4, ((off_t)2 << 40));
	v = 0;
	pread(dev, &v, 4, ((off_t)2 << 40) + 4);
	printf("BAR2 IOADDR 0x8, IODATA: 0x%08llx\n", (unsigned long long)v);
	v = 0;
	pread(dev, &v, 4, ((off_t)2 << 40));
	printf("BAR2 IOADDR reads 0x%08llx\n", (unsigned long long)v);
}

/* The second NIC: its MAC in the NVM and in RAL0/RAH0. */
static void second_nic(int fd)
{
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = fd };
	int d1 = open("/dev/vfio/devices/vfio1", O_RDWR), save = dev, a;
	__u16 c = 0;

	note("vfio1");
	step("bind vfio1", xioctl(d1, VFIO_DEVICE_BIND_IOMMUFD, &b), NULL);
	pread(d1, &c, 2, CFG + 4);
	c |= 0x2;
	pwrite(d1, &c, 2, CFG + 4);
	dev = d1;
	for (a = 0; a < 3; a++) {
		wr(0x14, (a << 2) | 1);
		printf("vfio1 nvm %d: EERD 0x%08x\n", a, rd(0x14));
	}
	wr(0x14, (0x3f << 2) | 1);
	printf("vfio1 nvm 0x3f: EERD 0x%08x\n", rd(0x14));
	printf("vfio1 RAL0 0x%08x RAH0 0x%08x STATUS 0x%08x CTRL 0x%08x\n", rd(0x5400), rd(0x5404), rd(0x8), rd(0x0));
	dev = save;
	close(d1);
}

static void ctrl_rst(void)
{
	note("CTRL.RST");
	wr(0x2800, 0x12340);
	wr(0x3808, 0x1000);
	wr(0xd0, 0x4);
	wr(0x5400, 0x11223344);
	wr(0x5200, 0xff);
	wr(0x400, 0x0103f0fa);
	wr(0x1c, 0xc);
	wr(0x1000, 0x00100030);
	wr(0x0, rd(0x0) | (1u << 26));
	dump("registers after CTRL.RST");
}

int main(void)
{
	int fd = iofd_open();
	int rc;
	long long cmd;
	__u16 c = 0;
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };

	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	step("open vfio0", dev < 0 ? -errno : 0, NULL);
	b.iommufd = fd;
	rc = xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
	step("bind vfio0", rc, NULL);
	cmd = pread(dev, &c, 2, CFG + 4) == 2 ? c : -1;
	printf("command 0x%04llx\n", cmd);
	c |= 0x2;
	pwrite(dev, &c, 2, CFG + 4);

	dump("BAR0 at open");
	nvm();
	phy();
	intr();
	widths();
	masks();
	ctrl_rst();
	wr(0x2800, 0x12340);
	step("VFIO_DEVICE_RESET", xioctl(dev, DEVICE_RESET, NULL), NULL);
	c = 0;
	pread(dev, &c, 2, CFG + 4);
	printf("command after reset 0x%04x\n", c);
	c |= 0x2;
	pwrite(dev, &c, 2, CFG + 4);
	dump("registers after VFIO_DEVICE_RESET");
	second_nic(fd);
	return 0;
}
