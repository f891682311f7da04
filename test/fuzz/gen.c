// gen: seeded random iommufd ioctl sequences, one deterministic line per step.
//
//   gen [-z] [v2] SEED STEPS [SKIP...] [-- [v2] SEED STEPS [SKIP...]]...
//
// The same program runs on Linux (the oracle) and under the emulator; the
// lines are compared. A step's arguments come from its own random stream
// (seed, step index), so leaving steps out (SKIP: step indices) changes the
// others only through the objects they created: that is how a divergence is
// shrunk to a short reproducer.
//
// A line: "N OP ARGS: RESULT [w=WRITTEN] [o=OUT]" where ARGS name pointer
// classes (never addresses), RESULT is ok/ret=N/ENAME, WRITTEN the bytes of
// the argument struct the call changed (offset:hex) and OUT a digest of the
// bytes it changed in the output area. Nothing depends on addresses, pids or
// timing.
//
// Memory (one 2 MiB-aligned pool, so IOVA auto-alignment is the same on both
// sides): data pages (rw), read-only pages, a hole; below it, out of reach of
// any range gen maps or pins, an out area and argument pages next to a hole
// and a read-only page, so structs can straddle into unmapped memory or be
// unwritable.
// Version 2 (a leading "v2"; version 1 keeps its step kinds):
// FIOCLEX/FIONCLEX/FIONBIO/FIOASYNC/FIOQSIZE on every fd, the VFIO
// container ioctls on the iommufd and /dev/vfio/vfio, the group files,
// steps run in a forked child, dup and close of the iommufd, data pages freed
// (PROT_NONE), reallocated or made read-only, the data pages in
// the o= digest.
// Both versions undo what a RAW call writes back into gen's writable memory:
// it may be an fd number, and those differ (Linux's client inherits fd 3, the
// emulator's does not), so a later RAW call that read it as an id differed
// (mock v1 seed 65 step 3669, seed 604 step 4622: a FAULT_QUEUE_ALLOC's fd
// read as HWPT_ALLOC's pt_id).
// Runs on every oracle machine (plain: mock; --vfio: qemu-vtd, with
// --snoop-control qemu-vtd-sc, --scalable qemu-vtd-sm[-sc]; --igb:
// qemu-vtd-igb, whose igb is a third device, vfio2; --amd: amd-vi; --arm:
// qemu-smmuv3, gen cross-built for arm64).
// platform: mock
#include "step.h"
#include "iofd.h"

#include <fcntl.h>
#include <stddef.h>
#include <sys/wait.h>

enum {
	PG = 4096,
	DATA = 0, NDATA = 64,          /* rw data pages */
	RO = 64, NRO = 8,              /* read-only pages */
	HOLE = 72, NHOLE = 8,          /* unmapped */
	NPOOL = 80,                    /* then the guard: PROT_NONE */
	/* gen's own pages, below the pool (pages from bk): no range from a
	 * picked pointer runs downwards, nor from the out area into them */
	ARG = 0,                       /* rw argument page */
	ARG_HOLE = 1,                  /* unmapped, after ARG */
	ARG_RO = 2,                    /* read-only argument page */
	OUT = 4, NOUT = 8,             /* rw out area, after a guard page */
	NBK = 12,                      /* then a guard page, then the pool */
};

static unsigned char *pool;
static unsigned char *bk;       /* gen's own pages: NBK pages below the pool */
#define ARGP (bk + ARG * PG)
#define ARG_HOLEP (bk + ARG_HOLE * PG)
#define ARG_ROP (bk + ARG_RO * PG)
#define OUTP (bk + OUT * PG)
static int ifd = -1;
static int ver = 1;            /* generator version: which step kinds exist */
static unsigned char shadow[NDATA * PG];   /* v2: the data pages as gen last left them */
static unsigned char dfree[NDATA];         /* v2: data pages freed (1: PROT_NONE) or read-only (2) */

/* ---- randomness: one stream per step ---- */
static uint64_t rs;

static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

static int chance(unsigned pct)
{
	return below(100) < pct;
}

/* ---- objects seen ---- */
#define MAXIDS 64
static __u32 ids[MAXIDS];
static int nids;
static __u64 iovas[MAXIDS];
static int niovas;
static int afds[16];
static int nafds;
static int nvfd;               /* VFIO device cdevs on this machine (0-3) */
static const char *const vname[] = { "vfio0", "vfio1", "vfio2" };
static const char *const gname[] = { "group1", "group2", "group3" };

static void id_seen(__u32 id)
{
	int i;

	if (!id)
		return;
	for (i = 0; i < nids; i++)
		if (ids[i] == id)
			return;
	if (nids < MAXIDS)
		ids[nids++] = id;
	else
		ids[below(MAXIDS)] = id;
}

static void iova_seen(__u64 iova)
{
	if (niovas < MAXIDS)
		iovas[niovas++] = iova;
	else
		iovas[below(MAXIDS)] = iova;
}

static __u32 pick_id(void)
{
	switch (below(10)) {
	case 0: return 0;
	case 1: return 1 + below(24);
	case 2: return 0xffffffffu;
	default: return nids ? ids[below(nids)] : 1 + below(8);
	}
}

static int pick_afd(void)
{
	if (nafds && !chance(10))
		return afds[below(nafds)];
	/* never a raw number: fd numbers differ where the shim holds fds */
	return chance(50) ? ifd : chance(50) ? 1 : 999;
}

/* ---- pointers, described by class ---- */
static char pdesc[8][160];
static int npdesc;

static const char *desc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *desc(const char *fmt, ...)
{
	char *b = pdesc[npdesc++ & 7];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(pdesc[0]), fmt, ap);
	va_end(ap);
	return b;
}

/*
 * A user pointer for memory the call reads, writes or pins; *d describes it.
 * `range`: the start of what a mapping (IOAS_MAP, MAP_DMA) makes reachable by
 * IOVA: never the out area (an access would then copy between it and itself),
 * a data page there instead.
 */
static __u64 pick_ptr(const char **d, int range)
{
	unsigned pg, off = chance(80) ? 0 : below(PG);

	switch (below(12)) {
	case 0:
		*d = "null";
		return 0;
	case 1:
		pg = RO + below(NRO);
		*d = desc("ro%u+%u", pg - RO, off);
		return (__u64)(uintptr_t)(pool + pg * PG + off);
	case 2:
		pg = HOLE + below(NHOLE);
		*d = desc("hole%u", pg - HOLE);
		return (__u64)(uintptr_t)(pool + pg * PG);
	case 3:
		*d = "data63|ro";
		return (__u64)(uintptr_t)(pool + (RO - 1) * PG);
	case 4:
		*d = "ro7|hole";
		return (__u64)(uintptr_t)(pool + (HOLE - 1) * PG);
	case 5:
		pg = below(NOUT);
		if (range) {
			*d = desc("data%u+0", NDATA - NOUT + pg);
			return (__u64)(uintptr_t)(pool + (DATA + NDATA - NOUT + pg) * PG);
		}
		*d = desc("out%u", pg);
		return (__u64)(uintptr_t)(OUTP + pg * PG);
	default:
		pg = DATA + below(NDATA);
		*d = desc("data%u+%u", pg, off);
		return (__u64)(uintptr_t)(pool + pg * PG + off);
	}
}

static __u64 pick_uptr(const char **d)
{
	return pick_ptr(d, 0);
}

static __u64 pick_range(const char **d)
{
	return pick_ptr(d, 1);
}

static __u64 pick_len(void)
{
	switch (below(12)) {
	case 0: return 0;
	case 1: return 1 + below(2 * PG);
	case 2: return ~0ULL;
	case 3: return 1ULL << (20 + below(24));
	case 4: return (__u64)PG * (1 + below(4)) + below(2) * 17;
	default: return (__u64)PG * (1 + below(16));
	}
}

