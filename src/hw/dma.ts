// A PCI function's DMA engine: requests with an IOVA go through the IOMMU
// domain its group is attached to, then to memory, snooping the CPU cache or
// not.
//
// Whether a request snoops is the device's choice (the PCIe No Snoop
// attribute; a driver sets it for buffers it flushes itself) unless the
// IOMMU overrides it: a VT-d second-stage entry with SNP (bit 11) forces the
// request to snoop; other drivers force it for a whole domain (their
// `enforcing` attribute: AMD's FC is in every entry). On an SMMU the entry's
// memory attributes decide: a non-cacheable entry never snoops, a cacheable
// one snoops unless the device sets No Snoop and its root complex lacks
// CANWBS (which turns No Snoop into write-back). A request that does not snoop goes straight to
// DRAM: it reads what memory holds even when a CPU cache line is dirty, and
// its write lands in memory under a dirty line that the CPU keeps reading and
// that will overwrite the device's bytes when it is written back.
//
// One call is one request checked whole before any byte moves: a fault (no
// domain, an IOVA without a translation, a permission the entry lacks, no
// memory behind the page) is recorded against the IOMMU unit and the device,
// answered as EFAULT, and nothing changes.
import { EFAULT, Errno } from '../uapi/errno.js';
import { IOMMU_READ, IOMMU_WRITE, type DirtyOps, type HwDomain, type IommuDevice, type IommuDriver } from './iommu.js';
import { RunDomain } from './run-domain.js';
import { VtdSecondStageDomain, VTD_SS_PTE_R, VTD_SS_PTE_SNP, VTD_SS_PTE_W } from './intel-vtd.js';
import { SmmuDomain } from './arm-smmu-v3.js';
import { CpuCache, type PhysicalMemory } from './cache.js';

export interface DmaOptions {
  /** Set the No Snoop attribute: ask not to snoop CPU caches (default false). */
  readonly noSnoop?: boolean;
}

/**
 * Why a request faulted: no paging domain (the group is blocked or attached
 * to something not modelled), no translation for the IOVA, the entry does not
 * allow the access, or no memory behind the physical page.
 */
export type DmaFaultReason = 'blocked' | 'untranslated' | 'not-present' | 'read-denied' | 'write-denied' | 'no-memory';

/** A DMA fault as the IOMMU unit records it. */
export interface IommuFault {
  readonly device: string;
  readonly iova: bigint;
  readonly write: boolean;
  readonly reason: DmaFaultReason;
}

/** What the bytes of a request met: each translated piece and whether it snooped. */
export interface DmaSegment {
  readonly iova: bigint;
  readonly paddr: bigint;
  readonly length: number;
  /** The request snooped the CPU cache for this piece (asked for, or forced by the IOMMU). */
  readonly snooped: boolean;
  /** The IOMMU (or, on ARM, the CANWBS root complex) forced snooping here: SNP entry, enforcing domain, CANWBS. */
  readonly forced: boolean;
}

export type DmaReadResult =
  | { readonly ok: true; readonly data: Uint8Array; readonly segments: readonly DmaSegment[] }
  | { readonly ok: false; readonly errno: number; readonly fault: IommuFault };

export type DmaWriteResult =
  | { readonly ok: true; readonly segments: readonly DmaSegment[] }
  | { readonly ok: false; readonly errno: number; readonly fault: IommuFault };

/** A domain attribute of drivers that force snooping per domain rather than per entry. */
export interface SnoopEnforcing {
  readonly enforcing?: boolean;
}

const U64_MAX = (1n << 64n) - 1n;

/** The DMA faults a unit has recorded (its fault recording registers), oldest first. */
export function iommuFaults(unit: IommuDriver): readonly IommuFault[] {
  return unit.dmaFaults ?? [];
}

/** One translated piece of a request. */
interface Piece { iova: bigint; paddr: bigint; length: bigint; forced: boolean; uncached?: boolean; }

