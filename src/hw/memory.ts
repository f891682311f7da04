// Process address spaces as the engine sees them: bytes at virtual addresses,
// the page frames behind them, and per-page pin counts. Two back ends share
// this interface: a simulated process (here) and a real client process read
// through /proc/<pid>/mem (server/process-memory.ts).
import { Errno, EFAULT, EINVAL } from '../uapi/errno.js';
import { randomUUID } from 'node:crypto';
import { RunCounter, type Run } from '../util/run-counter.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_SIZE_N = BigInt(PAGE_SIZE);

/**
 * One mm: a process's virtual memory. Frames are synthetic but stable: the
 * frame behind a page is `pfnBase + (va >> PAGE_SHIFT)`, so a virtually
 * contiguous range is physically contiguous and pins, page tables and DMA all
 * work on runs.
 */
export interface AddressSpace {
  /** A small number naming this mm; distinct mms have distinct frames. */
  readonly id: number;
  /** The machine's frames this mm's are numbered in, with its page cache (one per engine). */
  readonly frames: Frames;
  /** Number this mm's frames in `frames` if not numbered yet (a simulated mm); EINVAL when in others. */
  place?(frames: Frames): void;
  /** Copy `len` bytes out of the process; EFAULT if any byte is unmapped. */
  read(va: bigint, len: number): Uint8Array;
  /** Copy bytes into the process; EFAULT if any byte is unmapped or read-only to the process. */
  write(va: bigint, data: Uint8Array): void;
  /**
   * What pin_user_pages asks: is every page of [va, va+len) mapped, and
   * writable when `write`? EFAULT otherwise. Cost is per mapping, not per page.
   */
  checkPinnable(va: bigint, len: bigint, write: boolean): void;
  /** Pin counts of this mm's pages, by page index (va >> PAGE_SHIFT). */
  readonly pins: RunCounter;
  /** mm->locked_vm and mm->pinned_vm, in pages. */
  lockedVm: number;
  pinnedVm: number;
  /**
   * The MAP_SHARED file mappings of this mm overlapping page indexes
   * [first, end), sorted by start (none: every page is the process's own).
   * Pages there are the file's pages: their frames are the file's (pfnOf)
   * and their pins are counted per file page (MmPins), shared with
   * IOAS_MAP_FILE pins of the same file. Cost is per mapping, not per page.
   */
  sharedFileMaps?(first: number, end: number): readonly SharedFileMap[];
}

/** A MAP_SHARED mapping of a file: page indexes [start, end) of an mm show the file's pages from `pgoff`. */
export interface SharedFileMap {
  readonly start: number;
  readonly end: number;
  /** File page index (vm_pgoff) shown at `start`. */
  readonly pgoff: number;
  /** The file's identity, as FileBacking.identity ("dev:ino"). */
  readonly identity: string;
  /** Open the file's bytes, to make its FileSpace when none is live (pins need one). */
  open(): FileBacking;
}

const NO_MAPS: readonly SharedFileMap[] = Object.freeze([]);

/** The shared file mapping of `maps` holding page index `i`, if any. */
function mapAt(maps: readonly SharedFileMap[], i: number): SharedFileMap | undefined {
  for (const m of maps) if (m.start <= i && i < m.end) return m;
  return undefined;
}

/** The first start of a mapping of `maps` after `i` (or Infinity). */
function nextMapStart(maps: readonly SharedFileMap[], i: number): number {
  let n = Infinity;
  for (const m of maps) if (m.start > i && m.start < n) n = m.start;
  return n;
}

/** The first frame number of mm `id`; frames of different mms never collide. */
export function pfnBase(id: number): bigint {
  return BigInt(id) << 40n;
}

/**
 * The frame behind `va` of `mm`: the process's own (pfnBase(mm.id) + page
 * index), or, inside a MAP_SHARED file mapping, the file's page (the same
 * frame IOAS_MAP_FILE of that file maps, see fileFrameId).
 */