static __u64 pick_iova(void)
{
	switch (below(12)) {
	case 0: return 0;
	case 1: return ~0ULL - below(2) * 0xfff;
	case 2: return (__u64)below(1 << 20) * PG + below(2) * 0x10;
	case 3: return 1ULL << (12 + below(52));
	case 4: case 5: case 6:
		if (niovas)
			return iovas[below(niovas)] + (chance(70) ? 0 : (__u64)PG * below(8));
		/* fall through */
	default: return (__u64)(1 + below(4096)) * PG;
	}
}

static __u32 pick_flags(__u32 valid)
{
	if (chance(8))
		return (__u32)rnd();
	if (chance(10))
		return valid | (1u << below(32));
	return valid & (__u32)rnd();
}

/* ---- the argument struct: where it lives ---- */
static unsigned char *arg;     /* where this step's struct is */
static unsigned char before[512];
static unsigned char argpage[PG];  /* the argument page before the call */
static unsigned argsz;         /* bytes of the struct the call may touch */
static const char *where;

/* Place a struct of `size` bytes (at most 256): normally at the start of the
 * argument page, sometimes running into the hole after it, or read-only. */
static void *place(unsigned size)
{
	unsigned k;

	argsz = size + 64;
	where = "";
	switch (below(20)) {
	case 0:
		k = 1 + below(size);
		arg = ARG_HOLEP - (size - k);
		argsz = size - k;
		where = desc(" @%u|hole", size - k);
		memset(arg, 0, size - k);
		return NULL;   /* filled by a caller into a local copy, see commit() */
	case 1:
		arg = ARG_ROP;
		where = " @ro";
		argsz = size;
		return NULL;
	default:
		arg = ARGP + 64;
		memset(arg, 0, argsz);
		return arg;
	}
}

/* Build the struct in `tmp`, then put it where place() decided. */
static unsigned char tmp[512];

static void *prep(unsigned size)
{
	memset(tmp, 0, sizeof(tmp));
	memcpy(tmp, &size, 4);
	(void)place(size);
	/* garbage past the struct, or a short/long size */
	if (chance(5)) {
		__u32 s = chance(50) ? below(size + 1) : size + 8 * (1 + below(8));

		memcpy(tmp, &s, 4);
		if (chance(50))
			tmp[size + below(40)] = 1 + below(255);
	}
	return tmp;
}

/* Copy the built struct to its place (through mprotect for the ro page). */
static void commit(void)
{
	if (arg == ARG_ROP) {
		mprotect(arg, PG, PROT_READ | PROT_WRITE);
		memcpy(arg, tmp, argsz + 64 > PG ? PG : argsz + 64);
		mprotect(arg, PG, PROT_READ);
		argsz += 64;
	} else {
		memcpy(arg, tmp, argsz);
	}
	memcpy(before, arg, argsz);
	memcpy(argpage, ARGP, PG);
	memset(OUTP, 0xa5, NOUT * PG);
}

/* ---- result line ---- */
static void show(unsigned step_no, const char *op, const char *args, int rc)
{
	unsigned i, n = 0;
	uint64_t h = 1469598103934665603ULL;
	int changed = 0;

	printf("%u %s %s%s: %s", step_no, op, args, where, rc_str(rc));
	for (i = 0; i < argsz; i++) {
		if (arg[i] == before[i])
			continue;
		if (!n++)
			printf(" w=");
		if (n <= 48)
			printf("%s%u:%02x", n > 1 ? "," : "", i, arg[i]);
	}
	if (n > 48)
		printf(",+%u", n - 48);
	for (i = 0; i < NOUT * PG; i++) {
		if (OUTP[i] == 0xa5)
			continue;
		changed++;
		h = (h ^ i) * 1099511628211ULL;
		h = (h ^ OUTP[i]) * 1099511628211ULL;
	}
	/* the rest of the argument page (buffers that run into its hole) */
	for (i = 0; i < PG; i++) {
		unsigned char *q = ARGP + i;

		if (q >= arg && q < arg + argsz)
			continue;
		if (*q == argpage[i])
			continue;
		changed++;
		h = (h ^ (i + NOUT * PG)) * 1099511628211ULL;
		h = (h ^ *q) * 1099511628211ULL;
	}
	/* v2: data pages written (through pins, by DMA or a bad pointer) */
	for (i = 0; ver >= 2 && i < NDATA * PG; i++) {
		if (dfree[i / PG] == 1) {
			i += PG - 1;
			continue;
		}
		if (pool[DATA * PG + i] == shadow[i])
			continue;
		changed++;
		h = (h ^ (i + (NOUT + 1) * PG)) * 1099511628211ULL;
		h = (h ^ pool[DATA * PG + i]) * 1099511628211ULL;
		shadow[i] = pool[DATA * PG + i];
	}
	if (changed)
		printf(" o=%d/%016llx", changed, (unsigned long long)h);
	putchar('\n');
	fflush(stdout);
}

static __u32 get32(unsigned off)
{
	__u32 v = 0;

	if (off + 4 <= argsz)
		memcpy(&v, arg + off, 4);
	return v;
}

static __u64 get64(unsigned off)
{
	__u64 v = 0;

	if (off + 8 <= argsz)
		memcpy(&v, arg + off, 8);
	return v;
}

#define SET(type, field, val) do { type *s_ = (void *)tmp; s_->field = (val); } while (0)
#define OFF(type, field) ((unsigned)offsetof(type, field))

static int call(unsigned long nr)
{
	commit();
	return xioctl(ifd, nr, arg);
}

/* ---- steps ---- */
static void s_ioas_alloc(unsigned n)
{
	int rc;

	prep(sizeof(struct iommu_ioas_alloc));
	SET(struct iommu_ioas_alloc, flags, chance(90) ? 0 : pick_flags(0));
	rc = call(IOMMU_IOAS_ALLOC);
	if (!rc)
		id_seen(get32(OFF(struct iommu_ioas_alloc, out_ioas_id)));
	show(n, "IOAS_ALLOC", "", rc);
}

static void s_destroy(unsigned n)
{
	__u32 id = pick_id();

	prep(sizeof(struct iommu_destroy));
	SET(struct iommu_destroy, id, id);
	show(n, "DESTROY", desc("id=%u", id), call(IOMMU_DESTROY));
}

static void s_map(unsigned n)
{
	const char *d;
	__u64 va = pick_range(&d), len = pick_len(), iova = pick_iova();
	__u32 flags = pick_flags(MAP_FIXED_RW), ioas = pick_id();
	int rc;

	prep(sizeof(struct iommu_ioas_map));
	SET(struct iommu_ioas_map, flags, flags);
	SET(struct iommu_ioas_map, ioas_id, ioas);
	SET(struct iommu_ioas_map, user_va, va);
	SET(struct iommu_ioas_map, length, len);
	SET(struct iommu_ioas_map, iova, iova);
	rc = call(IOMMU_IOAS_MAP);
	if (!rc)
		iova_seen(get64(OFF(struct iommu_ioas_map, iova)));
	show(n, "IOAS_MAP", desc("ioas=%u f=%#x va=%s len=%#llx iova=%#llx", ioas, flags, d,
				 (unsigned long long)len, (unsigned long long)iova), rc);
}

static void s_map_file(unsigned n)
{
	static int mfd = -1;
	__u64 start = chance(80) ? (__u64)PG * below(16) : below(3 * PG), len = pick_len(), iova = pick_iova();
	__u32 flags = pick_flags(MAP_FIXED_RW), ioas = pick_id();
	int fd, rc;

	if (mfd < 0) {
		mfd = memfd_create("gen", 0);
		if (ftruncate(mfd, 32 * PG))
			exit(2);
	}
	fd = chance(85) ? mfd : chance(50) ? ifd : -1;
	prep(sizeof(struct iommu_ioas_map_file));
	SET(struct iommu_ioas_map_file, flags, flags);
	SET(struct iommu_ioas_map_file, ioas_id, ioas);
	SET(struct iommu_ioas_map_file, fd, fd);
	SET(struct iommu_ioas_map_file, start, start);
	SET(struct iommu_ioas_map_file, length, len);
	SET(struct iommu_ioas_map_file, iova, iova);
	rc = call(IOMMU_IOAS_MAP_FILE);
	if (!rc)
		iova_seen(get64(OFF(struct iommu_ioas_map_file, iova)));
	show(n, "IOAS_MAP_FILE", desc("ioas=%u f=%#x fd=%s start=%#llx len=%#llx iova=%#llx", ioas, flags,
				      fd == mfd ? "memfd" : fd == ifd ? "iommufd" : "-1",
				      (unsigned long long)start, (unsigned long long)len,
				      (unsigned long long)iova), rc);
}

