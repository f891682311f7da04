// The kernel's iommufd test driver (drivers/iommu/iommufd/selftest.c): mock
// devices on their own bus, each in its own group, and mock paging domains
// with a 2 KiB granule, the MOCK aperture and dirty tracking. Translations are
// kept as runs (RunDomain); dirty state per 2 KiB granule as runs.
import { Errno, EINVAL, EOPNOTSUPP } from '../uapi/errno.js';
import { RunDomain } from './run-domain.js';
import { RunCounter } from '../util/run-counter.js';
import { copyUserData, copyUserDataEntry, type NestedDomain, type UserDataArray, type DirtyOps, type IommuCap, type IommuDevice, type IommuDriver, type IommuGroup, type PagingDomain, type ReservedRegion, type UserData } from './iommu.js';

export const MOCK_PAGE_SIZE = 2048n;
export const MOCK_HUGE_PAGE_SIZE = 512n * MOCK_PAGE_SIZE;
export const MOCK_APERTURE_START = 1n << 24n;
export const MOCK_APERTURE_LAST = (1n << 31n) - 1n;
export const MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0;
export const MOCK_FLAGS_DEVICE_PASID = 1 << 2;
export const MOCK_PASID_WIDTH = 20;
export const MOCK_DEV_CACHE_NUM = 4;
export const IOMMU_TEST_DEV_CACHE_DEFAULT = 0xbaddad;
export const IOMMU_HW_INFO_TYPE_SELFTEST = 0xfeedbeef;
export const IOMMU_HW_INFO_SELFTEST_REGVAL = 0xdeadbeef;
export const IOMMU_HWPT_DATA_SELFTEST = 0xdead;
export const MOCK_IOMMUPT_DEFAULT = 0;
export const MOCK_IOMMUPT_HUGE = 1;

const HWPT_ALLOC_NEST_PARENT = 1 << 0;
const HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
const HWPT_ALLOC_PASID = 1 << 3;
const PAGE = 4096n;
const GRANULE_SHIFT = 11n;

/** The generic page table's sizes for the mock format: every power of two from 2 KiB to 64 GiB. */
const MOCK_PGSIZE_BITMAP = ((1n << 37n) - 1n) & ~(MOCK_PAGE_SIZE - 1n);

let nextMockDevId = 0;
let nextGroupId = 1000;

export class MockDevice implements IommuDevice {
  readonly name: string;
  readonly group: IommuGroup;
  readonly isPci = false;
  readonly maxPasidLog2: number;
  /** The per-device cache the mock vIOMMU invalidates. */
  readonly cache = new Array<number>(MOCK_DEV_CACHE_NUM).fill(IOMMU_TEST_DEV_CACHE_DEFAULT);

  constructor(readonly driver: MockIommu, readonly flags: number) {
    this.name = `iommufd_mock${nextMockDevId++}`;
    this.group = { id: nextGroupId++, isolatedMsi: true, dmaOwner: undefined, domain: null };
    this.maxPasidLog2 = flags & MOCK_FLAGS_DEVICE_PASID ? MOCK_PASID_WIDTH : 0;
  }

  reservedRegions(): ReservedRegion[] { return []; }
}

/** A mock paging domain: runs of translations and 2 KiB dirty granules. */
export class MockPagingDomain extends RunDomain implements PagingDomain {
  readonly kind = 'paging' as const;
  readonly dirtyOps?: DirtyOps;
  private tracking = false;
  private readonly dirty = new RunCounter();

  constructor(readonly driver: MockIommu, readonly pagetableType: number, dirtyTracking: boolean) {
    super(pagetableType === MOCK_IOMMUPT_HUGE
      ? { pgsizeBitmap: MOCK_HUGE_PAGE_SIZE | PAGE, apertureStart: 0n, apertureEnd: (1n << 56n) - 1n }
      : { pgsizeBitmap: MOCK_PGSIZE_BITMAP, apertureStart: MOCK_APERTURE_START, apertureEnd: MOCK_APERTURE_LAST });
    if (dirtyTracking) {
      this.dirtyOps = {
        setDirtyTracking: (enable) => { this.tracking = enable; },
        readAndClearDirty: (iova, length, noClear, record) => this.readAndClearDirty(iova, length, noClear, record),
      };
    }
  }

