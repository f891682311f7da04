// The ARM SMMUv3 (drivers/iommu/arm/arm-smmu-v3/): one SMMU per ArmSmmuV3,
// its ID registers as qemu's smmuv3 (stage=nested) reports them, with the
// platform's switches, and the stage-1 / stage-2 LPAE domains it gives
// iommufd (io-pgtable-arm.ts writes the entries).
//
// The coherency contract on ARM:
// - IOMMU_CAP_CACHE_COHERENCY is the SMMU's own coherency, which firmware
//   states (DT dma-coherent, or the IORT COHACC override; IDR0.COHACC
//   disagreeing only earns a warning). iommufd refuses to bind a device of
//   a non-coherent SMMU (EINVAL): nothing would flush for it.
// - IOMMU_CAP_ENFORCE_CACHE_COHERENCY is the master's root complex having
//   CANWBS (IORT memory access flags): it turns No Snoop into write-back
//   cacheable. enforce_cache_coherency succeeds when every attached master
//   has it and changes no entry; a later attach of a master without it to
//   an enforcing domain is EINVAL.
// - IOMMU_CACHE (which iommufd always passes) selects the cacheable memory
//   attributes: stage 1 AttrIndx 1, stage 2 MEMATTR write-back (the FWB
//   encoding for nest parents on an SMMU with S2FWB), inner shareable.
import { Errno, EINVAL, EOPNOTSUPP } from '../uapi/errno.js';
import { IOMMU_READ, IOMMU_WRITE, IommuGroupIds } from './iommu.js';
import { RunDomain } from './run-domain.js';
import { leafAt } from './io-pgtable-leaf.js';
import { lpaeCacheable, lpaeLeaf, type LpaeConfig } from './io-pgtable-arm.js';
import type { HwDomain, HwViommu, IommuCap, IommuDevice, PagingDomain, ReservedRegion, UserData, ViommuCore } from './iommu.js';
import type { PciFunction, PciIommu } from './pci.js';
import {
  IOMMU_HW_INFO_TYPE_ARM_SMMUV3, IOMMU_HW_INFO_TYPE_DEFAULT, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_ALLOC_NEST_PARENT,
  IOMMU_HWPT_ALLOC_PASID, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, IommuHwInfoArmSmmuv3,
} from '../uapi/iommufd.js';

// ---- registers ---------------------------------------------------------------

export const IDR0_S2P = 1 << 0;
export const IDR0_S1P = 1 << 1;
export const IDR0_TTF_AARCH64 = 2 << 2;
export const IDR0_COHACC = 1 << 4;
export const IDR0_HTTU_SHIFT = 6;
export const IDR0_ATS = 1 << 10;
export const IDR0_ASID16 = 1 << 12;
export const IDR0_VMID16 = 1 << 18;
export const IDR0_TTENDIAN_LE = 2 << 21;
export const IDR0_STALL_MODEL_NONE = 1 << 24;
export const IDR0_TERM_MODEL = 1 << 26;
export const IDR0_ST_LVL_2LVL = 1 << 27;
export const IDR1_SIDSIZE_SHIFT = 0;
export const IDR1_EVTQS_SHIFT = 16;
export const IDR1_CMDQS_SHIFT = 21;
export const IDR3_HAD = 1 << 2;
export const IDR3_FWB = 1 << 8;
export const IDR3_RIL = 1 << 10;
/** IDR3.XNX: stage 2 has the two-bit XN field (qemu sets it with stage 2). */
export const IDR3_XNX = 1 << 4;
/** IDR3.BBML = 2: break-before-make level 2. */
export const IDR3_BBML2 = 2 << 11;
export const IDR5_OAS_SHIFT = 0;
export const IDR5_GRAN4K = 1 << 4;
export const IDR5_GRAN16K = 1 << 5;
export const IDR5_GRAN64K = 1 << 6;
export const IDR5_VAX_SHIFT = 10;

/** IDR5.OAS encodings by width. */
export const OAS_ENCODING: Readonly<Record<number, number>> = { 32: 0, 36: 1, 40: 2, 42: 3, 44: 4, 48: 5, 52: 6 };

/** MSI_IOVA_BASE/LENGTH: the software MSI window the driver reserves in every domain. */
export const SMMU_MSI_IOVA_BASE = 0x8000000n;
export const SMMU_MSI_IOVA_LENGTH = 0x100000n;

