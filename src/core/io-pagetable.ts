// io_pagetable: an IOAS's IOVA space as a data structure
// (drivers/iommu/iommufd/io_pagetable.c). Areas never overlap; reserved and
// allowed ranges are short sorted lists. Every failure unwinds exactly what
// was done.
//
// Areas are rows of a sorted typed-array table (util/sorted-rows.ts) keyed by
// first IOVA: 20 bytes an area, binary searched, no per-area object. A row is
// either
//  - compact: the common MAP — its own pages, not shared, no access pins, held
//    (if at all) once over every index by its domain fill. The row carries the
//    pages inline: the user address of its first byte, writable, accounting
//    mode and the mapping task (an index into a small per-IOAS table); or
//  - object form: an IoptArea object (with its IoptPages) in a side array, for
//    everything else (COPY pieces sharing pages, access pins, locks, lengths
//    of 4 GiB and more, user addresses past 2^48, and every MAP_FILE area:
//    file pages are never compact).
// A compact row turns into object form (one way) when something needs the
// objects: COPY shares its pages, an access pins it, a caller changes a field.
// Lookups hand callers IoptArea views of compact rows (see area.ts).
import { Errno, EADDRINUSE, EBUSY, EDEADLK, EEXIST, EINVAL, ENOENT, ENOMEM, ENOSPC, EOPNOTSUPP, EOVERFLOW, EPERM } from '../uapi/errno.js';
import { iommufdShouldFail } from './faults.js';
import { PAGE_SIZE_N } from '../hw/memory.js';
import { IoptArea, type CompactAreaHost } from './area.js';
import { IoptPages, ACCOUNT_MODES, chargePages, physicalRuns, pinInjectionPoints, type CompactPagesHost, type DmabufImporter, type PhysRun } from './pages.js';
import type { Task } from './task.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE, smallestPage, type IommuDomain } from '../hw/iommu.js';
import { SortedRows, TWO32, hi32, lo32 } from '../util/sorted-rows.js';

export const ULONG_MAX = (1n << 64n) - 1n;
/** The largest u64 (unmap-all's length); equal to ULONG_MAX on the 64-bit machines we model. */
export const U64_MAX = (1n << 64n) - 1n;
/** HPAGE_SIZE on x86-64 with transparent huge pages (the auto-IOVA alignment cap). */
export const HPAGE_SIZE = 2n << 20n;

export interface IovaRange { start: bigint; last: bigint; }
interface Reserved extends IovaRange { owner: unknown; }

/** One piece of memory to map: a slice of an iopt_pages (iopt_pages_list). */
export interface PagesSlice { pages: IoptPages; startByte: bigint; length: bigint; }

/** What an access object (an emulated device's CPU access) offers the iopt. */
export interface IoptAccess {
  /** PAGE_SIZE for accesses that pin pages, else 1. */
  readonly iovaAlignment: bigint;
  /** Internal accesses (HW queues) lock areas instead of being notified. */
  readonly internal: boolean;
  /** Drop every pin that overlaps [iova, iova+length); called before unmap. */
  unmap(iova: bigint, length: bigint): void;
}

const cmp = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

function roundupPowOfTwo(x: bigint): bigint {
  let p = 1n;
  while (p < x) p <<= 1n;
  return p;
}

// ---- row layout (32-bit words) ------------------------------------------------
/** Words 0 and 1: the first IOVA (high, low) — the key. */
const W = 5;
/** Length in bytes; 0 in object-form rows whose length needs more than 32 bits. */
const LEN = 2;
/** Compact: low half of the user address of the first byte. Object form: slot in `objs`. */
const VA_LO = 3;
/** Compact: VA bits 32..47 | prot | flags | mode | task index. Object form: 0. */
const CTL = 4;
const VA_HI_MASK = 0xffff;
const PROT_SHIFT = 16, PROT_MASK = 0x7; // IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE
const FILLED = 1 << 19;
const CREATING = 1 << 20;
const WRITABLE = 1 << 21;
const MODE_SHIFT = 22;
const SRC_SHIFT = 24; // task index 1..255; 0 marks an object-form row
const PAGE = 4096;
const MAX_SOURCES = 255;

export class IoPagetable implements CompactAreaHost, CompactPagesHost, DmabufImporter {
  private rows = new SortedRows(W);
  /** Object-form areas by slot (row word VA_LO). */
  private objs: Array<IoptArea | undefined> = [];
  private freeObjs: number[] = [];
  /** The mapping tasks of compact rows: index → task, with a row count each. */
  private srcTasks: Array<Task | undefined> = [undefined];
  private srcRows: number[] = [0];
  private srcIndex = new Map<Task, number>();
  private freeSrcs: number[] = [];
  /** Pages views handed out for compact rows, by area IOVA (one identity per row while alive). */
  private pagesViews = new Map<bigint, WeakRef<IoptPages>>();
  /**
   * Generations of the rows area views were handed out for, by IOVA, while
   * the row lives: a view matches its row only by this number, so a view of
   * an unmapped area never resolves to a newer area at the same IOVA.
   */
  private viewGenerations = new Map<bigint, number>();
  private nextGeneration = 1;
  private reserved: Reserved[] = [];
  private allowed: IovaRange[] = [];
  /** Keep MAP areas as compact rows (false: every area in object form; tests compare the two). */
  compactRows = true;
  iovaAlignment = 1n;
  disableLargePages = false;
  readonly domains: IommuDomain[] = [];
  readonly accesses: IoptAccess[] = [];

  get areaCount(): number { return this.rows.size; }

  /** Bytes of the area table's arrays (bench and tests). */
  tableBytes(): number { return this.rows.bytes(); }

  // ---- rows ------------------------------------------------------------------

  private isCompact(pos: number): boolean { return this.rows.get(pos, CTL) >>> SRC_SHIFT !== 0; }
  private objAt(pos: number): IoptArea { return this.objs[this.rows.get(pos, VA_LO)]!; }

  /** Does the row at `pos` end at or after (hi, lo)? */
  private lastAtLeast(pos: number, hi: number, lo: number): boolean {
    const a = this.rows.arr(pos), o = this.rows.offset(pos);
    const len = a[o + LEN]!;
    if (len === 0) return this.objs[a[o + VA_LO]!]!.last >= ((BigInt(hi) << 32n) | BigInt(lo));
    let lh = a[o]!, ll = a[o + 1]! + len - 1;
    if (ll >= TWO32) { ll -= TWO32; lh++; }
    return lh > hi || (lh === hi && ll >= lo);
  }

