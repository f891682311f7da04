// include/uapi/linux/iommufd.h: request numbers, enums and struct layouts.
// Field names are the kernel's, so a reader can hold this file beside the header.
import { defineStruct, enumNames, flagNames, u8, u16, u32, s32, u64, bytes, u32s, u64s } from './struct.js';

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
export const IOMMU_HWPT_ALLOC = iommufdRequest(IOMMUFD_CMD.HWPT_ALLOC);
export const IOMMU_GET_HW_INFO = iommufdRequest(IOMMUFD_CMD.GET_HW_INFO);
export const IOMMU_HWPT_SET_DIRTY_TRACKING = iommufdRequest(IOMMUFD_CMD.HWPT_SET_DIRTY_TRACKING);
export const IOMMU_HWPT_GET_DIRTY_BITMAP = iommufdRequest(IOMMUFD_CMD.HWPT_GET_DIRTY_BITMAP);
export const IOMMU_HWPT_INVALIDATE = iommufdRequest(IOMMUFD_CMD.HWPT_INVALIDATE);
export const IOMMU_FAULT_QUEUE_ALLOC = iommufdRequest(IOMMUFD_CMD.FAULT_QUEUE_ALLOC);
export const IOMMU_IOAS_MAP_FILE = iommufdRequest(IOMMUFD_CMD.IOAS_MAP_FILE);
export const IOMMU_VIOMMU_ALLOC = iommufdRequest(IOMMUFD_CMD.VIOMMU_ALLOC);
export const IOMMU_VDEVICE_ALLOC = iommufdRequest(IOMMUFD_CMD.VDEVICE_ALLOC);
export const IOMMU_IOAS_CHANGE_PROCESS = iommufdRequest(IOMMUFD_CMD.IOAS_CHANGE_PROCESS);
export const IOMMU_VEVENTQ_ALLOC = iommufdRequest(IOMMUFD_CMD.VEVENTQ_ALLOC);
export const IOMMU_HW_QUEUE_ALLOC = iommufdRequest(IOMMUFD_CMD.HW_QUEUE_ALLOC);

// enum iommufd_ioas_map_flags
export const IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
export const IOMMU_IOAS_MAP_READABLE = 1 << 2;
const IOAS_MAP_FLAGS = flagNames(
  [IOMMU_IOAS_MAP_FIXED_IOVA, 'IOMMU_IOAS_MAP_FIXED_IOVA'], [IOMMU_IOAS_MAP_WRITEABLE, 'IOMMU_IOAS_MAP_WRITEABLE'],
  [IOMMU_IOAS_MAP_READABLE, 'IOMMU_IOAS_MAP_READABLE'],
);

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
}, { flags: IOAS_MAP_FLAGS });

export const IommuIoasCopy = defineStruct('iommu_ioas_copy', 40, {
  size: u32(0), flags: u32(4), dst_ioas_id: u32(8), src_ioas_id: u32(12),
  length: u64(16), dst_iova: u64(24), src_iova: u64(32),
}, { flags: IOAS_MAP_FLAGS });

export const IommuIoasUnmap = defineStruct('iommu_ioas_unmap', 24, {
  size: u32(0), ioas_id: u32(4), iova: u64(8), length: u64(16),
});

export const IommuOption = defineStruct('iommu_option', 24, {
  size: u32(0), option_id: u32(4), op: u16(8), __reserved: u16(10), object_id: u32(12), val64: u64(16),
}, {
  option_id: enumNames([IOMMU_OPTION_RLIMIT_MODE, 'IOMMU_OPTION_RLIMIT_MODE'], [IOMMU_OPTION_HUGE_PAGES, 'IOMMU_OPTION_HUGE_PAGES']),
  op: enumNames([IOMMU_OPTION_OP_SET, 'IOMMU_OPTION_OP_SET'], [IOMMU_OPTION_OP_GET, 'IOMMU_OPTION_OP_GET']),
});

export const IommuVfioIoas = defineStruct('iommu_vfio_ioas', 12, {
  size: u32(0), ioas_id: u32(4), op: u16(8), __reserved: u16(10),
}, {
  op: enumNames([IOMMU_VFIO_IOAS_GET, 'IOMMU_VFIO_IOAS_GET'], [IOMMU_VFIO_IOAS_SET, 'IOMMU_VFIO_IOAS_SET'], [IOMMU_VFIO_IOAS_CLEAR, 'IOMMU_VFIO_IOAS_CLEAR']),
});

