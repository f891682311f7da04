/* SPDX-License-Identifier: MIT */
/*
 * iommufd_abi.h - the iommufd userspace ABI, for programs built where the
 * system has no <linux/iommufd.h> (Debian 12's kernel headers, 6.1, have
 * none) or an old <linux/vfio.h>. Installed by the iommufd-emu package in
 * its include/ directory:
 *     cc -I node_modules/iommufd-emu/include prog.c
 *     #include <iommufd_abi.h>
 *
 * Request numbers, field order, widths and offsets follow the Linux 7.2 uAPI
 * (include/uapi/linux/iommufd.h, vfio.h and the selftests' iommufd_test.h).
 * It is the header iommufd-emu's own conformance clients use, whose output
 * is compared with a real kernel's.
 *
 * Three parts, each guarded by the include guard of the kernel header it
 * stands in for (both the kernel-tree and the installed, headers_install
 * spelling), so a system header included first wins and one included
 * afterwards becomes a no-op:
 *   1. /dev/iommu ioctls               (guard _UAPI_IOMMUFD_H / _IOMMUFD_H)
 *   2. VFIO: container/type1 compat    (guard _UAPIVFIO_H / VFIO_H)
 *      VFIO: device cdev <-> iommufd   (guarded by VFIO_DEVICE_BIND_IOMMUFD,
 *                                       which 6.1's vfio.h lacks)
 *   3. IOMMU_TEST_CMD, the mock driver ABI (guard _UAPI_IOMMUFD_TEST_H)
 * A program that includes <linux/vfio.h> from 6.1 first therefore gets 6.1's
 * struct vfio_device_info (no trailing pad) and our cdev structs.
 */
#ifndef IOMMUFD_EMU_ABI_H
#define IOMMUFD_EMU_ABI_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* ====================================================================== */
/* 1. iommufd                                                              */
/* ====================================================================== */
#if !defined(_UAPI_IOMMUFD_H) && !defined(_IOMMUFD_H)
#define _UAPI_IOMMUFD_H
#define _IOMMUFD_H

#define IOMMUFD_TYPE (';')

/* Command numbers: request = _IO(';', nr), no size or direction bits. */
enum {
	IOMMUFD_CMD_BASE                    = 0x80,
	IOMMUFD_CMD_DESTROY                 = 0x80,
	IOMMUFD_CMD_IOAS_ALLOC              = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS        = 0x82,
	IOMMUFD_CMD_IOAS_COPY               = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES        = 0x84,
	IOMMUFD_CMD_IOAS_MAP                = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP              = 0x86,
	IOMMUFD_CMD_OPTION                  = 0x87,
	IOMMUFD_CMD_VFIO_IOAS               = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC              = 0x89,
	IOMMUFD_CMD_GET_HW_INFO             = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP   = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE         = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC       = 0x8e,
	IOMMUFD_CMD_IOAS_MAP_FILE           = 0x8f,
	IOMMUFD_CMD_VIOMMU_ALLOC            = 0x90,
	IOMMUFD_CMD_VDEVICE_ALLOC           = 0x91,
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS     = 0x92,
	IOMMUFD_CMD_VEVENTQ_ALLOC           = 0x93,
	IOMMUFD_CMD_HW_QUEUE_ALLOC          = 0x94,
};

/* IOMMU_DESTROY: 8 bytes, min 8 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/* IOMMU_IOAS_ALLOC: 12 bytes, min 12 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/* One inclusive IOVA range, used by IOVA_RANGES and ALLOW_IOVAS arrays. */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/* IOMMU_IOAS_IOVA_RANGES: 32 bytes, min 32; EMSGSIZE + needed count if short */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;      /* user pointer to iommu_iova_range[] */
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/* IOMMU_IOAS_ALLOW_IOVAS: 24 bytes, min 24 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;      /* user pointer to iommu_iova_range[] */
};
#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/* Flags for IOAS_MAP, IOAS_MAP_FILE and IOAS_COPY */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE  = 1 << 1,
	IOMMU_IOAS_MAP_READABLE   = 1 << 2,
};

