// VFIO type1 container compatibility on an iommufd
// (drivers/iommu/iommufd/vfio_compat.c): the container ioctls a VFIO program
// issues on /dev/vfio/vfio, answered on the "compat IOAS" of the context, and
// the compat IOAS itself (made by a group attach, or chosen with
// IOMMU_VFIO_IOAS SET).
import { Errno, EINVAL, ENODEV, ENOTTY, EPERM } from '../uapi/errno.js';
import * as V from '../uapi/vfio.js';
import { describeRequest, vfioIoctlByRequest } from '../uapi/ioctls.js';
import { formatStruct, symbolic, type Decoded, type Fields, type StructDef } from '../uapi/struct.js';
import { PAGE_SIZE_N } from '../hw/memory.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../hw/iommu.js';
import { ULONG_MAX } from './io-pagetable.js';
import { IommufdIoas, ioptMapUserPages } from './ioas.js';
import type { IoctlTrace } from './file.js';
import type { IommufdCtx } from './iommufd.js';
import type { Task } from './task.js';

/**
 * CONFIG_VFIO_NOIOMMU. The reference kernel (the goldens' 7.2.13 oracle) is
 * built without it: CHECK_EXTENSION(NOIOMMU) answers 0 and SET_IOMMU(NOIOMMU)
 * is an ordinary unknown type.
 */
const VFIO_NOIOMMU = false;

/**
 * get_compat_ioas: the compat IOAS with a transient hold, or ENODEV when
 * there is none or it is on its way out.
 */
function getCompatIoas(ctx: IommufdCtx): IommufdIoas {
  const cur = ctx.vfioIoas;
  // Under the objects lock, iommufd_lock_obj on the pointer the context
  // keeps: no lookup, so no injection point.
  if (!cur || !ctx.objects.lock(cur)) throw new Errno(ENODEV, 'no compat IOAS');
  return cur;
}

function withCompatIoas<T>(ctx: IommufdCtx, fn: (ioas: IommufdIoas) => T): T {
  const ioas = getCompatIoas(ctx);
  try { return fn(ioas); } finally { ctx.objects.put(ioas); }
}

/** iommufd_vfio_compat_ioas_get_id: the compat IOAS's ID (ENODEV without one). */
export function vfioCompatIoasGetId(ctx: IommufdCtx): number {
  return withCompatIoas(ctx, (ioas) => ioas.id);
}

/**
 * iommufd_vfio_compat_set_no_iommu: a no-iommu device joined the context.
 * EINVAL once a compat IOAS exists (VFIO never mixes the two).
 */
export function vfioCompatSetNoIommu(ctx: IommufdCtx): void {
  if (ctx.vfioIoas) throw new Errno(EINVAL, 'context already has a compat IOAS');
  ctx.noIommuMode = true;
}

/**
 * iommufd_vfio_compat_ioas_create: make sure a compat IOAS exists (a group
 * attached to the iommufd as its container). The new IOAS is an ordinary
 * user-visible object: IOMMU_VFIO_IOAS GET reports it, DESTROY removes it.
 * EINVAL in no-iommu mode.
 */
export function vfioCompatIoasCreate(ctx: IommufdCtx): void {
  const t = ctx.objects;
  const ioas = t.alloc(new IommufdIoas(ctx));
  if (ctx.noIommuMode) {
    t.abortAndDestroy(ioas);
    throw new Errno(EINVAL, 'context is in no-iommu mode');
  }
  if (ctx.vfioIoas) {
    let live = false;
    try { t.put(getCompatIoas(ctx)); live = true; } catch (e) { if (!(e instanceof Errno)) throw e; }
    if (live) { t.abortAndDestroy(ioas); return; }
  }
  ctx.vfioIoas = ioas;
  t.finalize(ioas);
}