export const IommuIoasMapFile = defineStruct('iommu_ioas_map_file', 40, {
  size: u32(0), flags: u32(4), ioas_id: u32(8), fd: s32(12),
  start: u64(16), length: u64(24), iova: u64(32),
}, { flags: IOAS_MAP_FLAGS });

// ---------------------------------------------------------------------------
// Hardware page tables (IOMMU_HWPT_ALLOC) and their driver payloads

// enum iommufd_hwpt_alloc_flags
export const IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0;
export const IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
export const IOMMU_HWPT_FAULT_ID_VALID = 1 << 2;
export const IOMMU_HWPT_ALLOC_PASID = 1 << 3;

// enum iommu_hwpt_vtd_s1_flags
export const IOMMU_VTD_S1_SRE = 1 << 0;
export const IOMMU_VTD_S1_EAFE = 1 << 1;
export const IOMMU_VTD_S1_WPE = 1 << 2;

// enum iommu_hwpt_data_type
export const IOMMU_HWPT_DATA_NONE = 0;
export const IOMMU_HWPT_DATA_VTD_S1 = 1;
export const IOMMU_HWPT_DATA_ARM_SMMUV3 = 2;
export const IOMMU_HWPT_DATA_AMD_GUEST = 3;

export const IommuHwptVtdS1 = defineStruct('iommu_hwpt_vtd_s1', 24, {
  flags: u64(0), pgtbl_addr: u64(8), addr_width: u32(16), __reserved: u32(20),
}, { flags: flagNames([IOMMU_VTD_S1_SRE, 'IOMMU_VTD_S1_SRE'], [IOMMU_VTD_S1_EAFE, 'IOMMU_VTD_S1_EAFE'], [IOMMU_VTD_S1_WPE, 'IOMMU_VTD_S1_WPE']) });

/** ste[0..1]: the guest's first two STE dwords, little-endian. */
export const IommuHwptArmSmmuv3 = defineStruct('iommu_hwpt_arm_smmuv3', 16, {
  ste: u64s(0, 2),
});

/** dte[0..3]: the guest's device-table entry. */
export const IommuHwptAmdGuest = defineStruct('iommu_hwpt_amd_guest', 32, {
  dte: u64s(0, 4),
});

export const IommuHwptAlloc = defineStruct('iommu_hwpt_alloc', 48, {
  size: u32(0), flags: u32(4), dev_id: u32(8), pt_id: u32(12),
  out_hwpt_id: u32(16), __reserved: u32(20), data_type: u32(24), data_len: u32(28),
  data_uptr: u64(32), fault_id: u32(40), __reserved2: u32(44),
}, {
  flags: flagNames(
    [IOMMU_HWPT_ALLOC_NEST_PARENT, 'IOMMU_HWPT_ALLOC_NEST_PARENT'], [IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 'IOMMU_HWPT_ALLOC_DIRTY_TRACKING'],
    [IOMMU_HWPT_FAULT_ID_VALID, 'IOMMU_HWPT_FAULT_ID_VALID'], [IOMMU_HWPT_ALLOC_PASID, 'IOMMU_HWPT_ALLOC_PASID'],
  ),
  data_type: enumNames(
    [IOMMU_HWPT_DATA_NONE, 'IOMMU_HWPT_DATA_NONE'], [IOMMU_HWPT_DATA_VTD_S1, 'IOMMU_HWPT_DATA_VTD_S1'],
    [IOMMU_HWPT_DATA_ARM_SMMUV3, 'IOMMU_HWPT_DATA_ARM_SMMUV3'], [IOMMU_HWPT_DATA_AMD_GUEST, 'IOMMU_HWPT_DATA_AMD_GUEST'],
  ),
});

// ---------------------------------------------------------------------------
// IOMMU_GET_HW_INFO and its driver payloads

// enum iommu_hw_info_vtd_flags
export const IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0;

export const IommuHwInfoVtd = defineStruct('iommu_hw_info_vtd', 24, {
  flags: u32(0), __reserved: u32(4), cap_reg: u64(8), ecap_reg: u64(16),
}, { flags: flagNames([IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, 'IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17']) });

