// The legacy VFIO group API on iommufd (CONFIG_VFIO_CONTAINER=n,
// CONFIG_IOMMUFD_VFIO_CONTAINER=y): /dev/vfio/<group> and /dev/vfio/vfio as
// the device nodes show them, one open of a group at a time, GET_STATUS,
// SET_CONTAINER with /dev/vfio/vfio or /dev/iommu, UNSET_CONTAINER,
// GET_DEVICE_FD by name (the same device as the cdev), the container's
// SET_IOMMU and MAP_DMA after SET_CONTAINER, the device attached to the
// compat IOAS, and the exclusion between group use and cdev binds.
// oracle: --vfio
// platform: qemu-vtd
#include "step.h"
#include "iofd.h"
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define CFG ((off_t)((__u64)7 << 40))
/* include/uapi/linux/vfio.h: VFIO_GROUP_GET_STATUS */
struct vfio_group_status {
	__u32 argsz;
	__u32 flags;
};

#define DEV0 "0000:00:01.0"
#define DEV1 "0000:00:02.0"

static void show_node(const char *path)
{
	struct stat st;
	int rc = stat(path, &st) < 0 ? -errno : 0;

	step_ok(L("stat %s", path), rc, "chr=%d %u:%u", S_ISCHR(st.st_mode),
		major(st.st_rdev), minor(st.st_rdev));
}

static int xopen(const char *path, const char *label)
{
	int d = open(path, O_RDWR);

	step(label ? label : L("open %s", path), d < 0 ? -errno : 0, NULL);
	return d;
}

static void status(int g, const char *what)
{
	struct vfio_group_status s = { .argsz = sizeof(s), .flags = 0x5a5a };
	int rc = xioctl(g, VFIO_GROUP_GET_STATUS, &s);

	step_ok(L("get_status%s", what), rc, "flags=0x%x", s.flags);
}

static int set_container(int g, int c)
{
	return xioctl(g, VFIO_GROUP_SET_CONTAINER, &c);
}

static int get_device(int g, const char *name, const char *label)
{
	int d = xioctl(g, VFIO_GROUP_GET_DEVICE_FD, (void *)name);

	if (d >= 0)
		step(label, 0, "cloexec=%d", !!(fcntl(d, F_GETFD) & FD_CLOEXEC));
	else
		step(label, d, NULL);
	return d;
}

static int dma_map(int c, void *va, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = 3, .vaddr = (uintptr_t)va,
		.iova = iova, .size = size,
	};

	return xioctl(c, VFIO_IOMMU_MAP_DMA, &m);
}

static int bind(int d, int iommufd)
{
	struct vfio_device_bind_iommufd b = {
		.argsz = sizeof(b), .iommufd = iommufd,
	};

	return xioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &b);
}

static void dev_info(int d, const char *what)
{
	struct vfio_device_info c = { .argsz = sizeof(c) };
	int rc = xioctl(d, VFIO_DEVICE_GET_INFO, &c);

	step_ok(L("device_get_info%s", what), rc,
		"flags=0x%x num_regions=%u num_irqs=%u", c.flags, c.num_regions,
		c.num_irqs);
}

static void cfg_id(int d, const char *what)
{
	__u32 v = 0;
	ssize_t n = pread(d, &v, 4, CFG);

	step_ok(L("config id%s", what), n < 0 ? -errno : 0, "0x%08x", v);
}

