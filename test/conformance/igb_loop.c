// The 82576 (qemu's igb, vfio2) passing frames to itself: the igb has no
// peer on the oracle's machine, so its own loopback (RCTL.LBM = MAC, or PHY
// BMCR loopback) carries them. Bound to an iommufd with the two e1000e
// (whose BARs on this machine are printed first), attached to an IOAS,
// reset, link brought up by restarting autonegotiation through MDIC, one TX
// ring and one RX ring of 16-byte descriptors in IOVA space. Frames: an
// advanced data descriptor, a context descriptor with IP and UDP checksum
// insertion, a legacy descriptor in two fragments, a short frame, a frame
// to nobody's MAC, one through PHY loopback, one onto the (empty) wire, a
// TX head write-back, a frame larger than one RX buffer; each TX and RX
// descriptor write-back and the bytes that arrived. Then ICR/EICR, MSI-X in
// GPIE.MSIX_MODE with IVAR and IVAR_MISC to vectors through eventfds, the
// statistics (read twice: most clear on read), and DMA faults (RX buffer
// and TX buffer at IOVAs nothing is mapped at).
// oracle: --igb
// platform: qemu-vtd-igb
#include "step.h"
#include "iofd.h"
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>

#define CFG ((off_t)7 << 40)
#define DEVICE_RESET _IO(VFIO_TYPE, VFIO_BASE + 11)
#define SET_IRQS _IO(VFIO_TYPE, VFIO_BASE + 10)
#define IRQ_DATA_NONE (1u << 0)
#define IRQ_DATA_EVENTFD (1u << 2)
#define IRQ_ACTION_TRIGGER (1u << 5)
#define IRQ_MSIX 2

enum {
	CTRL = 0x0, STATUS = 0x8, EERD = 0x14, MDIC = 0x20, ICR = 0xc0, ICS = 0xc8, IMS = 0xd0,
	IMC = 0xd8, RCTL = 0x100, TCTL = 0x400, GPIE = 0x1514, EICS = 0x1520, EIMS = 0x1524,
	EIMC = 0x1528, EIAC = 0x152c, EICR = 0x1580, IVAR0 = 0x1700, IVAR_MISC = 0x1740,
	RAL0 = 0x5400, RAH0 = 0x5404,
	RDBAL = 0xc000, RDBAH = 0xc004, RDLEN = 0xc008, SRRCTL = 0xc00c, RDH = 0xc010, RDT = 0xc018,
	RXDCTL = 0xc028, TDBAL = 0xe000, TDBAH = 0xe004, TDLEN = 0xe008, TDH = 0xe010, TDT = 0xe018,
	TXDCTL = 0xe028, TDWBAL = 0xe038, TDWBAH = 0xe03c,
};

#define RCTL_EN (1u << 1)
#define RCTL_UPE (1u << 3)
#define RCTL_LBM_MAC (1u << 6)
#define RCTL_BAM (1u << 15)
#define RCTL_SECRC (1u << 26)
#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3)

#define DTYP_DATA (3u << 20)
#define DTYP_CTXT (2u << 20)
#define CMD_EOP (1u << 24)
#define CMD_IFCS (1u << 25)
#define CMD_RS (1u << 27)
#define CMD_DEXT (1u << 29)
#define POPTS_IXSM (1u << 8)
#define POPTS_TXSM (1u << 9)

#define NDESC 16
#define BUFSZ 2048
#define IOVA_A 0x10000000ull
#define LEN_A (2ul << 20)
#define IOVA_HOLE 0x30000000ull
#define OFF_TXR 0x0
#define OFF_RXR 0x1000
#define OFF_WB 0x2000
#define OFF_TXB 0x10000
#define OFF_RXB 0x40000

