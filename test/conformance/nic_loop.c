// A small userspace driver for the two e1000e NICs (vfio0 and vfio1, wired
// back to back): both bound to one iommufd and attached to one IOAS, reset
// as Linux's e1000e resets an 82574, MAC from the NVM and RAL/RAH, link up,
// one TX ring on vfio0 and one RX ring on vfio1 in IOVA space with legacy
// descriptors. Frames of several kinds and sizes go across; each received
// frame is checked against what was sent. Then an RX interrupt through
// MSI-X and an eventfd, and DMA faults: RX buffers unmapped, read-only and
// half mapped, TX buffers unmapped and half mapped, descriptor rings the
// device may read but not write, an RX ring where nothing is mapped, and
// what each side sees.
// oracle: --vfio
// platform: qemu-vtd
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

/* registers (82574L) */
enum {
	CTRL = 0x0, STATUS = 0x8, EECD = 0x10, EERD = 0x14, ICR = 0xc0,
	ICS = 0xc8, IMS = 0xd0, IMC = 0xd8, IVAR = 0xe4, RCTL = 0x100,
	TCTL = 0x400, TIPG = 0x410, RDBAL = 0x2800, RDBAH = 0x2804,
	RDLEN = 0x2808, RDH = 0x2810, RDT = 0x2818, RDTR = 0x2820,
	TDBAL = 0x3800, TDBAH = 0x3804, TDLEN = 0x3808, TDH = 0x3810,
	TDT = 0x3818, RAL0 = 0x5400, RAH0 = 0x5404,
};

#define CTRL_SLU (1u << 6)
#define CTRL_RST (1u << 26)
#define STATUS_LU (1u << 1)
#define EECD_AUTO_RD (1u << 9)
#define RCTL_EN (1u << 1)
#define RCTL_BAM (1u << 15)
#define RCTL_SECRC (1u << 26)
#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3)
#define TCTL_CT (0x0fu << 4)
#define TCTL_COLD (0x3fu << 12)
#define ICR_RXQ0 (1u << 20)

#define TXD_EOP 0x01
#define TXD_IFCS 0x02
#define TXD_RS 0x08

#define NDESC 16
#define BUFSZ 2048

/* IOVA space: one RW region with both rings and all regular buffers, a
 * read-only region, two one-page regions whose next page is unmapped, and
 * an IOVA nothing is mapped at. */
#define IOVA_A 0x10000000ull
#define LEN_A (2ul << 20)
#define IOVA_RO 0x20000000ull
#define LEN_RO 0x10000ul
#define IOVA_HOLE 0x30000000ull
#define IOVA_C 0x40000000ull
#define IOVA_D 0x50000000ull
#define OFF_TXR 0x0
#define OFF_RXR 0x1000
#define OFF_TXB 0x10000
#define OFF_RXB 0x40000

struct txd {
	__u64 addr;
	__u16 len;
	__u8 cso, cmd, status, css;
	__u16 special;
};

struct rxd {
	__u64 addr;
	__u16 len, csum;
	__u8 status, errors;
	__u16 special;
};