static void s_unmap(unsigned n)
{
	__u64 iova = pick_iova(), len = pick_len();
	__u32 ioas = pick_id();

	if (chance(8)) {
		iova = 0;
		len = ~0ULL;
	}
	prep(sizeof(struct iommu_ioas_unmap));
	SET(struct iommu_ioas_unmap, ioas_id, ioas);
	SET(struct iommu_ioas_unmap, iova, iova);
	SET(struct iommu_ioas_unmap, length, len);
	show(n, "IOAS_UNMAP", desc("ioas=%u iova=%#llx len=%#llx", ioas, (unsigned long long)iova,
				   (unsigned long long)len), call(IOMMU_IOAS_UNMAP));
}

static void s_copy(unsigned n)
{
	__u32 dst = pick_id(), src = pick_id(), flags = pick_flags(MAP_FIXED_RW);
	__u64 len = pick_len(), di = pick_iova(), si = pick_iova();
	int rc;

	prep(sizeof(struct iommu_ioas_copy));
	SET(struct iommu_ioas_copy, flags, flags);
	SET(struct iommu_ioas_copy, dst_ioas_id, dst);
	SET(struct iommu_ioas_copy, src_ioas_id, src);
	SET(struct iommu_ioas_copy, length, len);
	SET(struct iommu_ioas_copy, dst_iova, di);
	SET(struct iommu_ioas_copy, src_iova, si);
	rc = call(IOMMU_IOAS_COPY);
	if (!rc)
		iova_seen(get64(OFF(struct iommu_ioas_copy, dst_iova)));
	show(n, "IOAS_COPY", desc("dst=%u src=%u f=%#x len=%#llx di=%#llx si=%#llx", dst, src, flags,
				  (unsigned long long)len, (unsigned long long)di, (unsigned long long)si), rc);
}

/* An array of iova ranges in the out area (or a bad pointer). */
static __u64 ranges_ptr(unsigned num, const char **d)
{
	struct iommu_iova_range *r = (void *)(OUTP);
	unsigned i;

	if (chance(15))
		return pick_uptr(d);
	*d = "out";
	for (i = 0; i < num && i < 64; i++) {
		__u64 a = pick_iova() & ~0xfffULL, b = a + pick_len();

		r[i].start = chance(80) ? a : pick_iova();
		r[i].last = chance(80) ? b - 1 : pick_iova();
	}
	return (__u64)(uintptr_t)r;
}

static void s_ranges(unsigned n)
{
	__u32 ioas = pick_id(), num = chance(20) ? 0 : below(6);
	const char *d = "out";
	__u64 p = chance(15) ? pick_uptr(&d) : (__u64)(uintptr_t)(OUTP);

	prep(sizeof(struct iommu_ioas_iova_ranges));
	SET(struct iommu_ioas_iova_ranges, ioas_id, ioas);
	SET(struct iommu_ioas_iova_ranges, num_iovas, num);
	SET(struct iommu_ioas_iova_ranges, allowed_iovas, p);
	if (chance(3))
		SET(struct iommu_ioas_iova_ranges, __reserved, 1);
	/* the out area is 0xa5-filled by commit(): the ranges written show in o= */
	show(n, "IOVA_RANGES", desc("ioas=%u num=%u p=%s", ioas, num, d), call(IOMMU_IOAS_IOVA_RANGES));
}

static void s_allow(unsigned n)
{
	__u32 ioas = pick_id(), num = below(4);
	const char *d;
	__u64 p;

	prep(sizeof(struct iommu_ioas_allow_iovas));
	p = ranges_ptr(num, &d);
	/* commit() refills the out area: keep the ranges in a copy */
	{
		unsigned char keep[64 * 16];

		memcpy(keep, OUTP, sizeof(keep));
		SET(struct iommu_ioas_allow_iovas, ioas_id, ioas);
		SET(struct iommu_ioas_allow_iovas, num_iovas, num);
		SET(struct iommu_ioas_allow_iovas, allowed_iovas, p);
		commit();
		memcpy(OUTP, keep, sizeof(keep));
	}
	{
		int rc = xioctl(ifd, IOMMU_IOAS_ALLOW_IOVAS, arg);

		memset(OUTP, 0xa5, 64 * 16);
		show(n, "ALLOW_IOVAS", desc("ioas=%u num=%u p=%s", ioas, num, d), rc);
	}
}

static void s_option(unsigned n)
{
	__u32 opt = chance(90) ? below(2) : below(8), obj = chance(50) ? 0 : pick_id();
	__u16 op = chance(90) ? below(2) : below(4);
	__u64 val = chance(80) ? below(2) : rnd();

	prep(sizeof(struct iommu_option));
	SET(struct iommu_option, option_id, opt);
	SET(struct iommu_option, op, op);
	SET(struct iommu_option, object_id, obj);
	SET(struct iommu_option, val64, val);
	show(n, "OPTION", desc("opt=%u op=%u obj=%u val=%#llx", opt, op, obj, (unsigned long long)val),
	     call(IOMMU_OPTION));
}

static void s_vfio_ioas(unsigned n)
{
	__u32 ioas = pick_id();
	__u16 op = chance(90) ? below(3) : below(8);

	prep(sizeof(struct iommu_vfio_ioas));
	SET(struct iommu_vfio_ioas, ioas_id, ioas);
	SET(struct iommu_vfio_ioas, op, op);
	show(n, "VFIO_IOAS", desc("ioas=%u op=%u", ioas, op), call(IOMMU_VFIO_IOAS));
}

static void s_hwpt_alloc(unsigned n)
{
	__u32 dev = pick_id(), pt = pick_id(), flags = pick_flags(0xf), type = chance(80) ? 0 : below(5);
	__u32 dlen = type ? 8 * below(5) : 0;
	struct iommu_hwpt_selftest *sd = (void *)(pool + DATA * PG + 64 * PG - 64);
	const char *d = "-";
	__u64 p = 0;
	int rc;

	prep(sizeof(struct iommu_hwpt_alloc));
	if (type) {
		if (chance(80)) {
			p = (__u64)(uintptr_t)(OUTP + PG);
			d = "out1";
		} else {
			p = pick_uptr(&d);
		}
	}
	SET(struct iommu_hwpt_alloc, flags, flags);
	SET(struct iommu_hwpt_alloc, dev_id, dev);
	SET(struct iommu_hwpt_alloc, pt_id, pt);
	SET(struct iommu_hwpt_alloc, data_type, type);
	SET(struct iommu_hwpt_alloc, data_len, dlen);
	SET(struct iommu_hwpt_alloc, data_uptr, p);
	(void)sd;
	rc = call(IOMMU_HWPT_ALLOC);
	if (!rc)
		id_seen(get32(OFF(struct iommu_hwpt_alloc, out_hwpt_id)));
	show(n, "HWPT_ALLOC", desc("dev=%u pt=%u f=%#x type=%u len=%u p=%s", dev, pt, flags, type, dlen, d), rc);
}

