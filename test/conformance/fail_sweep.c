// Fault injection sweep of every iommufd ioctl, one at a time: for each case
// a fresh iommufd gets a fixed setup (unarmed), then the one call runs with
// its Nth injection point failing (/proc/self/task/<tid>/fail-nth), N = 1,
// 2, ... until it runs clean. One line per case lists the result at each N,
// so the number of injection points each ioctl reaches and their order (by
// the errno each one gives) are both compared. A failed call must leave the
// pins and the objects as they were (see sweep()).
// Sweep 1 counts fail_iommufd only (failslab filtered by cache-filter,
// fail_page_alloc above order 63); sweep 2 adds failslab (sleeping and
// atomic slab allocations) for the cases marked so. Left out of sweep 2:
// MOCK_DOMAIN (its mock device goes through device_add and
// iommu_probe_device: some 45 driver-core and sysfs allocations that are
// not iommufd's). The memfd is written before it is mapped, so that
// memfd_pin_folios finds its pages and shmem allocates nothing.
// fail_page_alloc is left out: on Linux its count differs from boot to
// boot (MOCK_DOMAIN, ACCESS_PAGES).
// platform: mock
#include "step.h"
#include "iofd.h"
#include "failnth.h"
#include <sys/mman.h>

#define PG 0x1000ULL
#define IOVA 0x1000000ULL   /* MOCK_APERTURE_START */
#define IOVA2 0x2000000ULL

static char *buf;
static char *big;   /* 160 pages, mapped by S_BIG */
#define IOVA_BIG 0x4000000ULL

/* ---- the objects a setup makes ---- */
struct ctx {
	int fd, afd, mfd, qfd, vqfd;
	__u32 ioas, ioas2, stdev, hwpt, idev, stdev2, parent, nested, plain;
	__u32 dirty, viommu, vdev, fault, item;
};

enum {
	S_IOAS = 1 << 0,     /* IOAS with buf[0, 8 pages) at IOVA */
	S_DOM = 1 << 1,      /* a mock domain (stdev, hwpt, idev) on it */
	S_DOM2 = 1 << 2,     /* a second mock domain on it */
	S_IOAS2 = 1 << 3,    /* a second IOAS, empty */
	S_IOAS2_MAP = 1 << 4, /* ... with buf[8, 12 pages) at IOVA */
	S_ACCESS = 1 << 5,   /* an access (NEEDS_PIN_PAGES) on the IOAS */
	S_PIN = 1 << 6,      /* ... pinning [IOVA, IOVA + 2 pages) */
	S_PARENT = 1 << 7,   /* a nest parent HWPT on idev */
	S_NESTED = 1 << 8,   /* a nested HWPT (SELFTEST data) on the parent */
	S_VIOMMU = 1 << 9,   /* a vIOMMU on the parent */
	S_VDEV = 1 << 10,    /* a vDEVICE of idev on it */
	S_FAULT = 1 << 11,   /* a fault queue */
	S_DIRTY = 1 << 12,   /* a DIRTY_TRACKING HWPT on the IOAS, enabled */
	S_MFD = 1 << 13,     /* a memfd of 8 pages */
	S_PLAIN = 1 << 14,   /* a plain paging HWPT on the IOAS */
	S_COMPAT = 1 << 15,  /* the IOAS set as VFIO compat IOAS */
	S_NOMAP = 1 << 16,   /* the IOAS without the mapping */
	S_DOM_IOAS2 = 1 << 17, /* a mock domain on the second IOAS */
	S_VEVENTQ = 1 << 18, /* a vEVENTQ on the vIOMMU */
	S_FILEMAP = 1 << 19, /* the IOAS maps the memfd, not buf */
	S_BIG = 1 << 20,     /* the IOAS also maps big at IOVA_BIG */
	S_63 = 1 << 21,      /* 63 IOASes (IDs 1-63) and nothing else */
};