export const IommuHwInfoArmSmmuv3 = defineStruct('iommu_hw_info_arm_smmuv3', 40, {
  flags: u32(0), __reserved: u32(4), idr: u32s(8, 6), iidr: u32(32), aidr: u32(36),
});

export const IommuHwInfoTegra241Cmdqv = defineStruct('iommu_hw_info_tegra241_cmdqv', 8, {
  flags: u32(0), version: u8(4), log2vcmdqs: u8(5), log2vsids: u8(6), __reserved: u8(7),
});

export const IommuHwInfoAmd = defineStruct('iommu_hw_info_amd', 16, {
  efr: u64(0), efr2: u64(8),
});

// enum iommu_hw_info_type (NONE and DEFAULT are both 0: DEFAULT is the input spelling)
export const IOMMU_HW_INFO_TYPE_NONE = 0;
export const IOMMU_HW_INFO_TYPE_DEFAULT = 0;
export const IOMMU_HW_INFO_TYPE_INTEL_VTD = 1;
export const IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2;
export const IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3;
export const IOMMU_HW_INFO_TYPE_AMD = 4;

// enum iommufd_hw_capabilities (out_capabilities is a u64; these all fit a number)
export const IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0;
export const IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1;
export const IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2;
export const IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 1 << 3;

// enum iommufd_hw_info_flags
export const IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0;

/**
 * in_data_type and out_data_type are one anonymous union at offset 24: the
 * same four bytes, read as the requested type (with FLAG_INPUT_TYPE) and
 * written back as the reported type. encode() writes out_data_type last when
 * both are given.
 */
export const IommuHwInfo = defineStruct('iommu_hw_info', 40, {
  size: u32(0), flags: u32(4), dev_id: u32(8), data_len: u32(12),
  data_uptr: u64(16), in_data_type: u32(24), out_data_type: u32(24),
  out_max_pasid_log2: u8(28), __reserved: bytes(29, 3), out_capabilities: u64(32),
}, {
  flags: flagNames([IOMMU_HW_INFO_FLAG_INPUT_TYPE, 'IOMMU_HW_INFO_FLAG_INPUT_TYPE']),
  in_data_type: enumNames(
    [IOMMU_HW_INFO_TYPE_DEFAULT, 'IOMMU_HW_INFO_TYPE_DEFAULT'], [IOMMU_HW_INFO_TYPE_INTEL_VTD, 'IOMMU_HW_INFO_TYPE_INTEL_VTD'],
    [IOMMU_HW_INFO_TYPE_ARM_SMMUV3, 'IOMMU_HW_INFO_TYPE_ARM_SMMUV3'], [IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, 'IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV'],
    [IOMMU_HW_INFO_TYPE_AMD, 'IOMMU_HW_INFO_TYPE_AMD'],
  ),
  out_data_type: enumNames(
    [IOMMU_HW_INFO_TYPE_NONE, 'IOMMU_HW_INFO_TYPE_NONE'], [IOMMU_HW_INFO_TYPE_INTEL_VTD, 'IOMMU_HW_INFO_TYPE_INTEL_VTD'],
    [IOMMU_HW_INFO_TYPE_ARM_SMMUV3, 'IOMMU_HW_INFO_TYPE_ARM_SMMUV3'], [IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, 'IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV'],
    [IOMMU_HW_INFO_TYPE_AMD, 'IOMMU_HW_INFO_TYPE_AMD'],
  ),
  out_capabilities: flagNames(
    [IOMMU_HW_CAP_DIRTY_TRACKING, 'IOMMU_HW_CAP_DIRTY_TRACKING'], [IOMMU_HW_CAP_PCI_PASID_EXEC, 'IOMMU_HW_CAP_PCI_PASID_EXEC'],
    [IOMMU_HW_CAP_PCI_PASID_PRIV, 'IOMMU_HW_CAP_PCI_PASID_PRIV'], [IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED, 'IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED'],
  ),
});

// ---------------------------------------------------------------------------
// Dirty tracking

// enum iommufd_hwpt_set_dirty_tracking_flags
export const IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1;

export const IommuHwptSetDirtyTracking = defineStruct('iommu_hwpt_set_dirty_tracking', 16, {
  size: u32(0), flags: u32(4), hwpt_id: u32(8), __reserved: u32(12),
}, { flags: flagNames([IOMMU_HWPT_DIRTY_TRACKING_ENABLE, 'IOMMU_HWPT_DIRTY_TRACKING_ENABLE']) });

