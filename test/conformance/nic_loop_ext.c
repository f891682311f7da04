// The two e1000e NICs (vfio0 -> vfio1, back to back) with the descriptors
// Linux's e1000e uses: extended RX descriptors (RFCTL.EXTEN) with their
// write-back (status, errors, packet type, IP id, RSS hash and type, VLAN),
// the receive checksum checks for IPv4/IPv6, UDP/TCP frames with good and
// bad checksums, VLAN stripping (CTRL.VME), RSS (MRQC, RSSRK, RETA with
// RXCSUM.PCSD); and on TX context + data descriptors: IP/UDP/TCP checksum
// insertion, TCP segmentation (TSE) and VLAN insertion (VLE). Each frame
// that arrives is described field by field.
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"
#include <time.h>

#define CFG ((off_t)7 << 40)
#define DEVICE_RESET _IO(VFIO_TYPE, VFIO_BASE + 11)

enum {
	CTRL = 0x0, STATUS = 0x8, EECD = 0x10, ICR = 0xc0, IMC = 0xd8,
	RCTL = 0x100, TCTL = 0x400, TIPG = 0x410, RDBAL = 0x2800,
	RDBAH = 0x2804, RDLEN = 0x2808, RDH = 0x2810, RDT = 0x2818,
	TDBAL = 0x3800, TDBAH = 0x3804, TDLEN = 0x3808, TDH = 0x3810,
	TDT = 0x3818, RXCSUM = 0x5000, RFCTL = 0x5008, MRQC = 0x5818,
	RETA = 0x5c00, RSSRK = 0x5c80,
};

#define CTRL_SLU (1u << 6)
#define CTRL_RST (1u << 26)
#define CTRL_VME (1u << 30)
#define RCTL_EN (1u << 1)
#define RCTL_BAM (1u << 15)
#define RCTL_SECRC (1u << 26)
#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3)
#define TCTL_CT (0x0fu << 4)
#define TCTL_COLD (0x3fu << 12)
#define RFCTL_EXTEN (1u << 15)
#define RXCSUM_PCSD (1u << 13)

/* TX descriptor command bits as they sit in the descriptor's second dword */
#define TXD_EOP (1u << 24)
#define TXD_IFCS (1u << 25)
#define TXD_IC (1u << 26)
#define TXD_TSE (1u << 26)
#define TXD_RS (1u << 27)
#define TXD_DEXT (1u << 29)
#define TXD_VLE (1u << 30)
#define TXD_DTYP_D (1u << 20)
#define TXD_TCP (1u << 24)
#define TXD_IP (1u << 25)
#define POPTS_IXSM 1
#define POPTS_TXSM 2

#define NDESC 32
#define BUFSZ 2048
#define IOVA_A 0x10000000ull
#define LEN_A (2ul << 20)
#define OFF_TXR 0x0
#define OFF_RXR 0x1000
#define OFF_TXB 0x10000
#define OFF_RXB 0x40000
#define DMA_WAIT_MS 300

struct txd {              /* legacy, context and data layouts, as dwords */
	__u64 addr;
	__u32 lower;
	__u32 upper;
};

struct rxd {              /* extended RX descriptor, write-back view */
	__u32 mrq;
	__u32 rss;        /* RSS hash, or IP id (low 16) and checksum */
	__u32 status_error;
	__u16 len;
	__u16 vlan;
};