static void s_hw_info(unsigned n)
{
	__u32 dev = pick_id(), len = chance(70) ? 8 * below(6) : below(64), flags = chance(90) ? 0 : pick_flags(1);
	const char *d = "out";
	__u64 p = (__u64)(uintptr_t)(OUTP);

	if (chance(15)) {
		p = pick_uptr(&d);
	} else if (chance(10)) {
		/* runs into the hole after the argument page */
		p = (__u64)(uintptr_t)(ARG_HOLEP - 8 * (1 + below(3)));
		d = "arg|hole";
	}
	prep(sizeof(struct iommu_hw_info));
	SET(struct iommu_hw_info, flags, flags);
	SET(struct iommu_hw_info, dev_id, dev);
	SET(struct iommu_hw_info, data_len, len);
	SET(struct iommu_hw_info, data_uptr, p);
	show(n, "GET_HW_INFO", desc("dev=%u len=%u f=%#x p=%s", dev, len, flags, d), call(IOMMU_GET_HW_INFO));
}

static void s_dirty(unsigned n)
{
	__u32 hwpt = pick_id();

	if (chance(50)) {
		__u32 flags = pick_flags(1);

		prep(sizeof(struct iommu_hwpt_set_dirty_tracking));
		SET(struct iommu_hwpt_set_dirty_tracking, flags, flags);
		SET(struct iommu_hwpt_set_dirty_tracking, hwpt_id, hwpt);
		show(n, "SET_DIRTY", desc("hwpt=%u f=%#x", hwpt, flags), call(IOMMU_HWPT_SET_DIRTY_TRACKING));
	} else {
		__u64 iova = pick_iova(), len = pick_len(), psz = chance(80) ? PG : 1ULL << below(22);
		__u32 flags = pick_flags(1);

		prep(sizeof(struct iommu_hwpt_get_dirty_bitmap));
		SET(struct iommu_hwpt_get_dirty_bitmap, hwpt_id, hwpt);
		SET(struct iommu_hwpt_get_dirty_bitmap, flags, flags);
		SET(struct iommu_hwpt_get_dirty_bitmap, iova, iova);
		SET(struct iommu_hwpt_get_dirty_bitmap, length, len);
		SET(struct iommu_hwpt_get_dirty_bitmap, page_size, psz);
		SET(struct iommu_hwpt_get_dirty_bitmap, data, (__u64)(uintptr_t)(OUTP));
		show(n, "GET_DIRTY", desc("hwpt=%u f=%#x iova=%#llx len=%#llx psz=%#llx", hwpt, flags,
					  (unsigned long long)iova, (unsigned long long)len,
					  (unsigned long long)psz), call(IOMMU_HWPT_GET_DIRTY_BITMAP));
	}
}

/* IOMMU_TEST_CMD: the mock driver's ops. */
static void s_test(unsigned n)
{
	static const __u32 ops[] = {
		IOMMU_TEST_OP_ADD_RESERVED, IOMMU_TEST_OP_MOCK_DOMAIN, IOMMU_TEST_OP_MOCK_DOMAIN,
		IOMMU_TEST_OP_MOCK_DOMAIN, IOMMU_TEST_OP_MD_CHECK_MAP, IOMMU_TEST_OP_MD_CHECK_REFS,
		IOMMU_TEST_OP_CREATE_ACCESS, IOMMU_TEST_OP_CREATE_ACCESS, IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		IOMMU_TEST_OP_ACCESS_PAGES, IOMMU_TEST_OP_ACCESS_PAGES, IOMMU_TEST_OP_ACCESS_RW,
		IOMMU_TEST_OP_ACCESS_RW, IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
	};
	__u32 op = chance(97) ? ops[below(sizeof(ops) / sizeof(ops[0]))] : below(30);

	/* With real devices, no mock domains: Linux 7.2 oopses when a real
	 * device is attached to one (test/fuzz/mock_hwpt_real_dev.c); and no
	 * ops that read a real device as a mock one (DEV_CHECK_CACHE compares
	 * kernel memory past it, TRIGGER_VEVENT takes a lock there:
	 * test/fuzz/check_cache_real_dev.c). */
	if (nvfd && (op == IOMMU_TEST_OP_MOCK_DOMAIN || op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS ||
		     op == IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE || op == IOMMU_TEST_OP_DEV_CHECK_CACHE ||
		     op == IOMMU_TEST_OP_TRIGGER_VEVENT))
		op = IOMMU_TEST_OP_CREATE_ACCESS;
	__u32 id = pick_id();
	struct iommu_test_cmd *c;
	const char *d = "-";
	char a[160];
	int rc, fdsel = 0;

	c = prep(sizeof(struct iommu_test_cmd));
	c->op = op;
	switch (op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		c->add_reserved.start = pick_iova();
		c->add_reserved.length = pick_len();
		snprintf(a, sizeof(a), "ADD_RESERVED ioas=%u start=%#llx len=%#llx", id,
			 (unsigned long long)c->add_reserved.start, (unsigned long long)c->add_reserved.length);
		break;
	case IOMMU_TEST_OP_MOCK_DOMAIN:
		snprintf(a, sizeof(a), "MOCK_DOMAIN pt=%u", id);
		break;
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		c->mock_domain_flags.dev_flags = pick_flags(0x7);
		snprintf(a, sizeof(a), "MOCK_DOMAIN_FLAGS pt=%u df=%#x", id, c->mock_domain_flags.dev_flags);
		break;
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		c->mock_domain_replace.pt_id = pick_id();
		snprintf(a, sizeof(a), "MOCK_DOMAIN_REPLACE stdev=%u pt=%u", id, c->mock_domain_replace.pt_id);
		break;
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		c->check_map.iova = pick_iova();
		c->check_map.length = pick_len();
		c->check_map.uptr = pick_uptr(&d);
		snprintf(a, sizeof(a), "MD_CHECK_MAP hwpt=%u iova=%#llx len=%#llx p=%s", id,
			 (unsigned long long)c->check_map.iova, (unsigned long long)c->check_map.length, d);
		break;
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		c->check_refs.length = pick_len();
		c->check_refs.uptr = pick_uptr(&d);
		c->check_refs.refs = below(3);
		snprintf(a, sizeof(a), "MD_CHECK_REFS len=%#llx p=%s refs=%u",
			 (unsigned long long)c->check_refs.length, d, c->check_refs.refs);
		break;
	case IOMMU_TEST_OP_CREATE_ACCESS:
		c->create_access.flags = chance(80) ? below(2) : pick_flags(1);
		snprintf(a, sizeof(a), "CREATE_ACCESS ioas=%u f=%#x", id, c->create_access.flags);
		break;
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		fdsel = 1;
		c->destroy_access_pages.access_pages_id = below(4);
		snprintf(a, sizeof(a), "DESTROY_ACCESS_PAGES item=%u", c->destroy_access_pages.access_pages_id);
		break;
	case IOMMU_TEST_OP_ACCESS_PAGES:
		fdsel = 1;
		c->access_pages.flags = chance(80) ? below(2) : pick_flags(1);
		c->access_pages.iova = pick_iova();
		c->access_pages.length = pick_len();
		c->access_pages.uptr = pick_uptr(&d);
		snprintf(a, sizeof(a), "ACCESS_PAGES f=%#x iova=%#llx len=%#llx p=%s", c->access_pages.flags,
			 (unsigned long long)c->access_pages.iova, (unsigned long long)c->access_pages.length, d);
		break;
	case IOMMU_TEST_OP_ACCESS_RW:
		fdsel = 1;
		c->access_rw.flags = chance(80) ? below(4) : pick_flags(3);
		c->access_rw.iova = pick_iova();
		c->access_rw.length = chance(80) ? 1 + below(3 * PG) : pick_len();
		if (chance(80)) {
			c->access_rw.uptr = (__u64)(uintptr_t)(OUTP + below(64));
			d = "out";
		} else {
			c->access_rw.uptr = pick_uptr(&d);
		}
		snprintf(a, sizeof(a), "ACCESS_RW f=%#x iova=%#llx len=%#llx p=%s", c->access_rw.flags,
			 (unsigned long long)c->access_rw.iova, (unsigned long long)c->access_rw.length, d);
		break;
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		fdsel = 1;
		c->access_replace_ioas.ioas_id = pick_id();
		snprintf(a, sizeof(a), "ACCESS_REPLACE_IOAS ioas=%u", c->access_replace_ioas.ioas_id);
		break;
	default:
		snprintf(a, sizeof(a), "op%u id=%u", op, id);
		break;
	}
	if (fdsel) {
		int afd = pick_afd();

		c->id = (__u32)afd;
		snprintf(a + strlen(a), sizeof(a) - strlen(a), " fd=%s",
			 afd == ifd ? "iommufd" : afd == 1 ? "stdout" : afd == 999 ? "999" : "access");
	} else {
		c->id = id;
	}
	rc = call(IOMMU_TEST_CMD);
	if (!rc) {
		struct iommu_test_cmd *o = (void *)arg;

		switch (op) {
		case IOMMU_TEST_OP_MOCK_DOMAIN:
		case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
			id_seen(o->mock_domain.out_stdev_id);
			id_seen(o->mock_domain.out_hwpt_id);
			id_seen(o->mock_domain.out_idev_id);
			break;
		case IOMMU_TEST_OP_CREATE_ACCESS:
			if (nafds < 16)
				afds[nafds++] = (int)o->create_access.out_access_fd;
			/* the fd number is the only address-like output: hide it */
			break;
		default:
			break;
		}
	}
	if (!rc && op == IOMMU_TEST_OP_CREATE_ACCESS) {
		/* the fd number may differ (the shim's own fds); blank it */
		memcpy(arg + OFF(struct iommu_test_cmd, create_access.out_access_fd), before + OFF(struct iommu_test_cmd, create_access.out_access_fd), 4);
	}
	show(n, "TEST", a, rc);
}

