// The live view's reading of a paging domain: its translation runs, each cut
// into groups of equal leaf entries the way the iommu core's page-size
// splitter cuts a mapping (the largest size that the IOVA, the physical
// address and the length allow, then smaller towards the end), and the leaf
// entry of each group with its attribute bits explained per format: VT-d
// second stage (R, W, SNP), ARM LPAE stage 1/2 (AP/S2AP, AttrIndx/MEMATTR,
// SH, AF, nG, XN, DBM, page or block), AMD v1 (PR, next level, FC, IR, IW).
// Everything here costs O(runs x page sizes), never O(pages).
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE } from '../hw/iommu.js';
import { RunDomain, type Run } from '../hw/run-domain.js';
import { VtdSecondStageDomain, VTD_SS_PTE_R, VTD_SS_PTE_SNP, VTD_SS_PTE_W } from '../hw/intel-vtd.js';
import { VtdFirstStageDomain, VTD_FS_PTE_A, VTD_FS_PTE_D, VTD_FS_PTE_P, VTD_FS_PTE_RW, VTD_FS_PTE_US } from '../hw/intel-vtd-fs.js';
import { SmmuDomain } from '../hw/arm-smmu-v3.js';
import { AmdV1Domain } from '../hw/amd-vi.js';
import { MockPagingDomain } from '../hw/mock-iommu.js';
import {
  ARM_LPAE_MAIR_ATTR_IDX_CACHE, ARM_LPAE_MAIR_ATTR_IDX_DEV, ARM_LPAE_MAIR_ATTR_IDX_NC, ARM_LPAE_PTE_AF, ARM_LPAE_PTE_AP_RDONLY,
  ARM_LPAE_PTE_AP_UNPRIV, ARM_LPAE_PTE_ATTRINDX_MASK, ARM_LPAE_PTE_ATTRINDX_SHIFT, ARM_LPAE_PTE_DBM, ARM_LPAE_PTE_HAP_READ,
  ARM_LPAE_PTE_HAP_WRITE, ARM_LPAE_PTE_MEMATTR_DEV, ARM_LPAE_PTE_MEMATTR_FWB_WB, ARM_LPAE_PTE_MEMATTR_MASK, ARM_LPAE_PTE_MEMATTR_NC,
  ARM_LPAE_PTE_MEMATTR_OIWB, ARM_LPAE_PTE_nG, ARM_LPAE_PTE_SH_IS, ARM_LPAE_PTE_SH_MASK, ARM_LPAE_PTE_SH_OS, ARM_LPAE_PTE_TYPE_PAGE,
  ARM_LPAE_PTE_XN, type LpaeConfig,
} from '../hw/io-pgtable-arm.js';
import {
  AMDV1PT_FMT_FC, AMDV1PT_FMT_IR, AMDV1PT_FMT_IW, AMDV1PT_FMT_NEXT_LEVEL_MASK, AMDV1PT_FMT_NEXT_LEVEL_SHIFT, AMDV1PT_FMT_NL_SIZE, AMDV1PT_FMT_PR,
} from '../hw/io-pgtable-amdv1.js';

export const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** One explained bit (or field) of a leaf entry. */
export interface PteBit {
  /** The format's name for it ("SNP", "S2AP[W]", "AttrIndx"). */
  readonly name: string;
  /** Its value in this entry ("1", "0", "1 (cacheable)"). */
  readonly value: string;
  /** What it does to DMA through the entry. */
  readonly meaning: string;
}

/** A run of equal-sized leaf entries of one translation run. */
export interface LeafGroup {
  readonly iova: string;
  readonly paddr: string;
  /** Bytes one entry maps (4 KiB, 2 MiB, 1 GiB, ...). */
  readonly size: string;
  readonly count: number;
  /** Larger than the smallest page size: a block/huge entry. */
  readonly huge: boolean;
  /** The first entry's raw value, as the IOMMU reads it (absent for formats without one). */
  readonly pte?: string;
  readonly bits: readonly PteBit[];
}

/** One translation run of a domain: contiguous IOVA to contiguous physical memory with one prot. */
export interface RunView {
  readonly iova: string;
  readonly last: string;
  readonly paddr: string;
  readonly prot: string;
  readonly leaves: readonly LeafGroup[];
}

export interface DomainPageTable {
  /** The page-table format ("VT-d second stage", "ARM_64_LPAE_S2", "AMD v1", "mock", "runs"). */
  readonly format: string;
  readonly pgsizes: readonly string[];
  readonly aperture: { readonly start: string; readonly last: string };
  /** The domain forces snooping (SNP/FC/CANWBS enforce); undefined where the format has no such notion. */
  readonly enforcing: boolean | undefined;
  readonly mappedBytes: string;
  readonly runCount: number;
  /** The runs inside the requested range (at most `limit`). */
  readonly runs: readonly RunView[];
  /** More runs in the range than shown. */
  readonly truncated: boolean;
  /** VT-d: runs written before the domain began enforcing (their entries lack SNP). */
  readonly runsWithoutSnp?: number;
}

