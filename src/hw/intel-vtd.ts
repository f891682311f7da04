// Intel VT-d (drivers/iommu/intel/): one remapping unit per IntelVtd, its
// capability registers as the hardware (here: qemu's intel-iommu) reports
// them, and the second-stage paging domain the driver gives iommufd.
//
// Everything the driver decides is derived from CAP and ECAP, as the kernel
// does: page sizes (SLLPS, FL1GP), the aperture (MGAW, SAGAW), caching mode,
// snoop control (ECAP.SC, bit 7: IOMMU_CAP_ENFORCE_CACHE_COHERENCY) and the
// mode. Legacy mode (no ECAP.SMTS): second stage only, context entries, no
// PASIDs, no nesting, no dirty tracking. Scalable mode: a PASID table per
// device (intel-vtd-pasid.ts) whose entries select first-stage
// (intel-vtd-fs.ts, preferred when ECAP.FLTS), second-stage or nested
// (intel-vtd-nested.ts, with ECAP.NEST) translation.
//
// An enforcing second-stage domain sets the SNP bit (bit 11) in every leaf
// entry written after enforce_cache_coherency; entries already written keep
// theirs, so each translation run remembers whether it snoops. A first-stage
// domain enforces by PGSNP in its PASID entries instead.
import { Errno, EINVAL, EOPNOTSUPP } from '../uapi/errno.js';
import { IOMMU_READ, IOMMU_WRITE, IommuGroupIds, copyUserData } from './iommu.js';
import { RunDomain } from './run-domain.js';
import { PASID_ENTRY_PGTT_SL_ONLY, VTD_RID_PASID, VtdPasidTables, type PasidEntryConfig } from './intel-vtd-pasid.js';
import { VtdFirstStageDomain } from './intel-vtd-fs.js';
import { VtdNestedDomain } from './intel-vtd-nested.js';
import type { HwDomain, IommuCap, IommuDevice, NestedDomain, PagingDomain, ReservedRegion, UserData } from './iommu.js';
import type { PciFunction, PciIommu } from './pci.js';
import {
  IOMMU_HW_INFO_TYPE_DEFAULT, IOMMU_HW_INFO_TYPE_INTEL_VTD, IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
  IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_PASID, IOMMU_HWPT_DATA_VTD_S1, IommuHwInfoVtd, IommuHwptVtdS1,
} from '../uapi/iommufd.js';
import { dmarAttachDev, dmarDetachDev, dmarSetDevPasid, domainRemoveDevPasid, type DmarDomain } from './intel-vtd-domain.js';

// ---- registers ---------------------------------------------------------------

/** qemu 7.2's intel-iommu (caching-mode=on, intremap=on, aw-bits 39, legacy mode), as the oracle machine read it (oracle/recorded-with.txt). */
export const QEMU_VTD_CAP = 0x00d2008c22260286n;
/** The same unit's ECAP without snoop control; with snoop-control=on, ECAP.SC is set as well. */
export const QEMU_VTD_ECAP = 0x0000000000f00f4an;
/**
 * qemu 10.0's intel-iommu with x-scalable-mode=on, x-flts=on, x-pasid-mode=on
 * (aw-bits 48: MGAW 47, SAGAW 39 and 48 bits; FL1GP), as the oracle's
 * --scalable machine read it (vtd_sm_cdev.golden).
 */
export const QEMU_VTD_SM_CAP = 0x01d2008c222f0686n;
/** Its ECAP: the legacy bits with PASID, SMTS and FLTS; no SLTS, NEST, SLADS, SMPWC, SRS. */
export const QEMU_VTD_SM_ECAP = 0x0000890000f00f4an;

