// The AMD IOMMU (drivers/iommu/amd/): one unit per AmdVi, its extended
// feature registers (EFR, EFR2) as the hardware (by default qemu's amd-iommu)
// reports them, and the v1 paging domain the driver gives iommufd.
//
// Coherency is never a question on AMD: amd_iommu_capable answers yes to
// both IOMMU_CAP_CACHE_COHERENCY and IOMMU_CAP_ENFORCE_CACHE_COHERENCY for
// every device, the v1 table is made with force-coherence so every leaf has
// FC (bit 60), and enforce_cache_coherency only says so. The v2 (x86-64
// format) table, PASIDs and nesting need EFR bits qemu's unit lacks (GIOSUP,
// EPHSUP) and are not modelled. Dirty tracking (HDSUP, a platform file's
// EFR) is: a v1 domain allocated for it keeps the dirty bit of every leaf a
// device writes through while tracking is on (the DTE's HAD bits).
//
// On the oracle's --amd machine (qemu 7.2, test/conformance/amd_*.golden)
// the IVRS gives no EFR image (the driver logs "Using global IVHD EFR:0x0"
// and reads EFR 0x29d3 from MMIO; EFR2 0) and IVinfo VAsize 48, so v1
// domains end at 2^48 - 1; NICs report PCI_ATS_NOT_SUPPORTED (caps 0x8).
import { Errno, EINVAL, EOPNOTSUPP } from '../uapi/errno.js';
import { IOMMU_READ, IOMMU_WRITE, IommuGroupIds } from './iommu.js';
import { RunDomain } from './run-domain.js';
import { leafAt } from './io-pgtable-leaf.js';
import { amdv1Leaf } from './io-pgtable-amdv1.js';
import type { DirtyOps, HwDomain, IommuCap, IommuDevice, PagingDomain, ReservedRegion, UserData } from './iommu.js';
import type { PciFunction, PciIommu } from './pci.js';
import {
  IOMMU_HW_INFO_TYPE_AMD, IOMMU_HW_INFO_TYPE_DEFAULT, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_ALLOC_NEST_PARENT,
  IOMMU_HWPT_ALLOC_PASID, IommuHwInfoAmd,
} from '../uapi/iommufd.js';

// ---- registers ---------------------------------------------------------------

export const FEATURE_PPR = 1n << 1n;
export const FEATURE_GT = 1n << 4n;
export const FEATURE_HATS_SHIFT = 10n;
export const FEATURE_GIOSUP = 1n << 48n;
export const FEATURE_EPHSUP = 1n << 50n;
export const FEATURE_HDSUP = 1n << 52n;
/** EFR2 */
export const FEATURE_GCR3TRPMODE = 1n << 3n;
export const FEATURE_HT_RANGE_IGNORE = 1n << 11n;

/** The interrupt window: DMA there is an interrupt request (MSI_RANGE_START..END). */
export const AMD_MSI_START = 0xfee00000n;
export const AMD_MSI_LAST = 0xfeefffffn;
/** The HyperTransport reserved range below 1 TiB (HT_RANGE_START..END), unless EFR2 says it is ignored. */
export const AMD_HT_START = 0xfd00000000n;
export const AMD_HT_LAST = 0xffffffffffn;

/** AMD_IOMMU_PGSIZES: every power of two from 4 KiB to 2^51 but 512 GiB. */
export const AMD_IOMMU_PGSIZES = (((1n << 52n) - 1n) & ~0xfffn) ^ (1n << 39n);

export interface AmdViOptions {
  readonly index?: number;
  readonly efr: bigint;
  readonly efr2?: bigint;
  /** IVinfo VAsize (0: not given, 64 bits). */
  readonly ivinfoVasize?: number;
  readonly groupIds?: IommuGroupIds;
}

/** One AMD IOMMU and the amd_iommu_ops that serve its devices. */
export class AmdVi implements PciIommu {
  readonly name: string;
  readonly efr: bigint;
  readonly efr2: bigint;
  readonly groupIds: IommuGroupIds;
  readonly blockedDomain: HwDomain = { driver: this, kind: 'blocked', attachDev: () => {}, free: () => {} };
  /** amd_iommu_hpt_vasize: the widest IOVA of a v1 table, from EFR.HATS and IVinfo. */
  readonly hptVasize: number;

