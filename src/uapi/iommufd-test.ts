// drivers/iommu/iommufd/iommufd_test.h: the selftest ABI (IOMMU_TEST_CMD, served
// only by kernels built with CONFIG_IOMMUFD_TEST) and the mock driver's payloads.
//
// struct iommu_test_cmd is a 16-byte head, a 48-byte anonymous union of per-op
// payloads at offset 16, and `last` at 64 (sizeof 72 with tail padding).
// IommuTestCmd describes the head and `last`; each op's view is a full-size
// StructDef holding only that op's union member, flattened with absolute
// offsets and the kernel's member names (check_iotlb.id and check_dev_cache.id
// would collide with the head's id, hence the split). Decode both from the same
// 72-byte buffer; encodeTestCmd() merges them.
import { defineStruct, enumNames, u32, s32, u64 } from './struct.js';
import type { Decoded, Fields, StructDef, Symbolic } from './struct.js';
import { IOMMUFD_CMD_BASE, IommuHwptPgfault, iommufdRequest } from './iommufd.js';

/** _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32) */
export const IOMMUFD_CMD_TEST = IOMMUFD_CMD_BASE + 32;
export const IOMMU_TEST_CMD = iommufdRequest(IOMMUFD_CMD_TEST);

// Ops (the anonymous enum counts up from ADD_RESERVED = 1)
export const IOMMU_TEST_OP = {
  ADD_RESERVED: 1,
  MOCK_DOMAIN: 2,
  MD_CHECK_MAP: 3,
  MD_CHECK_REFS: 4,
  CREATE_ACCESS: 5,
  DESTROY_ACCESS_PAGES: 6,
  ACCESS_PAGES: 7,
  ACCESS_RW: 8,
  SET_TEMP_MEMORY_LIMIT: 9,
  MOCK_DOMAIN_REPLACE: 10,
  ACCESS_REPLACE_IOAS: 11,
  MOCK_DOMAIN_FLAGS: 12,
  DIRTY: 13,
  MD_CHECK_IOTLB: 14,
  TRIGGER_IOPF: 15,
  DEV_CHECK_CACHE: 16,
  TRIGGER_VEVENT: 17,
  PASID_ATTACH: 18,
  PASID_REPLACE: 19,
  PASID_DETACH: 20,
  PASID_CHECK_HWPT: 21,
  DMABUF_GET: 22,
  DMABUF_REVOKE: 23,
} as const;
export type IommuTestOpName = keyof typeof IOMMU_TEST_OP;

export const IOMMU_TEST_OP_ADD_RESERVED = IOMMU_TEST_OP.ADD_RESERVED;
export const IOMMU_TEST_OP_MOCK_DOMAIN = IOMMU_TEST_OP.MOCK_DOMAIN;
export const IOMMU_TEST_OP_MD_CHECK_MAP = IOMMU_TEST_OP.MD_CHECK_MAP;
export const IOMMU_TEST_OP_MD_CHECK_REFS = IOMMU_TEST_OP.MD_CHECK_REFS;
export const IOMMU_TEST_OP_CREATE_ACCESS = IOMMU_TEST_OP.CREATE_ACCESS;
export const IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = IOMMU_TEST_OP.DESTROY_ACCESS_PAGES;
export const IOMMU_TEST_OP_ACCESS_PAGES = IOMMU_TEST_OP.ACCESS_PAGES;
export const IOMMU_TEST_OP_ACCESS_RW = IOMMU_TEST_OP.ACCESS_RW;
export const IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = IOMMU_TEST_OP.SET_TEMP_MEMORY_LIMIT;
export const IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = IOMMU_TEST_OP.MOCK_DOMAIN_REPLACE;
export const IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = IOMMU_TEST_OP.ACCESS_REPLACE_IOAS;
export const IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = IOMMU_TEST_OP.MOCK_DOMAIN_FLAGS;
export const IOMMU_TEST_OP_DIRTY = IOMMU_TEST_OP.DIRTY;
export const IOMMU_TEST_OP_MD_CHECK_IOTLB = IOMMU_TEST_OP.MD_CHECK_IOTLB;
export const IOMMU_TEST_OP_TRIGGER_IOPF = IOMMU_TEST_OP.TRIGGER_IOPF;
export const IOMMU_TEST_OP_DEV_CHECK_CACHE = IOMMU_TEST_OP.DEV_CHECK_CACHE;
export const IOMMU_TEST_OP_TRIGGER_VEVENT = IOMMU_TEST_OP.TRIGGER_VEVENT;
export const IOMMU_TEST_OP_PASID_ATTACH = IOMMU_TEST_OP.PASID_ATTACH;
export const IOMMU_TEST_OP_PASID_REPLACE = IOMMU_TEST_OP.PASID_REPLACE;
export const IOMMU_TEST_OP_PASID_DETACH = IOMMU_TEST_OP.PASID_DETACH;
export const IOMMU_TEST_OP_PASID_CHECK_HWPT = IOMMU_TEST_OP.PASID_CHECK_HWPT;
export const IOMMU_TEST_OP_DMABUF_GET = IOMMU_TEST_OP.DMABUF_GET;
export const IOMMU_TEST_OP_DMABUF_REVOKE = IOMMU_TEST_OP.DMABUF_REVOKE;

