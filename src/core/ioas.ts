// The IOAS object and its ioctls (drivers/iommu/iommufd/ioas.c): ALLOC,
// IOVA_RANGES, ALLOW_IOVAS, MAP, MAP_FILE, COPY, UNMAP, CHANGE_PROCESS and the
// HUGE_PAGES option.
import type { Engine } from './engine.js';
import { Errno, EBADF, EBUSY, EINVAL, EMSGSIZE, ENOENT, EOPNOTSUPP, EOVERFLOW } from '../uapi/errno.js';
import * as U from '../uapi/iommufd.js';
import type { Decoded } from '../uapi/struct.js';
import { PAGE_SIZE_N, type FileBacking } from '../hw/memory.js';
import { IommufdObject } from './object-table.js';
import { IoPagetable, ULONG_MAX, U64_MAX, type IovaRange, type PagesSlice } from './io-pagetable.js';
import { ACCOUNT_MODES, IoptPages, chargePages, type AccountMode } from './pages.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../hw/iommu.js';
import type { Ucmd } from './ucmd.js';
import type { IommufdCtx } from './iommufd.js';
import type { Task } from './task.js';
import type { EmulatedFile } from './file.js';
import { DmaBufFile, dmabufPages } from './dmabuf.js';
import { syzConvIova } from './selftest.js';
import { XaShape, faultsArmed, slabAlloc, xaNodeAllocs } from './faults.js';
import { MOCK_FLAGS_ACCESS_SYZ } from '../uapi/iommufd-test.js';

const SIZE_MAX = ULONG_MAX;
const MAP_FLAGS = U.IOMMU_IOAS_MAP_FIXED_IOVA | U.IOMMU_IOAS_MAP_WRITEABLE | U.IOMMU_IOAS_MAP_READABLE;

export class IommufdIoas extends IommufdObject {
  readonly type = 'IOAS' as const;
  readonly iopt = new IoPagetable();
  /** HWPT_PAGING objects built on this IOAS (ioas->hwpt_list), in creation order. */
  readonly hwpts: IommufdObject[] = [];

  constructor(readonly ctx: IommufdCtx) { super(); }

  destroy(): void {
    this.iopt.unmapAll();
  }
}

/** conv_iommu_prot: iommufd always maps with IOMMU_CACHE. */
function convProt(flags: number): number {
  let prot = IOMMU_CACHE;
  if (flags & U.IOMMU_IOAS_MAP_WRITEABLE) prot |= IOMMU_WRITE;
  if (flags & U.IOMMU_IOAS_MAP_READABLE) prot |= IOMMU_READ;
  return prot;
}

function withIoas<T>(u: Ucmd, id: number, fn: (ioas: IommufdIoas) => T): T {
  const ioas = u.ctx.objects.get<IommufdIoas>(id, 'IOAS');
  try { return fn(ioas); } finally { u.ctx.objects.put(ioas); }
}

export function ioasAlloc(u: Ucmd<typeof U.IommuIoasAlloc.fields>): number {
  if (u.cmd.flags) throw new Errno(EOPNOTSUPP, 'flags');
  const t = u.ctx.objects;
  const ioas = t.alloc(new IommufdIoas(u.ctx));
  u.cmd.out_ioas_id = ioas.id;
  try { u.respond(); } catch (e) { t.abortAndDestroy(ioas); throw e; }
  t.finalize(ioas);
  return 0;
}

export function ioasIovaRanges(u: Ucmd<typeof U.IommuIoasIovaRanges.fields>): number {
  const c = u.cmd;
  if (c.__reserved) throw new Errno(EOPNOTSUPP, '__reserved');
  return withIoas(u, c.ioas_id, (ioas) => {
    const max = c.num_iovas;
    const ranges = ioas.iopt.iovaRanges();
    c.num_iovas = 0;
    c.out_iova_alignment = ioas.iopt.iovaAlignment;
    for (const r of ranges) {
      if (c.num_iovas < max) {
        u.task.mm.write(c.allowed_iovas + BigInt(c.num_iovas) * 16n, U.IommuIovaRange.encode({ start: r.start, last: r.last }));
      }
      c.num_iovas++;
    }
    u.respond();
    if (c.num_iovas > max) throw new Errno(EMSGSIZE, `${c.num_iovas} ranges, room for ${max}`);
    return 0;
  });
}