/** The host's VA_BITS (arm64 defconfig, 4 KiB pages): caps the stage-1 input size. */
const VA_BITS = 48;
const SZ_4K = 1n << 12n, SZ_2M = 1n << 21n, SZ_1G = 1n << 30n, SZ_64K = 1n << 16n, SZ_512M = 1n << 29n;

export interface ArmSmmuV3Options {
  readonly index?: number;
  /** Firmware: the SMMU is dma-coherent (ARM_SMMU_FEAT_COHERENCY). */
  readonly coherent: boolean;
  readonly stage1?: boolean;
  readonly stage2?: boolean;
  readonly s2fwb?: boolean;
  readonly oas?: number;
  readonly groupIds?: IommuGroupIds;
}

/**
 * qemu's smmuv3 ID registers (hw/arm/smmuv3.c smmuv3_init_regs): AArch64
 * tables, little-endian, 16-bit ASIDs, no stalls, 2-level stream table,
 * 16-bit StreamIDs, queues of 2^19, HAD, RIL and BBML 2, 4K, 16K and 64K
 * granules, OAS 44 bits, IIDR 0, AIDR 1 (SMMUv3.1; 2 with S2FWB, a v3.2
 * feature); with stage 2 also VMID16 and XNX. COHACC follows the firmware's
 * coherency. Measured on the oracle's --arm machine by
 * oracle/guest/arm-smmu-idr.c: QEMU 7.2 (stage 1 only) IDR0 0x0d40101a,
 * IDR1 0x02730010, IDR3 0x00001404, IDR5 0x00000074, IIDR 0, AIDR 1;
 * QEMU 10.0 (both stages by default) IDR0 0x0d44101b, IDR3 0x00001414.
 */
export function smmuV3Idr(o: ArmSmmuV3Options): { idr: number[]; iidr: number; aidr: number } {
  let idr0 = IDR0_TTF_AARCH64 | IDR0_ASID16 | IDR0_TTENDIAN_LE | IDR0_STALL_MODEL_NONE | IDR0_TERM_MODEL | IDR0_ST_LVL_2LVL;
  if (o.stage1 ?? true) idr0 |= IDR0_S1P;
  if (o.stage2 ?? true) idr0 |= IDR0_S2P | IDR0_VMID16;
  if (o.coherent) idr0 |= IDR0_COHACC;
  const idr1 = (16 << IDR1_SIDSIZE_SHIFT) | (19 << IDR1_EVTQS_SHIFT) | (19 << IDR1_CMDQS_SHIFT);
  let idr3 = IDR3_HAD | IDR3_RIL | IDR3_BBML2;
  if (o.stage2 ?? true) idr3 |= IDR3_XNX;
  if (o.s2fwb) idr3 |= IDR3_FWB;
  const oas = OAS_ENCODING[o.oas ?? 44];
  if (oas === undefined) throw new Errno(EINVAL, `IDR5.OAS has no ${o.oas}-bit encoding`);
  const idr5 = (oas << IDR5_OAS_SHIFT) | IDR5_GRAN4K | IDR5_GRAN16K | IDR5_GRAN64K;
  return { idr: [idr0 >>> 0, idr1, 0, idr3, 0, idr5], iidr: 0, aidr: o.s2fwb ? 2 : 1 };
}

/** One SMMU and the arm_smmu_ops that serve its masters. */
export class ArmSmmuV3 implements PciIommu {
  readonly name: string;
  readonly idr: readonly number[];
  readonly iidr: number;
  readonly aidr: number;
  /** ARM_SMMU_FEAT_COHERENCY: from firmware, not from IDR0.COHACC. */
  readonly coherent: boolean;
  /** smmu->oas, bits (IDR5.OAS). */
  readonly oas: number;
  readonly groupIds: IommuGroupIds;
  readonly blockedDomain: HwDomain = { driver: this, kind: 'blocked', attachDev: () => {}, free: () => {} };
  /** The masters whose fwspec has IOMMU_FWSPEC_PCI_RC_CANWBS (set when IORT configures them). */
  private readonly canwbsMasters = new WeakSet<IommuDevice>();

  constructor(o: ArmSmmuV3Options) {
    this.name = `smmu3.${o.index ?? 0}`;
    const r = smmuV3Idr(o);
    this.idr = r.idr;
    this.iidr = r.iidr;
    this.aidr = r.aidr;
    this.coherent = o.coherent;
    this.oas = o.oas ?? 44;
    this.groupIds = o.groupIds ?? new IommuGroupIds();
    if (!(this.idr[0]! & (IDR0_S1P | IDR0_S2P))) throw new Errno(EINVAL, 'no translation stages (the driver refuses the SMMU)');
  }

