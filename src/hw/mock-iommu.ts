// The kernel's iommufd test driver (drivers/iommu/iommufd/selftest.c): mock
// devices on their own bus, each in its own group, and mock paging domains
// with a 2 KiB granule, the MOCK aperture and dirty tracking. Translations are
// kept as runs (RunDomain); dirty state per 2 KiB granule as runs.
import { Errno, EEXIST, EFAULT, EINVAL, EIO, ENOMEM, EOPNOTSUPP } from '../uapi/errno.js';
import { RunDomain } from './run-domain.js';
import { RunCounter } from '../util/run-counter.js';
import { IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_PASID } from '../uapi/iommufd.js';
import {
  IOMMU_HW_INFO_SELFTEST_REGVAL, IOMMU_HW_INFO_TYPE_SELFTEST, IOMMU_HW_QUEUE_TYPE_SELFTEST, IOMMU_HWPT_DATA_SELFTEST,
  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, IOMMU_TEST_DEV_CACHE_DEFAULT, IOMMU_TEST_HW_QUEUE_MAX, IOMMU_TEST_INVALIDATE_FLAG_ALL,
  IOMMU_TEST_PASID_RESERVED, IOMMU_VEVENTQ_TYPE_SELFTEST, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, IOMMU_VIOMMU_TYPE_SELFTEST,
  IommuHwptInvalidateSelftest, IommuHwptSelftest, IommuTestHwInfo, IommuViommuEventSelftest, IommuViommuInvalidateSelftest,
  IommuViommuSelftest, MOCK_DEV_CACHE_NUM, MOCK_FLAGS_DEVICE_NO_DIRTY, MOCK_FLAGS_DEVICE_PASID, MOCK_IOMMUPT_DEFAULT,
  MOCK_IOMMUPT_HUGE, MOCK_NESTED_DOMAIN_IOTLB_NUM, MOCK_PASID_WIDTH,
  MOCK_APERTURE_LAST as MOCK_APERTURE_LAST_N, MOCK_APERTURE_START as MOCK_APERTURE_START_N,
  MOCK_HUGE_PAGE_SIZE as MOCK_HUGE_PAGE_SIZE_N, MOCK_PAGE_SIZE as MOCK_PAGE_SIZE_N,
} from '../uapi/iommufd-test.js';
import {
  copyUserData, copyUserDataEntry, copyUserDataFullArray, copyUserDataToUser, type NestedDomain, type UserDataArray,
  type DirtyOps, type IommuCap, type IommuDevice, type IommuDriver, type IommuGroup, type PagingDomain, type ReservedRegion,
  type UserData, type DriverMmap, type HwQueueCore, type HwViommu, type ViommuCore, type HwDomain, IommuGroupIds,
} from './iommu.js';

// The uAPI's mock geometry, as the bigints page tables work in.
const MOCK_PAGE_SIZE = BigInt(MOCK_PAGE_SIZE_N);
const MOCK_HUGE_PAGE_SIZE = BigInt(MOCK_HUGE_PAGE_SIZE_N);
const MOCK_APERTURE_START = BigInt(MOCK_APERTURE_START_N);
const MOCK_APERTURE_LAST = BigInt(MOCK_APERTURE_LAST_N);
/**
 * The huge format keeps the generic AMDv1 table's own aperture (selftest.c
 * overrides it with the MOCK one only for the default format): a 2 KiB
 * granule (11 bits) and 9 index bits a level, from starting level 2 (three
 * levels): 38 bits, whatever hw_max_vasz_lg2 (56) would allow.
 */
const HUGE_APERTURE_LAST = (1n << BigInt(11 + 3 * 9)) - 1n;
const PAGE = 4096n;
const GRANULE_SHIFT = 11n;

/** The generic page table's sizes for the mock format: every power of two from 2 KiB to 64 GiB. */
const MOCK_PGSIZE_BITMAP = ((1n << 37n) - 1n) & ~(MOCK_PAGE_SIZE - 1n);

