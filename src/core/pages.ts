// iopt_pages: a slice of a process's memory that areas map, shared by every
// area (in any IOAS) made from one MAP, with its pins and their charge.
//
// A page index is pinned exactly once while anything holds it: an area that
// has a storage domain, or an access interval (drivers/iommu/iommufd/pages.c).
// `holders` counts those holders per index as runs, so pinning 1 GiB of
// contiguous memory is one run, not 262144 pages.
//
// Most pages objects belong to one MAP's one area and are never shared or
// pinned by an access; the io_pagetable keeps those as a compact row of its
// area table (area-table.ts) with no object at all. An IoptPages asked for such an area
// is a *view* bound to the row: it reads the row, and the first change
// (a hold, an access pin, a COPY sharing it) turns the row into the object
// form, with this object as its pages. Per-index state (RunCounter, access
// intervals) is made only when something is held.
import { Errno, EFAULT, EINVAL, ENOMEM, EPERM } from '../uapi/errno.js';
import { XaShape, faultsArmed, iommufdShouldFail, pageAllocShouldFail, slabShouldFail, xaNodeAllocs } from './faults.js';
import { PAGE_SHIFT, PAGE_SIZE_N, pfnOf, type AddressSpace, type FileSpace } from '../hw/memory.js';
import type { Task, UserAccount } from './task.js';
import { RunCounter } from '../util/run-counter.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE, type IommuDomain } from '../hw/iommu.js';
import type { IoptArea } from './area.js';
import type { AreaTable, CompactRow } from './area-table.js';

export type AccountMode = 'NONE' | 'USER' | 'MM';
export const ACCOUNT_MODES: readonly AccountMode[] = ['NONE', 'USER', 'MM'];

/**
 * iopt_pages_update_pinned's accounting: charge (inc) or uncharge `n` pages
 * to `task`'s user or mm as `mode` says. ENOMEM over RLIMIT_MEMLOCK, and then
 * nothing changed.
 */
export function chargePages(task: Task, mode: AccountMode, n: number, inc: boolean): void {
  if (mode !== 'NONE') {
    // incr/decr_user_locked_vm (the user's count) or the mm's locked_vm.
    // Only a charge reads the limit (task_rlimit): an uncharged mode never
    // does, so pages of a process that has exited since still pin.
    const acct = mode === 'USER' ? task.user : task.mm;
    if (inc) {
      if (BigInt(acct.lockedVm + n) > task.rlimitMemlock >> BigInt(PAGE_SHIFT)) {
        throw new Errno(ENOMEM, `RLIMIT_MEMLOCK (${mode === 'USER' ? 'user' : 'mm'})`);
      }
      acct.lockedVm += n;
    } else acct.lockedVm -= Math.min(n, acct.lockedVm);
  }
  task.mm.pinnedVm += inc ? n : -n;
}

/**
 * What a pages view asks of the area table keeping its compact row.
 * `compactState`: 0 row compact and not held, 1 compact and held once over
 * every index (its area is filled), -1 the row is no longer compact (or gone).
 * `ownPages`: make the row the object form; returns the pages now in charge
 * (`view` itself when it was adopted), or null when the row is gone.
 */
export interface CompactPagesHost {
  compactState(view: IoptPages, key: bigint): number;
  ownPages(view: IoptPages, key: bigint): IoptPages | null;
}

/** What an iopt_pages maps: a process's memory (MAP), a file's pages or a dma-buf (MAP_FILE). */
export type PagesKind = 'user' | 'file' | 'dmabuf';

/**
 * What a 'dmabuf' pages holds of its dma-buf (the kernel's pages->dmabuf: the
 * dynamic attachment and the physical range it was given; core/dmabuf.ts
 * makes it). The memory is physically contiguous and never pinned or charged
 * (IOPT_PAGES_ACCOUNT_NONE); a revoke unmaps it from every domain for good.
 */
export interface DmabufAttachment {
  /** The buffer's memory: its frames, as a space whose addresses are buffer offsets. */
  readonly space: FileSpace;
  /** phys.len == 0: the exporter revoked the buffer; nothing maps these pages again. */
  readonly revoked: boolean;
  /** The io_pagetables whose areas map these pages (the tracker's domains are theirs). */
  readonly tables: Set<DmabufImporter>;
  /** iopt_release_pages: dma_buf_unpin, dma_buf_detach, dma_buf_put. */
  detach(): void;
}