export function pfnOf(mm: AddressSpace, va: bigint): bigint {
  const idx = va >> BigInt(PAGE_SHIFT);
  if (mm.sharedFileMaps) {
    const i = Number(idx);
    const m = mm.sharedFileMaps(i, i + 1)[0];
    if (m) return pfnBase(mm.frames.fileFrameId(m.identity)) + BigInt(m.pgoff + (i - m.start));
  }
  return pfnBase(mm.id) + idx;
}

/** Which mm a frame belongs to, and the virtual address of that frame's page. */
export function frameOwner(pfn: bigint): { mmId: number; va: bigint } {
  return { mmId: Number(pfn >> 40n), va: (pfn & ((1n << 40n) - 1n)) << BigInt(PAGE_SHIFT) };
}

/**
 * The page frames of one machine (an engine's): which numbers name which mm
 * or file (frame spaces, see pfnBase), and the page cache, the live
 * FileSpace of each file identity. Everything in it is the engine's and goes
 * with it; two engines in one process share none of it.
 */
export class Frames {
  private nextId = 1;
  private nextFile = 1;
  /** The frame space id of each file identity looked at (see fileFrameId). */
  private readonly fileIds = new Map<string, number>();
  /** Live file spaces by identity (the page cache), and by frame space id. */
  private readonly files = new Map<string, FileSpace>();
  private readonly filesById = new Map<number, FileSpace>();

  /** A new frame space: an mm's, or a file's. */
  allocMmId(): number {
    return this.nextId++;
  }

  /**
   * The frame space of a file identity: the id of its FileSpace while one is
   * live, and the same number before, so a file page has one frame whoever
   * looks at it (a process through its mapping, a MAP_FILE area). When the
   * last holder lets the space go, the id is forgotten (FileSpace.put): like
   * a page-cache page nobody pins, the file's pages may get other frames
   * later, and the map does not grow with every file ever mapped.
   */
  fileFrameId(identity: string): number {
    let id = this.fileIds.get(identity);
    if (id === undefined) { id = this.allocMmId(); this.fileIds.set(identity, id); }
    return id;
  }

  /** The frame space id file `identity` has now, without giving it one. */
  knownFileFrameId(identity: string): number | undefined {
    return this.fileIds.get(identity);
  }

  /** A name for a file kept in memory here (a SimulatedFile's identity): `sim:KIND:N`. */
  nameFile(kind: string): string {
    return `sim:${kind}:${this.nextFile++}`;
  }

  /** The space of `backing`'s file, held once more. A second backing of a file already known is closed. */
  fileSpace(backing: FileBacking): FileSpace {
    let s = this.files.get(backing.identity);
    if (s && s.backing !== backing) backing.close?.();
    if (!s) {
      s = new FileSpace(this, backing, this.fileFrameId(backing.identity), (gone) => this.forget(gone));
      this.files.set(backing.identity, s);
      this.filesById.set(s.id, s);
    }
    return s.ref();
  }

  /** The live space of file `identity`, if any (not held). */
  liveFile(identity: string): FileSpace | undefined { return this.files.get(identity); }

  /** The live file space with frame space `id` (see frameOwner), if any. */
  fileById(id: number): FileSpace | undefined { return this.filesById.get(id); }

  /** How many live file spaces there are (tests: nothing leaks). */
  get liveFiles(): number { return this.files.size; }

  /** How many file identities have a frame space id now (tests: the map shrinks). */
  get fileFrameIds(): number { return this.fileIds.size; }

  /** The last holder of `s` let go: forget it and its frame space id. */
  private forget(s: FileSpace): void {
    if (this.files.get(s.identity) === s) {
      this.files.delete(s.identity);
      if (this.fileIds.get(s.identity) === s.id) this.fileIds.delete(s.identity);
    }
    this.filesById.delete(s.id);
  }
}

interface Mapping {
  start: bigint; end: bigint; writable: boolean;
  /** A MAP_SHARED mapping of this file (shared: true) from byte `offset` at `start`. */
  file?: FileBacking; offset?: bigint;
}

/**
 * Bytes kept sparsely per touched page: a page never written reads as zeros.
 * The one store behind simulated processes and simulated files.
 */
