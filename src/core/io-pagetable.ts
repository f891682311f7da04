// io_pagetable: an IOAS's IOVA space as a data structure
// (drivers/iommu/iommufd/io_pagetable.c). Areas live in an ordered B-tree keyed
// by first IOVA (they never overlap); reserved and allowed ranges are short
// sorted lists. Every failure unwinds exactly what was done.
import BTreeModule from 'sorted-btree';
import { Errno, EADDRINUSE, EBUSY, EDEADLK, EEXIST, EINVAL, ENOENT, ENOSPC, EOVERFLOW, EPERM } from '../uapi/errno.js';
import { PAGE_SIZE_N } from '../hw/memory.js';
import { IoptArea } from './area.js';
import type { IoptPages } from './pages.js';
import { IOMMU_READ, IOMMU_WRITE, smallestPage, type IommuDomain } from './domain.js';

// sorted-btree ships CommonJS with a default export.
const BTree = BTreeModule.default;
type BTreeT<K, V> = InstanceType<typeof BTreeModule.default<K, V>>;

export const ULONG_MAX = (1n << 64n) - 1n;
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

export class IoPagetable {
  private areas: BTreeT<bigint, IoptArea> = new BTree<bigint, IoptArea>(undefined, cmp);
  private reserved: Reserved[] = [];
  private allowed: IovaRange[] = [];
  iovaAlignment = 1n;
  disableLargePages = false;
  readonly domains: IommuDomain[] = [];
  readonly accesses: IoptAccess[] = [];

  get areaCount(): number { return this.areas.size; }

  // ---- lookups -------------------------------------------------------------

  /** The lowest area intersecting [start, last]. */
  firstArea(start: bigint, last: bigint): IoptArea | undefined {
    const lo = this.areas.getPairOrNextLower(start);
    if (lo && lo[1].last >= start) return lo[1];
    const hi = this.areas.nextHigherPair(start);
    return hi && hi[0] <= last ? hi[1] : undefined;
  }

  /** Areas intersecting [start, last], ascending. */
  *areasIn(start = 0n, last = ULONG_MAX): Generator<IoptArea> {
    let a = this.firstArea(start, last);
    while (a) {
      yield a;
      const n = this.areas.nextHigherPair(a.iova);
      a = n && n[0] <= last ? n[1] : undefined;
    }
  }

