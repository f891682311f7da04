/* BAR regions of a vfio-pci device file through mmap: which mappings
 * vfio_pci_core_mmap allows, and plain loads and stores of every width on a
 * mapped BAR0 of qemu's e1000e, each checked against pread/pwrite of the
 * same offset (what a DPDK driver does: it only ever uses the mapping).
 * Then IOMMU_IOAS_MAP of the mapped BAR (VM_IO | VM_PFNMAP memory), before
 * and after the IOAS has a domain. Registers: RDBAL0/RDBAH0 (0x2800/0x2804)
 * and TDBAH0 (0x3804) hold what is written (RDBAL drops its low 4 bits on
 * the e1000e, so only multiples of 16 are written there); STATUS (0x8) is
 * only compared between the mapping and pread. Narrow stores are compared
 * the same way (the e1000e takes them as 4-byte writes).
 * Built with -I test/conformance/include; runs unchanged on the oracle
 * (npm run oracle -- record shim/bar_mmap). */
// golden: bar_mmap --vfio
#define _GNU_SOURCE
#include "iofd.h"
#include <sys/mman.h>

#define REGION(i) ((off_t)(i) << 40)
#define BAR0 REGION(0)
#define RDBAL 0x2800
#define RDBAH 0x2804
#define TDBAH 0x3804
#define STATUS 0x8

static int dev;

/* include/uapi/linux/vfio.h (not in the conformance headers). */
struct vfio_region_info_ {
	__u32 argsz, flags, index, cap_offset;
	__u64 size, offset;
};
#define VFIO_DEVICE_GET_REGION_INFO_ _IO(VFIO_TYPE, VFIO_BASE + 8)

static void try_map(const char *what, off_t off, size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, dev, off);
	if (p == MAP_FAILED) {
		printf("mmap %s: %s\n", what, errno_name(errno));
		return;
	}
	printf("mmap %s: ok\n", what);
	munmap(p, len);
}

/* VFIO_DEVICE_GET_REGION_INFO with room for `argsz` bytes: what says a region may be mmapped. */
static void region_info(unsigned index, unsigned argsz)
{
	union {
		struct vfio_region_info_ r;
		unsigned char b[64];
	} u;
	int rc;

	memset(&u, 0, sizeof(u));
	u.r.argsz = argsz;
	u.r.index = index;
	rc = xioctl(dev, VFIO_DEVICE_GET_REGION_INFO_, &u);
	if (rc) {
		printf("region %u info: %s\n", index, errno_name(-rc));
		return;
	}
	printf("region %u info (argsz %u): argsz=%u flags=0x%x size=0x%llx offset=0x%llx cap_offset=%u", index, argsz,
	       u.r.argsz, u.r.flags, (unsigned long long)u.r.size, (unsigned long long)u.r.offset, u.r.cap_offset);
	if (u.r.cap_offset && u.r.cap_offset + 8 <= sizeof(u)) {
		struct vfio_info_cap_header *h = (void *)(u.b + u.r.cap_offset);
		printf(" cap id=%u version=%u next=%u", h->id, h->version, h->next);
	}
	printf("\n");
}

static uint64_t pread_n(unsigned off, int n)
{
	uint64_t v = 0;
	if (pread(dev, &v, n, BAR0 + off) != n)
		printf("pread 0x%x/%d: %s\n", off, n, errno_name(errno));
	return v;
}

static void pwrite_n(unsigned off, uint64_t v, int n)
{
	if (pwrite(dev, &v, n, BAR0 + off) != n)
		printf("pwrite 0x%x/%d: %s\n", off, n, errno_name(errno));
}