  get dirtyTracking(): boolean { return this.tracking; }

  attachDev(dev: IommuDevice): void {
    // A domain only takes devices of its own driver.
    if (!(dev instanceof MockDevice)) throw new Errno(EINVAL, 'not a mock device');
    if (this.dirtyOps && (dev.flags & MOCK_FLAGS_DEVICE_NO_DIRTY)) {
      throw new Errno(EINVAL, 'dirty tracking domain on a NO_DIRTY device');
    }
  }

  override unmap(iova: bigint, length: bigint): void {
    super.unmap(iova, length);
    const g = Number(iova >> GRANULE_SHIFT), n = Number(length >> GRANULE_SHIFT);
    for (const [s, len, c] of this.dirty.slice(g, n)) if (c) this.dirty.add(s, len, -c);
  }

  /**
   * The IO page that holds `iova`: the largest power of two (up to PAGE_SIZE,
   * as iommufd maps scattered 4 KiB pages) aligned in IOVA and physical
   * address that the run covers.
   */
  private entryAt(iova: bigint): { start: bigint; size: bigint } | undefined {
    const r = this.runAt(iova);
    if (!r) return undefined;
    for (let size = PAGE; size >= MOCK_PAGE_SIZE; size >>= 1n) {
      const start = iova & ~(size - 1n);
      const pa = r.paddr + (start - r.iova);
      if (start >= r.iova && start + size - 1n <= r.last && (pa & (size - 1n)) === 0n) return { start, size };
    }
    return { start: iova & ~(MOCK_PAGE_SIZE - 1n), size: MOCK_PAGE_SIZE };
  }

  /** The test op DIRTY: mark the IO page behind `iova` dirty (nothing if unmapped). */
  setDirty(iova: bigint): void {
    const e = this.entryAt(iova);
    if (!e) return;
    const g = Number(e.start >> GRANULE_SHIFT), n = Number(e.size >> GRANULE_SHIFT);
    for (const [s, len, c] of this.dirty.slice(g, n)) if (!c) this.dirty.add(s, len, 1);
  }

  private readAndClearDirty(iova: bigint, length: bigint, noClear: boolean, record: (iova: bigint, length: bigint) => void): void {
    const g = Number(iova >> GRANULE_SHIFT);
    const n = Number((iova + length - 1n) >> GRANULE_SHIFT) - g + 1;
    for (const [s, len, c] of this.dirty.slice(g, n)) {
      if (!c) continue;
      let cur = BigInt(s) << GRANULE_SHIFT;
      const end = BigInt(s + len) << GRANULE_SHIFT;
      while (cur < end) {
        const e = this.entryAt(cur) ?? { start: cur, size: MOCK_PAGE_SIZE };
        record(e.start, e.size);
        if (!noClear) {
          const eg = Number(e.start >> GRANULE_SHIFT), en = Number(e.size >> GRANULE_SHIFT);
          for (const [ds, dl, dc] of this.dirty.slice(eg, en)) if (dc) this.dirty.add(ds, dl, -dc);
        }
        cur = e.start + e.size;
      }
    }
  }

  free(): void {}
}

export const MOCK_NESTED_DOMAIN_IOTLB_NUM = 4;
export const IOMMU_HWPT_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
export const IOMMU_TEST_INVALIDATE_FLAG_ALL = 1;

/** A mock nested domain: four IOTLB entries that invalidation zeroes. */
export class MockNestedDomain implements NestedDomain {
  readonly kind = 'nested' as const;
  readonly iotlb: number[];
  constructor(readonly driver: MockIommu, readonly parent: MockPagingDomain, iotlb: number) {
    this.iotlb = new Array<number>(MOCK_NESTED_DOMAIN_IOTLB_NUM).fill(iotlb);
  }
  attachDev(dev: IommuDevice): void {
    if (!(dev instanceof MockDevice)) throw new Errno(EINVAL, 'not a mock device');
  }
  free(): void {}
  cacheInvalidateUser(a: UserDataArray): void {
    let done = 0;
    try {
      if (a.type !== IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) throw new Errno(EINVAL, 'invalidation data type');
      for (let i = 0; i < a.entryNum; i++) {
        // struct iommu_hwpt_invalidate_selftest { u32 flags; u32 iotlb_id; }
        const e = new DataView(copyUserDataEntry(a, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, i, 8, 8).buffer);
        const flags = e.getUint32(0, true), id = e.getUint32(4, true);
        if (flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) throw new Errno(EOPNOTSUPP, 'invalidation flags');
        if (id > MOCK_NESTED_DOMAIN_IOTLB_NUM - 1) throw new Errno(EINVAL, 'iotlb_id');
        if (flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) this.iotlb.fill(0); else this.iotlb[id] = 0;
        done++;
      }
    } finally {
      a.entryNum = done;
    }
  }
}