  constructor(o: AmdViOptions) {
    this.name = `ivhd${o.index ?? 0}`;
    this.efr = o.efr;
    this.efr2 = o.efr2 ?? 0n;
    this.groupIds = o.groupIds ?? new IommuGroupIds();
    const hats = Number((this.efr >> FEATURE_HATS_SHIFT) & 3n);
    if (hats === 3) throw new Errno(EINVAL, 'EFR.HATS 3 is reserved: no host translation');
    this.hptVasize = Math.min(o.ivinfoVasize || 64, (hats + 3) * 9 + 21);
  }

  private has(bit: bigint): boolean { return (this.efr & bit) !== 0n; }
  /** amd_iommu_hd_support */
  get dirtySupported(): boolean { return this.has(FEATURE_HDSUP); }
  /** amd_iommu_v2_pgtbl_supported */
  get v2Supported(): boolean { return this.has(FEATURE_GIOSUP) && this.has(FEATURE_GT); }
  /** amd_iommu_pasid_supported (a v2 table with PPR and EPHSUP). */
  get pasidSupported(): boolean { return this.v2Supported && this.has(FEATURE_PPR) && this.has(FEATURE_EPHSUP); }
  /** is_nest_parent_supported */
  get nestParentSupported(): boolean { return this.has(FEATURE_GT) && this.has(FEATURE_GIOSUP) && (this.efr2 & FEATURE_GCR3TRPMODE) !== 0n; }

  /** amd_iommu_capable. */
  capable(dev: IommuDevice, cap: IommuCap): boolean {
    switch (cap) {
      case 'CACHE_COHERENCY': return true;
      case 'ENFORCE_CACHE_COHERENCY': return true;
      case 'DIRTY_TRACKING': return this.dirtySupported;
      case 'PCI_ATS_SUPPORTED': return dev.isPci && (dev as PciFunction).ats === true;
    }
  }

  /** amd_iommu_domain_alloc_paging_flags: no user data; the v1 table unless PASIDs are asked for. */
  readonly domainAllocPagingFlags = (dev: IommuDevice, flags: number, userData: UserData | undefined): PagingDomain => {
    void dev;
    const supported = IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_NEST_PARENT;
    if ((flags & ~supported) || userData) throw new Errno(EOPNOTSUPP, 'paging flags or user data');
    switch (flags) {
      case 0:
        return new AmdV1Domain(this, false);
      case IOMMU_HWPT_ALLOC_DIRTY_TRACKING:
        if (!this.dirtySupported) break;
        return new AmdV1Domain(this, true);
      case IOMMU_HWPT_ALLOC_NEST_PARENT:
      case IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_NEST_PARENT:
        if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !this.dirtySupported) break;
        if ((flags & IOMMU_HWPT_ALLOC_NEST_PARENT) && !this.nestParentSupported) break;
        throw new Errno(EOPNOTSUPP, 'AMD nest parents are not modelled');
      case IOMMU_HWPT_ALLOC_PASID:
        if (!this.pasidSupported) break;
        throw new Errno(EOPNOTSUPP, 'the AMD v2 page table is not modelled');
    }
    throw new Errno(EOPNOTSUPP, 'the unit cannot make such a domain');
  };

  domainAllocPaging(dev: IommuDevice): PagingDomain {
    return this.domainAllocPagingFlags(dev, 0, undefined);
  }

  /** amd_iommufd_hw_info: struct iommu_hw_info_amd, the raw EFR and EFR2. */
  hwInfo(dev: IommuDevice, type: number): { type: number; data: Uint8Array } {
    void dev;
    if (type !== IOMMU_HW_INFO_TYPE_DEFAULT && type !== IOMMU_HW_INFO_TYPE_AMD) throw new Errno(EOPNOTSUPP, 'hw info type');
    return { type: IOMMU_HW_INFO_TYPE_AMD, data: IommuHwInfoAmd.encode({ efr: this.efr, efr2: this.efr2 }) };
  }

  /** amd_iommu_get_resv_regions: no unity maps here; the interrupt window, and the HyperTransport range unless ignored. */
  reservedRegionsOf(dev: PciFunction): ReservedRegion[] {
    void dev;
    const r: ReservedRegion[] = [{ start: AMD_MSI_START, length: AMD_MSI_LAST - AMD_MSI_START + 1n, type: 'MSI' }];
    if (!(this.efr2 & FEATURE_HT_RANGE_IGNORE)) r.push({ start: AMD_HT_START, length: AMD_HT_LAST - AMD_HT_START + 1n, type: 'RESERVED' });
    return r;
  }
}

