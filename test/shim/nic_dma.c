/* A tiny userspace driver for the two e1000e NICs (vfio0 sends, vfio1
 * receives), run under the server: one IOAS over a buffer of this process,
 * TX and RX rings in it, one frame across the wire, then an RX buffer at an
 * unmapped IOVA, one at a read-only IOVA and one in a MAP_SHARED memfd page
 * (a file frame, as QEMU's guest RAM). Prints what a driver sees
 * (see test/e1000e-server.test.ts). */
#include "step.h"
#include "iofd.h"
#include <sys/eventfd.h>
#include <sys/mman.h>

#define IOVA 0x100000ULL
#define TX_BUF_OFF 0x1000
#define RX_RING_OFF 0x2000
#define RX_BUF_OFF 0x3000
#define RO_IOVA 0x200000ULL
#define HOLE_IOVA 0x900000ULL
#define MEMFD_IOVA 0x400000ULL

static int dev[2];

static __u32 rd(int n, __u32 off)
{
	__u32 v = 0;

	if (pread(dev[n], &v, 4, off) != 4)
		printf("pread %#x: %s\n", off, errno_name(errno));
	return v;
}

static void wr(int n, __u32 off, __u32 v)
{
	if (pwrite(dev[n], &v, 4, off) != 4)
		printf("pwrite %#x: %s\n", off, errno_name(errno));
}

struct desc { __u64 addr; __u32 lower, upper; };

int main(void)
{
	int io = iofd_open(), i, efd = eventfd(0, EFD_CLOEXEC);
	__u32 ioas;
	unsigned char *buf = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *ro = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mfd = memfd_create("guest-ram", MFD_CLOEXEC);
	unsigned char *shared = (ftruncate(mfd, 0x1000), mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0));
	__u64 memfd_iova = MEMFD_IOVA;
	struct desc *tx = (struct desc *)buf, *rx = (struct desc *)(buf + RX_RING_OFF);
	unsigned char frame[100];
	__u64 iova = IOVA, ro_iova = RO_IOVA, cnt = 0;
	struct { __u32 argsz, flags, index, start, count; __s32 fd; } irq = {
		.argsz = 24, .flags = (1 << 2) | (1 << 5), .index = 2, .start = 0, .count = 1, .fd = efd,
	};

	memset(buf, 0, 0x10000);
	memset(ro, 0xee, 0x1000);
	if (ioas_alloc(io, &ioas) || ioas_map(io, ioas, MAP_FIXED_RW, buf, 0x10000, &iova) ||
	    ioas_map(io, ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE, ro, 0x1000, &ro_iova) ||
	    ioas_map(io, ioas, MAP_FIXED_RW, shared, 0x1000, &memfd_iova)) {
		printf("ioas: %s\n", errno_name(errno));
		return 1;
	}
	for (i = 0; i < 2; i++) {
		struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = io };
		struct vfio_device_attach_iommufd_pt a = { .argsz = sizeof(a), .pt_id = ioas };
		__u16 cmd;
		char path[32];

		snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", i);
		dev[i] = open(path, O_RDWR);
		if (dev[i] < 0 || xioctl(dev[i], VFIO_DEVICE_BIND_IOMMUFD, &b) || xioctl(dev[i], VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a)) {
			printf("vfio%d: %s\n", i, errno_name(errno));
			return 1;
		}
		pread(dev[i], &cmd, 2, (7ULL << 40) + 4);
		cmd |= 0x6; /* memory, bus master */
		pwrite(dev[i], &cmd, 2, (7ULL << 40) + 4);
		rd(i, 0xc0); /* the link change left pending */
	}
	if (xioctl(dev[1], _IO(VFIO_TYPE, VFIO_BASE + 10), &irq))
		printf("set_irqs: %s\n", errno_name(errno));
	wr(1, 0xe4, 0x8);        /* IVAR: RXQ0 -> vector 0 */
	wr(1, 0xd0, 1 << 20);    /* IMS: RXQ0 */

	for (i = 0; i < 8; i++)
		rx[i].addr = IOVA + RX_BUF_OFF + 0x800 * i;
	rx[1].addr = HOLE_IOVA;
	rx[2].addr = RO_IOVA;
	rx[3].addr = MEMFD_IOVA + 0x100;
	wr(1, 0x2800, IOVA + RX_RING_OFF); wr(1, 0x2804, 0); wr(1, 0x2808, 128);
	wr(1, 0x2810, 0);
	wr(1, 0x100, 0x2 | (1 << 15)); /* RCTL: EN, BAM */
	wr(1, 0x2818, 7);

	wr(0, 0x3800, IOVA); wr(0, 0x3804, 0); wr(0, 0x3808, 128); wr(0, 0x3810, 0); wr(0, 0x3818, 0);
	wr(0, 0x400, 0x2); /* TCTL: EN */

	for (i = 0; i < 4; i++) {
		int k;

		memcpy(frame, "\x52\x54\x00\x12\x34\x57\x52\x54\x00\x12\x34\x56\x88\xb5", 14);
		for (k = 14; k < 100; k++)
			frame[k] = (unsigned char)(k * 7 + i);
		memcpy(buf + TX_BUF_OFF + 0x100 * i, frame, 100);
		tx[i].addr = IOVA + TX_BUF_OFF + 0x100 * i;
		tx[i].lower = 100 | (1u << 24) | (1u << 25) | (1u << 27);
		wr(0, 0x3818, i + 1);
		printf("frame %d: tx TDH=%u status=%#x ICR=%#x | rx RDH=%u len=%u status=%#x ICR=%#x", i, rd(0, 0x3810),
		       tx[i].upper & 0xff, rd(0, 0xc0), rd(1, 0x2810), rx[i].lower & 0xffff, (rx[i].upper) & 0xff, rd(1, 0xc0));
		if (i == 0)
			printf(" bytes %s", memcmp(buf + RX_BUF_OFF, frame, 100) ? "differ" : "match");
		if (i == 1)
			printf(" hole untouched");
		if (i == 2) {
			for (k = 0; k < 0x1000 && ro[k] == 0xee; k++)
				;
			printf(" read-only page %s", k == 0x1000 ? "untouched" : "written");
		}
		if (i == 3) {
			unsigned char back[100];

			pread(mfd, back, 100, 0x100);
			printf(" memfd %s", memcmp(back, frame, 100) ? "differs" : "holds the frame");
		}
		printf("\n");
	}
	if (read(efd, &cnt, 8) != 8)
		cnt = 0;
	printf("msix vector 0: %llu\n", (unsigned long long)cnt);
	printf("GPRC=%u GPTC=%u\n", rd(1, 0x4074), rd(0, 0x4080));
	return 0;
}