// Mock page-table formats (iommu_hwpt_selftest.pagetable_type). 7.2 has no AMDV1.
export const MOCK_IOMMUPT_DEFAULT = 0;
export const MOCK_IOMMUPT_HUGE = 1;

// Geometry of MOCK_IOMMUPT_DEFAULT
export const MOCK_APERTURE_START = 1 << 24;
export const MOCK_APERTURE_LAST = 2 ** 31 - 1;
export const MOCK_PAGE_SIZE = 2048;
export const MOCK_HUGE_PAGE_SIZE = 512 * MOCK_PAGE_SIZE;

// access_pages.flags
export const MOCK_FLAGS_ACCESS_WRITE = 1 << 0;
export const MOCK_FLAGS_ACCESS_SYZ = 1 << 16;

// access_rw.flags
export const MOCK_ACCESS_RW_WRITE = 1 << 0;
export const MOCK_ACCESS_RW_SLOW_PATH = 1 << 2;

// create_access.flags
export const MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0;

// mock_domain_flags.dev_flags
export const MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0;
export const MOCK_FLAGS_DEVICE_PASID = 1 << 2;

export const MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3;
export const MOCK_NESTED_DOMAIN_IOTLB_NUM = 4;
export const MOCK_DEV_CACHE_ID_MAX = 3;
export const MOCK_DEV_CACHE_NUM = 4;

/** A PASID whose attach arms a one-shot failure of the next PASID replace. */
export const IOMMU_TEST_PASID_RESERVED = 1024;
/** PASID width of PASID-capable mock devices (out_max_pasid_log2). */
export const MOCK_PASID_WIDTH = 20;

// ---------------------------------------------------------------------------
// struct iommu_test_cmd and its per-op views

export const IOMMU_TEST_CMD_SIZE = 72;
/** Offset of the anonymous union. */
export const IOMMU_TEST_CMD_UNION_OFFSET = 16;
/** Size of the anonymous union (its largest member, `dirty`, rounded to 8). */
export const IOMMU_TEST_CMD_UNION_SIZE = 48;

const payloadEnd = IOMMU_TEST_CMD_UNION_OFFSET + IOMMU_TEST_CMD_UNION_SIZE;

function view<F extends Fields>(member: string, payload: F, symbols?: { readonly [K in keyof F]?: Symbolic }): StructDef<F> {
  for (const [k, f] of Object.entries(payload)) {
    if (f.off < IOMMU_TEST_CMD_UNION_OFFSET || f.off >= payloadEnd) throw new Error(`${member}.${k} lies outside the union`);
  }
  return defineStruct(`iommu_test_cmd.${member}`, IOMMU_TEST_CMD_SIZE, payload, symbols);
}

/** The head and `last`; the op's payload is read through its view. */
export const IommuTestCmd = defineStruct('iommu_test_cmd', IOMMU_TEST_CMD_SIZE, {
  size: u32(0), op: u32(4), id: u32(8), __reserved: u32(12), last: u32(64),
}, { op: enumNames(...Object.entries(IOMMU_TEST_OP).map(([k, v]) => [v, `IOMMU_TEST_OP_${k}`] as const)) });