  /** Does the row at `pos` start at or before (hi, lo)? */
  private startAtMost(pos: number, hi: number, lo: number): boolean {
    const a = this.rows.arr(pos), o = this.rows.offset(pos);
    const kh = a[o]!;
    return kh < hi || (kh === hi && a[o + 1]! <= lo);
  }

  private rowLength(pos: number): bigint {
    const len = this.rows.get(pos, LEN);
    return len === 0 ? this.objAt(pos).length : BigInt(len);
  }

  private rowLast(pos: number): bigint { return this.rows.key(pos) + this.rowLength(pos) - 1n; }

  /** The lowest row intersecting [start, last], or -1. */
  private firstPos(start: bigint, last: bigint): number {
    const sh = hi32(start), sl = lo32(start);
    let p = this.rows.floor(sh, sl);
    if (p >= 0 && this.lastAtLeast(p, sh, sl)) return p;
    p = p < 0 ? this.rows.first() : this.rows.next(p);
    return p >= 0 && this.startAtMost(p, hi32(last), lo32(last)) ? p : -1;
  }

  /** The row containing `iova`, or -1. */
  private posAt(iova: bigint): number {
    const h = hi32(iova), l = lo32(iova);
    const p = this.rows.floor(h, l);
    return p >= 0 && this.lastAtLeast(p, h, l) ? p : -1;
  }

  /** The row after `pos` if it starts right at `cur`, else -1. */
  private nextAt(pos: number, cur: bigint): number {
    const n = this.rows.next(pos);
    return n >= 0 && this.rows.key(n) === cur ? n : -1;
  }

  /** The IoptArea for a row: the object, or a view of a compact row. */
  private areaOf(pos: number): IoptArea {
    const a = this.rows.arr(pos), o = this.rows.offset(pos);
    const ctl = a[o + CTL]!;
    if (ctl >>> SRC_SHIFT === 0) return this.objs[a[o + VA_LO]!]!;
    const iova = (BigInt(a[o]!) << 32n) | BigInt(a[o + 1]!);
    let generation = this.viewGenerations.get(iova);
    if (generation === undefined) this.viewGenerations.set(iova, generation = this.nextGeneration++);
    return IoptArea.view(this, generation, iova, iova + BigInt(a[o + LEN]!) - 1n, BigInt(a[o + VA_LO]! & (PAGE - 1)), (ctl >>> PROT_SHIFT) & PROT_MASK);
  }

  private srcRef(task: Task): number {
    let i = this.srcIndex.get(task);
    if (i === undefined) {
      i = this.freeSrcs.pop();
      if (i === undefined) {
        if (this.srcTasks.length > MAX_SOURCES) return 0;
        i = this.srcTasks.length;
        this.srcTasks.push(undefined); this.srcRows.push(0);
      }
      this.srcTasks[i] = task;
      this.srcIndex.set(task, i);
    }
    this.srcRows[i]!++;
    return i;
  }

  private srcUnref(i: number): void {
    if (--this.srcRows[i]! === 0) {
      this.srcIndex.delete(this.srcTasks[i]!);
      this.srcTasks[i] = undefined;
      this.freeSrcs.push(i);
    }
  }

  private insertObj(area: IoptArea): void {
    const pos = this.rows.insert(hi32(area.iova), lo32(area.iova));
    let slot = this.freeObjs.pop();
    if (slot === undefined) { slot = this.objs.length; this.objs.push(area); } else this.objs[slot] = area;
    const len = area.length;
    this.rows.set(pos, LEN, len <= 0xffffffffn ? Number(len) : 0);
    this.rows.set(pos, VA_LO, slot);
  }

  /** Drop the row at `pos` (nothing else: no unfill, no refs). */
  private removeRow(pos: number): void {
    const ctl = this.rows.get(pos, CTL);
    if (this.viewGenerations.size) this.viewGenerations.delete(this.rows.key(pos));
    if (ctl >>> SRC_SHIFT === 0) {
      const slot = this.rows.get(pos, VA_LO);
      this.objs[slot] = undefined;
      this.freeObjs.push(slot);
    } else {
      this.srcUnref(ctl >>> SRC_SHIFT);
      if (this.pagesViews.size) {
        const key = this.rows.key(pos);
        this.pagesViews.get(key)?.deref()?.detachCompact();
        this.pagesViews.delete(key);
      }
    }
    this.rows.remove(pos);
  }

  private findPos(iova: bigint): number { return this.rows.find(hi32(iova), lo32(iova)); }

  // ---- compact rows: what they imply -------------------------------------------

  /** The compact row's pages in numbers: uptr (page aligned, < 2^48), npages, first byte's offset. */
  private compactPages(pos: number): { task: Task; uptr: number; npages: number; pageOff: number; ctl: number; len: number } {
    const a = this.rows.arr(pos), o = this.rows.offset(pos);
    const ctl = a[o + CTL]!, vaLo = a[o + VA_LO]!, len = a[o + LEN]!;
    const pageOff = vaLo & (PAGE - 1);
    const uptr = (ctl & VA_HI_MASK) * TWO32 + vaLo - pageOff;
    return { task: this.srcTasks[ctl >>> SRC_SHIFT]!, uptr, npages: Math.floor((pageOff + len + PAGE - 1) / PAGE), pageOff, ctl, len };
  }

  /** Hold every index of a compact row's pages once: pin, then charge; all or nothing (IoptPages.hold). */
  private compactHold(pos: number): void {
    const { task, uptr, npages, ctl } = this.compactPages(pos);
    const mm = task.mm;
    pinInjectionPoints();
    mm.checkPinnable(BigInt(uptr), BigInt(npages) * PAGE_SIZE_N, (ctl & WRITABLE) !== 0);
    mm.pins.add(uptr / PAGE, npages, +1);
    try {
      if (iommufdShouldFail()) throw new Errno(ENOMEM, 'injected: update pinned');
      chargePages(task, ACCOUNT_MODES[(ctl >>> MODE_SHIFT) & 3]!, npages, true);
    } catch (e) {
      mm.pins.add(uptr / PAGE, npages, -1);
      throw e;
    }
  }