static int viommu_alloc(struct ctx *c, __u32 *out)
{
	struct iommu_viommu_alloc a = {
		.size = sizeof(a), .type = IOMMU_VIOMMU_TYPE_SELFTEST,
		.dev_id = c->idev, .hwpt_id = c->parent,
	};
	int rc = xioctl(c->fd, IOMMU_VIOMMU_ALLOC, &a);

	if (!rc)
		*out = a.out_viommu_id;
	return rc;
}

static int fault_alloc(struct ctx *c)
{
	struct iommu_fault_alloc a = { .size = sizeof(a) };
	int rc = xioctl(c->fd, IOMMU_FAULT_QUEUE_ALLOC, &a);

	if (!rc) {
		c->fault = a.out_fault_id;
		c->qfd = (int)a.out_fault_fd;
	}
	return rc;
}

static int set_tracking(struct ctx *c, __u32 hwpt, int on)
{
	struct iommu_hwpt_set_dirty_tracking a = {
		.size = sizeof(a), .flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt,
	};

	return xioctl(c->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &a);
}

static int map_file(struct ctx *c, __u32 ioas, __u64 start, __u64 len,
		    __u64 iova)
{
	struct iommu_ioas_map_file a = {
		.size = sizeof(a), .flags = MAP_FIXED_RW, .ioas_id = ioas,
		.fd = c->mfd, .start = start, .length = len, .iova = iova,
	};

	return xioctl(c->fd, IOMMU_IOAS_MAP_FILE, &a);
}

static int nested_alloc(struct ctx *c, __u32 pt, __u32 flags, __u32 *out)
{
	struct iommu_hwpt_selftest d = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc a = {
		.size = sizeof(a), .flags = flags, .dev_id = c->idev,
		.pt_id = pt, .data_type = IOMMU_HWPT_DATA_SELFTEST,
		.data_len = sizeof(d), .data_uptr = (uintptr_t)&d,
		.fault_id = c->fault,
	};
	int rc = xioctl(c->fd, IOMMU_HWPT_ALLOC, &a);

	if (!rc)
		*out = a.out_hwpt_id;
	return rc;
}