static int nic[3];
static int dev;
static char *a;
static volatile __u32 *txr, *rxr;
static unsigned int txt, rxt;
static const __u8 mymac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x58 };
static const __u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const __u8 other[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

static __u32 rd(unsigned int off)
{
	__u32 v = 0;

	if (pread(dev, &v, 4, off) != 4)
		printf("pread 0x%05x: %s\n", off, errno_name(errno));
	return v;
}

static void wr(unsigned int off, __u32 v)
{
	if (pwrite(dev, &v, 4, off) != 4)
		printf("pwrite 0x%05x: %s\n", off, errno_name(errno));
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static int wait_reg_ms(unsigned int off, __u32 mask, __u32 want, int ms)
{
	long long end = now_ms() + ms;

	for (;;) {
		if ((rd(off) & mask) == want)
			return 1;
		if (now_ms() > end)
			return 0;
		usleep(1000);
	}
}

static __u32 mdic(__u32 v)
{
	wr(MDIC, v);
	wait_reg_ms(MDIC, 1u << 28, 1u << 28, 100);
	return rd(MDIC);
}

static void cfg_bars(int n)
{
	__u32 b[4] = { 0 };

	if (pread(nic[n], b, 16, CFG + 0x10) != 16)
		printf("vfio%d config: %s\n", n, errno_name(errno));
	printf("vfio%d BAR0 0x%08x BAR1 0x%08x BAR2 0x%08x BAR3 0x%08x\n", n, b[0], b[1], b[2], b[3]);
}

static void command_on(void)
{
	__u16 c = 0;

	pread(dev, &c, 2, CFG + 4);
	c |= 0x6;
	pwrite(dev, &c, 2, CFG + 4);
	c = 0;
	pread(dev, &c, 2, CFG + 4);
	printf("command 0x%04x\n", c);
}

static void link_up(void)
{
	int up;

	printf("STATUS before 0x%08x BMSR 0x%04x\n", rd(STATUS), mdic((2u << 26) | (1u << 21) | (1u << 16)) & 0xffff);
	printf("BMCR restart autoneg: MDIC 0x%08x\n", mdic((1u << 26) | (1u << 21) | (0u << 16) | 0x1340));
	printf("STATUS right after 0x%08x BMSR 0x%04x BMCR 0x%04x\n", rd(STATUS),
	       mdic((2u << 26) | (1u << 21) | (1u << 16)) & 0xffff, mdic((2u << 26) | (1u << 21)) & 0xffff);
	up = wait_reg_ms(STATUS, 2, 2, 3000);
	printf("link %s: STATUS 0x%08x BMSR 0x%04x ANLPAR 0x%04x\n", up ? "up" : "down", rd(STATUS),
	       mdic((2u << 26) | (1u << 21) | (1u << 16)) & 0xffff, mdic((2u << 26) | (1u << 21) | (5u << 16)) & 0xffff);
	printf("ICR 0x%08x EICR 0x%08x\n", rd(ICR), rd(EICR));
}

static __u64 iova_rxb(unsigned int s)
{
	return IOVA_A + OFF_RXB + (__u64)s * BUFSZ;
}

static void rx_post(unsigned int slot, __u64 iova)
{
	volatile __u32 *d = rxr + 4 * slot;

	d[0] = (__u32)iova;
	d[1] = (__u32)(iova >> 32);
	d[2] = 0;
	d[3] = 0;
}

static void rx_give(unsigned int n)
{
	while (n--) {
		rx_post(rxt % NDESC, iova_rxb(rxt % NDESC));
		rxt++;
	}
	wr(RDT, rxt % NDESC);
}

static void tx_desc(__u64 addr, __u32 cmd, __u32 olinfo)
{
	volatile __u32 *d = txr + 4 * (txt % NDESC);

	d[0] = (__u32)addr;
	d[1] = (__u32)(addr >> 32);
	d[2] = cmd;
	d[3] = olinfo;
	txt++;
}

static void tx_go(void)
{
	wr(TDT, txt % NDESC);
}

static void tx_show(unsigned int from, unsigned int to)
{
	for (; from < to; from++) {
		volatile __u32 *d = txr + 4 * (from % NDESC);

		printf("  tx %2u: %08x %08x %08x %08x\n", from % NDESC, d[0], d[1], d[2], d[3]);
	}
}

static unsigned int make_frame(__u8 *f, const __u8 *dst, unsigned int len, __u16 type, unsigned int seed)
{
	unsigned int i;

	memcpy(f, dst, 6);
	memcpy(f + 6, mymac, 6);
	f[12] = type >> 8;
	f[13] = type & 0xff;
	for (i = 14; i < len; i++)
		f[i] = (__u8)(seed * 31 + i);
	return len;
}

static __u16 csum(const __u8 *p, unsigned int len, __u32 s)
{
	unsigned int i;

	for (i = 0; i + 1 < len; i += 2)
		s += (p[i] << 8) | p[i + 1];
	if (len & 1)
		s += p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* An IPv4/UDP frame of `len` bytes to `dst`; checksums filled when `fill`. */
static unsigned int make_udp(__u8 *f, const __u8 *dst, unsigned int len, int fill)
{
	unsigned int ip = 14, udp = 34, ulen = len - udp, i;
	__u32 ps;

	make_frame(f, dst, len, 0x0800, 5);
	f[ip] = 0x45; f[ip + 1] = 0;
	f[ip + 2] = (len - ip) >> 8; f[ip + 3] = (len - ip) & 0xff;
	f[ip + 4] = 0x12; f[ip + 5] = 0x34; f[ip + 6] = 0; f[ip + 7] = 0;
	f[ip + 8] = 64; f[ip + 9] = 17; f[ip + 10] = 0; f[ip + 11] = 0;
	f[ip + 12] = 10; f[ip + 13] = 0; f[ip + 14] = 0; f[ip + 15] = 1;
	f[ip + 16] = 10; f[ip + 17] = 0; f[ip + 18] = 0; f[ip + 19] = 2;
	f[udp] = 0x30; f[udp + 1] = 0x39; f[udp + 2] = 0x00; f[udp + 3] = 0x35;
	f[udp + 4] = ulen >> 8; f[udp + 5] = ulen & 0xff; f[udp + 6] = 0; f[udp + 7] = 0;
	for (i = udp + 8; i < len; i++)
		f[i] = (__u8)i;
	if (fill) {
		__u16 c = csum(f + ip, 20, 0);

		f[ip + 10] = c >> 8; f[ip + 11] = c & 0xff;
		ps = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + ulen;
		c = csum(f + udp, ulen, ps);
		if (!c)
			c = 0xffff;
		f[udp + 6] = c >> 8; f[udp + 7] = c & 0xff;
	}
	return len;
}

/* What arrived in RX slot s: the write-back, and the bytes against `f`. */
static void rx_show(unsigned int s, const __u8 *f, unsigned int len)
{
	volatile __u32 *d = rxr + 4 * (s % NDESC);
	const volatile __u8 *p = (const volatile __u8 *)a + OFF_RXB + (s % NDESC) * BUFSZ;
	unsigned int wlen = d[3] & 0xffff, i, bad = ~0u;

	printf("  rx %2u: pkt_info 0x%04x hdr_info 0x%04x dword1 0x%08x status 0x%08x length %u vlan 0x%04x\n",
	       s % NDESC, d[0] & 0xffff, d[0] >> 16, d[1], d[2], wlen, d[3] >> 16);
	if (!f)
		return;
	for (i = 0; i < len && i < BUFSZ; i++)
		if (p[i] != f[i]) {
			bad = i;
			break;
		}
	if (bad == ~0u)
		printf("    %u bytes as sent", len);
	else
		printf("    differs at byte %u: 0x%02x, sent 0x%02x", bad, p[bad], f[bad]);
	if (wlen > len)
		printf("; then %02x %02x %02x %02x", p[len], p[len + 1], p[len + 2], p[len + 3]);
	printf("\n");
}

static void heads(const char *what)
{
	printf("%s: TDH %u TDT %u RDH %u RDT %u ICR 0x%08x EICR 0x%08x\n", what, rd(TDH), rd(TDT), rd(RDH),
	       rd(RDT), rd(ICR), rd(EICR));
}

static void stats(const char *when)
{
	static const struct { const char *name; unsigned int off; } s[] = {
		{ "PRC64", 0x405c }, { "PRC127", 0x4060 }, { "PRC255", 0x4064 }, { "PRC511", 0x4068 },
		{ "PRC1023", 0x406c }, { "PRC1522", 0x4070 }, { "GPRC", 0x4074 }, { "BPRC", 0x4078 },
		{ "MPRC", 0x407c }, { "GPTC", 0x4080 }, { "GORCL", 0x4088 }, { "GORCH", 0x408c },
		{ "GOTCL", 0x4090 }, { "GOTCH", 0x4094 }, { "RNBC", 0x40a0 }, { "RUC", 0x40a4 },
		{ "ROC", 0x40ac }, { "TORL", 0x40c0 }, { "TORH", 0x40c4 }, { "TOTL", 0x40c8 },
		{ "TOTH", 0x40cc }, { "TPR", 0x40d0 }, { "TPT", 0x40d4 }, { "PTC64", 0x40d8 },
		{ "PTC127", 0x40dc }, { "PTC255", 0x40e0 }, { "PTC511", 0x40e4 }, { "PTC1023", 0x40e8 },
		{ "PTC1522", 0x40ec }, { "MPTC", 0x40f0 }, { "BPTC", 0x40f4 }, { "TSCTC", 0x40f8 },
		{ "RQDPC0", 0xc030 },
	};
	unsigned int i;

	printf("stats %s:", when);
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		printf(" %s=%u", s[i].name, rd(s[i].off));
	printf("\n");
}

static __u8 fr[8][BUFSZ * 2];

static void traffic(void)
{
	__u8 *txb = (__u8 *)a + OFF_TXB;
	unsigned int len, t0;

	note("1: advanced data descriptor, 100 bytes to our MAC, MAC loopback");
	len = make_frame(fr[0], mymac, 100, 0x88b5, 1);
	memcpy(txb, fr[0], len);
	t0 = txt;
	tx_desc(IOVA_A + OFF_TXB, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_IFCS | CMD_RS | len, len << 14);
	tx_go();
	heads("after");
	tx_show(t0, txt);
	rx_show(0, fr[0], len);

	note("2: context + data with IXSM and TXSM, UDP to broadcast, checksums left 0");
	len = make_udp(fr[1], bcast, 200, 0);
	memcpy(txb + BUFSZ, fr[1], len);
	make_udp(fr[1], bcast, 200, 1);
	t0 = txt;
	/* context: vlan_macip_lens (MACLEN 14, IPLEN 20), seqnum_seed, type_tucmd_mlhl (IPv4, UDP), mss_l4len_idx */
	txr[4 * (t0 % NDESC) + 0] = 14 << 9 | 20;
	txr[4 * (t0 % NDESC) + 1] = 0;
	txr[4 * (t0 % NDESC) + 2] = CMD_DEXT | DTYP_CTXT | (1u << 10);
	txr[4 * (t0 % NDESC) + 3] = 8 << 8;
	txt++;
	tx_desc(IOVA_A + OFF_TXB + BUFSZ, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_IFCS | CMD_RS | len,
		len << 14 | POPTS_IXSM | POPTS_TXSM);
	tx_go();
	heads("after");
	tx_show(t0, txt);
	rx_show(1, fr[1], len);

	note("3: legacy descriptors, 64 bytes in two fragments (20 + 44)");
	len = make_frame(fr[2], mymac, 64, 0x88b5, 3);
	memcpy(txb + 2 * BUFSZ, fr[2], 20);
	memcpy(txb + 3 * BUFSZ, fr[2] + 20, 44);
	t0 = txt;
	tx_desc(IOVA_A + OFF_TXB + 2 * BUFSZ, 20, 0);
	tx_desc(IOVA_A + OFF_TXB + 3 * BUFSZ, CMD_EOP | CMD_IFCS | CMD_RS | 44, 0);
	tx_go();
	heads("after");
	tx_show(t0, txt);
	rx_show(2, fr[2], 64);

	note("4: a 42-byte frame, and one to a MAC that is not ours");
	len = make_frame(fr[3], mymac, 42, 0x88b5, 4);
	memcpy(txb + 4 * BUFSZ, fr[3], len);
	make_frame(fr[4], other, 80, 0x88b5, 5);
	memcpy(txb + 5 * BUFSZ, fr[4], 80);
	t0 = txt;
	tx_desc(IOVA_A + OFF_TXB + 4 * BUFSZ, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_RS | len, len << 14);
	tx_desc(IOVA_A + OFF_TXB + 5 * BUFSZ, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_RS | 80, 80 << 14);
	tx_go();
	heads("after");
	tx_show(t0, txt);
	rx_show(3, fr[3], 60);
	rx_show(4, NULL, 0);

	note("5: RCTL.SECRC, then PHY loopback instead of MAC loopback, then neither");
	wr(RCTL, RCTL_EN | RCTL_BAM | RCTL_LBM_MAC | RCTL_SECRC);
	len = make_frame(fr[5], mymac, 70, 0x88b5, 6);
	memcpy(txb + 6 * BUFSZ, fr[5], len);
	t0 = txt;
	tx_desc(IOVA_A + OFF_TXB + 6 * BUFSZ, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_RS | len, len << 14);
	tx_go();
	rx_show(4, fr[5], len);
	wr(RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	printf("BMCR loopback: MDIC 0x%08x\n", mdic((1u << 26) | (1u << 21) | 0x5140));
	tx_desc(IOVA_A + OFF_TXB + 6 * BUFSZ, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_RS | len, len << 14);
	tx_go();
	rx_show(5, fr[5], len);
	printf("STATUS 0x%08x\n", rd(STATUS));
	mdic((1u << 26) | (1u << 21) | 0x1140);
	tx_desc(IOVA_A + OFF_TXB + 6 * BUFSZ, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_RS | len, len << 14);
	tx_go();
	heads("after");
	tx_show(t0, txt);
	rx_show(6, NULL, 0);

	note("6: TX head write-back, a 3000-byte frame over two RX buffers (RCTL.LPE)");
	wr(RCTL, RCTL_EN | RCTL_BAM | RCTL_LBM_MAC | (1u << 5));
	wr(0x5004, 4000);
	wr(TDWBAL, (__u32)(IOVA_A + OFF_WB) | 1);
	wr(TDWBAH, 0);
	*(volatile __u32 *)(a + OFF_WB) = 0xdeadbeef;
	len = make_frame(fr[6], mymac, 3000, 0x88b5, 7);
	memcpy(txb + 8 * BUFSZ, fr[6], len);
	t0 = txt;
	tx_desc(IOVA_A + OFF_TXB + 8 * BUFSZ, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_IFCS | CMD_RS | len, len << 14);
	tx_go();
	printf("head write-back 0x%08x TDH %u\n", *(volatile __u32 *)(a + OFF_WB), rd(TDH));
	wr(TDWBAL, 0);
	tx_show(t0, txt);
	rx_show(6, fr[6], 2048);
	rx_show(7, fr[6] + 2048, len - 2048);
	heads("after");
	wr(RCTL, RCTL_EN | RCTL_BAM | RCTL_LBM_MAC);
}

static int set_msix(int efd[3])
{
	struct { __u32 argsz, flags, index, start, count; __s32 fd[3]; } s = {
		.argsz = sizeof(s), .flags = IRQ_DATA_EVENTFD | IRQ_ACTION_TRIGGER,
		.index = IRQ_MSIX, .start = 0, .count = 3,
	};

	if (!efd) {
		s.argsz = 20;
		s.flags = IRQ_DATA_NONE | IRQ_ACTION_TRIGGER;
		s.count = 0;
	} else {
		memcpy(s.fd, efd, sizeof(s.fd));
	}
	return xioctl(dev, SET_IRQS, &s);
}

static const char *fired(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	__u64 v;

	if (poll(&p, 1, ms) == 1 && read(efd, &v, 8) == 8)
		return "fired";
	return "quiet";
}

static void msix(void)
{
	int efd[3], i;
	__u8 *txb = (__u8 *)a + OFF_TXB;
	unsigned int len;

	note("MSI-X: GPIE.MSIX_MODE, RX0 -> vector 1, TX0 -> vector 2, other causes -> vector 0");
	for (i = 0; i < 3; i++)
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	rx_give(8);
	step("SET_IRQS MSI-X vectors 0-2", set_msix(efd), NULL);
	wr(GPIE, 0x10);
	wr(IVAR0, 0x8281);
	wr(IVAR_MISC, 0x8000);
	wr(EIAC, 0x7);
	wr(EIMS, 0x7);
	wr(IMS, 0x4);
	printf("GPIE 0x%08x IVAR0 0x%08x IVAR_MISC 0x%08x EIAC 0x%08x EIMS 0x%08x IMS 0x%08x\n", rd(GPIE),
	       rd(IVAR0), rd(IVAR_MISC), rd(EIAC), rd(EIMS), rd(IMS));
	len = make_frame(fr[7], mymac, 128, 0x88b5, 9);
	memcpy(txb + 12 * BUFSZ, fr[7], len);
	tx_desc(IOVA_A + OFF_TXB + 12 * BUFSZ, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_RS | len, len << 14);
	tx_go();
	printf("frame: vector 0 %s, vector 1 %s, vector 2 %s\n", fired(efd[0], 200), fired(efd[1], 200), fired(efd[2], 200));
	rx_show(8, fr[7], len);
	printf("EICR 0x%08x (EIAC cleared what fired) ICR 0x%08x\n", rd(EICR), rd(ICR));
	wr(ICS, 0x4);
	printf("ICS LSC: vector 0 %s, vector 1 %s; EICR 0x%08x ICR 0x%08x\n", fired(efd[0], 200), fired(efd[1], 50),
	       rd(EICR), rd(ICR));
	wr(EIAC, 0);
	wr(EICS, 0x2);
	printf("EICS 0x2 (EIAC still 0x%08x): vector 1 %s, EICR 0x%08x then 0x%08x\n", rd(EIAC), fired(efd[1], 200),
	       rd(EICR), rd(EICR));
	wr(EIMC, 0x7);
	wr(EICS, 0x2);
	printf("EICS 0x2 with EIMS 0x%08x: vector 1 %s, EICR 0x%08x\n", rd(EIMS), fired(efd[1], 100), rd(EICR));
	wr(IMC, 0xffffffff);
	wr(GPIE, 0);
	wr(IVAR0, 0);
	wr(IVAR_MISC, 0);
	rd(ICR);
	rd(EICR);
	note("MSI-X outside MSIX_MODE: ICR causes on vector 0");
	wr(IMS, 0x80);
	tx_desc(IOVA_A + OFF_TXB + 12 * BUFSZ, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_RS | len, len << 14);
	tx_go();
	printf("frame with IMS RXDW: vector 0 %s, vector 1 %s; EICR 0x%08x ICR 0x%08x\n", fired(efd[0], 200),
	       fired(efd[1], 50), rd(EICR), rd(ICR));
	rx_show(9, fr[7], len);
	wr(IMC, 0xffffffff);
	step("SET_IRQS MSI-X off", set_msix(NULL), NULL);
	for (i = 0; i < 3; i++)
		close(efd[i]);
}

static void faults(void)
{
	__u8 *txb = (__u8 *)a + OFF_TXB;
	unsigned int len, t0, s = rd(RDH);

	note("DMA faults: an RX buffer and a TX buffer nothing is mapped at");
	rx_post(s, IOVA_HOLE);
	rx_post(s + 1, iova_rxb(s + 1));
	wr(RDT, (s + 2) % NDESC);
	len = make_frame(fr[0], mymac, 90, 0x88b5, 11);
	memcpy(txb, fr[0], len);
	t0 = txt;
	tx_desc(IOVA_A + OFF_TXB, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_RS | len, len << 14);
	tx_go();
	rx_show(s, NULL, 0);
	tx_desc(IOVA_HOLE + 0x100, CMD_DEXT | DTYP_DATA | CMD_EOP | CMD_RS | len, len << 14);
	tx_go();
	tx_show(t0, txt);
	rx_show(s + 1, fr[0], len);
	heads("after");
}

int main(void)
{
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	int fd = iofd_open(), n, rc;
	__u32 ioas = 0;
	__u64 iova;

	for (n = 0; n < 3; n++) {
		char path[64];

		snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", n);
		nic[n] = open(path, O_RDWR);
		step(L("open vfio%d", n), nic[n] < 0 ? -errno : 0, NULL);
		if (nic[n] < 0)
			return 1;
		b.iommufd = fd;
		rc = xioctl(nic[n], VFIO_DEVICE_BIND_IOMMUFD, &b);
		step_ok(L("bind vfio%d", n), rc, "devid=%u", b.out_devid);
		cfg_bars(n);
	}
	dev = nic[2];
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "ioas=%u", ioas);
	at.pt_id = ioas;
	rc = xioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
	step_ok("attach vfio2 -> ioas", rc, "pt=%u", at.pt_id);
	a = buf_alloc(LEN_A);
	iova = IOVA_A;
	step("map rings and buffers", ioas_map(fd, ioas, MAP_FIXED_RW, a, LEN_A, &iova), NULL);
	txr = (volatile __u32 *)(a + OFF_TXR);
	rxr = (volatile __u32 *)(a + OFF_RXR);

	note("reset, MAC, link");
	step("VFIO_DEVICE_RESET", xioctl(dev, DEVICE_RESET, NULL), NULL);
	command_on();
	wr(IMC, 0xffffffff);
	wr(EIMC, 0xffffffff);
	wr(CTRL, rd(CTRL) | (1u << 26));
	usleep(10000);
	printf("after CTRL.RST: CTRL 0x%08x STATUS 0x%08x RAL0 0x%08x RAH0 0x%08x\n", rd(CTRL), rd(STATUS),
	       rd(RAL0), rd(RAH0));
	link_up();

	note("rings");
	wr(RDBAL, (__u32)(IOVA_A + OFF_RXR));
	wr(RDBAH, 0);
	wr(RDLEN, NDESC * 16);
	wr(SRRCTL, 0x02000002);
	wr(RDH, 0);
	wr(RDT, 0);
	wr(RXDCTL, rd(RXDCTL) | (1u << 25));
	wr(TDBAL, (__u32)(IOVA_A + OFF_TXR));
	wr(TDBAH, 0);
	wr(TDLEN, NDESC * 16);
	wr(TDH, 0);
	wr(TDT, 0);
	wr(RCTL, RCTL_EN | RCTL_BAM | RCTL_LBM_MAC);
	wr(TCTL, TCTL_EN | TCTL_PSP | (0xf << 4) | (0x3f << 12));
	rx_give(8);
	printf("RDLEN %u SRRCTL 0x%08x RXDCTL 0x%08x TXDCTL 0x%08x RCTL 0x%08x TCTL 0x%08x RDT %u\n", rd(RDLEN),
	       rd(SRRCTL), rd(RXDCTL), rd(TXDCTL), rd(RCTL), rd(TCTL), rd(RDT));
	stats("before");
	traffic();
	stats("after traffic");
	stats("read again");
	msix();
	faults();
	stats("at the end");

	note("stop");
	wr(RCTL, 0);
	wr(TCTL, 0);
	printf("RCTL 0x%08x TCTL 0x%08x\n", rd(RCTL), rd(TCTL));
	for (n = 0; n < 3; n++)
		close(nic[n]);
	close(fd);
	return 0;
}
