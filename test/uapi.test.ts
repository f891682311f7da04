// uapi/ tables against Linux 7.2: struct sizes, field offsets and widths, the
// ioctl minimum sizes, request numbers and enum values, plus codec round trips.
// The expected layouts and constants below were produced by gcc (sizeof /
// offsetof / the macros themselves) over the 7.2.13 uapi headers, not typed by
// hand; CI has no kernel headers, so they are frozen here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { widthOf } from '../src/uapi/struct.js';
import type { StructDef } from '../src/uapi/struct.js';
import * as U from '../src/uapi/iommufd.js';
import * as V from '../src/uapi/vfio.js';
import * as T from '../src/uapi/iommufd-test.js';
import * as P from '../src/uapi/pci-regs.js';
import {
  IOMMUFD_IOCTLS, IOMMUFD_TABLE_LEN, ioctlByRequest, VFIO_IOCTLS, vfioIoctlByRequest, describeRequest,
} from '../src/uapi/ioctls.js';

// Generated once from gcc sizeof/offsetof over the 7.2.13 headers (see the machine check); name: [sizeof, "field:offset:width ..."].
const KERNEL_LAYOUTS: Record<string, [number, string]> = {
  'iommu_destroy': [8, 'size:0:4 id:4:4'],
  'iommu_fault_alloc': [16, 'size:0:4 flags:4:4 out_fault_id:8:4 out_fault_fd:12:4'],
  'iommu_hw_info': [40, 'size:0:4 flags:4:4 dev_id:8:4 data_len:12:4 data_uptr:16:8 in_data_type:24:4 out_data_type:24:4 out_max_pasid_log2:28:1 __reserved:29:3 out_capabilities:32:8'],
  'iommu_hw_info_amd': [16, 'efr:0:8 efr2:8:8'],
  'iommu_hw_info_arm_smmuv3': [40, 'flags:0:4 __reserved:4:4 idr:8:24 iidr:32:4 aidr:36:4'],
  'iommu_hw_info_tegra241_cmdqv': [8, 'flags:0:4 version:4:1 log2vcmdqs:5:1 log2vsids:6:1 __reserved:7:1'],
  'iommu_hw_info_vtd': [24, 'flags:0:4 __reserved:4:4 cap_reg:8:8 ecap_reg:16:8'],
  'iommu_hw_queue_alloc': [40, 'size:0:4 flags:4:4 viommu_id:8:4 type:12:4 index:16:4 out_hw_queue_id:20:4 nesting_parent_iova:24:8 length:32:8'],
  'iommu_hwpt_alloc': [48, 'size:0:4 flags:4:4 dev_id:8:4 pt_id:12:4 out_hwpt_id:16:4 __reserved:20:4 data_type:24:4 data_len:28:4 data_uptr:32:8 fault_id:40:4 __reserved2:44:4'],
  'iommu_hwpt_amd_guest': [32, 'dte:0:32'],
  'iommu_hwpt_arm_smmuv3': [16, 'ste:0:16'],
  'iommu_hwpt_get_dirty_bitmap': [48, 'size:0:4 hwpt_id:4:4 flags:8:4 __reserved:12:4 iova:16:8 length:24:8 page_size:32:8 data:40:8'],
  'iommu_hwpt_invalidate': [32, 'size:0:4 hwpt_id:4:4 data_uptr:8:8 data_type:16:4 entry_len:20:4 entry_num:24:4 __reserved:28:4'],
  'iommu_hwpt_page_response': [8, 'cookie:0:4 code:4:4'],
  'iommu_hwpt_pgfault': [40, 'flags:0:4 dev_id:4:4 pasid:8:4 grpid:12:4 perm:16:4 __reserved:20:4 addr:24:8 length:32:4 cookie:36:4'],
  'iommu_hwpt_set_dirty_tracking': [16, 'size:0:4 flags:4:4 hwpt_id:8:4 __reserved:12:4'],
  'iommu_hwpt_vtd_s1': [24, 'flags:0:8 pgtbl_addr:8:8 addr_width:16:4 __reserved:20:4'],
  'iommu_hwpt_vtd_s1_invalidate': [24, 'addr:0:8 npages:8:8 flags:16:4 __reserved:20:4'],
  'iommu_ioas_alloc': [12, 'size:0:4 flags:4:4 out_ioas_id:8:4'],
  'iommu_ioas_allow_iovas': [24, 'size:0:4 ioas_id:4:4 num_iovas:8:4 __reserved:12:4 allowed_iovas:16:8'],
  'iommu_ioas_change_process': [8, 'size:0:4 __reserved:4:4'],
  'iommu_ioas_copy': [40, 'size:0:4 flags:4:4 dst_ioas_id:8:4 src_ioas_id:12:4 length:16:8 dst_iova:24:8 src_iova:32:8'],
  'iommu_ioas_iova_ranges': [32, 'size:0:4 ioas_id:4:4 num_iovas:8:4 __reserved:12:4 allowed_iovas:16:8 out_iova_alignment:24:8'],
  'iommu_ioas_map': [40, 'size:0:4 flags:4:4 ioas_id:8:4 __reserved:12:4 user_va:16:8 length:24:8 iova:32:8'],
  'iommu_ioas_map_file': [40, 'size:0:4 flags:4:4 ioas_id:8:4 fd:12:4 start:16:8 length:24:8 iova:32:8'],
  'iommu_ioas_unmap': [24, 'size:0:4 ioas_id:4:4 iova:8:8 length:16:8'],
  'iommu_iova_range': [16, 'start:0:8 last:8:8'],
  'iommu_option': [24, 'size:0:4 option_id:4:4 op:8:2 __reserved:10:2 object_id:12:4 val64:16:8'],
  'iommu_vdevice_alloc': [24, 'size:0:4 viommu_id:4:4 dev_id:8:4 out_vdevice_id:12:4 virt_id:16:8'],
  'iommu_vevent_arm_smmuv3': [32, 'evt:0:32'],
  'iommu_vevent_tegra241_cmdqv': [16, 'lvcmdq_err_map:0:16'],
  'iommu_veventq_alloc': [32, 'size:0:4 flags:4:4 viommu_id:8:4 type:12:4 veventq_depth:16:4 out_veventq_id:20:4 out_veventq_fd:24:4 __reserved:28:4'],
  'iommu_vfio_ioas': [12, 'size:0:4 ioas_id:4:4 op:8:2 __reserved:10:2'],
  'iommu_viommu_alloc': [40, 'size:0:4 flags:4:4 type:8:4 dev_id:12:4 hwpt_id:16:4 out_viommu_id:20:4 data_len:24:4 __reserved:28:4 data_uptr:32:8'],
  'iommu_viommu_arm_smmuv3_invalidate': [16, 'cmd:0:16'],
  'iommu_viommu_tegra241_cmdqv': [16, 'out_vintf_mmap_offset:0:8 out_vintf_mmap_length:8:8'],
  'iommufd_vevent_header': [8, 'flags:0:4 sequence:4:4'],
  'vfio_bitmap': [24, 'pgsize:0:8 size:8:8 data:16:8'],
  'vfio_device_attach_iommufd_pt': [16, 'argsz:0:4 flags:4:4 pt_id:8:4 pasid:12:4'],
  'vfio_device_bind_iommufd': [24, 'argsz:0:4 flags:4:4 iommufd:8:4 out_devid:12:4 token_uuid_ptr:16:8'],
  'vfio_device_detach_iommufd_pt': [12, 'argsz:0:4 flags:4:4 pasid:8:4'],
  'vfio_device_info': [24, 'argsz:0:4 flags:4:4 num_regions:8:4 num_irqs:12:4 cap_offset:16:4 pad:20:4'],
  'vfio_group_status': [8, 'argsz:0:4 flags:4:4'],
  'vfio_info_cap_header': [8, 'id:0:2 version:2:2 next:4:4'],
  'vfio_iommu_type1_dma_map': [32, 'argsz:0:4 flags:4:4 vaddr:8:8 iova:16:8 size:24:8'],
  'vfio_iommu_type1_dma_unmap': [24, 'argsz:0:4 flags:4:4 iova:8:8 size:16:8'],
  'vfio_iommu_type1_info': [24, 'argsz:0:4 flags:4:4 iova_pgsizes:8:8 cap_offset:16:4 pad:20:4'],
  'vfio_iommu_type1_info_cap_iova_range': [16, 'id:0:2 version:2:2 next:4:4 nr_iovas:8:4 reserved:12:4'],
  'vfio_iommu_type1_info_cap_migration': [32, 'id:0:2 version:2:2 next:4:4 flags:8:4 pgsize_bitmap:16:8 max_dirty_bitmap_size:24:8'],
  'vfio_iommu_type1_info_dma_avail': [12, 'id:0:2 version:2:2 next:4:4 avail:8:4'],
  'vfio_iova_range': [16, 'start:0:8 end:8:8'],
  'vfio_irq_info': [16, 'argsz:0:4 flags:4:4 index:8:4 count:12:4'],
  'vfio_irq_set': [20, 'argsz:0:4 flags:4:4 index:8:4 start:12:4 count:16:4'],
  'vfio_pci_hot_reset': [12, 'argsz:0:4 flags:4:4 count:8:4'],
  'vfio_device_ioeventfd': [32, 'argsz:0:4 flags:4:4 offset:8:8 data:16:8 fd:24:4 reserved:28:4'],
  'vfio_pci_dependent_device': [8, 'devid:0:4 segment:4:2 bus:6:1 devfn:7:1'],
  'vfio_pci_hot_reset_info': [12, 'argsz:0:4 flags:4:4 count:8:4'],
  'vfio_region_info': [32, 'argsz:0:4 flags:4:4 index:8:4 cap_offset:12:4 size:16:8 offset:24:8'],
  'iommu_hwpt_invalidate_selftest': [8, 'flags:0:4 iotlb_id:4:4'],
  'iommu_hwpt_selftest': [8, 'iotlb:0:4 pagetable_type:4:4'],
  'iommu_test_cmd': [72, 'size:0:4 op:4:4 id:8:4 __reserved:12:4 last:64:4'],
  'iommu_test_cmd.access_pages': [72, 'flags:16:4 out_access_pages_id:20:4 iova:24:8 length:32:8 uptr:40:8'],
  'iommu_test_cmd.access_replace_ioas': [72, 'ioas_id:16:4'],
  'iommu_test_cmd.access_rw': [72, 'iova:16:8 length:24:8 uptr:32:8 flags:40:4'],
  'iommu_test_cmd.add_reserved': [72, 'start:16:8 length:24:8'],
  'iommu_test_cmd.check_dev_cache': [72, 'id:16:4 cache:20:4'],
  'iommu_test_cmd.check_iotlb': [72, 'id:16:4 iotlb:20:4'],
  'iommu_test_cmd.check_map': [72, 'iova:16:8 length:24:8 uptr:32:8'],
  'iommu_test_cmd.check_refs': [72, 'length:16:8 uptr:24:8 refs:32:4'],
  'iommu_test_cmd.create_access': [72, 'out_access_fd:16:4 flags:20:4'],
  'iommu_test_cmd.destroy_access_pages': [72, 'access_pages_id:16:4'],
  'iommu_test_cmd.dirty': [72, 'flags:16:4 iova:24:8 length:32:8 page_size:40:8 uptr:48:8 out_nr_dirty:56:8'],
  'iommu_test_cmd.dmabuf_get': [72, 'length:16:4 open_flags:20:4'],
  'iommu_test_cmd.dmabuf_revoke': [72, 'dmabuf_fd:16:4 revoked:20:4'],
  'iommu_test_cmd.memory_limit': [72, 'limit:16:4'],
  'iommu_test_cmd.mock_domain': [72, 'out_stdev_id:16:4 out_hwpt_id:20:4 out_idev_id:24:4'],
  'iommu_test_cmd.mock_domain_flags': [72, 'out_stdev_id:16:4 out_hwpt_id:20:4 out_idev_id:24:4 dev_flags:28:4'],
  'iommu_test_cmd.mock_domain_replace': [72, 'pt_id:16:4'],
  'iommu_test_cmd.pasid_attach': [72, 'pasid:16:4 pt_id:20:4'],
  'iommu_test_cmd.pasid_check': [72, 'pasid:16:4 hwpt_id:20:4'],
  'iommu_test_cmd.pasid_detach': [72, 'pasid:16:4'],
  'iommu_test_cmd.pasid_replace': [72, 'pasid:16:4 pt_id:20:4'],
  'iommu_test_cmd.trigger_iopf': [72, 'dev_id:16:4 pasid:20:4 grpid:24:4 perm:28:4 addr:32:8'],
  'iommu_test_cmd.trigger_vevent': [72, 'dev_id:16:4'],
  'iommu_test_hw_info': [8, 'flags:0:4 test_reg:4:4'],
  'iommu_viommu_event_selftest': [4, 'virt_id:0:4'],
  'iommu_viommu_invalidate_selftest': [12, 'flags:0:4 vdev_id:4:4 cache_id:8:4'],
  'iommu_viommu_selftest': [24, 'in_data:0:4 out_data:4:4 out_mmap_offset:8:8 out_mmap_length:16:8'],
};