/* IOMMU_IOAS_MAP: 40 bytes, min 40 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;               /* in with FIXED_IOVA, always out */
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/* IOMMU_IOAS_MAP_FILE: 40 bytes, min 40 */
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)

/* IOMMU_IOAS_COPY: 40 bytes, min 40 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/* IOMMU_IOAS_UNMAP: 24 bytes, min 24; iova 0 + length U64_MAX = unmap all */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;             /* in: bytes; out: bytes unmapped */
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES  = 1,
};

enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/* IOMMU_OPTION: 24 bytes, min 24 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET   = 0,
	IOMMU_VFIO_IOAS_SET   = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/* IOMMU_VFIO_IOAS: 12 bytes, min 12 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};
#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT    = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID       = 1 << 2,
	IOMMU_HWPT_ALLOC_PASID          = 1 << 3,
};

enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE  = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE  = 1 << 2,
};

/* HWPT_ALLOC payload for IOMMU_HWPT_DATA_VTD_S1 (24 bytes) */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/* HWPT_ALLOC payload for IOMMU_HWPT_DATA_ARM_SMMUV3 (16 bytes) */
struct iommu_hwpt_arm_smmuv3 {
	__aligned_le64 ste[2];
};

/* HWPT_ALLOC payload for IOMMU_HWPT_DATA_AMD_GUEST (32 bytes) */
struct iommu_hwpt_amd_guest {
	__aligned_u64 dte[4];
};

enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE      = 0,
	IOMMU_HWPT_DATA_VTD_S1    = 1,
	IOMMU_HWPT_DATA_ARM_SMMUV3 = 2,
	IOMMU_HWPT_DATA_AMD_GUEST = 3,
};

/* IOMMU_HWPT_ALLOC: 48 bytes, min 24 (through __reserved) */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/* GET_HW_INFO payload, type INTEL_VTD (24 bytes) */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/* GET_HW_INFO payload, type ARM_SMMUV3 (40 bytes) */
struct iommu_hw_info_arm_smmuv3 {
	__u32 flags;
	__u32 __reserved;
	__u32 idr[6];
	__u32 iidr;
	__u32 aidr;
};

/* GET_HW_INFO payload, type TEGRA241_CMDQV (8 bytes) */
struct iommu_hw_info_tegra241_cmdqv {
	__u32 flags;
	__u8 version;
	__u8 log2vcmdqs;
	__u8 log2vsids;
	__u8 __reserved;
};

/* GET_HW_INFO payload, type AMD (16 bytes) */
struct iommu_hw_info_amd {
	__aligned_u64 efr;
	__aligned_u64 efr2;
};

enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE           = 0,
	IOMMU_HW_INFO_TYPE_DEFAULT        = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD      = 1,
	IOMMU_HW_INFO_TYPE_ARM_SMMUV3     = 2,
	IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3,
	IOMMU_HW_INFO_TYPE_AMD            = 4,
};

enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING        = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC        = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV        = 1 << 2,
	IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 1 << 3,
};

enum iommufd_hw_info_flags {
	IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0,
};

/* IOMMU_GET_HW_INFO: 40 bytes, min 32 (through __reserved[3]) */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;                   /* in: buffer bytes; out: driver bytes */
	__aligned_u64 data_uptr;
	union {
		__u32 in_data_type;
		__u32 out_data_type;
	};
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/* IOMMU_HWPT_SET_DIRTY_TRACKING: 16 bytes, min 16 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/* IOMMU_HWPT_GET_DIRTY_BITMAP: 48 bytes, min 48 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;               /* user pointer to a __u64 bitmap */
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1       = 0,
	IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1,
};

enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/* HWPT_INVALIDATE entry for VTD_S1 (24 bytes) */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/* HWPT_INVALIDATE entry for ARM SMMUv3 vIOMMU (16 bytes) */
struct iommu_viommu_arm_smmuv3_invalidate {
	__aligned_le64 cmd[2];
};

