// io_pagetable: an IOAS's IOVA space as a data structure
// (drivers/iommu/iommufd/io_pagetable.c). Areas never overlap; reserved and
// allowed ranges are short sorted lists. Every failure unwinds exactly what
// was done.
//
// The areas live in an area table (area-table.ts: compact rows or area
// objects, by first IOVA); this file says what they mean. Lookups hand
// callers IoptArea views of compact rows (see area.ts). Filling domains from
// areas and pinning areas for accesses is pages.ts's work, as in the kernel.
import { Errno, EADDRINUSE, EBUSY, EDEADLK, EEXIST, EINVAL, ENOENT, ENOSPC, EOPNOTSUPP, EOVERFLOW, EPERM } from '../uapi/errno.js';
import { PAGE_SIZE_N } from '../hw/memory.js';
import { IoptArea } from './area.js';
import { AreaTable } from './area-table.js';
import { XaShape, faultsArmed, slabAlloc, xaNodeAllocs } from './faults.js';
import {
  areaAddAccess, areaFillDomains, areaRemoveAccess, areaUnfillDomains, compactAreaFillDomains, compactAreaUnfillDomains,
  type DmabufImporter, type IoptPages,
} from './pages.js';
import { IOMMU_WRITE, smallestPage, type IommuDomain } from '../hw/iommu.js';

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

export class IoPagetable implements DmabufImporter {
  /** The areas, by first IOVA (area-table.ts keeps them, mostly as compact rows). */
  private table = new AreaTable();
  private reserved: Reserved[] = [];
  private allowed: IovaRange[] = [];
  /** Keep MAP areas as compact rows (false: every area in object form; tests compare the two). */
  compactRows = true;
  iovaAlignment = 1n;
  disableLargePages = false;
  readonly domains: IommuDomain[] = [];
  /** Whether iopt->domains keeps its entries in an xa_node (see addDomain), for the slab points of the next xa_reserve. */
  private domainsXaNode = false;
  readonly accesses: IoptAccess[] = [];

  get areaCount(): number { return this.table.size; }

  /** Bytes of the area table's arrays (bench and tests). */
  tableBytes(): number { return this.table.bytes(); }

  // ---- filling rows (pages.ts does the work) ---------------------------------

  /** iopt_area_fill_domains for the row at `pos`. */
  private fillRow(pos: number, domains: readonly IommuDomain[]): void {
    if (this.table.isCompact(pos)) compactAreaFillDomains(this.table, pos, domains);
    else areaFillDomains(this.table.object(pos), domains);
  }

  /** iopt_area_unfill_domains for the row at `pos`; `release`: no domain holds it any more. */
  private unfillRow(pos: number, domains: readonly IommuDomain[], release: boolean): void {
    if (this.table.isCompact(pos)) compactAreaUnfillDomains(this.table, pos, domains, release);
    else areaUnfillDomains(this.table.object(pos), domains, release);
  }

  // ---- lookups -------------------------------------------------------------

  /** The lowest area intersecting [start, last]. */
  firstArea(start: bigint, last: bigint): IoptArea | undefined {
    const p = this.table.firstIn(start, last);
    return p >= 0 ? this.table.area(p) : undefined;
  }

  /** Areas intersecting [start, last], ascending. */
  *areasIn(start = 0n, last = ULONG_MAX): Generator<IoptArea> {
    const t = this.table;
    let p = t.firstIn(start, last);
    while (p >= 0) {
      const a = t.area(p);
      const version = t.version;
      yield a;
      // The table changed under us: continue after a.iova.
      p = t.version !== version ? t.after(a.iova) : t.next(p);
      if (p >= 0 && t.iova(p) > last) break;
    }
  }

