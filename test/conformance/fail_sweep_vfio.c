// fail_sweep's method on the VFIO device cdev path (VT-d machine): for each
// case a fresh iommufd and a freshly opened vfio0 get a fixed setup
// (unarmed), then the one call runs with its Nth injection point failing,
// N = 1, 2, ... until it runs clean; one line per case with the result at
// each N. BIND, ATTACH (automatic domain, a HWPT, replace), DETACH and the
// iommufd ioctls that reach the VT-d domain. fail_iommufd only (failslab
// filtered): with failslab on, an allocation failing in vfio-pci's enable
// path leaves ACPI's _PRT half built, and Linux 7.2 then oopses in
// acpi_ns_repair_PRT when the device file closes.
// A failed call must leave the pins as they were.
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"
#include "failnth.h"

#define PG 0x1000ULL
#define IOVA 0x1000000ULL
#define IOVA2 0x2000000ULL

static char *buf;

struct ctx {
	int fd, dev;
	__u32 ioas, ioas2, devid, hwpt;
};

enum {
	V_IOAS = 1 << 0,    /* IOAS with buf[0, 8 pages) at IOVA */
	V_BIND = 1 << 1,    /* vfio0 bound to the iommufd */
	V_ATTACH = 1 << 2,  /* ... and attached to the IOAS */
	V_HWPT = 1 << 3,    /* a paging HWPT of vfio0 on the IOAS */
	V_IOAS2 = 1 << 4,   /* a second IOAS with buf[8, 12 pages) at IOVA */
};

static int bind(struct ctx *c)
{
	struct vfio_device_bind_iommufd b = {
		.argsz = sizeof(b), .iommufd = c->fd,
	};
	int rc = xioctl(c->dev, VFIO_DEVICE_BIND_IOMMUFD, &b);

	if (!rc)
		c->devid = b.out_devid;
	return rc;
}

static int attach(struct ctx *c, __u32 pt)
{
	struct vfio_device_attach_iommufd_pt a = {
		.argsz = sizeof(a), .pt_id = pt,
	};

	return xioctl(c->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a);
}

static int setup(struct ctx *c, unsigned int s)
{
	__u64 iova = IOVA;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->fd = iofd_open();
	c->dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	if (c->dev < 0)
		return -errno;
	if (s & V_IOAS)
		rc = ioas_alloc(c->fd, &c->ioas) ?:
		     ioas_map(c->fd, c->ioas, MAP_FIXED_RW, buf, 8 * PG, &iova);
	if (!rc && (s & V_IOAS2)) {
		iova = IOVA;
		rc = ioas_alloc(c->fd, &c->ioas2) ?:
		     ioas_map(c->fd, c->ioas2, MAP_FIXED_RW, buf + 8 * PG, 4 * PG, &iova);
	}
	if (!rc && (s & V_BIND))
		rc = bind(c);
	if (!rc && (s & V_HWPT))
		rc = hwpt_alloc(c->fd, 0, c->devid, c->ioas, 0, NULL, 0, &c->hwpt);
	if (!rc && (s & V_ATTACH))
		rc = attach(c, c->ioas);
	return rc;
}

static void teardown(struct ctx *c)
{
	if (c->dev >= 0)
		close(c->dev);
	close(c->fd);
}

static int c_bind(struct ctx *c) { return bind(c); }
static int c_attach_ioas(struct ctx *c) { return attach(c, c->ioas); }
static int c_attach_hwpt(struct ctx *c) { return attach(c, c->hwpt); }
static int c_replace_ioas2(struct ctx *c) { return attach(c, c->ioas2); }

static int c_detach(struct ctx *c)
{
	struct vfio_device_detach_iommufd_pt d = { .argsz = sizeof(d) };

	return xioctl(c->dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d);
}

static int c_hwpt_alloc(struct ctx *c)
{
	__u32 id;

	return hwpt_alloc(c->fd, 0, c->devid, c->ioas, 0, NULL, 0, &id);
}

static int c_map(struct ctx *c)
{
	__u64 iova = IOVA2;

	return ioas_map(c->fd, c->ioas, MAP_FIXED_RW, buf + 8 * PG, 8 * PG, &iova);
}

static int c_unmap(struct ctx *c)
{
	return ioas_unmap(c->fd, c->ioas, IOVA, 8 * PG, NULL);
}

static int c_hw_info(struct ctx *c)
{
	struct iommu_hw_info_vtd info;

	return get_hw_info(c->fd, c->devid, &info, sizeof(info), NULL);
}

static int c_destroy_hwpt(struct ctx *c)
{
	return obj_destroy(c->fd, c->hwpt);
}

struct scase {
	const char *name;
	unsigned int setup;
	int (*call)(struct ctx *c);
};

static const struct scase cases[] = {
	{ "BIND_IOMMUFD", V_IOAS, c_bind },
	{ "ATTACH_IOMMUFD_PT ioas", V_IOAS | V_BIND, c_attach_ioas },
	{ "ATTACH_IOMMUFD_PT hwpt", V_IOAS | V_BIND | V_HWPT, c_attach_hwpt },
	{ "ATTACH_IOMMUFD_PT replace ioas2", V_IOAS | V_BIND | V_ATTACH | V_IOAS2, c_replace_ioas2 },
	{ "ATTACH_IOMMUFD_PT replace hwpt", V_IOAS | V_BIND | V_ATTACH | V_HWPT, c_attach_hwpt },
	{ "DETACH_IOMMUFD_PT", V_IOAS | V_BIND | V_ATTACH, c_detach },
	{ "HWPT_ALLOC", V_IOAS | V_BIND, c_hwpt_alloc },
	{ "IOAS_MAP, VT-d domain", V_IOAS | V_BIND | V_ATTACH, c_map },
	{ "IOAS_UNMAP, VT-d domain", V_IOAS | V_BIND | V_ATTACH, c_unmap },
	{ "GET_HW_INFO", V_BIND, c_hw_info },
	{ "DESTROY hwpt", V_IOAS | V_BIND | V_HWPT, c_destroy_hwpt },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void sweep(const struct scase *k, int max)
{
	struct ctx c;
	int n, rc, fired, p0, p1;

	printf("%s:", k->name);
	for (n = 1; n <= max; n++) {
		rc = setup(&c, k->setup);
		if (rc) {
			printf(" setup=%s", rc_str(rc));
			teardown(&c);
			break;
		}
		p0 = page_pins(c.fd, buf);
		arm(n);
		rc = k->call(&c);
		fired = disarm();
		p1 = page_pins(c.fd, buf);
		printf(" %s", fired ? rc_str(rc) : rc ? rc_str(rc) : "clean");
		if (rc && p1 != p0)
			printf("(pins %d->%d)", p0, p1);
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
	failnth_open();
	note("fail_iommufd");
	for (i = 0; i < NCASES; i++)
		sweep(&cases[i], 60);
	return 0;
}
