// VFIO type1 container compatibility on the iommufd itself: IOMMU_VFIO_IOAS
// GET/SET/CLEAR, GET_API_VERSION, CHECK_EXTENSION, SET_IOMMU, IOMMU_GET_INFO
// (capability chain), MAP_DMA / UNMAP_DMA (partial unmaps in type1 v1 mode,
// UNMAP_ALL), DMA_CC_IOMMU with a mock domain.
// platform: mock
#include "step.h"
#include "iofd.h"

#define PG 0x1000ULL

static int fd;

static int dma_map(__u32 argsz, __u32 flags, void *va, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map c = {
		.argsz = argsz, .flags = flags, .vaddr = (uintptr_t)va,
		.iova = iova, .size = size,
	};

	return xioctl(fd, VFIO_IOMMU_MAP_DMA, &c);
}

static void dma_unmap(const char *what, __u32 argsz, __u32 flags, __u64 iova,
		      __u64 size)
{
	struct vfio_iommu_type1_dma_unmap c = {
		.argsz = argsz, .flags = flags, .iova = iova, .size = size,
	};
	int rc = xioctl(fd, VFIO_IOMMU_UNMAP_DMA, &c);

	step(L("unmap_dma 0x%llx+0x%llx%s", (unsigned long long)iova,
	       (unsigned long long)size, what), rc, "size=0x%llx",
	     (unsigned long long)c.size);
}

static void get_info(__u32 argsz, const char *what)
{
	unsigned char b[256];
	struct vfio_iommu_type1_info *i = (void *)b;
	int rc;

	memset(b, 0, sizeof(b));
	i->argsz = argsz;
	i->cap_offset = 0x5a5a;
	rc = xioctl(fd, VFIO_IOMMU_GET_INFO, b);
	printf("iommu_get_info argsz=%u%s: %s", argsz, what, rc_str(rc));
	if (rc == 0) {
		__u32 off = i->cap_offset;
		int guard = 0;

		printf(" argsz=%u flags=0x%x pgsizes=0x%llx cap_offset=0x%x",
		       i->argsz, i->flags, (unsigned long long)i->iova_pgsizes,
		       off);
		while (off && off + 8 <= sizeof(b) && off < argsz && guard++ < 8) {
			struct vfio_info_cap_header *h = (void *)(b + off);

			printf(" cap{id=%u ver=%u next=0x%x", h->id, h->version,
			       h->next);
			if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
				printf(" avail=0x%x", ((__u32 *)h)[2]);
			if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
				struct vfio_iommu_type1_info_cap_iova_range *r =
					(void *)h;
				__u32 k;

				printf(" nr=%u", r->nr_iovas);
				for (k = 0; k < r->nr_iovas && k < 4; k++)
					printf(" [0x%llx-0x%llx]",
					       (unsigned long long)r->iova_ranges[k].start,
					       (unsigned long long)r->iova_ranges[k].end);
			}
			printf("}");
			off = h->next;
		}
	}
	putchar('\n');
	fflush(stdout);
}