// Values of the kernel macros and enumerators (same gcc run).
const KERNEL_CONSTANTS: Record<string, number> = {
  IOMMUFD_CMD_BASE: 0x80, IOMMUFD_CMD_DESTROY: 0x80, IOMMUFD_CMD_FAULT_QUEUE_ALLOC: 0x8e,
  IOMMUFD_CMD_GET_HW_INFO: 0x8a, IOMMUFD_CMD_HWPT_ALLOC: 0x89, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP: 0x8c,
  IOMMUFD_CMD_HWPT_INVALIDATE: 0x8d, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING: 0x8b,
  IOMMUFD_CMD_HW_QUEUE_ALLOC: 0x94, IOMMUFD_CMD_IOAS_ALLOC: 0x81, IOMMUFD_CMD_IOAS_ALLOW_IOVAS: 0x82,
  IOMMUFD_CMD_IOAS_CHANGE_PROCESS: 0x92, IOMMUFD_CMD_IOAS_COPY: 0x83, IOMMUFD_CMD_IOAS_IOVA_RANGES: 0x84,
  IOMMUFD_CMD_IOAS_MAP: 0x85, IOMMUFD_CMD_IOAS_MAP_FILE: 0x8f, IOMMUFD_CMD_IOAS_UNMAP: 0x86,
  IOMMUFD_CMD_OPTION: 0x87, IOMMUFD_CMD_VDEVICE_ALLOC: 0x91, IOMMUFD_CMD_VEVENTQ_ALLOC: 0x93,
  IOMMUFD_CMD_VFIO_IOAS: 0x88, IOMMUFD_CMD_VIOMMU_ALLOC: 0x90, IOMMUFD_PAGE_RESP_INVALID: 0x1,
  IOMMUFD_PAGE_RESP_SUCCESS: 0x0, IOMMUFD_TYPE: 0x3b, IOMMU_DESTROY: 0x3b80, IOMMU_FAULT_QUEUE_ALLOC: 0x3b8e,
  IOMMU_GET_HW_INFO: 0x3b8a, IOMMU_HWPT_ALLOC: 0x3b89, IOMMU_HWPT_ALLOC_DIRTY_TRACKING: 0x2,
  IOMMU_HWPT_ALLOC_NEST_PARENT: 0x1, IOMMU_HWPT_ALLOC_PASID: 0x8, IOMMU_HWPT_DATA_AMD_GUEST: 0x3,
  IOMMU_HWPT_DATA_ARM_SMMUV3: 0x2, IOMMU_HWPT_DATA_NONE: 0x0, IOMMU_HWPT_DATA_SELFTEST: 0xdead,
  IOMMU_HWPT_DATA_VTD_S1: 0x1, IOMMU_HWPT_DIRTY_TRACKING_ENABLE: 0x1, IOMMU_HWPT_FAULT_ID_VALID: 0x4,
  IOMMU_HWPT_GET_DIRTY_BITMAP: 0x3b8c, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: 0x1,
  IOMMU_HWPT_INVALIDATE: 0x3b8d, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST: 0xdeadbeef,
  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID: 0xdadbeef, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: 0x0,
  IOMMU_HWPT_SET_DIRTY_TRACKING: 0x3b8b, IOMMU_HW_CAP_DIRTY_TRACKING: 0x1,
  IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED: 0x8, IOMMU_HW_CAP_PCI_PASID_EXEC: 0x2, IOMMU_HW_CAP_PCI_PASID_PRIV: 0x4,
  IOMMU_HW_INFO_FLAG_INPUT_TYPE: 0x1, IOMMU_HW_INFO_SELFTEST_REGVAL: 0xdeadbeef, IOMMU_HW_INFO_TYPE_AMD: 0x4,
  IOMMU_HW_INFO_TYPE_ARM_SMMUV3: 0x2, IOMMU_HW_INFO_TYPE_DEFAULT: 0x0, IOMMU_HW_INFO_TYPE_INTEL_VTD: 0x1,
  IOMMU_HW_INFO_TYPE_NONE: 0x0, IOMMU_HW_INFO_TYPE_SELFTEST: 0xfeedbeef,
  IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV: 0x3, IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: 0x1,
  IOMMU_HW_QUEUE_ALLOC: 0x3b94, IOMMU_HW_QUEUE_TYPE_DEFAULT: 0x0, IOMMU_HW_QUEUE_TYPE_SELFTEST: 0xdeadbeef,
  IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV: 0x1, IOMMU_IOAS_ALLOC: 0x3b81, IOMMU_IOAS_ALLOW_IOVAS: 0x3b82,
  IOMMU_IOAS_CHANGE_PROCESS: 0x3b92, IOMMU_IOAS_COPY: 0x3b83, IOMMU_IOAS_IOVA_RANGES: 0x3b84,
  IOMMU_IOAS_MAP: 0x3b85, IOMMU_IOAS_MAP_FILE: 0x3b8f, IOMMU_IOAS_MAP_FIXED_IOVA: 0x1,
  IOMMU_IOAS_MAP_READABLE: 0x4, IOMMU_IOAS_MAP_WRITEABLE: 0x2, IOMMU_IOAS_UNMAP: 0x3b86, IOMMU_OPTION: 0x3b87,
  IOMMU_OPTION_HUGE_PAGES: 0x1, IOMMU_OPTION_OP_GET: 0x1, IOMMU_OPTION_OP_SET: 0x0,
  IOMMU_OPTION_RLIMIT_MODE: 0x0, IOMMU_PGFAULT_FLAGS_LAST_PAGE: 0x2, IOMMU_PGFAULT_FLAGS_PASID_VALID: 0x1,
  IOMMU_PGFAULT_PERM_EXEC: 0x4, IOMMU_PGFAULT_PERM_PRIV: 0x8, IOMMU_PGFAULT_PERM_READ: 0x1,
  IOMMU_PGFAULT_PERM_WRITE: 0x2, IOMMU_TEST_CMD: 0x3ba0, IOMMU_TEST_DEV_CACHE_DEFAULT: 0xbaddad,
  IOMMU_TEST_HW_QUEUE_MAX: 0x2, IOMMU_TEST_INVALIDATE_FLAG_ALL: 0x1, IOMMU_TEST_IOTLB_DEFAULT: 0xbadbeef,
  IOMMU_TEST_OP_ACCESS_PAGES: 0x7, IOMMU_TEST_OP_ACCESS_REPLACE_IOAS: 0xb, IOMMU_TEST_OP_ACCESS_RW: 0x8,
  IOMMU_TEST_OP_ADD_RESERVED: 0x1, IOMMU_TEST_OP_CREATE_ACCESS: 0x5, IOMMU_TEST_OP_DESTROY_ACCESS_PAGES: 0x6,
  IOMMU_TEST_OP_DEV_CHECK_CACHE: 0x10, IOMMU_TEST_OP_DIRTY: 0xd, IOMMU_TEST_OP_DMABUF_GET: 0x16,
  IOMMU_TEST_OP_DMABUF_REVOKE: 0x17, IOMMU_TEST_OP_MD_CHECK_IOTLB: 0xe, IOMMU_TEST_OP_MD_CHECK_MAP: 0x3,
  IOMMU_TEST_OP_MD_CHECK_REFS: 0x4, IOMMU_TEST_OP_MOCK_DOMAIN: 0x2, IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS: 0xc,
  IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: 0xa, IOMMU_TEST_OP_PASID_ATTACH: 0x12,
  IOMMU_TEST_OP_PASID_CHECK_HWPT: 0x15, IOMMU_TEST_OP_PASID_DETACH: 0x14, IOMMU_TEST_OP_PASID_REPLACE: 0x13,
  IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT: 0x9, IOMMU_TEST_OP_TRIGGER_IOPF: 0xf,
  IOMMU_TEST_OP_TRIGGER_VEVENT: 0x11, IOMMU_TEST_PASID_RESERVED: 0x400, IOMMU_VDEVICE_ALLOC: 0x3b91,
  IOMMU_VEVENTQ_ALLOC: 0x3b93, IOMMU_VEVENTQ_FLAG_LOST_EVENTS: 0x1, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3: 0x1,
  IOMMU_VEVENTQ_TYPE_DEFAULT: 0x0, IOMMU_VEVENTQ_TYPE_SELFTEST: 0xbeefbeef,
  IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV: 0x2, IOMMU_VFIO_IOAS: 0x3b88, IOMMU_VFIO_IOAS_CLEAR: 0x2,
  IOMMU_VFIO_IOAS_GET: 0x0, IOMMU_VFIO_IOAS_SET: 0x1, IOMMU_VIOMMU_ALLOC: 0x3b90,
  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3: 0x1, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST: 0xdeadbeef,
  IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID: 0xdadbeef, IOMMU_VIOMMU_TYPE_ARM_SMMUV3: 0x1,
  IOMMU_VIOMMU_TYPE_DEFAULT: 0x0, IOMMU_VIOMMU_TYPE_SELFTEST: 0xdeadbeef,
  IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV: 0x2, IOMMU_VTD_INV_FLAGS_LEAF: 0x1, IOMMU_VTD_S1_EAFE: 0x2,
  IOMMU_VTD_S1_SRE: 0x1, IOMMU_VTD_S1_WPE: 0x4, MOCK_ACCESS_RW_SLOW_PATH: 0x4, MOCK_ACCESS_RW_WRITE: 0x1,
  MOCK_APERTURE_LAST: 0x7fffffff, MOCK_APERTURE_START: 0x1000000, MOCK_DEV_CACHE_ID_MAX: 0x3,
  MOCK_DEV_CACHE_NUM: 0x4, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES: 0x1, MOCK_FLAGS_ACCESS_SYZ: 0x10000,
  MOCK_FLAGS_ACCESS_WRITE: 0x1, MOCK_FLAGS_DEVICE_NO_DIRTY: 0x1, MOCK_FLAGS_DEVICE_PASID: 0x4,
  MOCK_HUGE_PAGE_SIZE: 0x100000, MOCK_IOMMUPT_DEFAULT: 0x0, MOCK_IOMMUPT_HUGE: 0x1,
  MOCK_NESTED_DOMAIN_IOTLB_ID_MAX: 0x3, MOCK_NESTED_DOMAIN_IOTLB_NUM: 0x4, MOCK_PAGE_SIZE: 0x800,
  MOCK_PASID_WIDTH: 0x14, VFIO_API_VERSION: 0x0, VFIO_BASE: 0x64, VFIO_CHECK_EXTENSION: 0x3b65,
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: 0x3b77, VFIO_DEVICE_ATTACH_PASID: 0x1, VFIO_DEVICE_BIND_FLAG_TOKEN: 0x1,
  VFIO_DEVICE_BIND_IOMMUFD: 0x3b76, VFIO_DEVICE_DETACH_IOMMUFD_PT: 0x3b78, VFIO_DEVICE_DETACH_PASID: 0x1,
  VFIO_DEVICE_FEATURE: 0x3b75, VFIO_DEVICE_FLAGS_AMBA: 0x8, VFIO_DEVICE_FLAGS_AP: 0x20,
  VFIO_DEVICE_FLAGS_CAPS: 0x80, VFIO_DEVICE_FLAGS_CCW: 0x10, VFIO_DEVICE_FLAGS_CDX: 0x100,
  VFIO_DEVICE_FLAGS_FSL_MC: 0x40, VFIO_DEVICE_FLAGS_PCI: 0x2, VFIO_DEVICE_FLAGS_PLATFORM: 0x4,
  VFIO_DEVICE_FLAGS_RESET: 0x1, VFIO_DEVICE_GET_GFX_DMABUF: 0x3b73, VFIO_DEVICE_GET_INFO: 0x3b6b,
  VFIO_DEVICE_GET_IRQ_INFO: 0x3b6d, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: 0x3b70,
  VFIO_DEVICE_GET_REGION_INFO: 0x3b6c, VFIO_DEVICE_IOEVENTFD: 0x3b74, VFIO_DEVICE_PCI_HOT_RESET: 0x3b71,
  VFIO_DEVICE_QUERY_GFX_PLANE: 0x3b72, VFIO_DEVICE_RESET: 0x3b6f, VFIO_DEVICE_SET_IRQS: 0x3b6e,
  VFIO_DMA_CC_IOMMU: 0x4, VFIO_DMA_MAP_FLAG_READ: 0x1, VFIO_DMA_MAP_FLAG_VADDR: 0x4,
  VFIO_DMA_MAP_FLAG_WRITE: 0x2, VFIO_DMA_UNMAP_FLAG_ALL: 0x2, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP: 0x1,
  VFIO_DMA_UNMAP_FLAG_VADDR: 0x4, VFIO_EEH: 0x5, VFIO_EEH_PE_OP: 0x3b79, VFIO_GET_API_VERSION: 0x3b64,
  VFIO_GROUP_FLAGS_CONTAINER_SET: 0x2, VFIO_GROUP_FLAGS_VIABLE: 0x1, VFIO_GROUP_GET_DEVICE_FD: 0x3b6a,
  VFIO_GROUP_GET_STATUS: 0x3b67, VFIO_GROUP_SET_CONTAINER: 0x3b68, VFIO_GROUP_UNSET_CONTAINER: 0x3b69,
  VFIO_IOMMU_DIRTY_PAGES: 0x3b75, VFIO_IOMMU_DISABLE: 0x3b74, VFIO_IOMMU_ENABLE: 0x3b73,
  VFIO_IOMMU_GET_INFO: 0x3b70, VFIO_IOMMU_INFO_CAPS: 0x2, VFIO_IOMMU_INFO_PGSIZES: 0x1,
  VFIO_IOMMU_MAP_DMA: 0x3b71, VFIO_IOMMU_SPAPR_REGISTER_MEMORY: 0x3b75, VFIO_IOMMU_SPAPR_TCE_CREATE: 0x3b77,
  VFIO_IOMMU_SPAPR_TCE_GET_INFO: 0x3b70, VFIO_IOMMU_SPAPR_TCE_REMOVE: 0x3b78,
  VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY: 0x3b76, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: 0x1,
  VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: 0x2, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: 0x3,
  VFIO_IOMMU_UNMAP_DMA: 0x3b72, VFIO_IRQ_INFO_AUTOMASKED: 0x4, VFIO_IRQ_INFO_EVENTFD: 0x1,
  VFIO_IRQ_INFO_MASKABLE: 0x2, VFIO_IRQ_INFO_NORESIZE: 0x8, VFIO_MIG_GET_PRECOPY_INFO: 0x3b79,
  VFIO_NOIOMMU_IOMMU: 0x8, VFIO_REGION_INFO_FLAG_CAPS: 0x8, VFIO_REGION_INFO_FLAG_MMAP: 0x4,
  VFIO_PCI_BAR0_REGION_INDEX: 0, VFIO_PCI_BAR5_REGION_INDEX: 5, VFIO_PCI_ROM_REGION_INDEX: 6,
  VFIO_PCI_CONFIG_REGION_INDEX: 7, VFIO_PCI_VGA_REGION_INDEX: 8, VFIO_PCI_NUM_REGIONS: 9,
  VFIO_PCI_HOT_RESET_FLAG_DEV_ID: 0x1, VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED: 0x2,
  VFIO_REGION_INFO_FLAG_READ: 0x1, VFIO_REGION_INFO_FLAG_WRITE: 0x2, VFIO_SET_IOMMU: 0x3b66,
  VFIO_SPAPR_TCE_IOMMU: 0x2, VFIO_SPAPR_TCE_v2_IOMMU: 0x7, VFIO_TYPE: 0x3b, VFIO_TYPE1_IOMMU: 0x1,
  VFIO_TYPE1v2_IOMMU: 0x3, VFIO_UNMAP_ALL: 0x9, VFIO_UPDATE_VADDR: 0xa,
  VFIO_PCI_INTX_IRQ_INDEX: 0, VFIO_PCI_MSI_IRQ_INDEX: 1, VFIO_PCI_MSIX_IRQ_INDEX: 2, VFIO_PCI_ERR_IRQ_INDEX: 3,
  VFIO_PCI_REQ_IRQ_INDEX: 4, VFIO_PCI_NUM_IRQS: 5, VFIO_IRQ_SET_DATA_NONE: 0x1, VFIO_IRQ_SET_DATA_BOOL: 0x2,
  VFIO_IRQ_SET_DATA_EVENTFD: 0x4, VFIO_IRQ_SET_ACTION_MASK: 0x8, VFIO_IRQ_SET_ACTION_UNMASK: 0x10,
  VFIO_IRQ_SET_ACTION_TRIGGER: 0x20, VFIO_IRQ_SET_DATA_TYPE_MASK: 0x7, VFIO_IRQ_SET_ACTION_TYPE_MASK: 0x38,
  VFIO_DEVICE_IOEVENTFD_8: 0x1, VFIO_DEVICE_IOEVENTFD_16: 0x2, VFIO_DEVICE_IOEVENTFD_32: 0x4,
  VFIO_DEVICE_IOEVENTFD_64: 0x8, VFIO_DEVICE_IOEVENTFD_SIZE_MASK: 0xf,
  __VFIO_RESERVED_TYPE1_NESTING_IOMMU: 0x6,
  // include/uapi/linux/pci_regs.h
  PCI_STD_HEADER_SIZEOF: 0x40, PCI_COMMAND: 4, PCI_STATUS: 6, PCI_COMMAND_IO: 1, PCI_COMMAND_MEMORY: 2,
  PCI_COMMAND_INTX_DISABLE: 0x400, PCI_STATUS_CAP_LIST: 0x10, PCI_CACHE_LINE_SIZE: 12, PCI_LATENCY_TIMER: 13,
  PCI_BIST: 15, PCI_BASE_ADDRESS_0: 0x10, PCI_BASE_ADDRESS_5: 0x24, PCI_ROM_ADDRESS: 0x30, PCI_CAPABILITY_LIST: 0x34,
  PCI_INTERRUPT_LINE: 0x3c, PCI_INTERRUPT_PIN: 0x3d, PCI_BASE_ADDRESS_SPACE_IO: 1, PCI_BASE_ADDRESS_MEM_TYPE_64: 4,
  PCI_BASE_ADDRESS_MEM_PREFETCH: 8, PCI_CAP_LIST_NEXT: 1, PCI_CAP_FLAGS: 2, PCI_CAP_ID_PM: 1, PCI_CAP_ID_VPD: 3,
  PCI_CAP_ID_MSI: 5, PCI_CAP_ID_PCIX: 7, PCI_CAP_ID_HT: 8, PCI_CAP_ID_VNDR: 9, PCI_CAP_ID_EXP: 0x10,
  PCI_CAP_ID_MSIX: 0x11, PCI_CAP_ID_SATA: 0x12, PCI_CAP_ID_AF: 0x13, PCI_CAP_ID_MAX: 0x14, PCI_PM_PMC: 2,
  PCI_PM_CTRL: 4, PCI_PM_CAP_PME_MASK: 0xf800, PCI_PM_CTRL_STATE_MASK: 3, PCI_PM_CTRL_PME_ENABLE: 0x100,
  PCI_PM_CTRL_PME_STATUS: 0x8000, PCI_MSI_FLAGS: 2, PCI_MSI_ADDRESS_LO: 4, PCI_MSI_ADDRESS_HI: 8, PCI_MSI_DATA_32: 8,
  PCI_MSI_DATA_64: 12, PCI_MSI_MASK_32: 12, PCI_MSI_MASK_64: 0x10, PCI_MSI_PENDING_32: 0x10,
  PCI_MSI_PENDING_64: 0x14, PCI_MSI_FLAGS_ENABLE: 1, PCI_MSI_FLAGS_QSIZE: 0x70, PCI_MSI_FLAGS_64BIT: 0x80,
  PCI_MSI_FLAGS_MASKBIT: 0x100, PCI_EXP_FLAGS: 2, PCI_EXP_FLAGS_VERS: 15, PCI_EXP_FLAGS_TYPE: 0xf0,
  PCI_EXP_TYPE_RC_END: 9, PCI_EXP_DEVCAP: 4, PCI_EXP_DEVCAP_FLR: 0x10000000, PCI_EXP_DEVCTL: 8,
  PCI_EXP_DEVCTL2: 0x28, PCI_EXP_DEVCTL_PAYLOAD: 0xe0, PCI_EXP_DEVCTL_PHANTOM: 0x200, PCI_EXP_DEVCTL_READRQ: 0x7000,
  PCI_EXP_DEVCTL_BCR_FLR: 0x8000, PCI_EXP_DEVCTL2_ARI: 0x20, PCI_CAP_EXP_ENDPOINT_SIZEOF_V1: 0x14,
  PCI_CAP_EXP_ENDPOINT_SIZEOF_V2: 0x34, PCI_AF_CAP: 3, PCI_AF_CTRL: 4, PCI_AF_CAP_TP: 1, PCI_AF_CAP_FLR: 2,
  PCI_AF_CTRL_FLR: 1, PCI_VPD_ADDR: 2, PCI_VPD_DATA: 4, PCI_X_CMD: 2, PCI_X_ECC_CSR: 8, PCI_CAP_PCIX_SIZEOF_V0: 8,
  PCI_CAP_PCIX_SIZEOF_V2: 0x18, PCI_EXT_CAP_ID_ERR: 1, PCI_EXT_CAP_ID_PWR: 4, PCI_EXT_CAP_ID_VNDR: 11,
  PCI_EXT_CAP_ID_DVSEC: 0x23, PCI_EXT_CAP_ID_MAX: 0x31, PCI_ERR_UNCOR_STATUS: 4, PCI_ERR_UNCOR_MASK: 8,
  PCI_ERR_UNCOR_SEVER: 12, PCI_ERR_COR_STATUS: 0x10, PCI_ERR_COR_MASK: 0x14, PCI_ERR_CAP: 0x18, PCI_PWR_DATA: 8,
  PCI_COMMAND_MASTER: 4, PCI_CAP_LIST_ID: 0, PCI_CFG_SPACE_SIZE: 0x100, PCI_CFG_SPACE_EXP_SIZE: 0x1000,
};

