// The VT-d first-stage paging domain (intel_iommu_domain_alloc_first_stage):
// scalable mode only, an IA-32e (x86-64) page table that the driver prefers
// whenever the unit has ECAP.FLTS and nothing asks for a second stage
// (NEST_PARENT, DIRTY_TRACKING). Its leaf entries are the CPU's format
// (generic_pt fmt/x86_64.h): P, U/S and A always, R/W and D for a writable
// mapping, no execute-disable and no per-entry snoop bit; every present entry
// is readable. Snooping is forced per PASID entry instead: PGSNP is set in
// the entry of every device attached when the domain starts enforcing, and
// in each entry written later (domain_setup_first_level).
//
// The IOVA space is the lower canonical half of a 4-level (48-bit, 47 usable)
// or, with CAP.FL5LP and MGAW > 48, 5-level table (PT_FEAT_SIGN_EXTEND).
import { Errno, EINVAL } from '../uapi/errno.js';
import { IOMMU_READ, IOMMU_WRITE } from './iommu.js';
import { RunDomain } from './run-domain.js';
import { PASID_ENTRY_PGTT_FL_ONLY, VTD_RID_PASID } from './intel-vtd-pasid.js';
import type { HwDomain, IommuDevice, PagingDomain } from './iommu.js';
import type { IntelVtd } from './intel-vtd.js';
import { dmarAttachDev, dmarDetachDev, dmarSetDevPasid, domainRemoveDevPasid, type DmarDomain } from './intel-vtd-domain.js';

/** First-stage (IA-32e) entry bits the driver sets. */
export const VTD_FS_PTE_P = 1n << 0n;
export const VTD_FS_PTE_RW = 1n << 1n;
export const VTD_FS_PTE_US = 1n << 2n;
export const VTD_FS_PTE_A = 1n << 5n;
export const VTD_FS_PTE_D = 1n << 6n;
export const VTD_FS_PTE_PS = 1n << 7n;
export const VTD_FS_PTE_XD = 1n << 63n;

const SZ_4K = 1n << 12n, SZ_2M = 1n << 21n, SZ_1G = 1n << 30n;

/** compute_vasz_lg2_fs: the table's IOVA width and whether it needs 5 levels. */
export function firstStageWidth(mgaw: number, fl5lp: boolean): { vaszLg2: number; fiveLevel: boolean } {
  if (mgaw > 48 && fl5lp) return { vaszLg2: Math.min(57, mgaw), fiveLevel: true };
  return { vaszLg2: Math.min(48, mgaw), fiveLevel: false };
}

/** A first-stage paging domain: runs whose entries are IA-32e leaves. */
export class VtdFirstStageDomain extends RunDomain implements PagingDomain, DmarDomain {
  readonly kind = 'paging' as const;
  readonly vaszLg2: number;
  readonly fiveLevel: boolean;
  /** PT_FEAT_DMA_INCOHERENT: the unit does not snoop its walks (no ECAP.SMPWC), table writes are flushed. */
  readonly dmaIncoherent: boolean;
  readonly iotlbSyncMap: boolean;
  /** dmar_domain->force_snooping: PASID entries get PGSNP. */
  private forceSnooping = false;
  /** Devices attached through their RID_PASID entry (dmar_domain->devices). */
  readonly devices = new Set<IommuDevice>();
  /** Devices whose other PASIDs use this domain (dmar_domain->dev_pasids). */
  readonly devPasids = new Map<IommuDevice, Set<number>>();

  constructor(readonly driver: IntelVtd) {
    const { vaszLg2, fiveLevel } = firstStageWidth(driver.mgaw, driver.fl5lpSupported);
    let pgsize = SZ_4K | SZ_2M | SZ_1G;
    if (!driver.fl1gpSupported) pgsize &= ~SZ_1G;
    // Sign-extended: iommufd gets the lower half only.
    super({ pgsizeBitmap: pgsize, apertureStart: 0n, apertureEnd: (1n << BigInt(vaszLg2 - 1)) - 1n });
    this.vaszLg2 = vaszLg2;
    this.fiveLevel = fiveLevel;
    this.dmaIncoherent = !driver.walkCoherent;
    this.iotlbSyncMap = driver.rwbfRequired;
  }

  /** The domain enforces snooping (its PASID entries have PGSNP). */
  get enforcing(): boolean { return this.forceSnooping; }

  /** paging_domain_compatible_first_stage: EINVAL for a unit this table cannot serve. */
  compatible(u: IntelVtd): void {
    if (!u.firstStageSupported) throw new Errno(EINVAL, 'unit has no first-stage translation');
    if (!u.walkCoherent && !this.dmaIncoherent) throw new Errno(EINVAL, 'table writes not flushed for this unit');
    if (!u.fl5lpSupported && this.vaszLg2 > 48) throw new Errno(EINVAL, 'five-level table');
    if (!u.fl1gpSupported && (this.pgsizeBitmap & SZ_1G)) throw new Errno(EINVAL, 'page sizes');
    if (u.rwbfRequired && !this.iotlbSyncMap) throw new Errno(EINVAL, 'IOTLB sync on map');
    // No snoop-control check: an enforcing first-stage domain sets PGSNP in
    // the entry of a unit without ECAP.SC too (7.2 has no such check here).
  }

  /** The PASID entry domain_setup_first_level writes. */
  setupEntry(u: IntelVtd, dev: IommuDevice, pasid: number, old: HwDomain | undefined): void {
    u.setupPasidEntry(dev, pasid, this, old, {
      pgtt: PASID_ENTRY_PGTT_FL_ONLY, did: u.domainId(this), aw: u.agaw, fl5lp: this.fiveLevel,
      pgsnp: this.forceSnooping, pwsnp: !this.dmaIncoherent,
    });
  }

  // The attach paths of struct dmar_domain (intel-vtd-domain.ts).
  attachDev(dev: IommuDevice): void { dmarAttachDev(this, dev); }
  detachDev(dev: IommuDevice): void { dmarDetachDev(this, dev); }
  setDevPasid(dev: IommuDevice, pasid: number, old: HwDomain | undefined): void { dmarSetDevPasid(this, dev, pasid, old); }
  removeDevPasid(dev: IommuDevice, pasid: number): void { domainRemoveDevPasid(this, dev, pasid); }

  /**
   * intel_iommu_enforce_cache_coherency_fs: every attached device's unit must
   * have snoop control; then PGSNP goes into their RID_PASID entries.
   */
  enforceCacheCoherency(): boolean {
    if (this.forceSnooping) return true;
    for (const d of this.devices) if (!this.driver.unitOf(d).snoopControl) return false;
    this.forceSnooping = true;
    for (const d of this.devices) this.driver.unitOf(d).pasidTables.setPageSnoop(d, VTD_RID_PASID);
    return true;
  }

  /** Every present IA-32e entry is readable: the run records what the hardware allows. */
  override map(iova: bigint, paddr: bigint, length: bigint, prot: number): void {
    super.map(iova, paddr, length, prot | IOMMU_READ);
  }

  /** The leaf entry translating `iova` (4 KiB frame; PS of large entries not modelled), or undefined. */
  pte(iova: bigint): bigint | undefined {
    const r = this.runAt(iova);
    if (!r) return undefined;
    let v = ((r.paddr + (iova - r.iova)) & ~(SZ_4K - 1n)) | VTD_FS_PTE_P | VTD_FS_PTE_US | VTD_FS_PTE_A;
    if (r.prot & IOMMU_WRITE) v |= VTD_FS_PTE_RW | VTD_FS_PTE_D;
    return v;
  }

  free(): void {
    this.devices.clear();
    this.devPasids.clear();
  }
}