static int setup(struct ctx *c, unsigned int s)
{
	__u64 iova = IOVA;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->afd = c->mfd = c->qfd = c->vqfd = -1;
	c->fd = iofd_open();
	if (s & S_MFD) {
		c->mfd = memfd_create("sweep", 0);
		rc = c->mfd < 0 ? -errno : ftruncate(c->mfd, 8 * PG) ? -errno : 0;
		/* Populated: pinning then allocates nothing in shmem's page cache. */
		if (!rc && pwrite(c->mfd, buf, 8 * PG, 0) != 8 * PG)
			rc = -EIO;
	}
	for (int i = 0; !rc && (s & S_63) && i < 63; i++)
		rc = ioas_alloc(c->fd, &c->ioas);
	if (!rc && (s & (S_IOAS | S_NOMAP)))
		rc = ioas_alloc(c->fd, &c->ioas);
	if (!rc && (s & S_FILEMAP))
		rc = map_file(c, c->ioas, 0, 8 * PG, IOVA);
	else if (!rc && (s & S_IOAS) && !(s & S_NOMAP))
		rc = ioas_map(c->fd, c->ioas, MAP_FIXED_RW, buf, 8 * PG, &iova);
	if (!rc && (s & S_BIG)) {
		iova = IOVA_BIG;
		rc = ioas_map(c->fd, c->ioas, MAP_FIXED_RW, big, 160 * PG, &iova);
	}
	if (!rc && (s & S_DOM))
		rc = mock_domain(c->fd, c->ioas, 0, &c->stdev, &c->hwpt, &c->idev);
	if (!rc && (s & S_DOM2))
		rc = mock_domain(c->fd, c->ioas, 0, &c->stdev2, NULL, NULL);
	if (!rc && (s & (S_IOAS2 | S_IOAS2_MAP)))
		rc = ioas_alloc(c->fd, &c->ioas2);
	if (!rc && (s & S_DOM_IOAS2))
		rc = mock_domain(c->fd, c->ioas2, 0, NULL, NULL, NULL);
	iova = IOVA;
	if (!rc && (s & S_IOAS2_MAP))
		rc = ioas_map(c->fd, c->ioas2, MAP_FIXED_RW, buf + 8 * PG, 4 * PG, &iova);
	if (!rc && (s & S_ACCESS))
		rc = create_access(c->fd, c->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &c->afd);
	if (!rc && (s & S_PIN))
		rc = access_pages(c->fd, c->afd, 0, IOVA, 2 * PG, NULL, &c->item);
	if (!rc && (s & S_FAULT))
		rc = fault_alloc(c);
	if (!rc && (s & S_PARENT))
		rc = hwpt_alloc(c->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, c->idev, c->ioas, 0, NULL, 0, &c->parent);
	if (!rc && (s & S_NESTED))
		rc = nested_alloc(c, c->parent, 0, &c->nested);
	if (!rc && (s & S_VIOMMU))
		rc = viommu_alloc(c, &c->viommu);
	if (!rc && (s & S_VDEV)) {
		struct iommu_vdevice_alloc a = {
			.size = sizeof(a), .viommu_id = c->viommu,
			.dev_id = c->idev, .virt_id = 0x99,
		};

		rc = xioctl(c->fd, IOMMU_VDEVICE_ALLOC, &a);
		c->vdev = a.out_vdevice_id;
	}
	if (!rc && (s & S_VEVENTQ)) {
		struct iommu_veventq_alloc a = {
			.size = sizeof(a), .viommu_id = c->viommu,
			.type = IOMMU_VEVENTQ_TYPE_SELFTEST, .veventq_depth = 4,
		};

		rc = xioctl(c->fd, IOMMU_VEVENTQ_ALLOC, &a);
		c->vqfd = rc ? -1 : (int)a.out_veventq_fd;
	}
	if (!rc && (s & S_PLAIN))
		rc = hwpt_alloc(c->fd, 0, c->idev, c->ioas, 0, NULL, 0, &c->plain);
	if (!rc && (s & S_DIRTY)) {
		rc = hwpt_alloc(c->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, c->idev, c->ioas, 0, NULL, 0, &c->dirty);
		rc = rc ?: set_tracking(c, c->dirty, 1);
	}
	if (!rc && (s & S_COMPAT))
		rc = vfio_ioas(c->fd, IOMMU_VFIO_IOAS_SET, &c->ioas);
	return rc;
}

static void teardown(struct ctx *c)
{
	if (c->afd >= 0)
		close(c->afd);
	if (c->qfd >= 0)
		close(c->qfd);
	if (c->vqfd >= 0)
		close(c->vqfd);
	close(c->fd);
	if (c->mfd >= 0)
		close(c->mfd);
}

/* ---- the calls ---- */
static int c_ioas_alloc(struct ctx *c)
{
	__u32 id;

	return ioas_alloc(c->fd, &id);
}

static int c_allow_iovas(struct ctx *c)
{
	struct iommu_iova_range r[2] = {
		{ IOVA, IOVA + 0x100000 - 1 }, { IOVA2, IOVA2 + 0x100000 - 1 },
	};

	return ioas_allow(c->fd, c->ioas, r, 2);
}

static int c_iova_ranges(struct ctx *c)
{
	struct iommu_iova_range r[4];

	return ioas_ranges(c->fd, c->ioas, r, 4, NULL, NULL);
}

static int c_map(struct ctx *c)
{
	__u64 iova = IOVA2;

	return ioas_map(c->fd, c->ioas, MAP_FIXED_RW, buf + 8 * PG, 8 * PG, &iova);
}

static int c_map_auto(struct ctx *c)
{
	__u64 iova = 0;

	return ioas_map(c->fd, c->ioas, MAP_RW, buf + 8 * PG, 8 * PG, &iova);
}

static int c_map_file(struct ctx *c)
{
	return map_file(c, c->ioas, 0, 8 * PG, IOVA2);
}

static int c_copy(struct ctx *c)
{
	__u64 dst = IOVA2;

	return ioas_copy(c->fd, c->ioas2, c->ioas, MAP_FIXED_RW, IOVA, 8 * PG, &dst);
}