export class SparsePages {
  private pages = new Map<bigint, Uint8Array>();

  /** Copy `len` bytes from `at` into `out` at `outOff`. */
  readInto(at: bigint, len: number, out: Uint8Array, outOff: number): void {
    let done = 0;
    while (done < len) {
      const a = at + BigInt(done);
      const page = a & ~(PAGE_SIZE_N - 1n);
      const o = Number(a - page);
      const n = Math.min(PAGE_SIZE - o, len - done);
      const p = this.pages.get(page);
      if (p) out.set(p.subarray(o, o + n), outOff + done);
      done += n;
    }
  }

  write(at: bigint, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const a = at + BigInt(done);
      const page = a & ~(PAGE_SIZE_N - 1n);
      const o = Number(a - page);
      const n = Math.min(PAGE_SIZE - o, data.length - done);
      let p = this.pages.get(page);
      if (!p) { p = new Uint8Array(PAGE_SIZE); this.pages.set(page, p); }
      p.set(data.subarray(done, done + n), o);
      done += n;
    }
  }

  /** Forget the pages that start in [start, end). */
  drop(start: bigint, end: bigint): void {
    for (const k of [...this.pages.keys()]) if (k >= start && k < end) this.pages.delete(k);
  }
}

/**
 * A simulated process: mappings made with `mmap`, contents kept sparsely per
 * touched page (a page never written reads as zeros). For the library, tests
 * and demos.
 */
export class SimulatedAddressSpace implements AddressSpace {
  private placed: { frames: Frames; id: number } | undefined;
  readonly pins: RunCounter = new MmPins(this);
  lockedVm = 0;
  pinnedVm = 0;
  private maps: Mapping[] = [];
  private readonly pages = new SparsePages();
  private nextVa = 0x7f0000000000n;

  /**
   * An mm on `frames` (an engine's). Without, the mm is placed by the first
   * place() (a SimProcess opening an engine's file), or, if its frames are
   * needed before, on frames of its own.
   */
  constructor(frames?: Frames) {
    if (frames) this.place(frames);
  }

  get frames(): Frames { return (this.placed ??= this.placeOn(new Frames())).frames; }
  get id(): number { return (this.placed ??= this.placeOn(new Frames())).id; }

  /** Number this mm's frames in `frames`; EINVAL when they are numbered in others already. */
  place(frames: Frames): void {
    if (!this.placed) this.placed = this.placeOn(frames);
    else if (this.placed.frames !== frames) throw new Errno(EINVAL, "the mm's frames are another machine's");
  }

  private placeOn(frames: Frames): { frames: Frames; id: number } {
    return { frames, id: frames.allocMmId() };
  }

  /**
   * Map `len` bytes (rounded up to pages); returns the address. With `file`
   * and `shared`, a MAP_SHARED mapping of the file from byte `offset` (page
   * aligned): its bytes, frames and pins are the file's. (A file mapped
   * without `shared` is a private copy: anonymous memory here.)
   */
  mmap(len: bigint | number, opts: { at?: bigint; writable?: boolean; align?: bigint; file?: FileBacking; offset?: bigint | number; shared?: boolean } = {}): bigint {
    const size = roundUp(BigInt(len), PAGE_SIZE_N);
    let va: bigint;
    if (opts.at !== undefined) va = opts.at;
    else {
      const align = opts.align ?? PAGE_SIZE_N;
      va = roundUp(this.nextVa, align);
      this.nextVa = va + size + PAGE_SIZE_N; // a guard page between mappings
    }
    const offset = BigInt(opts.offset ?? 0);
    if (offset % PAGE_SIZE_N) throw new Errno(EINVAL, 'file offset not page aligned');
    this.munmap(va, size);
    const m: Mapping = { start: va, end: va + size, writable: opts.writable ?? true };
    if (opts.file && opts.shared) { m.file = opts.file; m.offset = offset; }
    this.maps.push(m);
    this.maps.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    return va;
  }

