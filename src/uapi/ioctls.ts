// The iommufd ioctl table as data: request, name, struct and the minimum size
// (offsetofend of the last mandatory member, as drivers/iommu/iommufd/main.c
// lists them). core/ pairs each entry with its handler.
import type { StructDef } from './struct.js';
import * as U from './iommufd.js';
import * as T from './iommufd-test.js';
import * as V from './vfio.js';

export interface IoctlDesc {
  readonly nr: number;
  readonly request: number;
  readonly name: string;
  readonly struct: StructDef;
  /** Smallest `size` the kernel accepts (smaller → EINVAL). */
  readonly minSize: number;
}

function op(nr: number, name: string, struct: StructDef, last: string): IoctlDesc {
  return { nr, request: U.iommufdRequest(nr), name, struct, minSize: struct.end(last as never) };
}

const C = U.IOMMUFD_CMD;

/** Indexed by nr - IOMMUFD_CMD_BASE; holes are undefined. */
export const IOMMUFD_IOCTLS: ReadonlyArray<IoctlDesc | undefined> = (() => {
  const t: Array<IoctlDesc | undefined> = [];
  const add = (d: IoctlDesc) => { t[d.nr - U.IOMMUFD_CMD_BASE] = d; };
  add(op(C.DESTROY, 'IOMMU_DESTROY', U.IommuDestroy, 'id'));
  add(op(C.IOAS_ALLOC, 'IOMMU_IOAS_ALLOC', U.IommuIoasAlloc, 'out_ioas_id'));
  add(op(C.IOAS_ALLOW_IOVAS, 'IOMMU_IOAS_ALLOW_IOVAS', U.IommuIoasAllowIovas, 'allowed_iovas'));
  add(op(C.IOAS_COPY, 'IOMMU_IOAS_COPY', U.IommuIoasCopy, 'src_iova'));
  add(op(C.IOAS_IOVA_RANGES, 'IOMMU_IOAS_IOVA_RANGES', U.IommuIoasIovaRanges, 'out_iova_alignment'));
  add(op(C.IOAS_MAP, 'IOMMU_IOAS_MAP', U.IommuIoasMap, 'iova'));
  add(op(C.IOAS_UNMAP, 'IOMMU_IOAS_UNMAP', U.IommuIoasUnmap, 'length'));
  add(op(C.OPTION, 'IOMMU_OPTION', U.IommuOption, 'val64'));
  add(op(C.VFIO_IOAS, 'IOMMU_VFIO_IOAS', U.IommuVfioIoas, '__reserved'));
  add(op(C.HWPT_ALLOC, 'IOMMU_HWPT_ALLOC', U.IommuHwptAlloc, '__reserved'));
  add(op(C.GET_HW_INFO, 'IOMMU_GET_HW_INFO', U.IommuHwInfo, '__reserved'));
  add(op(C.HWPT_SET_DIRTY_TRACKING, 'IOMMU_HWPT_SET_DIRTY_TRACKING', U.IommuHwptSetDirtyTracking, '__reserved'));
  add(op(C.HWPT_GET_DIRTY_BITMAP, 'IOMMU_HWPT_GET_DIRTY_BITMAP', U.IommuHwptGetDirtyBitmap, 'data'));
  add(op(C.HWPT_INVALIDATE, 'IOMMU_HWPT_INVALIDATE', U.IommuHwptInvalidate, '__reserved'));
  add(op(C.FAULT_QUEUE_ALLOC, 'IOMMU_FAULT_QUEUE_ALLOC', U.IommuFaultAlloc, 'out_fault_fd'));
  add(op(C.IOAS_MAP_FILE, 'IOMMU_IOAS_MAP_FILE', U.IommuIoasMapFile, 'iova'));
  add(op(C.VIOMMU_ALLOC, 'IOMMU_VIOMMU_ALLOC', U.IommuViommuAlloc, 'out_viommu_id'));
  add(op(C.VDEVICE_ALLOC, 'IOMMU_VDEVICE_ALLOC', U.IommuVdeviceAlloc, 'virt_id'));
  add(op(C.IOAS_CHANGE_PROCESS, 'IOMMU_IOAS_CHANGE_PROCESS', U.IommuIoasChangeProcess, '__reserved'));
  add(op(C.VEVENTQ_ALLOC, 'IOMMU_VEVENTQ_ALLOC', U.IommuVeventqAlloc, 'out_veventq_fd'));
  add(op(C.HW_QUEUE_ALLOC, 'IOMMU_HW_QUEUE_ALLOC', U.IommuHwQueueAlloc, 'length'));
  // CONFIG_IOMMUFD_TEST only; entries 0x95..0x9f stay holes (ENOTTY).
  add(op(T.IOMMUFD_CMD_TEST, 'IOMMU_TEST_CMD', T.IommuTestCmd, 'last'));
  return t;
})();

