/* SPDX-License-Identifier: MIT */
/*
 * iofd.h - thin wrappers over the iommufd ioctls for conformance clients.
 * Each returns the ioctl result (0, or -errno) and fills the out-fields the
 * caller asked for. Include step.h first.
 */
#ifndef IOMMUFD_EMU_IOFD_H
#define IOMMUFD_EMU_IOFD_H

#include "step.h"
#include "iommufd_abi.h"
#include <fcntl.h>

#define U64_MAX_ ((__u64)~0ULL)
#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define MAP_FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW)

static inline int iofd_open(void)
{
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0) {
		printf("open /dev/iommu: %s\n", errno_name(errno));
		exit(1);
	}
	return fd;
}

static inline int ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc c = { .size = sizeof(c) };
	int rc = xioctl(fd, IOMMU_IOAS_ALLOC, &c);

	if (rc == 0 && id)
		*id = c.out_ioas_id;
	return rc;
}

static inline int obj_destroy(int fd, __u32 id)
{
	struct iommu_destroy c = { .size = sizeof(c), .id = id };

	return xioctl(fd, IOMMU_DESTROY, &c);
}

/* Map at a fixed IOVA (flags add FIXED_IOVA) or, with *iova unused, auto. */
static inline int ioas_map(int fd, __u32 ioas, __u32 flags, void *va,
			   __u64 len, __u64 *iova)
{
	struct iommu_ioas_map c = {
		.size = sizeof(c), .flags = flags, .ioas_id = ioas,
		.user_va = (uintptr_t)va, .length = len,
		.iova = iova ? *iova : 0,
	};
	int rc = xioctl(fd, IOMMU_IOAS_MAP, &c);

	if (rc == 0 && iova)
		*iova = c.iova;
	return rc;
}

static inline int ioas_unmap(int fd, __u32 ioas, __u64 iova, __u64 len,
			     __u64 *unmapped)
{
	struct iommu_ioas_unmap c = {
		.size = sizeof(c), .ioas_id = ioas, .iova = iova, .length = len,
	};
	int rc = xioctl(fd, IOMMU_IOAS_UNMAP, &c);

	if (unmapped)
		*unmapped = rc == 0 ? c.length : 0;
	return rc;
}

static inline int ioas_copy(int fd, __u32 dst, __u32 src, __u32 flags,
			    __u64 src_iova, __u64 len, __u64 *dst_iova)
{
	struct iommu_ioas_copy c = {
		.size = sizeof(c), .flags = flags, .dst_ioas_id = dst,
		.src_ioas_id = src, .length = len, .src_iova = src_iova,
		.dst_iova = dst_iova ? *dst_iova : 0,
	};
	int rc = xioctl(fd, IOMMU_IOAS_COPY, &c);

	if (rc == 0 && dst_iova)
		*dst_iova = c.dst_iova;
	return rc;
}

/* IOVA_RANGES into ranges[cap]; *num gets the count the kernel wrote back. */
static inline int ioas_ranges(int fd, __u32 ioas, struct iommu_iova_range *r,
			      __u32 cap, __u32 *num, __u64 *align)
{
	struct iommu_ioas_iova_ranges c = {
		.size = sizeof(c), .ioas_id = ioas, .num_iovas = cap,
		.allowed_iovas = (uintptr_t)r,
	};
	int rc = xioctl(fd, IOMMU_IOAS_IOVA_RANGES, &c);

	if (num)
		*num = c.num_iovas;
	if (align)
		*align = c.out_iova_alignment;
	return rc;
}

/* Print the IOVA ranges of an IOAS as one line. */
static inline void show_ranges(int fd, __u32 ioas, const char *label)
{
	struct iommu_iova_range r[8];
	__u32 n = 0, i;
	__u64 align = 0;
	int rc = ioas_ranges(fd, ioas, r, 8, &n, &align);

	printf("%s: %s", label, rc_str(rc));
	if (rc == 0) {
		printf(" num=%u align=0x%llx", n, (unsigned long long)align);
		for (i = 0; i < n && i < 8; i++)
			printf(" [0x%llx-0x%llx]", (unsigned long long)r[i].start,
			       (unsigned long long)r[i].last);
	}
	putchar('\n');
	fflush(stdout);
}

static inline int ioas_allow(int fd, __u32 ioas, struct iommu_iova_range *r,
			     __u32 num)
{
	struct iommu_ioas_allow_iovas c = {
		.size = sizeof(c), .ioas_id = ioas, .num_iovas = num,
		.allowed_iovas = (uintptr_t)r,
	};

	return xioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &c);
}

static inline int iommu_opt(int fd, __u32 option, __u16 op, __u32 obj,
			    __u64 *val)
{
	struct iommu_option c = {
		.size = sizeof(c), .option_id = option, .op = op,
		.object_id = obj, .val64 = val ? *val : 0,
	};
	int rc = xioctl(fd, IOMMU_OPTION, &c);

	if (rc == 0 && val)
		*val = c.val64;
	return rc;
}

static inline int vfio_ioas(int fd, __u16 op, __u32 *ioas)
{
	struct iommu_vfio_ioas c = {
		.size = sizeof(c), .op = op, .ioas_id = ioas ? *ioas : 0,
	};
	int rc = xioctl(fd, IOMMU_VFIO_IOAS, &c);

	if (rc == 0 && ioas)
		*ioas = c.ioas_id;
	return rc;
}