  /** Undo compactHold (IoptPages.release of every index). */
  private compactRelease(pos: number): void {
    const { task, uptr, npages, ctl } = this.compactPages(pos);
    task.mm.pins.add(uptr / PAGE, npages, -1);
    chargePages(task, ACCOUNT_MODES[(ctl >>> MODE_SHIFT) & 3]!, npages, false);
  }

  private setFlag(pos: number, flag: number, on: boolean): void {
    const c = this.rows.get(pos, CTL);
    this.rows.set(pos, CTL, (on ? c | flag : c & ~flag) >>> 0);
  }

  /** fillArea for a compact row. */
  private compactFill(pos: number, domains: readonly IommuDomain[]): void {
    // pfn_reader's batch allocation: an injection point for every area filled.
    if (iommufdShouldFail()) throw new Errno(ENOMEM, 'injected: batch allocation');
    const { task, uptr, pageOff, ctl, len } = this.compactPages(pos);
    const firstFill = !(ctl & FILLED);
    if (firstFill) this.compactHold(pos);
    const iova = this.rows.key(pos), length = BigInt(len);
    const runs = physicalRuns(task.mm, BigInt(uptr + pageOff), length);
    const prot = (ctl >>> PROT_SHIFT) & PROT_MASK;
    const mapped: IommuDomain[] = [];
    try {
      for (const d of domains) {
        mapRuns(d, iova, runs, prot);
        mapped.push(d);
      }
    } catch (e) {
      for (const d of mapped) d.unmap(iova, length);
      if (firstFill) this.compactRelease(pos);
      throw e;
    }
    this.setFlag(pos, FILLED, true);
  }

  /** unfillArea for a compact row. */
  private compactUnfill(pos: number, domains: readonly IommuDomain[]): void {
    const iova = this.rows.key(pos), length = BigInt(this.rows.get(pos, LEN));
    for (const d of domains) d.unmap(iova, length);
    if ((this.rows.get(pos, CTL) & FILLED) && domains.length === this.domains.length) {
      this.compactRelease(pos);
      this.setFlag(pos, FILLED, false);
    }
  }

  /**
   * Turn the compact row at `pos` into object form, in place. `adopt` (or the
   * live pages view of the row) becomes its pages object.
   */
  promote(pos: number, adopt?: IoptPages): IoptArea {
    const { task, uptr, npages, pageOff, ctl, len } = this.compactPages(pos);
    const key = this.rows.key(pos);
    const filled = (ctl & FILLED) !== 0;
    let pages = adopt ?? this.pagesViews.get(key)?.deref();
    if (pages && this.compactState(pages, key) < 0) pages = undefined;
    if (!pages) {
      pages = new IoptPages(task, BigInt(uptr), npages, (ctl & WRITABLE) !== 0);
      pages.accountMode = ACCOUNT_MODES[(ctl >>> MODE_SHIFT) & 3]!;
    }
    pages.adoptCompact(filled);
    pages.attached = true;
    this.pagesViews.delete(key);
    const area = new IoptArea(key, key + BigInt(len) - 1n, BigInt(pageOff), (ctl >>> PROT_SHIFT) & PROT_MASK, pages);
    if (!(ctl & CREATING)) area.pages = pages;
    area.filled = filled;
    let slot = this.freeObjs.pop();
    if (slot === undefined) { slot = this.objs.length; this.objs.push(area); } else this.objs[slot] = area;
    this.rows.set(pos, VA_LO, slot);
    this.rows.set(pos, CTL, 0);
    this.srcUnref(ctl >>> SRC_SHIFT);
    return area;
  }

  /** The object form of `area` (a view's row is promoted). */
  private owned(area: IoptArea): IoptArea {
    const r = this.resolveArea(area);
    return typeof r === 'number' ? this.promote(r) : (r ?? area);
  }

  // ---- hosting views (area.ts, pages.ts) -------------------------------------

  /** @internal */
  resolveArea(view: IoptArea): number | IoptArea | null {
    if (this.viewGenerations.get(view.iova) !== view.generation) return null;
    const p = this.findPos(view.iova);
    if (p < 0) return null;
    if (!this.isCompact(p)) {
      const o = this.objAt(p);
      return o === view || (o.last === view.last && o.startByte === view.startByte) ? o : null;
    }
    const a = this.rows.arr(p), off = this.rows.offset(p);
    const ok = BigInt(a[off + LEN]!) === view.length && BigInt(a[off + VA_LO]! & (PAGE - 1)) === view.startByte;
    return ok ? p : null;
  }

  /** @internal */
  rowFilled(pos: number): boolean { return (this.rows.get(pos, CTL) & FILLED) !== 0; }

  /** @internal */
  rowPages(pos: number): IoptPages | null { return this.rows.get(pos, CTL) & CREATING ? null : this.rowSource(pos); }

  /** @internal */
  rowSource(pos: number): IoptPages {
    const key = this.rows.key(pos);
    const live = this.pagesViews.get(key)?.deref();
    if (live && this.compactState(live, key) >= 0) return live;
    const { task, uptr, npages, ctl } = this.compactPages(pos);
    const v = new IoptPages(task, BigInt(uptr), npages, (ctl & WRITABLE) !== 0);
    v.bindCompact(this, key, ACCOUNT_MODES[(ctl >>> MODE_SHIFT) & 3]!);
    this.pagesViews.set(key, new WeakRef(v));
    return v;
  }

  /** @internal The compact row a pages view stands for, or -1. */
  private viewPos(view: IoptPages, key: bigint): number {
    const p = this.findPos(key);
    if (p < 0 || !this.isCompact(p)) return -1;
    const { uptr, npages, task } = this.compactPages(p);
    return BigInt(uptr) === view.uptr && npages === view.npages && task === view.sourceTask ? p : -1;
  }

  /** @internal */
  compactState(view: IoptPages, key: bigint): number {
    const p = this.viewPos(view, key);
    return p < 0 ? -1 : this.rows.get(p, CTL) & FILLED ? 1 : 0;
  }

