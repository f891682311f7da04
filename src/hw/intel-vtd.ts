// Intel VT-d (drivers/iommu/intel/): one remapping unit per IntelVtd, its
// capability registers as the hardware (here: qemu's intel-iommu) reports
// them, and the second-stage paging domain the driver gives iommufd.
//
// Everything the driver decides is derived from CAP and ECAP, as the kernel
// does: page sizes (SLLPS), the aperture (MGAW, SAGAW), caching mode, snoop
// control (ECAP.SC, bit 7: IOMMU_CAP_ENFORCE_CACHE_COHERENCY), scalable mode
// (ECAP.SMTS; off here: "legacy" mode, second stage only, no nesting and no
// dirty tracking). An enforcing domain sets the SNP bit (bit 11) in every
// leaf entry written after enforce_cache_coherency; entries already written
// keep theirs, so each translation run remembers whether it snoops.
import { Errno, EINVAL, EOPNOTSUPP } from '../uapi/errno.js';
import { IOMMU_READ, IOMMU_WRITE, IommuGroupIds } from './iommu.js';
import { RunDomain } from './run-domain.js';
import type { HwDomain, IommuCap, IommuDevice, NestedDomain, PagingDomain, ReservedRegion, UserData } from './iommu.js';
import type { PciFunction, PciIommu } from './pci.js';
import {
  IOMMU_HW_INFO_TYPE_DEFAULT, IOMMU_HW_INFO_TYPE_INTEL_VTD, IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
  IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_PASID, IommuHwInfoVtd,
} from '../uapi/iommufd.js';

// ---- registers ---------------------------------------------------------------

/** qemu 7.2's intel-iommu (caching-mode=on, intremap=on, aw-bits 39, legacy mode), as the oracle machine read it (oracle/recorded-with.txt). */
export const QEMU_VTD_CAP = 0x00d2008c22260286n;
/** The same unit's ECAP without snoop control; with snoop-control=on, ECAP.SC is set as well. */
export const QEMU_VTD_ECAP = 0x0000000000f00f4an;

export const ECAP_C = 1n << 0n;
export const ECAP_DT = 1n << 2n;
export const ECAP_IR = 1n << 3n;
export const ECAP_SC = 1n << 7n;
export const ECAP_NEST = 1n << 26n;
/** ECAP.PASID (bit 40): the unit takes requests with a PASID. */
export const ECAP_PASID = 1n << 40n;
export const ECAP_SMTS = 1n << 43n;
export const ECAP_SLADS = 1n << 45n;
export const ECAP_SLTS = 1n << 46n;
export const ECAP_FLTS = 1n << 47n;

export const CAP_RWBF = 1n << 4n;
export const CAP_CM = 1n << 7n;

const field = (reg: bigint, lo: number, width: number): number => Number((reg >> BigInt(lo)) & ((1n << BigInt(width)) - 1n));

/** CAP.SAGAW: supported adjusted guest address widths (bit 1: 39-bit 3-level, bit 2: 48-bit, bit 3: 57-bit). */
export const capSagaw = (cap: bigint): number => field(cap, 8, 5);
/** CAP.MGAW + 1: the widest guest address. */
export const capMgaw = (cap: bigint): number => field(cap, 16, 6) + 1;
/** CAP.SLLPS: second-stage large pages (bit 0: 2 MiB, bit 1: 1 GiB). */
export const capSllps = (cap: bigint): number => field(cap, 34, 4);

/** The interrupt-address window (IOAPIC_RANGE_START..END): DMA there is an MSI, never translated. */
export const VTD_MSI_START = 0xfee00000n;
export const VTD_MSI_LAST = 0xfeefffffn;

/** Second-stage leaf entry bits. */
export const VTD_SS_PTE_R = 1n << 0n;
export const VTD_SS_PTE_W = 1n << 1n;
export const VTD_SS_PTE_SNP = 1n << 11n;

/** A driver-private prot bit kept with each run: its entries were written with SNP. */
const PROT_SNP = 1 << 7;

const SZ_4K = 1n << 12n, SZ_2M = 1n << 21n, SZ_1G = 1n << 30n;

// ---- the unit ----------------------------------------------------------------

