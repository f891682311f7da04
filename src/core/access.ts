// Access objects (drivers/iommu/iommufd/device.c, the iommufd_access_* API):
// an emulated device's CPU view of an IOAS. It pins IOVA ranges (sharing the
// pins of domains and other accesses), reads and writes through them, and is
// told to let go before an unmap.
import { Errno, EBUSY, EINVAL, ENOENT, EOVERFLOW, EPERM } from '../uapi/errno.js';
import { IommufdObject } from './object-table.js';
import type { IommufdCtx } from './iommufd.js';
import type { IommufdIoas } from './ioas.js';
import { ULONG_MAX, type IoptAccess } from './io-pagetable.js';
import type { IoptArea } from './area.js';
import { IOMMU_READ, IOMMU_WRITE, type IommuDomain } from '../hw/iommu.js';
import { PAGE_SHIFT, PAGE_SIZE_N, frameOwner, type AddressSpace, type Frames } from '../hw/memory.js';
import { pagesPaddr } from './pages.js';

export const IOMMUFD_ACCESS_RW_WRITE = 1 << 0;
/** __IOMMUFD_ACCESS_RW_SLOW_PATH (the selftest's MOCK_ACCESS_RW_SLOW_PATH): read through the pages, not the mm. */
export const IOMMUFD_ACCESS_RW_SLOW_PATH = 1 << 2;

/** struct iommufd_access_ops */
export interface AccessOps {
  /** Pins pages (and so needs PAGE_SIZE IOVA alignment). */
  readonly needsPinPages: boolean;
  /** Must unpin every pin overlapping [iova, iova+length) before returning. */
  unmap(iova: bigint, length: bigint): void;
}

export class IommufdAccess extends IommufdObject implements IoptAccess {
  readonly type = 'ACCESS' as const;
  readonly iovaAlignment: bigint;
  /** The IOAS pins go to; undefined while detached or being replaced. */
  ioas: IommufdIoas | undefined;
  /** The IOAS unpins go to (stays during a replace). */
  ioasUnpin: IommufdIoas | undefined;

  /**
   * An internal access (a HW queue's, iommufd_access_create_internal): no
   * ops and no hold on the context; its pins lock their areas (num_locks),
   * so unmapping them is EBUSY instead of a request to let go.
   */
  constructor(readonly ctx: IommufdCtx, readonly ops: AccessOps, readonly internal = false) {
    super();
    this.iovaAlignment = ops.needsPinPages ? PAGE_SIZE_N : 1n;
  }

  /** IoptAccess: the iopt asks us to let go of [iova, iova+length). */
  unmap(iova: bigint, length: bigint): void {
    this.ops.unmap(iova, length);
  }

  destroy(): void {
    if (this.ioas) changeIoas(this, undefined);
    if (!this.internal) this.ctx.unhold();
  }
}

const INTERNAL_OPS: AccessOps = { needsPinPages: true, unmap: () => {} };

/** iommufd_access_create_internal: published, page-aligned pins, the context not held. */
export function accessCreateInternal(ctx: IommufdCtx): IommufdAccess {
  const a = ctx.objects.alloc(new IommufdAccess(ctx, INTERNAL_OPS, true));
  a.users++;
  ctx.objects.finalize(a);
  return a;
}

/** iommufd_access_attach_internal: attach to an IOAS the caller already holds. */
export function accessAttachInternal(a: IommufdAccess, ioas: IommufdIoas): void {
  if (a.ioas) throw new Errno(EINVAL, 'already attached');
  changeIoas(a, ioas);
}

/** iommufd_access_detach. */
export function accessDetach(a: IommufdAccess): void {
  if (a.ioas) changeIoas(a, undefined);
}

/** iommufd_access_create: published, with the creating driver's reference. */
export function accessCreate(ctx: IommufdCtx, ops: AccessOps): IommufdAccess {
  const a = ctx.objects.alloc(new IommufdAccess(ctx, ops));
  a.users++;
  ctx.hold(); // iommufd_ctx_get: the access keeps the iommufd alive
  ctx.objects.finalize(a);
  return a;
}

/** iommufd_access_destroy: the driver lets go (detaching first). */
export function accessDestroy(a: IommufdAccess): void {
  a.ctx.objects.destroyUser(a);
}

/** iommufd_access_change_ioas. */
function changeIoas(a: IommufdAccess, next: IommufdIoas | undefined): void {
  const cur = a.ioas;
  if (cur !== a.ioasUnpin) throw new Errno(EBUSY, 'a replace is in progress');
  if (cur === next) return;
  a.ioas = undefined; // blocks pins; unpins still reach ioasUnpin
  if (next) {
    try { next.iopt.addAccess(a); } catch (e) { a.ioas = cur; throw e; }
    next.users++;
  }
  if (cur) {
    if (!a.internal) a.ops.unmap(0n, ULONG_MAX);
    cur.iopt.removeAccess(a);
    cur.users--;
  }
  a.ioas = next;
  a.ioasUnpin = next;
}

export function accessAttach(a: IommufdAccess, ioasId: number): void {
  if (a.ioas) throw new Errno(EINVAL, 'already attached');
  const ioas = a.ctx.objects.get<IommufdIoas>(ioasId, 'IOAS');
  try { changeIoas(a, ioas); } finally { a.ctx.objects.put(ioas); }
}

/** iommufd_access_replace: ENOENT when not attached. */
export function accessReplace(a: IommufdAccess, ioasId: number): void {
  if (!a.ioas) throw new Errno(ENOENT, 'not attached');
  const ioas = a.ctx.objects.get<IommufdIoas>(ioasId, 'IOAS');
  try { changeIoas(a, ioas); } finally { a.ctx.objects.put(ioas); }
}