/**
 * Translate [iova, iova+len) through `domain` for a read or a write: the
 * pieces, or the first fault. VT-d entries give R, W and SNP per entry; other
 * run-based domains give R and W per run and snooping per domain.
 */
function translate(domain: HwDomain | null, iova: bigint, len: number, write: boolean, dev: IommuDevice): { pieces: Piece[]; fault?: { reason: DmaFaultReason; iova: bigint } } {
  const pieces: Piece[] = [];
  if (!domain) return { pieces, fault: { reason: 'blocked', iova } };
  if (domain.kind !== 'paging' || !(domain instanceof RunDomain)) return { pieces, fault: { reason: 'untranslated', iova } };
  const end = iova + BigInt(len);
  const domainForces = (domain as SnoopEnforcing).enforcing === true && !(domain instanceof VtdSecondStageDomain);
  for (let cur = iova; cur < end;) {
    const run = domain.runAt(cur);
    if (!run) return { pieces, fault: { reason: 'not-present', iova: cur } };
    let readable: boolean, writable: boolean, forced: boolean, uncached = false;
    if (domain instanceof SmmuDomain) {
      readable = (run.prot & IOMMU_READ) !== 0;
      writable = (run.prot & IOMMU_WRITE) !== 0;
      uncached = !domain.cacheable(cur);
      forced = !uncached && domain.driver.masterCanwbs(dev);
    } else if (domain instanceof VtdSecondStageDomain) {
      const pte = domain.pte(cur)!;
      readable = (pte & VTD_SS_PTE_R) !== 0n;
      writable = (pte & VTD_SS_PTE_W) !== 0n;
      forced = (pte & VTD_SS_PTE_SNP) !== 0n;
    } else {
      readable = (run.prot & IOMMU_READ) !== 0;
      writable = (run.prot & IOMMU_WRITE) !== 0;
      forced = domainForces;
    }
    if (write ? !writable : !readable) return { pieces, fault: { reason: write ? 'write-denied' : 'read-denied', iova: cur } };
    const stop = run.last + 1n < end ? run.last + 1n : end;
    pieces.push({ iova: cur, paddr: run.paddr + (cur - run.iova), length: stop - cur, forced, uncached });
    cur = stop;
  }
  return { pieces };
}

/**
 * The DMA engine of one device: reads and writes by IOVA. In front of a
 * CpuCache (the library's simulated machine) a request that snoops meets the
 * dirty lines; in front of plain memory (the server: real clients, whose
 * CPU caches are real and coherent) bytes go straight to memory, and each
 * segment still says whether it snooped.
 */
export class DmaEngine {
  /** Faults this device caused, oldest first (the most recent 4096). */
  readonly faults: IommuFault[] = [];
  /** The CPU cache requests meet, if modelled. */
  readonly cache: CpuCache | undefined;
  /** The memory behind the cache (or behind nothing). */
  readonly memory: PhysicalMemory;
  /** Told of every fault as it is recorded (the server's trace). */
  onFault: ((f: IommuFault) => void) | undefined;
  /** Told of every request that moved bytes, with its pieces (the engine's hazard watch). */
  onTransfer: ((write: boolean, iova: bigint, length: number, segments: readonly DmaSegment[]) => void) | undefined;

  constructor(readonly device: IommuDevice, target: CpuCache | PhysicalMemory) {
    this.cache = target instanceof CpuCache ? target : undefined;
    this.memory = target instanceof CpuCache ? target.memory : target;
  }

  private fault(iova: bigint, write: boolean, reason: DmaFaultReason): { ok: false; errno: number; fault: IommuFault } {
    const f: IommuFault = { device: this.device.name, iova, write, reason };
    this.faults.push(f);
    if (this.faults.length > 4096) this.faults.splice(0, this.faults.length - 4096);
    const log = (this.device.driver.dmaFaults ??= []);
    log.push(f);
    if (log.length > 4096) log.splice(0, log.length - 4096);
    this.onFault?.(f);
    return { ok: false, errno: EFAULT, fault: f };
  }