// enum iommufd_hwpt_get_dirty_bitmap_flags
export const IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1;

export const IommuHwptGetDirtyBitmap = defineStruct('iommu_hwpt_get_dirty_bitmap', 48, {
  size: u32(0), hwpt_id: u32(4), flags: u32(8), __reserved: u32(12),
  iova: u64(16), length: u64(24), page_size: u64(32), data: u64(40),
}, { flags: flagNames([IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 'IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR']) });

// ---------------------------------------------------------------------------
// Cache invalidation (IOMMU_HWPT_INVALIDATE) and its payloads

// enum iommu_hwpt_invalidate_data_type
export const IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0;
export const IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1;

// enum iommu_hwpt_vtd_s1_invalidate_flags
export const IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0;

export const IommuHwptVtdS1Invalidate = defineStruct('iommu_hwpt_vtd_s1_invalidate', 24, {
  addr: u64(0), npages: u64(8), flags: u32(16), __reserved: u32(20),
}, { flags: flagNames([IOMMU_VTD_INV_FLAGS_LEAF, 'IOMMU_VTD_INV_FLAGS_LEAF']) });

/** cmd[0..1]: one 128-bit SMMUv3 command, little-endian. */
export const IommuViommuArmSmmuv3Invalidate = defineStruct('iommu_viommu_arm_smmuv3_invalidate', 16, {
  cmd: u64s(0, 2),
});

export const IommuHwptInvalidate = defineStruct('iommu_hwpt_invalidate', 32, {
  size: u32(0), hwpt_id: u32(4), data_uptr: u64(8),
  data_type: u32(16), entry_len: u32(20), entry_num: u32(24), __reserved: u32(28),
}, {
  data_type: enumNames(
    [IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 'IOMMU_HWPT_INVALIDATE_DATA_VTD_S1'],
    [IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 'IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3'],
  ),
});

// ---------------------------------------------------------------------------
// I/O page faults (IOMMU_FAULT_QUEUE_ALLOC; records read from / written to the fault fd)

// enum iommu_hwpt_pgfault_flags
export const IOMMU_PGFAULT_FLAGS_PASID_VALID = 1 << 0;
export const IOMMU_PGFAULT_FLAGS_LAST_PAGE = 1 << 1;

// enum iommu_hwpt_pgfault_perm
export const IOMMU_PGFAULT_PERM_READ = 1 << 0;
export const IOMMU_PGFAULT_PERM_WRITE = 1 << 1;
export const IOMMU_PGFAULT_PERM_EXEC = 1 << 2;
export const IOMMU_PGFAULT_PERM_PRIV = 1 << 3;

export const IommuHwptPgfault = defineStruct('iommu_hwpt_pgfault', 40, {
  flags: u32(0), dev_id: u32(4), pasid: u32(8), grpid: u32(12),
  perm: u32(16), __reserved: u32(20), addr: u64(24), length: u32(32), cookie: u32(36),
}, {
  flags: flagNames([IOMMU_PGFAULT_FLAGS_PASID_VALID, 'IOMMU_PGFAULT_FLAGS_PASID_VALID'], [IOMMU_PGFAULT_FLAGS_LAST_PAGE, 'IOMMU_PGFAULT_FLAGS_LAST_PAGE']),
  perm: flagNames([IOMMU_PGFAULT_PERM_READ, 'IOMMU_PGFAULT_PERM_READ'], [IOMMU_PGFAULT_PERM_WRITE, 'IOMMU_PGFAULT_PERM_WRITE'],
    [IOMMU_PGFAULT_PERM_EXEC, 'IOMMU_PGFAULT_PERM_EXEC'], [IOMMU_PGFAULT_PERM_PRIV, 'IOMMU_PGFAULT_PERM_PRIV']),
});

// enum iommufd_page_response_code
export const IOMMUFD_PAGE_RESP_SUCCESS = 0;
export const IOMMUFD_PAGE_RESP_INVALID = 1;

export const IommuHwptPageResponse = defineStruct('iommu_hwpt_page_response', 8, {
  cookie: u32(0), code: u32(4),
}, { code: enumNames([IOMMUFD_PAGE_RESP_SUCCESS, 'IOMMUFD_PAGE_RESP_SUCCESS'], [IOMMUFD_PAGE_RESP_INVALID, 'IOMMUFD_PAGE_RESP_INVALID']) });