// IOCTL_OP rows of drivers/iommu/iommufd/main.c: [offsetofend(last), sizeof].
const KERNEL_MIN_SIZES: Record<string, [number, number]> = {
  IOMMU_DESTROY: [8, 8],
  IOMMU_FAULT_QUEUE_ALLOC: [16, 16],
  IOMMU_GET_HW_INFO: [32, 40],
  IOMMU_HW_QUEUE_ALLOC: [40, 40],
  IOMMU_HWPT_ALLOC: [24, 48],
  IOMMU_HWPT_GET_DIRTY_BITMAP: [48, 48],
  IOMMU_HWPT_INVALIDATE: [32, 32],
  IOMMU_HWPT_SET_DIRTY_TRACKING: [16, 16],
  IOMMU_IOAS_ALLOC: [12, 12],
  IOMMU_IOAS_ALLOW_IOVAS: [24, 24],
  IOMMU_IOAS_CHANGE_PROCESS: [8, 8],
  IOMMU_IOAS_COPY: [40, 40],
  IOMMU_IOAS_IOVA_RANGES: [32, 32],
  IOMMU_IOAS_MAP: [40, 40],
  IOMMU_IOAS_MAP_FILE: [40, 40],
  IOMMU_IOAS_UNMAP: [24, 24],
  IOMMU_OPTION: [24, 24],
  IOMMU_VDEVICE_ALLOC: [24, 24],
  IOMMU_VEVENTQ_ALLOC: [28, 32],
  IOMMU_VFIO_IOAS: [12, 12],
  IOMMU_VIOMMU_ALLOC: [24, 40],
  IOMMU_TEST_CMD: [68, 72],
};

