// What the iommufd core needs of an IOMMU driver and its devices: the parts of
// struct iommu_ops, struct iommu_domain_ops and struct device that
// drivers/iommu/iommufd/ calls. Each driver model in hw/ implements these.
import { Errno, EINVAL, E2BIG } from '../uapi/errno.js';
import type { IommuFault } from './dma.js';

// The iommu core's view of a domain (include/linux/iommu.h: IOMMU_READ..,
// struct iommu_domain as the iommufd io_pagetable uses it).
export const IOMMU_READ = 1 << 0;
export const IOMMU_WRITE = 1 << 1;
export const IOMMU_CACHE = 1 << 2;
export const IOMMU_NOEXEC = 1 << 3;
/** Device memory (an MSI doorbell, a dma-buf of MMIO): mapped uncached. */
export const IOMMU_MMIO = 1 << 4;
export const IOMMU_PRIV = 1 << 5;

export interface IommuDomain {
  /** Supported IO page sizes, as a bitmap of sizes (bit n = 2^n bytes). */
  readonly pgsizeBitmap: bigint;
  /** The aperture, inclusive. */
  readonly apertureStart: bigint;
  readonly apertureEnd: bigint;
  /**
   * Map [iova, iova+length) to [paddr, ...). The iommu core splits it into
   * the page sizes the domain supports. May throw Errno; on failure nothing
   * is left mapped by this call.
   */
  map(iova: bigint, paddr: bigint, length: bigint, prot: number): void;
  /** Unmap [iova, iova+length); never fails. */
  unmap(iova: bigint, length: bigint): void;
  /** The physical address behind `iova`, or undefined when unmapped. */
  iovaToPhys(iova: bigint): bigint | undefined;
}

/** Smallest page size of a domain (1 << ffs(pgsize_bitmap)). */
export function smallestPage(d: IommuDomain): bigint {
  const b = d.pgsizeBitmap;
  return b & -b;
}

/** enum iommu_cap */
export type IommuCap = 'CACHE_COHERENCY' | 'ENFORCE_CACHE_COHERENCY' | 'DIRTY_TRACKING' | 'PCI_ATS_SUPPORTED';

/** A reserved region of a device (iommu_get_resv_regions). */
export interface ReservedRegion {
  readonly start: bigint;
  readonly length: bigint;
  readonly type: 'DIRECT' | 'DIRECT_RELAXABLE' | 'RESERVED' | 'MSI' | 'SW_MSI';
}

/** struct iommu_group: devices that the IOMMU cannot isolate from each other. */
export interface IommuGroup {
  readonly id: number;
  /** MSI writes from the group cannot reach another context (interrupt remapping). */
  readonly isolatedMsi: boolean;
  /** The iommufd context (or other driver) that owns DMA of this group, if any. */
  dmaOwner: unknown;
  /** How many of the owner's devices claim DMA ownership (group->owner_cnt). */
  ownerCnt: number;
  /** The domain the group is attached to now (null: the blocking/default domain). */
  domain: HwDomain | null;
  /**
   * group->pasid_array for PASIDs other than IOMMU_NO_PASID: the domain each
   * PASID is attached to and its user's attach handle (created on first use).
   */
  pasidArray?: Map<number, PasidEntry>;
}

/**
 * The iommu_group ids of one machine (the kernel's iommu_group_ida): its
 * engine owns it, so two engines in one process number their groups alone.
 */
export class IommuGroupIds {
  private next: number;
  constructor(first = 1) { this.next = first; }

  /** iommu_group_alloc: a new group of its own, with the next id. */
  alloc(isolatedMsi: boolean): IommuGroup {
    return { id: this.next++, isolatedMsi, dmaOwner: undefined, ownerCnt: 0, domain: null };
  }
}

/** An entry of a group's pasid_array. */
export interface PasidEntry {
  readonly domain: HwDomain;
  /** The attach handle its user (iommufd) gave, if any. */
  readonly handle: unknown;
}