/* IOMMU_HWPT_INVALIDATE: 32 bytes, min 32 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;                  /* in: entries; out: entries handled */
	__u32 __reserved;
};
#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = 1 << 0,
	IOMMU_PGFAULT_FLAGS_LAST_PAGE   = 1 << 1,
};

enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ  = 1 << 0,
	IOMMU_PGFAULT_PERM_WRITE = 1 << 1,
	IOMMU_PGFAULT_PERM_EXEC  = 1 << 2,
	IOMMU_PGFAULT_PERM_PRIV  = 1 << 3,
};

/* Record read() from a fault queue fd (40 bytes) */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/* Record write()n to a fault queue fd (8 bytes) */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/* IOMMU_FAULT_QUEUE_ALLOC: 16 bytes, min 16 */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};
#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

enum iommu_viommu_type {
	IOMMU_VIOMMU_TYPE_DEFAULT         = 0,
	IOMMU_VIOMMU_TYPE_ARM_SMMUV3      = 1,
	IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV  = 2,
};

/* VIOMMU_ALLOC payload for TEGRA241_CMDQV (16 bytes) */
struct iommu_viommu_tegra241_cmdqv {
	__aligned_u64 out_vintf_mmap_offset;
	__aligned_u64 out_vintf_mmap_length;
};

/* IOMMU_VIOMMU_ALLOC: 40 bytes, min 24 (through out_viommu_id) */
struct iommu_viommu_alloc {
	__u32 size;
	__u32 flags;
	__u32 type;
	__u32 dev_id;
	__u32 hwpt_id;
	__u32 out_viommu_id;
	__u32 data_len;
	__u32 __reserved;
	__aligned_u64 data_uptr;
};
#define IOMMU_VIOMMU_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VIOMMU_ALLOC)

/* IOMMU_VDEVICE_ALLOC: 24 bytes, min 24 */
struct iommu_vdevice_alloc {
	__u32 size;
	__u32 viommu_id;
	__u32 dev_id;
	__u32 out_vdevice_id;
	__aligned_u64 virt_id;
};
#define IOMMU_VDEVICE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VDEVICE_ALLOC)

/* IOMMU_IOAS_CHANGE_PROCESS: 8 bytes, min 8 */
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};
#define IOMMU_IOAS_CHANGE_PROCESS \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

enum iommu_veventq_flag {
	IOMMU_VEVENTQ_FLAG_LOST_EVENTS = 1U << 0,
};

/* Header in front of every event read() from a vEVENTQ fd (8 bytes) */
struct iommufd_vevent_header {
	__u32 flags;
	__u32 sequence;
};

enum iommu_veventq_type {
	IOMMU_VEVENTQ_TYPE_DEFAULT        = 0,
	IOMMU_VEVENTQ_TYPE_ARM_SMMUV3     = 1,
	IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2,
};

struct iommu_vevent_arm_smmuv3 {
	__aligned_le64 evt[4];
};

struct iommu_vevent_tegra241_cmdqv {
	__aligned_le64 lvcmdq_err_map[2];
};

/* IOMMU_VEVENTQ_ALLOC: 32 bytes, min 28 (through out_veventq_fd) */
struct iommu_veventq_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 veventq_depth;
	__u32 out_veventq_id;
	__u32 out_veventq_fd;
	__u32 __reserved;
};
#define IOMMU_VEVENTQ_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VEVENTQ_ALLOC)

enum iommu_hw_queue_type {
	IOMMU_HW_QUEUE_TYPE_DEFAULT         = 0,
	IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV  = 1,
};

/* IOMMU_HW_QUEUE_ALLOC: 40 bytes, min 40 */
struct iommu_hw_queue_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 index;
	__u32 out_hw_queue_id;
	__aligned_u64 nesting_parent_iova;
	__aligned_u64 length;
};
#define IOMMU_HW_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC)

#endif /* _UAPI_IOMMUFD_H */

/* ====================================================================== */
/* 2. VFIO                                                                 */
/* ====================================================================== */
#if !defined(_UAPIVFIO_H) && !defined(VFIO_H)
#define _UAPIVFIO_H
#define VFIO_H

#define VFIO_API_VERSION 0