export function ioasAllowIovas(u: Ucmd<typeof U.IommuIoasAllowIovas.fields>): number {
  const c = u.cmd;
  if (c.__reserved) throw new Errno(EOPNOTSUPP, '__reserved');
  return withIoas(u, c.ioas_id, (ioas) => {
    const loaded: IovaRange[] = [];
    for (let i = 0; i < c.num_iovas; i++) {
      const r = U.IommuIovaRange.decode(u.task.mm.read(c.allowed_iovas + BigInt(i) * 16n, 16));
      if (r.start >= r.last) throw new Errno(EINVAL, 'start >= last');
      if (loaded.some((x) => x.start <= r.last && x.last >= r.start)) throw new Errno(EINVAL, 'ranges overlap');
      slabAlloc('iopt_allowed'); // iommufd_ioas_load_iovas: one per range
      loaded.push({ start: r.start, last: r.last });
    }
    ioas.iopt.setAllowIova(loaded);
    return 0;
  });
}

/** iopt_map_user_pages: make the pages object for [uptr, uptr+length) and map it. */
export function mapUserPages(u: Ucmd, ioas: IommufdIoas, iova: bigint | undefined, uptr: bigint, length: bigint, prot: number): bigint {
  return ioptMapUserPages(u.ctx, u.task, ioas, iova, uptr, length, prot);
}

/** mapUserPages for callers without a Ucmd (the VFIO compat MAP_DMA). */
export function ioptMapUserPages(ctx: IommufdCtx, task: Task, ioas: IommufdIoas, iova: bigint | undefined, uptr: bigint, length: bigint, prot: number): bigint {
  if (uptr + length > ULONG_MAX) throw new Errno(EOVERFLOW, 'user_va + length');
  const down = uptr & ~(PAGE_SIZE_N - 1n);
  const startByte = uptr - down;
  if (length > SIZE_MAX - PAGE_SIZE_N || length === 0n) throw new Errno(EINVAL, 'length');
  const npages = Number((length + startByte + PAGE_SIZE_N - 1n) / PAGE_SIZE_N);
  slabAlloc('iopt_pages'); // iopt_alloc_pages
  const pages = new IoptPages(task, down, npages, (prot & IOMMU_WRITE) !== 0);
  if (ctx.accountMode === 'MM' && pages.accountMode === 'USER') pages.accountMode = 'MM';
  return ioas.iopt.mapPages([{ pages, startByte, length }], length, iova, prot);
}

function checkMapFlags(flags: number): void {
  if (!(flags & (U.IOMMU_IOAS_MAP_WRITEABLE | U.IOMMU_IOAS_MAP_READABLE))) throw new Errno(EINVAL, 'neither READABLE nor WRITEABLE');
}

export function ioasMap(u: Ucmd<typeof U.IommuIoasMap.fields>): number {
  const c = u.cmd;
  if ((c.flags & ~MAP_FLAGS) || c.__reserved) throw new Errno(EOPNOTSUPP, 'flags or __reserved');
  if (c.iova >= ULONG_MAX || c.length >= ULONG_MAX) throw new Errno(EOVERFLOW, 'iova or length');
  checkMapFlags(c.flags);
  return withIoas(u, c.ioas_id, (ioas) => {
    const fixed = (c.flags & U.IOMMU_IOAS_MAP_FIXED_IOVA) !== 0;
    c.iova = mapUserPages(u, ioas, fixed ? c.iova : undefined, c.user_va, c.length, convProt(c.flags));
    u.respond();
    return 0;
  });
}

export function ioasCopy(u: Ucmd<typeof U.IommuIoasCopy.fields>): number {
  const c = u.cmd;
  // iommufd_test_syz_conv_iova_id (CONFIG_IOMMUFD_TEST): the flag is taken
  // off and src_iova converted, and both are what the reply writes back.
  if (u.ctx.engine.testAbi && c.flags & MOCK_FLAGS_ACCESS_SYZ) {
    c.flags &= ~MOCK_FLAGS_ACCESS_SYZ;
    let src: IommufdIoas | undefined;
    try { src = u.ctx.objects.get<IommufdIoas>(c.src_ioas_id, 'IOAS'); } catch (e) { if (!(e instanceof Errno)) throw e; }
    if (src) {
      try { c.src_iova = syzConvIova(src.iopt, c.src_iova); } finally { u.ctx.objects.put(src); }
    }
  }
  if (c.flags & ~MAP_FLAGS) throw new Errno(EOPNOTSUPP, 'flags');
  if (c.length >= ULONG_MAX || c.src_iova >= ULONG_MAX || c.dst_iova >= ULONG_MAX) throw new Errno(EOVERFLOW, 'length or iova');
  checkMapFlags(c.flags);
  const list: PagesSlice[] = withIoas(u, c.src_ioas_id, (src) => src.iopt.getPages(c.src_iova, c.length));
  let mapped = false;
  try {
    return withIoas(u, c.dst_ioas_id, (dst) => {
      const fixed = (c.flags & U.IOMMU_IOAS_MAP_FIXED_IOVA) !== 0;
      c.dst_iova = dst.iopt.mapPages(list, c.length, fixed ? c.dst_iova : undefined, convProt(c.flags));
      mapped = true;
      u.respond();
      return 0;
    });
  } finally {
    // The list's references (iopt_get_pages' kref_get): on success each new
    // area owns one (iopt_map_pages takes them over); on failure they are put.
    // File pages drop their file with their last reference.
    if (!mapped) for (const s of list) s.pages.refs--;
  }
}