/** An io_pagetable as the revoke path sees it (iopt_revoke_notify). */
export interface DmabufImporter {
  /** Unmap every area of `pages` from every domain that holds it. */
  revokeDmabuf(pages: IoptPages): void;
}

export class IoptPages {
  private _refs = 1;
  private _sourceTask: Task;
  /** IOPT_ADDRESS_USER or IOPT_ADDRESS_FILE. */
  readonly kind: PagesKind;
  /** The file of a 'file' pages, the buffer of a 'dmabuf' one (null for 'user'): its pages, pins and frames. */
  readonly file: FileSpace | null;
  /** The dma-buf attachment of a 'dmabuf' pages (null otherwise). */
  readonly dmabuf: DmabufAttachment | null;
  private _accountMode: AccountMode;
  private _holders: RunCounter | null = null;
  private _npinned = 0;
  private _lastNpinned = 0;
  /** Access intervals by "first:last" index → users (access_itree); an exact repeat only counts a user. */
  private _intervals: Map<string, number> | null = null;
  /** Set while this object is a view of a compact row (host, the area's IOVA). */
  private host: CompactPagesHost | null = null;
  private hostKey = 0n;
  /** True once an area in object form maps these pages (they can no longer become a compact row). */
  attached = false;

  constructor(
    task: Task,
    /**
     * Page-aligned address of index 0 in `mm`: the user address for 'user'
     * pages, the file offset (pages->start) for 'file' pages.
     */
    readonly uptr: bigint,
    readonly npages: number,
    readonly writable: boolean,
    /** A file's space: these are file pages (iopt_alloc_file_pages); the caller's hold passes to them. */
    file?: FileSpace,
    /** A dma-buf attachment: these are dma-buf pages (iopt_alloc_dmabuf_pages); they detach it when released. */
    dmabuf?: DmabufAttachment,
  ) {
    this._sourceTask = task;
    this._accountMode = dmabuf ? 'NONE' : task.capIpcLock ? 'NONE' : 'USER';
    this.kind = dmabuf ? 'dmabuf' : file ? 'file' : 'user';
    this.file = dmabuf ? dmabuf.space : file ?? null;
    this.dmabuf = dmabuf ?? null;
  }

  /** iopt_dmabuf_revoked: a dma-buf whose exporter took the memory back (never true for other kinds). */
  get revoked(): boolean { return this.dmabuf?.revoked ?? false; }

  /** The task whose RLIMIT_MEMLOCK limits the charge (the mapper's group leader). */
  get sourceTask(): Task { return this._sourceTask; }

  /**
   * Where the bytes and the pins live: the source task's mm for 'user'
   * pages, the file's space (addresses = file offsets) for 'file' pages.
   */
  get mm(): AddressSpace { return this.file ?? this._sourceTask.mm; }
  /** The mm charged (pages->source_mm): always the source task's. */
  get sourceMm(): AddressSpace { return this._sourceTask.mm; }
  get user(): UserAccount { return this._sourceTask.user; }

  /**
   * IOMMU_IOAS_CHANGE_PROCESS's change_mm: from now on `task` is charged and
   * limits. Moving the charge itself is the caller's business. File pages only.
   */
  changeSource(task: Task): void {
    const o = this.own();
    if (o !== this) { o.changeSource(task); return; }
    this._sourceTask = task;
  }

  /**
   * The uncharge half of a CHANGE_PROCESS (iopt_pages_update_pinned(pages,
   * npinned, false)): the old owner lets go of every pinned page's charge.
   */
  unchargeAll(): void {
    const o = this.own();
    if (o !== this) { o.unchargeAll(); return; }
    chargePages(this._sourceTask, this._accountMode, this._npinned, false);
    this._lastNpinned = this._npinned;
  }

  // ---- view plumbing ---------------------------------------------------------

  /** The compact row of a view is gone (unmapped): keep the unmapped state (area table only). */
  detachCompact(): void {
    if (!this.host) return;
    this.host = null; this._refs = 0;
  }

  /** Make this object a view of a compact row (area table only). */
  bindCompact(host: CompactPagesHost, key: bigint, mode: AccountMode): void {
    this.host = host; this.hostKey = key; this._accountMode = mode;
    this._refs = 1; this._holders = null; this._npinned = this._lastNpinned = 0; this._intervals = null;
  }