export interface IntelVtdOptions {
  /** dmar0, dmar1, ... */
  readonly index?: number;
  readonly cap?: bigint;
  /** ECAP before the snoop-control choice. */
  readonly ecap?: bigint;
  /** Set ECAP.SC (qemu's snoop-control=on). */
  readonly snoopControl?: boolean;
  /** The machine's iommu_group ids (default: the unit's own). */
  readonly groupIds?: IommuGroupIds;
}

/** One DMA remapping unit and the intel_iommu_ops that serve its devices. */
export class IntelVtd implements PciIommu {
  readonly name: string;
  readonly cap: bigint;
  readonly ecap: bigint;
  /** intel_iommu_ops.blocked_domain (blocking_domain, with set_dev_pasid). */
  readonly blockedDomain: HwDomain = new VtdBlockingDomain(this);
  readonly groupIds: IommuGroupIds;

  constructor(o: IntelVtdOptions = {}) {
    this.name = `dmar${o.index ?? 0}`;
    this.groupIds = o.groupIds ?? new IommuGroupIds();
    this.cap = o.cap ?? QEMU_VTD_CAP;
    const ecap = o.ecap ?? QEMU_VTD_ECAP;
    this.ecap = o.snoopControl === undefined ? ecap : o.snoopControl ? ecap | ECAP_SC : ecap & ~ECAP_SC;
  }

  get snoopControl(): boolean { return (this.ecap & ECAP_SC) !== 0n; }
  /** pasid_supported: scalable mode with ECAP.PASID (neither on this machine). */
  get pasidSupported(): boolean { return this.scalableMode && (this.ecap & ECAP_PASID) !== 0n; }
  get cachingMode(): boolean { return (this.cap & CAP_CM) !== 0n; }
  /** Scalable mode (sm_supported): off on this machine, so the unit works in legacy mode. */
  get scalableMode(): boolean { return (this.ecap & ECAP_SMTS) !== 0n; }
  /** nested_supported: scalable mode with ECAP.NEST. */
  get nestedSupported(): boolean { return this.scalableMode && (this.ecap & ECAP_NEST) !== 0n; }
  /** ssads_supported: second-stage access/dirty bits, scalable mode only. */
  get dirtySupported(): boolean { return this.scalableMode && (this.ecap & ECAP_SLADS) !== 0n; }
  /** iommu_paging_structure_coherency: the unit snoops its own page-table walks. */
  get walkCoherent(): boolean { return this.scalableMode ? true : (this.ecap & ECAP_C) !== 0n; }
  /** Maps must be followed by an IOTLB sync (caching mode, or a write buffer to flush). */
  get syncOnMap(): boolean { return this.cachingMode || (this.cap & CAP_RWBF) !== 0n; }

  /** compute_vasz_lg2_ss: the widest IOVA a second-stage table of this unit can cover, and its table levels. */
  secondStageWidth(): { vaszLg2: number; aw: number } {
    const sagaw = capSagaw(this.cap), mgaw = capMgaw(this.cap);
    if (mgaw > 48 && sagaw >= 1 << 3) return { vaszLg2: Math.min(57, mgaw), aw: 3 };
    if (mgaw > 39 && sagaw >= 1 << 2) return { vaszLg2: Math.min(48, mgaw), aw: 2 };
    if (mgaw > 30 && sagaw >= 1 << 1) return { vaszLg2: Math.min(39, mgaw), aw: 1 };
    return { vaszLg2: 0, aw: 0 };
  }

  /** intel_iommu_capable. */
  capable(dev: IommuDevice, cap: IommuCap): boolean {
    switch (cap) {
      case 'CACHE_COHERENCY': return true;
      case 'ENFORCE_CACHE_COHERENCY': return this.snoopControl;
      case 'DIRTY_TRACKING': return this.dirtySupported;
      case 'PCI_ATS_SUPPORTED': return dev.isPci && (dev as PciFunction).ats === true && (this.ecap & ECAP_DT) !== 0n;
    }
  }