export function ioasUnmap(u: Ucmd<typeof U.IommuIoasUnmap.fields>): number {
  const c = u.cmd;
  return withIoas(u, c.ioas_id, (ioas) => {
    let unmapped: bigint;
    if (c.iova === 0n && c.length === U64_MAX) unmapped = ioas.iopt.unmapAll();
    else {
      if (c.iova >= ULONG_MAX || c.length >= ULONG_MAX) throw new Errno(EOVERFLOW, 'iova or length');
      unmapped = ioas.iopt.unmapIova(c.iova, c.length);
      if (!unmapped) throw new Errno(ENOENT, 'nothing mapped in range');
    }
    c.length = unmapped;
    u.respond();
    return 0;
  });
}

/** The HUGE_PAGES option of one IOAS (iommufd_ioas_option). */
export function ioasOptionHugePages(u: Ucmd, c: Decoded<typeof U.IommuOption.fields>): void {
  withIoas(u, c.object_id, (ioas) => {
    if (c.op === U.IOMMU_OPTION_OP_GET) { c.val64 = ioas.iopt.disableLargePages ? 0n : 1n; return; }
    if (c.op === U.IOMMU_OPTION_OP_SET) {
      if (c.val64 === 0n) { ioas.iopt.disableLarge(); return; }
      if (c.val64 === 1n) { ioas.iopt.enableLarge(); return; }
      throw new Errno(EINVAL, 'val64');
    }
    throw new Errno(EOPNOTSUPP, 'op');
  });
}

/** need_charge_update: does moving `pages` to `task` move a charge? */
function needChargeUpdate(pages: IoptPages, task: Task): boolean {
  switch (pages.accountMode) {
    case 'NONE': return false;
    case 'MM': return pages.sourceMm !== task.mm;
    // USER also counts in mm->pinned_vm, so a change of mm moves it too.
    case 'USER': return pages.user !== task.user || pages.sourceMm !== task.mm;
  }
}

/**
 * IOMMU_IOAS_CHANGE_PROCESS (iommufd_ioas_change_process): move the pin
 * accounting of every area of every IOAS to the caller. Areas are looked at
 * IOAS by IOAS in ID order, each in IOVA order: one being created is EBUSY,
 * one that is not file backed EINVAL (so with any MAP area this fails). The
 * caller is charged first, per accounting mode, for every pages object whose
 * charge must move (ENOMEM over its RLIMIT_MEMLOCK, and then nothing has
 * changed); then each old owner is uncharged and every pages object takes
 * the caller as its source task, mm and user. With no areas it succeeds.
 */
export function ioasChangeProcess(u: Ucmd<typeof U.IommuIoasChangeProcess.fields>): number {
  if (u.cmd.__reserved) throw new Errno(EOPNOTSUPP, '__reserved');
  const task = u.task;
  const all = new Set<IoptPages>();
  // iommufd_take_all_iova_rwsem: each live IOAS into a local xarray at its
  // ID (xa_store, a normal entry), before any area is looked at.
  if (faultsArmed()) {
    const list = new XaShape([]);
    for (const o of u.ctx.objects.objects()) if (o.type === 'IOAS') xaNodeAllocs(list.store(o.id), 'ioas_list');
  }
  for (const o of u.ctx.objects.objects()) {
    if (o.type !== 'IOAS') continue;
    for (const a of (o as IommufdIoas).iopt.areasIn()) {
      const pages = a.pages;
      if (!pages) throw new Errno(EBUSY, 'area being created');
      if (pages.kind !== 'file') throw new Errno(EINVAL, 'an area is not file backed');
      all.add(pages);
    }
  }
  // charge_current: each mode's total, all or nothing.
  const total = new Map<AccountMode, number>();
  for (const p of all) {
    if (needChargeUpdate(p, task)) total.set(p.accountMode, (total.get(p.accountMode) ?? 0) + p.lastNpinned);
  }
  const charged: AccountMode[] = [];
  try {
    for (const mode of ACCOUNT_MODES) {
      const n = total.get(mode);
      if (!n) continue;
      chargePages(task, mode, n, true);
      charged.push(mode);
    }
  } catch (e) {
    for (const mode of charged) chargePages(task, mode, total.get(mode)!, false);
    throw e;
  }
  for (const p of all) {
    if (needChargeUpdate(p, task)) p.unchargeAll();
    p.changeSource(task);
  }
  return 0;
}