  /**
   * Turn a view into the object form of its row (area table only): held
   * once over every index when the area was filled, pinned and charged already.
   */
  adoptCompact(held: boolean): void {
    this.host = null;
    this._refs = 1;
    if (held) {
      this._holders = new RunCounter();
      this._holders.add(0, this.npages, +1);
      this._npinned = this._lastNpinned = this.npages;
    }
  }

  /** Whether this object is fresh: never attached to an area, nothing held. */
  get fresh(): boolean {
    return !this.host && !this.attached && this._npinned === 0 && (!this._holders || this._holders.runCount === 0) && (!this._intervals || this._intervals.size === 0);
  }

  /** -1 when this object holds its own state, else the compact row's state. */
  private cs(): number {
    return this.host ? this.host.compactState(this, this.hostKey) : -1;
  }

  /** The object whose state is authoritative (a view turns its row into object form). */
  private own(): IoptPages {
    const h = this.host;
    if (!h) return this;
    const p = h.ownPages(this, this.hostKey);
    if (p && p !== this) return p;
    this.host = null; // adopted, or the row is gone (nothing held any more)
    return this;
  }

  // ---- state -----------------------------------------------------------------

  /** kref: one per area that maps these pages, plus transient list references. */
  get refs(): number { return this.cs() >= 0 ? 1 : this.own()._refs; }
  set refs(v: number) {
    const o = this.own();
    const was = o._refs;
    o._refs = v;
    // The last reference of file pages drops the file (fput), of dma-buf pages the attachment.
    if (was > 0 && v <= 0) {
      if (o.dmabuf) o.dmabuf.detach();
      else if (o.file) o.file.put();
    }
  }

  get accountMode(): AccountMode { return this.cs() >= 0 ? this._accountMode : this.own()._accountMode; }
  set accountMode(m: AccountMode) { this.own()._accountMode = m; }

  /** Holders per index as runs. Pages that were never pinned keep no per-index state at all. */
  get holders(): RunCounter {
    const s = this.cs();
    if (s >= 0) {
      const r = new RunCounter();
      if (s === 1) r.add(0, this.npages, +1);
      return r;
    }
    const o = this.own();
    return o._holders ??= new RunCounter();
  }

  get npinned(): number { const s = this.cs(); return s >= 0 ? s * this.npages : this.own()._npinned; }
  get lastNpinned(): number { const s = this.cs(); return s >= 0 ? s * this.npages : this.own()._lastNpinned; }

  get accessIntervals(): Map<string, number> {
    if (this.cs() >= 0) return new Map();
    const o = this.own();
    return o._intervals ??= new Map();
  }

  /** mm page index of pages index `i`. */
  private mmIndex(i: number): number {
    return Number(this.uptr >> BigInt(PAGE_SHIFT)) + i;
  }

  /**
   * Add one holder to indexes [start, start+n): pin whatever was not pinned
   * yet (EFAULT if the memory is not there), then charge the change in
   * npinned (ENOMEM over RLIMIT_MEMLOCK). On failure nothing has changed.
   * `pinPoints` false: the caller passed the pin's injection points itself
   * (an access's fill, span by span).
   */
  hold(start: number, n: number, pinPoints = true): void {
    // dma-buf PFNs come from the exporter: nothing is pinned or charged.
    if (this.dmabuf) return;
    const o = this.own();
    if (o !== this) return o.hold(start, n, pinPoints);
    const holders = this._holders ??= new RunCounter();
    const fresh = holders.add(start, n, +1);
    const pinned: Array<readonly [number, number]> = [];
    const mm = this.mm;
    try {
      // pfn_reader's injection points when it must pin: the page-list
      // allocation (ENOMEM), then pin_user_pages (EFAULT).
      if (fresh.length && pinPoints) pinInjectionPoints(fresh[0]![1]);
      for (const [s, len] of fresh) {
        const va = this.uptr + (BigInt(s) << BigInt(PAGE_SHIFT));
        mm.checkPinnable(va, BigInt(len) * PAGE_SIZE_N, this.writable);
        mm.pins.add(this.mmIndex(s), len, +1);
        this._npinned += len;
        pinned.push([s, len]);
      }
      this.updatePinned();
    } catch (e) {
      for (const [s, len] of pinned) {
        mm.pins.add(this.mmIndex(s), len, -1);
        this._npinned -= len;
      }
      holders.add(start, n, -1);
      throw e;
    }
  }