  /** Translate and check a whole request; the pieces with their snoop decision, or a fault. */
  private prepare(iova: bigint, len: number, write: boolean, o: DmaOptions): DmaSegment[] | { ok: false; errno: number; fault: IommuFault } {
    if (!Number.isSafeInteger(len) || len < 0 || iova < 0n || iova + BigInt(len) - 1n > U64_MAX) {
      return this.fault(iova, write, 'not-present');
    }
    const t = translate(this.device.group.domain, iova, len, write, this.device);
    if (t.fault) return this.fault(t.fault.iova, write, t.fault.reason);
    const segs: DmaSegment[] = [];
    for (const p of t.pieces) {
      if (!this.memory.present(p.paddr, Number(p.length), write)) return this.fault(p.iova, write, 'no-memory');
      segs.push({ iova: p.iova, paddr: p.paddr, length: Number(p.length), forced: p.forced, snooped: p.forced || (!o.noSnoop && !p.uncached) });
    }
    return segs;
  }

  /** Read `len` bytes at `iova`. */
  dmaRead(iova: bigint, len: number, o: DmaOptions = {}): DmaReadResult {
    const segs = this.prepare(iova, len, false, o);
    if (!Array.isArray(segs)) return segs;
    const data = new Uint8Array(len);
    let off = 0;
    for (const s of segs) {
      data.set(s.snooped && this.cache ? this.cache.snoopRead(s.paddr, s.length) : this.memory.read(s.paddr, s.length), off);
      off += s.length;
    }
    this.onTransfer?.(false, iova, len, segs);
    return { ok: true, data, segments: segs };
  }

  /** Write `data` at `iova`. */
  dmaWrite(iova: bigint, data: Uint8Array, o: DmaOptions = {}): DmaWriteResult {
    const segs = this.prepare(iova, data.length, true, o);
    if (!Array.isArray(segs)) return segs;
    let off = 0;
    for (const s of segs) {
      const bytes = data.subarray(off, off + s.length);
      if (s.snooped && this.cache) this.cache.snoopWrite(s.paddr, bytes);
      else this.memory.write(s.paddr, bytes);
      off += s.length;
    }
    markDirty(this.device.group.domain, segs);
    this.onTransfer?.(true, iova, data.length, segs);
    return { ok: true, segments: segs };
  }

  /**
   * The pieces of a device model's request as qemu's address_space_rw meets
   * them: translated from the start until the first byte that faults, and
   * that fault (not recorded yet: the access may fault earlier, on memory).
   * Memory itself is checked by the access (one lookup, not two).
   */
  private modelPieces(iova: bigint, len: number, write: boolean, o: DmaOptions): { segs: DmaSegment[]; fault: { iova: bigint; reason: DmaFaultReason } | undefined } {
    const segs: DmaSegment[] = [];
    if (len === 0) return { segs, fault: undefined };
    if (iova < 0n || iova + BigInt(len) - 1n > U64_MAX) return { segs, fault: { iova, reason: 'not-present' } };
    const t = translate(this.device.group.domain, iova, len, write, this.device);
    for (const p of t.pieces) {
      segs.push({ iova: p.iova, paddr: p.paddr, length: Number(p.length), forced: p.forced, snooped: p.forced || (!o.noSnoop && !p.uncached) });
    }
    return { segs, fault: t.fault };
  }

  /** Read one piece into `out` at `off`; false (nothing read) when no memory is behind it. */
  private readPiece(s: DmaSegment, out: Uint8Array, off: number): boolean {
    try {
      out.set(s.snooped && this.cache ? this.cache.snoopRead(s.paddr, s.length) : this.memory.read(s.paddr, s.length), off);
      return true;
    } catch (e) {
      if (e instanceof Errno) return false;
      throw e;
    }
  }