export const ECAP_C = 1n << 0n;
export const ECAP_DT = 1n << 2n;
export const ECAP_IR = 1n << 3n;
export const ECAP_SC = 1n << 7n;
export const ECAP_NEST = 1n << 26n;
/** ECAP.SRS (bit 31): supervisor requests; ECAP.EAFS (bit 34): extended access flag. */
export const ECAP_SRS = 1n << 31n;
export const ECAP_EAFS = 1n << 34n;
/** ECAP.PASID (bit 40): the unit takes requests with a PASID. */
export const ECAP_PASID = 1n << 40n;
export const ECAP_SMTS = 1n << 43n;
export const ECAP_SLADS = 1n << 45n;
export const ECAP_SLTS = 1n << 46n;
export const ECAP_FLTS = 1n << 47n;
/** ECAP.SMPWC (bit 48): the unit snoops its scalable-mode table walks. */
export const ECAP_SMPWC = 1n << 48n;

export const CAP_RWBF = 1n << 4n;
export const CAP_CM = 1n << 7n;
/** CAP.FL1GP (bit 56): 1 GiB first-stage pages; CAP.FL5LP (bit 60): 5-level first stage. */
export const CAP_FL1GP = 1n << 56n;
export const CAP_FL5LP = 1n << 60n;

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

/** Scalable-mode switches of a unit (platform files): which translation types it offers. */
export interface VtdScalableOptions {
  /** ECAP.FLTS (qemu's x-flts=on). */
  readonly firstStage: boolean;
  /** ECAP.SLTS (qemu 10's scalable mode without x-flts). */
  readonly secondStage: boolean;
  /** ECAP.NEST: nested translation (needs both stages; qemu 10.0 has none). */
  readonly nesting: boolean;
}

/**
 * CAP and ECAP of qemu's intel-iommu for an address width (39: qemu 7.2's
 * default aw-bits, 48: 4-level) in legacy mode, or with `scalable` in
 * scalable mode as qemu 10 reports it (PASID, SMTS, FL1GP with the first
 * stage) with the stages chosen; snoop control is applied by the unit.
 */