/** The compat ioctls: request → handler. Anything else is ENOTTY. */
export function vfioCompatIoctl(ctx: IommufdCtx, task: Task, request: number, arg: bigint, trace?: IoctlTrace): number {
  if (trace) trace.name = describeRequest(request, 'container');
  switch (request) {
    case V.VFIO_GET_API_VERSION:
      return V.VFIO_API_VERSION;
    case V.VFIO_SET_IOMMU:
      if (trace) trace.args = `type=${arg <= 0xffffffffn ? symbolic(V.VFIO_EXTENSION_NAMES, Number(arg)) : `0x${arg.toString(16)}`}`;
      return setIommu(ctx, task, arg);
    case V.VFIO_CHECK_EXTENSION:
      if (trace) trace.args = `extension=${arg <= 0xffffffffn ? symbolic(V.VFIO_EXTENSION_NAMES, Number(arg)) : `0x${arg.toString(16)}`}`;
      return checkExtension(ctx, arg);
    case V.VFIO_IOMMU_GET_INFO:
      return iommuGetInfo(ctx, task, arg, trace);
    case V.VFIO_IOMMU_MAP_DMA:
      return mapDma(ctx, task, arg, trace);
    case V.VFIO_IOMMU_UNMAP_DMA:
      return unmapDma(ctx, task, arg, trace);
    default:
      // VFIO_IOMMU_DIRTY_PAGES, ENABLE/DISABLE, sPAPR, group ioctls, and any
      // request with size or direction bits: -ENOIOCTLCMD, which is ENOTTY.
      throw new Errno(ENOTTY, 'not a VFIO compat ioctl');
  }
}

/** copy_from_user of the handler's minsz bytes (EFAULT), decoded. */
function readMin<F extends Fields>(task: Task, request: number, arg: bigint, trace: IoctlTrace | undefined): { def: StructDef<F>; minsz: number; cmd: Decoded<F> } {
  const desc = vfioIoctlByRequest(request, 'container')!;
  const def = desc.struct as StructDef<F>;
  const minsz = desc.minSize;
  const buf = new Uint8Array(def.size);
  buf.set(task.mm.read(arg, minsz));
  const cmd = def.decode(buf);
  if (trace) trace.args = formatStruct(def, cmd, undefined, { verbose: trace.verbose ?? false });
  return { def, minsz, cmd };
}

// ---- CHECK_EXTENSION and SET_IOMMU --------------------------------------------

/** iommufd_vfio_cc_iommu: 1 when every HWPT of the compat IOAS enforces coherency (none: 1). */
function ccIommu(ctx: IommufdCtx): number {
  return withCompatIoas(ctx, (ioas) =>
    ioas.hwpts.every((h) => (h as { enforceCacheCoherency?: boolean }).enforceCacheCoherency === true) ? 1 : 0);
}

function checkExtension(ctx: IommufdCtx, type: bigint): number {
  switch (type) {
    case BigInt(V.VFIO_TYPE1_IOMMU):
    case BigInt(V.VFIO_TYPE1v2_IOMMU):
    case BigInt(V.VFIO_UNMAP_ALL):
      return ctx.noIommuMode ? 0 : 1;
    case BigInt(V.VFIO_NOIOMMU_IOMMU):
      return VFIO_NOIOMMU ? 1 : 0;
    case BigInt(V.VFIO_DMA_CC_IOMMU):
      return ccIommu(ctx);
    default:
      // NESTING (retired), UPDATE_VADDR (cannot be made safe), sPAPR, EEH...
      return 0;
  }
}

/**
 * iommufd_vfio_set_iommu. TYPE1 and TYPE1v2 differ in whether a mapping can
 * be unmapped in part; v1 is emulated by turning large pages off on the
 * compat IOAS so every IOPTE can be cut (EINVAL if domains already hold
 * mappings). Selecting a type changes nothing else.
 */
function setIommu(ctx: IommufdCtx, task: Task, type: bigint): number {
  const noIommu = ctx.noIommuMode;
  if (VFIO_NOIOMMU && type === BigInt(V.VFIO_NOIOMMU_IOMMU) && noIommu) {
    // Task models no CAP_SYS_RAWIO yet; a build with NOIOMMU would add it.
    if (!(task as { capSysRawio?: boolean }).capSysRawio) throw new Errno(EPERM, 'NOIOMMU needs CAP_SYS_RAWIO');
    return 0;
  }
  if ((type !== BigInt(V.VFIO_TYPE1_IOMMU) && type !== BigInt(V.VFIO_TYPE1v2_IOMMU)) || noIommu) {
    throw new Errno(EINVAL, 'unsupported IOMMU type');
  }
  // VFIO refuses SET_IOMMU on a container without a group: ENODEV here.
  withCompatIoas(ctx, (ioas) => {
    if (type === BigInt(V.VFIO_TYPE1_IOMMU)) ioas.iopt.disableLarge();
  });
  return 0;
}

// ---- GET_INFO -----------------------------------------------------------------

/** iommufd_get_pagesizes: the IO page sizes every domain of the IOAS supports. */
function pageSizes(ioas: IommufdIoas): bigint {
  let bitmap = ULONG_MAX;
  for (const d of ioas.iopt.domains) bitmap &= d.pgsizeBitmap;
  // As vfio_update_pgsize_bitmap: sizes below a CPU page count as PAGE_SIZE.
  const pageMask = ULONG_MAX & ~(PAGE_SIZE_N - 1n);
  if (bitmap & ~pageMask) bitmap = (bitmap & pageMask) | PAGE_SIZE_N;
  return bitmap > ioas.iopt.iovaAlignment ? bitmap : ioas.iopt.iovaAlignment;
}