const MODULES: ReadonlyArray<Record<string, unknown>> = [U, V, T, P];

function isStruct(v: unknown): v is StructDef {
  return typeof v === 'object' && v !== null && 'fields' in v && 'decode' in v && 'encode' in v;
}

function allStructs(): StructDef[] {
  const out = new Set<StructDef>();
  for (const m of MODULES) for (const v of Object.values(m)) if (isStruct(v)) out.add(v);
  return [...out];
}

function layoutOf(def: StructDef): string {
  return Object.entries(def.fields).map(([k, f]) => `${k}:${f.off}:${widthOf(f)}`).join(' ');
}

test('every struct matches the kernel layout (sizeof, offsetof, member width)', () => {
  const defs = allStructs();
  assert.equal(defs.length, Object.keys(KERNEL_LAYOUTS).length);
  for (const def of defs) {
    const want = KERNEL_LAYOUTS[def.name];
    assert.ok(want, `no kernel layout recorded for ${def.name}`);
    assert.equal(def.size, want[0], `sizeof ${def.name}`);
    assert.equal(layoutOf(def), want[1], `fields of ${def.name}`);
  }
});

test('every kernel constant we export has the kernel value', () => {
  let n = 0;
  for (const [name, value] of Object.entries(KERNEL_CONSTANTS)) {
    let ours: unknown;
    if (name.startsWith('IOMMUFD_CMD_') && name !== 'IOMMUFD_CMD_BASE') {
      ours = (U.IOMMUFD_CMD as Record<string, number>)[name.slice('IOMMUFD_CMD_'.length)];
    } else {
      ours = MODULES.map((m) => m[name]).find((v) => v !== undefined);
    }
    assert.equal(ours, value, name);
    n++;
  }
  assert.ok(n > 200);
});

