// include/uapi/linux/iommufd.h: request numbers, enums and struct layouts.
// Field names are the kernel's, so a reader can hold this file beside the header.
import { defineStruct, u8, u16, u32, s32, u64, bytes } from './struct.js';

void u8; void u16; void s32; void bytes;

export const IOMMUFD_TYPE = 0x3b; // ';'
export const IOMMUFD_CMD_BASE = 0x80;

/** _IO(IOMMUFD_TYPE, nr): iommufd requests carry no size or direction bits. */
export const iommufdRequest = (nr: number): number => (IOMMUFD_TYPE << 8) | nr;

export const IOMMUFD_CMD = {
  DESTROY: 0x80,
  IOAS_ALLOC: 0x81,
  IOAS_ALLOW_IOVAS: 0x82,
  IOAS_COPY: 0x83,
  IOAS_IOVA_RANGES: 0x84,
  IOAS_MAP: 0x85,
  IOAS_UNMAP: 0x86,
  OPTION: 0x87,
  VFIO_IOAS: 0x88,
  HWPT_ALLOC: 0x89,
  GET_HW_INFO: 0x8a,
  HWPT_SET_DIRTY_TRACKING: 0x8b,
  HWPT_GET_DIRTY_BITMAP: 0x8c,
  HWPT_INVALIDATE: 0x8d,
  FAULT_QUEUE_ALLOC: 0x8e,
  IOAS_MAP_FILE: 0x8f,
  VIOMMU_ALLOC: 0x90,
  VDEVICE_ALLOC: 0x91,
  IOAS_CHANGE_PROCESS: 0x92,
  VEVENTQ_ALLOC: 0x93,
  HW_QUEUE_ALLOC: 0x94,
} as const;

export const IOMMU_DESTROY = iommufdRequest(IOMMUFD_CMD.DESTROY);
export const IOMMU_IOAS_ALLOC = iommufdRequest(IOMMUFD_CMD.IOAS_ALLOC);
export const IOMMU_IOAS_ALLOW_IOVAS = iommufdRequest(IOMMUFD_CMD.IOAS_ALLOW_IOVAS);
export const IOMMU_IOAS_COPY = iommufdRequest(IOMMUFD_CMD.IOAS_COPY);
export const IOMMU_IOAS_IOVA_RANGES = iommufdRequest(IOMMUFD_CMD.IOAS_IOVA_RANGES);
export const IOMMU_IOAS_MAP = iommufdRequest(IOMMUFD_CMD.IOAS_MAP);
export const IOMMU_IOAS_UNMAP = iommufdRequest(IOMMUFD_CMD.IOAS_UNMAP);
export const IOMMU_OPTION = iommufdRequest(IOMMUFD_CMD.OPTION);
export const IOMMU_VFIO_IOAS = iommufdRequest(IOMMUFD_CMD.VFIO_IOAS);

// enum iommufd_ioas_map_flags
export const IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
export const IOMMU_IOAS_MAP_READABLE = 1 << 2;

// enum iommufd_option, enum iommufd_option_ops
export const IOMMU_OPTION_RLIMIT_MODE = 0;
export const IOMMU_OPTION_HUGE_PAGES = 1;
export const IOMMU_OPTION_OP_SET = 0;
export const IOMMU_OPTION_OP_GET = 1;

// enum iommufd_vfio_ioas_op
export const IOMMU_VFIO_IOAS_GET = 0;
export const IOMMU_VFIO_IOAS_SET = 1;
export const IOMMU_VFIO_IOAS_CLEAR = 2;

export const IommuDestroy = defineStruct('iommu_destroy', 8, {
  size: u32(0), id: u32(4),
});

export const IommuIoasAlloc = defineStruct('iommu_ioas_alloc', 12, {
  size: u32(0), flags: u32(4), out_ioas_id: u32(8),
});

export const IommuIovaRange = defineStruct('iommu_iova_range', 16, {
  start: u64(0), last: u64(8),
});

export const IommuIoasIovaRanges = defineStruct('iommu_ioas_iova_ranges', 32, {
  size: u32(0), ioas_id: u32(4), num_iovas: u32(8), __reserved: u32(12),
  allowed_iovas: u64(16), out_iova_alignment: u64(24),
});

export const IommuIoasAllowIovas = defineStruct('iommu_ioas_allow_iovas', 24, {
  size: u32(0), ioas_id: u32(4), num_iovas: u32(8), __reserved: u32(12), allowed_iovas: u64(16),
});

export const IommuIoasMap = defineStruct('iommu_ioas_map', 40, {
  size: u32(0), flags: u32(4), ioas_id: u32(8), __reserved: u32(12),
  user_va: u64(16), length: u64(24), iova: u64(32),
});

export const IommuIoasCopy = defineStruct('iommu_ioas_copy', 40, {
  size: u32(0), flags: u32(4), dst_ioas_id: u32(8), src_ioas_id: u32(12),
  length: u64(16), dst_iova: u64(24), src_iova: u64(32),
});

export const IommuIoasUnmap = defineStruct('iommu_ioas_unmap', 24, {
  size: u32(0), ioas_id: u32(4), iova: u64(8), length: u64(16),
});

export const IommuOption = defineStruct('iommu_option', 24, {
  size: u32(0), option_id: u32(4), op: u16(8), __reserved: u16(10), object_id: u32(12), val64: u64(16),
});

export const IommuVfioIoas = defineStruct('iommu_vfio_ioas', 12, {
  size: u32(0), ioas_id: u32(4), op: u16(8), __reserved: u16(10),
});