/** The table's length as the kernel sizes it (test builds reach IOMMU_TEST_CMD at 0xa0). */
export const IOMMUFD_TABLE_LEN = T.IOMMUFD_CMD_TEST - U.IOMMUFD_CMD_BASE + 1;

/** The table's length without CONFIG_IOMMUFD_TEST: up to its last other entry. */
export const IOMMUFD_TABLE_LEN_NO_TEST = IOMMUFD_IOCTLS.reduce((n, d, i) => (d && d.nr !== T.IOMMUFD_CMD_TEST ? i + 1 : n), 0);

export function ioctlByRequest(request: number): IoctlDesc | undefined {
  const nr = request & 0xff;
  const d = IOMMUFD_IOCTLS[nr - U.IOMMUFD_CMD_BASE];
  return d && d.request === request ? d : undefined;
}

// ---------------------------------------------------------------------------
// VFIO: the device-cdev ioctls and the type1 container ioctls iommufd serves in
// compat mode, with the minsz each handler checks argsz against.

/** Which kind of file a VFIO request is defined on (numbers 12..21 are reused). */
export type VfioFile = 'container' | 'device';

export interface VfioIoctlDesc {
  /** n of _IO(VFIO_TYPE, VFIO_BASE + n). */
  readonly n: number;
  readonly request: number;
  readonly name: string;
  readonly file: VfioFile;
  /** The struct behind the pointer, or null when the argument is a plain value (or unused). */
  readonly struct: StructDef | null;
  /** Smallest argsz accepted (smaller → EINVAL); 0 when there is no struct. */
  readonly minSize: number;
}

function vop(n: number, name: string, file: VfioFile, struct: StructDef | null, last?: string): VfioIoctlDesc {
  return {
    n, request: V.vfioRequest(n), name, file, struct,
    minSize: struct && last ? struct.end(last as never) : 0,
  };
}