/**
 * A v1 domain's page sizes: the generic page table's (every power of two up
 * to the VA width, less a whole-table size: pt_iommu get_info's
 * log2_mod(sizes, max_vasz_lg2 - 1)) narrowed to amd_iommu_pgsize_bitmap.
 * With 48-bit IOVAs, 4 KiB to 64 TiB but 512 GiB (0x7f7ffffff000).
 */
export function amdV1PageSizes(vasizeLg2: number): bigint {
  return vasizeLg2 >= 64 ? AMD_IOMMU_PGSIZES : AMD_IOMMU_PGSIZES & ((1n << BigInt(vasizeLg2 - 1)) - 1n);
}

/** A v1 paging domain: every leaf force-coherent. */
export class AmdV1Domain extends RunDomain implements PagingDomain {
  readonly kind = 'paging' as const;
  readonly devices = new Set<IommuDevice>();
  /** PT_FEAT_AMDV1_FORCE_COHERENCE: set at allocation, so DMA through the domain always snoops. */
  readonly enforcing = true;
  readonly dirtyOps?: DirtyOps;
  /** The DTE's HAD bits: the IOMMU sets dirty bits in leaves devices write through. */
  private tracking = false;
  /** Dirty leaves: first IOVA -> size (the whole leaf is reported, as the generic page table does). */
  private readonly dirty = new Map<bigint, bigint>();

  constructor(readonly driver: AmdVi, readonly dirtyTracking: boolean) {
    super({
      pgsizeBitmap: amdV1PageSizes(driver.hptVasize),
      apertureStart: 0n,
      apertureEnd: driver.hptVasize >= 64 ? (1n << 64n) - 1n : (1n << BigInt(driver.hptVasize)) - 1n,
    });
    if (dirtyTracking) {
      this.dirtyOps = {
        setDirtyTracking: (enable) => { this.tracking = enable; },
        readAndClearDirty: (iova, length, noClear, record) => {
          const end = iova + length;
          for (const [s, size] of [...this.dirty]) {
            if (s >= end || s + size <= iova) continue;
            record(s, size);
            if (!noClear) this.dirty.delete(s);
          }
        },
        deviceWrite: (iova, length) => {
          if (!this.tracking) return;
          for (let a = iova; a < iova + length;) {
            const r = this.runAt(a);
            if (!r) return;
            const leaf = leafAt(r, a, this.pgsizeBitmap);
            this.dirty.set(leaf.iova, leaf.size);
            a = leaf.iova + leaf.size;
          }
        },
      };
    }
  }

  /** Unmapping clears the leaves, their dirty bits with them. */
  override unmap(iova: bigint, length: bigint): void {
    super.unmap(iova, length);
    for (const s of [...this.dirty.keys()]) if (s >= iova && s < iova + length) this.dirty.delete(s);
  }

  /** amd_iommu_attach_device: a device of another IOMMU type is EINVAL; so is a dirty-tracking domain on a unit without HD. */
  attachDev(dev: IommuDevice): void {
    if (!(dev.driver instanceof AmdVi)) throw new Errno(EINVAL, 'not an AMD IOMMU device');
    if (this.dirtyTracking && !dev.driver.dirtySupported) throw new Errno(EINVAL, 'dirty tracking');
    this.devices.add(dev);
  }

  detachDev(dev: IommuDevice): void { this.devices.delete(dev); }

  /** amd_iommu_enforce_cache_coherency: FC is in every entry already. */
  enforceCacheCoherency(): boolean { return true; }

  /** The leaf entry translating `iova`, as the IOMMU reads it; undefined when unmapped. */
  pte(iova: bigint): bigint | undefined {
    const r = this.runAt(iova);
    if (!r) return undefined;
    const leaf = leafAt(r, iova, this.pgsizeBitmap);
    return amdv1Leaf(leaf.paddr, leaf.size, r.prot & (IOMMU_READ | IOMMU_WRITE), true);
  }

  free(): void { this.devices.clear(); }
}