test('iommufd ioctl table: requests, structs, minimum sizes (main.c IOCTL_OP)', () => {
  const rows = IOMMUFD_IOCTLS.filter((d) => d !== undefined);
  assert.equal(rows.length, Object.keys(KERNEL_MIN_SIZES).length);
  for (const d of rows) {
    const want = KERNEL_MIN_SIZES[d.name];
    assert.ok(want, d.name);
    assert.equal(d.minSize, want[0], `min ${d.name}`);
    assert.equal(d.struct.size, want[1], `size ${d.name}`);
    assert.equal(d.request, KERNEL_CONSTANTS[d.name], `request ${d.name}`);
    assert.equal(d.request, 0x3b00 | d.nr);
    assert.equal(ioctlByRequest(d.request), d);
  }
  assert.equal(IOMMUFD_TABLE_LEN, 33);
  // 0x80..0x94 are dense, 0x95..0x9f holes, 0xa0 the test command
  for (let nr = 0x80; nr <= 0x94; nr++) assert.ok(ioctlByRequest(0x3b00 | nr), `nr 0x${nr.toString(16)}`);
  for (let nr = 0x95; nr <= 0x9f; nr++) assert.equal(ioctlByRequest(0x3b00 | nr), undefined);
  assert.equal(ioctlByRequest(T.IOMMU_TEST_CMD)?.minSize, 68);
  // size or direction bits, another type byte, numbers below the base: not ours
  assert.equal(ioctlByRequest(0xc0283b85), undefined);
  assert.equal(ioctlByRequest(0x3c85), undefined);
  assert.equal(ioctlByRequest(0x3b70), undefined);
});

