/* Something to watch in the live view: bind a VFIO device to an iommufd,
 * attach it to an IOAS, map a 4 MiB buffer (2 MiB entries where the memory
 * allows) and a 12 KiB one, then unmap, detach and close, pausing between
 * steps. On a machine with VFIO devices (qemu-vtd, qemu-vtd-sc, amd-vi,
 * arm-smmuv3...):
 *   cc -I include -o ui-demo examples/ui-demo.c
 *   bin/iommufd-emu run --platform qemu-vtd --ui -- ./ui-demo [SECONDS] [DEVICE]
 * and open the URL iommufd-emu prints on stderr. SECONDS (default 2) is the
 * pause between steps; "hold" instead waits for a line on stdin after the
 * attach and again after the maps. DEVICE defaults to /dev/vfio/devices/vfio0. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <iommufd_abi.h>

static double pause_s = 2;
static int hold;

static void step(const char *what)
{
	printf("ui-demo: %s\n", what);
	fflush(stdout);
	if (pause_s > 0)
		usleep((useconds_t)(pause_s * 1e6));
}

/* With "hold": wait for a line on stdin (the browser test's pacing). */
static void wait_enter(const char *where)
{
	if (!hold)
		return;
	printf("ui-demo: %s; press Enter\n", where);
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		sleep(1);
}

static int fail(const char *what)
{
	fprintf(stderr, "ui-demo: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "hold"))
		hold = 1, pause_s = 0;
	else if (argc > 1)
		pause_s = atof(argv[1]);
	const char *devpath = argc > 2 ? argv[2] : "/dev/vfio/devices/vfio0";

	int iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0)
		return fail("open /dev/iommu");
	int dev = open(devpath, O_RDWR);
	if (dev < 0)
		return fail(devpath);
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return fail("VFIO_DEVICE_BIND_IOMMUFD");
	step("bound");

	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		return fail("IOMMU_IOAS_ALLOC");
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = alloc.out_ioas_id };
	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	printf("ui-demo: IOAS %u, device %u attached to HWPT %u\n", alloc.out_ioas_id, bind.out_devid, attach.pt_id);
	step("attached");
	wait_enter("attached");

	/* 4 MiB from a 2 MiB-aligned address, so the domain can use 2 MiB entries. */
	size_t big = 4 << 20, small = 3 << 12;
	uint8_t *raw = mmap(NULL, big + (2 << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *small_buf = mmap(NULL, small, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED || small_buf == MAP_FAILED)
		return fail("mmap");
	uint8_t *buf = (uint8_t *)(((uintptr_t)raw + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
	memset(buf, 0x5a, big);
	memset(small_buf, 0xa5, small);
	struct iommu_ioas_map map = {
		.size = sizeof(map), .ioas_id = alloc.out_ioas_id,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)buf, .length = big, .iova = 0x200000,
	};
	if (ioctl(iommufd, IOMMU_IOAS_MAP, &map))
		return fail("IOMMU_IOAS_MAP (4 MiB)");
	step("mapped 4 MiB at IOVA 0x200000");
	struct iommu_ioas_map map2 = {
		.size = sizeof(map2), .ioas_id = alloc.out_ioas_id,
		.flags = IOMMU_IOAS_MAP_READABLE,
		.user_va = (uintptr_t)small_buf, .length = small,
	};
	if (ioctl(iommufd, IOMMU_IOAS_MAP, &map2))
		return fail("IOMMU_IOAS_MAP (12 KiB)");
	printf("ui-demo: mapped 12 KiB read-only at IOVA 0x%llx\n", (unsigned long long)map2.iova);
	step("mapped");
	wait_enter("mapped");

	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = alloc.out_ioas_id, .iova = 0x200000, .length = big };
	if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap))
		return fail("IOMMU_IOAS_UNMAP");
	step("unmapped the 4 MiB");
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };
	if (ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach))
		return fail("VFIO_DEVICE_DETACH_IOMMUFD_PT");
	step("detached");
	close(dev);
	close(iommufd);
	printf("ui-demo: done\n");
	return 0;
}