int main(void)
{
	char *buf = buf_alloc(1 << 20);
	int g1, g2, c, nullfd, io, d0, d0b, x, rc;
	__u32 ioas = 0;

	note("nodes");
	show_node("/dev/vfio/vfio");
	show_node("/dev/vfio/1");
	show_node("/dev/vfio/2");
	show_node("/dev/vfio/devices/vfio0");

	note("open");
	g1 = xopen("/dev/vfio/1", NULL);
	x = xopen("/dev/vfio/1", "open /dev/vfio/1 again");
	x = xopen("/dev/vfio/3", NULL);
	x = open("/dev/vfio/1", O_RDONLY);
	step("open /dev/vfio/1 O_RDONLY while open", x < 0 ? -errno : 0, NULL);

	note("status and bad arguments");
	status(g1, "");
	{
		struct vfio_group_status s = { .argsz = 4 };

		step("get_status argsz 4", xioctl(g1, VFIO_GROUP_GET_STATUS, &s), NULL);
	}
	step("get_status NULL", xioctl(g1, VFIO_GROUP_GET_STATUS, NULL), NULL);
	step("get_api_version on a group", xioctl_val(g1, VFIO_GET_API_VERSION, 0), NULL);
	step("check_extension on a group",
	     xioctl_val(g1, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), NULL);
	step("device_get_info on a group", xioctl(g1, VFIO_DEVICE_GET_INFO, buf), NULL);
	get_device(g1, DEV0, "get_device_fd without a container");
	step("unset_container without one", xioctl(g1, VFIO_GROUP_UNSET_CONTAINER, NULL), NULL);
	step("set_container NULL", xioctl(g1, VFIO_GROUP_SET_CONTAINER, NULL), NULL);
	step("set_container fd -1", set_container(g1, -1), NULL);
	step("set_container fd 999", set_container(g1, 999), NULL);
	nullfd = open("/dev/null", O_RDWR);
	step("set_container /dev/null", set_container(g1, nullfd), NULL);
	step("set_container itself", set_container(g1, g1), NULL);
	status(g1, " after bad set_container");

	note("container /dev/vfio/vfio");
	c = xopen("/dev/vfio/vfio", NULL);
	step("get_api_version", xioctl_val(c, VFIO_GET_API_VERSION, 0), NULL);
	step("check_extension TYPE1v2", xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), NULL);
	step("set_iommu before set_container", xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), NULL);
	step("map_dma before set_container", dma_map(c, buf, 0x100000, 0x10000), NULL);
	step("set_container", set_container(g1, c), NULL);
	status(g1, " with a container");
	step("set_container again", set_container(g1, c), NULL);
	rc = vfio_ioas(c, IOMMU_VFIO_IOAS_GET, &ioas);
	step_ok("vfio_ioas get", rc, "id=%u", ioas);
	step("set_iommu TYPE1v2", xioctl_val(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), NULL);
	step("check_extension DMA_CC", xioctl_val(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), NULL);
	show_ranges(c, ioas, "iova_ranges before a device");
	step("map_dma 0x100000", dma_map(c, buf, 0x100000, 0x10000), NULL);
	step("map_dma in the MSI window, no device", dma_map(c, buf, 0xfee00000, 0x1000), NULL);
	{
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u), .iova = 0xfee00000, .size = 0x1000,
		};

		step("unmap_dma MSI window", xioctl(c, VFIO_IOMMU_UNMAP_DMA, &u), NULL);
	}

	note("get_device_fd names");
	step("get_device_fd NULL", xioctl(g1, VFIO_GROUP_GET_DEVICE_FD, NULL), NULL);
	get_device(g1, DEV1, "get_device_fd of another group's device");
	get_device(g1, "0000:00:01", "get_device_fd short name");
	get_device(g1, "", "get_device_fd empty name");
	get_device(g1, DEV0 "x", "get_device_fd name+x");
	get_device(g1, DEV0 " foo", "get_device_fd unknown option");
	get_device(g1, DEV0 " vf_token=2ab74924-c335-45f4-9b16-8569e5b08258",
		   "get_device_fd vf_token");
	get_device(g1, DEV0 " vf_token=2ab7", "get_device_fd short vf_token");
	{
		char *big = malloc(5000);

		memset(big, 'a', 4999);
		big[4999] = 0;
		memcpy(big, DEV0, strlen(DEV0));
		get_device(g1, big, "get_device_fd 5000-byte name");
		free(big);
	}

	note("device through the group");
	d0 = get_device(g1, DEV0 "  ", "get_device_fd " DEV0 " with spaces");
	dev_info(d0, "");
	cfg_id(d0, "");
	show_ranges(c, ioas, "iova_ranges with the device");
	step("map_dma in the MSI window, device attached",
	     dma_map(c, buf, 0xfee00000, 0x1000), NULL);
	step("bind_iommufd on a group's device fd", bind(d0, c), NULL);
	{
		struct vfio_device_attach_iommufd_pt a = {
			.argsz = sizeof(a), .pt_id = ioas,
		};

		step("attach_pt on a group's device fd",
		     xioctl(d0, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a), NULL);
	}
	d0b = get_device(g1, DEV0, "get_device_fd again");
	cfg_id(d0b, " second fd");
	step("destroy the compat ioas in use", obj_destroy(c, ioas), NULL);

	note("cdev and group exclusion");
	io = iofd_open();
	x = xopen("/dev/vfio/devices/vfio0", "open vfio0 (group open)");
	step("bind vfio0 while the group is open", bind(x, io), NULL);
	close(x);
	x = xopen("/dev/vfio/devices/vfio1", "open vfio1");
	step("bind vfio1", bind(x, io) < 0 ? -errno : 0, NULL);
	g2 = xopen("/dev/vfio/2", "open /dev/vfio/2 while vfio1 is bound");
	close(x);
	g2 = xopen("/dev/vfio/2", "open /dev/vfio/2 after vfio1 closed");
	status(g2, " of group 2");
	x = xopen("/dev/vfio/devices/vfio1", "open vfio1 (group 2 open)");
	step("bind vfio1 while group 2 is open", bind(x, io), NULL);
	close(x);

	note("unset with devices open");
	step("unset_container", xioctl(g1, VFIO_GROUP_UNSET_CONTAINER, NULL), NULL);
	status(g1, " after unset (devices open)");
	get_device(g1, DEV0, "get_device_fd after unset");
	cfg_id(d0, " after unset");
	step("set_container /dev/iommu", set_container(g1, io), NULL);
	status(g1, " with /dev/iommu");
	x = get_device(g1, DEV0, "get_device_fd with /dev/iommu (already open)");
	close(x);

	note("group closed, devices open");
	close(g1);
	x = xopen("/dev/vfio/devices/vfio0", "open vfio0");
	step("bind vfio0 (group closed, device open)", bind(x, io), NULL);
	g1 = xopen("/dev/vfio/1", "reopen /dev/vfio/1");
	status(g1, " reopened");
	close(g1);
	close(d0);
	close(d0b);
	step("bind vfio0 (devices closed)", bind(x, io), NULL);
	dev_info(x, " of vfio0");
	g1 = xopen("/dev/vfio/1", "open /dev/vfio/1 while vfio0 is bound");
	close(x);

	note("/dev/iommu as the container");
	g1 = xopen("/dev/vfio/1", "open /dev/vfio/1");
	close(io);
	io = iofd_open();
	rc = vfio_ioas(io, IOMMU_VFIO_IOAS_GET, &ioas);
	step("vfio_ioas get before set_container", rc, NULL);
	step("set_container /dev/iommu", set_container(g1, io), NULL);
	rc = vfio_ioas(io, IOMMU_VFIO_IOAS_GET, &ioas);
	step_ok("vfio_ioas get", rc, "id=%u", ioas);
	step("destroy the compat ioas", obj_destroy(io, ioas), NULL);
	get_device(g1, DEV0, "get_device_fd without a compat ioas");
	rc = ioas_alloc(io, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	rc = vfio_ioas(io, IOMMU_VFIO_IOAS_SET, &ioas);
	step("vfio_ioas set", rc, NULL);
	d0 = get_device(g1, DEV0, "get_device_fd");
	show_ranges(io, ioas, "iova_ranges with the device");
	step("destroy the ioas in use", obj_destroy(io, ioas), NULL);
	step("close the iommufd", close(io) < 0 ? -errno : 0, NULL);
	dev_info(d0, " after the iommufd closed");
	step("unset_container", xioctl(g1, VFIO_GROUP_UNSET_CONTAINER, NULL), NULL);
	step("unset_container again", xioctl(g1, VFIO_GROUP_UNSET_CONTAINER, NULL), NULL);
	close(d0);
	status(g1, " after all closed");
	close(g1);
	close(g2);
	(void)nullfd;
	return 0;
}