const bit = (name: string, on: boolean, meaning: string): PteBit => ({ name, value: on ? '1' : '0', meaning });

/** prot of the iommu core (IOMMU_READ...), in words. */
export function protNames(prot: number): string {
  const n: string[] = [];
  if (prot & IOMMU_READ) n.push('READ');
  if (prot & IOMMU_WRITE) n.push('WRITE');
  if (prot & IOMMU_CACHE) n.push('CACHE');
  if (prot & IOMMU_NOEXEC) n.push('NOEXEC');
  if (prot & IOMMU_MMIO) n.push('MMIO');
  if (prot & IOMMU_PRIV) n.push('PRIV');
  return n.join('|') || 'NONE';
}

function sizeName(size: bigint): string {
  if (size >= 1n << 30n && size % (1n << 30n) === 0n) return `${size >> 30n} GiB`;
  if (size >= 1n << 20n && size % (1n << 20n) === 0n) return `${size >> 20n} MiB`;
  if (size >= 1n << 10n && size % (1n << 10n) === 0n) return `${size >> 10n} KiB`;
  return `${size} B`;
}

/** The page sizes of a bitmap, ascending, in words. */
export function pgsizeNames(bitmap: bigint): string[] {
  const out: string[] = [];
  for (let b = bitmap; b; b &= b - 1n) out.push(sizeName(b & -b));
  return out;
}

/**
 * The leaf groups of a run: at each step the largest page size the IOVA,
 * physical address and remaining length allow, repeated until a larger size
 * becomes possible or the length runs short. At most 2 x sizes groups.
 */
export function leafGroups(run: Readonly<Run>, pgsizeBitmap: bigint): Array<{ iova: bigint; paddr: bigint; size: bigint; count: bigint }> {
  const out: Array<{ iova: bigint; paddr: bigint; size: bigint; count: bigint }> = [];
  const sizes: bigint[] = [];
  for (let b = pgsizeBitmap; b; b &= b - 1n) sizes.push(b & -b);
  if (!sizes.length) return out;
  let iova = run.iova;
  let paddr = run.paddr;
  const end = run.last + 1n;
  while (iova < end) {
    const rem = end - iova;
    let size = 0n;
    for (const s of sizes) if (((iova | paddr) & (s - 1n)) === 0n && s <= rem) size = s;
    if (!size) size = sizes[0]!; // a run always covers whole smallest pages
    // How many of this size before a larger one fits: the next boundary of a larger size both addresses share.
    let count = rem / size;
    for (const big of sizes) {
      if (big <= size || ((paddr - iova) & (big - 1n)) !== 0n) continue;
      const toBoundary = ((big - (iova & (big - 1n))) & (big - 1n)) / size;
      if (toBoundary > 0n && toBoundary < count && rem - toBoundary * size >= big) count = toBoundary;
      break;
    }
    if (count < 1n) count = 1n;
    out.push({ iova, paddr, size, count });
    iova += size * count;
    paddr += size * count;
  }
  return out;
}

function vtdBits(pte: bigint): PteBit[] {
  return [
    bit('R', (pte & VTD_SS_PTE_R) !== 0n, 'bit 0: the device may read'),
    bit('W', (pte & VTD_SS_PTE_W) !== 0n, 'bit 1: the device may write'),
    bit('SNP', (pte & VTD_SS_PTE_SNP) !== 0n, (pte & VTD_SS_PTE_SNP) !== 0n
      ? 'bit 11: snoop forced: DMA snoops the CPU caches even with No Snoop set (enforce_cache_coherency)'
      : 'bit 11 clear: a No Snoop request bypasses the CPU caches (stale data possible)'),
    { name: 'ADDR', value: hex(pte & ((1n << 52n) - 1n) & ~0xfffn), meaning: 'bits 51:12: the host page frame' },
  ];
}

function vtdFsBits(pte: bigint, pgsnp: boolean): PteBit[] {
  return [
    bit('P', (pte & VTD_FS_PTE_P) !== 0n, 'bit 0: present (every present entry is readable)'),
    bit('R/W', (pte & VTD_FS_PTE_RW) !== 0n, 'bit 1: the device may write'),
    bit('U/S', (pte & VTD_FS_PTE_US) !== 0n, 'bit 2: user (set on every entry the driver writes)'),
    bit('A', (pte & VTD_FS_PTE_A) !== 0n, 'bit 5: accessed (preset)'),
    bit('D', (pte & VTD_FS_PTE_D) !== 0n, 'bit 6: dirty (preset on writable entries)'),
    bit('PGSNP', pgsnp, pgsnp
      ? 'PASID entry bit 88: snoop forced for the whole domain (enforce_cache_coherency); IA-32e entries have no SNP'
      : 'PASID entry bit 88 clear: a No Snoop request bypasses the CPU caches (stale data possible)'),
    { name: 'ADDR', value: hex(pte & ((1n << 52n) - 1n) & ~0xfffn), meaning: 'bits 51:12: the host page frame' },
  ];
}