  /** Drop one holder from [start, start+n); unpin and uncharge what is left unheld. Never fails. */
  release(start: number, n: number): void {
    if (this.dmabuf) return;
    const o = this.own();
    if (o !== this) return o.release(start, n);
    const holders = this._holders ??= new RunCounter();
    for (const [s, len] of holders.add(start, n, -1)) {
      this.mm.pins.add(this.mmIndex(s), len, -1);
      this._npinned -= len;
    }
    if (this._npinned < this._lastNpinned) this.charge(this._lastNpinned - this._npinned, false);
  }

  /** iopt_area_add_access: hold [first, last] for an access, once per distinct interval. */
  accessHold(first: number, last: number): void {
    // iopt_area_add_access: accesses cannot pin dma-buf pages.
    if (this.dmabuf) throw new Errno(EINVAL, 'dma-buf pages cannot be pinned by an access');
    const o = this.own();
    if (o !== this) return o.accessHold(first, last);
    const m = this._intervals ??= new Map();
    const key = `${first}:${last}`;
    const users = m.get(key);
    if (users) { m.set(key, users + 1); return; }
    // The iopt_pages_access allocation, then iopt_pages_fill_xarray.
    if (slabShouldFail()) throw new Errno(ENOMEM, 'injected: access allocation');
    this.fillXarrayPoints(first, last);
    this.hold(first, last - first + 1, false);
    m.set(key, 1);
  }

  /**
   * iopt_pages_rw_access's injection points off the fast path (a file's
   * pages, another mm's, or the slow-path flag), for indexes [first, last]:
   * one user page is pinned alone (iopt_pages_rw_page: EINVAL); otherwise
   * iopt_pages_rw_slow allocates its batch (ENOMEM), then pins each hole
   * no access or domain holds, the page/folio list allocated at the first
   * (ENOMEM), each pin EFAULT.
   */
  rwInjectionPoints(first: number, last: number): void {
    const o = this.own();
    if (o !== this) return o.rwInjectionPoints(first, last);
    if (this.kind === 'user' && first === last) {
      if (iommufdShouldFail()) throw new Errno(EINVAL, 'injected: rw page');
      return;
    }
    tempKmalloc((last - first + 1) * BATCH_ELEM, 'batch allocation');
    let list = false;
    for (const [s, len, held] of (this._holders ?? new RunCounter()).slice(first, last - first + 1)) {
      if (held) continue;
      if (!list) tempKmalloc(len * 8, 'page list allocation');
      list = true;
      if (iommufdShouldFail()) throw new Errno(EFAULT, 'injected: pin_user_pages');
      this.mm.checkPinnable(this.uptr + (BigInt(s) << BigInt(PAGE_SHIFT)), BigInt(len) * PAGE_SIZE_N, this.writable);
    }
  }

  /**
   * iopt_pages_fill_xarray's injection points, span by span: a span an
   * access already holds has none; one a domain holds is stored into the
   * xarray (pages_to_xarray: EINVAL); a hole is pinned first (a file's folio
   * list is allocated at the first: ENOMEM; pin: EFAULT), then stored. A hole
   * that cannot be pinned fails there, before the later spans' points. The
   * charge (update pinned) comes after every span, in hold().
   */
  private fillXarrayPoints(first: number, last: number): void {
    const covered = new RunCounter();
    for (const k of this._intervals?.keys() ?? []) {
      const [a, b] = k.split(':').map(Number) as [number, number];
      if (b >= first && a <= last) covered.add(a, b - a + 1, 1);
    }
    let folios = this.kind !== 'file';
    // pages->pinned_pfns holds a value entry per index an access pins: its
    // node shape, for the xa_nodes pages_to_xarray allocates (only while a
    // fault can fire).
    let shape: XaShape | undefined;
    if (faultsArmed()) {
      const idx: number[] = [];
      for (const [s, len, c] of covered.slice(0, this.npages)) if (c) for (let i = 0; i < len; i++) idx.push(s + i);
      shape = new XaShape(idx);
    }
    for (const [s, len, c] of covered.slice(first, last - first + 1)) {
      if (c) continue;
      for (const [hs, hlen, held] of (this._holders ?? new RunCounter()).slice(s, len)) {
        if (!held) {
          if (!folios) tempKmalloc(hlen * 8, 'folio list allocation');
          folios = true;
          if (iommufdShouldFail()) throw new Errno(EFAULT, 'injected: pin_user_pages');
          this.mm.checkPinnable(this.uptr + (BigInt(hs) << BigInt(PAGE_SHIFT)), BigInt(hlen) * PAGE_SIZE_N, this.writable);
        }
        // pages_to_xarray: index by index, the injection point half-way
        // (before storing the middle index), each store's new xa_nodes.
        if (!shape) {
          if (iommufdShouldFail()) throw new Errno(EINVAL, 'injected: pages_to_xarray');
          continue;
        }
        const half = Math.floor(hlen / 2);
        for (let i = 0; i < hlen; i++) {
          if (i === half && iommufdShouldFail()) throw new Errno(EINVAL, 'injected: pages_to_xarray');
          xaNodeAllocs(shape.store(hs + i), 'pinned_pfns');
        }
      }
    }
  }