/** A file the engine cannot read (an emulated file, or one without a backing): maps, never pins. */
function opaqueBacking(engine: Engine, held?: EmulatedFile): FileBacking {
  const identity = `opaque:${engine.nextOpaqueFile++}`;
  // An emulated file (an iommufd, a VFIO device file) stays open while its
  // pages exist, as the kernel's pages->file reference keeps it: mapping an
  // iommufd into one of its own IOASes keeps that context alive for good.
  held?.hold?.();
  return {
    identity, isMemfd: false, size: () => 0n, read: (_o, len) => new Uint8Array(len), write: () => {},
    close: () => held?.unhold?.(),
  };
}

/**
 * IOMMU_IOAS_MAP_FILE (iommufd_ioas_map_file → iopt_map_file_pages): the
 * ioctl's checks, then the file's pages as an iopt_pages of kind 'file' at
 * `start`. Mapping is lazy: any open file maps; only pinning (a domain, now
 * or later, or an access) needs a memfd/shmem file and pages inside it
 * (EINVAL otherwise, from memfd_pin_folios). Without FIXED_IOVA the IOVA is
 * chosen as for MAP, with the file offset as the hint. A dma-buf fd (the
 * selftest's, core/dmabuf.ts) is mapped at once instead: pages of kind
 * 'dmabuf', never pinned (EINVAL past the buffer, ENODEV while revoked).
 */
export function ioasMapFile(u: Ucmd<typeof U.IommuIoasMapFile.fields>): number {
  const c = u.cmd;
  if (c.flags & ~MAP_FLAGS) throw new Errno(EOPNOTSUPP, 'flags');
  if (c.iova >= ULONG_MAX || c.length >= ULONG_MAX) throw new Errno(EOVERFLOW, 'iova or length');
  checkMapFlags(c.flags);
  return withIoas(u, c.ioas_id, (ioas) => {
    if (!c.length) throw new Errno(EINVAL, 'length 0');
    if (c.start + c.length - 1n > ULONG_MAX) throw new Errno(EOVERFLOW, 'start + length');
    const r = u.task.resolveFd?.(c.fd) ?? { kind: 'bad' as const };
    if (r.kind === 'bad') throw new Errno(EBADF, `fd ${c.fd}`);
    const prot = convProt(c.flags);
    const startByte = c.start & (PAGE_SIZE_N - 1n);
    let pages: IoptPages;
    if (r.file instanceof DmaBufFile) {
      // dma_buf_get succeeded: iopt_alloc_dmabuf_pages (EINVAL past the buffer, ENODEV revoked).
      pages = dmabufPages(u.task, r.file, c.start, startByte, c.length, (prot & IOMMU_WRITE) !== 0);
    } else {
      let backing: FileBacking;
      try {
        backing = r.kind === 'other' && r.openBacking ? r.openBacking() : opaqueBacking(u.ctx.engine, r.kind === 'emulated' ? r.file : undefined);
      } catch (e) {
        if (e instanceof Errno) throw e;
        backing = opaqueBacking(u.ctx.engine); // the file cannot be reached: it maps, it never pins
      }
      const file = u.ctx.engine.frames.fileSpace(backing);
      // iopt_alloc_pages: the iommu API's size_t length.
      if (c.length > SIZE_MAX - PAGE_SIZE_N) { file.put(); throw new Errno(EINVAL, 'length'); }
      const npages = Number((c.length + startByte + PAGE_SIZE_N - 1n) / PAGE_SIZE_N);
      try { slabAlloc('iopt_pages'); } catch (e) { file.put(); throw e; } // iopt_alloc_pages
      // The pages take over the file hold; their last reference drops it.
      pages = new IoptPages(u.task, c.start - startByte, npages, (prot & IOMMU_WRITE) !== 0, file);
      if (u.ctx.accountMode === 'MM' && pages.accountMode === 'USER') pages.accountMode = 'MM';
    }
    const fixed = (c.flags & U.IOMMU_IOAS_MAP_FIXED_IOVA) !== 0;
    try {
      c.iova = ioas.iopt.mapPages([{ pages, startByte, length: c.length }], c.length, fixed ? c.iova : undefined, prot);
    } catch (e) {
      pages.refs = 0;
      throw e;
    }
    u.respond();
    return 0;
  });
}
