// Hardware page tables (drivers/iommu/iommufd/hw_pagetable.c): HWPT_PAGING
// objects own an IOMMU domain filled from their IOAS; automatic ones are made
// by attaching a device to an IOAS and go away with the last detach.
import { Errno, EINVAL, EOPNOTSUPP, EOVERFLOW } from '../uapi/errno.js';
import * as U from '../uapi/iommufd.js';
import type { Ucmd } from './ucmd.js';
import { ULONG_MAX } from './io-pagetable.js';
import type { Task } from './task.js';
import { IommufdObject, type ObjType } from './object-table.js';
import { kmalloc, slabAlloc } from './faults.js';
import type { IommufdIoas } from './ioas.js';
import type { IommufdCtx } from './iommufd.js';
import type { HwDomain, NestedDomain, PagingDomain, UserData } from '../hw/iommu.js';
import type { IommufdDevice } from './device.js';
import type { IommufdViommu } from './viommu.js';
import { getDevice, hwptAttach, hwptDetachDevice } from './device.js';

const { IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_FAULT_ID_VALID, IOMMU_HWPT_ALLOC_PASID, IOMMU_HWPT_DATA_NONE } = U;

export abstract class IommufdHwpt extends IommufdObject {
  abstract override readonly type: Extract<ObjType, 'HWPT_PAGING' | 'HWPT_NESTED'>;
  domain: HwDomain | undefined;
  /** A FAULT object this HWPT reports I/O page faults to. */
  fault: IommufdObject | undefined;
  /** Allocated with IOMMU_HWPT_ALLOC_PASID. */
  pasidCompat = false;
  constructor(readonly ctx: IommufdCtx) { super(); }
}

export class HwptPaging extends IommufdHwpt {
  readonly type = 'HWPT_PAGING' as const;
  declare domain: PagingDomain | undefined;
  /** Made by an attach to an IOAS; only these are reused by later automatic attaches. */
  autoDomain = false;
  nestParent = false;
  /** Fixed at allocation: the domain makes every mapping snoop (IOMMU_CAP_ENFORCE_CACHE_COHERENCY). */
  enforceCacheCoherency = false;
  /** In ioas.hwpts with its domain in the IOAS's io_pagetable. */
  private listed = false;

  constructor(ctx: IommufdCtx, readonly ioas: IommufdIoas) { super(ctx); }

  /** iopt_table_add_domain and join ioas->hwpt_list. */
  publish(): void {
    this.ioas.iopt.addDomain(this.domain!);
    this.ioas.hwpts.push(this);
    this.listed = true;
  }

  destroy(): void {
    if (this.listed) {
      const i = this.ioas.hwpts.indexOf(this);
      if (i >= 0) this.ioas.hwpts.splice(i, 1);
      this.ioas.iopt.removeDomain(this.domain!);
      this.listed = false;
    }
    this.domain?.free();
    this.domain = undefined;
    if (this.fault) { this.fault.users--; this.fault = undefined; }
    this.ioas.users--;
  }
}

/**
 * A stage-1 HWPT on a nest-parent paging HWPT: it holds the parent, or, when
 * allocated on a vIOMMU, the vIOMMU (which holds the parent).
 */
export class HwptNested extends IommufdHwpt {
  readonly type = 'HWPT_NESTED' as const;
  declare domain: NestedDomain | undefined;
  constructor(ctx: IommufdCtx, readonly parent: HwptPaging, readonly viommu?: IommufdViommu) { super(ctx); }
  destroy(): void {
    this.domain?.free();
    this.domain = undefined;
    if (this.fault) { this.fault.users--; this.fault = undefined; }
    if (this.viommu) this.viommu.users--;
    else this.parent.users--;
  }
}

/**
 * The driver's kzalloc of its domain structure (mock_domain_alloc_pgtable,
 * mock_domain_alloc_nested; the real drivers alike), its one slab point: the
 * drivers allocate it after validating their input and nothing after it
 * can fail, so the point is taken once the domain is built (the caller's
 * abort frees it). Its page tables come from the page allocator.
 */
function driverDomainKzalloc(): void {
  slabAlloc('driver domain');
}

