// The io_pagetable's area table: where an IOAS keeps its areas (the kernel's
// iopt->area_itree), as rows of a sorted typed-array table
// (util/sorted-rows.ts) keyed by first IOVA: 20 bytes an area, binary
// searched, no per-area object. A row is either
//  - compact: the common MAP — its own pages, not shared, no access pins, held
//    (if at all) once over every index by its domain fill. The row carries the
//    pages inline: the user address of its first byte, writable, accounting
//    mode and the mapping task (an index into a small per-table list); or
//  - object form: an IoptArea object (with its IoptPages) in a side array, for
//    everything else (COPY pieces sharing pages, access pins, locks, lengths
//    of 4 GiB and more, user addresses past 2^48, and every MAP_FILE area:
//    file pages are never compact).
// A compact row turns into object form (one way, `promote`) when something
// needs the objects: COPY shares its pages, an access pins it, a caller
// changes a field. Lookups hand callers IoptArea views of compact rows (see
// area.ts) and IoptPages views of their pages (see pages.ts); the table hosts
// both. What areas mean (map, unmap, fill, pins) is io-pagetable.ts's.
//
// Rows are named by position ("pos"), valid until the next insert or remove
// (`version` changes then).
import { IoptArea, type CompactAreaHost } from './area.js';
import { IoptPages, ACCOUNT_MODES, type AccountMode, type CompactPagesHost } from './pages.js';
import type { PagesSlice } from './io-pagetable.js';
import type { Task } from './task.js';
import { PAGE_SIZE_N } from '../hw/memory.js';
import { SortedRows, TWO32, hi32, lo32 } from '../util/sorted-rows.js';

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
/** IOVAs below 2^53 (high word below this) key viewGenerations as numbers: cheaper than bigints. */
const VIEW_KEY_HI = 0x200000;
const viewKey = (iova: bigint): number | bigint => (iova < 1n << 53n ? Number(iova) : iova);

/** A compact row's area and pages, in numbers. */
export interface CompactRow {
  readonly iova: bigint;
  /** Length in bytes (< 2^32). */
  readonly len: number;
  readonly prot: number;
  /** True once the row's pages are held for the IOAS's domains. */
  readonly filled: boolean;
  readonly task: Task;
  /** Page-aligned user address of index 0 (< 2^48). */
  readonly uptr: number;
  readonly npages: number;
  /** Offset of the area's first byte in its first page. */
  readonly pageOff: number;
  readonly writable: boolean;
  readonly mode: AccountMode;
}

export class AreaTable implements CompactAreaHost, CompactPagesHost {
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
   * Generations of the rows area views were handed out for, by IOVA (viewKey),
   * while the row lives: a view matches its row only by this number, so a
   * view of an unmapped area never resolves to a newer area at the same IOVA.
   */
  private viewGenerations = new Map<number | bigint, number>();
  private nextGeneration = 1;

  /** Areas in the table. */
  get size(): number { return this.rows.size; }
  /** Bumped by every insert and remove: older positions are stale. */
  get version(): number { return this.rows.version; }
  /** Bytes of the table's arrays (bench and tests). */
  bytes(): number { return this.rows.bytes(); }

  // ---- positions -------------------------------------------------------------

  first(): number { return this.rows.first(); }
  next(pos: number): number { return this.rows.next(pos); }

  /** The row starting exactly at `iova`, or -1. */
  find(iova: bigint): number { return this.rows.find(hi32(iova), lo32(iova)); }

  /** The row containing `iova`, or -1. */
  at(iova: bigint): number {
    const h = hi32(iova), l = lo32(iova);
    const p = this.rows.floor(h, l);
    return p >= 0 && this.lastAtLeast(p, h, l) ? p : -1;
  }

  /** The lowest row intersecting [start, last], or -1. */
  firstIn(start: bigint, last: bigint): number {
    const sh = hi32(start), sl = lo32(start);
    let p = this.rows.floor(sh, sl);
    if (p >= 0 && this.lastAtLeast(p, sh, sl)) return p;
    p = p < 0 ? this.rows.first() : this.rows.next(p);
    return p >= 0 && this.startAtMost(p, hi32(last), lo32(last)) ? p : -1;
  }

  /** The row after `pos` if it starts at or before `last`, else -1. */
  nextIn(pos: number, last: bigint): number {
    const n = this.rows.next(pos);
    return n >= 0 && this.startAtMost(n, hi32(last), lo32(last)) ? n : -1;
  }