  /** @internal */
  ownPages(view: IoptPages, key: bigint): IoptPages | null {
    const p = this.viewPos(view, key);
    if (p >= 0) return this.promote(p, view).source;
    const q = this.findPos(key);
    if (q < 0 || this.isCompact(q)) return null;
    const o = this.objAt(q);
    return o.source.uptr === view.uptr && o.source.npages === view.npages ? o.source : null;
  }

  // ---- lookups -------------------------------------------------------------

  /** The lowest area intersecting [start, last]. */
  firstArea(start: bigint, last: bigint): IoptArea | undefined {
    const p = this.firstPos(start, last);
    return p >= 0 ? this.areaOf(p) : undefined;
  }

  /** Areas intersecting [start, last], ascending. */
  *areasIn(start = 0n, last = ULONG_MAX): Generator<IoptArea> {
    let p = this.firstPos(start, last);
    const lh = hi32(last), ll = lo32(last);
    while (p >= 0) {
      const a = this.areaOf(p);
      const version = this.rows.version;
      yield a;
      if (this.rows.version !== version) {
        // The table changed under us: continue after a.iova.
        const f = this.rows.floor(hi32(a.iova), lo32(a.iova));
        p = f < 0 ? this.rows.first() : this.rows.next(f);
      } else p = this.rows.next(p);
      if (p >= 0 && !this.startAtMost(p, lh, ll)) break;
    }
  }

  /** The area containing `iova`, if any. */
  areaAt(iova: bigint): IoptArea | undefined {
    const p = this.posAt(iova);
    return p >= 0 ? this.areaOf(p) : undefined;
  }

  private reservedHits(start: bigint, last: bigint): boolean {
    return this.reserved.some((r) => r.start <= last && r.last >= start);
  }

  private allowedHits(start: bigint, last: bigint): boolean {
    return this.allowed.some((r) => r.start <= last && r.last >= start);
  }

  reservedRanges(): ReadonlyArray<Readonly<Reserved>> { return this.reserved; }
  allowedRanges(): ReadonlyArray<Readonly<IovaRange>> { return this.allowed; }

  // ---- IOVA allocation -----------------------------------------------------

  /** Holes of (reserved ∪ areas) inside [lo, hi], ascending (the double span iterator's holes). */
  private *usedHoles(lo: bigint, hi: bigint): Generator<IovaRange> {
    const res = this.reserved.filter((r) => r.last >= lo && r.start <= hi);
    let ri = 0;
    let p = this.firstPos(lo, hi);
    const hh = hi32(hi), hl = lo32(hi);
    let cur = lo;
    for (;;) {
      // The next used interval by start, from either source.
      let used: IovaRange | undefined;
      const r = res[ri];
      const aStart = p >= 0 ? this.rows.key(p) : undefined;
      if (r && (aStart === undefined || r.start <= aStart)) { used = r; ri++; }
      else if (aStart !== undefined) {
        used = { start: aStart, last: this.rowLast(p) };
        // Holes are yielded lazily; re-find the next row after a table change.
        const version = this.rows.version;
        p = this.rows.next(p);
        if (p >= 0 && !this.startAtMost(p, hh, hl)) p = -1;
        if (version !== this.rows.version) p = this.firstPos(used.last + 1n, hi);
      }
      if (!used) break;
      if (used.start > cur) {
        const version = this.rows.version;
        yield { start: cur, last: used.start - 1n };
        if (version !== this.rows.version && used.last < hi) p = this.firstPos(used.last + 1n, hi);
      }
      if (used.last >= hi) return;
      if (used.last + 1n > cur) cur = used.last + 1n;
    }
    if (cur <= hi) yield { start: cur, last: hi };
  }

  /** __alloc_iova_check_range: the aligned start in [start, last] fitting `length`, or undefined. */
  private static fit(start: bigint, last: bigint, length: bigint, align: bigint, pageOffset: bigint): bigint | undefined {
    const up = start + align - 1n;
    if (up > ULONG_MAX) return undefined;
    const aligned = (up & ~(align - 1n)) | pageOffset;
    if (aligned >= last || last - aligned < length - 1n) return undefined;
    return aligned;
  }

  /** iopt_alloc_iova: lowest fitting IOVA keeping the hint's low bits. */
  allocIova(addr: bigint, length: bigint): bigint {
    if (length === 0n || length >= ULONG_MAX / 2n) throw new Errno(EOVERFLOW, 'length');
    const pageOffset = addr % PAGE_SIZE_N;
    let align = roundupPowOfTwo(length);
    if (addr !== 0n) { const low = addr & -addr; if (low < align) align = low; }
    if (align >= HPAGE_SIZE) align = HPAGE_SIZE;
    if (align < this.iovaAlignment) throw new Errno(EINVAL, 'hint alignment below the IOAS alignment');

    const lo = PAGE_SIZE_N, hi = ULONG_MAX - PAGE_SIZE_N;
    const spans: IovaRange[] = [];
    if (!this.allowed.length) spans.push({ start: lo, last: hi });
    else {
      // Allowed ranges clipped to [lo, hi], touching ones merged (span iterator).
      for (const r of this.allowed) {
        if (r.last < lo || r.start > hi) continue;
        const s = r.start < lo ? lo : r.start, l = r.last > hi ? hi : r.last;
        const prev = spans[spans.length - 1];
        if (prev && prev.last + 1n >= s) { if (l > prev.last) prev.last = l; } else spans.push({ start: s, last: l });
      }
    }
    for (const span of spans) {
      const s = IoPagetable.fit(span.start, span.last, length, align, pageOffset);
      if (s === undefined) continue;
      for (const hole of this.usedHoles(s, span.last)) {
        const at = IoPagetable.fit(hole.start, hole.last, length, align, pageOffset);
        if (at !== undefined) return at;
      }
    }
    throw new Errno(ENOSPC, 'no IOVA hole fits');
  }