/** iommufd_viommu_alloc_hwpt_nested: unpublished; the caller finalizes or aborts. */
export function viommuAllocHwptNested(ctx: IommufdCtx, viommu: IommufdViommu, flags: number, userData: UserData): HwptNested {
  if (flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) throw new Errno(EOPNOTSUPP, 'nested flags');
  if (!userData.length) throw new Errno(EOPNOTSUPP, 'no user data');
  const hw = viommu.hw;
  if (!hw?.allocDomainNested) throw new Errno(EOPNOTSUPP, 'vIOMMU cannot allocate nested domains');
  const h = ctx.objects.alloc(new HwptNested(ctx, viommu.hwpt, viommu));
  h.pasidCompat = (flags & IOMMU_HWPT_ALLOC_PASID) !== 0;
  viommu.users++;
  try {
    h.domain = hw.allocDomainNested(flags & ~IOMMU_HWPT_FAULT_ID_VALID, userData);
    driverDomainKzalloc();
  } catch (e) {
    ctx.objects.abortAndDestroy(h);
    throw e;
  }
  return h;
}

/** iommufd_hwpt_nested_alloc: unpublished; the caller finalizes or aborts. */
export function hwptNestedAlloc(ctx: IommufdCtx, parent: HwptPaging, idev: IommufdDevice, flags: number, userData: UserData): HwptNested {
  const drv = idev.dev.driver;
  if ((flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) || !userData.length || !drv.domainAllocNested) {
    throw new Errno(EOPNOTSUPP, 'nested flags, data or driver');
  }
  if (parent.autoDomain || !parent.nestParent || parent.domain!.driver !== drv) throw new Errno(EINVAL, 'parent cannot nest this device');
  const h = ctx.objects.alloc(new HwptNested(ctx, parent));
  h.pasidCompat = (flags & IOMMU_HWPT_ALLOC_PASID) !== 0;
  parent.users++;
  try {
    h.domain = drv.domainAllocNested(idev.dev, parent.domain!, flags & ~IOMMU_HWPT_FAULT_ID_VALID, userData);
    driverDomainKzalloc();
  } catch (e) {
    ctx.objects.abortAndDestroy(h);
    throw e;
  }
  return h;
}

/** iommufd_hwpt_paging_enforce_cc: ask the domain to enforce snooping; EINVAL if it cannot. */
function enforceCc(h: HwptPaging): void {
  if (h.enforceCacheCoherency) return;
  h.enforceCacheCoherency = h.domain!.enforceCacheCoherency?.() ?? false;
  if (!h.enforceCacheCoherency) throw new Errno(EINVAL, 'domain cannot enforce cache coherency');
}

/**
 * iommufd_hwpt_paging_alloc: a HWPT_PAGING for `idev` on `ioas`, its domain
 * filled (pinning and charging) and listed. With `immediateAttach` the device
 * (or its `pasid`) is attached before the fill. Returns the object reserved but unpublished;
 * the caller finalizes or aborts it.
 */
export function hwptPagingAlloc(ctx: IommufdCtx, ioas: IommufdIoas, idev: IommufdDevice, flags: number,
  immediateAttach: boolean, userData: UserData | undefined, pasid = 0): HwptPaging {
  const valid = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID;
  const drv = idev.dev.driver;
  if ((flags || userData) && !drv.domainAllocPagingFlags) throw new Errno(EOPNOTSUPP, 'driver takes no flags or data');
  if (flags & ~valid) throw new Errno(EOPNOTSUPP, 'flags');
  if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !drv.capable(idev.dev, 'DIRTY_TRACKING')) throw new Errno(EOPNOTSUPP, 'no dirty tracking');
  if ((flags & IOMMU_HWPT_FAULT_ID_VALID) && (flags & IOMMU_HWPT_ALLOC_NEST_PARENT)) throw new Errno(EOPNOTSUPP, 'fault on a nest parent');

  const h = ctx.objects.alloc(new HwptPaging(ctx, ioas));
  h.pasidCompat = (flags & IOMMU_HWPT_ALLOC_PASID) !== 0;
  ioas.users++;
  h.nestParent = (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) !== 0;
  let attached = false;
  try {
    h.domain = drv.domainAllocPagingFlags
      ? drv.domainAllocPagingFlags(idev.dev, flags & ~IOMMU_HWPT_FAULT_ID_VALID, userData)
      : drv.domainAllocPaging(idev.dev);
    driverDomainKzalloc();
    if (idev.enforceCacheCoherency) enforceCc(h);
    if (immediateAttach) { hwptAttach(h, idev, pasid); attached = true; }
    h.publish();
  } catch (e) {
    if (attached) hwptDetachDevice(idev, false, pasid);
    ctx.objects.abortAndDestroy(h);
    throw e;
  }
  return h;
}

/**
 * iommufd_hw_pagetable_put: drop a device's reference; an automatic HWPT
 * that nothing else uses is destroyed (unless userspace holds it right now).
 */
