// include/uapi/linux/vfio.h: the parts an iommufd emulator meets — the device
// cdev ioctls (bind / attach / detach and the basic info queries) and the type1
// container ioctls that iommufd answers in VFIO-compat mode. Field names are the
// kernel's. VFIO structs open with argsz (the caller's length) and flags.
import { defineStruct, enumNames, flagNames, u8, u16, u32, s32, u64 } from './struct.js';

export const VFIO_TYPE = 0x3b; // ';' — the same type byte as iommufd
export const VFIO_BASE = 100;
export const VFIO_API_VERSION = 0;

/** _IO(VFIO_TYPE, VFIO_BASE + n): VFIO requests carry no size or direction bits. */
export const vfioRequest = (n: number): number => (VFIO_TYPE << 8) | (VFIO_BASE + n);

// Extensions (VFIO_CHECK_EXTENSION argument; VFIO_SET_IOMMU type)
export const VFIO_TYPE1_IOMMU = 1;
export const VFIO_SPAPR_TCE_IOMMU = 2;
export const VFIO_TYPE1v2_IOMMU = 3;
export const VFIO_DMA_CC_IOMMU = 4;
export const VFIO_EEH = 5;
export const __VFIO_RESERVED_TYPE1_NESTING_IOMMU = 6;
export const VFIO_SPAPR_TCE_v2_IOMMU = 7;
export const VFIO_NOIOMMU_IOMMU = 8;
export const VFIO_UNMAP_ALL = 9;
export const VFIO_UPDATE_VADDR = 10;

/** VFIO_CHECK_EXTENSION's and VFIO_SET_IOMMU's argument, by name. */
export const VFIO_EXTENSION_NAMES = enumNames(
  [VFIO_TYPE1_IOMMU, 'VFIO_TYPE1_IOMMU'], [VFIO_SPAPR_TCE_IOMMU, 'VFIO_SPAPR_TCE_IOMMU'], [VFIO_TYPE1v2_IOMMU, 'VFIO_TYPE1v2_IOMMU'],
  [VFIO_DMA_CC_IOMMU, 'VFIO_DMA_CC_IOMMU'], [VFIO_EEH, 'VFIO_EEH'],
  [VFIO_SPAPR_TCE_v2_IOMMU, 'VFIO_SPAPR_TCE_v2_IOMMU'], [VFIO_NOIOMMU_IOMMU, 'VFIO_NOIOMMU_IOMMU'], [VFIO_UNMAP_ALL, 'VFIO_UNMAP_ALL'],
  [VFIO_UPDATE_VADDR, 'VFIO_UPDATE_VADDR'],
);

