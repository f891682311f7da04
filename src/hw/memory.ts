// Process address spaces as the engine sees them: bytes at virtual addresses,
// the page frames behind them, and per-page pin counts. Two back ends share
// this interface: a simulated process (here) and a real client process read
// through /proc/<pid>/mem (server/process-memory.ts).
import { Errno, EFAULT, EINVAL } from '../uapi/errno.js';
import { RunCounter } from '../util/run-counter.js';

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
}

/** The first frame number of mm `id`; frames of different mms never collide. */
export function pfnBase(id: number): bigint {
  return BigInt(id) << 40n;
}

export function pfnOf(mm: AddressSpace, va: bigint): bigint {
  return pfnBase(mm.id) + (va >> BigInt(PAGE_SHIFT));
}

/** Which mm a frame belongs to, and the virtual address of that frame's page. */
export function frameOwner(pfn: bigint): { mmId: number; va: bigint } {
  return { mmId: Number(pfn >> 40n), va: (pfn & ((1n << 40n) - 1n)) << BigInt(PAGE_SHIFT) };
}

let nextMmId = 1;
export function allocMmId(): number {
  return nextMmId++;
}

interface Mapping { start: bigint; end: bigint; writable: boolean; }

/**
 * A simulated process: mappings made with `mmap`, contents kept sparsely per
 * touched page (a page never written reads as zeros). For the library, tests
 * and demos.
 */
export class SimulatedAddressSpace implements AddressSpace {
  readonly id = allocMmId();
  readonly pins = new RunCounter();
  lockedVm = 0;
  pinnedVm = 0;
  private maps: Mapping[] = [];
  private pages = new Map<bigint, Uint8Array>();
  private nextVa = 0x7f0000000000n;