export function hwptPut(ctx: IommufdCtx, h: IommufdHwpt): void {
  h.users--;
  if (h instanceof HwptPaging && h.autoDomain && h.users === 1 && ctx.objects.peek(h.id) === h) {
    try { ctx.objects.remove(h.id); } catch (e) { if (!(e instanceof Errno)) throw e; }
  }
}

/** The paging HWPT behind a HWPT (itself, or a nested HWPT's parent). */
export function findHwptPaging(h: IommufdHwpt | undefined): HwptPaging | undefined {
  if (!h) return undefined;
  if (h instanceof HwptPaging) return h;
  if (h instanceof HwptNested) return h.parent;
  return undefined;
}

export function getHwptPaging(ctx: IommufdCtx, id: number): HwptPaging {
  const o = ctx.objects.get(id, 'HWPT_PAGING');
  return o as HwptPaging;
}


// ---- ioctls -----------------------------------------------------------------

/** struct iommu_user_data for a driver: type, length and a reader of the caller's buffer. */
export function userDataOf(task: Task, type: number, uptr: bigint, len: number): UserData {
  return {
    type, length: len,
    read: (off, n) => task.mm.read(uptr + BigInt(off), n),
    write: (off, data) => task.mm.write(uptr + BigInt(off), data),
  };
}

/** IOMMU_HWPT_ALLOC (iommufd_hwpt_alloc). */
export function hwptAllocIoctl(u: Ucmd<typeof U.IommuHwptAlloc.fields>): number {
  const c = u.cmd;
  const t = u.ctx.objects;
  if (c.__reserved) throw new Errno(EOPNOTSUPP, '__reserved');
  if ((c.data_type === IOMMU_HWPT_DATA_NONE && c.data_len) || (c.data_type !== IOMMU_HWPT_DATA_NONE && !c.data_len)) {
    throw new Errno(EINVAL, 'data_type and data_len disagree');
  }
  const idev = getDevice(u.ctx, c.dev_id);
  try {
    let pt;
    try { pt = t.get(c.pt_id); } catch (e) { if (e instanceof Errno) throw new Errno(EINVAL, 'pt_id'); throw e; }
    try {
      let hwpt: IommufdHwpt;
      if (pt.type === 'IOAS') {
        const ud = c.data_len ? userDataOf(u.task, c.data_type, c.data_uptr, c.data_len) : undefined;
        hwpt = hwptPagingAlloc(u.ctx, pt as IommufdIoas, idev, c.flags, false, ud);
      } else if (pt.type === 'HWPT_PAGING') {
        hwpt = hwptNestedAlloc(u.ctx, pt as HwptPaging, idev, c.flags, userDataOf(u.task, c.data_type, c.data_uptr, c.data_len));
      } else if (pt.type === 'VIOMMU') {
        const v = pt as IommufdViommu;
        if (v.iommuDev !== idev.dev.driver) throw new Errno(EINVAL, 'device is behind another IOMMU');
        hwpt = viommuAllocHwptNested(u.ctx, v, c.flags, userDataOf(u.task, c.data_type, c.data_uptr, c.data_len));
      } else {
        throw new Errno(EINVAL, `pt_id is a ${pt.type}`);
      }
      try {
        if (c.flags & IOMMU_HWPT_FAULT_ID_VALID) {
          const fault = t.get(c.fault_id, 'FAULT');
          hwpt.fault = fault;
          fault.users++;
          t.put(fault);
        }
        c.out_hwpt_id = hwpt.id;
        u.respond();
      } catch (e) {
        t.abortAndDestroy(hwpt);
        throw e;
      }
      t.finalize(hwpt);
      return 0;
    } finally {
      t.put(pt);
    }
  } finally {
    t.put(idev);
  }
}

/** IOMMU_HWPT_SET_DIRTY_TRACKING (iopt_set_dirty_tracking). */
export function setDirtyTrackingIoctl(u: Ucmd<typeof U.IommuHwptSetDirtyTracking.fields>): number {
  const c = u.cmd;
  if (c.flags & ~1) throw new Errno(EOPNOTSUPP, 'flags');
  const h = getHwptPaging(u.ctx, c.hwpt_id);
  try {
    const ops = h.domain!.dirtyOps;
    if (!ops) throw new Errno(EOPNOTSUPP, 'domain has no dirty tracking');
    const enable = (c.flags & 1) !== 0;
    if (enable) {
      // A clean snapshot: clear what the mapped areas have accumulated.
      for (const a of h.ioas.iopt.areasIn()) if (a.pages) ops.readAndClearDirty(a.iova, a.length, false, () => {});
    }
    ops.setDirtyTracking(enable);
    return 0;
  } finally {
    u.ctx.objects.put(h);
  }
}