export const IommuTestCmdAddReserved = view('add_reserved', { start: u64(16), length: u64(24) });
export const IommuTestCmdMockDomain = view('mock_domain', {
  out_stdev_id: u32(16), out_hwpt_id: u32(20), out_idev_id: u32(24),
});
export const IommuTestCmdMockDomainFlags = view('mock_domain_flags', {
  out_stdev_id: u32(16), out_hwpt_id: u32(20), out_idev_id: u32(24), dev_flags: u32(28),
});
export const IommuTestCmdMockDomainReplace = view('mock_domain_replace', { pt_id: u32(16) });
export const IommuTestCmdCheckMap = view('check_map', { iova: u64(16), length: u64(24), uptr: u64(32) });
export const IommuTestCmdCheckRefs = view('check_refs', { length: u64(16), uptr: u64(24), refs: u32(32) });
export const IommuTestCmdCreateAccess = view('create_access', { out_access_fd: u32(16), flags: u32(20) });
export const IommuTestCmdDestroyAccessPages = view('destroy_access_pages', { access_pages_id: u32(16) });
export const IommuTestCmdAccessPages = view('access_pages', {
  flags: u32(16), out_access_pages_id: u32(20), iova: u64(24), length: u64(32), uptr: u64(40),
});
export const IommuTestCmdAccessRw = view('access_rw', {
  iova: u64(16), length: u64(24), uptr: u64(32), flags: u32(40),
});
export const IommuTestCmdMemoryLimit = view('memory_limit', { limit: u32(16) });
export const IommuTestCmdAccessReplaceIoas = view('access_replace_ioas', { ioas_id: u32(16) });
export const IommuTestCmdDirty = view('dirty', {
  flags: u32(16), iova: u64(24), length: u64(32), page_size: u64(40), uptr: u64(48), out_nr_dirty: u64(56),
});
export const IommuTestCmdCheckIotlb = view('check_iotlb', { id: u32(16), iotlb: u32(20) });
export const IommuTestCmdTriggerIopf = view('trigger_iopf', {
  dev_id: u32(16), pasid: u32(20), grpid: u32(24), perm: u32(28), addr: u64(32),
}, { perm: IommuHwptPgfault.symbols!.perm! });
export const IommuTestCmdCheckDevCache = view('check_dev_cache', { id: u32(16), cache: u32(20) });
export const IommuTestCmdTriggerVevent = view('trigger_vevent', { dev_id: u32(16) });
export const IommuTestCmdPasidAttach = view('pasid_attach', { pasid: u32(16), pt_id: u32(20) });
export const IommuTestCmdPasidReplace = view('pasid_replace', { pasid: u32(16), pt_id: u32(20) });
export const IommuTestCmdPasidDetach = view('pasid_detach', { pasid: u32(16) });
export const IommuTestCmdPasidCheck = view('pasid_check', { pasid: u32(16), hwpt_id: u32(20) });
export const IommuTestCmdDmabufGet = view('dmabuf_get', { length: u32(16), open_flags: u32(20) });
export const IommuTestCmdDmabufRevoke = view('dmabuf_revoke', { dmabuf_fd: s32(16), revoked: u32(20) });

/** Op number → the view of its union member (MOCK_DOMAIN_FLAGS extends mock_domain). */
export const IOMMU_TEST_OP_VIEWS: ReadonlyMap<number, StructDef> = new Map<number, StructDef>([
  [IOMMU_TEST_OP.ADD_RESERVED, IommuTestCmdAddReserved],
  [IOMMU_TEST_OP.MOCK_DOMAIN, IommuTestCmdMockDomain],
  [IOMMU_TEST_OP.MD_CHECK_MAP, IommuTestCmdCheckMap],
  [IOMMU_TEST_OP.MD_CHECK_REFS, IommuTestCmdCheckRefs],
  [IOMMU_TEST_OP.CREATE_ACCESS, IommuTestCmdCreateAccess],
  [IOMMU_TEST_OP.DESTROY_ACCESS_PAGES, IommuTestCmdDestroyAccessPages],
  [IOMMU_TEST_OP.ACCESS_PAGES, IommuTestCmdAccessPages],
  [IOMMU_TEST_OP.ACCESS_RW, IommuTestCmdAccessRw],
  [IOMMU_TEST_OP.SET_TEMP_MEMORY_LIMIT, IommuTestCmdMemoryLimit],
  [IOMMU_TEST_OP.MOCK_DOMAIN_REPLACE, IommuTestCmdMockDomainReplace],
  [IOMMU_TEST_OP.ACCESS_REPLACE_IOAS, IommuTestCmdAccessReplaceIoas],
  [IOMMU_TEST_OP.MOCK_DOMAIN_FLAGS, IommuTestCmdMockDomainFlags],
  [IOMMU_TEST_OP.DIRTY, IommuTestCmdDirty],
  [IOMMU_TEST_OP.MD_CHECK_IOTLB, IommuTestCmdCheckIotlb],
  [IOMMU_TEST_OP.TRIGGER_IOPF, IommuTestCmdTriggerIopf],
  [IOMMU_TEST_OP.DEV_CHECK_CACHE, IommuTestCmdCheckDevCache],
  [IOMMU_TEST_OP.TRIGGER_VEVENT, IommuTestCmdTriggerVevent],
  [IOMMU_TEST_OP.PASID_ATTACH, IommuTestCmdPasidAttach],
  [IOMMU_TEST_OP.PASID_REPLACE, IommuTestCmdPasidReplace],
  [IOMMU_TEST_OP.PASID_DETACH, IommuTestCmdPasidDetach],
  [IOMMU_TEST_OP.PASID_CHECK_HWPT, IommuTestCmdPasidCheck],
  [IOMMU_TEST_OP.DMABUF_GET, IommuTestCmdDmabufGet],
  [IOMMU_TEST_OP.DMABUF_REVOKE, IommuTestCmdDmabufRevoke],
]);