static int c_unmap(struct ctx *c)
{
	return ioas_unmap(c->fd, c->ioas, IOVA, 8 * PG, NULL);
}

static int c_unmap_all(struct ctx *c)
{
	return ioas_unmap(c->fd, c->ioas, 0, U64_MAX_, NULL);
}

static int c_opt_rlimit_get(struct ctx *c)
{
	return iommu_opt(c->fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, NULL);
}

static int c_opt_rlimit_set(struct ctx *c)
{
	__u64 v = 1;

	return iommu_opt(c->fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v);
}

static int c_opt_huge_set(struct ctx *c)
{
	__u64 v = 0;

	return iommu_opt(c->fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, c->ioas, &v);
}

static int c_opt_huge_get(struct ctx *c)
{
	__u64 v = 0;

	return iommu_opt(c->fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, c->ioas, &v);
}

static int c_vfio_get(struct ctx *c)
{
	__u32 id = 0;

	return vfio_ioas(c->fd, IOMMU_VFIO_IOAS_GET, &id);
}

static int c_vfio_set(struct ctx *c)
{
	return vfio_ioas(c->fd, IOMMU_VFIO_IOAS_SET, &c->ioas);
}

static int c_vfio_clear(struct ctx *c)
{
	return vfio_ioas(c->fd, IOMMU_VFIO_IOAS_CLEAR, NULL);
}

static int c_hwpt_plain(struct ctx *c)
{
	__u32 id;

	return hwpt_alloc(c->fd, 0, c->idev, c->ioas, 0, NULL, 0, &id);
}

static int c_hwpt_parent(struct ctx *c)
{
	__u32 id;

	return hwpt_alloc(c->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, c->idev, c->ioas, 0, NULL, 0, &id);
}

static int c_hwpt_nested(struct ctx *c)
{
	__u32 id;

	return nested_alloc(c, c->parent, 0, &id);
}

static int c_hwpt_nested_fault(struct ctx *c)
{
	__u32 id;

	return nested_alloc(c, c->parent, IOMMU_HWPT_FAULT_ID_VALID, &id);
}

static int c_hwpt_on_viommu(struct ctx *c)
{
	__u32 id;

	return nested_alloc(c, c->viommu, 0, &id);
}

static int c_hw_info(struct ctx *c)
{
	struct iommu_test_hw_info info;

	return get_hw_info(c->fd, c->idev, &info, sizeof(info), NULL);
}

static int c_set_dirty(struct ctx *c)
{
	return set_tracking(c, c->dirty, 0);
}

static int c_get_dirty(struct ctx *c)
{
	__u64 bitmap[4] = { 0 };
	struct iommu_hwpt_get_dirty_bitmap a = {
		.size = sizeof(a), .hwpt_id = c->dirty, .iova = IOVA,
		.length = 8 * PG, .page_size = PG, .data = (uintptr_t)bitmap,
	};

	return xioctl(c->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &a);
}

static int c_invalidate(struct ctx *c)
{
	struct iommu_hwpt_invalidate_selftest e = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
	};
	struct iommu_hwpt_invalidate a = {
		.size = sizeof(a), .hwpt_id = c->nested,
		.data_uptr = (uintptr_t)&e,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(e), .entry_num = 1,
	};

	return xioctl(c->fd, IOMMU_HWPT_INVALIDATE, &a);
}

static int c_fault_alloc(struct ctx *c)
{
	return fault_alloc(c);
}

static int c_viommu_alloc(struct ctx *c)
{
	__u32 id;

	return viommu_alloc(c, &id);
}

static int c_vdevice_alloc(struct ctx *c)
{
	struct iommu_vdevice_alloc a = {
		.size = sizeof(a), .viommu_id = c->viommu, .dev_id = c->idev,
		.virt_id = 0x42,
	};

	return xioctl(c->fd, IOMMU_VDEVICE_ALLOC, &a);
}