/* Extensions, for VFIO_CHECK_EXTENSION and VFIO_SET_IOMMU */
#define VFIO_TYPE1_IOMMU                      1
#define VFIO_SPAPR_TCE_IOMMU                  2
#define VFIO_TYPE1v2_IOMMU                    3
#define VFIO_DMA_CC_IOMMU                     4
#define VFIO_EEH                              5
#define __VFIO_RESERVED_TYPE1_NESTING_IOMMU   6
#define VFIO_SPAPR_TCE_v2_IOMMU               7
#define VFIO_NOIOMMU_IOMMU                    8
#define VFIO_UNMAP_ALL                        9
#define VFIO_UPDATE_VADDR                     10

#define VFIO_TYPE (';')
#define VFIO_BASE 100

/* Capability chain header inside *_info structs */
struct vfio_info_cap_header {
	__u16 id;
	__u16 version;
	__u32 next;                       /* offset from the start of the info */
};

/* Container ioctls; with iommufd these go to the iommufd itself */
#define VFIO_GET_API_VERSION       _IO(VFIO_TYPE, VFIO_BASE + 0)
#define VFIO_CHECK_EXTENSION       _IO(VFIO_TYPE, VFIO_BASE + 1)  /* arg: value */
#define VFIO_SET_IOMMU             _IO(VFIO_TYPE, VFIO_BASE + 2)  /* arg: value */
#define VFIO_GROUP_GET_STATUS      _IO(VFIO_TYPE, VFIO_BASE + 3)
#define VFIO_GROUP_SET_CONTAINER   _IO(VFIO_TYPE, VFIO_BASE + 4)
#define VFIO_GROUP_UNSET_CONTAINER _IO(VFIO_TYPE, VFIO_BASE + 5)
#define VFIO_GROUP_GET_DEVICE_FD   _IO(VFIO_TYPE, VFIO_BASE + 6)

/* VFIO_DEVICE_GET_INFO: 24 bytes, minsz 16 (through num_irqs) */
struct vfio_device_info {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_FLAGS_RESET    (1 << 0)
#define VFIO_DEVICE_FLAGS_PCI      (1 << 1)
#define VFIO_DEVICE_FLAGS_PLATFORM (1 << 2)
#define VFIO_DEVICE_FLAGS_AMBA     (1 << 3)
#define VFIO_DEVICE_FLAGS_CCW      (1 << 4)
#define VFIO_DEVICE_FLAGS_AP       (1 << 5)
#define VFIO_DEVICE_FLAGS_FSL_MC   (1 << 6)
#define VFIO_DEVICE_FLAGS_CAPS     (1 << 7)
#define VFIO_DEVICE_FLAGS_CDX      (1 << 8)
	__u32 num_regions;
	__u32 num_irqs;
	__u32 cap_offset;
	__u32 pad;
};
#define VFIO_DEVICE_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 7)

/* VFIO_IOMMU_GET_INFO: 24 bytes, minsz 16 */
struct vfio_iommu_type1_info {
	__u32 argsz;
	__u32 flags;
#define VFIO_IOMMU_INFO_PGSIZES (1 << 0)
#define VFIO_IOMMU_INFO_CAPS    (1 << 1)
	__aligned_u64 iova_pgsizes;
	__u32 cap_offset;
	__u32 pad;
};

#define VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE 1
struct vfio_iova_range {
	__u64 start;
	__u64 end;                        /* inclusive */
};
struct vfio_iommu_type1_info_cap_iova_range {
	struct vfio_info_cap_header header;
	__u32 nr_iovas;
	__u32 reserved;
	struct vfio_iova_range iova_ranges[];
};

#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3
struct vfio_iommu_type1_info_dma_avail {
	struct vfio_info_cap_header header;
	__u32 avail;
};

#define VFIO_IOMMU_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)