/** A device behind an IOMMU (struct device + its dev_iommu). */
export interface IommuDevice {
  readonly name: string;
  readonly driver: IommuDriver;
  readonly group: IommuGroup;
  /** Whether the device is a PCI function (for PASID capability bits). */
  readonly isPci: boolean;
  /** PASID width in bits the device supports and has enabled (0: none). */
  readonly maxPasidLog2: number;
  /**
   * dev->iommu->max_pasids when it is not simply 1 << maxPasidLog2 (or 0 for
   * no PASIDs), e.g. a platform device whose "pasid-num-bits" is 0: 1.
   */
  readonly maxPasids?: number;
  reservedRegions(): ReservedRegion[];
}

/** The dirty-tracking ops of a domain (struct iommu_dirty_ops). */
export interface DirtyOps {
  setDirtyTracking(enable: boolean): void;
  /**
   * Report (and unless noClear, clear) the dirty state of [iova, iova+length):
   * `record(iova, length)` for every dirty IO page, with its whole size.
   */
  readAndClearDirty(iova: bigint, length: bigint, noClear: boolean, record: (iova: bigint, length: bigint) => void): void;
  /** A device wrote [iova, iova+length) through the domain: the hardware sets the dirty bits while tracking is on. */
  deviceWrite?(iova: bigint, length: bigint): void;
}

/** A domain as a driver hands it to iommufd (struct iommu_domain). */
export interface HwDomain {
  readonly driver: IommuDriver;
  /** IOMMU_DOMAIN_PAGING / _NESTED, or the driver's static blocked domain. */
  readonly kind: 'paging' | 'nested' | 'blocked';
  /** Attach a whole group (the first device of a group attaches it); EINVAL when incompatible. */
  attachDev(dev: IommuDevice): void;
  /** The domain was detached from `dev` (it goes to the blocking domain). */
  detachDev?(dev: IommuDevice): void;
  /** iommu_domain_free. Everything must already be unmapped. */
  free(): void;
  /**
   * ops->set_dev_pasid: make `pasid` of `dev` translate through this domain;
   * `old` is the domain it leaves (undefined for a first attach). Absent: the
   * domain cannot serve PASIDs (iommu_attach_device_pasid is EOPNOTSUPP).
   */
  setDevPasid?(dev: IommuDevice, pasid: number, old: HwDomain | undefined): void;
}

/** dev->iommu->max_pasids: how many PASIDs the device may use (0: no PASID support). */
export function deviceMaxPasids(dev: IommuDevice): number {
  return dev.maxPasids ?? (dev.maxPasidLog2 > 0 ? 2 ** dev.maxPasidLog2 : 0);
}

/** A paging domain: translations iommufd fills from an IOAS. */
export interface PagingDomain extends HwDomain, IommuDomain {
  readonly kind: 'paging';
  /** ops->enforce_cache_coherency: make every later mapping snoop; false if the hardware cannot. */
  enforceCacheCoherency?(): boolean;
  readonly dirtyOps?: DirtyOps;
}

/** An array of driver-specific entries (struct iommu_user_data_array). */
export interface UserDataArray {
  readonly type: number;
  readonly entryLen: number;
  /** In: entries given; out: entries handled (set by the driver). */
  entryNum: number;
  read(off: number, len: number): Uint8Array;
  /**
   * The kernel's kzalloc of `bytes` as the driver reaches it: where fault
   * injection may fail it (ENOMEM). Absent: it cannot fail.
   */
  kzalloc?(bytes: number): void;
}

/** iommu_copy_struct_from_user_array: entry `index` of the array, as copyUserData. */
export function copyUserDataEntry(a: UserDataArray, type: number, index: number, size: number, minLen: number): Uint8Array {
  if (index >= a.entryNum || !a.entryNum) throw new Errno(EINVAL, 'entry index');
  return copyUserData({ type: a.type, length: a.entryLen, read: (off, n) => a.read(a.entryLen * index + off, n) }, type, size, minLen);
}

/** A nested (stage-1) domain on a paging parent. */
export interface NestedDomain extends HwDomain {
  readonly kind: 'nested';
  /** ops->cache_invalidate_user: sets array.entryNum to the entries handled; throws on the first bad one. */
  cacheInvalidateUser?(array: UserDataArray): void;
}