static int c_veventq_alloc(struct ctx *c)
{
	struct iommu_veventq_alloc a = {
		.size = sizeof(a), .viommu_id = c->viommu,
		.type = IOMMU_VEVENTQ_TYPE_SELFTEST, .veventq_depth = 4,
	};
	int rc = xioctl(c->fd, IOMMU_VEVENTQ_ALLOC, &a);

	if (!rc)
		c->vqfd = (int)a.out_veventq_fd;
	return rc;
}

static int c_hw_queue_alloc(struct ctx *c)
{
	struct iommu_hw_queue_alloc a = {
		.size = sizeof(a), .viommu_id = c->viommu,
		.type = IOMMU_HW_QUEUE_TYPE_SELFTEST, .index = 0,
		.nesting_parent_iova = IOVA, .length = PG,
	};

	return xioctl(c->fd, IOMMU_HW_QUEUE_ALLOC, &a);
}

static int c_destroy_ioas(struct ctx *c)
{
	return obj_destroy(c->fd, c->ioas);
}

static int c_destroy_hwpt(struct ctx *c)
{
	return obj_destroy(c->fd, c->plain);
}

static int c_destroy_stdev(struct ctx *c)
{
	return obj_destroy(c->fd, c->stdev);
}

static int c_destroy_viommu(struct ctx *c)
{
	return obj_destroy(c->fd, c->viommu);
}

static int c_mock_domain(struct ctx *c)
{
	return mock_domain(c->fd, c->ioas, 0, NULL, NULL, NULL);
}

static int c_mock_domain_hwpt(struct ctx *c)
{
	return mock_domain(c->fd, c->plain, 0, NULL, NULL, NULL);
}

static int c_replace_ioas2(struct ctx *c)
{
	__u32 pt = c->ioas2;

	return mock_replace(c->fd, c->stdev, &pt);
}

static int c_replace_plain(struct ctx *c)
{
	__u32 pt = c->plain;

	return mock_replace(c->fd, c->stdev, &pt);
}

static int c_create_access(struct ctx *c)
{
	int rc = create_access(c->fd, c->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &c->vqfd);

	if (rc)
		c->vqfd = -1;
	return rc;
}

static int c_access_pages(struct ctx *c)
{
	return access_pages(c->fd, c->afd, 0, IOVA, 8 * PG, NULL, NULL);
}

/* 100 pages from page 10 of big: pinned_pfns grows past its first node. */
static int c_access_pages_big(struct ctx *c)
{
	return access_pages(c->fd, c->afd, 0, IOVA_BIG + 10 * PG, 100 * PG, NULL, NULL);
}

/* 8 pages from IOVA, 2 of them pinned by the setup's access already. */
static int c_access_pages_over(struct ctx *c)
{
	return access_pages(c->fd, c->afd, 0, IOVA, 8 * PG, NULL, NULL);
}

static int c_access_unpin(struct ctx *c)
{
	return access_unpin(c->fd, c->afd, c->item);
}

static int c_access_rw_slow(struct ctx *c)
{
	char tmp[8 * PG];

	return access_rw(c->fd, c->afd, MOCK_ACCESS_RW_SLOW_PATH, IOVA + 0x10, 8 * PG - 0x20, tmp);
}

static int c_access_rw_fast(struct ctx *c)
{
	char tmp[64];

	return access_rw(c->fd, c->afd, MOCK_ACCESS_RW_WRITE, IOVA + PG + 0x10, sizeof(tmp), tmp);
}

static int c_access_replace(struct ctx *c)
{
	struct iommu_test_cmd a = test_cmd(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, c->afd);

	a.access_replace_ioas.ioas_id = c->ioas2;
	return xioctl(c->fd, IOMMU_TEST_CMD, &a);
}

static int c_check_map(struct ctx *c)
{
	return check_map(c->fd, c->hwpt, IOVA, 8 * PG, buf);
}

static int c_add_reserved(struct ctx *c)
{
	return add_reserved(c->fd, c->ioas, IOVA2, PG);
}

static int c_test_dirty(struct ctx *c)
{
	__u64 bitmap[4] = { 0x5 };
	struct iommu_test_cmd a = test_cmd(IOMMU_TEST_OP_DIRTY, c->dirty);

	a.dirty.iova = IOVA;
	a.dirty.length = 8 * PG;
	a.dirty.page_size = PG;
	a.dirty.uptr = (uintptr_t)bitmap;
	return xioctl(c->fd, IOMMU_TEST_CMD, &a);
}