/* How many of the 256 bytes at p gen can write: those in writable data or
 * out pages, up to the first page that is not. */
static size_t raw_writable(__u64 p)
{
	unsigned char *q = (unsigned char *)(uintptr_t)p, *end;

	if (q >= pool && q < pool + NDATA * PG) {
		size_t pg = (size_t)(q - pool) / PG;

		end = pool + pg * PG;
		while (pg < NDATA && !dfree[pg] && end < q + 256) {
			end += PG;
			pg++;
		}
	} else if (q >= OUTP && q < OUTP + NOUT * PG) {
		end = OUTP + NOUT * PG;
	} else {
		return 0;
	}
	return end > q + 256 ? 256 : end > q ? (size_t)(end - q) : 0;
}

/* A bad request or a bad pointer for the struct itself. */
static void s_garbage(unsigned n)
{
	unsigned long nr = _IO(IOMMUFD_TYPE, 0x7c + below(0x20));
	const char *d;
	size_t k;
	__u64 p;
	int rc;

	p = pick_uptr(&d);
	argsz = 0;
	arg = ARGP;
	where = "";
	k = raw_writable(p);
	if (k) {
		/* what a RAW call writes back may be an fd number (FAULT_QUEUE_ALLOC,
		 * VEVENTQ_ALLOC), and fd numbers differ between Linux and the
		 * emulator (the shim holds fds): undone, so no later step reads it
		 * (only the writable part: the next page may be freed or read-only) */
		unsigned char keep[256];

		memcpy(keep, (void *)(uintptr_t)p, k);
		rc = xioctl(ifd, nr, (void *)(uintptr_t)p);
		memcpy((void *)(uintptr_t)p, keep, k);
	} else {
		rc = xioctl(ifd, nr, (void *)(uintptr_t)p);
	}
	printf("%u RAW nr=%#lx p=%s: %s\n", n, nr & 0xff, d, rc_str(rc));
	fflush(stdout);
}

static void reopen(unsigned n)
{
	int i;

	for (i = 0; i < nafds; i++)
		close(afds[i]);
	nafds = 0;
	close(ifd);
	ifd = open("/dev/iommu", O_RDWR);
	nids = 0;
	niovas = 0;
	printf("%u REOPEN: %s\n", n, ifd < 0 ? errno_name(errno) : "ok");
	fflush(stdout);
}

static void close_access(unsigned n)
{
	int i;

	if (!nafds)
		return;
	i = (int)below(nafds);
	close(afds[i]);
	afds[i] = afds[--nafds];
	printf("%u CLOSE_ACCESS: ok\n", n);
	fflush(stdout);
}

/* ---- VFIO device cdevs (the --vfio machine) ---- */
#define VFIO_IO(n) _IO(';', 100 + (n))
static int vfd[3] = { -1, -1, -1 };

static void vfio_open(unsigned n, int d)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", d);
	vfd[d] = open(path, O_RDWR);
	printf("%u OPEN vfio%d: %s\n", n, d, vfd[d] < 0 ? errno_name(errno) : "ok");
	fflush(stdout);
}

static void s_vfio(unsigned n)
{
	int d = (int)below(nvfd), fd = vfd[d], rc;
	unsigned op = below(20);
	char a[160];

	if (fd < 0) {
		vfio_open(n, d);
		return;
	}
	if (op == 0) {
		close(fd);
		vfd[d] = -1;
		printf("%u CLOSE vfio%d: ok\n", n, d);
		fflush(stdout);
		return;
	}
	if (op <= 4) {
		/* VFIO_DEVICE_BIND_IOMMUFD */
		int which = (int)below(10), ifdarg = which < 7 ? ifd : which == 7 ? -1 : which == 8 ? 999 : vfd[!d];
		__u32 flags = chance(90) ? 0 : pick_flags(0);
		__u32 *c = prep(24);

		c[1] = flags;
		c[2] = (__u32)ifdarg;
		commit();
		rc = xioctl(fd, VFIO_IO(18), arg);
		if (!rc)
			id_seen(get32(12));
		snprintf(a, sizeof(a), "vfio%d f=%#x iommufd=%s", d, flags,
			 which < 7 ? "ifd" : which == 7 ? "-1" : which == 8 ? "999" : "vfio");
		show(n, "BIND", a, rc);
	} else if (op <= 8) {
		/* VFIO_DEVICE_ATTACH_IOMMUFD_PT */
		__u32 flags = chance(85) ? 0 : pick_flags(1), pt = pick_id(), pasid = below(3);
		__u32 *c = prep(16);

		c[1] = flags;
		c[2] = pt;
		c[3] = pasid;
		rc = (commit(), xioctl(fd, VFIO_IO(19), arg));
		snprintf(a, sizeof(a), "vfio%d f=%#x pt=%u pasid=%u", d, flags, pt, pasid);
		show(n, "ATTACH", a, rc);
	} else if (op <= 10) {
		/* VFIO_DEVICE_DETACH_IOMMUFD_PT */
		__u32 flags = chance(85) ? 0 : pick_flags(1), pasid = below(3);
		__u32 *c = prep(12);

		c[1] = flags;
		c[2] = pasid;
		rc = (commit(), xioctl(fd, VFIO_IO(20), arg));
		snprintf(a, sizeof(a), "vfio%d f=%#x pasid=%u", d, flags, pasid);
		show(n, "DETACH", a, rc);
	} else if (op <= 12) {
		/* VFIO_DEVICE_GET_INFO, GET_REGION_INFO, GET_IRQ_INFO */
		unsigned which = below(3), idx = below(11), sz = which == 1 ? 32 : which == 0 ? 24 : 16;
		__u32 *c = prep(chance(20) ? 256 : sz);

		c[0] = chance(80) ? (chance(30) ? 256 : sz) : below(64);
		if (which)
			c[2] = idx;
		rc = (commit(), xioctl(fd, VFIO_IO(7 + which), arg));
		snprintf(a, sizeof(a), "vfio%d %s argsz=%u index=%u", d,
			 which == 0 ? "DEVICE" : which == 1 ? "REGION" : "IRQ", c[0], idx);
		show(n, "GET_INFO", a, rc);
	} else if (op <= 14) {
		/* VFIO_DEVICE_SET_IRQS without data (DATA_NONE / BOOL) */
		__u32 flags = chance(80) ? ((1u << below(2)) | (1u << (3 + below(3)))) : pick_flags(0x3f);
		__u32 idx = below(6), start = below(3), count = below(3);
		unsigned char *c = prep(24);

		memcpy(c + 4, &flags, 4);
		memcpy(c + 8, &idx, 4);
		memcpy(c + 12, &start, 4);
		memcpy(c + 16, &count, 4);
		c[20] = below(2);
		c[21] = below(2);
		if (chance(50))
			memcpy(c, &(__u32){ 20 + ((flags & 2) ? count : 0) }, 4);
		rc = (commit(), xioctl(fd, VFIO_IO(10), arg));
		snprintf(a, sizeof(a), "vfio%d f=%#x index=%u start=%u count=%u", d, flags, idx, start, count);
		show(n, "SET_IRQS", a, rc);
	} else if (op <= 15) {
		rc = xioctl(fd, VFIO_IO(11), NULL);
		arg = ARGP;
		argsz = 0;
		where = "";
		snprintf(a, sizeof(a), "vfio%d", d);
		show(n, "RESET", a, rc);
	} else {
		/* config space through pread */
		unsigned off = below(chance(80) ? 256 : 4200), len = 1 << below(3);
		unsigned char b[8] = { 0 };
		ssize_t r = pread(fd, b, len, (7LL << 40) + off);

		printf("%u CONFIG vfio%d off=%#x len=%u: %s", n, d, off, len,
		       r < 0 ? errno_name(errno) : "ok");
		if (r > 0) {
			unsigned i;

			printf(" n=%zd", r);
			for (i = 0; i < (unsigned)r; i++)
				printf(" %02x", b[i]);
		}
		putchar('\n');
		fflush(stdout);
	}
}