  /** The area containing `iova`, if any. */
  areaAt(iova: bigint): IoptArea | undefined {
    const p = this.table.at(iova);
    return p >= 0 ? this.table.area(p) : undefined;
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
    const t = this.table;
    let p = t.firstIn(lo, hi);
    let cur = lo;
    for (;;) {
      // The next used interval by start, from either source.
      let used: IovaRange | undefined;
      const r = res[ri];
      const aStart = p >= 0 ? t.iova(p) : undefined;
      if (r && (aStart === undefined || r.start <= aStart)) { used = r; ri++; }
      else if (aStart !== undefined) {
        used = { start: aStart, last: t.last(p) };
        // Holes are yielded lazily; re-find the next row after a table change.
        const version = t.version;
        p = t.nextIn(p, hi);
        if (version !== t.version) p = t.firstIn(used.last + 1n, hi);
      }
      if (!used) break;
      if (used.start > cur) {
        const version = t.version;
        yield { start: cur, last: used.start - 1n };
        if (version !== t.version && used.last < hi) p = t.firstIn(used.last + 1n, hi);
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
    if (this.table.firstIn(iova, last) >= 0) throw new Errno(EEXIST, 'range overlaps a mapping');
  }

  // ---- map -----------------------------------------------------------------

  /**
   * iopt_map_pages: place the slices one after another at `iova` (or at an
   * allocated IOVA when `iova` is undefined), fill every domain, publish.
   * Takes over one reference of each slice's pages on success.
   */
  mapPages(list: PagesSlice[], length: bigint, iova: bigint | undefined, prot: number): bigint {
    // iopt_alloc_area_pages: an iopt_area (kzalloc) per slice, before any check.
    for (let i = 0; i < list.length; i++) slabAlloc('iopt_area');
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
      for (const k of inserted) this.table.remove(this.table.find(k));
      throw e;
    }
    for (let i = 0; i < inserted.length; i++) this.table.publish(this.table.find(inserted[i]!), list[i]!.pages);
    return at;
  }

  private insertArea(elm: PagesSlice, iova: bigint, prot: number, single: boolean): void {
    const pages = elm.pages;
    if ((prot & IOMMU_WRITE) && !pages.writable) throw new Errno(EPERM, 'write to read-only pages');
    const pageOffset = elm.startByte & (PAGE_SIZE_N - 1n);
    if (pageOffset & (this.iovaAlignment - 1n)) throw new Errno(EINVAL, 'page offset not aligned');
    if (iova + elm.length - 1n > ULONG_MAX) throw new Errno(EOVERFLOW, 'iova + length');
    if (single && this.compactRows && this.table.insertCompact(elm, iova, prot)) return;
    const area = new IoptArea(iova, iova + elm.length - 1n, elm.startByte, prot, pages);
    pages.attached = true;
    // The revoke tracker: a dma-buf's revoke reaches every table mapping its pages.
    pages.dmabuf?.tables.add(this);
    this.table.insertObject(area);
  }

  /** iopt_area_fill_domains for each area; on failure the filled ones are unfilled. */
  private fillAreas(keys: bigint[]): void {
    if (!this.domains.length) return;
    const done: bigint[] = [];
    try {
      for (const k of keys) {
        this.fillRow(this.table.find(k), this.domains);
        done.push(k);
      }
    } catch (e) {
      for (const k of done) this.unfillRow(this.table.find(k), this.domains, true);
      throw e;
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
      const p = this.table.firstIn(start, last);
      if (p < 0) break;
      if (this.table.isCompact(p)) {
        // No locks, no accesses: unmap at once.
        if (!this.table.published(p)) throw new Errno(EBUSY, 'area is being created');
        const aIova = this.table.iova(p), aLen = this.table.length(p), aLast = aIova + aLen - 1n;
        if (aIova < start || aLast > last) throw new Errno(ENOENT, 'range cuts an area');
        if (aIova !== start) tries = 0;
        this.unfillRow(p, this.domains, true);
        this.table.remove(p);
        unmapped += aLen;
        if (aLast >= last) break;
        start = aLast + 1n;
        continue;
      }
      const area = this.table.object(p);
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
      areaUnfillDomains(area, this.domains, true);
      this.table.remove(this.table.find(area.iova));
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
    let p = this.table.at(iova);
    let done = false;
    while (p >= 0) {
      if (!this.table.published(p)) break;
      found.push(p);
      const aLast = this.table.last(p);
      if (lastIova <= aLast) { done = true; break; }
      p = this.table.nextAt(p, aLast + 1n);
    }
    // iopt_get_pages allocates each iopt_pages_list as it walks, so an area
    // found before the hole costs its allocation first.
    for (let i = 0; i < found.length; i++) slabAlloc('iopt_pages_list');
    if (!done) throw new Errno(ENOENT, 'source range has a hole');
    const out: PagesSlice[] = [];
    let cur = iova;
    for (const q of found) {
      const area = this.table.isCompact(q) ? this.table.promote(q) : this.table.object(q);
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
    slabAlloc('iopt_reserved');
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
    for (let p = this.table.first(); p >= 0; p = this.table.next(p)) {
      if (!this.table.aligned(p, align)) throw new Errno(EADDRINUSE, 'existing mapping not aligned');
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
    if (this.domains.length && this.table.size) throw new Errno(EINVAL, 'domains already hold mappings');
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
      // xa_reserve(&iopt->domains, next_domain_id): the domains are kept at
      // indexes 0..n-1; the reserved (zero) entry always needs a node.
      if (faultsArmed()) {
        const n = this.domains.length;
        xaNodeAllocs(new XaShape(Array.from({ length: n }, (_, i) => i), this.domainsXaNode).store(n, true), 'domains');
      }
      // Filling changes no row's place, so positions stay valid.
      const filled: number[] = [];
      try {
        for (let p = this.table.first(); p >= 0; p = this.table.next(p)) {
          if (!this.table.published(p)) continue;
          this.fillRow(p, [domain]);
          filled.push(p);
        }
      } catch (e) {
        const wasFirst = this.domains.length === 0;
        for (const p of filled) this.unfillRow(p, [domain], wasFirst);
        throw e;
      }
    } catch (e) {
      this.removeReserved(domain);
      throw e;
    }
    this.domains.push(domain);
    this.domainsXaNode = true;
    this.iovaAlignment = align;
  }

  /** iopt_table_remove_domain: unmap every area from it; the last domain also unpins. */
  removeDomain(domain: IommuDomain): void {
    const i = this.domains.indexOf(domain);
    if (i < 0) return;
    this.domains.splice(i, 1);
    // The last index is erased (the hole refilled from it): one entry left
    // shrinks back into the xarray's head.
    if (this.domains.length <= 1) this.domainsXaNode = false;
    const last = this.domains.length === 0;
    for (let p = this.table.first(); p >= 0; p = this.table.next(p)) {
      if (this.table.published(p)) this.unfillRow(p, [domain], last);
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
    let p = this.table.at(iova);
    while (p >= 0) {
      const area = this.table.area(p);
      if (!area.pages) break;
      const to = last < area.last ? last : area.last;
      yield { area, from: cur, to };
      if (last <= area.last) return true;
      cur = area.last + 1n;
      p = this.table.nextAt(p, cur);
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
        const area = this.table.owned(r.value.area);
        const aligned = area.startByteOf(from) % PAGE_SIZE_N === 0n
          && (to >= last || area.startByteOf(area.last) % PAGE_SIZE_N === PAGE_SIZE_N - 1n);
        if (area.preventAccess || !aligned) throw new Errno(EINVAL, 'area busy or not page aligned');
        const first = Number(area.startByteOf(from) / PAGE_SIZE_N);
        const lastIdx = Number(area.startByteOf(to) / PAGE_SIZE_N);
        areaAddAccess(area, first, lastIdx, write, o.internal ?? false);
        done.push({ area, first, lastIdx });
        o.onPinned?.(area, first, lastIdx);
        r = it.next();
      }
      if (!r.value) throw new Errno(ENOENT, 'IOVA range has a hole');
    } catch (e) {
      for (const d of done) areaRemoveAccess(d.area, d.first, d.lastIdx, o.internal ?? false);
      throw e;
    }
  }

  /** iommufd_access_unpin_pages: undo an accessPin of exactly the same range. */
  accessUnpin(iova: bigint, length: bigint, internal = false): void {
    if (!length) return;
    const last = iova + length - 1n;
    for (const { area, from, to } of this.contigAreas(iova, last) as Iterable<{ area: IoptArea; from: bigint; to: bigint }>) {
      const first = Number(area.startByteOf(from) / PAGE_SIZE_N);
      const lastIdx = Number(area.startByteOf(to) / PAGE_SIZE_N);
      areaRemoveAccess(area, first, lastIdx, internal);
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
    const area = this.table.owned(view);
    const pages = area.pages!;
    const lhs = new IoptArea(area.iova, iova, area.startByte, area.prot, area.source);
    const rhs = new IoptArea(newStart, area.last, area.startByteOf(newStart), area.prot, area.source);
    // A filled area holds its pages once per index. Cuts of a filled area are
    // page aligned (the alignment is at least PAGE_SIZE without large pages),
    // so the halves' index ranges do not overlap and the holds carry over.
    for (const half of [lhs, rhs]) { half.pages = pages; half.filled = area.filled; }
    pages.refs++;
    this.table.remove(this.table.find(area.iova));
    this.table.insertObject(lhs);
    this.table.insertObject(rhs);
  }

  // ---- dma-buf revoke (the hook core/dmabuf.ts uses) -----------------------

  /**
   * iopt_revoke_notify for this table: unmap every area of `pages` from every
   * domain (the tracker's (area, domain) pairs). The areas stay; the caller
   * marks the pages revoked, so later fills and unfills skip the domains.
   */
  revokeDmabuf(pages: IoptPages): void {
    if (!this.domains.length) return;
    for (let p = this.table.first(); p >= 0; p = this.table.next(p)) {
      if (this.table.isCompact(p)) continue;
      const a = this.table.object(p);
      if (a.source !== pages || !a.filled) continue;
      for (const d of this.domains) d.unmap(a.iova, a.length);
    }
  }
}
