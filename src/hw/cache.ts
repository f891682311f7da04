// Physical memory and the CPU's write-back cache in front of it: what a
// device's DMA meets on the other side of the IOMMU.
//
// Physical addresses follow hw/memory's frames: the byte at `va` of mm `id`
// lives at (id << 52) + va, so a frame names its owner (frameOwner) and a
// virtually contiguous buffer is physically contiguous. SystemMemory turns a
// physical range back into (mm, va) and reads or writes the process's bytes:
// that is DRAM.
//
// CpuCache is the coherency domain of the CPUs (one, shared by all cores,
// as the last-level cache is). A CPU store lands in a cache line and stays
// there, dirty, until something writes it back: clflush of that line,
// wbinvd of everything, or a snooping DMA that touches it. A CPU load sees
// the line first. Only dirty lines are kept (a Map keyed by the line's
// physical address, 64 bytes each); a line the CPU only read is not
// modelled, so the staleness this model shows is what dirty data causes, and
// untouched memory costs nothing.
import { Errno, EFAULT, EINVAL } from '../uapi/errno.js';
import { Frames, PAGE_SHIFT, PAGE_SIZE, pfnOf, type AddressSpace } from './memory.js';

export const CACHE_LINE = 64;
const LINE = BigInt(CACHE_LINE);
const LINE_MASK = LINE - 1n;
const PAGE_MASK = (1n << BigInt(PAGE_SHIFT)) - 1n;
/** A physical address is the mm id << 52 | the VA (pfnBase's 40 bits of frame number above the page offset). */
const MM_SHIFT = 40n + BigInt(PAGE_SHIFT);
const VA_MASK = (1n << MM_SHIFT) - 1n;

/** The physical address behind `va` of `mm` (frames follow the VA; see hw/memory). */
export function physAddr(mm: AddressSpace, va: bigint): bigint {
  return (pfnOf(mm, va) << BigInt(PAGE_SHIFT)) | (va & PAGE_MASK);
}

/** DRAM as devices and the cache see it: bytes at physical addresses. */
export interface PhysicalMemory {
  /** EFAULT when some byte has no memory behind it. */
  read(paddr: bigint, len: number): Uint8Array;
  /** EFAULT when some byte has no memory behind it (nothing is written then). */
  write(paddr: bigint, data: Uint8Array): void;
  /** Whether every byte of [paddr, paddr+len) has memory behind it (writable memory when `write`). */
  present(paddr: bigint, len: number, write: boolean): boolean;
}

/**
 * The physical memory of processes (simulated ones, or real clients through
 * /proc/PID/mem): each registered address space owns the frames of its mm
 * id. A file's frames (a MAP_SHARED file mapping: qemu's guest RAM memfd,
 * hugetlbfs pages) are reached through a registered process that maps the
 * file there. A frame nobody registered maps (or a page its process no
 * longer maps) has no memory behind it.
 */
export class SystemMemory implements PhysicalMemory {
  private readonly spaces = new Map<number, AddressSpace>();

  /** DRAM of the machine whose page frames are `frames` (the engine's). */
  constructor(readonly frames: Frames = new Frames()) {}

  /** Make `mm`'s frames reachable (idempotent); an mm not numbered yet is numbered in ours, one numbered in others is EINVAL. */
  addAddressSpace(mm: AddressSpace): void {
    mm.place?.(this.frames);
    if (mm.frames !== this.frames) throw new Errno(EINVAL, "the mm's frames are another machine's");
    this.spaces.set(mm.id, mm);
  }

  removeAddressSpace(mm: AddressSpace): void {
    if (this.spaces.get(mm.id) === mm) this.spaces.delete(mm.id);
  }

  /** The process bytes behind [paddr, paddr+len), which never cross from one mm into another. */
  private owner(paddr: bigint, len: number): { mm: AddressSpace; va: bigint } | undefined {
    // frameOwner's arithmetic on the address itself: the mm id above bit 52, the VA below.
    const id = Number(paddr >> MM_SHIFT);
    if (len > 1 && Number((paddr + BigInt(len - 1)) >> MM_SHIFT) !== id) return undefined;
    const va = paddr & VA_MASK;
    const mm = this.spaces.get(id);
    if (mm) return { mm, va };
    return this.fileOwner(id, Number(va >> BigInt(PAGE_SHIFT)), paddr & PAGE_MASK, len);
  }