  /** iopt_area_remove_access: the interval must match an earlier hold exactly. */
  accessRelease(first: number, last: number): boolean {
    if (this.dmabuf || this.cs() >= 0) return false; // a compact row has no access intervals
    const o = this.own();
    if (o !== this) return o.accessRelease(first, last);
    const m = this._intervals;
    const key = `${first}:${last}`;
    const users = m?.get(key);
    if (!m || !users) return false;
    if (users > 1) { m.set(key, users - 1); return true; }
    m.delete(key);
    this.release(first, last - first + 1);
    return true;
  }

  /** Charge the growth of npinned since the last update (pfn_reader_update_pinned). */
  private updatePinned(): void {
    if (this._npinned > this._lastNpinned && iommufdShouldFail()) throw new Errno(ENOMEM, 'injected: update pinned');
    if (this._npinned > this._lastNpinned) this.charge(this._npinned - this._lastNpinned, true);
    else if (this._npinned < this._lastNpinned) this.charge(this._lastNpinned - this._npinned, false);
  }

  /** iopt_pages_update_pinned: apply a charge of `n` pages in this pages' mode. */
  private charge(n: number, inc: boolean): void {
    chargePages(this.sourceTask, this._accountMode, n, inc);
    this._lastNpinned = this._npinned;
  }

  /** Physical address of byte `byte` of these pages (frames follow the VA; see hw/memory). */
  paddr(byte: bigint): bigint {
    return pagesPaddr(this.mm, this.uptr + byte);
  }

  /** The physically contiguous runs behind `len` bytes from byte `byte`. */
  physRuns(byte: bigint, len: bigint): PhysRun[] {
    return physicalRuns(this.mm, this.uptr + byte, len);
  }
}

/**
 * Physical address behind user address `va` of `mm`: frames follow the VA
 * (id << 52) + va, except in a MAP_SHARED file mapping, whose pages are the
 * file's (hw/memory pfnOf).
 */
export function pagesPaddr(mm: AddressSpace, va: bigint): bigint {
  if (!mm.sharedFileMaps) return (BigInt(mm.id) << 52n) + va;
  return (pfnOf(mm, va) << PAGE_SHIFT_N) | (va & PAGE_MASK_N);
}
const PAGE_SHIFT_N = BigInt(PAGE_SHIFT);
const PAGE_MASK_N = PAGE_SIZE_N - 1n;

/** A physically contiguous piece of a user range: `len` bytes at byte `off` of the range, from `paddr`. */
export interface PhysRun { readonly off: bigint; readonly len: bigint; readonly paddr: bigint; }

/**
 * The physically contiguous runs behind [va, va+len) of `mm` (what
 * batch_to_domain maps with one iommu_map each): anonymous memory follows
 * the VA, a shared file mapping follows its file's pages. One run per
 * mapping crossed, never per page.
 */