/** Driver-specific user data of an ioctl (struct iommu_user_data): its type, length and a reader. */
export interface UserData {
  readonly type: number;
  readonly length: number;
  /** Read `len` bytes from `off` of the user buffer (EFAULT). */
  read(off: number, len: number): Uint8Array;
  /** Write back to the user buffer (EFAULT); absent where the ioctl has no out-data. */
  write?(off: number, data: Uint8Array): void;
}

/**
 * iommu_copy_struct_from_user: the type must match and the length lie in
 * [minLen, size] (EINVAL otherwise; a longer buffer is EINVAL here, not
 * E2BIG); a shorter struct is zero-extended.
 */
export function copyUserData(ud: UserData, type: number, size: number, minLen: number): Uint8Array {
  if (ud.type !== type) throw new Errno(EINVAL, 'user data type');
  if (ud.length < minLen || size < ud.length) throw new Errno(EINVAL, 'user data length');
  const out = new Uint8Array(new ArrayBuffer(size));
  out.set(ud.read(0, ud.length));
  void E2BIG;
  return out;
}

/**
 * iommu_copy_struct_to_user: write the first `ud.length` bytes of `data` (a
 * struct of `data.length` bytes) back; the same type and length rules as
 * copyUserData.
 */
export function copyUserDataToUser(ud: UserData, type: number, data: Uint8Array, minLen: number): void {
  if (ud.type !== type) throw new Errno(EINVAL, 'user data type');
  if (ud.length < minLen || data.length < ud.length) throw new Errno(EINVAL, 'user data length');
  if (!ud.write) throw new Errno(EINVAL, 'user data is read-only here');
  ud.write(0, data.subarray(0, ud.length));
}

/**
 * iommu_copy_struct_from_full_user_array: every entry of the array at once,
 * each `size` bytes. The type must match and the array be non-empty
 * (EINVAL); entries of another length go through copy_struct_from_user one
 * by one (zero-extended when shorter, E2BIG for non-zero bytes past `size`).
 */
export function copyUserDataFullArray(a: UserDataArray, type: number, size: number): Uint8Array[] {
  if (a.type !== type) throw new Errno(EINVAL, 'user data type');
  if (!a.entryNum) throw new Errno(EINVAL, 'empty array');
  if (a.entryLen === size) {
    const all = a.read(0, a.entryNum * size);
    return Array.from({ length: a.entryNum }, (_, i) => all.slice(i * size, (i + 1) * size));
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < a.entryNum; i++) {
    const e = new Uint8Array(new ArrayBuffer(size));
    const raw = a.read(i * a.entryLen, a.entryLen);
    if (raw.length > size && raw.subarray(size).some((b) => b !== 0)) throw new Errno(E2BIG, 'non-zero bytes past the entry');
    e.set(raw.subarray(0, Math.min(size, raw.length)));
    out.push(e);
  }
  return out;
}

/** An IOMMU driver instance (struct iommu_device + iommu_ops). */
export interface IommuDriver {
  readonly name: string;
  /** The DMA faults the unit recorded (its fault recording registers; the most recent 4096), made at the first. */
  dmaFaults?: IommuFault[];
  capable(dev: IommuDevice, cap: IommuCap): boolean;
  /** ops->blocked_domain: a static domain that blocks DMA (PASID detach sets it). */
  readonly blockedDomain?: HwDomain;
  /**
   * ops->user_pasid_table: the PASID table belongs to the guest, so a fault
   * with a PASID that has no attachment goes to the device's nested domain.
   */
  readonly userPasidTable?: boolean;
  /**
   * ops->domain_alloc_paging_flags, or undefined when the driver lacks it
   * (then iommufd refuses flags and user data with EOPNOTSUPP).
   */
  readonly domainAllocPagingFlags?: (dev: IommuDevice, flags: number, userData: UserData | undefined) => PagingDomain;
  /** ops->domain_alloc_nested, when the driver can nest. */
  readonly domainAllocNested?: (dev: IommuDevice, parent: PagingDomain, flags: number, userData: UserData) => NestedDomain;
  /** The plain paging domain (iommu_paging_domain_alloc). */
  domainAllocPaging(dev: IommuDevice): PagingDomain;
  /**
   * ops->hw_info: the driver's info for IOMMU_GET_HW_INFO for the requested
   * type (0 = default); EOPNOTSUPP for a type it does not have; undefined
   * when the driver has no hw_info at all.
   */
  hwInfo?(dev: IommuDevice, type: number): { type: number; data: Uint8Array };
  /**
   * ops->get_viommu_size: non-zero when the driver offers a vIOMMU of
   * `type` for `dev` (the kernel's size of the driver's structure; here any
   * non-zero value means "supported"). Absent or 0: EOPNOTSUPP.
   */
  getViommuSize?(dev: IommuDevice, type: number): number;
  /**
   * ops->viommu_init: the driver's half of a new vIOMMU on the nest-parent
   * `parent`. `userData` is the ioctl's data (undefined when data_len is 0);
   * the driver may write its out-fields back through `userData.write`.
   */
  viommuInit?(core: ViommuCore, parent: PagingDomain, userData: UserData | undefined): HwViommu;
}