test('a few minimum sizes spelled out (uapi.md §1.1)', () => {
  const min = (r: number) => ioctlByRequest(r)?.minSize;
  assert.equal(min(U.IOMMU_HWPT_ALLOC), 24);
  assert.equal(min(U.IOMMU_GET_HW_INFO), 32);
  assert.equal(min(U.IOMMU_VIOMMU_ALLOC), 24);
  assert.equal(min(U.IOMMU_VEVENTQ_ALLOC), 28);
  assert.equal(min(U.IOMMU_HW_QUEUE_ALLOC), 40);
  assert.equal(min(U.IOMMU_HWPT_GET_DIRTY_BITMAP), 48);
});

test('VFIO table: requests and minsz', () => {
  const want: Record<string, [number, number]> = {
    VFIO_GET_API_VERSION: [0x3b64, 0], VFIO_CHECK_EXTENSION: [0x3b65, 0], VFIO_SET_IOMMU: [0x3b66, 0],
    VFIO_IOMMU_GET_INFO: [0x3b70, 16], VFIO_IOMMU_MAP_DMA: [0x3b71, 32], VFIO_IOMMU_UNMAP_DMA: [0x3b72, 24],
    VFIO_DEVICE_GET_INFO: [0x3b6b, 16], VFIO_DEVICE_GET_REGION_INFO: [0x3b6c, 32],
    VFIO_DEVICE_GET_IRQ_INFO: [0x3b6d, 16], VFIO_DEVICE_RESET: [0x3b6f, 0],
    VFIO_DEVICE_BIND_IOMMUFD: [0x3b76, 16], VFIO_DEVICE_ATTACH_IOMMUFD_PT: [0x3b77, 12],
    VFIO_DEVICE_DETACH_IOMMUFD_PT: [0x3b78, 8],
  };
  assert.equal(VFIO_IOCTLS.length, Object.keys(want).length);
  for (const d of VFIO_IOCTLS) {
    const w = want[d.name];
    assert.ok(w, d.name);
    assert.equal(d.request, w[0], d.name);
    assert.equal(d.minSize, w[1], d.name);
    assert.equal(d.request, KERNEL_CONSTANTS[d.name], d.name);
    assert.equal(vfioIoctlByRequest(d.request, d.file), d);
  }
  // n = 12 is GET_INFO on a container, GET_PCI_HOT_RESET_INFO on a device
  assert.equal(vfioIoctlByRequest(0x3b70, 'device'), undefined);
});