export function physicalRuns(mm: AddressSpace, va: bigint, len: bigint): PhysRun[] {
  if (!mm.sharedFileMaps || len <= 0n) return [{ off: 0n, len, paddr: pagesPaddr(mm, va) }];
  const first = Number(va >> PAGE_SHIFT_N);
  const end = Number((va + len + PAGE_MASK_N) >> PAGE_SHIFT_N);
  // Boundaries: where a file mapping starts or ends inside the range.
  const cuts = new Set<bigint>();
  for (const m of mm.sharedFileMaps(first, end)) {
    for (const page of [m.start, m.end]) {
      const at = BigInt(page) << PAGE_SHIFT_N;
      if (at > va && at < va + len) cuts.add(at);
    }
  }
  const points = [va, ...[...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), va + len];
  const out: PhysRun[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const s = points[i]!, e = points[i + 1]!;
    const paddr = pagesPaddr(mm, s);
    const prev = out[out.length - 1];
    if (prev && prev.paddr + prev.len === paddr) out[out.length - 1] = { off: prev.off, len: prev.len + (e - s), paddr: prev.paddr };
    else out.push({ off: s - va, len: e - s, paddr });
  }
  return out;
}

/** kmalloc's largest slab size (KMALLOC_MAX_CACHE_SIZE, x86-64 SLUB: two pages); larger goes to the page allocator. */
const KMALLOC_MAX_CACHE_SIZE = 8192;
/** TEMP_MEMORY_LIMIT at its default (iommufd_test_memory_limit). */
const TEMP_MEMORY_LIMIT = 65536;
/** pfn_batch's bytes per entry: an unsigned long pfn and a u32 count. */
export const BATCH_ELEM = 12;

/**
 * temp_kmalloc(&size, NULL, 0) (pages.c), its injection points in order:
 * iommufd_should_fail (ENOMEM); then kmalloc(min(size, TEMP_MEMORY_LIMIT),
 * GFP_KERNEL | __GFP_NORETRY): a slab allocation up to
 * KMALLOC_MAX_CACHE_SIZE, above it a page allocation of its order; when
 * that fails, kmalloc(PAGE_SIZE, GFP_KERNEL), a slab allocation whose
 * failure is the ENOMEM. (A lowered test memory limit is not modelled.)
 */
export function tempKmalloc(size: number, what: string): void {
  if (iommufdShouldFail()) throw new Errno(ENOMEM, `injected: ${what}`);
  const n = Math.min(size, TEMP_MEMORY_LIMIT);
  let order = 0;
  while ((PAGE_BYTES << order) < n) order++;
  const failed = n <= KMALLOC_MAX_CACHE_SIZE ? slabShouldFail() : pageAllocShouldFail(order);
  if (failed && slabShouldFail()) throw new Errno(ENOMEM, `injected: ${what} (PAGE_SIZE)`);
}

/**
 * The injection points pfn_reader passes before pinning user pages
 * (pfn_reader_user_pin): its page (or folio) list for the `npages` of the
 * first hole, then pin_user_pages (EFAULT).
 */
export function pinInjectionPoints(npages: number): void {
  tempKmalloc(npages * 8, 'page list allocation');
  if (iommufdShouldFail()) throw new Errno(EFAULT, 'injected: pin_user_pages');
}

// ---- areas and their pages: domain fill and access pins (pages.c) ---------------

/** batch_to_domain: one iommu_map per physically contiguous run; on failure what this call mapped is unmapped. */
export function batchToDomain(d: IommuDomain, iova: bigint, runs: readonly PhysRun[], prot: number): void {
  let done = 0;
  try {
    for (const r of runs) { d.map(iova + r.off, r.paddr, r.len, prot); done++; }
  } catch (e) {
    for (let i = 0; i < done; i++) d.unmap(iova + runs[i]!.off, runs[i]!.len);
    throw e;
  }
}

/**
 * iopt_area_fill_domains (one domain: iopt_area_fill_domain): hold the
 * area's pages if no domain holds them yet, then map the area into
 * `domains`. All or nothing.
 */
export function areaFillDomains(a: IoptArea, domains: readonly IommuDomain[]): void {
  // A revoked dma-buf fills nothing (iopt_area_fill_domain{,s}); its areas still count as filled.
  if (a.source.revoked) { a.filled = true; return; }
  tempKmalloc(a.indexCount * BATCH_ELEM, 'batch allocation'); // pfn_reader_init's batch_init
  const firstFill = !a.filled;
  if (firstFill) a.source.hold(a.firstIndex, a.indexCount);
  // dma-buf PFNs are a BATCH_MMIO batch: mapped without IOMMU_CACHE.
  const prot = a.source.dmabuf ? a.prot & ~IOMMU_CACHE : a.prot;
  const mapped: IommuDomain[] = [];
  try {
    const runs = a.source.physRuns(a.startByte, a.length);
    for (const d of domains) {
      batchToDomain(d, a.iova, runs, prot);
      mapped.push(d);
    }
  } catch (e) {
    for (const d of mapped) d.unmap(a.iova, a.length);
    if (firstFill) a.source.release(a.firstIndex, a.indexCount);
    throw e;
  }
  a.filled = true;
}

