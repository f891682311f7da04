// The legacy VFIO group API and the compat container (/dev/vfio/vfio) behind
// qemu's SMMUv3 (arm64 virt, ACPI): each NIC's BDF and IOMMU group as sysfs
// and /dev/vfio show them, GET_STATUS, SET_CONTAINER, SET_IOMMU TYPE1v2,
// MAP_DMA (the software MSI window at 0x8000000 is reserved), and
// VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) on the container before and after
// the groups' devices are attached: 0 once a domain exists, since qemu's
// IORT root complex has no CANWBS (no SMMU domain enforces coherency).
// oracle: --arm
// platform: qemu-smmuv3
#include "step.h"
#include "iofd.h"
#include <fcntl.h>
#include <limits.h>

/* include/uapi/linux/vfio.h: VFIO_GROUP_GET_STATUS */
struct vfio_group_status {
	__u32 argsz;
	__u32 flags;
};

/* The last path component a sysfs link points to ("" on failure). */
static const char *link_base(const char *path, char *out, size_t len)
{
	char t[PATH_MAX];
	ssize_t n = readlink(path, t, sizeof(t) - 1);
	const char *b;

	if (n < 0) {
		snprintf(out, len, "%s", errno_name(errno));
		return out;
	}
	t[n] = 0;
	b = strrchr(t, '/');
	snprintf(out, len, "%s", b ? b + 1 : t);
	return out;
}

static void cc(int c, const char *what)
{
	int rc = xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);

	step(L("check_extension DMA_CC_IOMMU%s", what), rc < 0 ? rc : 0,
	     rc < 0 ? NULL : "val=%d", rc);
}

static int group_of(int n, char *bdf, size_t len)
{
	char p[128], g[64];

	snprintf(p, sizeof(p), "/sys/class/vfio-dev/vfio%d/device", n);
	link_base(p, bdf, len);
	snprintf(p, sizeof(p), "/sys/class/vfio-dev/vfio%d/device/iommu_group",
		 n);
	link_base(p, g, sizeof(g));
	printf("vfio%d: %s group %s\n", n, bdf, g);
	return atoi(g);
}

static int open_group(int n)
{
	char p[64];
	int g;

	snprintf(p, sizeof(p), "/dev/vfio/%d", n);
	g = open(p, O_RDWR);
	step(L("open /dev/vfio/%d", n), g < 0 ? -errno : 0, NULL);
	return g;
}

static void status(int g, const char *what)
{
	struct vfio_group_status s = { .argsz = sizeof(s), .flags = 0x5a5a };
	int rc = xioctl(g, VFIO_GROUP_GET_STATUS, &s);

	step_ok(L("get_status%s", what), rc, "flags=0x%x", s.flags);
}

int main(void)
{
	char bdf0[64], bdf1[64];
	char *buf = buf_alloc(1 << 20);
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = 3, .vaddr = (uintptr_t)buf,
		.iova = 0x100000, .size = 1 << 20,
	};
	int n0, n1, g0, g1, c, d0, d1, rc;

	note("groups");
	n0 = group_of(0, bdf0, sizeof(bdf0));
	n1 = group_of(1, bdf1, sizeof(bdf1));
	printf("same group: %s\n", n0 == n1 ? "yes" : "no");

	note("container");
	c = open("/dev/vfio/vfio", O_RDWR);
	step("open /dev/vfio/vfio", c < 0 ? -errno : 0, NULL);
	step("check_extension TYPE1v2",
	     xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), NULL);
	cc(c, " (no group)");
	g0 = open_group(n0);
	status(g0, " vfio0's group");
	rc = xioctl(g0, VFIO_GROUP_SET_CONTAINER, &c);
	step("set_container vfio0's group", rc, NULL);
	status(g0, " after set_container");
	cc(c, " (group set, no iommu)");
	step("set_iommu TYPE1v2", xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
	     NULL);
	cc(c, " (no device attached)");
	d0 = xioctl(g0, VFIO_GROUP_GET_DEVICE_FD, bdf0);
	step("get_device_fd vfio0", d0 < 0 ? d0 : 0, NULL);
	cc(c, " (vfio0 attached)");
	step("map_dma 0x100000+1M", xioctl(c, VFIO_IOMMU_MAP_DMA, &m), NULL);
	g1 = open_group(n1);
	rc = xioctl(g1, VFIO_GROUP_SET_CONTAINER, &c);
	step("set_container vfio1's group", rc, NULL);
	d1 = xioctl(g1, VFIO_GROUP_GET_DEVICE_FD, bdf1);
	step("get_device_fd vfio1", d1 < 0 ? d1 : 0, NULL);
	cc(c, " (both attached)");
	m.iova = 0x8000000;
	m.size = 0x1000;
	step("map_dma in the software MSI window",
	     xioctl(c, VFIO_IOMMU_MAP_DMA, &m), NULL);
	m.iova = 0x8100000;
	step("map_dma after the MSI window", xioctl(c, VFIO_IOMMU_MAP_DMA, &m),
	     NULL);
	m.iova = 1ULL << 48;
	step("map_dma at 1<<48", xioctl(c, VFIO_IOMMU_MAP_DMA, &m), NULL);
	close(d1);
	close(d0);
	step("unset_container vfio1's group",
	     xioctl(g1, VFIO_GROUP_UNSET_CONTAINER, NULL), NULL);
	step("unset_container vfio0's group",
	     xioctl(g0, VFIO_GROUP_UNSET_CONTAINER, NULL), NULL);
	status(g0, " after unset_container");
	close(g1);
	close(g0);
	close(c);
	return 0;
}