function lpaeBits(cfg: LpaeConfig, pte: bigint): PteBit[] {
  const out: PteBit[] = [];
  const isPage = (pte & 3n) === ARM_LPAE_PTE_TYPE_PAGE;
  out.push({ name: 'type', value: isPage ? 'page (3)' : 'block (1)', meaning: isPage ? 'a last-level page descriptor' : 'a block descriptor above the last level: a huge entry' });
  if (cfg.fmt === 'ARM_64_LPAE_S1') {
    out.push(bit('AP[2] RDONLY', (pte & ARM_LPAE_PTE_AP_RDONLY) !== 0n, 'bit 7: writes fault'));
    out.push(bit('AP[1] UNPRIV', (pte & ARM_LPAE_PTE_AP_UNPRIV) !== 0n, 'bit 6: unprivileged accesses allowed'));
    const idx = (pte & ARM_LPAE_PTE_ATTRINDX_MASK) >> ARM_LPAE_PTE_ATTRINDX_SHIFT;
    const what = idx === ARM_LPAE_MAIR_ATTR_IDX_CACHE ? 'write-back cacheable: coherent with the CPU caches (IOMMU_CACHE)'
      : idx === ARM_LPAE_MAIR_ATTR_IDX_DEV ? 'device memory (IOMMU_MMIO)'
        : idx === ARM_LPAE_MAIR_ATTR_IDX_NC ? 'non-cacheable: DMA never snoops (no IOMMU_CACHE)' : 'unknown MAIR index';
    out.push({ name: 'AttrIndx', value: String(idx), meaning: `bits 4:2, MAIR index: ${what}` });
    out.push(bit('nG', (pte & ARM_LPAE_PTE_nG) !== 0n, 'bit 11: not global (ASID-tagged)'));
    out.push(bit('DBM', (pte & ARM_LPAE_PTE_DBM) !== 0n, 'bit 51: hardware dirty-state management'));
  } else {
    out.push(bit('S2AP[R]', (pte & ARM_LPAE_PTE_HAP_READ) !== 0n, 'bit 6: the device may read'));
    out.push(bit('S2AP[W]', (pte & ARM_LPAE_PTE_HAP_WRITE) !== 0n, 'bit 7: the device may write'));
    const m = pte & ARM_LPAE_PTE_MEMATTR_MASK;
    const what = m === ARM_LPAE_PTE_MEMATTR_OIWB ? 'outer+inner write-back: coherent (IOMMU_CACHE)'
      : m === ARM_LPAE_PTE_MEMATTR_FWB_WB ? 'S2FWB forced write-back: coherent whatever stage 1 says'
        : m === ARM_LPAE_PTE_MEMATTR_NC ? 'normal non-cacheable: DMA never snoops'
          : m === ARM_LPAE_PTE_MEMATTR_DEV ? 'device memory (IOMMU_MMIO)' : 'other';
    out.push({ name: 'MEMATTR', value: hex(m >> 2n), meaning: `bits 5:2: ${what}` });
  }
  const sh = pte & ARM_LPAE_PTE_SH_MASK;
  out.push({ name: 'SH', value: String(sh >> 8n), meaning: `bits 9:8: ${sh === ARM_LPAE_PTE_SH_IS ? 'inner shareable' : sh === ARM_LPAE_PTE_SH_OS ? 'outer shareable' : 'non-shareable'}` });
  out.push(bit('AF', (pte & ARM_LPAE_PTE_AF) !== 0n, 'bit 10: access flag (set on every leaf)'));
  out.push(bit('XN', (pte & ARM_LPAE_PTE_XN) !== 0n, 'bits 54:53: execute never (IOMMU_NOEXEC)'));
  out.push({ name: 'OA', value: hex(pte & ((1n << 48n) - 1n) & ~0xfffn), meaning: 'bits 47:12: the output address' });
  return out;
}

