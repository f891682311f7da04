// A generic paging domain that keeps its translations as runs
// (iova → paddr, length), for the library, tests and benchmarks. Driver
// models (VT-d, SMMUv3, AMD-Vi, the mock) bring their own page formats.
import BTreeModule from 'sorted-btree';
import { Errno, EEXIST, EINVAL } from '../uapi/errno.js';
import type { IommuDomain } from './iommu.js';

const BTree = BTreeModule.default;
type BTreeT<K, V> = InstanceType<typeof BTreeModule.default<K, V>>;
const cmp = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

export interface Run { iova: bigint; last: bigint; paddr: bigint; prot: number; }

export interface RunDomainOptions {
  pgsizeBitmap?: bigint;
  apertureStart?: bigint;
  apertureEnd?: bigint;
}

export class RunDomain implements IommuDomain {
  readonly pgsizeBitmap: bigint;
  readonly apertureStart: bigint;
  readonly apertureEnd: bigint;
  private runs: BTreeT<bigint, Run> = new BTree<bigint, Run>(undefined, cmp);
  /** Bytes currently mapped. */
  mappedBytes = 0n;
  /** Number of map and unmap calls, for tests that count work. */
  mapCalls = 0;
  unmapCalls = 0;

  constructor(o: RunDomainOptions = {}) {
    this.pgsizeBitmap = o.pgsizeBitmap ?? 0x1000n;
    this.apertureStart = o.apertureStart ?? 0n;
    this.apertureEnd = o.apertureEnd ?? (1n << 64n) - 1n;
  }

  get runCount(): number { return this.runs.size; }

  map(iova: bigint, paddr: bigint, length: bigint, prot: number): void {
    const last = iova + length - 1n;
    if (iova < this.apertureStart || last > this.apertureEnd) throw new Errno(EINVAL, 'outside the aperture');
    const lo = this.runs.getPairOrNextLower(last);
    if (lo && lo[1].last >= iova) throw new Errno(EEXIST, 'already mapped');
    this.runs.set(iova, { iova, last, paddr, prot });
    this.mappedBytes += length;
    this.mapCalls++;
  }

  unmap(iova: bigint, length: bigint): void {
    const last = iova + length - 1n;
    this.unmapCalls++;
    for (;;) {
      let p = this.runs.getPairOrNextLower(last);
      if (!p || p[1].last < iova) break;
      const r = p[1];
      this.runs.delete(r.iova);
      const s = r.iova > iova ? r.iova : iova;
      const e = r.last < last ? r.last : last;
      this.mappedBytes -= e - s + 1n;
      if (r.iova < iova) this.runs.set(r.iova, { ...r, last: iova - 1n });
      if (r.last > last) this.runs.set(last + 1n, { iova: last + 1n, last: r.last, paddr: r.paddr + (last + 1n - r.iova), prot: r.prot });
      p = undefined;
    }
  }

  /** The translation run containing `iova`, if any. */
  runAt(iova: bigint): Readonly<Run> | undefined {
    const p = this.runs.getPairOrNextLower(iova);
    return p && p[1].last >= iova ? p[1] : undefined;
  }

  iovaToPhys(iova: bigint): bigint | undefined {
    const p = this.runs.getPairOrNextLower(iova);
    return p && p[1].last >= iova ? p[1].paddr + (iova - p[1].iova) : undefined;
  }

  /** Every translation run, ascending. */
  *translations(): Generator<Readonly<Run>> {
    for (const [, r] of this.runs.entries()) yield r;
  }
}