  get stage1(): boolean { return (this.idr[0]! & IDR0_S1P) !== 0; }
  get stage2(): boolean { return (this.idr[0]! & IDR0_S2P) !== 0; }
  /** ARM_SMMU_FEAT_NESTING: both stages. */
  get nesting(): boolean { return this.stage1 && this.stage2; }
  get s2fwb(): boolean { return (this.idr[3]! & IDR3_FWB) !== 0; }
  /** ARM_SMMU_FEAT_HD: hardware dirty-state updates (IDR0.HTTU = 2 or 3). */
  get hd(): boolean { return ((this.idr[0]! >>> IDR0_HTTU_SHIFT) & 3) >= 2; }
  /** smmu->pgsize_bitmap narrowed to the host's 4 KiB granule (arm_lpae_restrict_pgsizes). */
  get pgsizeBitmap(): bigint {
    let b = 0n;
    if (this.idr[5]! & IDR5_GRAN4K) b |= SZ_4K | SZ_2M | SZ_1G;
    if (b & SZ_4K) return b;
    if (this.idr[5]! & IDR5_GRAN64K) b |= SZ_64K | SZ_512M;
    return b;
  }

  /** iort_iommu_configure: the master sits behind a root complex with (or without) CANWBS. */
  probeMaster(dev: IommuDevice, canwbs: boolean): void {
    if (canwbs) this.canwbsMasters.add(dev);
    else this.canwbsMasters.delete(dev);
  }

  /** arm_smmu_master_canwbs */
  masterCanwbs(dev: IommuDevice): boolean { return this.canwbsMasters.has(dev); }

  /** arm_smmu_capable. */
  capable(dev: IommuDevice, cap: IommuCap): boolean {
    switch (cap) {
      case 'CACHE_COHERENCY': return this.coherent;
      case 'ENFORCE_CACHE_COHERENCY': return this.masterCanwbs(dev);
      case 'DIRTY_TRACKING': return this.hd && this.coherent;
      case 'PCI_ATS_SUPPORTED': return (this.idr[0]! & IDR0_ATS) !== 0 && dev.isPci && (dev as PciFunction).ats === true;
    }
  }

  /** arm_smmu_domain_alloc_paging_flags: stage 1 when the SMMU has it, stage 2 for nest parents. */
  readonly domainAllocPagingFlags = (dev: IommuDevice, flags: number, userData: UserData | undefined): PagingDomain => {
    void dev;
    const paging = IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_NEST_PARENT;
    if ((flags & ~paging) || userData) throw new Errno(EOPNOTSUPP, 'paging flags or user data');
    switch (flags) {
      case 0:
        return new SmmuDomain(this, this.stage1 ? 1 : 2, false, false);
      case IOMMU_HWPT_ALLOC_NEST_PARENT:
        if (!this.nesting) throw new Errno(EOPNOTSUPP, 'no nesting');
        return new SmmuDomain(this, 2, true, false);
      case IOMMU_HWPT_ALLOC_DIRTY_TRACKING:
      case IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID:
      case IOMMU_HWPT_ALLOC_PASID:
        if (!this.stage1) throw new Errno(EOPNOTSUPP, 'no stage 1');
        return new SmmuDomain(this, 1, false, (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) !== 0);
      default:
        throw new Errno(EOPNOTSUPP, 'paging flags');
    }
  };

  domainAllocPaging(dev: IommuDevice): PagingDomain {
    return this.domainAllocPagingFlags(dev, 0, undefined);
  }

  /** arm_smmu_hw_info: struct iommu_hw_info_arm_smmuv3, IDR0-5, IIDR and AIDR as read. */
  hwInfo(dev: IommuDevice, type: number): { type: number; data: Uint8Array } {
    void dev;
    if (type !== IOMMU_HW_INFO_TYPE_DEFAULT && type !== IOMMU_HW_INFO_TYPE_ARM_SMMUV3) throw new Errno(EOPNOTSUPP, 'hw info type');
    const data = IommuHwInfoArmSmmuv3.encode({ flags: 0, __reserved: 0, idr: [...this.idr], iidr: this.iidr, aidr: this.aidr });
    return { type: IOMMU_HW_INFO_TYPE_ARM_SMMUV3, data };
  }