  /** Change whether [va, va+len) is writable (whole mappings or pieces of them). */
  mprotect(va: bigint, len: bigint | number, writable: boolean): void {
    const end = va + BigInt(len);
    const out: Mapping[] = [];
    for (const m of this.maps) {
      if (m.end <= va || m.start >= end) { out.push(m); continue; }
      if (m.start < va) out.push({ ...m, end: va });
      const s = m.start > va ? m.start : va;
      out.push({ ...m, start: s, end: m.end < end ? m.end : end, writable, offset: m.file ? m.offset! + (s - m.start) : undefined });
      if (m.end > end) out.push({ ...m, start: end, offset: m.file ? m.offset! + (end - m.start) : undefined });
    }
    this.maps = out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }

  munmap(va: bigint, len: bigint | number): void {
    const end = va + BigInt(len);
    const out: Mapping[] = [];
    for (const m of this.maps) {
      if (m.end <= va || m.start >= end) { out.push(m); continue; }
      if (m.start < va) out.push({ ...m, end: va });
      if (m.end > end) out.push({ ...m, start: end, offset: m.file ? m.offset! + (end - m.start) : undefined });
    }
    this.maps = out;
    this.pages.drop(va, end);
  }

  sharedFileMaps(first: number, end: number): readonly SharedFileMap[] {
    let out: SharedFileMap[] | undefined;
    for (const m of this.maps) {
      if (!m.file) continue;
      const s = Number(m.start >> BigInt(PAGE_SHIFT)), e = Number(m.end >> BigInt(PAGE_SHIFT));
      if (e <= first || s >= end) continue;
      const file = m.file;
      (out ??= []).push({ start: s, end: e, pgoff: Number(m.offset! >> BigInt(PAGE_SHIFT)), identity: file.identity, open: () => file });
    }
    return out ?? NO_MAPS;
  }

  /** The shared file mapping holding `va`, if any. */
  private hasFileMaps(): boolean {
    return this.maps.some((m) => m.file !== undefined);
  }

  private fileMapAt(va: bigint): Mapping | undefined {
    for (const m of this.maps) if (m.file && m.start <= va && va < m.end) return m;
    return undefined;
  }

  /** How many bytes from va (at most len) are mapped (writable, for a write) without a gap. */
  private coveredBytes(va: bigint, len: bigint, write: boolean): bigint {
    if (len === 0n) return 0n;
    let cur = va;
    const end = va + len;
    for (const m of this.maps) {
      if (m.end <= cur) continue;
      if (m.start > cur) break;
      if (write && !m.writable) break;
      cur = m.end;
      if (cur >= end) return len;
    }
    return cur - va;
  }

  private covered(va: bigint, len: bigint, write: boolean): boolean {
    return this.coveredBytes(va, len, write) === len;
  }

  checkPinnable(va: bigint, len: bigint, write: boolean): void {
    const first = va & ~(PAGE_SIZE_N - 1n);
    if (!this.covered(first, roundUp(va + len, PAGE_SIZE_N) - first, write)) throw new Errno(EFAULT, 'range not mapped');
  }

  read(va: bigint, len: number): Uint8Array {
    if (!this.covered(va, BigInt(len), false)) throw new Errno(EFAULT, 'read of unmapped memory');
    const out = new Uint8Array(new ArrayBuffer(len));
    if (!this.hasFileMaps()) { this.pages.readInto(va, len, out, 0); return out; }
    for (let done = 0; done < len;) {
      const a = va + BigInt(done);
      const n = Math.min(PAGE_SIZE - Number(a & (PAGE_SIZE_N - 1n)), len - done);
      const fm = this.fileMapAt(a & ~(PAGE_SIZE_N - 1n));
      if (fm) out.set(fm.file!.read(fm.offset! + (a - fm.start), n), done);
      else this.pages.readInto(a, n, out, done);
      done += n;
    }
    return out;
  }