static void (*const steps[])(unsigned) = {
	s_ioas_alloc, s_ioas_alloc, s_destroy, s_map, s_map, s_map, s_map_file, s_unmap, s_unmap,
	s_copy, s_ranges, s_allow, s_option, s_vfio_ioas, s_hwpt_alloc, s_hw_info, s_dirty,
	s_test, s_test, s_test, s_test, s_garbage,
};

/* ---- version 2 ---- */

/* A call with no struct (a value, or none): nothing in the argument page is
 * its, and what earlier steps left there is the baseline. */
static void noarg(void)
{
	arg = ARGP;
	argsz = 0;
	where = "";
	memcpy(argpage, ARGP, PG);
	memset(OUTP, 0xa5, NOUT * PG);
}

static int cfd = -1;           /* /dev/vfio/vfio (the iommufd's container compat) */
static int gfd[3] = { -1, -1, -1 }; /* /dev/vfio/1, 2, 3 */

/* An fd of this process, by name (never its number). */
static int pick_fd(const char **name)
{
	int d;

	switch (below(8)) {
	case 0:
		if (nafds) {
			*name = "access";
			return afds[below(nafds)];
		}
		break;
	case 1:
		if (nvfd && vfd[d = (int)below(nvfd)] >= 0) {
			*name = vname[d];
			return vfd[d];
		}
		break;
	case 2:
		if (cfd >= 0) {
			*name = "container";
			return cfd;
		}
		break;
	case 3:
		if (nvfd && gfd[d = (int)below(nvfd)] >= 0) {
			*name = gname[d];
			return gfd[d];
		}
		break;
	default:
		break;
	}
	*name = "iommufd";
	return ifd;
}

/* An int argument, by class: in the argument page, or a bad pointer. */
static void *int_arg(int val, const char **d)
{
	const char *pd;
	__u64 p;

	arg = ARGP + 64;
	argsz = 8;
	where = "";
	memset(arg, 0, 8);
	memcpy(arg, &val, 4);
	memcpy(before, arg, argsz);
	memcpy(argpage, ARGP, PG);
	memset(OUTP, 0xa5, NOUT * PG);
	if (chance(85)) {
		*d = "arg";
		return arg;
	}
	p = pick_uptr(&pd);
	*d = pd;
	return (void *)(uintptr_t)p;
}

/* The fd's close-on-exec and status flags as the kernel keeps them. */
static void fd_state(char *b, size_t n, int fd)
{
	int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);

	snprintf(b, n, " cloexec=%d nonblock=%d async=%d", fdfl < 0 ? -1 : !!(fdfl & FD_CLOEXEC),
		 fl < 0 ? -1 : !!(fl & O_NONBLOCK), fl < 0 ? -1 : !!(fl & O_ASYNC));
}

/* FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC, FIOQSIZE: the VFS's own ioctls. */
static void s_fio(unsigned n)
{
	static const struct { unsigned long nr; const char *name; } reqs[] = {
		{ FIOCLEX, "FIOCLEX" }, { FIONCLEX, "FIONCLEX" }, { FIONBIO, "FIONBIO" },
		{ FIOASYNC, "FIOASYNC" }, { FIOQSIZE, "FIOQSIZE" },
	};
	unsigned r = below(5);
	const char *fdn, *d;
	int fd = pick_fd(&fdn), val = chance(80) ? (int)below(2) : (int)rnd();
	void *p = int_arg(val, &d);
	char st[96], a[160];
	int rc = xioctl(fd, reqs[r].nr, p);

	fd_state(st, sizeof(st), fd);
	snprintf(a, sizeof(a), "fd=%s v=%#x p=%s", fdn, (unsigned)val, d);
	/* the state after, then the usual line */
	where = st;
	show(n, reqs[r].name, a, rc);
}

/* The VFIO container ioctls: on the iommufd (compat), or /dev/vfio/vfio. */
static void s_container(unsigned n)
{
	const char *fdn = "iommufd", *d = "-";
	unsigned op = below(16);
	char a[200];
	int fd = ifd, rc;

	if (cfd < 0 && chance(30)) {
		cfd = open("/dev/vfio/vfio", O_RDWR);
		printf("%u OPEN container: %s\n", n, cfd < 0 ? errno_name(errno) : "ok");
		fflush(stdout);
		return;
	}
	if (cfd >= 0 && chance(40)) {
		fd = cfd;
		fdn = "container";
	}
	if (op == 0 && fd == cfd && chance(30)) {
		close(cfd);
		cfd = -1;
		printf("%u CLOSE container: ok\n", n);
		fflush(stdout);
		return;
	}
	if (op <= 2) {
		unsigned long v = op == 0 ? 0 : chance(90) ? below(12) : rnd();

		noarg();
		rc = xioctl_val(fd, op == 0 ? VFIO_GET_API_VERSION : VFIO_CHECK_EXTENSION, v);
		snprintf(a, sizeof(a), "%s fd=%s v=%#lx", op == 0 ? "API_VERSION" : "CHECK_EXTENSION", fdn, v);
		show(n, "CONTAINER", a, rc);
	} else if (op <= 4) {
		static const unsigned long t[] = { VFIO_TYPE1v2_IOMMU, VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU, 0, 2, 7, 8 };
		unsigned long v = chance(95) ? t[below(7)] : rnd();

		noarg();
		rc = xioctl_val(fd, VFIO_SET_IOMMU, v);
		snprintf(a, sizeof(a), "SET_IOMMU fd=%s v=%#lx", fdn, v);
		show(n, "CONTAINER", a, rc);
	} else if (op <= 6) {
		unsigned sz = chance(70) ? 256 : below(64);
		__u32 *c = prep(chance(50) ? 256 : 24);

		c[0] = sz;
		c[1] = chance(90) ? 0 : (__u32)rnd();
		rc = (commit(), xioctl(fd, VFIO_IOMMU_GET_INFO, arg));
		snprintf(a, sizeof(a), "GET_INFO fd=%s argsz=%u", fdn, sz);
		show(n, "CONTAINER", a, rc);
	} else if (op <= 10) {
		__u64 va = pick_range(&d), len = pick_len(), iova = pick_iova();
		__u32 flags = chance(80) ? 3 : pick_flags(7), asz = chance(90) ? 32 : below(48);
		struct vfio_iommu_type1_dma_map *m = prep(sizeof(*m));

		m->argsz = asz;
		m->flags = flags;
		m->vaddr = va;
		m->iova = iova;
		m->size = len;
		rc = (commit(), xioctl(fd, VFIO_IOMMU_MAP_DMA, arg));
		if (!rc)
			iova_seen(iova);
		snprintf(a, sizeof(a), "MAP_DMA fd=%s argsz=%u f=%#x va=%s iova=%#llx len=%#llx", fdn, asz, flags, d,
			 (unsigned long long)iova, (unsigned long long)len);
		show(n, "CONTAINER", a, rc);
	} else if (op <= 13) {
		__u64 iova = pick_iova(), len = pick_len();
		__u32 flags = chance(80) ? 0 : chance(50) ? VFIO_DMA_UNMAP_FLAG_ALL : pick_flags(7);
		__u32 asz = chance(90) ? 24 : below(48);
		struct vfio_iommu_type1_dma_unmap *u = prep(24);

		if (flags & VFIO_DMA_UNMAP_FLAG_ALL && chance(70))
			iova = len = 0;
		u->argsz = asz;
		u->flags = flags;
		u->iova = iova;
		u->size = len;
		rc = (commit(), xioctl(fd, VFIO_IOMMU_UNMAP_DMA, arg));
		snprintf(a, sizeof(a), "UNMAP_DMA fd=%s argsz=%u f=%#x iova=%#llx len=%#llx", fdn, asz, flags,
			 (unsigned long long)iova, (unsigned long long)len);
		show(n, "CONTAINER", a, rc);
	} else {
		static const unsigned long t[] = { VFIO_IOMMU_ENABLE, VFIO_IOMMU_DISABLE, VFIO_IOMMU_DIRTY_PAGES };
		unsigned k = below(3);

		noarg();
		rc = xioctl_val(fd, t[k], 0);
		snprintf(a, sizeof(a), "%s fd=%s", k == 0 ? "ENABLE" : k == 1 ? "DISABLE" : "DIRTY_PAGES", fdn);
		show(n, "CONTAINER", a, rc);
	}
}