  /** The first row starting after `iova`, or -1. */
  after(iova: bigint): number {
    const f = this.rows.floor(hi32(iova), lo32(iova));
    return f < 0 ? this.rows.first() : this.rows.next(f);
  }

  /** The row after `pos` if it starts right at `cur`, else -1. */
  nextAt(pos: number, cur: bigint): number {
    const n = this.rows.next(pos);
    return n >= 0 && this.rows.key(n) === cur ? n : -1;
  }

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

  // ---- what a row says -------------------------------------------------------

  iova(pos: number): bigint { return this.rows.key(pos); }

  length(pos: number): bigint {
    const len = this.rows.get(pos, LEN);
    return len === 0 ? this.object(pos).length : BigInt(len);
  }

  /** Last IOVA of the row, inclusive. */
  last(pos: number): bigint { return this.rows.key(pos) + this.length(pos) - 1n; }

  isCompact(pos: number): boolean { return this.rows.get(pos, CTL) >>> SRC_SHIFT !== 0; }

  /** The area object of an object-form row. */
  object(pos: number): IoptArea { return this.objs[this.rows.get(pos, VA_LO)]!; }

  /** The IoptArea for a row: the object, or a view of a compact row. */
  area(pos: number): IoptArea {
    const a = this.rows.arr(pos), o = this.rows.offset(pos);
    const ctl = a[o + CTL]!;
    if (ctl >>> SRC_SHIFT === 0) return this.objs[a[o + VA_LO]!]!;
    const iova = (BigInt(a[o]!) << 32n) | BigInt(a[o + 1]!);
    // viewKey(iova), from the words.
    const key = a[o]! < VIEW_KEY_HI ? a[o]! * TWO32 + a[o + 1]! : iova;
    let generation = this.viewGenerations.get(key);
    if (generation === undefined) this.viewGenerations.set(key, generation = this.nextGeneration++);
    return IoptArea.view(this, generation, iova, iova + BigInt(a[o + LEN]!) - 1n, BigInt(a[o + VA_LO]! & (PAGE - 1)), (ctl >>> PROT_SHIFT) & PROT_MASK);
  }

  /** Published: no longer being created (the kernel's area->pages set). */
  published(pos: number): boolean {
    return this.isCompact(pos) ? !(this.rows.get(pos, CTL) & CREATING) : this.object(pos).pages !== null;
  }

  /** A compact row in numbers. */
  compactRow(pos: number): CompactRow {
    const a = this.rows.arr(pos), o = this.rows.offset(pos);
    const ctl = a[o + CTL]!, vaLo = a[o + VA_LO]!, len = a[o + LEN]!;
    const pageOff = vaLo & (PAGE - 1);
    return {
      iova: (BigInt(a[o]!) << 32n) | BigInt(a[o + 1]!),
      len,
      prot: (ctl >>> PROT_SHIFT) & PROT_MASK,
      filled: (ctl & FILLED) !== 0,
      task: this.srcTasks[ctl >>> SRC_SHIFT]!,
      uptr: (ctl & VA_HI_MASK) * TWO32 + vaLo - pageOff,
      npages: Math.floor((pageOff + len + PAGE - 1) / PAGE),
      pageOff,
      writable: (ctl & WRITABLE) !== 0,
      mode: ACCOUNT_MODES[(ctl >>> MODE_SHIFT) & 3]!,
    };
  }

  /** Do the row's IOVA, length and page offset all fit `align` (a power of two)? */
  aligned(pos: number, align: bigint): boolean {
    const mask = align - 1n;
    if (this.isCompact(pos) && align <= TWO32) {
      // iova's and length's bits above 32 are multiples of any align ≤ 2^32.
      const small = Number(mask);
      const a = this.rows.arr(pos), o = this.rows.offset(pos);
      return !((a[o + 1]! & small) || (a[o + LEN]! & small) || ((a[o + VA_LO]! & (PAGE - 1)) & small));
    }
    const a = this.area(pos);
    return !((a.iova & mask) || (a.length & mask) || (a.pageOffset & mask));
  }

  // ---- changing --------------------------------------------------------------