  write(va: bigint, data: Uint8Array): void {
    if (!this.covered(va, BigInt(data.length), true)) {
      // copy_to_user stops at the fault: the bytes before it are written.
      const ok = Number(this.coveredBytes(va, BigInt(data.length), true));
      if (ok > 0) this.write(va, data.subarray(0, ok));
      throw new Errno(EFAULT, 'write to unmapped memory');
    }
    if (!this.hasFileMaps()) { this.pages.write(va, data); return; }
    for (let done = 0; done < data.length;) {
      const a = va + BigInt(done);
      const n = Math.min(PAGE_SIZE - Number(a & (PAGE_SIZE_N - 1n)), data.length - done);
      const fm = this.fileMapAt(a & ~(PAGE_SIZE_N - 1n));
      const piece = data.subarray(done, done + n);
      if (fm) fm.file!.write(fm.offset! + (a - fm.start), piece);
      else this.pages.write(a, piece);
      done += n;
    }
  }
}

export function roundUp(x: bigint, a: bigint): bigint {
  return ((x + a - 1n) / a) * a;
}

// ---- files as memory ----------------------------------------------------------
//
// IOMMU_IOAS_MAP_FILE maps the pages of a file (a memfd, a shmem file), not of
// a process. Those pages are the file's page cache: one set per file,
// whoever maps it, with their own frames. A FileSpace is that file seen as an
// AddressSpace whose addresses are file offsets: its frames are
// `pfnBase(space.id) + (offset >> PAGE_SHIFT)` (ids come from the machine's
// Frames, the counter of mm ids, so file frames never collide with a process's), its `pins` count
// per file page, shared by every pages object and every process mapping that
// file.

/** The bytes of an open file, as the engine reaches them (the server opens /proc/<pid>/fd/<n>). */
export interface FileBacking {
  /** Stable identity of the file (e.g. "dev:ino"); two opens of one file give the same. */
  readonly identity: string;
  /**
   * Whether the kernel could pin its pages (memfd_pin_folios: a shmem file —
   * memfd, tmpfs — or hugetlbfs). Anything else maps but never pins (EINVAL).
   */
  readonly isMemfd: boolean;
  /** The file's size in bytes (i_size) now. */
  size(): bigint;
  /** Bytes [off, off+len); bytes past the end read as zeros. */
  read(off: bigint, len: number): Uint8Array;
  /** Store bytes at `off` (the file does not grow past its size here). */
  write(off: bigint, data: Uint8Array): void;
  /** The engine no longer needs the file (the last pages object let go). */
  close?(): void;
}

/**
 * One file's pages as an address space (addresses = file offsets). Shared:
 * `frames.fileSpace(backing)` gives the one space of that file identity on a
 * machine, counted by its holders; `put()` drops a holder and the last one
 * closes the backing.
 */
export class FileSpace implements AddressSpace {
  readonly pins = new RunCounter();
  /** Unused: a file has no locked_vm of its own (charges go to the mapping task). */
  lockedVm = 0;
  pinnedVm = 0;
  private holders = 0;

  /** Made by Frames.fileSpace, which is told (`gone`) when the last holder lets go. */
  constructor(readonly frames: Frames, readonly backing: FileBacking, readonly id: number, private readonly gone: (s: FileSpace) => void) {}

  /** Hold this live space once more (put() lets go). */
  ref(): this { this.holders++; return this; }

  get identity(): string { return this.backing.identity; }
  get isMemfd(): boolean { return this.backing.isMemfd; }
  get size(): bigint { return this.backing.size(); }

  /** Drop a holder; the last one forgets the space and closes the file. */
  put(): void {
    if (--this.holders > 0) return;
    this.gone(this);
    this.backing.close?.();
  }

  /**
   * memfd_pin_folios' checks for the pages of [va, va+len): EINVAL unless the
   * file is shmem/hugetlbfs, and EINVAL when the last byte of the last page
   * is at or past i_size (a partial last page cannot be pinned). The kernel
   * does not look at the file's open mode: `write` changes nothing.
   */
  checkPinnable(va: bigint, len: bigint, _write: boolean): void {
    if (!this.backing.isMemfd) throw new Errno(EINVAL, 'not a memfd/shmem file');
    const first = va & ~(PAGE_SIZE_N - 1n);
    const end = roundUp(va + (len > 0n ? len : 1n), PAGE_SIZE_N) - 1n;
    if (first < 0n || end >= this.backing.size()) throw new Errno(EINVAL, 'past the end of the file');
  }