static int nic[2];
static char *a, *ro, *pc, *pd;
static volatile struct txd *txr;
static volatile struct rxd *rxr;
static unsigned int tail0, tail1;  /* next TX slot on vfio0, RX slot to post on vfio1 */
static const __u8 mac0[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const __u8 mac1[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
static __u8 sent[NDESC][BUFSZ];    /* per RX slot: the frame expected there */
static unsigned int sentlen[NDESC];

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

static void pause_ms(unsigned int ms)
{
	usleep(ms * 1000);
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Wait (at most ms milliseconds) until (reg & mask) == want; says whether
 * it happened. Only how long a run takes depends on the clock. */
static int wait_reg_ms(int n, unsigned int off, __u32 mask, __u32 want, int ms)
{
	long long end = now_ms() + ms;

	for (;;) {
		if ((rd(n, off) & mask) == want)
			return 1;
		if (now_ms() > end)
			return 0;
		pause_ms(1);
	}
}

static int wait_reg(int n, unsigned int off, __u32 mask, __u32 want)
{
	return wait_reg_ms(n, off, mask, want, 1000);
}

/* DMA waits: qemu's device has done its work when the doorbell write
 * returns; the bound is for devices that take their time. */
#define DMA_WAIT_MS 300

static void command_on(int n)
{
	__u16 c = 0;

	if (pread(nic[n], &c, 2, CFG + 4) != 2)
		printf("vfio%d read command: %s\n", n, errno_name(errno));
	c |= 0x6;  /* memory space, bus master */
	if (pwrite(nic[n], &c, 2, CFG + 4) != 2)
		printf("vfio%d write command: %s\n", n, errno_name(errno));
	c = 0;
	pread(nic[n], &c, 2, CFG + 4);
	printf("vfio%d command 0x%04x\n", n, c);
}

/* The 82574 reset of Linux's e1000e (e1000_reset_hw_82571): mask, stop the
 * queues, let DMA settle, CTRL.RST, wait for the NVM auto-read, mask again
 * and clear ICR. */
static void reset_nic(int n)
{
	int done;

	step(L("vfio%d VFIO_DEVICE_RESET", n), xioctl(nic[n], DEVICE_RESET, NULL), NULL);
	command_on(n);
	wr(n, IMC, 0xffffffff);
	wr(n, RCTL, 0);
	wr(n, TCTL, TCTL_PSP);
	rd(n, STATUS);
	pause_ms(10);
	wr(n, CTRL, rd(n, CTRL) | CTRL_RST);
	pause_ms(10);
	done = wait_reg(n, EECD, EECD_AUTO_RD, EECD_AUTO_RD);
	printf("vfio%d after CTRL.RST: CTRL 0x%08x EECD.AUTO_RD %s\n", n, rd(n, CTRL),
	       done ? "set" : "never set");
	wr(n, IMC, 0xffffffff);
	rd(n, ICR);
}

static void read_mac(int n)
{
	__u16 w[3];
	int i;

	for (i = 0; i < 3; i++) {
		__u32 v;

		wr(n, EERD, ((__u32)i << 2) | 1);
		wait_reg(n, EERD, 2, 2);
		v = rd(n, EERD);
		w[i] = v >> 16;
	}
	printf("vfio%d nvm mac %02x:%02x:%02x:%02x:%02x:%02x RAL0 0x%08x RAH0 0x%08x\n", n,
	       w[0] & 0xff, w[0] >> 8, w[1] & 0xff, w[1] >> 8, w[2] & 0xff, w[2] >> 8,
	       rd(n, RAL0), rd(n, RAH0));
}

static void link_up(int n)
{
	int up;

	wr(n, CTRL, (rd(n, CTRL) | CTRL_SLU) & ~((1u << 11) | (1u << 12)));
	up = wait_reg(n, STATUS, STATUS_LU, STATUS_LU);
	printf("vfio%d link %s: CTRL 0x%08x STATUS 0x%08x\n", n, up ? "up" : "down",
	       rd(n, CTRL), rd(n, STATUS));
	rd(n, ICR);  /* the LSC of the link coming up */
}

static void stats(const char *when)
{
	static const struct { const char *name; unsigned int off; } r[] = {
		{ "GPTC", 0x4080 }, { "TPT", 0x40d4 }, { "GOTCL", 0x4090 },
		{ "GOTCH", 0x4094 }, { "BPTC", 0x40f4 }, { "MPTC", 0x40f0 },
		{ "PTC64", 0x40d8 }, { "PTC1522", 0x40ec },
		{ "GPRC", 0x4074 }, { "TPR", 0x40d0 }, { "GORCL", 0x4088 },
		{ "GORCH", 0x408c }, { "BPRC", 0x4078 }, { "MPRC", 0x407c },
		{ "RUC", 0x40a4 }, { "RNBC", 0x40a0 }, { "MPC", 0x4010 },
		{ "PRC64", 0x405c }, { "PRC1522", 0x4070 }, { "TORL", 0x40c0 },
		{ "TOTL", 0x40c8 },
	};
	unsigned int i, v;
	int n;

	for (n = 0; n < 2; n++) {
		if (when)
			printf("vfio%d stats %s:", n, when);
		for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
			v = rd(n, r[i].off);
			if (when)
				printf(" %s=%u", r[i].name, v);
		}
		if (when)
			putchar('\n');
	}
}

static void icr(int n, const char *when)
{
	__u32 a1 = rd(n, ICR), a2 = rd(n, ICR);

	printf("vfio%d ICR %s: 0x%08x then 0x%08x\n", n, when, a1, a2);
}

/* A frame: dst, vfio0's MAC, ethertype 0x88b5, then a pattern. */
static unsigned int make_frame(__u8 *f, const __u8 *dst, unsigned int len, unsigned int seed)
{
	unsigned int i;

	memcpy(f, dst, 6);
	memcpy(f + 6, mac0, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (i = 14; i < len; i++)
		f[i] = (__u8)(i * 7 + seed * 31);
	return len;
}

static __u16 sum16(const volatile __u8 *p, unsigned int len)
{
	__u32 s = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		s += (i & 1) ? p[i] : (__u32)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Post RX descriptor slot with buffer at iova (0: the slot's own buffer). */
static void rx_post(unsigned int slot, __u64 iova)
{
	volatile struct rxd *d = &rxr[slot];

	d->addr = iova ? iova : IOVA_A + OFF_RXB + slot * BUFSZ;
	d->len = 0;
	d->csum = 0;
	d->status = 0;
	d->errors = 0;
	d->special = 0;
	memset(a + OFF_RXB + slot * BUFSZ, 0xee, BUFSZ);
}

static void rx_give(unsigned int upto)
{
	tail1 = upto % NDESC;
	wr(1, RDT, tail1);
}

/* Queue one frame on vfio0's TX ring; the frame's bytes go to buf (at iova)
 * unless buf is NULL (then iova is used as it is: a fault). */
static unsigned int tx_queue(__u8 *buf, __u64 iova, const __u8 *frame, unsigned int len)
{
	unsigned int slot = tail0;
	volatile struct txd *d = &txr[slot];

	if (buf)
		memcpy(buf, frame, len);
	d->addr = iova;
	d->len = len;
	d->cso = 0;
	d->cmd = TXD_EOP | TXD_IFCS | TXD_RS;
	d->status = 0;
	d->css = 0;
	d->special = 0;
	tail0 = (tail0 + 1) % NDESC;
	return slot;
}

/* Ring vfio0's doorbell and wait (bounded) until it has fetched them all. */
static void tx_go(void)
{
	__sync_synchronize();
	wr(0, TDT, tail0);
	wait_reg_ms(0, TDH, 0xffff, tail0, DMA_WAIT_MS);
}

/* Wait (bounded) until vfio1's RX head is at slot h. */
static void wait_rdh(unsigned int h)
{
	wait_reg_ms(1, RDH, 0xffff, h, DMA_WAIT_MS);
	__sync_synchronize();
}

static void tx_show(unsigned int from, unsigned int to)
{
	unsigned int s;

	for (s = from; s != to; s = (s + 1) % NDESC) {
		printf("tx %2u: len=%u cmd=0x%02x status=0x%02x\n", s, txr[s].len, txr[s].cmd,
		       txr[s].status);
	}
	printf("vfio0 TDH %u TDT %u\n", rd(0, TDH), rd(0, TDT));
}

/* Describe RX slot s: its write-back, and the bytes in buffer p (len
 * bytes looked at) against the frame expected there. */
static void rx_show(unsigned int s, const volatile __u8 *p, unsigned int look)
{
	volatile struct rxd *d = &rxr[s];
	unsigned int i, same = 0, touched = 0;

	printf("rx %2u: %s len=%u csum=0x%04x status=0x%02x errors=0x%02x special=0x%04x\n",
	       s, d->status & 1 ? "written back" : "not written back", d->len, d->csum,
	       d->status, d->errors, d->special);
	if (!p)
		return;
	for (i = 0; i < look; i++) {
		if (p[i] != 0xee)
			touched = i + 1;
		if (i < sentlen[s] && p[i] == sent[s][i] && same == i)
			same = i + 1;
	}
	printf("rx %2u buffer: %u bytes written, first %u equal to the frame sent, sum 0x%04x, "
	       "head %02x%02x%02x%02x%02x%02x %02x%02x%02x%02x%02x%02x %02x%02x\n",
	       s, touched, same, sum16(p, touched), p[0], p[1], p[2], p[3], p[4], p[5], p[6],
	       p[7], p[8], p[9], p[10], p[11], p[12], p[13]);
}

static void rings(void)
{
	unsigned int i;

	txr = (volatile struct txd *)(a + OFF_TXR);
	rxr = (volatile struct rxd *)(a + OFF_RXR);
	memset(a, 0, OFF_TXB);

	/* vfio0: TX */
	wr(0, TDBAL, (__u32)(IOVA_A + OFF_TXR));
	wr(0, TDBAH, (__u32)((IOVA_A + OFF_TXR) >> 32));
	wr(0, TDLEN, NDESC * 16);
	wr(0, TDH, 0);
	wr(0, TDT, 0);
	wr(0, TIPG, 8 | (8 << 10) | (6 << 20));
	wr(0, TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);
	printf("vfio0 TX ring: TDLEN %u TDH %u TDT %u TCTL 0x%08x TIPG 0x%08x\n", rd(0, TDLEN),
	       rd(0, TDH), rd(0, TDT), rd(0, TCTL), rd(0, TIPG));

	/* vfio1: RX; first swallow, silently, whatever an earlier program left
	 * waiting in qemu's queue, then start again from slot 0. */
	wr(1, RDBAL, (__u32)(IOVA_A + OFF_RXR));
	wr(1, RDBAH, (__u32)((IOVA_A + OFF_RXR) >> 32));
	wr(1, RDLEN, NDESC * 16);
	wr(1, RDTR, 0);
	wr(1, RDH, 0);
	for (i = 0; i < NDESC; i++)
		rx_post(i, 0);
	wr(1, RDT, NDESC - 1);
	wr(1, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	wr(1, RCTL, 0);
	rd(1, ICR);
	wr(1, RDH, 0);
	wr(1, RDT, 0);
	memset(a + OFF_RXR, 0, NDESC * 16);
	for (i = 0; i < 8; i++)
		rx_post(i, 0);
	wr(1, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	rx_give(6);
	printf("vfio1 RX ring: RDLEN %u RDH %u RDT %u RCTL 0x%08x\n", rd(1, RDLEN), rd(1, RDH),
	       rd(1, RDT), rd(1, RCTL));
	/* The counters start from zero for what follows (they clear on read). */
	stats(NULL);
	stats("before");
}

/* Send one frame into RX slot s (expected there unless the filter drops it). */
static void send(unsigned int s, const __u8 *dst, unsigned int len, unsigned int seed, int kept)
{
	__u8 f[BUFSZ];
	unsigned int t = tail0;

	make_frame(f, dst, len, seed);
	tx_queue((__u8 *)a + OFF_TXB + t * BUFSZ, IOVA_A + OFF_TXB + t * BUFSZ, f, len);
	if (kept) {
		memset(sent[s], 0, BUFSZ);
		memcpy(sent[s], f, len);
		sentlen[s] = len < 60 ? 60 : len;
	}
}

static void traffic(void)
{
	static const __u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const __u8 other[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 };
	static const __u8 mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	unsigned int s;

	note("frames from vfio0 to vfio1");
	send(0, bcast, 60, 1, 1);
	send(1, mac1, 1514, 2, 1);
	send(2, mac1, 42, 3, 1);
	send(3, other, 100, 4, 0);
	send(3, mcast, 100, 5, 0);
	send(3, mac1, 100, 6, 1);
	tx_go();
	wait_rdh(4);
	tx_show(0, tail0);
	for (s = 0; s < 4; s++)
		rx_show(s, (__u8 *)a + OFF_RXB + s * BUFSZ, BUFSZ);
	printf("vfio1 RDH %u RDT %u\n", rd(1, RDH), rd(1, RDT));
	rx_show(4, NULL, 0);
	icr(0, "after TX");
	icr(1, "after RX");
	stats("after");
	stats("read again");
}

static int set_msix(int n, int efd)
{
	struct { __u32 argsz, flags, index, start, count; __s32 fd; } s = {
		.argsz = sizeof(s), .flags = IRQ_DATA_EVENTFD | IRQ_ACTION_TRIGGER,
		.index = IRQ_MSIX, .start = 0, .count = 1, .fd = efd,
	};

	if (efd < 0) {
		s.argsz = 20;
		s.flags = IRQ_DATA_NONE | IRQ_ACTION_TRIGGER;
		s.count = 0;
	}
	return xioctl(nic[n], SET_IRQS, &s);
}

static const char *irq_wait(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	__u64 v;

	if (poll(&p, 1, ms) == 1 && read(efd, &v, 8) == 8)
		return "irq fired";
	return "no irq";
}

static void msix(void)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	note("MSI-X: RX queue 0 on vector 0 of vfio1");
	rx_post(6, 0);
	rx_post(7, 0);
	rx_give(8);
	step("vfio1 SET_IRQS MSI-X vector 0 eventfd", set_msix(1, efd), NULL);
	wr(1, ICR, 0xffffffff);
	wr(1, IVAR, 0x8);          /* RXQ0 -> vector 0, valid */
	wr(1, IMS, ICR_RXQ0);
	printf("vfio1 IVAR 0x%08x IMS 0x%08x\n", rd(1, IVAR), rd(1, IMS));
	send(4, mac1, 200, 7, 1);
	tx_go();
	printf("frame to vfio1 with RXQ0 mapped to vector 0: %s\n", irq_wait(efd, 5000));
	wait_rdh(5);
	rx_show(4, (__u8 *)a + OFF_RXB + 4 * BUFSZ, BUFSZ);
	icr(1, "with MSI-X, IMS RXQ0");
	wr(1, ICR, 0xffffffff);
	wr(1, IVAR, 0);            /* RXQ0 not mapped */
	send(5, mac1, 64, 8, 1);
	tx_go();
	wait_rdh(6);
	printf("frame to vfio1 with IVAR 0: %s\n", irq_wait(efd, 500));
	rx_show(5, (__u8 *)a + OFF_RXB + 5 * BUFSZ, BUFSZ);
	icr(1, "with MSI-X, IVAR 0");
	wr(1, IMC, 0xffffffff);
	wr(1, ICR, 0xffffffff);
	wr(1, IVAR, 0);
	step("vfio1 SET_IRQS MSI-X off", set_msix(1, -1), NULL);
	tx_show(6, tail0);
	printf("vfio1 RDH %u RDT %u\n", rd(1, RDH), rd(1, RDT));
	icr(0, "after TX");
	icr(1, "after MSI-X off");
	stats("after");
	close(efd);
}

static void rx_faults(void)
{
	char *c_end = pc + 4096 - 1000;

	note("RX DMA faults: buffers unmapped, read-only, half mapped");
	rx_post(6, IOVA_HOLE);
	rx_post(7, IOVA_RO);
	memset(ro, 0xee, BUFSZ);
	rx_post(8, IOVA_C + 4096 - 1000);
	memset(pc, 0xee, 4096);
	rx_post(9, 0);
	rx_give(10);
	send(6, mac1, 100, 9, 1);
	send(7, mac1, 100, 10, 1);
	send(8, mac1, 1514, 11, 1);
	send(9, mac1, 100, 12, 1);
	tx_go();
	wait_rdh(10);
	tx_show(8, tail0);
	rx_show(6, NULL, 0);
	rx_show(7, (__u8 *)ro, BUFSZ);
	rx_show(8, (__u8 *)c_end, 1000);
	rx_show(9, (__u8 *)a + OFF_RXB + 9 * BUFSZ, BUFSZ);
	printf("vfio1 RDH %u RDT %u\n", rd(1, RDH), rd(1, RDT));
	icr(0, "after TX");
	icr(1, "after RX");
	stats("after");
}

static void tx_faults(void)
{
	__u8 f[BUFSZ];
	unsigned int s, first = tail0;

	note("TX DMA faults: buffer unmapped, half mapped; one in read-only memory");
	note("vfio1 promiscuous (RCTL.UPE|MPE) to see whatever arrives");
	wr(1, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC | (1u << 3) | (1u << 4));
	for (s = 10; s < 14; s++)
		rx_post(s, 0);
	rx_give(14);
	make_frame(f, mac1, 100, 13);
	tx_queue(NULL, IOVA_HOLE, f, 100);
	memset(sent[10], 0, BUFSZ);
	memcpy(sent[10], f, 100);
	sentlen[10] = 100;
	make_frame(f, mac1, 1000, 14);
	memcpy(pd + 4096 - 500, f, 500);
	tx_queue(NULL, IOVA_D + 4096 - 500, f, 1000);
	make_frame(f, mac1, 100, 15);
	tx_queue((__u8 *)ro + BUFSZ, IOVA_RO + BUFSZ, f, 100);
	memset(sent[11], 0, BUFSZ);
	memcpy(sent[11], f, 100);
	sentlen[11] = 100;
	send(12, mac1, 100, 16, 1);
	tx_go();
	wait_rdh(13);
	tx_show(first, tail0);
	for (s = 10; s < 14; s++)
		rx_show(s, (__u8 *)a + OFF_RXB + s * BUFSZ, BUFSZ);
	printf("vfio1 RDH %u RDT %u\n", rd(1, RDH), rd(1, RDT));
	wr(1, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	icr(0, "after TX");
	icr(1, "after RX");
	stats("after");
}

/* Descriptor rings the device may read but not write (IOAS_MAP without
 * WRITEABLE), and an RX ring at an IOVA where nothing is mapped. */
static void ring_faults(void)
{
	volatile struct txd *t = (volatile struct txd *)(ro + 0x2000);
	volatile struct rxd *r = (volatile struct rxd *)(ro + 0x1000);
	__u8 f[BUFSZ];
	__u8 *b0 = (__u8 *)a + 0x80000, *b1 = (__u8 *)a + 0x80800, *tb = (__u8 *)a + 0x90000;
	unsigned int i;

	note("vfio0 TX ring in read-only memory");
	rx_post(14, 0);
	rx_post(15, 0);
	rx_give(16);
	wr(0, TCTL, 0);
	memset((void *)t, 0, 256);
	wr(0, TDBAL, (__u32)(IOVA_RO + 0x2000));
	wr(0, TDBAH, 0);
	wr(0, TDLEN, 256);
	wr(0, TDH, 0);
	wr(0, TDT, 0);
	wr(0, TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);
	make_frame(f, mac1, 100, 17);
	memcpy(tb, f, 100);
	t[0].addr = IOVA_A + 0x90000;
	t[0].len = 100;
	t[0].cmd = TXD_EOP | TXD_IFCS | TXD_RS;
	memset(sent[13], 0, BUFSZ);
	memcpy(sent[13], f, 100);
	sentlen[13] = 100;
	__sync_synchronize();
	wr(0, TDT, 1);
	wait_reg_ms(0, TDH, 0xffff, 1, DMA_WAIT_MS);
	wait_rdh(14);
	printf("tx ro 0: len=%u cmd=0x%02x status=0x%02x\n", t[0].len, t[0].cmd, t[0].status);
	printf("vfio0 TDH %u TDT %u\n", rd(0, TDH), rd(0, TDT));
	rx_show(13, (__u8 *)a + OFF_RXB + 13 * BUFSZ, BUFSZ);
	printf("vfio1 RDH %u RDT %u\n", rd(1, RDH), rd(1, RDT));
	icr(0, "after TX");
	icr(1, "after RX");

	note("vfio1 RX ring in read-only memory");
	wr(1, RCTL, 0);
	memset((void *)r, 0, 256);
	memset(b0, 0xee, BUFSZ);
	memset(b1, 0xee, BUFSZ);
	r[0].addr = IOVA_A + 0x80000;
	r[1].addr = IOVA_A + 0x80800;
	wr(1, RDBAL, (__u32)(IOVA_RO + 0x1000));
	wr(1, RDBAH, 0);
	wr(1, RDLEN, 256);
	wr(1, RDH, 0);
	wr(1, RDT, 2);
	wr(1, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	make_frame(f, mac1, 300, 18);
	memcpy(tb, f, 300);
	t[1].addr = IOVA_A + 0x90000;
	t[1].len = 300;
	t[1].cmd = TXD_EOP | TXD_IFCS | TXD_RS;
	__sync_synchronize();
	wr(0, TDT, 2);
	wait_reg_ms(0, TDH, 0xffff, 2, DMA_WAIT_MS);
	wait_rdh(1);
	printf("vfio1 RDH %u RDT %u\n", rd(1, RDH), rd(1, RDT));
	printf("rx ro 0: len=%u status=0x%02x errors=0x%02x\n", r[0].len, r[0].status, r[0].errors);
	for (i = 0; i < 300 && b0[i] == f[i]; i++)
		;
	printf("rx ro 0 buffer: first %u bytes equal to the frame sent, byte 300 0x%02x\n", i, b0[300]);
	icr(1, "after RX");

	note("vfio1 RX ring at an unmapped IOVA");
	wr(1, RCTL, 0);
	memset(b0, 0xee, BUFSZ);
	wr(1, RDBAL, (__u32)IOVA_HOLE);
	wr(1, RDBAH, 0);
	wr(1, RDLEN, 256);
	wr(1, RDH, 0);
	wr(1, RDT, 2);
	wr(1, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	t[2].addr = IOVA_A + 0x90000;
	t[2].len = 300;
	t[2].cmd = TXD_EOP | TXD_IFCS | TXD_RS;
	__sync_synchronize();
	wr(0, TDT, 3);
	wait_reg_ms(0, TDH, 0xffff, 3, DMA_WAIT_MS);
	wait_rdh(2);
	printf("vfio1 RDH %u RDT %u\n", rd(1, RDH), rd(1, RDT));
	for (i = 0; i < BUFSZ && b0[i] == 0xee && b1[i] == 0xee; i++)
		;
	printf("buffers of the read-only ring %s\n", i == BUFSZ ? "untouched" : "written");
	icr(1, "after RX");
	stats("after");
}

int main(void)
{
	struct vfio_device_bind_iommufd b = { .argsz = sizeof(b) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	int fd = iofd_open(), n, rc;
	__u32 ioas = 0;
	__u64 iova;

	for (n = 0; n < 2; n++) {
		char path[64];

		snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", n);
		nic[n] = open(path, O_RDWR);
		step(L("open vfio%d", n), nic[n] < 0 ? -errno : 0, NULL);
		if (nic[n] < 0)
			return 1;
		b.iommufd = fd;
		rc = xioctl(nic[n], VFIO_DEVICE_BIND_IOMMUFD, &b);
		step_ok(L("bind vfio%d", n), rc, "devid=%u", b.out_devid);
	}
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "ioas=%u", ioas);
	for (n = 0; n < 2; n++) {
		at.pt_id = ioas;
		rc = xioctl(nic[n], VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
		step_ok(L("attach vfio%d -> ioas", n), rc, "pt=%u", at.pt_id);
	}

	a = buf_alloc(LEN_A);
	ro = buf_alloc(LEN_RO);
	pc = buf_alloc(4096);
	pd = buf_alloc(4096);
	iova = IOVA_A;
	step("map rings and buffers rw", ioas_map(fd, ioas, MAP_FIXED_RW, a, LEN_A, &iova), NULL);
	iova = IOVA_RO;
	step("map read-only region",
	     ioas_map(fd, ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE, ro, LEN_RO,
		      &iova), NULL);
	iova = IOVA_C;
	step("map one page for the half-mapped RX buffer",
	     ioas_map(fd, ioas, MAP_FIXED_RW, pc, 4096, &iova), NULL);
	iova = IOVA_D;
	step("map one page for the half-mapped TX buffer",
	     ioas_map(fd, ioas, MAP_FIXED_RW, pd, 4096, &iova), NULL);

	for (n = 0; n < 2; n++) {
		note("vfio%d: reset, MAC, link", n);
		reset_nic(n);
		read_mac(n);
		link_up(n);
	}
	rings();
	traffic();
	msix();
	rx_faults();
	tx_faults();
	ring_faults();

	note("stop");
	wr(1, RCTL, 0);
	wr(0, TCTL, 0);
	printf("vfio0 TCTL 0x%08x vfio1 RCTL 0x%08x\n", rd(0, TCTL), rd(1, RCTL));
	close(nic[0]);
	close(nic[1]);
	close(fd);
	return 0;
}