// ---- vIOMMUs (drivers/iommu/iommufd/viommu.c, driver.c) ---------------------

/** Memory a driver lets the program mmap() through the iommufd (iommufd_viommu_alloc_mmap). */
export interface DriverMmap {
  /** The offset to hand to userspace for mmap(). */
  readonly offset: bigint;
  readonly length: number;
  /** What the program sees (and has stored) in the region now. */
  read(off: number, len: number): Uint8Array;
  write(off: number, data: Uint8Array): void;
}

/**
 * What the iommufd core offers a driver's vIOMMU: the iommufd_viommu_* helpers
 * drivers call (driver.c).
 */
export interface ViommuCore {
  /** iommufd_viommu_find_dev: the device behind virtual ID `virtId`, if a vDEVICE has it. */
  findDev(virtId: bigint): IommuDevice | undefined;
  /** iommufd_viommu_get_vdev_id: the virtual ID of `dev`'s vDEVICE here; ENOENT without one. */
  getVdevId(dev: IommuDevice): bigint;
  /** iommufd_viommu_report_event: queue an event on the vEVENTQ of `type`; EOPNOTSUPP without one. */
  reportEvent(type: number, data: Uint8Array): void;
  /**
   * iommufd_viommu_alloc_mmap: publish `contents.length` bytes (a page
   * multiple, EINVAL otherwise) for mmap() on the iommufd; the region starts
   * as `contents`.
   */
  allocMmap(contents: Uint8Array): DriverMmap;
  /** iommufd_viommu_destroy_mmap. */
  destroyMmap(m: DriverMmap): void;
}

/** The core's view of a HW queue a driver initialises (struct iommufd_hw_queue). */
export interface HwQueueCore {
  /** The uAPI's queue type. */
  readonly queueType: number;
  /** nesting_parent_iova and length as the ioctl gave them. */
  readonly baseAddr: bigint;
  readonly length: bigint;
  /** iommufd_hw_queue_depend: this queue holds `on` (DESTROY of `on` is EBUSY until undepend). */
  depend(on: HwQueueCore): void;
  undepend(on: HwQueueCore): void;
  /** Set by the driver's init: run when the queue is destroyed (hw_queue->destroy). */
  destroyHook: (() => void) | undefined;
}

/** A driver's vIOMMU (struct iommufd_viommu_ops with the driver's state). */
export interface HwViommu {
  /** viommu->ops->destroy */
  destroy?(): void;
  /** ops->alloc_domain_nested: a nested domain that belongs to this vIOMMU. */
  allocDomainNested?(flags: number, userData: UserData): NestedDomain;
  /** ops->cache_invalidate: sets array.entryNum to the entries handled; throws on the first bad one. */
  cacheInvalidate?(array: UserDataArray): void;
  /** ops->get_hw_queue_size: non-zero when queues of `type` are supported. */
  getHwQueueSize?(type: number): number;
  /** ops->hw_queue_init_phys: `basePa` is the physical address of the guest queue. */
  hwQueueInitPhys?(queue: HwQueueCore, index: number, basePa: bigint): void;
}