  read(va: bigint, len: number): Uint8Array {
    this.checkPinnable(va, BigInt(len), false);
    return this.backing.read(va, len);
  }

  write(va: bigint, data: Uint8Array): void {
    this.checkPinnable(va, BigInt(data.length), true);
    this.backing.write(va, data);
  }
}

/**
 * A file kept in memory, for the library and tests: a memfd (shmem, pinnable)
 * or some other file (not pinnable). Sparse per page; never-written bytes read
 * as zeros. Its identity names it in a page cache (Frames.nameFile gives
 * one; SimProcess.memfdCreate names its own); without one it gets a name no
 * other file has.
 */
export class SimulatedFile implements FileBacking {
  private readonly pages = new SparsePages();
  private _size: bigint;

  constructor(size: bigint | number, readonly isMemfd = true, readonly identity = `sim:file:${randomUUID()}`) {
    this._size = BigInt(size);
  }

  size(): bigint { return this._size; }

  /** ftruncate: bytes past the new size are dropped. */
  truncate(size: bigint | number): void {
    this._size = BigInt(size);
    this.pages.drop(this._size, 1n << 64n);
  }

  read(off: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.pages.readInto(off, len, out, 0);
    return out;
  }

  write(off: bigint, data: Uint8Array): void {
    this.pages.write(off, data);
  }
}

// ---- pins of an mm with shared file mappings ------------------------------------

interface PinRoute { start: number; end: number; space: FileSpace; fileStart: number; }

/**
 * An mm's pin counts (AddressSpace.pins) that know about MAP_SHARED file
 * mappings: a pin of a page inside one is a pin of the file's page (its
 * FileSpace's `pins`, shared with IOAS_MAP_FILE of that file), and counts
 * read there (get, slice: MD_CHECK_REFS) are the file page's. Pages outside
 * are counted here, as a plain RunCounter (whose runs(), covered and runCount
 * are those pages only).
 *
 * A pin remembers where it went (a route per pinned piece), so its unpin
 * drops the same page even if the process remapped the address since, as the
 * kernel's unpin drops the page it pinned. The mm holds each file's space
 * while it has routes into it. Work is per run and per mapping, never per page.
 */
export class MmPins extends RunCounter {
  /** Routed pieces, sorted by start, disjoint; every page in one has a count in `routed`. */
  private routes: PinRoute[] = [];
  private readonly routed = new RunCounter();
  /** Spaces held for routes, with the pages routed into each. */
  private readonly held = new Map<FileSpace, number>();

  constructor(private readonly mm: Pick<AddressSpace, 'sharedFileMaps' | 'frames'>) { super(); }

  private maps(first: number, end: number): readonly SharedFileMap[] {
    return this.mm.sharedFileMaps ? this.mm.sharedFileMaps(first, end) : NO_MAPS;
  }

  /** Pins per page of the process's own pages plus those of its file pages (see the class). */
  override add(start: number, len: number, delta: number): Run[] {
    if (len <= 0 || delta === 0) return [];
    const maps = delta > 0 ? this.maps(start, start + len) : NO_MAPS;
    if (!maps.length && !this.routes.length) return super.add(start, len, delta);
    const changed: Run[] = [];
    const end = start + len;
    let cur = start;
    let ri = this.routeIndex(cur);
    while (cur < end) {
      const r = this.routes[ri];
      // A pin follows what is mapped now: an address that was remapped to
      // the process's own memory since an earlier pin routed it pins its own page.
      const now = delta > 0 && r && r.start <= cur ? mapAt(maps, cur) : undefined;
      if (r && r.start <= cur && (delta < 0 || now)) {
        const e = Math.min(r.end, end, now ? now.end : Infinity);
        this.fileAdd(r.space, r.fileStart + (cur - r.start), e - cur, delta);
        changed.push(...this.routed.add(cur, e - cur, delta));
        cur = e;
        if (cur >= r.end) ri++;
        continue;
      }
      let e = Math.min(end, r ? (r.start <= cur ? r.end : r.start) : Infinity);
      const m = mapAt(maps, cur);
      if (m) {
        e = Math.min(e, m.end);
        const space = this.acquire(m);
        const route: PinRoute = { start: cur, end: e, space, fileStart: m.pgoff + (cur - m.start) };
        this.routes.splice(ri, 0, route);
        ri++;
        this.held.set(space, this.held.get(space)! + (e - cur));
        this.fileAdd(space, route.fileStart, e - cur, delta);
        changed.push(...this.routed.add(cur, e - cur, delta));
      } else {
        e = Math.min(e, nextMapStart(maps, cur));
        changed.push(...super.add(cur, e - cur, delta));
      }
      cur = e;
      if (r && cur >= r.end) ri++;
    }
    if (delta < 0) this.dropUnrouted(start, end);
    return changed;
  }