  /** Map `len` bytes (rounded up to pages); returns the address. */
  mmap(len: bigint | number, opts: { at?: bigint; writable?: boolean; align?: bigint } = {}): bigint {
    const size = roundUp(BigInt(len), PAGE_SIZE_N);
    let va: bigint;
    if (opts.at !== undefined) va = opts.at;
    else {
      const align = opts.align ?? PAGE_SIZE_N;
      va = roundUp(this.nextVa, align);
      this.nextVa = va + size + PAGE_SIZE_N; // a guard page between mappings
    }
    this.munmap(va, size);
    this.maps.push({ start: va, end: va + size, writable: opts.writable ?? true });
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
      out.push({ start: m.start > va ? m.start : va, end: m.end < end ? m.end : end, writable });
      if (m.end > end) out.push({ ...m, start: end });
    }
    this.maps = out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }

  munmap(va: bigint, len: bigint | number): void {
    const end = va + BigInt(len);
    const out: Mapping[] = [];
    for (const m of this.maps) {
      if (m.end <= va || m.start >= end) { out.push(m); continue; }
      if (m.start < va) out.push({ ...m, end: va });
      if (m.end > end) out.push({ ...m, start: end });
    }
    this.maps = out;
    for (const k of [...this.pages.keys()]) if (k >= va && k < end) this.pages.delete(k);
  }

  private covered(va: bigint, len: bigint, write: boolean): boolean {
    if (len === 0n) return true;
    let cur = va;
    const end = va + len;
    for (const m of this.maps) {
      if (m.end <= cur) continue;
      if (m.start > cur) return false;
      if (write && !m.writable) return false;
      cur = m.end;
      if (cur >= end) return true;
    }
    return false;
  }

  checkPinnable(va: bigint, len: bigint, write: boolean): void {
    const first = va & ~(PAGE_SIZE_N - 1n);
    if (!this.covered(first, roundUp(va + len, PAGE_SIZE_N) - first, write)) throw new Errno(EFAULT, 'range not mapped');
  }

  read(va: bigint, len: number): Uint8Array {
    if (!this.covered(va, BigInt(len), false)) throw new Errno(EFAULT, 'read of unmapped memory');
    const out = new Uint8Array(new ArrayBuffer(len));
    let done = 0;
    while (done < len) {
      const a = va + BigInt(done);
      const page = a & ~(PAGE_SIZE_N - 1n);
      const off = Number(a - page);
      const n = Math.min(PAGE_SIZE - off, len - done);
      const p = this.pages.get(page);
      if (p) out.set(p.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  write(va: bigint, data: Uint8Array): void {
    if (!this.covered(va, BigInt(data.length), true)) throw new Errno(EFAULT, 'write to unmapped memory');
    let done = 0;
    while (done < data.length) {
      const a = va + BigInt(done);
      const page = a & ~(PAGE_SIZE_N - 1n);
      const off = Number(a - page);
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      let p = this.pages.get(page);
      if (!p) { p = new Uint8Array(PAGE_SIZE); this.pages.set(page, p); }
      p.set(data.subarray(done, done + n), off);
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
// `pfnBase(space.id) + (offset >> PAGE_SHIFT)` (ids come from the same counter
// as mm ids, so file frames never collide with a process's), its `pins` count
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

const fileSpaces = new Map<string, FileSpace>();
const fileSpacesById = new Map<number, FileSpace>();

/**
 * One file's pages as an address space (addresses = file offsets). Shared:
 * `FileSpace.get(backing)` gives the one space of that file identity, counted
 * by its holders; `put()` drops a holder and the last one closes the backing.
 */
export class FileSpace implements AddressSpace {
  readonly id = allocMmId();
  readonly pins = new RunCounter();
  /** Unused: a file has no locked_vm of its own (charges go to the mapping task). */
  lockedVm = 0;
  pinnedVm = 0;
  private holders = 0;

  private constructor(readonly backing: FileBacking) {}

  /** The space of `backing`'s file, held once more. A second backing of a file already known is closed. */
  static get(backing: FileBacking): FileSpace {
    let s = fileSpaces.get(backing.identity);
    if (s && s.backing !== backing) backing.close?.();
    if (!s) {
      s = new FileSpace(backing);
      fileSpaces.set(backing.identity, s);
      fileSpacesById.set(s.id, s);
    }
    s.holders++;
    return s;
  }

  /** The live space with frame space `id` (see frameOwner), if any. */
  static byId(id: number): FileSpace | undefined { return fileSpacesById.get(id); }

  /** How many live file spaces there are (tests: nothing leaks). */
  static get live(): number { return fileSpaces.size; }

  get identity(): string { return this.backing.identity; }
  get isMemfd(): boolean { return this.backing.isMemfd; }
  get size(): bigint { return this.backing.size(); }

  /** Drop a holder; the last one forgets the space and closes the file. */
  put(): void {
    if (--this.holders > 0) return;
    if (fileSpaces.get(this.identity) === this) fileSpaces.delete(this.identity);
    fileSpacesById.delete(this.id);
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

let nextSimFile = 1;

/**
 * A file kept in memory, for the library and tests: a memfd (shmem, pinnable)
 * or some other file (not pinnable). Sparse per page; never-written bytes read
 * as zeros.
 */
export class SimulatedFile implements FileBacking {
  readonly identity: string;
  private pages = new Map<bigint, Uint8Array>();
  private _size: bigint;

  constructor(size: bigint | number, readonly isMemfd = true, name = 'memfd') {
    this._size = BigInt(size);
    this.identity = `sim:${name}:${nextSimFile++}`;
  }

  size(): bigint { return this._size; }

  /** ftruncate: bytes past the new size are dropped. */
  truncate(size: bigint | number): void {
    this._size = BigInt(size);
    for (const k of [...this.pages.keys()]) if (k >= this._size) this.pages.delete(k);
  }

  read(off: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = off + BigInt(done);
      const page = a & ~(PAGE_SIZE_N - 1n);
      const o = Number(a - page);
      const n = Math.min(PAGE_SIZE - o, len - done);
      const p = this.pages.get(page);
      if (p) out.set(p.subarray(o, o + n), done);
      done += n;
    }
    return out;
  }

  write(off: bigint, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const a = off + BigInt(done);
      const page = a & ~(PAGE_SIZE_N - 1n);
      const o = Number(a - page);
      const n = Math.min(PAGE_SIZE - o, data.length - done);
      let p = this.pages.get(page);
      if (!p) { p = new Uint8Array(PAGE_SIZE); this.pages.set(page, p); }
      p.set(data.subarray(done, done + n), o);
      done += n;
    }
  }
}