/* VFIO_IOMMU_MAP_DMA: 32 bytes, minsz 32 */
struct vfio_iommu_type1_dma_map {
	__u32 argsz;
	__u32 flags;
#define VFIO_DMA_MAP_FLAG_READ  (1 << 0)
#define VFIO_DMA_MAP_FLAG_WRITE (1 << 1)
#define VFIO_DMA_MAP_FLAG_VADDR (1 << 2)
	__u64 vaddr;
	__u64 iova;
	__u64 size;
};
#define VFIO_IOMMU_MAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 13)

/* VFIO_IOMMU_UNMAP_DMA: 24 bytes, minsz 24; size is written back */
struct vfio_iommu_type1_dma_unmap {
	__u32 argsz;
	__u32 flags;
#define VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (1 << 0)
#define VFIO_DMA_UNMAP_FLAG_ALL              (1 << 1)
#define VFIO_DMA_UNMAP_FLAG_VADDR            (1 << 2)
	__u64 iova;
	__u64 size;
	__u8 data[];
};
#define VFIO_IOMMU_UNMAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 14)

#define VFIO_IOMMU_ENABLE       _IO(VFIO_TYPE, VFIO_BASE + 15)
#define VFIO_IOMMU_DISABLE      _IO(VFIO_TYPE, VFIO_BASE + 16)
#define VFIO_IOMMU_DIRTY_PAGES  _IO(VFIO_TYPE, VFIO_BASE + 17)

#endif /* _UAPIVFIO_H */

/* Device cdev <-> iommufd (Linux 6.6+), on /dev/vfio/devices/vfioN */
#ifndef VFIO_DEVICE_BIND_IOMMUFD

/* VFIO_DEVICE_BIND_IOMMUFD: 24 bytes, minsz 16 (through out_devid) */
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_BIND_FLAG_TOKEN (1 << 0)
	__s32 iommufd;
	__u32 out_devid;
	__aligned_u64 token_uuid_ptr;     /* only with BIND_FLAG_TOKEN */
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

/* VFIO_DEVICE_ATTACH_IOMMUFD_PT: 16 bytes, minsz 12 (through pt_id) */
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_ATTACH_PASID (1 << 0)
	__u32 pt_id;                      /* in: IOAS/HWPT; out: attached HWPT */
	__u32 pasid;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)

/* VFIO_DEVICE_DETACH_IOMMUFD_PT: 12 bytes, minsz 8 (through flags) */
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
#define VFIO_DEVICE_DETACH_PASID (1 << 0)
	__u32 pasid;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)

#endif /* VFIO_DEVICE_BIND_IOMMUFD */

/* ====================================================================== */
/* 3. IOMMU_TEST_CMD (kernel built with CONFIG_IOMMUFD_TEST)               */
/* ====================================================================== */
#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H

enum {
	IOMMU_TEST_OP_ADD_RESERVED          = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN           = 2,
	IOMMU_TEST_OP_MD_CHECK_MAP          = 3,
	IOMMU_TEST_OP_MD_CHECK_REFS         = 4,
	IOMMU_TEST_OP_CREATE_ACCESS         = 5,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES  = 6,
	IOMMU_TEST_OP_ACCESS_PAGES          = 7,
	IOMMU_TEST_OP_ACCESS_RW             = 8,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE   = 10,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS   = 11,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS     = 12,
	IOMMU_TEST_OP_DIRTY                 = 13,
	IOMMU_TEST_OP_MD_CHECK_IOTLB        = 14,
	IOMMU_TEST_OP_TRIGGER_IOPF          = 15,
	IOMMU_TEST_OP_DEV_CHECK_CACHE       = 16,
	IOMMU_TEST_OP_TRIGGER_VEVENT        = 17,
	IOMMU_TEST_OP_PASID_ATTACH          = 18,
	IOMMU_TEST_OP_PASID_REPLACE         = 19,
	IOMMU_TEST_OP_PASID_DETACH          = 20,
	IOMMU_TEST_OP_PASID_CHECK_HWPT      = 21,
	IOMMU_TEST_OP_DMABUF_GET            = 22,
	IOMMU_TEST_OP_DMABUF_REVOKE         = 23,
};

/* iommu_hwpt_selftest.pagetable_type */
enum {
	MOCK_IOMMUPT_DEFAULT = 0,
	MOCK_IOMMUPT_HUGE    = 1,
};

enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST  = (1UL << 31) - 1,
	MOCK_PAGE_SIZE      = 2048,
	MOCK_HUGE_PAGE_SIZE = 512 * 2048,
};

enum {  /* ACCESS_PAGES flags */
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ   = 1 << 16,
};

enum {  /* ACCESS_RW flags */
	MOCK_ACCESS_RW_WRITE     = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

enum {  /* CREATE_ACCESS flags */
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

enum {  /* MOCK_DOMAIN_FLAGS dev_flags */
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_PASID    = 1 << 2,
};

enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM    = 4,
};

enum {
	MOCK_DEV_CACHE_ID_MAX = 3,
	MOCK_DEV_CACHE_NUM    = 4,
};

#define IOMMU_TEST_PASID_RESERVED 1024

/* IOMMU_TEST_CMD: 72 bytes, min 68 (through last). Payload starts at 16. */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {                      /* ADD_RESERVED, id = IOAS */
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {                      /* MOCK_DOMAIN, id = IOAS/HWPT */
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {                      /* MOCK_DOMAIN_FLAGS */
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {                      /* MOCK_DOMAIN_REPLACE, id = stdev */
			__u32 pt_id;
		} mock_domain_replace;
		struct {                      /* MD_CHECK_MAP, id = HWPT */
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {                      /* MD_CHECK_REFS */
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {                      /* CREATE_ACCESS, id = IOAS */
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {                      /* DESTROY_ACCESS_PAGES, id = fd */
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {                      /* ACCESS_PAGES, id = access fd */
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {                      /* ACCESS_RW, id = access fd */
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {                      /* SET_TEMP_MEMORY_LIMIT */
			__u32 limit;
		} memory_limit;
		struct {                      /* ACCESS_REPLACE_IOAS, id = fd */
			__u32 ioas_id;
		} access_replace_ioas;
		struct {                      /* DIRTY, id = HWPT */
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {                      /* MD_CHECK_IOTLB, id = nested HWPT */
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {                      /* TRIGGER_IOPF */
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
		struct {                      /* DEV_CHECK_CACHE, id = idev */
			__u32 id;
			__u32 cache;
		} check_dev_cache;
		struct {                      /* TRIGGER_VEVENT */
			__u32 dev_id;
		} trigger_vevent;
		struct {                      /* PASID_ATTACH, id = stdev */
			__u32 pasid;
			__u32 pt_id;
		} pasid_attach;
		struct {                      /* PASID_REPLACE, id = stdev */
			__u32 pasid;
			__u32 pt_id;
		} pasid_replace;
		struct {                      /* PASID_DETACH, id = stdev */
			__u32 pasid;
		} pasid_detach;
		struct {                      /* PASID_CHECK_HWPT, id = stdev */
			__u32 pasid;
			__u32 hwpt_id;
		} pasid_check;
		struct {                      /* DMABUF_GET: fd is the return value */
			__u32 length;
			__u32 open_flags;
		} dmabuf_get;
		struct {                      /* DMABUF_REVOKE */
			__s32 dmabuf_fd;
			__u32 revoked;
		} dmabuf_revoke;
	};
	__u32 last;
};
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

#define MOCK_PASID_WIDTH 20

#define IOMMU_HW_INFO_TYPE_SELFTEST   0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef
/* GET_HW_INFO payload of a mock device (8 bytes) */
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef
#define IOMMU_TEST_DEV_CACHE_DEFAULT 0xbaddad
/* HWPT_ALLOC payload for IOMMU_HWPT_DATA_SELFTEST (8 bytes, min 4) */
struct iommu_hwpt_selftest {
	__u32 iotlb;
	__u32 pagetable_type;
};

#define IOMMU_TEST_INVALIDATE_FLAG_ALL (1 << 0)

#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST         0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef
struct iommu_hwpt_invalidate_selftest {
	__u32 flags;
	__u32 iotlb_id;
};

#define IOMMU_VIOMMU_TYPE_SELFTEST 0xdeadbeef
struct iommu_viommu_selftest {
	__u32 in_data;
	__u32 out_data;
	__aligned_u64 out_mmap_offset;
	__aligned_u64 out_mmap_length;
};

#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST         0xdeadbeef
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef
struct iommu_viommu_invalidate_selftest {
	__u32 flags;
	__u32 vdev_id;
	__u32 cache_id;
};

#define IOMMU_VEVENTQ_TYPE_SELFTEST 0xbeefbeef
struct iommu_viommu_event_selftest {
	__u32 virt_id;
};

#define IOMMU_HW_QUEUE_TYPE_SELFTEST 0xdeadbeef
#define IOMMU_TEST_HW_QUEUE_MAX 2

#endif /* _UAPI_IOMMUFD_TEST_H */

/* ---- layout checks (x86-64) ---- */
#define IOMMUFD_ABI_CHECK(s, n) \
	_Static_assert(sizeof(struct s) == (n), "size of struct " #s)
IOMMUFD_ABI_CHECK(iommu_destroy, 8);
IOMMUFD_ABI_CHECK(iommu_ioas_alloc, 12);
IOMMUFD_ABI_CHECK(iommu_ioas_allow_iovas, 24);
IOMMUFD_ABI_CHECK(iommu_ioas_copy, 40);
IOMMUFD_ABI_CHECK(iommu_ioas_iova_ranges, 32);
IOMMUFD_ABI_CHECK(iommu_ioas_map, 40);
IOMMUFD_ABI_CHECK(iommu_ioas_map_file, 40);
IOMMUFD_ABI_CHECK(iommu_ioas_unmap, 24);
IOMMUFD_ABI_CHECK(iommu_option, 24);
IOMMUFD_ABI_CHECK(iommu_vfio_ioas, 12);
IOMMUFD_ABI_CHECK(iommu_hwpt_alloc, 48);
IOMMUFD_ABI_CHECK(iommu_hw_info, 40);
IOMMUFD_ABI_CHECK(iommu_hwpt_set_dirty_tracking, 16);
IOMMUFD_ABI_CHECK(iommu_hwpt_get_dirty_bitmap, 48);
IOMMUFD_ABI_CHECK(iommu_hwpt_invalidate, 32);
IOMMUFD_ABI_CHECK(iommu_fault_alloc, 16);
IOMMUFD_ABI_CHECK(iommu_viommu_alloc, 40);
IOMMUFD_ABI_CHECK(iommu_vdevice_alloc, 24);
IOMMUFD_ABI_CHECK(iommu_ioas_change_process, 8);
IOMMUFD_ABI_CHECK(iommu_veventq_alloc, 32);
IOMMUFD_ABI_CHECK(iommu_hw_queue_alloc, 40);
IOMMUFD_ABI_CHECK(iommu_hwpt_pgfault, 40);
IOMMUFD_ABI_CHECK(iommu_hw_info_vtd, 24);
IOMMUFD_ABI_CHECK(iommu_test_cmd, 72);
IOMMUFD_ABI_CHECK(vfio_device_bind_iommufd, 24);
IOMMUFD_ABI_CHECK(vfio_device_attach_iommufd_pt, 16);
IOMMUFD_ABI_CHECK(vfio_device_detach_iommufd_pt, 12);
IOMMUFD_ABI_CHECK(vfio_iommu_type1_info, 24);
IOMMUFD_ABI_CHECK(vfio_iommu_type1_dma_map, 32);
IOMMUFD_ABI_CHECK(vfio_iommu_type1_dma_unmap, 24);
_Static_assert(__builtin_offsetof(struct iommu_test_cmd, last) == 64,
	       "iommu_test_cmd.last at 64");
_Static_assert(__builtin_offsetof(struct iommu_test_cmd, dirty.out_nr_dirty) == 56,
	       "iommu_test_cmd.dirty.out_nr_dirty at 56");
_Static_assert(__builtin_offsetof(struct iommu_hw_info, out_capabilities) == 32,
	       "iommu_hw_info.out_capabilities at 32");

#endif /* IOMMUFD_EMU_ABI_H */
