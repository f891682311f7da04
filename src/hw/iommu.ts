// What the iommufd core needs of an IOMMU driver and its devices: the parts of
// struct iommu_ops, struct iommu_domain_ops and struct device that
// drivers/iommu/iommufd/ calls. Each driver model in hw/ implements these.
import type { IommuDomain } from '../core/domain.js';
import { Errno, EINVAL, E2BIG } from '../uapi/errno.js';

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
  /** The domain the group is attached to now (null: the blocking/default domain). */
  domain: HwDomain | null;
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
}

/** A domain as a driver hands it to iommufd (struct iommu_domain). */
export interface HwDomain {
  readonly driver: IommuDriver;
  readonly kind: 'paging' | 'nested';
  /** Attach a whole group (the first device of a group attaches it); EINVAL when incompatible. */
  attachDev(dev: IommuDevice): void;
  /** The domain was detached from `dev` (it goes to the blocking domain). */
  detachDev?(dev: IommuDevice): void;
  /** iommu_domain_free. Everything must already be unmapped. */
  free(): void;
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

/** An IOMMU driver instance (struct iommu_device + iommu_ops). */
export interface IommuDriver {
  readonly name: string;
  capable(dev: IommuDevice, cap: IommuCap): boolean;
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
  /** Driver ops for nested domains, vIOMMUs etc. come with their issues. */
}