/**
 * A capability writer: fills the capability at `at` when `avail` bytes are
 * there (pieces that fit may be written even when the whole does not), and
 * returns its unpadded size either way.
 */
type FillCap = (task: Task, ioas: IommufdIoas, at: bigint, avail: number) => number;

/** VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: iommufd has no mapping-count limit; U32_MAX (s390 qemu reads it). */
const fillCapDmaAvail: FillCap = (task, _ioas, at, avail) => {
  const def = V.VfioIommuType1InfoDmaAvail;
  if (avail >= def.size) {
    task.mm.write(at, def.encode({ id: V.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1, next: 0, avail: 0xffffffff }));
  }
  return def.size;
};

/**
 * VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: the holes of the reserved ranges,
 * as IOMMU_IOAS_IOVA_RANGES reports them. Each range that fits is written;
 * the header only when the whole array fits.
 */
const fillCapIova: FillCap = (task, ioas, at, avail) => {
  const head = V.VfioIommuType1InfoCapIovaRange;
  const elem = V.VfioIovaRange;
  let nr = 0;
  for (const r of ioas.iopt.iovaRanges()) {
    if (avail >= head.size + elem.size * (nr + 1)) {
      task.mm.write(at + BigInt(head.size + elem.size * nr), elem.encode({ start: r.start, end: r.last }));
    }
    nr++;
  }
  const size = head.size + elem.size * nr;
  if (avail >= size) {
    task.mm.write(at, head.encode({ id: V.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version: 1, next: 0, nr_iovas: nr, reserved: 0 }));
  }
  return size;
};

/** The chain, in the kernel's order. */
const FILL_CAPS: readonly FillCap[] = [fillCapDmaAvail, fillCapIova];

/**
 * iommufd_vfio_iommu_get_info. argsz must cover iova_pgsizes. The chain
 * starts right after the fixed struct; each capability starts on an 8-byte
 * boundary and a `next` is linked only when the caller's buffer reaches the
 * capability it points at. cap_offset is set only when the whole chain fits,
 * argsz always comes back as the size that would; min(argsz, sizeof) bytes
 * of the fixed part are written.
 */
function iommuGetInfo(ctx: IommufdCtx, task: Task, arg: bigint, trace?: IoctlTrace): number {
  const { def, minsz, cmd } = readMin<typeof V.VfioIommuType1Info.fields>(task, V.VFIO_IOMMU_GET_INFO, arg, trace);
  if (cmd.argsz < minsz) throw new Errno(EINVAL, `argsz ${cmd.argsz} < ${minsz}`);
  const writeLen = Math.min(cmd.argsz, def.size);
  return withCompatIoas(ctx, (ioas) => {
    const argsz = cmd.argsz;
    cmd.flags = V.VFIO_IOMMU_INFO_PGSIZES;
    cmd.iova_pgsizes = pageSizes(ioas);
    cmd.cap_offset = 0;
    let total = def.size;
    let lastCap: bigint | undefined;
    for (const fill of FILL_CAPS) {
      const raw = argsz > total ? fill(task, ioas, arg + BigInt(total), argsz - total) : fill(task, ioas, 0n, 0);
      const size = (raw + 7) & ~7;
      if (lastCap !== undefined && argsz >= total) {
        const next = new Uint8Array(4);
        new DataView(next.buffer).setUint32(0, total, true);
        task.mm.write(lastCap + BigInt(V.VfioInfoCapHeader.fields.next.off), next);
      }
      lastCap = arg + BigInt(total);
      total += size;
    }
    if (argsz >= total) cmd.cap_offset = def.size;
    cmd.argsz = total;
    cmd.flags |= V.VFIO_IOMMU_INFO_CAPS;
    task.mm.write(arg, def.encode(cmd).subarray(0, writeLen));
    if (trace) trace.out = formatStruct(def, cmd, ['flags', 'iova_pgsizes', 'cap_offset']) + ` argsz=${total}`;
    return 0;
  });
}

// ---- MAP_DMA and UNMAP_DMA ---------------------------------------------------

/**
 * iommufd_vfio_map_dma: a fixed-IOVA map of user memory on the compat IOAS
 * with the IOAS map rules (EEXIST, EINVAL for alignment or reserved ranges).
 * READ and WRITE are the only flags (VADDR: EINVAL); neither is required.
 * Pages are charged by the context's accounting mode, as IOMMU_IOAS_MAP's
 * (MM when the file was opened as /dev/vfio/vfio). Nothing is written back.
 */