static inline int hwpt_alloc(int fd, __u32 flags, __u32 dev, __u32 pt,
			     __u32 data_type, void *data, __u32 data_len,
			     __u32 *out)
{
	struct iommu_hwpt_alloc c = {
		.size = sizeof(c), .flags = flags, .dev_id = dev, .pt_id = pt,
		.data_type = data_type, .data_len = data_len,
		.data_uptr = (uintptr_t)data,
	};
	int rc = xioctl(fd, IOMMU_HWPT_ALLOC, &c);

	if (rc == 0 && out)
		*out = c.out_hwpt_id;
	return rc;
}

/* ---- IOMMU_TEST_CMD ---- */

static inline struct iommu_test_cmd test_cmd(__u32 op, __u32 id)
{
	struct iommu_test_cmd c;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.op = op;
	c.id = id;
	return c;
}

/* MOCK_DOMAIN(_FLAGS) on pt; returns stdev, hwpt and idev IDs. */
static inline int mock_domain(int fd, __u32 pt, __u32 dev_flags, __u32 *stdev,
			      __u32 *hwpt, __u32 *idev)
{
	struct iommu_test_cmd c = test_cmd(dev_flags ?
		IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN, pt);
	int rc;

	c.mock_domain_flags.dev_flags = dev_flags;
	rc = xioctl(fd, IOMMU_TEST_CMD, &c);
	if (rc == 0) {
		if (stdev)
			*stdev = c.mock_domain.out_stdev_id;
		if (hwpt)
			*hwpt = c.mock_domain.out_hwpt_id;
		if (idev)
			*idev = c.mock_domain.out_idev_id;
	}
	return rc;
}

static inline int mock_replace(int fd, __u32 stdev, __u32 *pt)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
					   stdev);
	int rc;

	c.mock_domain_replace.pt_id = *pt;
	rc = xioctl(fd, IOMMU_TEST_CMD, &c);
	if (rc == 0)
		*pt = c.mock_domain_replace.pt_id;
	return rc;
}

static inline int add_reserved(int fd, __u32 ioas, __u64 start, __u64 len)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_ADD_RESERVED, ioas);

	c.add_reserved.start = start;
	c.add_reserved.length = len;
	return xioctl(fd, IOMMU_TEST_CMD, &c);
}

static inline int check_map(int fd, __u32 hwpt, __u64 iova, __u64 len,
			    void *va)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_MD_CHECK_MAP, hwpt);

	c.check_map.iova = iova;
	c.check_map.length = len;
	c.check_map.uptr = (uintptr_t)va;
	return xioctl(fd, IOMMU_TEST_CMD, &c);
}

static inline int check_refs(int fd, void *va, __u64 len, __u32 refs)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_MD_CHECK_REFS, 0);

	c.check_refs.length = len;
	c.check_refs.uptr = (uintptr_t)va;
	c.check_refs.refs = refs;
	return xioctl(fd, IOMMU_TEST_CMD, &c);
}

/* The pin count of the page at va, found with MD_CHECK_REFS (-1: none <= 16). */
static inline int page_pins(int fd, void *va)
{
	int r;

	for (r = 0; r <= 16; r++)
		if (check_refs(fd, va, 4096, r) == 0)
			return r;
	return -1;
}

static inline int create_access(int fd, __u32 ioas, __u32 flags, int *afd)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_CREATE_ACCESS, ioas);
	int rc;

	c.create_access.flags = flags;
	rc = xioctl(fd, IOMMU_TEST_CMD, &c);
	if (rc == 0 && afd)
		*afd = (int)c.create_access.out_access_fd;
	return rc;
}

static inline int access_pages(int fd, int afd, __u32 flags, __u64 iova,
			       __u64 len, void *va, __u32 *item)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_ACCESS_PAGES, afd);
	int rc;

	c.access_pages.flags = flags;
	c.access_pages.iova = iova;
	c.access_pages.length = len;
	c.access_pages.uptr = (uintptr_t)va;
	rc = xioctl(fd, IOMMU_TEST_CMD, &c);
	if (rc == 0 && item)
		*item = c.access_pages.out_access_pages_id;
	return rc;
}

static inline int access_unpin(int fd, int afd, __u32 item)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
					   afd);

	c.destroy_access_pages.access_pages_id = item;
	return xioctl(fd, IOMMU_TEST_CMD, &c);
}

static inline int access_rw(int fd, int afd, __u32 flags, __u64 iova,
			    __u64 len, void *va)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_ACCESS_RW, afd);

	c.access_rw.flags = flags;
	c.access_rw.iova = iova;
	c.access_rw.length = len;
	c.access_rw.uptr = (uintptr_t)va;
	return xioctl(fd, IOMMU_TEST_CMD, &c);
}

static inline int get_hw_info(int fd, __u32 dev, void *data, __u32 len,
			      struct iommu_hw_info *out)
{
	struct iommu_hw_info c = {
		.size = sizeof(c), .dev_id = dev, .data_len = len,
		.data_uptr = (uintptr_t)data,
	};
	int rc = xioctl(fd, IOMMU_GET_HW_INFO, &c);

	if (out)
		*out = c;
	return rc;
}

#endif /* IOMMUFD_EMU_IOFD_H */
