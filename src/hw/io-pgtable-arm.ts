// The ARM LPAE page-table format as drivers/iommu/io-pgtable-arm.c writes it
// for the SMMU: the 64-bit stage-1 and stage-2 descriptors, with the memory
// attributes IOMMU_CACHE selects. Stage 1 points into MAIR (AttrIndx): index
// 1 is write-back cacheable, 0 non-cacheable, 2 device; stage 2 carries
// MEMATTR itself (outer and inner write-back, or with S2FWB the "force
// write-back" encoding, non-cacheable otherwise). Cacheable mappings are
// inner shareable, the rest outer shareable. Every leaf has the access flag.
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE } from './iommu.js';

export type LpaeFormat = 'ARM_64_LPAE_S1' | 'ARM_64_LPAE_S2';

export interface LpaeConfig {
  readonly fmt: LpaeFormat;
  /** IO_PGTABLE_QUIRK_ARM_S2FWB: stage-2 MEMATTR in the FWB encoding. */
  readonly s2fwb?: boolean;
  /** IO_PGTABLE_QUIRK_ARM_HD: writable stage-1 entries get DBM (hardware dirty state). */
  readonly hd?: boolean;
  /** The translation granule, log2 (4 KiB here, the kernel's PAGE_SIZE). */
  readonly granuleLg2?: number;
}

export const ARM_LPAE_PTE_TYPE_BLOCK = 1n;
export const ARM_LPAE_PTE_TYPE_PAGE = 3n;
export const ARM_LPAE_PTE_XN = 3n << 53n;
export const ARM_LPAE_PTE_DBM = 1n << 51n;
export const ARM_LPAE_PTE_nG = 1n << 11n;
export const ARM_LPAE_PTE_AF = 1n << 10n;
export const ARM_LPAE_PTE_SH_MASK = 3n << 8n;
export const ARM_LPAE_PTE_SH_OS = 2n << 8n;
export const ARM_LPAE_PTE_SH_IS = 3n << 8n;
/** Stage 1: AP[2] read-only, AP[1] unprivileged. */
export const ARM_LPAE_PTE_AP_RDONLY = 1n << 7n;
export const ARM_LPAE_PTE_AP_UNPRIV = 1n << 6n;
/** Stage 2: S2AP. */
export const ARM_LPAE_PTE_HAP_READ = 1n << 6n;
export const ARM_LPAE_PTE_HAP_WRITE = 2n << 6n;
/** Stage 1 AttrIndx (bits 4:2) and the MAIR indexes the SMMU driver programs. */
export const ARM_LPAE_PTE_ATTRINDX_SHIFT = 2n;
export const ARM_LPAE_PTE_ATTRINDX_MASK = 7n << 2n;
export const ARM_LPAE_MAIR_ATTR_IDX_NC = 0n;
export const ARM_LPAE_MAIR_ATTR_IDX_CACHE = 1n;
export const ARM_LPAE_MAIR_ATTR_IDX_DEV = 2n;
/** Stage 2 MEMATTR (bits 5:2). */
export const ARM_LPAE_PTE_MEMATTR_MASK = 0xfn << 2n;
export const ARM_LPAE_PTE_MEMATTR_OIWB = 0xfn << 2n;
export const ARM_LPAE_PTE_MEMATTR_FWB_WB = 0x6n << 2n;
export const ARM_LPAE_PTE_MEMATTR_NC = 0x5n << 2n;
export const ARM_LPAE_PTE_MEMATTR_DEV = 0x1n << 2n;

/** arm_lpae_prot_to_pte: the attribute and permission bits of a leaf for IOMMU_* `prot`. */
export function lpaeProtToPte(cfg: LpaeConfig, prot: number): bigint {
  let pte: bigint;
  if (cfg.fmt === 'ARM_64_LPAE_S1') {
    pte = ARM_LPAE_PTE_nG;
    if (!(prot & IOMMU_WRITE) && (prot & IOMMU_READ)) pte |= ARM_LPAE_PTE_AP_RDONLY;
    else if (cfg.hd) pte |= ARM_LPAE_PTE_DBM;
    if (!(prot & IOMMU_PRIV)) pte |= ARM_LPAE_PTE_AP_UNPRIV;
    if (prot & IOMMU_MMIO) pte |= ARM_LPAE_MAIR_ATTR_IDX_DEV << ARM_LPAE_PTE_ATTRINDX_SHIFT;
    else if (prot & IOMMU_CACHE) pte |= ARM_LPAE_MAIR_ATTR_IDX_CACHE << ARM_LPAE_PTE_ATTRINDX_SHIFT;
  } else {
    pte = 0n;
    if (prot & IOMMU_READ) pte |= ARM_LPAE_PTE_HAP_READ;
    if (prot & IOMMU_WRITE) pte |= ARM_LPAE_PTE_HAP_WRITE;
    if (prot & IOMMU_MMIO) pte |= ARM_LPAE_PTE_MEMATTR_DEV;
    else if (prot & IOMMU_CACHE) pte |= cfg.s2fwb ? ARM_LPAE_PTE_MEMATTR_FWB_WB : ARM_LPAE_PTE_MEMATTR_OIWB;
    else pte |= ARM_LPAE_PTE_MEMATTR_NC;
  }
  pte |= prot & IOMMU_CACHE ? ARM_LPAE_PTE_SH_IS : ARM_LPAE_PTE_SH_OS;
  if (prot & IOMMU_NOEXEC) pte |= ARM_LPAE_PTE_XN;
  return pte | ARM_LPAE_PTE_AF;
}

/** A leaf descriptor: the output address, a page at the last level (the granule) or a block above it. */
export function lpaeLeaf(cfg: LpaeConfig, paddr: bigint, size: bigint, prot: number): bigint {
  const granule = 1n << BigInt(cfg.granuleLg2 ?? 12);
  const type = size === granule ? ARM_LPAE_PTE_TYPE_PAGE : ARM_LPAE_PTE_TYPE_BLOCK;
  return (paddr & ((1n << 48n) - 1n) & ~(size - 1n)) | lpaeProtToPte(cfg, prot) | type;
}

/** The descriptor's memory is write-back cacheable (what makes SMMU DMA coherent). */
export function lpaeCacheable(cfg: LpaeConfig, pte: bigint): boolean {
  if (cfg.fmt === 'ARM_64_LPAE_S1') return (pte & ARM_LPAE_PTE_ATTRINDX_MASK) >> ARM_LPAE_PTE_ATTRINDX_SHIFT === ARM_LPAE_MAIR_ATTR_IDX_CACHE;
  const m = pte & ARM_LPAE_PTE_MEMATTR_MASK;
  return m === (cfg.s2fwb ? ARM_LPAE_PTE_MEMATTR_FWB_WB : ARM_LPAE_PTE_MEMATTR_OIWB);
}