  /** intel_iommu_domain_alloc_paging_flags: no user data; first stage needs scalable mode, so second stage. */
  readonly domainAllocPagingFlags = (dev: IommuDevice, flags: number, userData: UserData | undefined): PagingDomain => {
    void dev;
    if (userData) throw new Errno(EOPNOTSUPP, 'VT-d paging domains take no user data');
    if (flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID)) throw new Errno(EOPNOTSUPP, 'paging flags');
    if ((flags & IOMMU_HWPT_ALLOC_NEST_PARENT) && !this.nestedSupported) throw new Errno(EOPNOTSUPP, 'no nesting (legacy mode)');
    if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !this.dirtySupported) throw new Errno(EOPNOTSUPP, 'no dirty tracking (legacy mode)');
    if (this.scalableMode && !(this.ecap & ECAP_SLTS)) throw new Errno(EOPNOTSUPP, 'no second-stage translation');
    return new VtdSecondStageDomain(this, (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) !== 0);
  };

  /** intel_iommu_domain_alloc_nested: only with nesting support, which legacy mode lacks. */
  readonly domainAllocNested = (dev: IommuDevice, parent: PagingDomain, flags: number, userData: UserData): NestedDomain => {
    void dev; void parent; void userData;
    if (!this.nestedSupported || (flags & ~IOMMU_HWPT_ALLOC_PASID)) throw new Errno(EOPNOTSUPP, 'no nesting');
    throw new Errno(EOPNOTSUPP, 'first-stage nested domains are not modelled yet');
  };

  domainAllocPaging(dev: IommuDevice): PagingDomain {
    return this.domainAllocPagingFlags(dev, 0, undefined);
  }

  /** intel_iommu_hw_info: struct iommu_hw_info_vtd for the default and the VT-d type. */
  hwInfo(dev: IommuDevice, type: number): { type: number; data: Uint8Array } {
    void dev;
    if (type !== IOMMU_HW_INFO_TYPE_DEFAULT && type !== IOMMU_HW_INFO_TYPE_INTEL_VTD) throw new Errno(EOPNOTSUPP, 'hw info type');
    // The driver always reports the erratum (read-only mappings in nest parents).
    const data = IommuHwInfoVtd.encode({ flags: IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, cap_reg: this.cap, ecap_reg: this.ecap });
    return { type: IOMMU_HW_INFO_TYPE_INTEL_VTD, data };
  }

  /** intel_iommu_get_resv_regions: no RMRRs on this machine; the interrupt window as an MSI region. */
  reservedRegionsOf(dev: PciFunction): ReservedRegion[] {
    void dev;
    return [{ start: VTD_MSI_START, length: VTD_MSI_LAST - VTD_MSI_START + 1n, type: 'MSI' }];
  }
}

/** The static blocking domain: a PASID set to it is torn down. */
class VtdBlockingDomain implements HwDomain {
  readonly kind = 'blocked' as const;
  constructor(readonly driver: IntelVtd) {}
  attachDev(dev: IommuDevice): void { void dev; }
  /** blocking_domain_set_dev_pasid: tear the PASID entry down and leave `old`. */
  setDevPasid(dev: IommuDevice, pasid: number, old: HwDomain | undefined): void {
    void pasid;
    if (old instanceof VtdSecondStageDomain) old.detachDev(dev);
  }
  free(): void {}
}

// ---- the second-stage domain ----------------------------------------------------

/** A second-stage (SL) paging domain: translations as runs, each remembering whether its entries snoop. */
export class VtdSecondStageDomain extends RunDomain implements PagingDomain {
  readonly kind = 'paging' as const;
  readonly vaszLg2: number;
  /** SAGAW bit of the table's depth. */
  readonly aw: number;
  /** PT_FEAT_VTDSS_FORCE_COHERENCE: entries written from now on get SNP. */
  private forceCoherence = false;
  /** PT_FEAT_DMA_INCOHERENT: table writes are flushed for a unit that does not snoop its walks. */
  readonly dmaIncoherent: boolean;
  readonly iotlbSyncMap: boolean;
  /** Devices attached (dmar_domain->devices). */
  readonly devices = new Set<IommuDevice>();

  constructor(readonly driver: IntelVtd, readonly nestParent: boolean) {
    const { vaszLg2, aw } = driver.secondStageWidth();
    const sllps = capSllps(driver.cap);
    let pgsize = SZ_4K | SZ_2M | SZ_1G;
    if (!(sllps & 1)) pgsize &= ~SZ_2M;
    if (!(sllps & 2)) pgsize &= ~SZ_1G;
    super({ pgsizeBitmap: pgsize, apertureStart: 0n, apertureEnd: (1n << BigInt(vaszLg2)) - 1n });
    this.vaszLg2 = vaszLg2;
    this.aw = aw;
    this.dmaIncoherent = !driver.walkCoherent;
    this.iotlbSyncMap = driver.syncOnMap;
  }