  /** Where file frame space `fileId`, page `pg`, is mapped shared by a registered process (the last hit first). */
  private readonly fileHits = new Map<number, { mm: AddressSpace; start: number; end: number; pgoff: number; identity: string }>();

  private fileOwner(fileId: number, pg: number, off: bigint, len: number): { mm: AddressSpace; va: bigint } | undefined {
    const pages = Math.max(1, Math.ceil((Number(off) + len) / PAGE_SIZE));
    const fits = (h: { start: number; end: number; pgoff: number }) => h.pgoff <= pg && pg + pages <= h.pgoff + (h.end - h.start);
    const at = (h: { mm: AddressSpace; start: number; pgoff: number }) => ({ mm: h.mm, va: (BigInt(h.start + pg - h.pgoff) << BigInt(PAGE_SHIFT)) | off });
    const hit = this.fileHits.get(fileId);
    if (hit && fits(hit) && this.spaces.get(hit.mm.id) === hit.mm) {
      const i = hit.start + pg - hit.pgoff;
      const still = hit.mm.sharedFileMaps!(i, i + 1)[0];
      if (still && still.identity === hit.identity && still.start === hit.start && still.pgoff === hit.pgoff) return at(hit);
    }
    this.fileHits.delete(fileId);
    for (const mm of this.spaces.values()) {
      if (!mm.sharedFileMaps) continue;
      for (const m of mm.sharedFileMaps(0, Number.MAX_SAFE_INTEGER)) {
        // Looked up, not given: a file without an id has no frame anyone could name.
        if (this.frames.knownFileFrameId(m.identity) !== fileId) continue;
        const h = { mm, start: m.start, end: m.end, pgoff: m.pgoff, identity: m.identity };
        if (!fits(h)) continue;
        this.fileHits.set(fileId, h);
        return at(h);
      }
    }
    return undefined;
  }

  present(paddr: bigint, len: number, write: boolean): boolean {
    if (len === 0) return true;
    const o = this.owner(paddr, len);
    if (!o) return false;
    try {
      o.mm.checkPinnable(o.va, BigInt(len), write);
      return true;
    } catch (e) {
      if (e instanceof Errno) return false;
      throw e;
    }
  }

  read(paddr: bigint, len: number): Uint8Array {
    if (len === 0) return new Uint8Array(0);
    const o = this.owner(paddr, len);
    if (!o) throw new Errno(EFAULT, `no memory at physical 0x${paddr.toString(16)}`);
    return o.mm.read(o.va, len);
  }

  write(paddr: bigint, data: Uint8Array): void {
    if (data.length === 0) return;
    const o = this.owner(paddr, data.length);
    if (!o) throw new Errno(EFAULT, `no memory at physical 0x${paddr.toString(16)}`);
    o.mm.write(o.va, data);
  }
}

/** The lines of [paddr, paddr+len), as line addresses. */
function* linesOf(paddr: bigint, len: number): Generator<bigint> {
  if (len <= 0) return;
  const last = (paddr + BigInt(len) - 1n) & ~LINE_MASK;
  for (let l = paddr & ~LINE_MASK; l <= last; l += LINE) yield l;
}

/** A write-back CPU cache over `memory`, holding dirty lines only. */
export class CpuCache {
  /** Dirty lines by physical line address; each a full 64-byte line. */
  private readonly dirty = new Map<bigint, Uint8Array>();
  /** Lines written back to memory so far (by clflush, wbinvd or a snoop). */
  writebacks = 0;

  constructor(readonly memory: PhysicalMemory) {}

  /** Lines holding data memory does not have yet. */
  get dirtyLines(): number { return this.dirty.size; }