// VFIO_DEVICE_FEATURE: flags are the feature's index (low 16 bits) and what to do with it.
export const VFIO_DEVICE_FEATURE_MASK = 0xffff;
export const VFIO_DEVICE_FEATURE_GET = 1 << 16;
export const VFIO_DEVICE_FEATURE_SET = 1 << 17;
export const VFIO_DEVICE_FEATURE_PROBE = 1 << 18;
export const VFIO_DEVICE_FEATURE_ACTIONS = flagNames(
  [VFIO_DEVICE_FEATURE_GET, 'VFIO_DEVICE_FEATURE_GET'], [VFIO_DEVICE_FEATURE_SET, 'VFIO_DEVICE_FEATURE_SET'], [VFIO_DEVICE_FEATURE_PROBE, 'VFIO_DEVICE_FEATURE_PROBE'],
);
export const VFIO_DEVICE_FEATURE_NAMES = enumNames(
  [1, 'VFIO_DEVICE_FEATURE_MIGRATION'], [2, 'VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE'], [3, 'VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY'],
  [4, 'VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP'], [5, 'VFIO_DEVICE_FEATURE_LOW_POWER_EXIT'], [6, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_START'],
  [7, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP'], [8, 'VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT'], [9, 'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE'],
  [10, 'VFIO_DEVICE_FEATURE_BUS_MASTER'], [11, 'VFIO_DEVICE_FEATURE_DMA_BUF'],
);

// ---------------------------------------------------------------------------
// Request numbers. Several n are reused between the container (type1 / sPAPR)
// and the device fd: the file decides which is meant.

// Container and group fds
export const VFIO_GET_API_VERSION = vfioRequest(0);
export const VFIO_CHECK_EXTENSION = vfioRequest(1);
export const VFIO_SET_IOMMU = vfioRequest(2);
export const VFIO_GROUP_GET_STATUS = vfioRequest(3);
export const VFIO_GROUP_SET_CONTAINER = vfioRequest(4);
export const VFIO_GROUP_UNSET_CONTAINER = vfioRequest(5);
export const VFIO_GROUP_GET_DEVICE_FD = vfioRequest(6);
export const VFIO_IOMMU_GET_INFO = vfioRequest(12);
export const VFIO_IOMMU_MAP_DMA = vfioRequest(13);
export const VFIO_IOMMU_UNMAP_DMA = vfioRequest(14);
export const VFIO_IOMMU_ENABLE = vfioRequest(15);
export const VFIO_IOMMU_DISABLE = vfioRequest(16);
export const VFIO_IOMMU_DIRTY_PAGES = vfioRequest(17);
// sPAPR container ioctls (same numbers as type1 / device ones; never served here)
export const VFIO_IOMMU_SPAPR_TCE_GET_INFO = vfioRequest(12);
export const VFIO_IOMMU_SPAPR_REGISTER_MEMORY = vfioRequest(17);
export const VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY = vfioRequest(18);
export const VFIO_IOMMU_SPAPR_TCE_CREATE = vfioRequest(19);
export const VFIO_IOMMU_SPAPR_TCE_REMOVE = vfioRequest(20);
export const VFIO_EEH_PE_OP = vfioRequest(21);

// Device fds
export const VFIO_DEVICE_GET_INFO = vfioRequest(7);
export const VFIO_DEVICE_GET_REGION_INFO = vfioRequest(8);
export const VFIO_DEVICE_GET_IRQ_INFO = vfioRequest(9);
export const VFIO_DEVICE_SET_IRQS = vfioRequest(10);
export const VFIO_DEVICE_RESET = vfioRequest(11);
export const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = vfioRequest(12);
export const VFIO_DEVICE_PCI_HOT_RESET = vfioRequest(13);
export const VFIO_DEVICE_QUERY_GFX_PLANE = vfioRequest(14);
export const VFIO_DEVICE_GET_GFX_DMABUF = vfioRequest(15);
export const VFIO_DEVICE_IOEVENTFD = vfioRequest(16);
export const VFIO_DEVICE_FEATURE = vfioRequest(17);
export const VFIO_DEVICE_BIND_IOMMUFD = vfioRequest(18);
export const VFIO_DEVICE_ATTACH_IOMMUFD_PT = vfioRequest(19);
export const VFIO_DEVICE_DETACH_IOMMUFD_PT = vfioRequest(20);
export const VFIO_MIG_GET_PRECOPY_INFO = vfioRequest(21);

// ---------------------------------------------------------------------------
// Capability chains (INFO ioctls): `next` and cap_offset count from the start
// of the info buffer; 0 ends the chain.

export const VfioInfoCapHeader = defineStruct('vfio_info_cap_header', 8, {
  id: u16(0), version: u16(2), next: u32(4),
});

// ---------------------------------------------------------------------------
// Group status (for completeness; the group path is not iommufd's)

export const VFIO_GROUP_FLAGS_VIABLE = 1 << 0;
export const VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1;

export const VfioGroupStatus = defineStruct('vfio_group_status', 8, {
  argsz: u32(0), flags: u32(4),
}, { flags: flagNames([VFIO_GROUP_FLAGS_VIABLE, 'VFIO_GROUP_FLAGS_VIABLE'], [VFIO_GROUP_FLAGS_CONTAINER_SET, 'VFIO_GROUP_FLAGS_CONTAINER_SET']) });

// ---------------------------------------------------------------------------
// Device cdev: bind to an iommufd, attach / detach a page table

export const VFIO_DEVICE_BIND_FLAG_TOKEN = 1 << 0;

/** token_uuid_ptr: user pointer to a 16-byte UUID, read only with FLAG_TOKEN. */
export const VfioDeviceBindIommufd = defineStruct('vfio_device_bind_iommufd', 24, {
  argsz: u32(0), flags: u32(4), iommufd: s32(8), out_devid: u32(12), token_uuid_ptr: u64(16),
}, { flags: flagNames([VFIO_DEVICE_BIND_FLAG_TOKEN, 'VFIO_DEVICE_BIND_FLAG_TOKEN']) });

export const VFIO_DEVICE_ATTACH_PASID = 1 << 0;

export const VfioDeviceAttachIommufdPt = defineStruct('vfio_device_attach_iommufd_pt', 16, {
  argsz: u32(0), flags: u32(4), pt_id: u32(8), pasid: u32(12),
}, { flags: flagNames([VFIO_DEVICE_ATTACH_PASID, 'VFIO_DEVICE_ATTACH_PASID']) });

export const VFIO_DEVICE_DETACH_PASID = 1 << 0;

export const VfioDeviceDetachIommufdPt = defineStruct('vfio_device_detach_iommufd_pt', 12, {
  argsz: u32(0), flags: u32(4), pasid: u32(8),
}, { flags: flagNames([VFIO_DEVICE_DETACH_PASID, 'VFIO_DEVICE_DETACH_PASID']) });

// ---------------------------------------------------------------------------
// Device info, regions, IRQs

export const VFIO_DEVICE_FLAGS_RESET = 1 << 0;
export const VFIO_DEVICE_FLAGS_PCI = 1 << 1;
export const VFIO_DEVICE_FLAGS_PLATFORM = 1 << 2;
export const VFIO_DEVICE_FLAGS_AMBA = 1 << 3;
export const VFIO_DEVICE_FLAGS_CCW = 1 << 4;
export const VFIO_DEVICE_FLAGS_AP = 1 << 5;
export const VFIO_DEVICE_FLAGS_FSL_MC = 1 << 6;
export const VFIO_DEVICE_FLAGS_CAPS = 1 << 7;
export const VFIO_DEVICE_FLAGS_CDX = 1 << 8;

export const VfioDeviceInfo = defineStruct('vfio_device_info', 24, {
  argsz: u32(0), flags: u32(4), num_regions: u32(8), num_irqs: u32(12),
  cap_offset: u32(16), pad: u32(20),
}, {
  flags: flagNames(
    [VFIO_DEVICE_FLAGS_RESET, 'VFIO_DEVICE_FLAGS_RESET'], [VFIO_DEVICE_FLAGS_PCI, 'VFIO_DEVICE_FLAGS_PCI'],
    [VFIO_DEVICE_FLAGS_PLATFORM, 'VFIO_DEVICE_FLAGS_PLATFORM'], [VFIO_DEVICE_FLAGS_AMBA, 'VFIO_DEVICE_FLAGS_AMBA'],
    [VFIO_DEVICE_FLAGS_CCW, 'VFIO_DEVICE_FLAGS_CCW'], [VFIO_DEVICE_FLAGS_AP, 'VFIO_DEVICE_FLAGS_AP'],
    [VFIO_DEVICE_FLAGS_FSL_MC, 'VFIO_DEVICE_FLAGS_FSL_MC'], [VFIO_DEVICE_FLAGS_CAPS, 'VFIO_DEVICE_FLAGS_CAPS'],
    [VFIO_DEVICE_FLAGS_CDX, 'VFIO_DEVICE_FLAGS_CDX'],
  ),
});

export const VFIO_REGION_INFO_FLAG_READ = 1 << 0;
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;
export const VFIO_REGION_INFO_FLAG_CAPS = 1 << 3;

export const VfioRegionInfo = defineStruct('vfio_region_info', 32, {
  argsz: u32(0), flags: u32(4), index: u32(8), cap_offset: u32(12),
  size: u64(16), offset: u64(24),
}, {
  flags: flagNames(
    [VFIO_REGION_INFO_FLAG_READ, 'VFIO_REGION_INFO_FLAG_READ'], [VFIO_REGION_INFO_FLAG_WRITE, 'VFIO_REGION_INFO_FLAG_WRITE'],
    [VFIO_REGION_INFO_FLAG_MMAP, 'VFIO_REGION_INFO_FLAG_MMAP'], [VFIO_REGION_INFO_FLAG_CAPS, 'VFIO_REGION_INFO_FLAG_CAPS'],
  ),
});

// vfio-pci's region indexes; each region's window in the device file starts
// at VFIO_PCI_INDEX_TO_OFFSET(index) = index << 40.
export const VFIO_PCI_OFFSET_SHIFT = 40n;
export const VFIO_PCI_OFFSET_MASK = (1n << VFIO_PCI_OFFSET_SHIFT) - 1n;
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
export const VFIO_PCI_BAR5_REGION_INDEX = 5;
export const VFIO_PCI_ROM_REGION_INDEX = 6;
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;
export const VFIO_PCI_VGA_REGION_INDEX = 8;
export const VFIO_PCI_NUM_REGIONS = 9;

export const VFIO_IRQ_INFO_EVENTFD = 1 << 0;
export const VFIO_IRQ_INFO_MASKABLE = 1 << 1;
export const VFIO_IRQ_INFO_AUTOMASKED = 1 << 2;
export const VFIO_IRQ_INFO_NORESIZE = 1 << 3;

export const VfioIrqInfo = defineStruct('vfio_irq_info', 16, {
  argsz: u32(0), flags: u32(4), index: u32(8), count: u32(12),
}, {
  flags: flagNames(
    [VFIO_IRQ_INFO_EVENTFD, 'VFIO_IRQ_INFO_EVENTFD'], [VFIO_IRQ_INFO_MASKABLE, 'VFIO_IRQ_INFO_MASKABLE'],
    [VFIO_IRQ_INFO_AUTOMASKED, 'VFIO_IRQ_INFO_AUTOMASKED'], [VFIO_IRQ_INFO_NORESIZE, 'VFIO_IRQ_INFO_NORESIZE'],
  ),
});

// vfio-pci's IRQ indexes.
export const VFIO_PCI_INTX_IRQ_INDEX = 0;
export const VFIO_PCI_MSI_IRQ_INDEX = 1;
export const VFIO_PCI_MSIX_IRQ_INDEX = 2;
export const VFIO_PCI_ERR_IRQ_INDEX = 3;
export const VFIO_PCI_REQ_IRQ_INDEX = 4;
export const VFIO_PCI_NUM_IRQS = 5;

// VFIO_DEVICE_SET_IRQS flags: one data type, one action.
export const VFIO_IRQ_SET_DATA_NONE = 1 << 0;
export const VFIO_IRQ_SET_DATA_BOOL = 1 << 1;
export const VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
export const VFIO_IRQ_SET_ACTION_MASK = 1 << 3;
export const VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4;
export const VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;
export const VFIO_IRQ_SET_DATA_TYPE_MASK = 0x7;
export const VFIO_IRQ_SET_ACTION_TYPE_MASK = 0x38;

/** Header; count × (u8 bool | s32 eventfd) follow at offset 20 (data[]). */
export const VfioIrqSet = defineStruct('vfio_irq_set', 20, {
  argsz: u32(0), flags: u32(4), index: u32(8), start: u32(12), count: u32(16),
});

// ---------------------------------------------------------------------------
// PCI hot reset

export const VFIO_PCI_HOT_RESET_FLAG_DEV_ID = 1 << 0;
export const VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED = 1 << 1;

/** Header; count × vfio_pci_dependent_device follow at offset 12 (devices[]). */
export const VfioPciHotResetInfo = defineStruct('vfio_pci_hot_reset_info', 12, {
  argsz: u32(0), flags: u32(4), count: u32(8),
});

/** Header; count × s32 group fds follow at offset 12 (group_fds[]). */
export const VfioPciHotReset = defineStruct('vfio_pci_hot_reset', 12, {
  argsz: u32(0), flags: u32(4), count: u32(8),
}, { flags: flagNames([VFIO_PCI_HOT_RESET_FLAG_DEV_ID, 'VFIO_PCI_HOT_RESET_FLAG_DEV_ID'], [VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, 'VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED']) });

// VFIO_DEVICE_IOEVENTFD: the size flag is the write's byte count.
export const VFIO_DEVICE_IOEVENTFD_8 = 1 << 0;
export const VFIO_DEVICE_IOEVENTFD_16 = 1 << 1;
export const VFIO_DEVICE_IOEVENTFD_32 = 1 << 2;
export const VFIO_DEVICE_IOEVENTFD_64 = 1 << 3;
export const VFIO_DEVICE_IOEVENTFD_SIZE_MASK = 0xf;

/** offset: the device-file offset (region index << 40 | BAR offset) of the write; fd -1 removes. */
export const VfioDeviceIoeventfd = defineStruct('vfio_device_ioeventfd', 32, {
  argsz: u32(0), flags: u32(4), offset: u64(8), data: u64(16), fd: s32(24), reserved: u32(28),
}, {
  flags: flagNames([VFIO_DEVICE_IOEVENTFD_8, 'VFIO_DEVICE_IOEVENTFD_8'], [VFIO_DEVICE_IOEVENTFD_16, 'VFIO_DEVICE_IOEVENTFD_16'],
    [VFIO_DEVICE_IOEVENTFD_32, 'VFIO_DEVICE_IOEVENTFD_32'], [VFIO_DEVICE_IOEVENTFD_64, 'VFIO_DEVICE_IOEVENTFD_64']),
});

/** group_id, or devid with VFIO_PCI_HOT_RESET_FLAG_DEV_ID. */
export const VfioPciDependentDevice = defineStruct('vfio_pci_dependent_device', 8, {
  devid: u32(0), segment: u16(4), bus: u8(6), devfn: u8(7),
});

// ---------------------------------------------------------------------------
// Type1 container: info and its capabilities, DMA map / unmap

export const VFIO_IOMMU_INFO_PGSIZES = 1 << 0;
export const VFIO_IOMMU_INFO_CAPS = 1 << 1;

export const VfioIommuType1Info = defineStruct('vfio_iommu_type1_info', 24, {
  argsz: u32(0), flags: u32(4), iova_pgsizes: u64(8), cap_offset: u32(16), pad: u32(20),
}, { flags: flagNames([VFIO_IOMMU_INFO_PGSIZES, 'VFIO_IOMMU_INFO_PGSIZES'], [VFIO_IOMMU_INFO_CAPS, 'VFIO_IOMMU_INFO_CAPS']) });

// Capability ids of VFIO_IOMMU_GET_INFO's chain
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
export const VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2;
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;

/** One element of the IOVA-range capability's array; `end` is inclusive. */
export const VfioIovaRange = defineStruct('vfio_iova_range', 16, {
  start: u64(0), end: u64(8),
});

/** Header part; nr_iovas × vfio_iova_range follow at offset 16 (iova_ranges[]). */
export const VfioIommuType1InfoCapIovaRange = defineStruct('vfio_iommu_type1_info_cap_iova_range', 16, {
  id: u16(0), version: u16(2), next: u32(4), nr_iovas: u32(8), reserved: u32(12),
});

export const VfioIommuType1InfoCapMigration = defineStruct('vfio_iommu_type1_info_cap_migration', 32, {
  id: u16(0), version: u16(2), next: u32(4), flags: u32(8),
  pgsize_bitmap: u64(16), max_dirty_bitmap_size: u64(24),
});

/** sizeof is 12; the chain places the next capability on an 8-byte boundary. */
export const VfioIommuType1InfoDmaAvail = defineStruct('vfio_iommu_type1_info_dma_avail', 12, {
  id: u16(0), version: u16(2), next: u32(4), avail: u32(8),
});

export const VFIO_DMA_MAP_FLAG_READ = 1 << 0;
export const VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
export const VFIO_DMA_MAP_FLAG_VADDR = 1 << 2;

export const VfioIommuType1DmaMap = defineStruct('vfio_iommu_type1_dma_map', 32, {
  argsz: u32(0), flags: u32(4), vaddr: u64(8), iova: u64(16), size: u64(24),
}, {
  flags: flagNames([VFIO_DMA_MAP_FLAG_READ, 'VFIO_DMA_MAP_FLAG_READ'], [VFIO_DMA_MAP_FLAG_WRITE, 'VFIO_DMA_MAP_FLAG_WRITE'],
    [VFIO_DMA_MAP_FLAG_VADDR, 'VFIO_DMA_MAP_FLAG_VADDR']),
});

/** Descriptor carried in dma_unmap.data[] with GET_DIRTY_BITMAP (data is a user pointer). */
export const VfioBitmap = defineStruct('vfio_bitmap', 24, {
  pgsize: u64(0), size: u64(8), data: u64(16),
});

export const VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0;
export const VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;
export const VFIO_DMA_UNMAP_FLAG_VADDR = 1 << 2;

/** Fixed part; a flexible `__u8 data[]` follows at offset 24. */
export const VfioIommuType1DmaUnmap = defineStruct('vfio_iommu_type1_dma_unmap', 24, {
  argsz: u32(0), flags: u32(4), iova: u64(8), size: u64(16),
}, {
  flags: flagNames([VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 'VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP'], [VFIO_DMA_UNMAP_FLAG_ALL, 'VFIO_DMA_UNMAP_FLAG_ALL'],
    [VFIO_DMA_UNMAP_FLAG_VADDR, 'VFIO_DMA_UNMAP_FLAG_VADDR']),
});