  /** Insert an area in object form. */
  insertObject(area: IoptArea): void {
    const pos = this.rows.insert(hi32(area.iova), lo32(area.iova));
    let slot = this.freeObjs.pop();
    if (slot === undefined) { slot = this.objs.length; this.objs.push(area); } else this.objs[slot] = area;
    const len = area.length;
    this.rows.set(pos, LEN, len <= 0xffffffffn ? Number(len) : 0);
    this.rows.set(pos, VA_LO, slot);
  }

  /**
   * Insert `elm` at `iova` as a compact row, being created, when it fits one
   * (fresh user pages covered whole, short enough, a task slot free); false
   * when it does not, and then nothing changed.
   */
  insertCompact(elm: PagesSlice, iova: bigint, prot: number): boolean {
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

  /**
   * Publish the area at `pos`, made from `pages`: an object-form area takes
   * its pages; a compact row stops being created and `pages` becomes a view
   * of it (the caller's object reads the row).
   */
  publish(pos: number, pages: IoptPages): void {
    if (this.isCompact(pos)) {
      this.setFlag(pos, CREATING, false);
      pages.bindCompact(this, this.rows.key(pos), pages.accountMode);
    } else {
      const a = this.object(pos);
      a.pages = a.source;
    }
  }

  /** Mark a compact row filled or not. */
  setFilled(pos: number, filled: boolean): void { this.setFlag(pos, FILLED, filled); }

  /** Drop the row at `pos` (nothing else: no unfill, no refs); its views read as unmapped. */
  remove(pos: number): void {
    const ctl = this.rows.get(pos, CTL);
    if (this.viewGenerations.size) this.viewGenerations.delete(viewKey(this.rows.key(pos)));
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

  /**
   * Turn the compact row at `pos` into object form, in place. `adopt` (or the
   * live pages view of the row) becomes its pages object.
   */
  promote(pos: number, adopt?: IoptPages): IoptArea {
    const r = this.compactRow(pos);
    const ctl = this.rows.get(pos, CTL);
    const key = r.iova;
    let pages = adopt ?? this.pagesViews.get(key)?.deref();
    if (pages && this.compactState(pages, key) < 0) pages = undefined;
    if (!pages) {
      pages = new IoptPages(r.task, BigInt(r.uptr), r.npages, r.writable);
      pages.accountMode = r.mode;
    }
    pages.adoptCompact(r.filled);
    pages.attached = true;
    this.pagesViews.delete(key);
    const area = new IoptArea(key, key + BigInt(r.len) - 1n, BigInt(r.pageOff), r.prot, pages);
    if (!(ctl & CREATING)) area.pages = pages;
    area.filled = r.filled;
    let slot = this.freeObjs.pop();
    if (slot === undefined) { slot = this.objs.length; this.objs.push(area); } else this.objs[slot] = area;
    this.rows.set(pos, VA_LO, slot);
    this.rows.set(pos, CTL, 0);
    this.srcUnref(ctl >>> SRC_SHIFT);
    return area;
  }

  /** The object form of `area` (a view's row is promoted; a gone view is itself). */
  owned(area: IoptArea): IoptArea {
    const r = this.resolveArea(area);
    return typeof r === 'number' ? this.promote(r) : (r ?? area);
  }

  private setFlag(pos: number, flag: number, on: boolean): void {
    const c = this.rows.get(pos, CTL);
    this.rows.set(pos, CTL, (on ? c | flag : c & ~flag) >>> 0);
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

  // ---- hosting views (area.ts, pages.ts) -------------------------------------

  /** @internal */
  resolveArea(view: IoptArea): number | IoptArea | null {
    if (this.viewGenerations.get(viewKey(view.iova)) !== view.generation) return null;
    const p = this.find(view.iova);
    if (p < 0) return null;
    if (!this.isCompact(p)) {
      const o = this.object(p);
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
    const r = this.compactRow(pos);
    const v = new IoptPages(r.task, BigInt(r.uptr), r.npages, r.writable);
    v.bindCompact(this, key, r.mode);
    this.pagesViews.set(key, new WeakRef(v));
    return v;
  }

  /** The compact row a pages view stands for, or -1. */
  private viewPos(view: IoptPages, key: bigint): number {
    const p = this.find(key);
    if (p < 0 || !this.isCompact(p)) return -1;
    const { uptr, npages, task } = this.compactRow(p);
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
    const q = this.find(key);
    if (q < 0 || this.isCompact(q)) return null;
    const o = this.object(q);
    return o.source.uptr === view.uptr && o.source.npages === view.npages ? o.source : null;
  }
}