test('describeRequest names iommufd, test and VFIO requests', () => {
  assert.equal(describeRequest(U.IOMMU_IOAS_MAP), 'IOMMU_IOAS_MAP');
  assert.equal(describeRequest(U.IOMMU_HW_QUEUE_ALLOC), 'IOMMU_HW_QUEUE_ALLOC');
  assert.equal(describeRequest(T.IOMMU_TEST_CMD), 'IOMMU_TEST_CMD');
  assert.equal(describeRequest(V.VFIO_DEVICE_BIND_IOMMUFD), 'VFIO_DEVICE_BIND_IOMMUFD');
  assert.equal(describeRequest(V.VFIO_IOMMU_MAP_DMA, 'container'), 'VFIO_IOMMU_MAP_DMA');
  assert.equal(describeRequest(V.VFIO_IOMMU_MAP_DMA, 'device'), 'VFIO_DEVICE_PCI_HOT_RESET');
  assert.equal(describeRequest(V.VFIO_IOMMU_GET_INFO), 'VFIO_IOMMU_GET_INFO|VFIO_DEVICE_GET_PCI_HOT_RESET_INFO');
  assert.equal(describeRequest(0x3b95), "_IO(';', 0x95)");
  assert.equal(describeRequest(0xc0283b85), "_IOC(READ|WRITE, ';', 0x85, 40)");
  assert.equal(describeRequest(0x5401), "_IO('T', 0x1)");
});