/** The mock IOMMU instance (mock_ops on the iommufd_mock bus). */
export class MockIommu implements IommuDriver {
  readonly name = 'iommufd_mock';

  createDevice(flags: number): MockDevice {
    if (flags & ~(MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_PASID)) throw new Errno(EINVAL, 'mock device flags');
    return new MockDevice(this, flags);
  }

  capable(dev: IommuDevice, cap: IommuCap): boolean {
    switch (cap) {
      case 'CACHE_COHERENCY': return true;
      case 'DIRTY_TRACKING': return !((dev as MockDevice).flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
      default: return false;
    }
  }

  readonly domainAllocPagingFlags = (dev: IommuDevice, flags: number, userData: UserData | undefined): PagingDomain => {
    const dirty = (flags & HWPT_ALLOC_DIRTY_TRACKING) !== 0;
    const noDirty = ((dev as MockDevice).flags & MOCK_FLAGS_DEVICE_NO_DIRTY) !== 0;
    if ((flags & ~(HWPT_ALLOC_DIRTY_TRACKING | HWPT_ALLOC_NEST_PARENT | HWPT_ALLOC_PASID)) || (dirty && noDirty)) {
      throw new Errno(EOPNOTSUPP, 'paging flags');
    }
    let pagetableType = MOCK_IOMMUPT_DEFAULT;
    if (userData) {
      if (userData.type !== IOMMU_HWPT_DATA_SELFTEST && userData.type !== 0) throw new Errno(EOPNOTSUPP, 'user data type');
      // struct iommu_hwpt_selftest { u32 iotlb; u32 pagetable_type; }, first version ends at iotlb.
      const cfg = copyUserData(userData, IOMMU_HWPT_DATA_SELFTEST, 8, 4);
      pagetableType = new DataView(cfg.buffer).getUint32(4, true);
    }
    if (pagetableType !== MOCK_IOMMUPT_DEFAULT && pagetableType !== MOCK_IOMMUPT_HUGE) throw new Errno(EOPNOTSUPP, 'pagetable_type');
    return new MockPagingDomain(this, pagetableType, dirty);
  };

  readonly domainAllocNested = (dev: IommuDevice, parent: PagingDomain, flags: number, userData: UserData): NestedDomain => {
    void dev;
    if (flags & ~HWPT_ALLOC_PASID) throw new Errno(EOPNOTSUPP, 'nested flags');
    if (!(parent instanceof MockPagingDomain)) throw new Errno(EINVAL, 'parent is not a mock paging domain');
    if (userData.type !== IOMMU_HWPT_DATA_SELFTEST) throw new Errno(EOPNOTSUPP, 'user data type');
    const cfg = copyUserData(userData, IOMMU_HWPT_DATA_SELFTEST, 8, 4);
    return new MockNestedDomain(this, parent, new DataView(cfg.buffer).getUint32(0, true));
  };

  domainAllocPaging(dev: IommuDevice): PagingDomain {
    return this.domainAllocPagingFlags(dev, 0, undefined);
  }

  hwInfo(dev: IommuDevice, type: number): { type: number; data: Uint8Array } {
    void dev;
    if (type !== 0 && type !== IOMMU_HW_INFO_TYPE_SELFTEST) throw new Errno(EOPNOTSUPP, 'hw info type');
    const data = new Uint8Array(new ArrayBuffer(8));
    new DataView(data.buffer).setUint32(4, IOMMU_HW_INFO_SELFTEST_REGVAL, true);
    return { type: IOMMU_HW_INFO_TYPE_SELFTEST, data };
  }
}
