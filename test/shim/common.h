/* Shared by the shim test clients: one line per step, "step: result". */
#ifndef SHIM_TEST_COMMON_H
#define SHIM_TEST_COMMON_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* include/uapi/linux/iommufd.h: _IO(';', 0x80 + n), no size or direction bits */
#define IOMMUFD_TYPE ';'
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, 0x80)
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, 0x85)
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, 0x86)
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, 0x87)

struct iommu_ioas_alloc { uint32_t size, flags, out_ioas_id; };
struct iommu_option { uint32_t size, option_id; uint16_t op, __reserved; uint32_t object_id; uint64_t val64; };
struct iommu_ioas_map { uint32_t size, flags, ioas_id, __reserved; uint64_t user_va, length, iova; };
struct iommu_ioas_unmap { uint32_t size, ioas_id; uint64_t iova, length; };
struct iommu_destroy { uint32_t size, id; };

#define IOMMU_OPTION_RLIMIT_MODE 0
#define IOMMU_OPTION_OP_SET 0
#define IOMMU_OPTION_OP_GET 1
#define IOMMU_IOAS_MAP_FIXED_IOVA (1 << 0)
#define IOMMU_IOAS_MAP_WRITEABLE (1 << 1)
#define IOMMU_IOAS_MAP_READABLE (1 << 2)

/* "name: 0" or "name: -1 EINVAL"; errno names for the ones we expect. */
static inline const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EIO: return "EIO";
	case EBADF: return "EBADF"; case ENOMEM: return "ENOMEM"; case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY"; case EINVAL: return "EINVAL"; case ENOTTY: return "ENOTTY";
	case ENODEV: return "ENODEV"; case E2BIG: return "E2BIG"; case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOSPC: return "ENOSPC"; case EEXIST: return "EEXIST";
	case ESPIPE: return "ESPIPE"; case EAGAIN: return "EAGAIN"; case ENXIO: return "ENXIO";
	case EACCES: return "EACCES"; case EMFILE: return "EMFILE";
	default: return "E?";
	}
}

static inline void report(const char *step, int rc)
{
	if (rc < 0)
		printf("%s: -1 %s\n", step, ename(errno));
	else
		printf("%s: %d\n", step, rc);
	fflush(stdout);
}

static inline int open_iommu(void)
{
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("open: -1 %s\n", ename(errno));
		exit(1);
	}
	return fd;
}

static inline int option_get(int fd, uint64_t *val)
{
	struct iommu_option o = { .size = sizeof(o), .option_id = IOMMU_OPTION_RLIMIT_MODE,
				  .op = IOMMU_OPTION_OP_GET, .val64 = 0xdeadbeef };
	int rc = ioctl(fd, IOMMU_OPTION, &o);
	if (val)
		*val = o.val64;
	return rc;
}
#endif