/** Symbolic name of a test op (`IOMMU_TEST_OP_MOCK_DOMAIN`), or undefined. */
export function testOpName(op: number): string | undefined {
  for (const [k, v] of Object.entries(IOMMU_TEST_OP)) if (v === op) return `IOMMU_TEST_OP_${k}`;
  return undefined;
}

/** One 72-byte command: the head fields, then the payload through `payloadView`. */
export function encodeTestCmd<F extends Fields>(
  head: Partial<Decoded<typeof IommuTestCmd.fields>>,
  payloadView?: StructDef<F>,
  payload?: Partial<Decoded<F>>,
): Uint8Array {
  const buf = IommuTestCmd.encode({ size: IOMMU_TEST_CMD_SIZE, ...head });
  if (payloadView && payload) {
    const p = payloadView.encode(payload);
    buf.set(p.subarray(IOMMU_TEST_CMD_UNION_OFFSET, payloadEnd), IOMMU_TEST_CMD_UNION_OFFSET);
  }
  return buf;
}

// ---------------------------------------------------------------------------
// Mock driver payloads and type magics

/** out_data_type of IOMMU_GET_HW_INFO on a mock device. */
export const IOMMU_HW_INFO_TYPE_SELFTEST = 0xfeedbeef;
export const IOMMU_HW_INFO_SELFTEST_REGVAL = 0xdeadbeef;

export const IommuTestHwInfo = defineStruct('iommu_test_hw_info', 8, {
  flags: u32(0), test_reg: u32(4),
});

/** iommu_hwpt_alloc.data_type for mock domains. */
export const IOMMU_HWPT_DATA_SELFTEST = 0xdead;
export const IOMMU_TEST_IOTLB_DEFAULT = 0xbadbeef;
export const IOMMU_TEST_DEV_CACHE_DEFAULT = 0xbaddad;

export const IommuHwptSelftest = defineStruct('iommu_hwpt_selftest', 8, {
  iotlb: u32(0), pagetable_type: u32(4),
});

export const IOMMU_HWPT_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
export const IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID = 0xdadbeef;
/** flags bit of both selftest invalidation payloads: ignore the index, do all. */
export const IOMMU_TEST_INVALIDATE_FLAG_ALL = 1 << 0;

export const IommuHwptInvalidateSelftest = defineStruct('iommu_hwpt_invalidate_selftest', 8, {
  flags: u32(0), iotlb_id: u32(4),
});

export const IOMMU_VIOMMU_TYPE_SELFTEST = 0xdeadbeef;

export const IommuViommuSelftest = defineStruct('iommu_viommu_selftest', 24, {
  in_data: u32(0), out_data: u32(4), out_mmap_offset: u64(8), out_mmap_length: u64(16),
});

export const IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
export const IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID = 0xdadbeef;

export const IommuViommuInvalidateSelftest = defineStruct('iommu_viommu_invalidate_selftest', 12, {
  flags: u32(0), vdev_id: u32(4), cache_id: u32(8),
});

export const IOMMU_VEVENTQ_TYPE_SELFTEST = 0xbeefbeef;

export const IommuViommuEventSelftest = defineStruct('iommu_viommu_event_selftest', 4, {
  virt_id: u32(0),
});

export const IOMMU_HW_QUEUE_TYPE_SELFTEST = 0xdeadbeef;
export const IOMMU_TEST_HW_QUEUE_MAX = 2;