  /** Count at page `index`: its file page's when a shared file mapping shows it now. */
  override get(index: number): number {
    const m = this.maps(index, index + 1)[0];
    if (!m) return super.get(index);
    const space = this.mm.frames.liveFile(m.identity);
    return space ? space.pins.get(m.pgoff + (index - m.start)) : 0;
  }

  /** The runs of [start, start+len) with their counts, file pages' counts where files are mapped now. */
  override slice(start: number, len: number): Array<readonly [number, number, number]> {
    const end = start + len;
    const maps = this.maps(start, end);
    if (!maps.length) return super.slice(start, len);
    const out: Array<readonly [number, number, number]> = [];
    let cur = start;
    while (cur < end) {
      const m = mapAt(maps, cur);
      if (m) {
        const e = Math.min(end, m.end);
        const space = this.mm.frames.liveFile(m.identity);
        const fs = m.pgoff + (cur - m.start);
        if (!space) out.push([cur, e - cur, 0]);
        else for (const [s, n, c] of space.pins.slice(fs, e - cur)) out.push([cur + (s - fs), n, c]);
        cur = e;
      } else {
        const e = Math.min(end, nextMapStart(maps, cur));
        out.push(...super.slice(cur, e - cur));
        cur = e;
      }
    }
    return out;
  }

  /** Pages of this mm pinned into files (tests). */
  get fileRouted(): number { return this.routed.covered; }

  private fileAdd(space: FileSpace, fileStart: number, n: number, delta: number): void {
    space.pins.add(fileStart, n, delta);
  }

  /** Index of the first route ending after `i`. */
  private routeIndex(i: number): number {
    let lo = 0, hi = this.routes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.routes[mid]!.end <= i) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** The file space of mapping `m`, held by this mm from its first route on. */
  private acquire(m: SharedFileMap): FileSpace {
    let s = this.mm.frames.liveFile(m.identity);
    if (s && this.held.has(s)) return s;
    s = s ? s.ref() : this.mm.frames.fileSpace(m.open());
    this.held.set(s, 0);
    return s;
  }

  /** Cut the pages of [start, end) no longer pinned out of the routes; let go of spaces with none left. */
  private dropUnrouted(start: number, end: number): void {
    const out: PinRoute[] = [];
    let i = this.routeIndex(start);
    const first = i;
    for (; i < this.routes.length && this.routes[i]!.start < end; i++) {
      const r = this.routes[i]!;
      for (const [s, n, c] of this.routed.slice(r.start, r.end - r.start)) {
        if (c > 0) {
          const l = out[out.length - 1];
          if (l && l.end === s && l.space === r.space && l.fileStart + (s - l.start) === r.fileStart + (s - r.start)) l.end = s + n;
          else out.push({ start: s, end: s + n, space: r.space, fileStart: r.fileStart + (s - r.start) });
        } else this.release(r.space, n);
      }
    }
    this.routes.splice(first, i - first, ...out);
  }

  private release(space: FileSpace, pages: number): void {
    const left = this.held.get(space)! - pages;
    if (left > 0) { this.held.set(space, left); return; }
    this.held.delete(space);
    space.put();
  }
}