export class MockDevice implements IommuDevice {
  readonly name: string;
  readonly group: IommuGroup;
  readonly isPci = false;
  readonly maxPasidLog2: number;
  /**
   * max_pasids from the "pasid-num-bits" property mock_dev_create sets: 20
   * bits with MOCK_FLAGS_DEVICE_PASID, else 0 bits, which is one PASID.
   */
  readonly maxPasids: number;
  /** mdev->pasid_1024_fake_error: the next set_dev_pasid of PASID 1024 to a non-blocked domain fails. */
  pasid1024FakeError = false;
  /** The per-device cache the mock vIOMMU invalidates. */
  readonly cache = new Array<number>(MOCK_DEV_CACHE_NUM).fill(IOMMU_TEST_DEV_CACHE_DEFAULT);
  /** The domain the device is attached to (mdev->domain). */
  domain: HwDomain | undefined;
  /**
   * The vIOMMU of the nested domain the device was attached to, and the
   * device's virtual ID there (mdev->viommu, mdev->vdev_id). Learnt at
   * attach and only rewritten when an attach changes the vIOMMU, as the
   * kernel does: a vDEVICE destroyed later leaves them stale.
   */
  viommu: MockViommu | undefined;
  vdevId = 0n;

  constructor(readonly driver: MockIommu, readonly flags: number) {
    this.name = `iommufd_mock${driver.nextDevId++}`;
    this.group = driver.groupIds.alloc(true);
    this.maxPasidLog2 = flags & MOCK_FLAGS_DEVICE_PASID ? MOCK_PASID_WIDTH : 0;
    this.maxPasids = 2 ** this.maxPasidLog2;
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
      ? { pgsizeBitmap: MOCK_HUGE_PAGE_SIZE | PAGE, apertureStart: 0n, apertureEnd: HUGE_APERTURE_LAST }
      : { pgsizeBitmap: MOCK_PGSIZE_BITMAP, apertureStart: MOCK_APERTURE_START, apertureEnd: MOCK_APERTURE_LAST });
    if (dirtyTracking) {
      this.dirtyOps = {
        setDirtyTracking: (enable) => { this.tracking = enable; },
        readAndClearDirty: (iova, length, noClear, record) => this.readAndClearDirty(iova, length, noClear, record),
        deviceWrite: (iova, length) => {
          if (!this.tracking) return;
          for (let a = iova >> GRANULE_SHIFT << GRANULE_SHIFT; a < iova + length; a += 1n << GRANULE_SHIFT) this.setDirty(a);
        },
      };
    }
  }

  get dirtyTracking(): boolean { return this.tracking; }

  attachDev(dev: IommuDevice): void {
    if (this.dirtyOps && dev instanceof MockDevice && (dev.flags & MOCK_FLAGS_DEVICE_NO_DIRTY)) {
      throw new Errno(EINVAL, 'dirty tracking domain on a NO_DIRTY device');
    }
    mockAttach(this, dev, undefined);
  }

  detachDev(dev: IommuDevice): void { mockDetach(this, dev); }

  setDevPasid(dev: IommuDevice, pasid: number, old: HwDomain | undefined): void { mockSetDevPasid(this, dev, pasid, old); }

  override unmap(iova: bigint, length: bigint): void {
    super.unmap(iova, length);
    const g = Number(iova >> GRANULE_SHIFT), n = Number(length >> GRANULE_SHIFT);
    for (const [s, len, c] of this.dirty.slice(g, n)) if (c) this.dirty.add(s, len, -c);
  }

  /**
   * The IO page that holds `iova`. The default format maps the scattered
   * 4 KiB pages iommufd hands it as entries of at most PAGE_SIZE (two 2 KiB
   * items, or one 2 KiB item for sub-page areas); the huge format has 1 MiB
   * and 4 KiB pages and uses a 1 MiB entry wherever the run covers one
   * aligned in IOVA and physical address (huge-page backed memory).
   */
  private entryAt(iova: bigint): { start: bigint; size: bigint } | undefined {
    const r = this.runAt(iova);
    if (!r) return undefined;
    const sizes = this.pagetableType === MOCK_IOMMUPT_HUGE ? [MOCK_HUGE_PAGE_SIZE, PAGE] : [PAGE, MOCK_PAGE_SIZE];
    for (const size of sizes) {
      const start = iova & ~(size - 1n);
      const pa = r.paddr + (start - r.iova);
      if (start >= r.iova && start + size - 1n <= r.last && (pa & (size - 1n)) === 0n) return { start, size };
    }
    return { start: iova & ~(MOCK_PAGE_SIZE - 1n), size: MOCK_PAGE_SIZE };
  }

  /**
   * The length a dirty entry is reported with. The 7.2 generic page table
   * records a contiguous entry of the default format as its first item only
   * (its end index is the entry's last item, not one past it:
   * drivers/iommu/generic_pt/iommu_pt.h record_dirty), so a dirty 4 KiB page
   * reports its first 2 KiB; a huge-format entry is reported whole.
   */
  private reportedSize(e: { size: bigint }): bigint {
    return this.pagetableType === MOCK_IOMMUPT_HUGE ? e.size : MOCK_PAGE_SIZE;
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
        record(e.start, this.reportedSize(e));
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

/**
 * mock_domain_nop_attach, shared by every mock domain: only mock devices; a
 * nested domain of a vIOMMU needs the device to have a vDEVICE there
 * (ENOENT); the device remembers the vIOMMU and its virtual ID.
 */
function mockAttach(domain: HwDomain, dev: IommuDevice, viommu: MockViommu | undefined): void {
  if (!(dev instanceof MockDevice)) throw new Errno(EINVAL, 'not a mock device');
  let vdevId = 0n;
  if (viommu) vdevId = viommu.core.getVdevId(dev);
  if (viommu !== dev.viommu) { dev.viommu = viommu; dev.vdevId = vdevId; }
  dev.domain = domain;
}

/**
 * mock_domain_set_dev_pasid_nop, shared by every mock domain: PASID 1024
 * fakes a failure of every second attach to a non-blocked domain (the first
 * sets the flag, the second clears it and fails with ENOMEM; the blocked
 * domain clears it), so that the core's replace rollback can be tested.
 */
function mockSetDevPasid(domain: HwDomain, dev: IommuDevice, pasid: number, old: HwDomain | undefined): void {
  void old;
  if (!(dev instanceof MockDevice)) throw new Errno(EINVAL, 'not a mock device');
  if (pasid !== IOMMU_TEST_PASID_RESERVED) return;
  if (domain.kind === 'blocked') {
    dev.pasid1024FakeError = false;
  } else if (dev.pasid1024FakeError) {
    dev.pasid1024FakeError = false;
    throw new Errno(ENOMEM, 'faked set_dev_pasid failure (PASID 1024)');
  } else {
    dev.pasid1024FakeError = true;
  }
}

/** mock_blocking_domain: the mock driver's default and blocked domain. */
export class MockBlockedDomain implements HwDomain {
  readonly kind = 'blocked' as const;
  constructor(readonly driver: MockIommu) {}
  attachDev(dev: IommuDevice): void { mockAttach(this, dev, undefined); }
  setDevPasid(dev: IommuDevice, pasid: number, old: HwDomain | undefined): void { mockSetDevPasid(this, dev, pasid, old); }
  free(): void {}
}

/** The device went to the blocking domain (unless another attach already took it). */
function mockDetach(domain: HwDomain, dev: IommuDevice): void {
  if (!(dev instanceof MockDevice) || dev.domain !== domain) return;
  dev.domain = undefined;
  if (dev.viommu) { dev.viommu = undefined; dev.vdevId = 0n; }
}

/** A mock nested domain: four IOTLB entries that invalidation zeroes; maybe a vIOMMU's. */
export class MockNestedDomain implements NestedDomain {
  readonly kind = 'nested' as const;
  readonly iotlb: number[];
  constructor(readonly driver: MockIommu, readonly parent: MockPagingDomain, iotlb: number, readonly viommu?: MockViommu) {
    this.iotlb = new Array<number>(MOCK_NESTED_DOMAIN_IOTLB_NUM).fill(iotlb);
  }
  attachDev(dev: IommuDevice): void { mockAttach(this, dev, this.viommu); }
  detachDev(dev: IommuDevice): void { mockDetach(this, dev); }
  setDevPasid(dev: IommuDevice, pasid: number, old: HwDomain | undefined): void { mockSetDevPasid(this, dev, pasid, old); }
  free(): void {}
  cacheInvalidateUser(a: UserDataArray): void {
    let done = 0;
    try {
      if (a.type !== IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) throw new Errno(EINVAL, 'invalidation data type');
      for (let i = 0; i < a.entryNum; i++) {
        const S = IommuHwptInvalidateSelftest;
        const { flags, iotlb_id: id } = S.decode(copyUserDataEntry(a, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, i, S.size, S.size));
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
  readonly blockedDomain: HwDomain = new MockBlockedDomain(this);
  /** mock_ops.user_pasid_table */
  readonly userPasidTable = true;
  /** The number of the next mock device (iommufd_mockN), per instance: the engine owns it. */
  nextDevId = 0;
  /** Groups of mock devices, numbered apart from the machine's PCI groups. */
  readonly groupIds = new IommuGroupIds(1000);

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
    const dirty = (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) !== 0;
    const noDirty = ((dev as MockDevice).flags & MOCK_FLAGS_DEVICE_NO_DIRTY) !== 0;
    if ((flags & ~(IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID)) || (dirty && noDirty)) {
      throw new Errno(EOPNOTSUPP, 'paging flags');
    }
    let pagetableType = MOCK_IOMMUPT_DEFAULT;
    if (userData) {
      if (userData.type !== IOMMU_HWPT_DATA_SELFTEST && userData.type !== 0) throw new Errno(EOPNOTSUPP, 'user data type');
      // The first version of struct iommu_hwpt_selftest ends at iotlb.
      const S = IommuHwptSelftest;
      pagetableType = S.decode(copyUserData(userData, IOMMU_HWPT_DATA_SELFTEST, S.size, S.end('iotlb'))).pagetable_type;
    }
    if (pagetableType !== MOCK_IOMMUPT_DEFAULT && pagetableType !== MOCK_IOMMUPT_HUGE) throw new Errno(EOPNOTSUPP, 'pagetable_type');
    return new MockPagingDomain(this, pagetableType, dirty);
  };

  readonly domainAllocNested = (dev: IommuDevice, parent: PagingDomain, flags: number, userData: UserData): NestedDomain => {
    void dev;
    if (flags & ~IOMMU_HWPT_ALLOC_PASID) throw new Errno(EOPNOTSUPP, 'nested flags');
    if (!(parent instanceof MockPagingDomain)) throw new Errno(EINVAL, 'parent is not a mock paging domain');
    return allocMockNested(this, parent, userData, undefined);
  };

  /** mock_get_viommu_size: only the SELFTEST type. */
  getViommuSize(dev: IommuDevice, type: number): number {
    void dev;
    return type === IOMMU_VIOMMU_TYPE_SELFTEST ? 1 : 0;
  }

  /**
   * mock_viommu_init: with data (struct iommu_viommu_selftest, at least
   * in_data and out_data), two zeroed pages whose first u32 is in_data are
   * published for mmap, and out_data, the offset and the length written
   * back (only as much as data_len covers).
   */
  viommuInit(core: ViommuCore, parent: PagingDomain, userData: UserData | undefined): HwViommu {
    let mmap: DriverMmap | undefined;
    if (userData) {
      const S = IommuViommuSelftest;
      const inData = S.decode(copyUserData(userData, IOMMU_VIOMMU_TYPE_SELFTEST, S.size, S.end('out_data'))).in_data;
      const page = new Uint8Array(new ArrayBuffer(2 * Number(PAGE)));
      new DataView(page.buffer).setUint32(0, inData, true);
      mmap = core.allocMmap(page);
      const out = S.encode({ in_data: inData, out_data: inData, out_mmap_offset: mmap.offset, out_mmap_length: BigInt(mmap.length) });
      try {
        copyUserDataToUser(userData, IOMMU_VIOMMU_TYPE_SELFTEST, out, S.end('out_data'));
      } catch (e) {
        core.destroyMmap(mmap);
        throw e;
      }
    }
    return new MockViommu(this, core, parent as MockPagingDomain, mmap);
  }

  domainAllocPaging(dev: IommuDevice): PagingDomain {
    return this.domainAllocPagingFlags(dev, 0, undefined);
  }

  hwInfo(dev: IommuDevice, type: number): { type: number; data: Uint8Array } {
    void dev;
    if (type !== 0 && type !== IOMMU_HW_INFO_TYPE_SELFTEST) throw new Errno(EOPNOTSUPP, 'hw info type');
    return { type: IOMMU_HW_INFO_TYPE_SELFTEST, data: IommuTestHwInfo.encode({ test_reg: IOMMU_HW_INFO_SELFTEST_REGVAL }) };
  }
}

/** __mock_domain_alloc_nested: struct iommu_hwpt_selftest (at least iotlb); another type is EOPNOTSUPP. */
function allocMockNested(drv: MockIommu, parent: MockPagingDomain, userData: UserData, viommu: MockViommu | undefined): MockNestedDomain {
  if (userData.type !== IOMMU_HWPT_DATA_SELFTEST) throw new Errno(EOPNOTSUPP, 'user data type');
  const S = IommuHwptSelftest;
  const cfg = S.decode(copyUserData(userData, IOMMU_HWPT_DATA_SELFTEST, S.size, S.end('iotlb')));
  return new MockNestedDomain(drv, parent, cfg.iotlb, viommu);
}

const VIOMMU_INVALIDATE_ENTRY_SIZE = IommuViommuInvalidateSelftest.size;
/** kzalloc's limit (KMALLOC_MAX_SIZE on x86-64): a larger command array is ENOMEM. */
const KMALLOC_MAX_SIZE = 4 << 20;

/** The mock vIOMMU (struct mock_viommu): nested domains, device-cache invalidation, two HW queues. */
export class MockViommu implements HwViommu {
  /** hw_queue[] by index. */
  readonly hwQueues: Array<HwQueueCore | undefined> = new Array<HwQueueCore | undefined>(IOMMU_TEST_HW_QUEUE_MAX).fill(undefined);

  constructor(readonly driver: MockIommu, readonly core: ViommuCore, readonly s2Parent: MockPagingDomain, readonly mmap: DriverMmap | undefined) {}

  destroy(): void {
    if (this.mmap) this.core.destroyMmap(this.mmap);
  }

  allocDomainNested(flags: number, userData: UserData): NestedDomain {
    if (flags & ~IOMMU_HWPT_ALLOC_PASID) throw new Errno(EOPNOTSUPP, 'nested flags');
    return allocMockNested(this.driver, this.s2Parent, userData, this);
  }

  /**
   * mock_viommu_cache_invalidate on struct iommu_viommu_invalidate_selftest
   * {flags, vdev_id, cache_id}: an empty array of the right type probes; the
   * whole array is copied first (a bad type or entry is EINVAL/E2BIG with
   * nothing handled); then per entry unknown flags EOPNOTSUPP, cache_id > 3
   * or an unknown vdev_id EINVAL, else the vDEVICE's device cache (one entry,
   * or all with FLAG_ALL) is zeroed.
   */
  cacheInvalidate(a: UserDataArray): void {
    if (a.entryNum === 0 && a.type === IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST) return;
    if (a.entryNum * VIOMMU_INVALIDATE_ENTRY_SIZE > KMALLOC_MAX_SIZE) throw new Errno(ENOMEM, 'command array');
    a.kzalloc?.(a.entryNum * VIOMMU_INVALIDATE_ENTRY_SIZE); // the cmds array
    let done = 0;
    try {
      const cmds = copyUserDataFullArray(a, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, VIOMMU_INVALIDATE_ENTRY_SIZE);
      for (const cmd of cmds) {
        const { flags, vdev_id: vdevId, cache_id: cacheId } = IommuViommuInvalidateSelftest.decode(cmd);
        if (flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) throw new Errno(EOPNOTSUPP, 'invalidation flags');
        if (cacheId > MOCK_DEV_CACHE_NUM - 1) throw new Errno(EINVAL, 'cache_id');
        const dev = this.core.findDev(BigInt(vdevId));
        if (!(dev instanceof MockDevice)) throw new Errno(EINVAL, 'unknown vdev_id');
        if (flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) dev.cache.fill(0);
        else dev.cache[cacheId] = 0;
        done++;
      }
    } finally {
      a.entryNum = done;
    }
  }

  getHwQueueSize(type: number): number {
    return type === IOMMU_HW_QUEUE_TYPE_SELFTEST ? 1 : 0;
  }

  /**
   * mock_hw_queue_init_phys: index < 2 (EINVAL), free (EEXIST), index 1 only
   * after 0 (EIO) and depending on it; the core's physical address must be
   * what the nest parent translates the queue's IOVA to (EFAULT).
   */
  hwQueueInitPhys(q: HwQueueCore, index: number, basePa: bigint): void {
    if (index >= IOMMU_TEST_HW_QUEUE_MAX) throw new Errno(EINVAL, 'queue index');
    if (this.hwQueues[index]) throw new Errno(EEXIST, 'queue index in use');
    let prev: HwQueueCore | undefined;
    if (index) {
      prev = this.hwQueues[index - 1];
      if (!prev) throw new Errno(EIO, 'the previous queue does not exist');
    }
    if (basePa !== this.s2Parent.iovaToPhys(q.baseAddr)) throw new Errno(EFAULT, 'base address translates elsewhere');
    if (prev) q.depend(prev);
    this.hwQueues[index] = q;
    q.destroyHook = () => {
      this.hwQueues[index] = undefined;
      if (prev) q.undepend(prev);
    };
  }

  /** iommufd_test_trigger_vevent's report: a SELFTEST event {virt_id} (u32). */
  reportSelftestEvent(virtId: bigint): void {
    this.core.reportEvent(IOMMU_VEVENTQ_TYPE_SELFTEST, IommuViommuEventSelftest.encode({ virt_id: Number(virtId & 0xffffffffn) }));
  }
}