static int c_change_process(struct ctx *c)
{
	struct iommu_ioas_change_process a = { .size = sizeof(a) };

	return xioctl(c->fd, IOMMU_IOAS_CHANGE_PROCESS, &a);
}

static int c_viommu_invalidate(struct ctx *c)
{
	struct iommu_viommu_invalidate_selftest e = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL, .vdev_id = 0x99,
	};
	struct iommu_hwpt_invalidate a = {
		.size = sizeof(a), .hwpt_id = c->viommu,
		.data_uptr = (uintptr_t)&e,
		.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(e), .entry_num = 1,
	};

	return xioctl(c->fd, IOMMU_HWPT_INVALIDATE, &a);
}

static int c_trigger_vevent(struct ctx *c)
{
	struct iommu_test_cmd a = test_cmd(IOMMU_TEST_OP_TRIGGER_VEVENT, 0);

	a.trigger_vevent.dev_id = c->idev;
	return xioctl(c->fd, IOMMU_TEST_CMD, &a);
}

static int c_access_rw_file(struct ctx *c)
{
	char tmp[8 * PG];

	return access_rw(c->fd, c->afd, 0, IOVA + 0x10, 8 * PG - 0x20, tmp);
}

struct scase {
	const char *name;
	unsigned int setup;
	int (*call)(struct ctx *c);
	int slab;        /* also in sweep 2 (see the top for those left out) */
};