/** IOMMU_HWPT_GET_DIRTY_BITMAP (iopt_read_and_clear_dirty_data). */
export function getDirtyBitmapIoctl(u: Ucmd<typeof U.IommuHwptGetDirtyBitmap.fields>): number {
  const c = u.cmd;
  if ((c.flags & ~1) || c.__reserved) throw new Errno(EOPNOTSUPP, 'flags or __reserved');
  const h = getHwptPaging(u.ctx, c.hwpt_id);
  try {
    const iopt = h.ioas.iopt;
    // iommufd_check_iova_range
    // u64 arithmetic as the kernel does it: length 0 wraps to U64_MAX.
    const last = c.iova + BigInt.asUintN(64, c.length - 1n);
    if (last > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
    const end = BigInt.asUintN(64, last + 1n);
    const al = iopt.iovaAlignment;
    if ((c.iova & (al - 1n)) || (end & (al - 1n))) throw new Errno(EINVAL, 'not aligned to the IOAS');
    if (!c.page_size) throw new Errno(EINVAL, 'page_size 0');
    if ((c.iova & (c.page_size - 1n)) || (end & (c.page_size - 1n))) throw new Errno(EINVAL, 'not aligned to page_size');
    const ops = h.domain!.dirtyOps;
    if (!ops) throw new Errno(EOPNOTSUPP, 'domain has no dirty tracking');
    slabAlloc('iova_bitmap'); // iova_bitmap_alloc's kzalloc
    const noClear = (c.flags & 1) !== 0;
    // The user bitmap is read, OR-ed and written back a word at a time.
    const words = new Map<bigint, bigint>();
    const setBits = (s: bigint, len: bigint) => {
      const from = s < c.iova ? c.iova : s;
      const to = s + len - 1n > last ? last : s + len - 1n;
      if (from > to) return;
      for (let b = (from - c.iova) / c.page_size; b <= (to - c.iova) / c.page_size; b++) {
        const w = b >> 6n;
        words.set(w, (words.get(w) ?? 0n) | (1n << (b & 63n)));
      }
    };
    // Walk the contiguous areas; a hole stops the walk (the kernel then still answers 0).
    for (const { from, to } of iopt.contigAreas(c.iova, last)) ops.readAndClearDirty(from, to - from + 1n, noClear, setBits);
    for (const [w, bits] of words) {
      const at = c.data + w * 8n;
      const old = new DataView(u.task.mm.read(at, 8).buffer).getBigUint64(0, true);
      const nb = new Uint8Array(new ArrayBuffer(8));
      new DataView(nb.buffer).setBigUint64(0, old | bits, true);
      u.task.mm.write(at, nb);
    }
    return 0;
  } finally {
    u.ctx.objects.put(h);
  }
}

/** IOMMU_HWPT_INVALIDATE: entry_num is always written back (0 before anything was done). */
export function hwptInvalidateIoctl(u: Ucmd<typeof U.IommuHwptInvalidate.fields>): number {
  const c = u.cmd;
  let err: Errno | undefined;
  let done = 0;
  try {
    if (c.__reserved) throw new Errno(EOPNOTSUPP, '__reserved');
    if (c.entry_num && (!c.data_uptr || !c.entry_len || c.entry_len > 4096 || c.entry_num > (1 << 19))) {
      throw new Errno(EINVAL, 'entry array');
    }
    const pt = u.ctx.objects.get(c.hwpt_id);
    const arr = {
      type: c.data_type, entryLen: c.entry_len, entryNum: c.entry_num,
      read: (off: number, n: number) => u.task.mm.read(c.data_uptr + BigInt(off), n),
      kzalloc: (n: number) => kmalloc(n, 'driver invalidation array'),
    };
    try {
      if (pt.type === 'HWPT_NESTED') {
        const d = (pt as HwptNested).domain!;
        if (!d.cacheInvalidateUser) throw new Errno(EOPNOTSUPP, 'no cache invalidation op');
          try { d.cacheInvalidateUser(arr); } finally { done = arr.entryNum; }
      } else if (pt.type === 'VIOMMU') {
        const hw = (pt as IommufdViommu).hw;
        if (!hw?.cacheInvalidate) throw new Errno(EOPNOTSUPP, 'no cache invalidation op');
        try { hw.cacheInvalidate(arr); } finally { done = arr.entryNum; }
      } else {
        throw new Errno(EINVAL, `hwpt_id is a ${pt.type}`);
      }
    } finally {
      u.ctx.objects.put(pt);
    }
  } catch (e) {
    if (!(e instanceof Errno)) throw e;
    err = e;
  }
  c.entry_num = done;
  u.respond();
  if (err) throw err;
  return 0;
}