function mapDma(ctx: IommufdCtx, task: Task, arg: bigint, trace?: IoctlTrace): number {
  const { minsz, cmd } = readMin<typeof V.VfioIommuType1DmaMap.fields>(task, V.VFIO_IOMMU_MAP_DMA, arg, trace);
  const supported = V.VFIO_DMA_MAP_FLAG_READ | V.VFIO_DMA_MAP_FLAG_WRITE;
  if (cmd.argsz < minsz || (cmd.flags & ~supported)) throw new Errno(EINVAL, 'argsz or flags');
  let prot = IOMMU_CACHE;
  if (cmd.flags & V.VFIO_DMA_MAP_FLAG_READ) prot |= IOMMU_READ;
  if (cmd.flags & V.VFIO_DMA_MAP_FLAG_WRITE) prot |= IOMMU_WRITE;
  withCompatIoas(ctx, (ioas) => ioptMapUserPages(ctx, task, ioas, cmd.iova, cmd.vaddr, cmd.size, prot));
  return 0;
}

/** Bytes of the areas intersecting [start, last] (0 for an empty or wrapping range). */
function mappedIn(ioas: IommufdIoas, start: bigint, last: bigint): bigint {
  if (last < start || last > ULONG_MAX) return 0n;
  let n = 0n;
  for (const a of ioas.iopt.areasIn(start, last)) n += a.length;
  return n;
}

/**
 * Run an unmap of [start, last]; on failure also report what it removed
 * before it stopped (iopt_unmap_iova_range's *unmapped on error).
 */
function unmapCounting(ioas: IommufdIoas, start: bigint, last: bigint, unmap: () => bigint): { unmapped: bigint; err?: Errno } {
  const before = mappedIn(ioas, start, last);
  try {
    return { unmapped: unmap() };
  } catch (e) {
    if (!(e instanceof Errno)) throw e;
    return { unmapped: before - mappedIn(ioas, start, last), err: e };
  }
}

/**
 * iommufd_vfio_unmap_dma. ALL (with iova = size = 0) empties the IOAS;
 * otherwise the IOAS unmap rules apply, except that in type1 v1 mode (large
 * pages off) areas are first cut at iova and iova+size so any page-aligned
 * piece can go, and that a range with nothing in it succeeds. The struct
 * comes back with size = bytes unmapped, after a failed unmap too (a range
 * that cuts an area after others were removed reports those).
 */
function unmapDma(ctx: IommufdCtx, task: Task, arg: bigint, trace?: IoctlTrace): number {
  const { def, minsz, cmd } = readMin<typeof V.VfioIommuType1DmaUnmap.fields>(task, V.VFIO_IOMMU_UNMAP_DMA, arg, trace);
  // GET_DIRTY_BITMAP is retired in favour of IOMMU_HWPT_GET_DIRTY_BITMAP; VADDR is unsafe.
  if (cmd.argsz < minsz || (cmd.flags & ~V.VFIO_DMA_UNMAP_FLAG_ALL)) throw new Errno(EINVAL, 'argsz or flags');
  return withCompatIoas(ctx, (ioas) => {
    const iopt = ioas.iopt;
    let r: { unmapped: bigint; err?: Errno };
    if (cmd.flags & V.VFIO_DMA_UNMAP_FLAG_ALL) {
      if (cmd.iova !== 0n || cmd.size !== 0n) throw new Errno(EINVAL, 'ALL with an iova or size');
      r = unmapCounting(ioas, 0n, ULONG_MAX, () => iopt.unmapAll());
    } else {
      if (iopt.disableLargePages) {
        // The last byte of the range and the byte before it become area ends
        // (no cut before IOVA 0). Arithmetic is unsigned long: it wraps.
        const cuts = [(cmd.iova + cmd.size - 1n) & ULONG_MAX];
        if (cmd.iova !== 0n) cuts.push(cmd.iova - 1n);
        iopt.cutIova(cuts);
      }
      r = unmapCounting(ioas, cmd.iova, cmd.iova + cmd.size - 1n, () => iopt.unmapIova(cmd.iova, cmd.size));
    }
    cmd.size = r.unmapped;
    task.mm.write(arg, def.encode(cmd).subarray(0, minsz));
    if (trace) trace.out = `size=0x${r.unmapped.toString(16)}`;
    if (r.err) throw r.err;
    return 0;
  });
}