export const IommuFaultAlloc = defineStruct('iommu_fault_alloc', 16, {
  size: u32(0), flags: u32(4), out_fault_id: u32(8), out_fault_fd: u32(12),
});

// ---------------------------------------------------------------------------
// vIOMMU, vDevice

// enum iommu_viommu_type
export const IOMMU_VIOMMU_TYPE_DEFAULT = 0;
export const IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1;
export const IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV = 2;

export const IommuViommuTegra241Cmdqv = defineStruct('iommu_viommu_tegra241_cmdqv', 16, {
  out_vintf_mmap_offset: u64(0), out_vintf_mmap_length: u64(8),
});

export const IommuViommuAlloc = defineStruct('iommu_viommu_alloc', 40, {
  size: u32(0), flags: u32(4), type: u32(8), dev_id: u32(12),
  hwpt_id: u32(16), out_viommu_id: u32(20), data_len: u32(24), __reserved: u32(28),
  data_uptr: u64(32),
}, {
  type: enumNames(
    [IOMMU_VIOMMU_TYPE_DEFAULT, 'IOMMU_VIOMMU_TYPE_DEFAULT'], [IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 'IOMMU_VIOMMU_TYPE_ARM_SMMUV3'],
    [IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV, 'IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV'],
  ),
});

export const IommuVdeviceAlloc = defineStruct('iommu_vdevice_alloc', 24, {
  size: u32(0), viommu_id: u32(4), dev_id: u32(8), out_vdevice_id: u32(12), virt_id: u64(16),
});

export const IommuIoasChangeProcess = defineStruct('iommu_ioas_change_process', 8, {
  size: u32(0), __reserved: u32(4),
});

// ---------------------------------------------------------------------------
// vEVENT queues (IOMMU_VEVENTQ_ALLOC; records read from the queue fd)

// enum iommu_veventq_flag
export const IOMMU_VEVENTQ_FLAG_LOST_EVENTS = 1 << 0;

/** Precedes every record read from a vEVENTQ fd. */
export const IommufdVeventHeader = defineStruct('iommufd_vevent_header', 8, {
  flags: u32(0), sequence: u32(4),
}, { flags: flagNames([IOMMU_VEVENTQ_FLAG_LOST_EVENTS, 'IOMMU_VEVENTQ_FLAG_LOST_EVENTS']) });

// enum iommu_veventq_type
export const IOMMU_VEVENTQ_TYPE_DEFAULT = 0;
export const IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1;
export const IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2;

export const IommuVeventArmSmmuv3 = defineStruct('iommu_vevent_arm_smmuv3', 32, {
  evt: u64s(0, 4),
});

export const IommuVeventTegra241Cmdqv = defineStruct('iommu_vevent_tegra241_cmdqv', 16, {
  lvcmdq_err_map: u64s(0, 2),
});

export const IommuVeventqAlloc = defineStruct('iommu_veventq_alloc', 32, {
  size: u32(0), flags: u32(4), viommu_id: u32(8), type: u32(12),
  veventq_depth: u32(16), out_veventq_id: u32(20), out_veventq_fd: u32(24), __reserved: u32(28),
}, {
  type: enumNames(
    [IOMMU_VEVENTQ_TYPE_DEFAULT, 'IOMMU_VEVENTQ_TYPE_DEFAULT'], [IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 'IOMMU_VEVENTQ_TYPE_ARM_SMMUV3'],
    [IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV, 'IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV'],
  ),
});

// ---------------------------------------------------------------------------
// HW queues (IOMMU_HW_QUEUE_ALLOC)

// enum iommu_hw_queue_type
export const IOMMU_HW_QUEUE_TYPE_DEFAULT = 0;
export const IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV = 1;

export const IommuHwQueueAlloc = defineStruct('iommu_hw_queue_alloc', 40, {
  size: u32(0), flags: u32(4), viommu_id: u32(8), type: u32(12),
  index: u32(16), out_hw_queue_id: u32(20), nesting_parent_iova: u64(24), length: u64(32),
}, {
  type: enumNames([IOMMU_HW_QUEUE_TYPE_DEFAULT, 'IOMMU_HW_QUEUE_TYPE_DEFAULT'], [IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 'IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV']),
});