test('round trip: iommu_ioas_map_file (s32 fd, u64 extremes)', () => {
  const v = { size: 40, flags: U.IOMMU_IOAS_MAP_FIXED_IOVA | U.IOMMU_IOAS_MAP_READABLE, ioas_id: 7, fd: -1,
    start: 0x1234n, length: 0xffffffffffffffffn, iova: 0x8000_0000_0000n };
  const buf = U.IommuIoasMapFile.encode(v);
  assert.equal(buf.length, 40);
  assert.deepEqual(U.IommuIoasMapFile.decode(buf), v);
  assert.deepEqual([...buf.subarray(12, 16)], [0xff, 0xff, 0xff, 0xff]);
});

test('round trip: iommu_hw_info union, u8 and byte-array fields', () => {
  const buf = U.IommuHwInfo.encode({ size: 40, dev_id: 3, in_data_type: U.IOMMU_HW_INFO_TYPE_INTEL_VTD,
    out_max_pasid_log2: 20, __reserved: new Uint8Array([0, 1, 0]), out_capabilities: BigInt(U.IOMMU_HW_CAP_DIRTY_TRACKING) });
  const d = U.IommuHwInfo.decode(buf);
  assert.equal(d.in_data_type, 1);
  assert.equal(d.out_data_type, 1, 'one union, two names');
  assert.equal(d.out_max_pasid_log2, 20);
  assert.deepEqual([...d.__reserved], [0, 1, 0]);
  assert.equal(buf[30], 1);
  assert.equal(d.out_capabilities, 1n);
});

test('round trip: fixed arrays (u32 idr[6], le64 ste[2])', () => {
  const idr = [1, 2, 3, 4, 5, 0xffffffff];
  const hw = U.IommuHwInfoArmSmmuv3.encode({ flags: 0, idr, iidr: 0x43b, aidr: 2 });
  assert.deepEqual(U.IommuHwInfoArmSmmuv3.decode(hw).idr, idr);
  assert.equal(new DataView(hw.buffer).getUint32(8 + 5 * 4, true), 0xffffffff);
  const ste = [0x8000000000000001n, 0x42n];
  const s = U.IommuHwptArmSmmuv3.encode({ ste });
  assert.deepEqual(U.IommuHwptArmSmmuv3.decode(s).ste, ste);
  assert.equal(s[7], 0x80);
});

test('round trip: VFIO bind and type1 map', () => {
  const b = { argsz: 24, flags: V.VFIO_DEVICE_BIND_FLAG_TOKEN, iommufd: 5, out_devid: 9, token_uuid_ptr: 0x7fff0000n };
  assert.deepEqual(V.VfioDeviceBindIommufd.decode(V.VfioDeviceBindIommufd.encode(b)), b);
  const m = { argsz: 32, flags: V.VFIO_DMA_MAP_FLAG_READ | V.VFIO_DMA_MAP_FLAG_WRITE, vaddr: 0x7f0000000000n, iova: 0x100000n, size: 0x200000n };
  assert.deepEqual(V.VfioIommuType1DmaMap.decode(V.VfioIommuType1DmaMap.encode(m)), m);
});

test('test command: views sit inside the union; every op has one', () => {
  for (const [op, view] of T.IOMMU_TEST_OP_VIEWS) {
    assert.equal(view.size, 72);
    for (const f of Object.values(view.fields)) {
      assert.ok(f.off >= 16 && f.off + widthOf(f) <= 64, `${view.name}`);
    }
    assert.ok(T.testOpName(op));
  }
  assert.equal(T.IOMMU_TEST_OP_VIEWS.size, Object.keys(T.IOMMU_TEST_OP).length);
  assert.equal(T.IOMMU_TEST_OP_VIEWS.get(T.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS), T.IommuTestCmdMockDomainFlags);
  assert.equal(T.testOpName(2), 'IOMMU_TEST_OP_MOCK_DOMAIN');
  assert.equal(T.testOpName(99), undefined);
});

test('test command: encodeTestCmd merges head and payload', () => {
  const buf = T.encodeTestCmd({ op: T.IOMMU_TEST_OP_MD_CHECK_IOTLB, id: 12 }, T.IommuTestCmdCheckIotlb,
    { id: 3, iotlb: T.IOMMU_TEST_IOTLB_DEFAULT });
  assert.equal(buf.length, 72);
  const h = T.IommuTestCmd.decode(buf);
  assert.deepEqual([h.size, h.op, h.id, h.last], [72, 14, 12, 0]);
  const p = T.IommuTestCmdCheckIotlb.decode(buf);
  assert.deepEqual([p.id, p.iotlb], [3, 0xbadbeef]);
  const dirty = T.encodeTestCmd({ op: T.IOMMU_TEST_OP_DIRTY, id: 4 }, T.IommuTestCmdDirty,
    { flags: 0, iova: 0x10000n, length: 0x4000n, page_size: 2048n, uptr: 0x5000n, out_nr_dirty: 0n });
  assert.equal(T.IommuTestCmdDirty.decode(dirty).page_size, 2048n);
  assert.equal(T.IommuTestCmd.decode(dirty).id, 4);
});