  /** iopt_check_iova: a fixed IOVA must be aligned, inside the space, unreserved and unused. */
  checkIova(iova: bigint, length: bigint): void {
    if (iova & (this.iovaAlignment - 1n)) throw new Errno(EINVAL, 'iova not aligned to the IOAS alignment');
    const last = iova + length - 1n;
    if (last > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
    if (this.reservedHits(iova, last)) throw new Errno(EINVAL, 'range is reserved');
    if (this.firstPos(iova, last) >= 0) throw new Errno(EEXIST, 'range overlaps a mapping');
  }

  // ---- map -----------------------------------------------------------------

  /**
   * iopt_map_pages: place the slices one after another at `iova` (or at an
   * allocated IOVA when `iova` is undefined), fill every domain, publish.
   * Takes over one reference of each slice's pages on success.
   */
  mapPages(list: PagesSlice[], length: bigint, iova: bigint | undefined, prot: number): bigint {
    if ((length & (this.iovaAlignment - 1n)) || length === 0n) throw new Errno(EINVAL, 'length not aligned');
    let at: bigint;
    if (iova === undefined) {
      const first = list[0]!;
      at = this.allocIova(first.pages.uptr + first.startByte, length);
    } else {
      this.checkIova(iova, length);
      at = iova;
    }
    const inserted: bigint[] = [];
    try {
      let cur = at;
      for (const elm of list) {
        this.insertArea(elm, cur, prot, list.length === 1);
        inserted.push(cur);
        cur += elm.length;
      }
      this.fillAreas(inserted);
    } catch (e) {
      for (const k of inserted) this.removeRow(this.findPos(k));
      throw e;
    }
    for (let i = 0; i < inserted.length; i++) {
      const pos = this.findPos(inserted[i]!);
      if (this.isCompact(pos)) {
        this.setFlag(pos, CREATING, false);
        // The caller's pages object now reads the row.
        const p = list[i]!.pages;
        p.bindCompact(this, inserted[i]!, p.accountMode);
      } else {
        const a = this.objAt(pos);
        a.pages = a.source;
      }
    }
    return at;
  }

  private insertArea(elm: PagesSlice, iova: bigint, prot: number, single: boolean): void {
    const pages = elm.pages;
    if ((prot & IOMMU_WRITE) && !pages.writable) throw new Errno(EPERM, 'write to read-only pages');
    const pageOffset = elm.startByte & (PAGE_SIZE_N - 1n);
    if (pageOffset & (this.iovaAlignment - 1n)) throw new Errno(EINVAL, 'page offset not aligned');
    if (iova + elm.length - 1n > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
    if (single && this.compactRows && this.compactInsert(elm, iova, prot)) return;
    const area = new IoptArea(iova, iova + elm.length - 1n, elm.startByte, prot, pages);
    pages.attached = true;
    // The revoke tracker: a dma-buf's revoke reaches every table mapping its pages.
    pages.dmabuf?.tables.add(this);
    this.insertObj(area);
  }

  /** Insert `elm` as a compact row when it fits one; false when it does not. */
  private compactInsert(elm: PagesSlice, iova: bigint, prot: number): boolean {
    const pages = elm.pages;
    const { startByte, length } = elm;
    // File pages (MAP_FILE) always take the object form: a row has no room for the file.
    if (pages.kind !== 'user' || startByte >= PAGE_SIZE_N || length > 0xffffffffn || (prot & ~PROT_MASK) || !pages.fresh || pages.refs !== 1) return false;
    const va = pages.uptr + startByte;
    if (va >= 1n << 48n) return false;
    // The area must cover every index of the pages.
    const len = Number(length), pageOff = Number(startByte);
    if (pages.npages !== Math.floor((pageOff + len + PAGE - 1) / PAGE)) return false;
    const src = this.srcRef(pages.sourceTask);
    if (!src) return false;
    const mode = ACCOUNT_MODES.indexOf(pages.accountMode);
    const pos = this.rows.insert(hi32(iova), lo32(iova));
    const a = this.rows.arr(pos), o = this.rows.offset(pos);
    a[o + LEN] = len;
    a[o + VA_LO] = lo32(va);
    a[o + CTL] = (hi32(va) | (prot << PROT_SHIFT) | CREATING | (pages.writable ? WRITABLE : 0) | (mode << MODE_SHIFT) | (src << SRC_SHIFT)) >>> 0;
    return true;
  }

  /** iopt_area_fill_domains for each area; on failure the filled ones are unfilled. */
  private fillAreas(keys: bigint[]): void {
    if (!this.domains.length) return;
    const done: bigint[] = [];
    try {
      for (const k of keys) {
        const p = this.findPos(k);
        if (this.isCompact(p)) this.compactFill(p, this.domains); else this.fillArea(this.objAt(p), this.domains);
        done.push(k);
      }
    } catch (e) {
      for (const k of done) {
        const p = this.findPos(k);
        if (this.isCompact(p)) this.compactUnfill(p, this.domains); else this.unfillArea(this.objAt(p), this.domains);
      }
      throw e;
    }
  }

  /** Hold the area's pages (if not yet) and map it into `domains`. */
  private fillArea(a: IoptArea, domains: readonly IommuDomain[]): void {
    // A revoked dma-buf fills nothing (iopt_area_fill_domain{,s}); its areas still count as filled.
    if (a.source.revoked) { a.filled = true; return; }
    if (iommufdShouldFail()) throw new Errno(ENOMEM, 'injected: batch allocation');
    const firstFill = !a.filled;
    if (firstFill) a.source.hold(a.firstIndex, a.indexCount);
    // dma-buf PFNs are a BATCH_MMIO batch: mapped without IOMMU_CACHE.
    const prot = a.source.dmabuf ? a.prot & ~IOMMU_CACHE : a.prot;
    const mapped: IommuDomain[] = [];
    try {
      const runs = a.source.physRuns(a.startByte, a.length);
      for (const d of domains) {
        mapRuns(d, a.iova, runs, prot);
        mapped.push(d);
      }
    } catch (e) {
      for (const d of mapped) d.unmap(a.iova, a.length);
      if (firstFill) a.source.release(a.firstIndex, a.indexCount);
      throw e;
    }
    a.filled = true;
  }

  private unfillArea(a: IoptArea, domains: readonly IommuDomain[]): void {
    // A revoked dma-buf's areas are in no domain any more (iopt_area_unfill_domain).
    if (!a.source.revoked) for (const d of domains) d.unmap(a.iova, a.length);
    if (a.filled && domains.length === this.domains.length) {
      a.source.release(a.firstIndex, a.indexCount);
      a.filled = false;
    }
  }

  // ---- unmap ---------------------------------------------------------------

  /**
   * iopt_unmap_iova_range: unmap every area inside [start, last]. An area
   * sticking out gives ENOENT (areas before it are already gone: unmap is not
   * atomic). Returns the bytes unmapped.
   */
  unmapRange(start: bigint, last: bigint): bigint {
    let unmapped = 0n;
    let tries = 0;
    for (;;) {
      const p = this.firstPos(start, last);
      if (p < 0) break;
      if (this.isCompact(p)) {
        // No locks, no accesses: unmap at once.
        if (this.rows.get(p, CTL) & CREATING) throw new Errno(EBUSY, 'area is being created');
        const aIova = this.rows.key(p), aLen = BigInt(this.rows.get(p, LEN)), aLast = aIova + aLen - 1n;
        if (aIova < start || aLast > last) throw new Errno(ENOENT, 'range cuts an area');
        if (aIova !== start) tries = 0;
        this.compactUnfill(p, this.domains);
        this.removeRow(p);
        unmapped += aLen;
        if (aLast >= last) break;
        start = aLast + 1n;
        continue;
      }
      const area = this.objAt(p);
      if (!area.pages) throw new Errno(EBUSY, 'area is being created');
      if (area.numLocks) throw new Errno(EBUSY, 'area is locked by an internal access');
      if (area.iova < start || area.last > last) throw new Errno(ENOENT, 'range cuts an area');
      if (area.iova !== start) tries = 0;
      if (area.numAccesses) {
        start = area.iova;
        area.preventAccess = true;
        for (const acc of [...this.accesses]) if (!acc.internal) acc.unmap(area.iova, area.length);
        if (++tries > 100) throw new Errno(EDEADLK, 'an access does not let go');
        continue;
      }
      const pages = area.pages;
      area.pages = null;
      this.unfillArea(area, this.domains);
      this.removeRow(this.findPos(area.iova));
      pages.refs--;
      unmapped += area.length;
      if (area.last >= last) break;
      start = area.last + 1n;
    }
    return unmapped;
  }

  /** iopt_unmap_iova: length 0 is EINVAL, overflow EOVERFLOW. */
  unmapIova(iova: bigint, length: bigint): bigint {
    if (length === 0n) throw new Errno(EINVAL, 'length 0');
    const last = iova + length - 1n;
    if (last > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
    return this.unmapRange(iova, last);
  }

  unmapAll(): bigint {
    return this.unmapRange(0n, ULONG_MAX);
  }

  // ---- copy source ---------------------------------------------------------

  /** iopt_get_pages: the slices behind [iova, iova+length), which contiguous areas must cover. */
  getPages(iova: bigint, length: bigint): PagesSlice[] {
    if (length === 0n) throw new Errno(EINVAL, 'length 0');
    const lastIova = iova + length - 1n;
    if (lastIova > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
    // Walk first (rows stay compact if the range has a hole), then share.
    const found: number[] = [];
    let p = this.posAt(iova);
    let done = false;
    while (p >= 0) {
      if (this.isCompact(p) ? this.rows.get(p, CTL) & CREATING : !this.objAt(p).pages) break;
      found.push(p);
      const aLast = this.rowLast(p);
      if (lastIova <= aLast) { done = true; break; }
      p = this.nextAt(p, aLast + 1n);
    }
    if (!done) throw new Errno(ENOENT, 'source range has a hole');
    const out: PagesSlice[] = [];
    let cur = iova;
    for (const q of found) {
      const area = this.isCompact(q) ? this.promote(q) : this.objAt(q);
      const last = lastIova < area.last ? lastIova : area.last;
      out.push({ pages: area.pages!, startByte: area.startByteOf(cur), length: last - cur + 1n });
      cur = area.last + 1n;
    }
    for (const s of out) s.pages.refs++;
    return out;
  }

  // ---- reserved and allowed ranges -----------------------------------------

  /** iopt_reserve_iova: EADDRINUSE over a mapping or an allowed range. */
  reserveIova(start: bigint, last: bigint, owner: unknown): void {
    if (this.firstArea(start, last) || this.allowedHits(start, last)) throw new Errno(EADDRINUSE, 'range in use');
    const r: Reserved = { start, last, owner };
    let i = this.reserved.findIndex((x) => x.start > start);
    if (i < 0) i = this.reserved.length;
    this.reserved.splice(i, 0, r);
  }

  removeReserved(owner: unknown): void {
    this.reserved = this.reserved.filter((r) => r.owner !== owner);
  }

  /**
   * iopt_set_allow_iova: swap in a new allowed list (already validated:
   * start < last, no overlaps). EADDRINUSE if any range touches a
   * reservation; then the old list stays.
   */
  setAllowIova(ranges: IovaRange[]): void {
    for (const r of ranges) if (this.reservedHits(r.start, r.last)) throw new Errno(EADDRINUSE, 'allowed range is reserved');
    this.allowed = [...ranges].sort((a, b) => cmp(a.start, b.start));
  }

  /** The holes of the reserved ranges over [0, ULONG_MAX] (IOMMU_IOAS_IOVA_RANGES). */
  iovaRanges(): IovaRange[] {
    const out: IovaRange[] = [];
    let cur = 0n;
    let done = false;
    for (const r of this.reserved) {
      if (r.start > cur) out.push({ start: cur, last: r.start - 1n });
      if (r.last >= ULONG_MAX) { done = true; break; }
      if (r.last + 1n > cur) cur = r.last + 1n;
    }
    if (!done) out.push({ start: cur, last: ULONG_MAX });
    return out;
  }

  // ---- alignment and large pages -------------------------------------------

  /** iopt_check_iova_alignment: every area must already fit a stricter alignment. */
  private checkAlignment(align: bigint): void {
    const mask = align - 1n;
    const small = align <= TWO32 ? Number(mask) : -1;
    for (let p = this.rows.first(); p >= 0; p = this.rows.next(p)) {
      if (this.isCompact(p) && small >= 0) {
        // iova's and length's bits above 32 are multiples of any align ≤ 2^32.
        const a = this.rows.arr(p), o = this.rows.offset(p);
        if ((a[o + 1]! & small) || (a[o + LEN]! & small) || ((a[o + VA_LO]! & (PAGE - 1)) & small)) {
          throw new Errno(EADDRINUSE, 'existing mapping not aligned');
        }
        continue;
      }
      const a = this.areaOf(p);
      if ((a.iova & mask) || (a.length & mask) || (a.pageOffset & mask)) throw new Errno(EADDRINUSE, 'existing mapping not aligned');
    }
  }

  /** iopt_calculate_iova_alignment. */
  recalcAlignment(): void {
    let align = this.disableLargePages ? PAGE_SIZE_N : 1n;
    for (const d of this.domains) { const p = smallestPage(d); if (p > align) align = p; }
    for (const a of this.accesses) if (a.iovaAlignment > align) align = a.iovaAlignment;
    if (align > this.iovaAlignment) this.checkAlignment(align);
    this.iovaAlignment = align;
  }

  /** iopt_disable_large_pages: EINVAL with domains and mappings both present. */
  disableLarge(): void {
    if (this.disableLargePages) return;
    if (this.domains.length && this.rows.size) throw new Errno(EINVAL, 'domains already hold mappings');
    this.disableLargePages = true;
    try { this.recalcAlignment(); } catch (e) { this.disableLargePages = false; throw e; }
  }

  enableLarge(): void {
    this.disableLargePages = false;
    this.recalcAlignment();
  }

  // ---- domains (the hook HWPTs use) ----------------------------------------

  /**
   * iopt_table_add_domain: raise the alignment (EINVAL past PAGE_SIZE,
   * EADDRINUSE if mappings do not fit), reserve outside the aperture
   * (EADDRINUSE), then fill the domain from every area. All or nothing.
   */
  addDomain(domain: IommuDomain): void {
    if (this.domains.includes(domain)) throw new Errno(EEXIST, 'domain already in this IOAS');
    let align = smallestPage(domain);
    if (this.iovaAlignment > align) align = this.iovaAlignment;
    if (align > PAGE_SIZE_N) throw new Errno(EINVAL, 'IO page size above PAGE_SIZE');
    if (align !== this.iovaAlignment) this.checkAlignment(align);
    try {
      if (domain.apertureStart !== 0n) this.reserveIova(0n, domain.apertureStart - 1n, domain);
      if (domain.apertureEnd !== ULONG_MAX) this.reserveIova(domain.apertureEnd + 1n, ULONG_MAX, domain);
      // Filling changes no row's place, so positions stay valid.
      const filled: number[] = [];
      try {
        for (let p = this.rows.first(); p >= 0; p = this.rows.next(p)) {
          if (this.isCompact(p)) {
            if (this.rows.get(p, CTL) & CREATING) continue;
            this.compactFill(p, [domain]);
          } else {
            const a = this.objAt(p);
            if (!a.pages) continue;
            this.fillArea(a, [domain]);
          }
          filled.push(p);
        }
      } catch (e) {
        const wasFirst = this.domains.length === 0;
        for (const p of filled) {
          if (this.isCompact(p)) {
            domain.unmap(this.rows.key(p), BigInt(this.rows.get(p, LEN)));
            if (wasFirst) { this.compactRelease(p); this.setFlag(p, FILLED, false); }
          } else {
            const a = this.objAt(p);
            if (!a.source.revoked) domain.unmap(a.iova, a.length);
            if (wasFirst) { a.source.release(a.firstIndex, a.indexCount); a.filled = false; }
          }
        }
        throw e;
      }
    } catch (e) {
      this.removeReserved(domain);
      throw e;
    }
    this.domains.push(domain);
    this.iovaAlignment = align;
  }

  /** iopt_table_remove_domain: unmap every area from it; the last domain also unpins. */
  removeDomain(domain: IommuDomain): void {
    const i = this.domains.indexOf(domain);
    if (i < 0) return;
    this.domains.splice(i, 1);
    const last = this.domains.length === 0;
    for (let p = this.rows.first(); p >= 0; p = this.rows.next(p)) {
      if (this.isCompact(p)) {
        const ctl = this.rows.get(p, CTL);
        if (ctl & CREATING) continue;
        domain.unmap(this.rows.key(p), BigInt(this.rows.get(p, LEN)));
        if (last && (ctl & FILLED)) { this.compactRelease(p); this.setFlag(p, FILLED, false); }
        continue;
      }
      const a = this.objAt(p);
      if (!a.pages) continue;
      if (!a.source.revoked) domain.unmap(a.iova, a.length);
      if (last && a.filled) { a.source.release(a.firstIndex, a.indexCount); a.filled = false; }
    }
    this.removeReserved(domain);
    this.recalcAlignment();
  }

  // ---- accesses (the hook access objects use) ------------------------------

  /** iopt_add_access: EADDRINUSE if existing mappings do not fit its alignment. */
  addAccess(access: IoptAccess): void {
    this.accesses.push(access);
    try { this.recalcAlignment(); } catch (e) { this.accesses.pop(); throw e; }
  }

  /**
   * The contiguous areas over [iova, last] in IOVA order, each with the part
   * of the range it holds (iopt_for_each_contig_area); the generator returns
   * whether they covered the whole range (iopt_area_contig_done).
   */
  *contigAreas(iova: bigint, last: bigint): Generator<{ area: IoptArea; from: bigint; to: bigint }, boolean> {
    let cur = iova;
    let p = this.posAt(iova);
    while (p >= 0) {
      const area = this.areaOf(p);
      if (!area.pages) break;
      const to = last < area.last ? last : area.last;
      yield { area, from: cur, to };
      if (last <= area.last) return true;
      cur = area.last + 1n;
      p = this.nextAt(p, cur);
    }
    return false;
  }

  /**
   * iommufd_access_pin_pages at the iopt level: pin [iova, iova+length) area
   * by area in IOVA order. EINVAL while an unmap waits on an area or when an
   * inner area boundary is not page aligned (iopt_area_contig_is_aligned),
   * EPERM for the area's protection, ENOENT at a hole. `internal` accesses
   * also lock the areas against unmap; `onPinned` sees each piece pinned. A
   * failure unpins what this call pinned.
   */
  accessPin(iova: bigint, length: bigint, write: boolean,
    o: { internal?: boolean; onPinned?: (area: IoptArea, first: number, last: number) => void } = {}): void {
    if (length === 0n) throw new Errno(EINVAL, 'length 0');
    const last = iova + length - 1n;
    if (last > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
    const done: Array<{ area: IoptArea; first: number; lastIdx: number }> = [];
    try {
      const it = this.contigAreas(iova, last);
      let r = it.next();
      while (!r.done) {
        const { from, to } = r.value;
        const area = this.owned(r.value.area);
        const aligned = area.startByteOf(from) % PAGE_SIZE_N === 0n
          && (to >= last || area.startByteOf(area.last) % PAGE_SIZE_N === PAGE_SIZE_N - 1n);
        if (area.preventAccess || !aligned) throw new Errno(EINVAL, 'area busy or not page aligned');
        if (write ? !(area.prot & IOMMU_WRITE) : !(area.prot & IOMMU_READ)) throw new Errno(EPERM, 'area protection');
        const first = Number(area.startByteOf(from) / PAGE_SIZE_N);
        const lastIdx = Number(area.startByteOf(to) / PAGE_SIZE_N);
        area.source.accessHold(first, lastIdx);
        area.numAccesses++;
        if (o.internal) area.numLocks++;
        done.push({ area, first, lastIdx });
        o.onPinned?.(area, first, lastIdx);
        r = it.next();
      }
      if (!r.value) throw new Errno(ENOENT, 'IOVA range has a hole');
    } catch (e) {
      for (const d of done) {
        d.area.source.accessRelease(d.first, d.lastIdx);
        d.area.numAccesses--;
        if (o.internal) d.area.numLocks--;
      }
      throw e;
    }
  }

  /** iommufd_access_unpin_pages: undo an accessPin of exactly the same range. */
  accessUnpin(iova: bigint, length: bigint, internal = false): void {
    if (!length) return;
    const last = iova + length - 1n;
    for (const { area, from, to } of this.contigAreas(iova, last) as Iterable<{ area: IoptArea; from: bigint; to: bigint }>) {
      if (!area.numAccesses) continue; // compact rows hold no access pins
      const first = Number(area.startByteOf(from) / PAGE_SIZE_N);
      const lastIdx = Number(area.startByteOf(to) / PAGE_SIZE_N);
      if (area.source.accessRelease(first, lastIdx)) {
        area.numAccesses--;
        if (internal) area.numLocks--;
      }
    }
  }

  removeAccess(access: IoptAccess): void {
    const i = this.accesses.indexOf(access);
    if (i >= 0) this.accesses.splice(i, 1);
    this.recalcAlignment();
  }

  // ---- VFIO type1 compat: cutting areas (used by vfio-compat.ts) -----------

  /**
   * iopt_cut_iova: make each of `iovas` the last byte of an area by splitting
   * the area that holds it (the one exception to "areas are unmapped whole",
   * for VFIO type1 partial unmaps). Stops at the first refusal; cuts already
   * made stay.
   */
  cutIova(iovas: readonly bigint[]): void {
    for (const iova of iovas) {
      const area = this.areaAt(iova);
      if (area) this.splitArea(area, iova);
    }
  }

  /**
   * iopt_area_split: replace `area` by [area.iova, iova] and [iova+1, area.last],
   * both on the same pages (one more pages reference) and keeping its domain
   * fill; the domains' translations are untouched. EBUSY while the area is
   * being created or unmapped, EINVAL for a cut off the IOAS alignment, with
   * accesses pinned in it, or when a domain may hold it in huge IOPTEs.
   */
  private splitArea(view: IoptArea, iova: bigint): void {
    if (iova === view.iova || iova === view.last) return;
    if (!view.pages || view.preventAccess) throw new Errno(EBUSY, 'area is being created or unmapped');
    // iopt_area_split: the domains_itree of dma-buf pages is not split.
    if (view.source.dmabuf) throw new Errno(EOPNOTSUPP, 'dma-buf areas are not split');
    const newStart = iova + 1n;
    const mask = this.iovaAlignment - 1n;
    if ((newStart & mask) || (view.startByteOf(newStart) & mask)) throw new Errno(EINVAL, 'cut not aligned');
    if (view.numAccesses) throw new Errno(EINVAL, 'accesses pin the area');
    if (view.filled && !this.disableLargePages) throw new Errno(EINVAL, 'domains may map the area with large pages');
    // Both halves share the pages: the area leaves the compact form.
    const area = this.owned(view);
    const pages = area.pages!;
    const lhs = new IoptArea(area.iova, iova, area.startByte, area.prot, area.source);
    const rhs = new IoptArea(newStart, area.last, area.startByteOf(newStart), area.prot, area.source);
    // A filled area holds its pages once per index. Cuts of a filled area are
    // page aligned (the alignment is at least PAGE_SIZE without large pages),
    // so the halves' index ranges do not overlap and the holds carry over.
    for (const half of [lhs, rhs]) { half.pages = pages; half.filled = area.filled; }
    pages.refs++;
    this.removeRow(this.findPos(area.iova));
    this.insertObj(lhs);
    this.insertObj(rhs);
  }

  // ---- dma-buf revoke (the hook core/dmabuf.ts uses) -----------------------

  /**
   * iopt_revoke_notify for this table: unmap every area of `pages` from every
   * domain (the tracker's (area, domain) pairs). The areas stay; the caller
   * marks the pages revoked, so later fills and unfills skip the domains.
   */
  revokeDmabuf(pages: IoptPages): void {
    if (!this.domains.length) return;
    for (let p = this.rows.first(); p >= 0; p = this.rows.next(p)) {
      if (this.isCompact(p)) continue;
      const a = this.objAt(p);
      if (a.source !== pages || !a.filled) continue;
      for (const d of this.domains) d.unmap(a.iova, a.length);
    }
  }
}

/** One iommu_map per physically contiguous run (batch_to_domain); on failure what this call mapped is unmapped. */
function mapRuns(d: IommuDomain, iova: bigint, runs: readonly PhysRun[], prot: number): void {
  let done = 0;
  try {
    for (const r of runs) { d.map(iova + r.off, r.paddr, r.len, prot); done++; }
  } catch (e) {
    for (let i = 0; i < done; i++) d.unmap(iova + runs[i]!.off, runs[i]!.len);
    throw e;
  }
}