/*
 * The devices' PCI names (GET_DEVICE_FD's argument): vfio0's and vfio1's from
 * sysfs (VT-d machine 0000:00:01.0 and 02.0, AMD machine 02.0 and 03.0, whose
 * 01.0 is the IOMMU), then one that names no VFIO device (03.0, or 01.0 where
 * 03.0 is one); on the igb machine the third is vfio2's (03.0).
 */
static char bdf[3][32] = { "0000:00:01.0", "0000:00:02.0", "0000:00:03.0" };

static void find_bdfs(void)
{
	char p[64], t[256];
	int d;

	for (d = 0; d < nvfd; d++) {
		ssize_t n;
		char *b;

		snprintf(p, sizeof(p), "/sys/class/vfio-dev/vfio%d/device", d);
		n = readlink(p, t, sizeof(t) - 1);
		if (n <= 0)
			continue;
		t[n] = 0;
		b = strrchr(t, '/');
		snprintf(bdf[d], sizeof(bdf[d]), "%.31s", b ? b + 1 : t);
	}
	if (!strcmp(bdf[0], bdf[2]) || !strcmp(bdf[1], bdf[2]))
		snprintf(bdf[2], sizeof(bdf[2]), "0000:00:01.0");
}

/* The group files (/dev/vfio/1, /dev/vfio/2) of the machines with VFIO devices. */
static void s_group(unsigned n)
{
	int g = (int)below(nvfd), rc;
	unsigned op = below(12);
	char a[160];

	if (gfd[g] < 0) {
		char path[32];

		snprintf(path, sizeof(path), "/dev/vfio/%d", g + 1);
		gfd[g] = open(path, O_RDWR);
		printf("%u OPEN group%d: %s\n", n, g + 1, gfd[g] < 0 ? errno_name(errno) : "ok");
		fflush(stdout);
		return;
	}
	if (op == 0) {
		close(gfd[g]);
		gfd[g] = -1;
		printf("%u CLOSE group%d: ok\n", n, g + 1);
		fflush(stdout);
		return;
	}
	if (op <= 3) {
		__u32 *c = prep(8);

		c[0] = chance(85) ? 8 : below(16);
		rc = (commit(), xioctl(gfd[g], VFIO_GROUP_GET_STATUS, arg));
		snprintf(a, sizeof(a), "GET_STATUS group%d argsz=%u", g + 1, c[0]);
	} else if (op <= 6) {
		const char *d;
		int w = (int)below(8), f = w < 4 ? cfd : w < 6 ? ifd : w == 6 ? -1 : vfd[0];
		void *p = int_arg(f, &d);

		/* an fd number read from memory names different files on the two
		 * sides (the shim holds fds): only a pointer that faults */
		if (strcmp(d, "arg") && strcmp(d, "null") && strncmp(d, "hole", 4)) {
			p = pool + HOLE * PG;
			d = "hole0";
		}

		rc = xioctl(gfd[g], VFIO_GROUP_SET_CONTAINER, p);
		snprintf(a, sizeof(a), "SET_CONTAINER group%d fd=%s p=%s", g + 1,
			 w < 4 ? (cfd < 0 ? "-1" : "container") : w < 6 ? "iommufd" : w == 6 ? "-1" : vfd[0] < 0 ? "-1" : "vfio0", d);
	} else if (op <= 7) {
		noarg();
		rc = xioctl(gfd[g], VFIO_GROUP_UNSET_CONTAINER, NULL);
		snprintf(a, sizeof(a), "UNSET_CONTAINER group%d", g + 1);
	} else {
		/* GET_DEVICE_FD: the fd it returns becomes the device's, if it has none */
		const char *names[] = { bdf[0], bdf[1], bdf[2], "vfio0", "" };
		unsigned k = below(5);
		int d = (int)k < nvfd && k < 3 ? (int)k : 0;

		argsz = 0;
		arg = ARGP + 64;
		where = "";
		strcpy((char *)arg, names[k]);
		memcpy(before, arg, 16);
		memcpy(argpage, ARGP, PG);
		memset(OUTP, 0xa5, NOUT * PG);
		rc = xioctl(gfd[g], VFIO_GROUP_GET_DEVICE_FD, arg);
		if (rc > 0) {
			if ((int)k < nvfd && k < 3 && vfd[d] < 0)
				vfd[d] = rc;
			else
				close(rc);
			rc = 0;
		}
		snprintf(a, sizeof(a), "GET_DEVICE_FD group%d name=%s", g + 1, names[k]);
	}
	show(n, "GROUP", a, rc);
}

