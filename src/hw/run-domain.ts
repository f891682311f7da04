// A generic paging domain that keeps its translations as runs
// (iova → paddr, length), for the library, tests and benchmarks. Driver
// models (VT-d, SMMUv3, AMD-Vi, the mock) bring their own page formats on
// top of it.
//
// The runs live in typed-array rows (util/sorted-rows), one row of six
// 32-bit words per run: the IOVA (the key), the physical address, the
// length's low word, and its high bits with the protection in the top byte.
// A domain with 100k one-page runs holds 2.4 MB, never an object per run;
// runAt() and translations() hand out a fresh Run to read.
import { Errno, EEXIST, EINVAL } from '../uapi/errno.js';
import { SortedRows, hi32, lo32 } from '../util/sorted-rows.js';
import type { IommuDomain } from './iommu.js';

export interface Run { iova: bigint; last: bigint; paddr: bigint; prot: number; }

export interface RunDomainOptions {
  pgsizeBitmap?: bigint;
  apertureStart?: bigint;
  apertureEnd?: bigint;
}

/** Row words: 0-1 iova, 2-3 paddr, 4 length low, 5 length high (24 bits) | prot << 24. */
const W = 6, PADDR = 2, LEN_LO = 4, LEN_HI_PROT = 5;
const PROT_SHIFT = 24, LEN_HI_MASK = 0xffffff;
/** A run's protection bits fit in a byte (IOMMU_READ ... IOMMU_PRIV, and one driver bit, 1 << 7). */
export const RUN_PROT_MASK = 0xff;
/** The longest run one row holds; longer maps take several rows. */
const MAX_ROW_LEN = 1n << 55n;

export class RunDomain implements IommuDomain {
  readonly pgsizeBitmap: bigint;
  readonly apertureStart: bigint;
  readonly apertureEnd: bigint;
  private readonly rows = new SortedRows(W);
  /** Bytes currently mapped. */
  mappedBytes = 0n;

  constructor(o: RunDomainOptions = {}) {
    this.pgsizeBitmap = o.pgsizeBitmap ?? 0x1000n;
    this.apertureStart = o.apertureStart ?? 0n;
    this.apertureEnd = o.apertureEnd ?? (1n << 64n) - 1n;
  }

  get runCount(): number { return this.rows.size; }

  /** Bytes held by the run rows (for the bench). */
  tableBytes(): number { return this.rows.bytes(); }

  private read(pos: number): Run {
    const a = this.rows.arr(pos), o = this.rows.offset(pos);
    const iova = (BigInt(a[o]!) << 32n) | BigInt(a[o + 1]!);
    const hp = a[o + LEN_HI_PROT]!;
    const len = (BigInt(hp & LEN_HI_MASK) << 32n) | BigInt(a[o + LEN_LO]!);
    return { iova, last: iova + len - 1n, paddr: (BigInt(a[o + PADDR]!) << 32n) | BigInt(a[o + PADDR + 1]!), prot: hp >>> PROT_SHIFT };
  }

  private put(iova: bigint, paddr: bigint, length: bigint, prot: number): void {
    const pos = this.rows.insert(hi32(iova), lo32(iova));
    const a = this.rows.arr(pos), o = this.rows.offset(pos);
    a[o + PADDR] = hi32(paddr); a[o + PADDR + 1] = lo32(paddr);
    a[o + LEN_LO] = lo32(length);
    a[o + LEN_HI_PROT] = (hi32(length) & LEN_HI_MASK) | ((prot & RUN_PROT_MASK) << PROT_SHIFT);
  }

  /** The row of the last run starting at or below `iova`, or -1. */
  private floor(iova: bigint): number {
    return this.rows.floor(hi32(iova), lo32(iova));
  }

  map(iova: bigint, paddr: bigint, length: bigint, prot: number): void {
    const last = iova + length - 1n;
    if (iova < this.apertureStart || last > this.apertureEnd) throw new Errno(EINVAL, 'outside the aperture');
    if ((prot & ~RUN_PROT_MASK) !== 0) throw new RangeError(`run protection 0x${prot.toString(16)} does not fit a byte`);
    const p = this.floor(last);
    if (p >= 0 && this.read(p).last >= iova) throw new Errno(EEXIST, 'already mapped');
    for (let off = 0n; off < length; off += MAX_ROW_LEN) {
      const n = length - off < MAX_ROW_LEN ? length - off : MAX_ROW_LEN;
      this.put(iova + off, paddr + off, n, prot);
    }
    this.mappedBytes += length;
  }

  unmap(iova: bigint, length: bigint): void {
    const last = iova + length - 1n;
    for (;;) {
      const p = this.floor(last);
      if (p < 0) break;
      const r = this.read(p);
      if (r.last < iova) break;
      this.rows.remove(p);
      const s = r.iova > iova ? r.iova : iova;
      const e = r.last < last ? r.last : last;
      this.mappedBytes -= e - s + 1n;
      if (r.iova < iova) this.put(r.iova, r.paddr, iova - r.iova, r.prot);
      if (r.last > last) this.put(last + 1n, r.paddr + (last + 1n - r.iova), r.last - last, r.prot);
    }
  }

  /** The translation run containing `iova`, if any. */
  runAt(iova: bigint): Readonly<Run> | undefined {
    const p = this.floor(iova);
    if (p < 0) return undefined;
    const r = this.read(p);
    return r.last >= iova ? r : undefined;
  }

  iovaToPhys(iova: bigint): bigint | undefined {
    const r = this.runAt(iova);
    return r ? r.paddr + (iova - r.iova) : undefined;
  }

  /** Every translation run, ascending. */
  *translations(): Generator<Readonly<Run>> {
    for (let p = this.rows.first(); p >= 0; p = this.rows.next(p)) yield this.read(p);
  }
}