/**
 * iopt_area_unfill_domains (one domain: iopt_area_unfill_domain): unmap the
 * area from `domains`; with `release` (no domain holds it any more) also let
 * go of the pages' hold.
 */
export function areaUnfillDomains(a: IoptArea, domains: readonly IommuDomain[], release: boolean): void {
  // A revoked dma-buf's areas are in no domain any more (iopt_area_unfill_domain).
  if (!a.source.revoked) for (const d of domains) d.unmap(a.iova, a.length);
  if (a.filled && release) {
    a.source.release(a.firstIndex, a.indexCount);
    a.filled = false;
  }
}

/** Hold every index of a compact row's pages once: pin, then charge; all or nothing (IoptPages.hold). */
function compactPagesHold(r: CompactRow): void {
  const mm = r.task.mm;
  pinInjectionPoints(r.npages);
  mm.checkPinnable(BigInt(r.uptr), BigInt(r.npages) * PAGE_SIZE_N, r.writable);
  mm.pins.add(r.uptr / PAGE_BYTES, r.npages, +1);
  try {
    if (iommufdShouldFail()) throw new Errno(ENOMEM, 'injected: update pinned');
    chargePages(r.task, r.mode, r.npages, true);
  } catch (e) {
    mm.pins.add(r.uptr / PAGE_BYTES, r.npages, -1);
    throw e;
  }
}

/** Undo compactPagesHold (IoptPages.release of every index). */
function compactPagesRelease(r: CompactRow): void {
  r.task.mm.pins.add(r.uptr / PAGE_BYTES, r.npages, -1);
  chargePages(r.task, r.mode, r.npages, false);
}
const PAGE_BYTES = Number(PAGE_SIZE_N);

/** areaFillDomains for the compact row at `pos` of `table` (no pages object is made). */
export function compactAreaFillDomains(table: AreaTable, pos: number, domains: readonly IommuDomain[]): void {
  const r = table.compactRow(pos);
  // pfn_reader's batch allocation: injection points for every area filled.
  tempKmalloc(r.npages * BATCH_ELEM, 'batch allocation');
  const firstFill = !r.filled;
  if (firstFill) compactPagesHold(r);
  const length = BigInt(r.len);
  const runs = physicalRuns(r.task.mm, BigInt(r.uptr + r.pageOff), length);
  const mapped: IommuDomain[] = [];
  try {
    for (const d of domains) {
      batchToDomain(d, r.iova, runs, r.prot);
      mapped.push(d);
    }
  } catch (e) {
    for (const d of mapped) d.unmap(r.iova, length);
    if (firstFill) compactPagesRelease(r);
    throw e;
  }
  table.setFilled(pos, true);
}

/** areaUnfillDomains for the compact row at `pos` of `table`. */
export function compactAreaUnfillDomains(table: AreaTable, pos: number, domains: readonly IommuDomain[], release: boolean): void {
  const r = table.compactRow(pos);
  for (const d of domains) d.unmap(r.iova, BigInt(r.len));
  if (r.filled && release) {
    compactPagesRelease(r);
    table.setFilled(pos, false);
  }
}

/**
 * iopt_area_add_access: pin pages indexes [first, last] of an area in object
 * form for an access (EPERM for the area's protection); `lockArea` (internal
 * accesses) also locks the area against unmap.
 */
export function areaAddAccess(area: IoptArea, first: number, last: number, write: boolean, lockArea: boolean): void {
  if (write ? !(area.prot & IOMMU_WRITE) : !(area.prot & IOMMU_READ)) throw new Errno(EPERM, 'area protection');
  area.source.accessHold(first, last);
  area.numAccesses++;
  if (lockArea) area.numLocks++;
}

/** iopt_area_remove_access: undo an areaAddAccess of exactly [first, last]. */
export function areaRemoveAccess(area: IoptArea, first: number, last: number, unlockArea: boolean): void {
  if (!area.numAccesses) return; // compact rows hold no access pins
  if (area.source.accessRelease(first, last)) {
    area.numAccesses--;
    if (unlockArea) area.numLocks--;
  }
}