  /** The area containing `iova`, if any. */
  areaAt(iova: bigint): IoptArea | undefined {
    const p = this.areas.getPairOrNextLower(iova);
    return p && p[1].last >= iova ? p[1] : undefined;
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
    const areaIt = this.areasIn(lo, hi);
    let nextArea = areaIt.next();
    let cur = lo;
    for (;;) {
      // The next used interval by start, from either source.
      let used: IovaRange | undefined;
      const r = res[ri];
      const a = nextArea.done ? undefined : nextArea.value;
      if (r && (!a || r.start <= a.iova)) { used = r; ri++; }
      else if (a) { used = { start: a.iova, last: a.last }; nextArea = areaIt.next(); }
      if (!used) break;
      if (used.start > cur) yield { start: cur, last: used.start - 1n };
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
    if (this.firstArea(iova, last)) throw new Errno(EEXIST, 'range overlaps a mapping');
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
    const inserted: IoptArea[] = [];
    try {
      let cur = at;
      for (const elm of list) {
        inserted.push(this.insertArea(elm, cur, prot));
        cur += elm.length;
      }
      this.fillAreas(inserted);
    } catch (e) {
      for (const a of inserted) this.areas.delete(a.iova);
      throw e;
    }
    for (const a of inserted) a.pages = a.source;
    return at;
  }

  private insertArea(elm: PagesSlice, iova: bigint, prot: number): IoptArea {
    if ((prot & IOMMU_WRITE) && !elm.pages.writable) throw new Errno(EPERM, 'write to read-only pages');
    const area = new IoptArea(iova, iova + elm.length - 1n, elm.startByte, prot, elm.pages);
    if (area.pageOffset & (this.iovaAlignment - 1n)) throw new Errno(EINVAL, 'page offset not aligned');
    if (area.last > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
    this.areas.set(iova, area);
    return area;
  }

  /** iopt_area_fill_domains for each area; on failure the filled ones are unfilled. */
  private fillAreas(areas: IoptArea[]): void {
    if (!this.domains.length) return;
    const done: IoptArea[] = [];
    try {
      for (const a of areas) { this.fillArea(a, this.domains); done.push(a); }
    } catch (e) {
      for (const a of done) this.unfillArea(a, this.domains);
      throw e;
    }
  }

  /** Hold the area's pages (if not yet) and map it into `domains`. */
  private fillArea(a: IoptArea, domains: readonly IommuDomain[]): void {
    const firstFill = !a.filled;
    if (firstFill) a.source.hold(a.firstIndex, a.indexCount);
    const mapped: IommuDomain[] = [];
    try {
      for (const d of domains) {
        d.map(a.iova, a.source.paddr(a.startByte), a.length, a.prot);
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
    for (const d of domains) d.unmap(a.iova, a.length);
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
      const area = this.firstArea(start, last);
      if (!area) break;
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
      this.areas.delete(area.iova);
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
    const out: PagesSlice[] = [];
    let cur = iova;
    let area = this.areaAt(iova);
    let done = false;
    while (area && area.pages) {
      const last = lastIova < area.last ? lastIova : area.last;
      out.push({ pages: area.pages, startByte: area.startByteOf(cur), length: last - cur + 1n });
      if (lastIova <= area.last) { done = true; break; }
      cur = area.last + 1n;
      const next = this.areas.nextHigherPair(area.iova);
      area = next && next[0] === cur ? next[1] : undefined;
    }
    if (!done) throw new Errno(ENOENT, 'source range has a hole');
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
    for (const a of this.areasIn()) {
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
    if (this.domains.length && this.areas.size) throw new Errno(EINVAL, 'domains already hold mappings');
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
      const filled: IoptArea[] = [];
      try {
        for (const a of this.areasIn()) {
          if (!a.pages) continue;
          this.fillArea(a, [domain]);
          filled.push(a);
        }
      } catch (e) {
        const wasFirst = this.domains.length === 0;
        for (const a of filled) {
          domain.unmap(a.iova, a.length);
          if (wasFirst) { a.source.release(a.firstIndex, a.indexCount); a.filled = false; }
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
    for (const a of this.areasIn()) {
      if (!a.pages) continue;
      domain.unmap(a.iova, a.length);
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

  /** The contiguous areas covering [iova, last] as (area, first iova, last iova) pieces; ENOENT on a hole. */
  private contigPieces(iova: bigint, last: bigint): Array<{ area: IoptArea; from: bigint; to: bigint }> {
    const out: Array<{ area: IoptArea; from: bigint; to: bigint }> = [];
    let cur = iova;
    let area = this.areaAt(iova);
    while (area && area.pages) {
      const to = last < area.last ? last : area.last;
      out.push({ area, from: cur, to });
      if (last <= area.last) return out;
      cur = area.last + 1n;
      const next = this.areas.nextHigherPair(area.iova);
      area = next && next[0] === cur ? next[1] : undefined;
    }
    throw new Errno(ENOENT, 'IOVA range has a hole');
  }

  /**
   * iommufd_access_pin_pages at the iopt level: pin [iova, iova+length) for
   * an access. EINVAL while an unmap waits on the area, EPERM when the area's
   * protection does not allow the access. All or nothing.
   */
  accessPin(iova: bigint, length: bigint, write: boolean): void {
    if (length === 0n) throw new Errno(EINVAL, 'length 0');
    const last = iova + length - 1n;
    if (last > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
    const pieces = this.contigPieces(iova, last);
    for (const { area } of pieces) {
      if (area.preventAccess) throw new Errno(EINVAL, 'an unmap is waiting on this area');
      if (write ? !(area.prot & IOMMU_WRITE) : !(area.prot & IOMMU_READ)) throw new Errno(EPERM, 'area protection');
    }
    const done: Array<{ area: IoptArea; first: number; lastIdx: number }> = [];
    try {
      for (const { area, from, to } of pieces) {
        const first = Number(area.startByteOf(from) / PAGE_SIZE_N);
        const lastIdx = Number(area.startByteOf(to) / PAGE_SIZE_N);
        area.source.accessHold(first, lastIdx);
        area.numAccesses++;
        done.push({ area, first, lastIdx });
      }
    } catch (e) {
      for (const d of done) { d.area.source.accessRelease(d.first, d.lastIdx); d.area.numAccesses--; }
      throw e;
    }
  }

  /** iommufd_access_unpin_pages: undo an accessPin of exactly the same range. */
  accessUnpin(iova: bigint, length: bigint): void {
    const last = iova + length - 1n;
    for (const { area, from, to } of this.contigPieces(iova, last)) {
      const first = Number(area.startByteOf(from) / PAGE_SIZE_N);
      const lastIdx = Number(area.startByteOf(to) / PAGE_SIZE_N);
      if (area.source.accessRelease(first, lastIdx)) area.numAccesses--;
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
  private splitArea(area: IoptArea, iova: bigint): void {
    if (iova === area.iova || iova === area.last) return;
    const pages = area.pages;
    if (!pages || area.preventAccess) throw new Errno(EBUSY, 'area is being created or unmapped');
    const newStart = iova + 1n;
    const mask = this.iovaAlignment - 1n;
    if ((newStart & mask) || (area.startByteOf(newStart) & mask)) throw new Errno(EINVAL, 'cut not aligned');
    if (area.numAccesses) throw new Errno(EINVAL, 'accesses pin the area');
    if (area.filled && !this.disableLargePages) throw new Errno(EINVAL, 'domains may map the area with large pages');
    const lhs = new IoptArea(area.iova, iova, area.startByte, area.prot, area.source);
    const rhs = new IoptArea(newStart, area.last, area.startByteOf(newStart), area.prot, area.source);
    // A filled area holds its pages once per index. Cuts of a filled area are
    // page aligned (the alignment is at least PAGE_SIZE without large pages),
    // so the halves' index ranges do not overlap and the holds carry over.
    for (const half of [lhs, rhs]) { half.pages = pages; half.filled = area.filled; }
    pages.refs++;
    this.areas.delete(area.iova);
    this.areas.set(lhs.iova, lhs);
    this.areas.set(rhs.iova, rhs);
  }
}