int main(void)
{
	char *buf = buf_alloc(64 * PG);
	__u32 ioas = 0, ioas2 = 0, x = 0, stdev = 0;
	unsigned long e;
	int rc;

	fd = iofd_open();
	note("no compat ioas yet");
	step("get_api_version", xioctl_val(fd, VFIO_GET_API_VERSION, 0), NULL);
	for (e = 1; e <= 11; e++)
		step(L("check_extension %lu", e),
		     xioctl_val(fd, VFIO_CHECK_EXTENSION, e), NULL);
	x = 0;
	rc = vfio_ioas(fd, IOMMU_VFIO_IOAS_GET, &x);
	step_ok("vfio_ioas GET", rc, "ioas=%u", x);
	step("set_iommu TYPE1v2",
	     xioctl_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), NULL);
	get_info(256, "");
	step("map_dma", dma_map(32, 3, buf, 0x100000, PG), NULL);
	dma_unmap("", 24, 0, 0x100000, PG);

	note("IOMMU_VFIO_IOAS");
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	x = 99;
	step("vfio_ioas SET bad id", vfio_ioas(fd, IOMMU_VFIO_IOAS_SET, &x), NULL);
	x = ioas;
	step("vfio_ioas SET", vfio_ioas(fd, IOMMU_VFIO_IOAS_SET, &x), NULL);
	x = 0;
	rc = vfio_ioas(fd, IOMMU_VFIO_IOAS_GET, &x);
	step_ok("vfio_ioas GET", rc, "ioas=%u", x);
	step("vfio_ioas CLEAR", vfio_ioas(fd, IOMMU_VFIO_IOAS_CLEAR, &x), NULL);
	rc = vfio_ioas(fd, IOMMU_VFIO_IOAS_GET, &x);
	step("vfio_ioas GET after CLEAR", rc, NULL);
	x = ioas;
	step("vfio_ioas SET", vfio_ioas(fd, IOMMU_VFIO_IOAS_SET, &x), NULL);
	step("vfio_ioas op 3", vfio_ioas(fd, 3, &x), NULL);

	note("container ioctls with a compat ioas");
	for (e = 1; e <= 10; e++)
		step(L("check_extension %lu", e),
		     xioctl_val(fd, VFIO_CHECK_EXTENSION, e), NULL);
	step("set_iommu 0", xioctl_val(fd, VFIO_SET_IOMMU, 0), NULL);
	step("set_iommu SPAPR", xioctl_val(fd, VFIO_SET_IOMMU, 2), NULL);
	step("set_iommu TYPE1v2",
	     xioctl_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), NULL);
	step("iommu_enable", xioctl_val(fd, VFIO_IOMMU_ENABLE, 0), NULL);
	step("iommu_dirty_pages", xioctl_val(fd, VFIO_IOMMU_DIRTY_PAGES, 0), NULL);
	step("group_get_status", xioctl_val(fd, VFIO_GROUP_GET_STATUS, 0), NULL);
	get_info(256, "");
	get_info(24, " (no room for caps)");
	get_info(16, "");
	get_info(12, "");
	get_info(48, " (room for one cap)");

	note("map_dma / unmap_dma");
	step("map_dma 0x100000 16 pages rw",
	     dma_map(32, 3, buf, 0x100000, 16 * PG), NULL);
	step("map_dma overlap", dma_map(32, 3, buf, 0x108000, 16 * PG), NULL);
	step("map_dma no flags", dma_map(32, 0, buf, 0x200000, PG), NULL);
	step("map_dma VADDR flag", dma_map(32, 7, buf, 0x300000, PG), NULL);
	step("map_dma argsz 24", dma_map(24, 3, buf, 0x300000, PG), NULL);
	step("map_dma size 0", dma_map(32, 3, buf, 0x300000, 0), NULL);
	step("map_dma unaligned iova", dma_map(32, 3, buf, 0x300800, PG), NULL);
	dma_unmap(" partial (v2)", 24, 0, 0x100000, 4 * PG);
	dma_unmap(" empty range", 24, 0, 0x900000, 4 * PG);
	dma_unmap(" whole", 24, 0, 0x100000, 16 * PG);
	dma_unmap(" size 0", 24, 0, 0x100000, 0);
	dma_unmap(" flags GET_DIRTY_BITMAP", 24, 1, 0x100000, PG);
	dma_unmap(" argsz 16", 16, 0, 0x100000, PG);
	dma_unmap(" ALL with iova", 24, VFIO_DMA_UNMAP_FLAG_ALL, 0x1000, 0);
	dma_unmap(" ALL", 24, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
	get_info(256, " after maps");

	note("type1 v1: large pages off, partial unmap splits");
	step("set_iommu TYPE1", xioctl_val(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU),
	     NULL);
	{
		__u64 v = 0;

		rc = iommu_opt(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
			       ioas, &v);
		step_ok("option HUGE_PAGES GET", rc, "val64=%llu",
			(unsigned long long)v);
	}
	step("map_dma 0x100000 16 pages",
	     dma_map(32, 3, buf, 0x100000, 16 * PG), NULL);
	dma_unmap(" middle 4 pages", 24, 0, 0x104000, 4 * PG);
	dma_unmap(" head 2 pages", 24, 0, 0x100000, 2 * PG);
	dma_unmap(" straddling a hole", 24, 0, 0x103000, 4 * PG);
	dma_unmap(" rest", 24, 0, 0x100000, 16 * PG);
	get_info(256, " type1");

	note("DMA_CC_IOMMU and a mock domain");
	step("check_extension DMA_CC_IOMMU no hwpt",
	     xioctl_val(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), NULL);
	rc = mock_domain(fd, ioas, 0, &stdev, NULL, NULL);
	step_ok("mock_domain", rc, "stdev=%u", stdev);
	step("check_extension DMA_CC_IOMMU mock hwpt",
	     xioctl_val(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), NULL);
	get_info(256, " mock domain");
	step("map_dma below the mock aperture",
	     dma_map(32, 3, buf, 0x100000, PG), NULL);
	step("map_dma 2K-aligned", dma_map(32, 3, buf, 0x1000800, 0x800), NULL);
	step("map_dma in aperture", dma_map(32, 3, buf, 0x1000000, 4 * PG), NULL);
	dma_unmap(" ALL", 24, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
	step("destroy stdev", obj_destroy(fd, stdev), NULL);

	note("destroying the compat ioas");
	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc 2", rc, "id=%u", ioas2);
	step("destroy compat ioas", obj_destroy(fd, ioas), NULL);
	rc = vfio_ioas(fd, IOMMU_VFIO_IOAS_GET, &x);
	step("vfio_ioas GET after destroy", rc, NULL);
	step("map_dma without compat ioas", dma_map(32, 3, buf, 0x100000, PG),
	     NULL);
	close(fd);
	return 0;
}
