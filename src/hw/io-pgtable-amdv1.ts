// AMD's v1 ("host") page-table format as the kernel's generic page table
// writes it for the AMD IOMMU (drivers/iommu/generic_pt/fmt/amdv1.h): present
// (bit 0), next level 0 for a leaf of its level's own size (4 KiB, 2 MiB,
// 1 GiB, ...) or 7 for a contiguous run of them, written into each entry it
// spans with the size encoded in the address bits (ones below its top bit), force
// coherent FC (bit 60: the IOMMU snoops whatever the device asked), and the
// read (61) and write (62) permissions.
import { IOMMU_READ, IOMMU_WRITE } from './iommu.js';

export const AMDV1PT_FMT_PR = 1n << 0n;
export const AMDV1PT_FMT_NEXT_LEVEL_SHIFT = 9n;
export const AMDV1PT_FMT_NEXT_LEVEL_MASK = 7n << 9n;
export const AMDV1PT_FMT_NL_SIZE = 7n;
export const AMDV1PT_FMT_OA_MASK = ((1n << 52n) - 1n) & ~0xfffn;
export const AMDV1PT_FMT_FC = 1n << 60n;
export const AMDV1PT_FMT_IR = 1n << 61n;
export const AMDV1PT_FMT_IW = 1n << 62n;

/** The leaf translating a block of `size` bytes at `paddr`. */
export function amdv1Leaf(paddr: bigint, size: bigint, prot: number, forceCoherence: boolean): bigint {
  let pte = AMDV1PT_FMT_PR;
  let lg2 = 0;
  while ((1n << BigInt(lg2 + 1)) <= size) lg2++;
  if ((lg2 - 12) % 9 === 0) pte |= paddr & ~(size - 1n) & AMDV1PT_FMT_OA_MASK;
  else pte |= ((paddr & ~(size - 1n)) | ((size >> 1n) - 1n)) & AMDV1PT_FMT_OA_MASK | (AMDV1PT_FMT_NL_SIZE << AMDV1PT_FMT_NEXT_LEVEL_SHIFT);
  if (forceCoherence) pte |= AMDV1PT_FMT_FC;
  if (prot & IOMMU_READ) pte |= AMDV1PT_FMT_IR;
  if (prot & IOMMU_WRITE) pte |= AMDV1PT_FMT_IW;
  return pte;
}