  /**
   * arm_smmu_get_viommu_size: a vSMMU needs nesting and some way to keep the
   * guest from bypassing the cache (VFIO does no cache maintenance): a CANWBS
   * master, or S2FWB (then the guest's stage 1 cannot make memory
   * non-cacheable, though No Snoop still can). 0: not offered (EOPNOTSUPP).
   */
  getViommuSize(dev: IommuDevice, type: number): number {
    if (!this.nesting) return 0;
    if (!this.masterCanwbs(dev) && !this.s2fwb) return 0;
    return type === IOMMU_VIOMMU_TYPE_ARM_SMMUV3 ? 1 : 0;
  }

  /**
   * arm_vsmmu_init: the nest parent must be a stage-2 domain of this SMMU
   * (EINVAL). The vSMMU's nested domains and invalidation are not modelled.
   */
  viommuInit(core: ViommuCore, parent: PagingDomain, userData: UserData | undefined): HwViommu {
    void core; void userData;
    if (!(parent instanceof SmmuDomain) || parent.driver !== this) throw new Errno(EINVAL, 'nest parent of another SMMU');
    return {};
  }

  /** arm_smmu_get_resv_regions: the software MSI window (no RMRs here). */
  reservedRegionsOf(dev: PciFunction): ReservedRegion[] {
    void dev;
    return [{ start: SMMU_MSI_IOVA_BASE, length: SMMU_MSI_IOVA_LENGTH, type: 'SW_MSI' }];
  }
}

/** A paging domain of one SMMU: a stage-1 or stage-2 LPAE table. */
export class SmmuDomain extends RunDomain implements PagingDomain {
  readonly kind = 'paging' as const;
  readonly pgtable: LpaeConfig;
  /** smmu_domain->devices */
  readonly devices = new Set<IommuDevice>();
  /** smmu_domain->enforce_cache_coherency */
  private enforce = false;

  constructor(readonly driver: ArmSmmuV3, readonly stage: 1 | 2, readonly nestParent: boolean, dirty: boolean) {
    // arm_smmu_domain_finalise: stage 1 takes min(48, VA_BITS) input bits, stage 2 the OAS.
    const ias = stage === 1 ? Math.min(48, VA_BITS) : driver.oas;
    if (stage === 2 && dirty) throw new Errno(EOPNOTSUPP, 'dirty tracking on stage 2');
    super({ pgsizeBitmap: driver.pgsizeBitmap, apertureStart: 0n, apertureEnd: (1n << BigInt(ias)) - 1n });
    this.pgtable = stage === 1
      ? { fmt: 'ARM_64_LPAE_S1', hd: dirty }
      : { fmt: 'ARM_64_LPAE_S2', s2fwb: driver.s2fwb && nestParent };
  }

  /** The domain enforces coherency (every master has CANWBS; no entry changed for it). */
  get enforcing(): boolean { return this.enforce; }

  /** arm_smmu_attach_dev / arm_smmu_attach_prepare: another SMMU's domain, or a non-CANWBS master joining an enforcing one, is EINVAL. */
  attachDev(dev: IommuDevice): void {
    if (dev.driver !== this.driver) throw new Errno(EINVAL, 'a domain of another SMMU');
    if (this.enforce && !this.driver.masterCanwbs(dev)) throw new Errno(EINVAL, 'enforcing domain, master without CANWBS');
    this.devices.add(dev);
  }

  detachDev(dev: IommuDevice): void { this.devices.delete(dev); }

  /** arm_smmu_enforce_cache_coherency: true when every attached master has CANWBS; the answer sticks. */
  enforceCacheCoherency(): boolean {
    let ok = true;
    for (const d of this.devices) if (!this.driver.masterCanwbs(d)) { ok = false; break; }
    this.enforce = ok;
    return ok;
  }

  /** arm_lpae_map_pages: a mapping with neither read nor write maps nothing. */
  override map(iova: bigint, paddr: bigint, length: bigint, prot: number): void {
    if (!(prot & (IOMMU_READ | IOMMU_WRITE))) return;
    super.map(iova, paddr, length, prot);
  }

  /** The leaf descriptor translating `iova`; undefined when unmapped. */
  pte(iova: bigint): bigint | undefined {
    const r = this.runAt(iova);
    if (!r) return undefined;
    const leaf = leafAt(r, iova, this.pgsizeBitmap);
    return lpaeLeaf(this.pgtable, leaf.paddr, leaf.size, r.prot);
  }

  /** DMA through `iova` uses write-back cacheable attributes (coherent with the CPU caches, unless No Snoop gets around it). */
  cacheable(iova: bigint): boolean | undefined {
    const p = this.pte(iova);
    return p === undefined ? undefined : lpaeCacheable(this.pgtable, p);
  }

  free(): void { this.devices.clear(); }
}