/* One step of version 1 run in a forked child, which then exits. */
static void s_fork(unsigned n)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		printf("%u FORK child\n", n);
		if (nvfd && chance(30))
			s_vfio(n);
		else
			steps[below(sizeof(steps) / sizeof(steps[0]))](n);
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		printf("%u FORK: %s\n", n, errno_name(errno));
	} else {
		printf("%u FORK: %s %d\n", n, WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	fflush(stdout);
}

/* The iommufd (or a device file) moved to a new fd number; the old closed. */
static void s_dup(unsigned n)
{
	int *which = &ifd, d = 0, nfd;
	const char *name = "iommufd";

	if (nvfd && chance(30)) {
		d = (int)below(nvfd);
		if (vfd[d] >= 0) {
			which = &vfd[d];
			name = vname[d];
		}
	}
	nfd = chance(50) ? dup(*which) : fcntl(*which, F_DUPFD_CLOEXEC, 3);
	if (nfd >= 0) {
		close(*which);
		*which = nfd;
	}
	printf("%u DUP %s: %s\n", n, name, nfd < 0 ? errno_name(errno) : "ok");
	fflush(stdout);
}

/* Data pages freed (PROT_NONE over them), reallocated, or made read-only. */
static void s_free(unsigned n)
{
	unsigned k = below(NDATA), m = 1 + below(4), i, how = below(3);
	unsigned char *p;

	if (k + m > NDATA)
		m = NDATA - k;
	p = pool + (DATA + k) * PG;
	if (how == 0) {
		mmap(p, m * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		for (i = 0; i < m; i++)
			dfree[k + i] = 1;
	} else if (how == 1) {
		mmap(p, m * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		madvise(p, m * PG, MADV_NOHUGEPAGE);
		for (i = 0; i < m; i++) {
			dfree[k + i] = 0;
			p[i * PG] = (unsigned char)(0x80 | (n & 0x7f));
		}
		memcpy(shadow + k * PG, p, m * PG);
	} else {
		/* (the oracle's kernel has no madvise: no MADV_DONTNEED here) */
		for (i = 0; i < m; i++)
			if (!dfree[k + i]) {
				mprotect(p + i * PG, PG, PROT_READ);
				dfree[k + i] = 2;
			}
	}
	printf("%u %s data%u+%u: ok\n", n, how == 0 ? "FREE" : how == 1 ? "REALLOC" : "RDONLY", k, m);
	fflush(stdout);
}

/* Version 2's own kinds: r in [6, 100). */
static void v2_step(unsigned n, unsigned r)
{
	if (r < 10)
		s_fork(n);
	else if (r < 13)
		s_dup(n);
	else if (r < 20)
		s_free(n);
	else if (r < 45)
		s_fio(n);
	else if (nvfd && r < 60)
		s_group(n);
	else
		s_container(n);
}

/*
 * The pool, 2 MiB aligned, in the middle of 8 GiB reserved PROT_NONE: a
 * length that runs past the pool (up to 4 GiB) meets inaccessible memory on
 * both sides, never whatever else the process happens to have mapped there
 * (that differs between Linux's run and the emulator's, and between runs).
 * Holes are PROT_NONE inside it for the same reason: nothing can be mapped
 * into them later.
 * At a fixed address (POOL_AT; anywhere if that is taken), so the user
 * pointers gen writes into its structs are the same bytes on both sides and
 * in every run.
 * gen's own pages (the argument pages and the out area, bk) are below the
 * pool, in the guard, a PROT_NONE page between them and the pool: every
 * range gen makes runs upwards from a pointer it picked, and no mapping
 * starts in the out area (pick_range), so no access or DMA reaches them.
 * (amd-vi seed 212 step 1361: an access whose IOVAs mapped an out page and,
 * across a guard page, the argument page read its own call's struct, whose
 * fd numbers differ between Linux and the emulator.)
 */
#define POOL_AT 0x200000200000UL   /* 2 MiB aligned, not 4 MiB */

static unsigned char *pool_alloc(void)
{
	const size_t guard = 4UL << 30, span = 2 * guard + BUF_ALIGN + NPOOL * PG;
	unsigned char *raw, *p;
	size_t off;

	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	raw = mmap((void *)(POOL_AT - guard), span, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (raw != (void *)(POOL_AT - guard)) {
		if (raw != MAP_FAILED)
			munmap(raw, span);
		raw = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (raw == MAP_FAILED) {
		printf("pool: mmap failed (%s)\n", errno_name(errno));
		exit(1);
	}
	p = (unsigned char *)(((uintptr_t)raw + guard + BUF_ALIGN - 1) & ~(BUF_ALIGN - 1));
	bk = p - (NBK + 1) * PG;
	if (mmap(p, NPOOL * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p ||
	    mmap(bk, NBK * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != bk) {
		printf("pool: mmap fixed failed (%s)\n", errno_name(errno));
		exit(1);
	}
	madvise(p, NPOOL * PG, MADV_NOHUGEPAGE);
	madvise(bk, NBK * PG, MADV_NOHUGEPAGE);
	for (off = 0; off < NPOOL * PG; off += PG)
		p[off] = (unsigned char)((off >> 12) | 1);
	for (off = 0; off < NBK * PG; off += PG)
		bk[off] = (unsigned char)(0x80 | (off >> 12));
	memcpy(shadow, p + DATA * PG, sizeof(shadow));
	mprotect(bk + (OUT - 1) * PG, PG, PROT_NONE);
	return p;
}

/* One run: SEED STEPS [SKIP...], SKIP a step index or a range A-B. */
static int run(int argc, char **argv)
{
	unsigned long long seed;
	unsigned nsteps, i, k;
	char *skip;

	if (!strcmp(argv[0], "v2")) {
		ver = 2;
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "gen: a run needs SEED STEPS\n");
		return 64;
	}
	seed = strtoull(argv[0], NULL, 0);
	nsteps = (unsigned)strtoul(argv[1], NULL, 0);
	skip = calloc(nsteps + 1, 1);
	for (k = 2; k < (unsigned)argc; k++) {
		char *dash;
		unsigned long a = strtoul(argv[k], &dash, 0), b = a;

		if (*dash == '-')
			b = strtoul(dash + 1, NULL, 0);
		for (; a <= b && a < nsteps; a++)
			skip[a] = 1;
	}

	pool = pool_alloc();
	mprotect(pool + RO * PG, NRO * PG, PROT_READ);
	mprotect(pool + HOLE * PG, NHOLE * PG, PROT_NONE);
	mprotect(ARG_HOLEP, PG, PROT_NONE);
	mprotect(ARG_ROP, PG, PROT_READ);

	ifd = open("/dev/iommu", O_RDWR);
	if (ifd < 0) {
		printf("open /dev/iommu: %s\n", errno_name(errno));
		return 1;
	}
	printf("seed %llu steps %u%s\n", seed, nsteps, ver >= 2 ? " v2" : "");
	nvfd = access("/dev/vfio/devices/vfio0", F_OK) ? 0 : access("/dev/vfio/devices/vfio1", F_OK) ? 1 :
	       access("/dev/vfio/devices/vfio2", F_OK) ? 2 : 3;
	find_bdfs();
	for (i = 0; i < nsteps; i++) {
		unsigned r;

		if (skip[i])
			continue;
		rs = seed * 0x100000001b3ULL + i * 0x9e3779b97f4a7c15ULL;
		rnd();
		npdesc = 0;
		r = below(1000);
		if (r < 2)
			reopen(i);
		else if (r < 6)
			close_access(i);
		else if (ver >= 2 && r < 100)
			v2_step(i, r);
		else if (nvfd && r < 250)
			s_vfio(i);
		else
			steps[below(sizeof(steps) / sizeof(steps[0]))](i);
	}
	return 0;
}

/*
 * -z: stdout through "gzip -9" (the oracle's guest has busybox's). The
 * guest sends its output over an emulated serial port at some 20 KB/s, so a
 * 5,000-step run spent twice as long being sent as being run; the lines
 * compress about 5 times.
 */
static pid_t gzip_out(void)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execlp("gzip", "gzip", "-9", "-c", (char *)NULL);
		_exit(127);
	}
	dup2(p[1], 1);
	close(p[0]);
	close(p[1]);
	return pid;
}

/* gen [-z] SEED STEPS [SKIP...] [-- SEED STEPS [SKIP...]]...: each run in its
 * own child process (its own iommufd and memory), one after the other. */
int main(int argc, char **argv)
{
	int a = 1, b, st;
	pid_t z = -1;

	if (argc > 1 && !strcmp(argv[1], "-z")) {
		z = gzip_out();
		a = 2;
	}
	if (argc < a + 2) {
		fprintf(stderr, "usage: gen [-z] [v2] SEED STEPS [SKIP|A-B...] [-- [v2] SEED STEPS ...]\n");
		return 64;
	}
	while (a < argc) {
		pid_t pid;

		for (b = a; b < argc && strcmp(argv[b], "--"); b++)
			;
		if (b - a < 2) {
			fprintf(stderr, "gen: a run needs SEED STEPS\n");
			return 64;
		}
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			exit(run(b - a, argv + a));
		if (pid < 0 || waitpid(pid, &st, 0) < 0)
			return 1;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			printf("run ended: %s %d\n", WIFEXITED(st) ? "exit" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		a = b + 1;
	}
	if (z > 0) {
		fflush(stdout);
		close(1);
		waitpid(z, &st, 0);
	}
	return 0;
}