/** Physical address of page `index` of an area's pages (the struct page a pin returns). */
function pagePaddr(area: IoptArea, index: number): bigint {
  const pages = area.source;
  return pagesPaddr(pages.mm, ((pages.uptr >> PAGE_SHIFT_N) + BigInt(index)) << PAGE_SHIFT_N);
}
const PAGE_SHIFT_N = 12n;

function allowed(area: IoptArea, flags: number): boolean {
  return (flags & IOMMUFD_ACCESS_RW_WRITE) ? (area.prot & IOMMU_WRITE) !== 0 : (area.prot & IOMMU_READ) !== 0;
}

/**
 * iommufd_access_pin_pages: pin [iova, iova+length), area by area in IOVA
 * order. EINVAL while an unmap waits on an area or when an inner area
 * boundary is not page aligned; EPERM for the area's protection; ENOENT at a
 * hole. A failure unpins what this call pinned.
 */
export function accessPinPages(a: IommufdAccess, iova: bigint, length: bigint, flags: number, outPaddrs?: bigint[]): void {
  if (a.iovaAlignment !== PAGE_SIZE_N) throw new Errno(EINVAL, 'access does not pin pages');
  if (!length) throw new Errno(EINVAL, 'length 0');
  const last = iova + length - 1n;
  if (last > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
  const ioas = a.ioas;
  if (!ioas) throw new Errno(ENOENT, 'not attached');
  try {
    ioas.iopt.accessPin(iova, length, (flags & IOMMUFD_ACCESS_RW_WRITE) !== 0, {
      internal: a.internal,
      onPinned: outPaddrs && ((area, first, lastIdx) => { for (let i = first; i <= lastIdx; i++) outPaddrs.push(pagePaddr(area, i)); }),
    });
  } catch (e) {
    if (outPaddrs) outPaddrs.length = 0;
    throw e;
  }
}

/** iommufd_access_unpin_pages: undo a pin of exactly this range. */
export function accessUnpinPages(a: IommufdAccess, iova: bigint, length: bigint): void {
  a.ioasUnpin?.iopt.accessUnpin(iova, length, a.internal);
}

/**
 * iommufd_access_rw: copy between `data` and the IOVA range through the CPU's
 * view of the pages. EINVAL while an unmap waits, EPERM for the protection
 * (or writing read-only pages), ENOENT at a hole.
 */
export function accessRw(a: IommufdAccess, iova: bigint, data: Uint8Array, flags: number, callerMm?: AddressSpace): void {
  const length = BigInt(data.length);
  if (!length) throw new Errno(EINVAL, 'length 0');
  const last = iova + length - 1n;
  if (last > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
  const ioas = a.ioas;
  if (!ioas) throw new Errno(ENOENT, 'not attached');
  const write = (flags & IOMMUFD_ACCESS_RW_WRITE) !== 0;
  const it = ioas.iopt.contigAreas(iova, last);
  let r = it.next();
  let off = 0;
  while (!r.done) {
    const { area, from, to } = r.value;
    if (area.preventAccess) throw new Errno(EINVAL, 'an unmap is waiting on this area');
    if (!allowed(area, flags)) throw new Errno(EPERM, 'area protection');
    const n = Number(to - from + 1n);
    const pages = area.source;
    if (write && !pages.writable) throw new Errno(EPERM, 'pages are read-only');
    if (pages.dmabuf) throw new Errno(EINVAL, 'dma-buf pages have no CPU access'); // iopt_pages_rw_access
    const startByte = area.startByteOf(from);
    // A file's pages, another mm's or the slow path flag go through the pages (injection points).
    if (pages.kind !== 'user' || (flags & IOMMUFD_ACCESS_RW_SLOW_PATH) || (callerMm && callerMm !== pages.sourceMm)) {
      pages.rwInjectionPoints(Number(startByte / PAGE_SIZE_N), Number((startByte + BigInt(n) - 1n) / PAGE_SIZE_N));
    }
    const va = pages.uptr + startByte;
    try {
      if (write) pages.mm.write(va, data.subarray(off, off + n));
      else data.set(pages.mm.read(va, n), off);
    } catch (e) {
      // The owner's mm is gone (iopt_pages_rw_slow): read the pinned pages
      // through the frames a domain holds for them, page by page.
      if (!(e instanceof Errno) || !area.filled || !ioas.iopt.domains.length || !rwPhysical(a.ctx.engine.frames, ioas.iopt.domains[0]!, from, data.subarray(off, off + n), write)) throw e;
    }
    off += n;
    r = it.next();
  }
  if (!r.value) throw new Errno(ENOENT, 'IOVA range has a hole');
}

/**
 * Copy between `data` and the memory behind [iova, iova+len) as a domain
 * translates it, for frames that outlive their process (shared file pages).
 * False when some frame cannot be reached.
 */
function rwPhysical(frames: Frames, d: IommuDomain, iova: bigint, data: Uint8Array, write: boolean): boolean {
  let done = 0;
  while (done < data.length) {
    const at = iova + BigInt(done);
    const pa = d.iovaToPhys(at);
    if (pa === undefined) return false;
    const n = Math.min(data.length - done, Number(PAGE_SIZE_N - (pa & (PAGE_SIZE_N - 1n))));
    const owner = frameOwner(pa >> BigInt(PAGE_SHIFT));
    const fs = frames.fileById(owner.mmId);
    if (!fs) return false;
    const off = owner.va + (pa & (PAGE_SIZE_N - 1n));
    if (write) fs.write(off, data.subarray(done, done + n));
    else data.set(fs.read(off, n), done);
    done += n;
  }
  return true;
}