  /** Whether the line holding `paddr` is dirty. */
  isDirty(paddr: bigint): boolean {
    return this.dirty.has(paddr & ~LINE_MASK);
  }

  /**
   * The dirty lines that meet [paddr, paddr+len), ascending: walks the range
   * or the dirty set, whichever is smaller.
   */
  private dirtyIn(paddr: bigint, len: number): bigint[] {
    if (len <= 0 || this.dirty.size === 0) return [];
    const lines = Math.ceil(len / CACHE_LINE) + 1;
    const out: bigint[] = [];
    if (lines <= this.dirty.size) {
      for (const l of linesOf(paddr, len)) if (this.dirty.has(l)) out.push(l);
      return out;
    }
    const lo = paddr & ~LINE_MASK, end = paddr + BigInt(len);
    for (const l of this.dirty.keys()) if (l >= lo && l < end) out.push(l);
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Copy the overlap of dirty line `l` into `out`, which holds [paddr, paddr+out.length). */
  private overlay(out: Uint8Array, paddr: bigint, l: bigint): void {
    const line = this.dirty.get(l)!;
    const s = l > paddr ? l : paddr;
    const e = l + LINE < paddr + BigInt(out.length) ? l + LINE : paddr + BigInt(out.length);
    out.set(line.subarray(Number(s - l), Number(e - l)), Number(s - paddr));
  }

  /** Memory as a coherent agent sees it: DRAM with the dirty lines on top. */
  private coherentView(paddr: bigint, len: number): Uint8Array {
    const out = this.memory.read(paddr, len);
    for (const l of this.dirtyIn(paddr, len)) this.overlay(out, paddr, l);
    return out;
  }

  /** A CPU load: the cache first, then memory. */
  cpuRead(paddr: bigint, len: number): Uint8Array {
    return this.coherentView(paddr, len);
  }

  /**
   * A CPU store (write-back, write-allocate): each line touched is filled
   * from memory if it is not dirty already, takes the bytes and stays dirty.
   * Memory is not written. EFAULT (nothing changes) without memory behind it.
   */
  cpuWrite(paddr: bigint, data: Uint8Array): void {
    if (!this.memory.present(paddr, data.length, true)) throw new Errno(EFAULT, `no memory at physical 0x${paddr.toString(16)}`);
    const end = paddr + BigInt(data.length);
    for (const l of linesOf(paddr, data.length)) {
      let line = this.dirty.get(l);
      if (!line) {
        line = this.memory.read(l, CACHE_LINE);
        this.dirty.set(l, line);
      }
      const s = l > paddr ? l : paddr;
      const e = l + LINE < end ? l + LINE : end;
      line.set(data.subarray(Number(s - paddr), Number(e - paddr)), Number(s - l));
    }
  }

  /** Write dirty line `l` back and drop it. */
  private writeBack(l: bigint): void {
    const line = this.dirty.get(l);
    if (!line) return;
    this.memory.write(l, line);
    this.dirty.delete(l);
    this.writebacks++;
  }

  /** clflush of every line of [paddr, paddr+len): dirty ones go to memory; returns how many. */
  clflush(paddr: bigint, len = 1): number {
    const ls = this.dirtyIn(paddr, len);
    for (const l of ls) this.writeBack(l);
    return ls.length;
  }

  /** wbinvd: write back every dirty line and empty the cache; returns the lines written back. */
  wbinvd(): number {
    const n = this.dirty.size;
    for (const l of [...this.dirty.keys()]) this.writeBack(l);
    return n;
  }

  /** A snooped device read: coherent, it sees the dirty lines. */
  snoopRead(paddr: bigint, len: number): Uint8Array {
    return this.coherentView(paddr, len);
  }

  /**
   * A snooped device write: the touched dirty lines are written back and
   * invalidated first, so the CPU's next load sees the device's bytes and no
   * later write-back can overwrite them.
   */
  snoopWrite(paddr: bigint, data: Uint8Array): void {
    for (const l of this.dirtyIn(paddr, data.length)) this.writeBack(l);
    this.memory.write(paddr, data);
  }
}