export function vtdRegisters(addressWidth: 39 | 48, scalable?: VtdScalableOptions): { cap: bigint; ecap: bigint } {
  let cap = QEMU_VTD_CAP;
  if (addressWidth === 48) cap = (cap & ~(0x3fn << 16n)) | (47n << 16n) | (0x4n << 8n);
  if (!scalable) return { cap, ecap: QEMU_VTD_ECAP };
  let ecap = QEMU_VTD_ECAP | ECAP_PASID | ECAP_SMTS;
  if (scalable.firstStage) { ecap |= ECAP_FLTS; cap |= CAP_FL1GP; }
  if (scalable.secondStage) ecap |= ECAP_SLTS;
  if (scalable.nesting) ecap |= ECAP_NEST;
  return { cap, ecap };
}

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
  /** Scalable mode: each device's PASID table. */
  readonly pasidTables = new VtdPasidTables();
  /** Domain ids (DID) handed out on this unit (domain_attach_iommu), from 2 up. */
  private readonly dids = new WeakMap<HwDomain, number>();
  private nextDid = 2;

  constructor(o: IntelVtdOptions = {}) {
    this.name = `dmar${o.index ?? 0}`;
    this.groupIds = o.groupIds ?? new IommuGroupIds();
    this.cap = o.cap ?? QEMU_VTD_CAP;
    const ecap = o.ecap ?? QEMU_VTD_ECAP;
    this.ecap = o.snoopControl === undefined ? ecap : o.snoopControl ? ecap | ECAP_SC : ecap & ~ECAP_SC;
  }

  get snoopControl(): boolean { return (this.ecap & ECAP_SC) !== 0n; }
  /** pasid_supported: scalable mode with ECAP.PASID. */
  get pasidSupported(): boolean { return this.scalableMode && (this.ecap & ECAP_PASID) !== 0n; }
  get cachingMode(): boolean { return (this.cap & CAP_CM) !== 0n; }
  /** Scalable mode (sm_supported: ECAP.SMTS; the kernel's default turns it on). */
  get scalableMode(): boolean { return (this.ecap & ECAP_SMTS) !== 0n; }
  /** nested_supported: scalable mode with ECAP.NEST. */
  get nestedSupported(): boolean { return this.scalableMode && (this.ecap & ECAP_NEST) !== 0n; }
  /** ssads_supported: second-stage access/dirty bits (SLADS) and walk snooping (SMPWC), scalable mode only. */
  get dirtySupported(): boolean { return this.scalableMode && (this.ecap & ECAP_SLADS) !== 0n && (this.ecap & ECAP_SMPWC) !== 0n; }
  /** First-stage tables: scalable mode with ECAP.FLTS. */
  get firstStageSupported(): boolean { return this.scalableMode && (this.ecap & ECAP_FLTS) !== 0n; }
  /** Second-stage tables: always in legacy mode, ECAP.SLTS in scalable mode. */
  get secondStageSupported(): boolean { return !this.scalableMode || (this.ecap & ECAP_SLTS) !== 0n; }
  /** iommu_paging_structure_coherency: the unit snoops its own page-table walks (SMPWC, or C in legacy mode). */
  get walkCoherent(): boolean { return (this.ecap & (this.scalableMode ? ECAP_SMPWC : ECAP_C)) !== 0n; }
  /** rwbf_required: a write buffer to flush after table writes. */
  get rwbfRequired(): boolean { return (this.cap & CAP_RWBF) !== 0n; }
  /** Second-stage maps must be followed by an IOTLB sync (caching mode, or a write buffer to flush). */
  get syncOnMap(): boolean { return this.cachingMode || this.rwbfRequired; }
  get mgaw(): number { return capMgaw(this.cap); }
  get fl1gpSupported(): boolean { return (this.cap & CAP_FL1GP) !== 0n; }
  get fl5lpSupported(): boolean { return (this.cap & CAP_FL5LP) !== 0n; }
  get srsSupported(): boolean { return (this.ecap & ECAP_SRS) !== 0n; }
  get eafsSupported(): boolean { return (this.ecap & ECAP_EAFS) !== 0n; }
  /** iommu->agaw: the deepest second-stage table SAGAW offers (up to 5 levels). */
  get agaw(): number {
    const sagaw = capSagaw(this.cap);
    for (let a = 3; a >= 0; a--) if (sagaw & (1 << a)) return a;
    return 0;
  }

  /** compute_vasz_lg2_ss: the widest IOVA a second-stage table of this unit can cover, and its table levels. */
  secondStageWidth(): { vaszLg2: number; aw: number } {
    const sagaw = capSagaw(this.cap), mgaw = capMgaw(this.cap);
    if (mgaw > 48 && sagaw >= 1 << 3) return { vaszLg2: Math.min(57, mgaw), aw: 3 };
    if (mgaw > 39 && sagaw >= 1 << 2) return { vaszLg2: Math.min(48, mgaw), aw: 2 };
    if (mgaw > 30 && sagaw >= 1 << 1) return { vaszLg2: Math.min(39, mgaw), aw: 1 };
    return { vaszLg2: 0, aw: 0 };
  }

  /** The VT-d unit in front of `dev` (EINVAL for another driver's device); with `pasid`, EOPNOTSUPP without PASID support. */
  unitOf(dev: IommuDevice, pasid = false): IntelVtd {
    if (!(dev.driver instanceof IntelVtd)) throw new Errno(EINVAL, 'not a VT-d device');
    if (pasid && !dev.driver.pasidSupported) throw new Errno(EOPNOTSUPP, 'the unit has no PASID support');
    return dev.driver;
  }

  /** domain_id_iommu: the domain's id on this unit, given at its first attach here. */
  domainId(domain: HwDomain): number {
    let did = this.dids.get(domain);
    if (did === undefined) this.dids.set(domain, did = this.nextDid++);
    return did;
  }

  /**
   * Write `pasid`'s entry for `domain` (scalable mode; legacy mode has context
   * entries only, not modelled). An attach (RID_PASID) first blocks
   * translation, a replace tears the old entry down.
   */
  setupPasidEntry(dev: IommuDevice, pasid: number, domain: HwDomain, old: HwDomain | undefined, c: PasidEntryConfig): void {
    if (!this.scalableMode) return;
    if (old || pasid === VTD_RID_PASID) this.pasidTables.tearDown(dev, pasid);
    this.pasidTables.setup(dev, pasid, domain, c);
  }

  /** domain_remove_dev_pasid of the domain a PASID leaves. */
  removeDevPasid(old: HwDomain | undefined, dev: IommuDevice, pasid: number): void {
    const o = old as { removeDevPasid?(dev: IommuDevice, pasid: number): void } | undefined;
    o?.removeDevPasid?.(dev, pasid);
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

  /**
   * intel_iommu_domain_alloc_paging_flags: no user data; a first-stage domain
   * when the unit has one and only PASID is asked for, else second stage.
   */
  readonly domainAllocPagingFlags = (dev: IommuDevice, flags: number, userData: UserData | undefined): PagingDomain => {
    void dev;
    if (userData) throw new Errno(EOPNOTSUPP, 'VT-d paging domains take no user data');
    if (!(flags & ~IOMMU_HWPT_ALLOC_PASID) && this.firstStageSupported) return new VtdFirstStageDomain(this);
    if (flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID)) throw new Errno(EOPNOTSUPP, 'paging flags');
    if ((flags & IOMMU_HWPT_ALLOC_NEST_PARENT) && !this.nestedSupported) throw new Errno(EOPNOTSUPP, 'no nesting');
    if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !this.dirtySupported) throw new Errno(EOPNOTSUPP, 'no dirty tracking');
    if (!this.secondStageSupported) throw new Errno(EOPNOTSUPP, 'no second-stage translation');
    return new VtdSecondStageDomain(this, (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) !== 0);
  };

  /**
   * intel_iommu_domain_alloc_nested: ECAP.NEST, IOMMU_HWPT_DATA_VTD_S1 data
   * (EOPNOTSUPP otherwise), a second-stage nest parent (EINVAL otherwise).
   * The configuration is checked against the unit at attach.
   */
  readonly domainAllocNested = (dev: IommuDevice, parent: PagingDomain, flags: number, userData: UserData): NestedDomain => {
    void dev;
    if (!this.nestedSupported || (flags & ~IOMMU_HWPT_ALLOC_PASID)) throw new Errno(EOPNOTSUPP, 'no nesting');
    if (userData.type !== IOMMU_HWPT_DATA_VTD_S1) throw new Errno(EOPNOTSUPP, 'user data type');
    if (!(parent instanceof VtdSecondStageDomain) || !parent.nestParent) throw new Errno(EINVAL, 'parent is not a second-stage nest parent');
    const S = IommuHwptVtdS1;
    const v = S.decode(copyUserData(userData, IOMMU_HWPT_DATA_VTD_S1, S.size, S.end('__reserved')));
    const d = new VtdNestedDomain(this, parent, { flags: v.flags, pgtblAddr: v.pgtbl_addr, addrWidth: v.addr_width });
    parent.s1Domains.add(d);
    return d;
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

/** The static blocking domain: attaching it (or setting a PASID to it) tears the PASID entry down. */
class VtdBlockingDomain implements HwDomain {
  readonly kind = 'blocked' as const;
  constructor(readonly driver: IntelVtd) {}
  /** device_block_translation: the RID_PASID entry goes. */
  attachDev(dev: IommuDevice): void {
    if (dev.driver instanceof IntelVtd) dev.driver.pasidTables.tearDown(dev, VTD_RID_PASID);
  }
  /** blocking_domain_set_dev_pasid: tear the PASID entry down and leave `old`. */
  setDevPasid(dev: IommuDevice, pasid: number, old: HwDomain | undefined): void {
    const u = this.driver.unitOf(dev);
    u.pasidTables.tearDown(dev, pasid);
    u.removeDevPasid(old, dev, pasid);
  }
  free(): void {}
}

// ---- the second-stage domain ----------------------------------------------------

/** A second-stage (SL) paging domain: translations as runs, each remembering whether its entries snoop. */
export class VtdSecondStageDomain extends RunDomain implements PagingDomain, DmarDomain {
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
  /** Devices whose other PASIDs use this domain (dmar_domain->dev_pasids). */
  readonly devPasids = new Map<IommuDevice, Set<number>>();
  /** Nested (stage-1) domains on this nest parent (dmar_domain->s1_domains). */
  readonly s1Domains = new Set<VtdNestedDomain>();

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

  /** paging_domain_compatible_second_stage: EINVAL for a unit this table cannot serve. */
  compatible(u: IntelVtd): void {
    if (this.nestParent && !u.nestedSupported) throw new Errno(EINVAL, 'unit cannot nest');
    if (!u.secondStageSupported) throw new Errno(EINVAL, 'unit has no second stage');
    if (!u.walkCoherent && !this.dmaIncoherent) throw new Errno(EINVAL, 'table writes not flushed for this unit');
    if (capMgaw(u.cap) < this.vaszLg2) throw new Errno(EINVAL, 'address width');
    if (!(capSagaw(u.cap) & (1 << this.aw))) throw new Errno(EINVAL, 'table depth');
    const sllps = capSllps(u.cap);
    if ((!(sllps & 1) && (this.pgsizeBitmap & SZ_2M)) || (!(sllps & 2) && (this.pgsizeBitmap & SZ_1G))) throw new Errno(EINVAL, 'page sizes');
    if (u.syncOnMap && !this.iotlbSyncMap) throw new Errno(EINVAL, 'IOTLB sync on map');
    if (this.forceCoherence && !u.snoopControl) throw new Errno(EINVAL, 'enforcing domain on a unit without snoop control');
  }

  /** The PASID entry domain_setup_second_level writes (scalable mode). */
  setupEntry(u: IntelVtd, dev: IommuDevice, pasid: number, old: HwDomain | undefined): void {
    u.setupPasidEntry(dev, pasid, this, old, {
      pgtt: PASID_ENTRY_PGTT_SL_ONLY, did: u.domainId(this), aw: this.aw, pwsnp: !this.dmaIncoherent,
    });
  }

  // The attach paths of struct dmar_domain (intel-vtd-domain.ts).
  attachDev(dev: IommuDevice): void { dmarAttachDev(this, dev); }
  detachDev(dev: IommuDevice): void { dmarDetachDev(this, dev); }
  setDevPasid(dev: IommuDevice, pasid: number, old: HwDomain | undefined): void { dmarSetDevPasid(this, dev, pasid, old); }
  removeDevPasid(dev: IommuDevice, pasid: number): void { domainRemoveDevPasid(this, dev, pasid); }

  /** intel_iommu_enforce_cache_coherency_ss: every attached device's unit must have SC; PTEs get SNP from now on. */
  enforceCacheCoherency(): boolean {
    for (const d of this.devices) if (!(d.driver as IntelVtd).snoopControl) return false;
    this.forceCoherence = true;
    return true;
  }

  /**
   * A second-stage entry needs R or W; a nest parent's entries must be
   * writable (PT_FEAT_VTDSS_FORCE_WRITEABLE, erratum 772415_SPR17).
   */
  override map(iova: bigint, paddr: bigint, length: bigint, prot: number): void {
    if (!(prot & (IOMMU_READ | IOMMU_WRITE))) throw new Errno(EINVAL, 'a second-stage entry needs R or W');
    if (this.nestParent && !(prot & IOMMU_WRITE)) throw new Errno(EINVAL, 'read-only mapping in a nest parent (ERRATA_772415_SPR17)');
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
    this.devPasids.clear();
  }
}