  /** The domain enforces snooping (force_snooping). */
  get enforcing(): boolean { return this.forceCoherence; }

  /** paging_domain_compatible_second_stage, for the unit behind `dev`. */
  attachDev(dev: IommuDevice): void {
    if (!(dev.driver instanceof IntelVtd)) throw new Errno(EINVAL, 'not a VT-d device');
    const u = dev.driver;
    if (this.nestParent && !u.nestedSupported) throw new Errno(EINVAL, 'unit cannot nest');
    if (u.scalableMode && !(u.ecap & ECAP_SLTS)) throw new Errno(EINVAL, 'unit has no second stage');
    if (!u.walkCoherent && !this.dmaIncoherent) throw new Errno(EINVAL, 'table writes not flushed for this unit');
    if (capMgaw(u.cap) < this.vaszLg2) throw new Errno(EINVAL, 'address width');
    if (!(capSagaw(u.cap) & (1 << this.aw))) throw new Errno(EINVAL, 'table depth');
    const sllps = capSllps(u.cap);
    if ((!(sllps & 1) && (this.pgsizeBitmap & SZ_2M)) || (!(sllps & 2) && (this.pgsizeBitmap & SZ_1G))) throw new Errno(EINVAL, 'page sizes');
    if (u.syncOnMap && !this.iotlbSyncMap) throw new Errno(EINVAL, 'IOTLB sync on map');
    if (this.forceCoherence && !u.snoopControl) throw new Errno(EINVAL, 'enforcing domain on a unit without snoop control');
    this.devices.add(dev);
  }

  detachDev(dev: IommuDevice): void {
    this.devices.delete(dev);
  }

  /**
   * intel_iommu_set_dev_pasid: EOPNOTSUPP without PASID support on the unit
   * (legacy mode). The core only calls it for devices with PASIDs; the
   * scalable-mode PASID table is not modelled beyond the compatibility check.
   */
  setDevPasid(dev: IommuDevice, pasid: number, old: HwDomain | undefined): void {
    void pasid; void old;
    if (!(dev.driver instanceof IntelVtd) || !dev.driver.pasidSupported) throw new Errno(EOPNOTSUPP, 'the unit has no PASID support');
    this.attachDev(dev);
  }

  /** intel_iommu_enforce_cache_coherency_ss: every attached device's unit must have SC. */
  enforceCacheCoherency(): boolean {
    for (const d of this.devices) if (!(d.driver as IntelVtd).snoopControl) return false;
    this.forceCoherence = true;
    return true;
  }

  override map(iova: bigint, paddr: bigint, length: bigint, prot: number): void {
    if (!(prot & (IOMMU_READ | IOMMU_WRITE))) throw new Errno(EINVAL, 'a second-stage entry needs R or W');
    super.map(iova, paddr, length, (prot & ~PROT_SNP) | (this.forceCoherence ? PROT_SNP : 0));
  }

  /**
   * The leaf entry translating `iova` as the hardware would read it: the 4 KiB
   * frame's address with R, W and SNP (the page-size bit of large entries is
   * not modelled). undefined when unmapped.
   */
  pte(iova: bigint): bigint | undefined {
    const r = this.runAt(iova);
    if (!r) return undefined;
    let v = (r.paddr + (iova - r.iova)) & ~(SZ_4K - 1n);
    if (r.prot & IOMMU_READ) v |= VTD_SS_PTE_R;
    if (r.prot & IOMMU_WRITE) v |= VTD_SS_PTE_W;
    if (r.prot & PROT_SNP) v |= VTD_SS_PTE_SNP;
    return v;
  }

  /** Whether DMA through `iova` snoops the CPU caches whatever the device asks (SNP set). */
  snoops(iova: bigint): boolean | undefined {
    const r = this.runAt(iova);
    return r ? (r.prot & PROT_SNP) !== 0 : undefined;
  }

  free(): void {
    this.devices.clear();
  }
}
