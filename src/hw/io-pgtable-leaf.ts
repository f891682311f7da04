// The leaf entry a page table would hold for an IOVA of a run-based domain:
// the kernel's iommu_map splits a mapping into the largest page sizes that the
// IOVA, the physical address and the length allow, so the leaf covering an
// IOVA is the largest supported block, aligned in both spaces, that lies
// wholly inside the run it was mapped from.
import type { Run } from './run-domain.js';

export interface Leaf {
  /** The block's first IOVA and physical address. */
  readonly iova: bigint;
  readonly paddr: bigint;
  /** Its size, a power of two from the domain's page sizes. */
  readonly size: bigint;
}

/** The leaf of `run` that translates `iova` (which must lie in the run). */
export function leafAt(run: Readonly<Run>, iova: bigint, pgsizeBitmap: bigint): Leaf {
  let best: Leaf | undefined;
  for (let b = pgsizeBitmap; b; b &= b - 1n) {
    const size = b & -b;
    const start = iova & ~(size - 1n);
    if (start < run.iova || start + size - 1n > run.last) continue;
    const paddr = run.paddr + (start - run.iova);
    if (paddr & (size - 1n)) continue;
    best = { iova: start, paddr, size };
  }
  // A run always starts and ends on the smallest page: that size fits.
  return best ?? { iova, paddr: run.paddr + (iova - run.iova), size: pgsizeBitmap & -pgsizeBitmap };
}