function amdBits(pte: bigint): PteBit[] {
  const nl = (pte & AMDV1PT_FMT_NEXT_LEVEL_MASK) >> AMDV1PT_FMT_NEXT_LEVEL_SHIFT;
  return [
    bit('PR', (pte & AMDV1PT_FMT_PR) !== 0n, 'bit 0: present'),
    { name: 'NL', value: String(nl), meaning: nl === AMDV1PT_FMT_NL_SIZE ? 'bits 11:9 = 7: a leaf whose size is encoded in the low address bits (a contiguous huge entry)' : 'bits 11:9 = 0: a leaf of its level\'s own size' },
    bit('FC', (pte & AMDV1PT_FMT_FC) !== 0n, 'bit 60: force coherent: the IOMMU snoops whatever the device asked'),
    bit('IR', (pte & AMDV1PT_FMT_IR) !== 0n, 'bit 61: the device may read'),
    bit('IW', (pte & AMDV1PT_FMT_IW) !== 0n, 'bit 62: the device may write'),
    { name: 'ADDR', value: hex(pte & ((1n << 52n) - 1n) & ~0xfffn), meaning: 'bits 51:12: the output address (with the size encoding for NL=7)' },
  ];
}

function protBits(prot: number): PteBit[] {
  return [
    bit('READ', (prot & IOMMU_READ) !== 0, 'the device may read'),
    bit('WRITE', (prot & IOMMU_WRITE) !== 0, 'the device may write'),
    bit('CACHE', (prot & IOMMU_CACHE) !== 0, 'IOMMU_CACHE: coherent mapping requested'),
  ];
}

/** The domain's format name, and its leaf entry at `iova` explained. */
function entryOf(d: RunDomain, iova: bigint, prot: number): { pte?: bigint; bits: PteBit[] } {
  if (d instanceof VtdSecondStageDomain) { const p = d.pte(iova); return p === undefined ? { bits: [] } : { pte: p, bits: vtdBits(p) }; }
  if (d instanceof VtdFirstStageDomain) { const p = d.pte(iova); return p === undefined ? { bits: [] } : { pte: p, bits: vtdFsBits(p, d.enforcing) }; }
  if (d instanceof SmmuDomain) { const p = d.pte(iova); return p === undefined ? { bits: [] } : { pte: p, bits: lpaeBits(d.pgtable, p) }; }
  if (d instanceof AmdV1Domain) { const p = d.pte(iova); return p === undefined ? { bits: [] } : { pte: p, bits: amdBits(p) }; }
  return { bits: protBits(prot) };
}

function formatOf(d: RunDomain): string {
  if (d instanceof VtdSecondStageDomain) return `VT-d second stage (${d.vaszLg2}-bit)`;
  if (d instanceof VtdFirstStageDomain) return `VT-d first stage (IA-32e, ${d.vaszLg2}-bit)`;
  if (d instanceof SmmuDomain) return d.pgtable.fmt;
  if (d instanceof AmdV1Domain) return 'AMD v1';
  if (d instanceof MockPagingDomain) return 'mock';
  return 'runs';
}

/**
 * A paging domain's table over [start, last]: at most `limit` runs, each with
 * its leaf groups and explained entries. Undefined for a domain that is not
 * run-based (nested, blocked).
 */
export function domainPageTable(d: unknown, start = 0n, last = (1n << 64n) - 1n, limit = 256): DomainPageTable | undefined {
  if (!(d instanceof RunDomain)) return undefined;
  const runs: RunView[] = [];
  let truncated = false;
  let withoutSnp = 0;
  const vtd = d instanceof VtdSecondStageDomain ? d : undefined;
  for (const r of d.translations()) {
    if (vtd && !vtd.snoops(r.iova)) withoutSnp++;
    if (r.last < start || r.iova > last) continue;
    if (runs.length >= limit) { truncated = true; if (!vtd) break; continue; }
    const leaves = leafGroups(r, d.pgsizeBitmap).map((g): LeafGroup => {
      const e = entryOf(d, g.iova, r.prot);
      return {
        iova: hex(g.iova), paddr: hex(g.paddr), size: sizeName(g.size), count: Number(g.count),
        huge: g.size > (d.pgsizeBitmap & -d.pgsizeBitmap), ...(e.pte !== undefined ? { pte: hex(e.pte) } : {}), bits: e.bits,
      };
    });
    runs.push({ iova: hex(r.iova), last: hex(r.last), paddr: hex(r.paddr), prot: protNames(r.prot), leaves });
  }
  const enforcing = (d as { enforcing?: boolean }).enforcing;
  return {
    format: formatOf(d), pgsizes: pgsizeNames(d.pgsizeBitmap),
    aperture: { start: hex(d.apertureStart), last: hex(d.apertureEnd) },
    enforcing: typeof enforcing === 'boolean' ? enforcing : undefined,
    mappedBytes: hex(d.mappedBytes), runCount: d.runCount, runs, truncated,
    ...(vtd ? { runsWithoutSnp: vtd.enforcing ? withoutSnp : d.runCount } : {}),
  };
}