  /**
   * A device model's read (qemu's pci_dma_read): the bytes up to the first
   * faulting one, zeros from there on; false when something faulted.
   */
  readInto(iova: bigint, out: Uint8Array, o: DmaOptions = {}): boolean {
    const { segs, fault } = this.modelPieces(iova, out.length, false, o);
    let off = 0, n = 0;
    for (const s of segs) {
      if (!this.readPiece(s, out, off)) { this.fault(s.iova, false, 'no-memory'); break; }
      off += s.length;
      n++;
    }
    const faulted = n < segs.length || fault !== undefined;
    if (n === segs.length && fault) this.fault(fault.iova, false, fault.reason);
    if (faulted) out.fill(0, off);
    if (n) this.onTransfer?.(false, iova, off, n < segs.length ? segs.slice(0, n) : segs);
    return !faulted;
  }

  /**
   * A device model's write (qemu's pci_dma_write): the bytes up to the
   * first faulting one land, the rest is lost; false when something faulted.
   */
  writeFrom(iova: bigint, data: Uint8Array, o: DmaOptions = {}): boolean {
    const { segs, fault } = this.modelPieces(iova, data.length, true, o);
    let off = 0, n = 0;
    for (const s of segs) {
      const bytes = data.subarray(off, off + s.length);
      try {
        if (s.snooped && this.cache) this.cache.snoopWrite(s.paddr, bytes);
        else this.memory.write(s.paddr, bytes);
      } catch (e) {
        if (!(e instanceof Errno)) throw e;
        this.fault(s.iova, true, 'no-memory');
        break;
      }
      off += s.length;
      n++;
    }
    const done = n < segs.length ? segs.slice(0, n) : segs;
    if (n === segs.length && fault) this.fault(fault.iova, true, fault.reason);
    markDirty(this.device.group.domain, done);
    if (n) this.onTransfer?.(true, iova, off, done);
    return n === segs.length && fault === undefined;
  }

  /**
   * A device model's buffer mapping (qemu's pci_dma_map for a transmit
   * buffer): 'mapped' (`out` holds the bytes) when the whole buffer is
   * translatable and physically contiguous; 'bounce' (`out` holds zeros)
   * when its first byte faults and it fits qemu's one-page bounce buffer;
   * 'failed' otherwise (the frame is dropped).
   */
  mapRead(iova: bigint, out: Uint8Array, o: DmaOptions = {}): 'mapped' | 'bounce' | 'failed' {
    const { segs, fault } = this.modelPieces(iova, out.length, false, o);
    // Memory first: a piece without memory behind it faults where translation would not.
    for (const s of segs) {
      if (!this.memory.present(s.paddr, s.length, false)) {
        this.fault(s.iova, false, 'no-memory');
        if (s === segs[0]) { out.fill(0); return out.length <= 4096 ? 'bounce' : 'failed'; }
        return 'failed';
      }
    }
    if (fault) this.fault(fault.iova, false, fault.reason);
    if (!segs.length && fault) {
      out.fill(0);
      return out.length <= 4096 ? 'bounce' : 'failed';
    }
    if (fault) return 'failed';
    for (let i = 1; i < segs.length; i++) if (segs[i]!.paddr !== segs[i - 1]!.paddr + BigInt(segs[i - 1]!.length)) return 'failed';
    let off = 0;
    for (const s of segs) {
      out.set(s.snooped && this.cache ? this.cache.snoopRead(s.paddr, s.length) : this.memory.read(s.paddr, s.length), off);
      off += s.length;
    }
    this.onTransfer?.(false, iova, out.length, segs);
    return 'mapped';
  }
}

/** The hardware's dirty bits: a write through a domain tracking dirty state marks the pages it touched. */
function markDirty(domain: HwDomain | null, segs: readonly DmaSegment[]): void {
  const ops = (domain as { dirtyOps?: DirtyOps } | null)?.dirtyOps;
  if (!ops?.deviceWrite) return;
  for (const s of segs) if (s.length) ops.deviceWrite(s.iova, BigInt(s.length));
}
