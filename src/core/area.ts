// iopt_area: one MAP (or one piece of a COPY) in an IOAS: an IOVA range bound
// to a slice of an iopt_pages. Areas never overlap and are unmapped whole.
//
// The io_pagetable keeps most areas as compact rows of its area table
// (area-table.ts), not as objects. The IoptArea its lookups return for such
// a row is a view: iova, last, startByte and prot are fixed; the rest is read
// from the row, and a change (say numLocks++) turns the row into the object
// form first. Views of an unmapped area read as the unmapped object did
// (pages null, not filled), even once a newer area takes the same IOVA: a
// view carries its row's generation, which no later row shares.
import { PAGE_SHIFT } from '../hw/memory.js';
import type { IoptPages } from './pages.js';

/** What an area view asks of the area table keeping its row. */
export interface CompactAreaHost {
  /**
   * The row behind `view`: a number (its position) while it is compact, the
   * area object once it is in object form, null when it is gone (also when a
   * newer area took its IOVA: `view.generation` is not that row's).
   */
  resolveArea(view: IoptArea): number | IoptArea | null;
  /** Compact row at `pos`: filled? */
  rowFilled(pos: number): boolean;
  /** Compact row at `pos`: its pages (null while the area is being created). */
  rowPages(pos: number): IoptPages | null;
  /** The pages view of the compact row at `pos`, even while being created. */
  rowSource(pos: number): IoptPages;
  /** Turn the compact row at `pos` into object form. */
  promote(pos: number): IoptArea;
}

const PAGE_MASK = (1n << BigInt(PAGE_SHIFT)) - 1n;

export class IoptArea {
  private _pages: IoptPages | null = null;
  private _numAccesses = 0;
  private _numLocks = 0;
  private _preventAccess = false;
  private _filled = false;
  private readonly _source: IoptPages | null;
  private host: CompactAreaHost | null = null;
  private _generation = 0;

  constructor(
    readonly iova: bigint,
    /** Last IOVA, inclusive. */
    readonly last: bigint,
    /** Byte offset of the area's first byte from the pages' uptr. */
    readonly startByte: bigint,
    readonly prot: number,
    /** The pages this area will take when published. */
    source: IoptPages | null,
  ) {
    this._source = source;
  }

  /** A view of a compact row (area table only); `generation` names that row among all rows ever at `iova`. */
  static view(host: CompactAreaHost, generation: number, iova: bigint, last: bigint, startByte: bigint, prot: number): IoptArea {
    const a = new IoptArea(iova, last, startByte, prot, null);
    a.host = host;
    a._generation = generation;
    return a;
  }

  /** The generation of the row a view was made of (0 for area objects). */
  get generation(): number { return this._generation; }

  /** The row state behind a view: position, object, or null (gone). Own objects give themselves. */
  private r(): number | IoptArea | null {
    return this.host ? this.host.resolveArea(this) : this;
  }

  /** The object to write to: a compact row is promoted; a gone view writes to itself. */
  private w(): IoptArea {
    const r = this.r();
    if (r === null) { this.host = null; return this; }
    return typeof r === 'number' ? this.host!.promote(r) : r;
  }

  /** The pages this area will take when published. */
  get source(): IoptPages {
    const r = this.r();
    if (r === this) return this._source!;
    if (typeof r === 'number') return this.host!.rowSource(r);
    if (r) return r.source;
    return this._source ?? (this._pages as IoptPages);
  }

  /** Null while the area is being created (the kernel's "pages == NULL"), and after unmap. */
  get pages(): IoptPages | null {
    const r = this.r();
    if (r === this) return this._pages;
    if (typeof r === 'number') return this.host!.rowPages(r);
    return r ? r.pages : null;
  }
  set pages(p: IoptPages | null) { const o = this.w(); o._pages = p; }

  /** Accesses that pinned part of this area (unmap must notify them). */
  get numAccesses(): number {
    const r = this.r();
    return r === this ? this._numAccesses : typeof r === 'number' || !r ? 0 : r.numAccesses;
  }
  set numAccesses(n: number) { this.w()._numAccesses = n; }

  /** Internal accesses that lock the area against unmap (EBUSY). */
  get numLocks(): number {
    const r = this.r();
    return r === this ? this._numLocks : typeof r === 'number' || !r ? 0 : r.numLocks;
  }
  set numLocks(n: number) { this.w()._numLocks = n; }

  /** Set while an unmap waits for accesses to let go; new pins get EINVAL. */
  get preventAccess(): boolean {
    const r = this.r();
    return r === this ? this._preventAccess : typeof r === 'number' || !r ? false : r.preventAccess;
  }
  set preventAccess(v: boolean) { this.w()._preventAccess = v; }

  /** True once the area's pages are held for the IOAS's domains. */
  get filled(): boolean {
    const r = this.r();
    if (r === this) return this._filled;
    if (typeof r === 'number') return this.host!.rowFilled(r);
    return r ? r.filled : false;
  }
  set filled(v: boolean) { this.w()._filled = v; }

  get length(): bigint { return this.last - this.iova + 1n; }
  /** Offset of the first byte within its page (area->page_offset). */
  get pageOffset(): bigint { return this.startByte & PAGE_MASK; }
  /** First and count of the pages indexes the area covers. */
  get firstIndex(): number { return Number(this.startByte >> BigInt(PAGE_SHIFT)); }
  get indexCount(): number {
    return Number((this.startByte + this.length - 1n) >> BigInt(PAGE_SHIFT)) - this.firstIndex + 1;
  }
  /** pages byte offset of `iova` inside this area. */
  startByteOf(iova: bigint): bigint { return this.startByte + (iova - this.iova); }
}