int main(void)
{
	__u32 ioas = 0, devid, pt;
	__u64 iova = 0x100000;
	volatile unsigned char *bar;
	volatile uint16_t t16;
	volatile uint8_t t8;
	int ifd, rc;

	ifd = iofd_open();
	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	if (dev < 0) {
		printf("open vfio0: %s\n", errno_name(errno));
		return 1;
	}
	try_map("BAR0 before bind", BAR0, 0x20000, PROT_READ | PROT_WRITE, MAP_SHARED);
	{
		struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = ifd };
		rc = xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
		printf("bind: %s\n", rc ? errno_name(-rc) : "ok");
		devid = b.out_devid;
		(void)devid;
	}

	/* What vfio-pci says may be mapped: VFIO_REGION_INFO_FLAG_MMAP, and the
	 * MSI-X table's BAR whole (VFIO_REGION_INFO_CAP_MSIX_MAPPABLE). */
	for (unsigned i = 0; i < 9; i++)
		region_info(i, 48);
	region_info(3, 32);

	/* vfio_pci_core_mmap's rules. */
	try_map("BAR0 whole", BAR0, 0x20000, PROT_READ | PROT_WRITE, MAP_SHARED);
	try_map("BAR0 MAP_PRIVATE", BAR0, 0x20000, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	try_map("BAR0 read-only", BAR0, 0x20000, PROT_READ, MAP_SHARED);
	try_map("BAR0 exec", BAR0, 0x1000, PROT_READ | PROT_EXEC, MAP_SHARED);
	try_map("BAR0 last page", BAR0 + 0x1f000, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED);
	try_map("BAR0 past the end", BAR0 + 0x1f000, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED);
	try_map("BAR0 one page more", BAR0, 0x21000, PROT_READ | PROT_WRITE, MAP_SHARED);
	try_map("BAR0 unaligned length", BAR0, 0x1800, PROT_READ | PROT_WRITE, MAP_SHARED);
	try_map("BAR1 whole", REGION(1), 0x20000, PROT_READ | PROT_WRITE, MAP_SHARED);
	try_map("BAR2 (I/O)", REGION(2), 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED);
	try_map("BAR3 (MSI-X) whole", REGION(3), 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED);
	try_map("BAR4 (none)", REGION(4), 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED);
	try_map("ROM", REGION(6), 0x1000, PROT_READ, MAP_SHARED);
	try_map("config", REGION(7), 0x1000, PROT_READ, MAP_SHARED);
	try_map("VGA", REGION(8), 0x1000, PROT_READ, MAP_SHARED);
	try_map("region 9", REGION(9), 0x1000, PROT_READ, MAP_SHARED);

	bar = mmap(NULL, 0x20000, PROT_READ | PROT_WRITE, MAP_SHARED, dev, BAR0);
	if (bar == MAP_FAILED) {
		printf("mmap BAR0: %s\n", errno_name(errno));
		return 1;
	}

	/* 32-bit stores and loads of every width at a register's first byte. */
	*(volatile uint32_t *)(bar + RDBAH) = 0x12345678;
	printf("store32 RDBAH: pread 0x%llx\n", (unsigned long long)pread_n(RDBAH, 4));
	printf("load32 RDBAH: 0x%x\n", *(volatile uint32_t *)(bar + RDBAH));
	/* Through a variable of the access's width: qemu's TCG hands a
	 * narrow MMIO load of the e1000e the whole register, upper bits and all. */
	t16 = *(volatile uint16_t *)(bar + RDBAH);
	printf("load16 RDBAH: 0x%x\n", t16);
	t8 = *(volatile uint8_t *)(bar + RDBAH);
	printf("load8 RDBAH: 0x%x\n", t8);
	printf("load16 signed RDBAH: %d\n", (int)*(volatile int16_t *)(bar + RDBAH));
	pwrite_n(TDBAH, 0xfedcba98, 4);
	printf("pwrite TDBAH: load32 0x%x\n", *(volatile uint32_t *)(bar + TDBAH));
	printf("load8 signed TDBAH: %d\n", (int)*(volatile int8_t *)(bar + TDBAH));
	printf("load16 signed TDBAH: %d\n", (int)*(volatile int16_t *)(bar + TDBAH));
	printf("load32 signed TDBAH: %lld\n", (long long)*(volatile int32_t *)(bar + TDBAH));

	/* 64-bit: RDBAL and RDBAH together. */
	*(volatile uint64_t *)(bar + RDBAL) = 0x89abcdef76543210ull;
	printf("store64 RDBAL: pread 0x%llx\n", (unsigned long long)pread_n(RDBAL, 8));
	printf("load64 RDBAL: 0x%llx\n", (unsigned long long)*(volatile uint64_t *)(bar + RDBAL));
	pwrite_n(RDBAL, 0x0123456789abcdf0ull, 8);
	printf("pwrite64 RDBAL: load64 0x%llx\n", (unsigned long long)*(volatile uint64_t *)(bar + RDBAL));
	printf("load32 RDBAL: 0x%x load32 RDBAH: 0x%x\n", *(volatile uint32_t *)(bar + RDBAL),
	       *(volatile uint32_t *)(bar + RDBAH));

	/* Narrow stores: wherever they land, the mapping and pread agree. */
	*(volatile uint8_t *)(bar + TDBAH) = 0x5a;
	printf("store8 TDBAH: load32 %s pread\n", *(volatile uint32_t *)(bar + TDBAH) == pread_n(TDBAH, 4) ? "==" : "!=");
	*(volatile uint16_t *)(bar + TDBAH) = 0xa55a;
	printf("store16 TDBAH: load32 %s pread\n", *(volatile uint32_t *)(bar + TDBAH) == pread_n(TDBAH, 4) ? "==" : "!=");

	/* A register the device computes: the mapping reads what pread reads. */
	printf("load32 STATUS %s pread\n", *(volatile uint32_t *)(bar + STATUS) == pread_n(STATUS, 4) ? "==" : "!=");
	printf("load16 STATUS %s pread\n", *(volatile uint16_t *)(bar + STATUS) == pread_n(STATUS, 2) ? "==" : "!=");

	/* The MSI-X table (BAR3, mappable whole): all-ones to pread, dropped by
	 * pwrite, the device's own through the mapping (its contents are the
	 * host's leftovers: only compared). The PBA is the device's to both. */
	{
		volatile unsigned char *x = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, dev, REGION(3));
		uint32_t v = 0, saved;
		if (x == MAP_FAILED) {
			printf("mmap BAR3: %s\n", errno_name(errno));
			return 1;
		}
		saved = *(volatile uint32_t *)x;
		pread(dev, &v, 4, REGION(3));
		printf("msix table address: pread 0x%x, load32 %s\n", v, saved == 0xffffffff ? "all-ones" : "the device's");
		*(volatile uint32_t *)x = 0xfee00000;
		pread(dev, &v, 4, REGION(3));
		printf("msix table store32: load32 0x%x pread 0x%x\n", *(volatile uint32_t *)x, v);
		v = 0x12345678;
		pwrite(dev, &v, 4, REGION(3) + 4);
		printf("msix table pwrite dropped: load32 0x%x\n", *(volatile uint32_t *)(x + 4));
		*(volatile uint32_t *)x = saved;
		pread(dev, &v, 4, REGION(3) + 0x2000);
		printf("msix pba: load32 0x%x pread 0x%x\n", *(volatile uint32_t *)(x + 0x2000), v);
		munmap((void *)x, 0x4000);
	}

	/* IOAS_MAP of it: pinning VM_IO | VM_PFNMAP memory fails. */
	rc = ioas_alloc(ifd, &ioas);
	printf("ioas alloc: %s\n", rc ? errno_name(-rc) : "ok");
	rc = ioas_map(ifd, ioas, MAP_FIXED_RW, (void *)bar, 0x1000, &iova);
	printf("ioas map of BAR0, no domain: %s\n", rc ? errno_name(-rc) : "ok");
	/* Kept mapped: the attach that gives the IOAS a domain must pin it. */
	pt = ioas;
	{
		struct vfio_device_attach_iommufd_pt a = { .argsz = sizeof(a), .pt_id = pt };
		rc = xioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a);
		printf("attach with BAR0 in the IOAS: %s\n", rc ? errno_name(-rc) : "ok");
		rc = ioas_unmap(ifd, ioas, 0x100000, 0x1000, NULL);
		printf("unmap: %s\n", rc ? errno_name(-rc) : "ok");
		a.pt_id = pt;
		rc = xioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a);
		printf("attach: %s\n", rc ? errno_name(-rc) : "ok");
	}
	rc = ioas_map(ifd, ioas, MAP_FIXED_RW, (void *)bar, 0x1000, &iova);
	printf("ioas map of BAR0: %s\n", rc ? errno_name(-rc) : "ok");
	rc = ioas_map(ifd, ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE, (void *)bar, 0x1000, &iova);
	printf("ioas map of BAR0 read-only: %s\n", rc ? errno_name(-rc) : "ok");

	/* The mapping holds the file: closing the fd leaves the device bound. */
	*(volatile uint32_t *)(bar + TDBAH) = 0x31415926;
	printf("close: %s\n", close(dev) ? errno_name(errno) : "ok");
	printf("load32 TDBAH after close: 0x%x\n", *(volatile uint32_t *)(bar + TDBAH));
	*(volatile uint32_t *)(bar + TDBAH) = 0x27182818;
	printf("store32 TDBAH after close: load32 0x%x\n", *(volatile uint32_t *)(bar + TDBAH));
	printf("munmap: %s\n", munmap((void *)bar, 0x20000) ? errno_name(errno) : "ok");
	return 0;
}