static const struct scase cases[] = {
	{ "IOAS_ALLOC", 0, c_ioas_alloc, 1 },
	{ "IOAS_ALLOC as ID 64", S_63, c_ioas_alloc, 1 },
	{ "IOAS_ALLOW_IOVAS", S_NOMAP, c_allow_iovas, 1 },
	{ "IOAS_IOVA_RANGES", S_IOAS | S_DOM, c_iova_ranges, 1 },
	{ "IOAS_MAP", S_IOAS, c_map, 1 },
	{ "IOAS_MAP auto iova", S_IOAS, c_map_auto, 1 },
	{ "IOAS_MAP, mock domain", S_IOAS | S_DOM, c_map, 1 },
	{ "IOAS_MAP, 2 mock domains", S_IOAS | S_DOM | S_DOM2, c_map, 1 },
	{ "IOAS_MAP, access", S_IOAS | S_ACCESS, c_map, 1 },
	{ "IOAS_MAP_FILE", S_IOAS | S_MFD, c_map_file, 1 },
	{ "IOAS_MAP_FILE, mock domain", S_IOAS | S_DOM | S_MFD, c_map_file, 1 },
	{ "IOAS_COPY", S_IOAS | S_IOAS2, c_copy, 1 },
	{ "IOAS_COPY, src domain", S_IOAS | S_DOM | S_IOAS2, c_copy, 1 },
	{ "IOAS_COPY, dst domain", S_IOAS | S_IOAS2 | S_DOM_IOAS2, c_copy, 1 },
	{ "IOAS_CHANGE_PROCESS", S_IOAS | S_MFD | S_FILEMAP, c_change_process, 1 },
	{ "IOAS_UNMAP", S_IOAS, c_unmap, 1 },
	{ "IOAS_UNMAP, mock domain", S_IOAS | S_DOM, c_unmap, 1 },
	{ "IOAS_UNMAP all, access pinning", S_IOAS | S_ACCESS | S_PIN, c_unmap_all, 1 },
	{ "OPTION RLIMIT_MODE get", 0, c_opt_rlimit_get, 1 },
	{ "OPTION RLIMIT_MODE set", 0, c_opt_rlimit_set, 1 },
	{ "OPTION HUGE_PAGES get", S_IOAS, c_opt_huge_get, 1 },
	{ "OPTION HUGE_PAGES set 0", S_IOAS, c_opt_huge_set, 1 },
	{ "OPTION HUGE_PAGES set 0, mock domain", S_IOAS | S_DOM, c_opt_huge_set, 1 },
	{ "VFIO_IOAS GET none", 0, c_vfio_get, 1 },
	{ "VFIO_IOAS GET", S_IOAS | S_COMPAT, c_vfio_get, 1 },
	{ "VFIO_IOAS SET", S_IOAS, c_vfio_set, 1 },
	{ "VFIO_IOAS CLEAR", S_IOAS | S_COMPAT, c_vfio_clear, 1 },
	{ "HWPT_ALLOC plain", S_IOAS | S_DOM, c_hwpt_plain, 1 },
	{ "HWPT_ALLOC nest parent", S_IOAS | S_DOM, c_hwpt_parent, 1 },
	{ "HWPT_ALLOC nested", S_IOAS | S_DOM | S_PARENT, c_hwpt_nested, 1 },
	{ "HWPT_ALLOC nested, fault", S_IOAS | S_DOM | S_FAULT | S_PARENT, c_hwpt_nested_fault, 1 },
	{ "HWPT_ALLOC on a viommu", S_IOAS | S_DOM | S_PARENT | S_VIOMMU | S_VDEV, c_hwpt_on_viommu, 1 },
	{ "GET_HW_INFO", S_IOAS | S_DOM, c_hw_info, 1 },
	{ "HWPT_SET_DIRTY_TRACKING", S_IOAS | S_DOM | S_DIRTY, c_set_dirty, 1 },
	{ "HWPT_GET_DIRTY_BITMAP", S_IOAS | S_DOM | S_DIRTY, c_get_dirty, 1 },
	{ "HWPT_INVALIDATE", S_IOAS | S_DOM | S_PARENT | S_NESTED, c_invalidate, 1 },
	{ "HWPT_INVALIDATE on a viommu", S_IOAS | S_DOM | S_PARENT | S_VIOMMU | S_VDEV, c_viommu_invalidate, 1 },
	{ "FAULT_QUEUE_ALLOC", 0, c_fault_alloc, 1 },
	{ "VIOMMU_ALLOC", S_IOAS | S_DOM | S_PARENT, c_viommu_alloc, 1 },
	{ "VDEVICE_ALLOC", S_IOAS | S_DOM | S_PARENT | S_VIOMMU, c_vdevice_alloc, 1 },
	{ "VEVENTQ_ALLOC", S_IOAS | S_DOM | S_PARENT | S_VIOMMU, c_veventq_alloc, 1 },
	{ "HW_QUEUE_ALLOC", S_IOAS | S_DOM | S_PARENT | S_VIOMMU, c_hw_queue_alloc, 1 },
	{ "DESTROY ioas", S_IOAS, c_destroy_ioas, 1 },
	{ "DESTROY hwpt", S_IOAS | S_DOM | S_PLAIN, c_destroy_hwpt, 1 },
	{ "DESTROY stdev", S_IOAS | S_DOM, c_destroy_stdev, 1 },
	{ "DESTROY viommu", S_IOAS | S_DOM | S_PARENT | S_VIOMMU, c_destroy_viommu, 1 },
	{ "TEST MOCK_DOMAIN", S_IOAS, c_mock_domain, 0 },
	{ "TEST MOCK_DOMAIN, mock domain", S_IOAS | S_DOM, c_mock_domain, 0 },
	{ "TEST MOCK_DOMAIN on a hwpt", S_IOAS | S_DOM | S_PLAIN, c_mock_domain_hwpt, 0 },
	{ "TEST MOCK_DOMAIN_REPLACE ioas2", S_IOAS | S_DOM | S_IOAS2_MAP, c_replace_ioas2, 1 },
	{ "TEST MOCK_DOMAIN_REPLACE hwpt", S_IOAS | S_DOM | S_PLAIN, c_replace_plain, 1 },
	{ "TEST CREATE_ACCESS", S_IOAS, c_create_access, 1 },
	{ "TEST ACCESS_PAGES", S_IOAS | S_ACCESS, c_access_pages, 1 },
	{ "TEST ACCESS_PAGES, mock domain", S_IOAS | S_DOM | S_ACCESS, c_access_pages, 1 },
	{ "TEST ACCESS_PAGES memfd", S_IOAS | S_MFD | S_FILEMAP | S_ACCESS, c_access_pages, 1 },
	{ "TEST ACCESS_PAGES over 2 pinned", S_IOAS | S_ACCESS | S_PIN, c_access_pages_over, 1 },
	{ "TEST ACCESS_PAGES 100 pages", S_IOAS | S_BIG | S_ACCESS, c_access_pages_big, 1 },
	{ "TEST ACCESS_PAGES 100 pages, mock domain", S_IOAS | S_BIG | S_DOM | S_ACCESS, c_access_pages_big, 1 },
	{ "TEST DESTROY_ACCESS_PAGES", S_IOAS | S_ACCESS | S_PIN, c_access_unpin, 1 },
	{ "TEST ACCESS_RW slow", S_IOAS | S_ACCESS, c_access_rw_slow, 1 },
	{ "TEST ACCESS_RW write", S_IOAS | S_ACCESS, c_access_rw_fast, 1 },
	{ "TEST ACCESS_RW memfd", S_IOAS | S_MFD | S_FILEMAP | S_ACCESS, c_access_rw_file, 1 },
	{ "TEST ACCESS_REPLACE_IOAS", S_IOAS | S_ACCESS | S_IOAS2_MAP, c_access_replace, 1 },
	{ "TEST MD_CHECK_MAP", S_IOAS | S_DOM, c_check_map, 1 },
	{ "TEST ADD_RESERVED", S_IOAS, c_add_reserved, 1 },
	{ "TEST DIRTY", S_IOAS | S_DOM | S_DIRTY, c_test_dirty, 1 },
	{ "TEST TRIGGER_VEVENT", S_IOAS | S_DOM | S_PARENT | S_VIOMMU | S_VDEV | S_VEVENTQ, c_trigger_vevent, 1 },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* The ID the next object gets (an IOAS made and destroyed at once). */
static __u32 next_id(int fd)
{
	__u32 id = 0;

	if (ioas_alloc(fd, &id))
		return 0;
	obj_destroy(fd, id);
	return id;
}

/*
 * One case: N = 1, 2, ... until the call runs clean. A failed call must
 * leave the pins of buf and the object IDs as they were: "(pins a->b)" or
 * "(next id a->b)" is printed when it does not.
 */
static void sweep(const struct scase *k, int max)
{
	struct ctx c;
	int n, rc, fired, p0, p1;
	__u32 id0, id1;

	printf("%s:", k->name);
	for (n = 1; n <= max; n++) {
		rc = setup(&c, k->setup);
		if (rc) {
			printf(" setup=%s", rc_str(rc));
			teardown(&c);
			break;
		}
		p0 = page_pins(c.fd, buf);
		id0 = next_id(c.fd);
		arm(n);
		rc = k->call(&c);
		fired = disarm();
		p1 = page_pins(c.fd, buf);
		printf(" %s", fired ? rc_str(rc) : rc ? rc_str(rc) : "clean");
		if (rc && p1 != p0)
			printf("(pins %d->%d)", p0, p1);
		if (rc && (id1 = next_id(c.fd)) != id0)
			printf("(next id %u->%u)", id0, id1);
		teardown(&c);
		if (!fired)
			break;
	}
	c.fd = iofd_open();
	p1 = page_pins(c.fd, buf);
	close(c.fd);
	printf(" (points %d%s)\n", n - 1, p1 ? ", pins left" : "");
	fflush(stdout);
}

int main(void)
{
	unsigned int i;

	buf = buf_alloc(32 * PG);
	big = buf_alloc(160 * PG);
	failnth_open();

	note("sweep 1: fail_iommufd");
	for (i = 0; i < NCASES; i++)
		sweep(&cases[i], 60);

	note("sweep 2: fail_iommufd and failslab");
	failnth_failslab(1);
	for (i = 0; i < NCASES; i++)
		if (cases[i].slab)
			sweep(&cases[i], 200);
	failnth_failslab(0);
	return 0;
}