/** minsz values from drivers/vfio/device_cdev.c, vfio_main.c, pci/vfio_pci_core.c and iommufd/vfio_compat.c. */
export const VFIO_IOCTLS: readonly VfioIoctlDesc[] = [
  // Container (on an iommufd in compat mode; arguments of the first three are values)
  vop(0, 'VFIO_GET_API_VERSION', 'container', null),
  vop(1, 'VFIO_CHECK_EXTENSION', 'container', null),
  vop(2, 'VFIO_SET_IOMMU', 'container', null),
  vop(12, 'VFIO_IOMMU_GET_INFO', 'container', V.VfioIommuType1Info, 'iova_pgsizes'),
  vop(13, 'VFIO_IOMMU_MAP_DMA', 'container', V.VfioIommuType1DmaMap, 'size'),
  vop(14, 'VFIO_IOMMU_UNMAP_DMA', 'container', V.VfioIommuType1DmaUnmap, 'size'),
  // Device cdev
  vop(7, 'VFIO_DEVICE_GET_INFO', 'device', V.VfioDeviceInfo, 'num_irqs'),
  vop(8, 'VFIO_DEVICE_GET_REGION_INFO', 'device', V.VfioRegionInfo, 'offset'),
  vop(9, 'VFIO_DEVICE_GET_IRQ_INFO', 'device', V.VfioIrqInfo, 'count'),
  vop(11, 'VFIO_DEVICE_RESET', 'device', null),
  vop(18, 'VFIO_DEVICE_BIND_IOMMUFD', 'device', V.VfioDeviceBindIommufd, 'out_devid'),
  vop(19, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', 'device', V.VfioDeviceAttachIommufdPt, 'pt_id'),
  vop(20, 'VFIO_DEVICE_DETACH_IOMMUFD_PT', 'device', V.VfioDeviceDetachIommufdPt, 'flags'),
];

export function vfioIoctlByRequest(request: number, file: VfioFile): VfioIoctlDesc | undefined {
  return VFIO_IOCTLS.find((d) => d.request === request && d.file === file);
}

// Every VFIO request name (served or not), for traces. sPAPR/EEH names are left
// out: their numbers belong to type1 / device requests on the machines we model.
const VFIO_NAMES: ReadonlyArray<readonly [number, string, VfioFile]> = [
  [0, 'VFIO_GET_API_VERSION', 'container'],
  [1, 'VFIO_CHECK_EXTENSION', 'container'],
  [2, 'VFIO_SET_IOMMU', 'container'],
  [3, 'VFIO_GROUP_GET_STATUS', 'container'],
  [4, 'VFIO_GROUP_SET_CONTAINER', 'container'],
  [5, 'VFIO_GROUP_UNSET_CONTAINER', 'container'],
  [6, 'VFIO_GROUP_GET_DEVICE_FD', 'container'],
  [7, 'VFIO_DEVICE_GET_INFO', 'device'],
  [8, 'VFIO_DEVICE_GET_REGION_INFO', 'device'],
  [9, 'VFIO_DEVICE_GET_IRQ_INFO', 'device'],
  [10, 'VFIO_DEVICE_SET_IRQS', 'device'],
  [11, 'VFIO_DEVICE_RESET', 'device'],
  [12, 'VFIO_IOMMU_GET_INFO', 'container'],
  [12, 'VFIO_DEVICE_GET_PCI_HOT_RESET_INFO', 'device'],
  [13, 'VFIO_IOMMU_MAP_DMA', 'container'],
  [13, 'VFIO_DEVICE_PCI_HOT_RESET', 'device'],
  [14, 'VFIO_IOMMU_UNMAP_DMA', 'container'],
  [14, 'VFIO_DEVICE_QUERY_GFX_PLANE', 'device'],
  [15, 'VFIO_IOMMU_ENABLE', 'container'],
  [15, 'VFIO_DEVICE_GET_GFX_DMABUF', 'device'],
  [16, 'VFIO_IOMMU_DISABLE', 'container'],
  [16, 'VFIO_DEVICE_IOEVENTFD', 'device'],
  [17, 'VFIO_IOMMU_DIRTY_PAGES', 'container'],
  [17, 'VFIO_DEVICE_FEATURE', 'device'],
  [18, 'VFIO_DEVICE_BIND_IOMMUFD', 'device'],
  [19, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', 'device'],
  [20, 'VFIO_DEVICE_DETACH_IOMMUFD_PT', 'device'],
  [21, 'VFIO_MIG_GET_PRECOPY_INFO', 'device'],
];

/** Decode the _IOC fields of a request the tables do not know. */
function rawRequest(request: number): string {
  const r = request >>> 0;
  const nr = r & 0xff;
  const type = (r >>> 8) & 0xff;
  const size = (r >>> 16) & 0x3fff;
  const dir = r >>> 30;
  const t = type >= 0x20 && type < 0x7f ? `'${String.fromCharCode(type)}'` : `0x${type.toString(16)}`;
  if (dir === 0 && size === 0) return `_IO(${t}, 0x${nr.toString(16)})`;
  const d = ['NONE', 'WRITE', 'READ', 'READ|WRITE'][dir];
  return `_IOC(${d}, ${t}, 0x${nr.toString(16)}, ${size})`;
}

/**
 * The symbolic name of a request number, for traces: iommufd and test requests
 * by name, VFIO ones by name (given `file`, the reused numbers 12..21 resolve to
 * the container or the device meaning; without it both are joined with '|'),
 * anything else as its _IO/_IOC decomposition.
 */
export function describeRequest(request: number, file?: VfioFile): string {
  const d = ioctlByRequest(request);
  if (d) return d.name;
  const r = request >>> 0;
  if (r >>> 8 === V.VFIO_TYPE) {
    const n = (r & 0xff) - V.VFIO_BASE;
    const hits = VFIO_NAMES.filter(([k, , f]) => k === n && (file === undefined || f === file));
    if (hits.length) return hits.map(([, name]) => name).join('|');
  }
  return rawRequest(r);
}