static int nic[2];
static char *a;
static volatile struct txd *txr;
static volatile struct rxd *rxr;
static unsigned int tail0, head1;
static const __u8 mac0[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const __u8 mac1[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
static const __u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static __u32 rd(int n, unsigned int off)
{
	__u32 v = 0;

	if (pread(nic[n], &v, 4, off) != 4)
		printf("vfio%d pread 0x%05x: %s\n", n, off, errno_name(errno));
	return v;
}

static void wr(int n, unsigned int off, __u32 v)
{
	if (pwrite(nic[n], &v, 4, off) != 4)
		printf("vfio%d pwrite 0x%05x: %s\n", n, off, errno_name(errno));
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Wait (at most ms milliseconds) until (reg & mask) == want. Only how long
 * a run takes depends on the clock. */
static int wait_reg(int n, unsigned int off, __u32 mask, __u32 want, int ms)
{
	long long end = now_ms() + ms;

	for (;;) {
		if ((rd(n, off) & mask) == want)
			return 1;
		if (now_ms() > end)
			return 0;
		usleep(1000);
	}
}

/* ---------------------------------------------------------------- frames */

static __u32 csum_add(__u32 s, const __u8 *p, unsigned int len)
{
	unsigned int i;

	for (i = 0; i + 1 < len; i += 2)
		s += (__u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (__u32)p[len - 1] << 8;
	return s;
}

static __u16 csum_fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = (__u8)v;
}

static __u16 get16(const volatile __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 get32(const volatile __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/* Sum of the IPv4 or IPv6 pseudo header for an L4 length. */
static __u32 pseudo(const __u8 *ip, int v6, __u8 proto, unsigned int l4len)
{
	__u32 s = 0;

	if (v6)
		s = csum_add(s, ip + 8, 32);
	else
		s = csum_add(s, ip + 12, 8);
	return s + proto + (l4len >> 16) + (l4len & 0xffff);
}

enum l4 { RAW, UDP, TCP };
enum csum { GOOD, BAD, ZERO, PSEUDO };

struct spec {
	const __u8 *dst;
	int v6;
	enum l4 l4;
	unsigned int payload;   /* L4 payload bytes (RAW: bytes after the MAC header) */
	enum csum ip, l4sum;
	int vlan;               /* 802.1Q tag in the frame, or -1 */
	unsigned int seed;
};

/* Build a frame; returns its length. With offsets out (may be NULL): where
 * IP and L4 start. */
static unsigned int build(__u8 *f, const struct spec *s, unsigned int *ipoff, unsigned int *l4off)
{
	unsigned int o = 12, ip, l4, hl, len, i;
	__u32 sum;

	memcpy(f, s->dst, 6);
	memcpy(f + 6, mac0, 6);
	if (s->vlan >= 0) {
		put16(f + o, 0x8100);
		put16(f + o + 2, (__u16)s->vlan);
		o += 4;
	}
	if (s->l4 == RAW) {
		put16(f + o, 0x88b5);
		for (i = 0; i < s->payload; i++)
			f[o + 2 + i] = (__u8)(i * 7 + s->seed * 31);
		if (ipoff)
			*ipoff = *l4off = 0;
		return o + 2 + s->payload;
	}
	put16(f + o, s->v6 ? 0x86dd : 0x0800);
	ip = o + 2;
	l4 = ip + (s->v6 ? 40 : 20);
	hl = s->l4 == UDP ? 8 : 20;
	len = l4 + hl + s->payload;
	memset(f + ip, 0, len - ip);
	if (s->v6) {
		f[ip] = 0x60;
		put16(f + ip + 4, (__u16)(hl + s->payload));
		f[ip + 6] = s->l4 == UDP ? 17 : 6;
		f[ip + 7] = 64;
		f[ip + 8] = 0xfd;
		f[ip + 23] = 1;
		f[ip + 24] = 0xfd;
		f[ip + 39] = 2;
	} else {
		f[ip] = 0x45;
		put16(f + ip + 2, (__u16)(20 + hl + s->payload));
		put16(f + ip + 4, (__u16)(0x1000 + s->seed));
		put16(f + ip + 6, 0x4000);  /* DF */
		f[ip + 8] = 64;
		f[ip + 9] = s->l4 == UDP ? 17 : 6;
		f[ip + 12] = 10, f[ip + 15] = 1;
		f[ip + 16] = 10, f[ip + 19] = 2;
	}
	put16(f + l4, (__u16)(40000 + s->seed));
	put16(f + l4 + 2, 9);
	if (s->l4 == UDP) {
		put16(f + l4 + 4, (__u16)(hl + s->payload));
	} else {
		f[l4 + 4] = 0, f[l4 + 5] = 0, f[l4 + 6] = 0x10, f[l4 + 7] = s->seed;
		f[l4 + 12] = 5 << 4;
		f[l4 + 13] = 0x18;      /* PSH|ACK */
		put16(f + l4 + 14, 0xffff);
	}
	for (i = 0; i < s->payload; i++)
		f[l4 + hl + i] = (__u8)(i * 7 + s->seed * 31);
	if (!s->v6 && s->ip != ZERO) {
		sum = (__u16)~csum_fold(csum_add(0, f + ip, 20));
		put16(f + ip + 10, (__u16)(s->ip == BAD ? sum ^ 0x5a5a : sum));
	}
	{
		unsigned int co = l4 + (s->l4 == UDP ? 6 : 16);
		__u32 ps = pseudo(f + ip, s->v6, s->l4 == UDP ? 17 : 6, hl + s->payload);

		switch (s->l4sum) {
		case GOOD:
		case BAD:
			sum = (__u16)~csum_fold(csum_add(ps, f + l4, hl + s->payload));
			if (s->l4 == UDP && sum == 0)
				sum = 0xffff;
			put16(f + co, (__u16)(s->l4sum == BAD ? sum ^ 0x5a5a : sum));
			break;
		case PSEUDO:  /* what Linux leaves for a checksum the NIC completes */
			put16(f + co, csum_fold(ps));
			break;
		case ZERO:
			break;
		}
	}
	if (ipoff) {
		*ipoff = ip;
		*l4off = l4;
	}
	return len;
}

/* One line about a received frame: its L2/L3/L4 fields and whether its
 * checksums are right, as a driver that checks them itself would see. */
static void describe(const volatile __u8 *p, unsigned int len)
{
	unsigned int o = 12, ip, l4, iplen, l4len, frag;
	__u16 type = get16(p + o);
	__u8 proto, tmp[BUFSZ];
	int v6;

	printf("  frame: dst %02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
	if (type == 0x8100) {
		printf(" tag 0x%04x", get16(p + 14));
		o += 4;
		type = get16(p + o);
	}
	printf(" type 0x%04x", type);
	if (type != 0x0800 && type != 0x86dd) {
		printf(" sum 0x%04x\n", csum_fold(csum_add(0, (const __u8 *)p, len)));
		return;
	}
	memcpy(tmp, (const void *)p, len < BUFSZ ? len : BUFSZ);
	v6 = type == 0x86dd;
	ip = o + 2;
	if (v6) {
		proto = tmp[ip + 6];
		l4 = ip + 40;
		l4len = get16(tmp + ip + 4);
		frag = 0;
		printf(" ipv6 plen %u nh %u", l4len, proto);
	} else {
		iplen = get16(tmp + ip + 2);
		frag = get16(tmp + ip + 6);
		proto = tmp[ip + 9];
		l4 = ip + (tmp[ip] & 0xf) * 4;
		l4len = iplen - (l4 - ip);
		printf(" ipv4 len %u id 0x%04x frag 0x%04x proto %u ipsum %s", iplen,
		       get16(tmp + ip + 4), frag, proto,
		       csum_fold(csum_add(0, tmp + ip, l4 - ip)) == 0xffff ? "ok" : "bad");
	}
	if (l4 + l4len > len) {
		printf(" (truncated)\n");
		return;
	}
	if (frag & 0x1fff) {
		printf(" fragment sum 0x%04x\n", csum_fold(csum_add(0, tmp + l4, l4len)));
		return;
	}
	if (proto == 6)
		printf(" tcp seq %u flags 0x%02x", get32(tmp + l4 + 4), tmp[l4 + 13]);
	else if (proto == 17)
		printf(" udp len %u", get16(tmp + l4 + 4));
	if (frag & 0x2000) {
		printf(" first fragment, l4 bytes %u\n", l4len);
		return;
	}
	if (proto == 17 && get16(tmp + l4 + 6) == 0)
		printf(" l4sum none");
	else
		printf(" l4sum %s", csum_fold(csum_add(pseudo(tmp + ip, v6, proto, l4len), tmp + l4,
						      l4len)) == 0xffff ? "ok" : "bad");
	printf(" data sum 0x%04x\n", csum_fold(csum_add(0, tmp + l4, l4len)));
}

/* ---------------------------------------------------------------- device */

static void command_on(int n)
{
	__u16 c = 0;

	pread(nic[n], &c, 2, CFG + 4);
	c |= 0x6;
	pwrite(nic[n], &c, 2, CFG + 4);
}

static void reset_nic(int n)
{
	step(L("vfio%d VFIO_DEVICE_RESET", n), xioctl(nic[n], DEVICE_RESET, NULL), NULL);
	command_on(n);
	wr(n, IMC, 0xffffffff);
	wr(n, RCTL, 0);
	wr(n, TCTL, TCTL_PSP);
	rd(n, STATUS);
	usleep(10000);
	wr(n, CTRL, rd(n, CTRL) | CTRL_RST);
	usleep(10000);
	wait_reg(n, EECD, 1u << 9, 1u << 9, 1000);
	wr(n, IMC, 0xffffffff);
	rd(n, ICR);
	wr(n, CTRL, (rd(n, CTRL) | CTRL_SLU) & ~((1u << 11) | (1u << 12)));
	printf("vfio%d link %s\n", n, wait_reg(n, STATUS, 2, 2, 1000) ? "up" : "down");
	rd(n, ICR);
}

static void rx_post(unsigned int slot)
{
	volatile __u64 *d = (volatile __u64 *)&rxr[slot];

	d[0] = IOVA_A + OFF_RXB + slot * BUFSZ;
	d[1] = 0;
	memset(a + OFF_RXB + slot * BUFSZ, 0xee, BUFSZ);
}

static void rings(void)
{
	unsigned int i;

	txr = (volatile struct txd *)(a + OFF_TXR);
	rxr = (volatile struct rxd *)(a + OFF_RXR);
	memset(a, 0, OFF_TXB);
	wr(0, TDBAL, (__u32)(IOVA_A + OFF_TXR));
	wr(0, TDBAH, 0);
	wr(0, TDLEN, NDESC * 16);
	wr(0, TDH, 0);
	wr(0, TDT, 0);
	wr(0, TIPG, 8 | (8 << 10) | (6 << 20));
	wr(0, TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);

	/* Extended descriptors, as Linux's e1000e sets RFCTL for the 82574. */
	wr(1, RFCTL, rd(1, RFCTL) | RFCTL_EXTEN);
	wr(1, RDBAL, (__u32)(IOVA_A + OFF_RXR));
	wr(1, RDBAH, 0);
	wr(1, RDLEN, NDESC * 16);
	wr(1, RDH, 0);
	/* swallow, silently, whatever an earlier program left queued */
	for (i = 0; i < NDESC; i++)
		rx_post(i);
	wr(1, RDT, NDESC - 1);
	wr(1, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	wr(1, RCTL, 0);
	wr(1, RDH, 0);
	wr(1, RDT, 0);
	rd(1, ICR);
	for (i = 0; i < NDESC; i++)
		rx_post(i);
	wr(1, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	wr(1, RDT, NDESC - 1);
	printf("vfio1 RFCTL 0x%08x RXCSUM 0x%08x RCTL 0x%08x RDH %u RDT %u\n", rd(1, RFCTL),
	       rd(1, RXCSUM), rd(1, RCTL), rd(1, RDH), rd(1, RDT));
}

/* Queue a descriptor (dwords as given) on vfio0. */
static void txq(__u64 addr, __u32 lower, __u32 upper)
{
	volatile struct txd *d = &txr[tail0];

	d->addr = addr;
	d->lower = lower;
	d->upper = upper;
	tail0 = (tail0 + 1) % NDESC;
}

/* Copy bytes into the TX buffer of the next slot; returns its IOVA. */
static __u64 txbuf(const __u8 *f, unsigned int len)
{
	memcpy(a + OFF_TXB + tail0 * BUFSZ, f, len);
	return IOVA_A + OFF_TXB + tail0 * BUFSZ;
}

static void legacy(const struct spec *s)
{
	__u8 f[BUFSZ];
	unsigned int len = build(f, s, NULL, NULL);

	txq(txbuf(f, len), len | TXD_EOP | TXD_IFCS | TXD_RS, 0);
}

/* Send what is queued; show the TX descriptors from 'from', then every RX
 * descriptor vfio1 wrote since the last call. */
static void go(const char *what, unsigned int from, unsigned int want_rx)
{
	unsigned int s, h, n = 0;

	note("%s", what);
	__sync_synchronize();
	wr(0, TDT, tail0);
	wait_reg(0, TDH, 0xffff, tail0, DMA_WAIT_MS);
	wait_reg(1, RDH, 0xffff, (head1 + want_rx) % NDESC, DMA_WAIT_MS);
	__sync_synchronize();
	for (s = from; s != tail0; s = (s + 1) % NDESC)
		printf("tx %2u: lower 0x%08x upper 0x%08x\n", s, txr[s].lower, txr[s].upper);
	h = rd(1, RDH);
	for (s = head1; s != h; s = (s + 1) % NDESC, n++) {
		volatile struct rxd *d = &rxr[s];

		printf("rx %2u: mrq 0x%08x rss 0x%08x status_error 0x%08x len %u vlan 0x%04x\n", s,
		       d->mrq, d->rss, d->status_error, d->len, d->vlan);
		describe((const volatile __u8 *)a + OFF_RXB + s * BUFSZ, d->len);
	}
	printf("%u frame(s) received; vfio0 TDH %u, vfio1 RDH %u\n", n, rd(0, TDH), h);
	printf("vfio0 ICR 0x%08x vfio1 ICR 0x%08x\n", rd(0, ICR), rd(1, ICR));
	/* give the slots back */
	for (s = head1; s != h; s = (s + 1) % NDESC)
		rx_post(s);
	head1 = h;
	__sync_synchronize();
	wr(1, RDT, (h + NDESC - 1) % NDESC);
}

static void rx_checks(void)
{
	static const struct spec f[] = {
		{ bcast, 0, RAW, 46, GOOD, GOOD, -1, 1 },
		{ mac1, 0, UDP, 172, GOOD, GOOD, -1, 2 },
		{ mac1, 0, UDP, 172, GOOD, BAD, -1, 3 },
		{ mac1, 0, UDP, 172, GOOD, ZERO, -1, 4 },
		{ mac1, 0, UDP, 172, BAD, GOOD, -1, 5 },
		{ mac1, 0, TCP, 300, GOOD, GOOD, -1, 6 },
		{ mac1, 0, TCP, 300, GOOD, BAD, -1, 7 },
		{ mac1, 0, TCP, 0, GOOD, GOOD, -1, 8 },
		{ mac1, 1, UDP, 100, GOOD, GOOD, -1, 9 },
		{ mac1, 1, TCP, 100, GOOD, BAD, -1, 10 },
		{ mac1, 0, UDP, 1472, GOOD, GOOD, -1, 11 },
	};
	static const struct spec tagged = { mac1, 0, UDP, 64, GOOD, GOOD, 0x0123, 12 };
	unsigned int i, from = tail0;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		legacy(&f[i]);
	go("receive checks (RXCSUM as reset: IPOFLD|TUOFLD): raw, UDP good/bad/none, "
	   "IP bad, TCP good/bad/ACK, IPv6 UDP/TCP, 1514 bytes", from, i);

	from = tail0;
	legacy(&tagged);
	go("802.1Q frame, vfio1 CTRL.VME clear", from, 1);
	wr(1, CTRL, rd(1, CTRL) | CTRL_VME);
	from = tail0;
	legacy(&tagged);
	go("802.1Q frame, vfio1 CTRL.VME set (strip)", from, 1);
	wr(1, CTRL, rd(1, CTRL) & ~CTRL_VME);

	wr(1, RXCSUM, 0);
	from = tail0;
	legacy(&f[1]);
	legacy(&f[2]);
	legacy(&f[4]);
	go("RXCSUM 0: UDP good, UDP bad, IP bad", from, 3);
	wr(1, RXCSUM, 0x300);
}

static void rss(void)
{
	static const __u8 key[40] = {
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
		0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
		0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
	};
	static const struct spec f[] = {
		{ mac1, 0, UDP, 100, GOOD, GOOD, -1, 20 },
		{ mac1, 0, TCP, 100, GOOD, GOOD, -1, 21 },
		{ mac1, 1, UDP, 100, GOOD, GOOD, -1, 22 },
		{ mac1, 1, TCP, 100, GOOD, GOOD, -1, 23 },
		{ bcast, 0, RAW, 46, GOOD, GOOD, -1, 24 },
	};
	unsigned int i, from = tail0;

	for (i = 0; i < 10; i++)
		wr(1, RSSRK + 4 * i, key[4 * i] | key[4 * i + 1] << 8 | key[4 * i + 2] << 16 |
		   (__u32)key[4 * i + 3] << 24);
	for (i = 0; i < 32; i++)
		wr(1, RETA + 4 * i, 0);
	wr(1, RXCSUM, rd(1, RXCSUM) | RXCSUM_PCSD);
	/* RSS on two queues' worth of state, hashing IPv4, IPv4/TCP, IPv6, IPv6/TCP */
	wr(1, MRQC, 1 | (1u << 16) | (1u << 17) | (1u << 18) | (1u << 20));
	printf("vfio1 MRQC 0x%08x RXCSUM 0x%08x RSSRK0 0x%08x\n", rd(1, MRQC), rd(1, RXCSUM),
	       rd(1, RSSRK));
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		legacy(&f[i]);
	go("RSS (RXCSUM.PCSD, MRQC, the usual Toeplitz key, RETA all queue 0): "
	   "IPv4 UDP/TCP, IPv6 UDP/TCP, raw", from, i);
	wr(1, MRQC, 0);
	wr(1, RXCSUM, 0x300);
}

/* Linux's e1000_tx_csum: a context descriptor for where the headers are,
 * then data descriptors with POPTS. */
static void tx_csum(const struct spec *s, unsigned int popts)
{
	__u8 f[BUFSZ];
	unsigned int ip, l4, len = build(f, s, &ip, &l4);
	unsigned int tucso = l4 + (s->l4 == UDP ? 6 : 16);
	__u32 ctx_lo = ip | (ip + 10) << 8 | (__u32)(l4 - 1) << 16;
	__u32 ctx_up = l4 | tucso << 8;

	txq((__u64)ctx_up << 32 | ctx_lo, TXD_DEXT | TXD_RS | (s->l4 == TCP ? TXD_TCP : 0) |
	    (s->v6 ? 0 : TXD_IP), 0);
	txq(txbuf(f, len), len | TXD_DTYP_D | TXD_DEXT | TXD_EOP | TXD_IFCS | TXD_RS,
	    popts << 8);
}

static void tx_offloads(void)
{
	static const struct spec udp = { mac1, 0, UDP, 200, ZERO, PSEUDO, -1, 30 };
	static const struct spec tcp = { mac1, 0, TCP, 200, ZERO, PSEUDO, -1, 31 };
	static const struct spec udp0 = { mac1, 0, UDP, 200, ZERO, ZERO, -1, 32 };
	static const struct spec udp6 = { mac1, 1, UDP, 200, GOOD, PSEUDO, -1, 33 };
	static const struct spec tso = { mac1, 0, TCP, 3000, ZERO, ZERO, -1, 34 };
	static const struct spec vl = { mac1, 0, UDP, 64, GOOD, GOOD, -1, 35 };
	__u8 f[4096];
	unsigned int from = tail0, ip, l4, hdr, len, pay;
	__u32 ps;

	tx_csum(&udp, POPTS_IXSM | POPTS_TXSM);
	tx_csum(&tcp, POPTS_IXSM | POPTS_TXSM);
	tx_csum(&udp0, POPTS_IXSM | POPTS_TXSM);
	tx_csum(&udp6, POPTS_TXSM);
	tx_csum(&udp, 0);
	go("TX checksum offload (context + data descriptors): IPv4 UDP, IPv4 TCP, "
	   "UDP with its field 0, IPv6 UDP, and POPTS 0", from, 5);

	/* TSO as Linux's e1000_tso prepares it: IP total length and checksum
	 * 0, TCP checksum the pseudo header without length. */
	from = tail0;
	len = build(f, &tso, &ip, &l4);
	hdr = l4 + 20;
	pay = len - hdr;
	f[ip + 2] = f[ip + 3] = 0;
	f[ip + 10] = f[ip + 11] = 0;
	ps = pseudo(f + ip, 0, 6, 0);
	put16(f + l4 + 16, csum_fold(ps));
	txq((__u64)(l4 | (l4 + 16) << 8) << 32 | (ip | (ip + 10) << 8 | (__u32)(l4 - 1) << 16),
	    pay | TXD_DEXT | TXD_TSE | TXD_IP | TXD_TCP | TXD_RS,
	    hdr << 8 | 1000u << 16);
	txq(txbuf(f, hdr), hdr | TXD_DTYP_D | TXD_DEXT | TXD_TSE | TXD_IFCS | TXD_RS,
	    (POPTS_IXSM | POPTS_TXSM) << 8);
	txq(txbuf(f + hdr, 2000), 2000 | TXD_DTYP_D | TXD_DEXT | TXD_TSE | TXD_IFCS | TXD_RS,
	    (POPTS_IXSM | POPTS_TXSM) << 8);
	txq(txbuf(f + hdr + 2000, pay - 2000),
	    (pay - 2000) | TXD_DTYP_D | TXD_DEXT | TXD_TSE | TXD_EOP | TXD_IFCS | TXD_RS,
	    (POPTS_IXSM | POPTS_TXSM) << 8);
	go("TSO: IPv4 TCP, 54-byte header and 3000 bytes of payload in three buffers, "
	   "MSS 1000", from, 3);

	/* VLAN insertion: CTRL.VME on vfio0, VLE and the tag in the descriptor. */
	wr(0, CTRL, rd(0, CTRL) | CTRL_VME);
	from = tail0;
	len = build(f, &vl, NULL, NULL);
	txq(txbuf(f, len), len | TXD_DTYP_D | TXD_DEXT | TXD_EOP | TXD_IFCS | TXD_RS | TXD_VLE,
	    0x0456u << 16);
	txq(txbuf(f, len), len | TXD_EOP | TXD_IFCS | TXD_RS | TXD_VLE, 0x0789u << 16);
	go("VLAN insertion (vfio0 CTRL.VME): data descriptor tag 0x0456, legacy tag 0x0789; "
	   "vfio1 does not strip", from, 2);
	wr(0, CTRL, rd(0, CTRL) & ~CTRL_VME);
}

int main(void)
{
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	int fd = iofd_open(), n, rc;
	__u32 ioas = 0;
	__u64 iova = IOVA_A;

	for (n = 0; n < 2; n++) {
		char path[64];

		snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", n);
		nic[n] = open(path, O_RDWR);
		step(L("open vfio%d", n), nic[n] < 0 ? -errno : 0, NULL);
		if (nic[n] < 0)
			return 1;
		b.iommufd = fd;
		step(L("bind vfio%d", n), xioctl(nic[n], VFIO_DEVICE_BIND_IOMMUFD, &b), NULL);
	}
	rc = ioas_alloc(fd, &ioas);
	step("ioas_alloc", rc, NULL);
	for (n = 0; n < 2; n++) {
		at.pt_id = ioas;
		step(L("attach vfio%d", n), xioctl(nic[n], VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), NULL);
	}
	a = buf_alloc(LEN_A);
	step("map rings and buffers", ioas_map(fd, ioas, MAP_FIXED_RW, a, LEN_A, &iova), NULL);
	for (n = 0; n < 2; n++)
		reset_nic(n);
	rings();
	rx_checks();
	rss();
	tx_offloads();
	wr(1, RCTL, 0);
	wr(0, TCTL, 0);
	wr(1, RFCTL, rd(1, RFCTL) & ~RFCTL_EXTEN);
	note("stop");
	close(nic[0]);
	close(nic[1]);
	close(fd);
	return 0;
}
