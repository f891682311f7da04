// The VT-d nested domain (drivers/iommu/intel/nested.c): a stage-1 table the
// user owns (IOMMU_HWPT_DATA_VTD_S1: flags, pgtbl_addr, addr_width) over a
// nest-parent second-stage domain. Attaching writes a PASID entry of type
// nested: FLPTR is the user's table, SLPTR the parent's, PGSNP set when the
// parent enforces snooping, PWSNP unless the parent's table writes are
// flushed. The checks: the parent must fit the unit (the second stage's
// rules), addr_width 48 or 57 (with CAP.FL5LP), SRE needs ECAP.SRS, EAFE
// needs ECAP.EAFS. HWPT_INVALIDATE takes iommu_hwpt_vtd_s1_invalidate
// entries. Translation through the user's table is not modelled (DMA on a
// nested domain faults as untranslated).
import { Errno, EINVAL, EOPNOTSUPP } from '../uapi/errno.js';
import {
  IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, IOMMU_VTD_INV_FLAGS_LEAF, IOMMU_VTD_S1_EAFE, IOMMU_VTD_S1_SRE, IOMMU_VTD_S1_WPE,
  IommuHwptVtdS1Invalidate,
} from '../uapi/iommufd.js';
import { copyUserDataEntry } from './iommu.js';
import { PASID_ENTRY_PGTT_NESTED } from './intel-vtd-pasid.js';
import type { HwDomain, IommuDevice, NestedDomain, UserDataArray } from './iommu.js';
import type { IntelVtd, VtdSecondStageDomain } from './intel-vtd.js';
import { dmarAttachDev, dmarDetachDev, dmarSetDevPasid, domainRemoveDevPasid, type DmarDomain } from './intel-vtd-domain.js';

/** ADDR_WIDTH_4LEVEL / ADDR_WIDTH_5LEVEL: the stage-1 widths the driver takes. */
export const VTD_S1_ADDR_WIDTH_4LEVEL = 48;
export const VTD_S1_ADDR_WIDTH_5LEVEL = 57;

const U64_MAX = (1n << 64n) - 1n;

/** struct iommu_hwpt_vtd_s1 as the driver keeps it (s1_cfg). */
export interface VtdS1Config {
  readonly flags: bigint;
  readonly pgtblAddr: bigint;
  readonly addrWidth: number;
}

/** A cache invalidation the driver issued for a user's request (cache_tag_flush_range). */
export interface VtdS1Flush {
  readonly start: bigint;
  readonly last: bigint;
  readonly leaf: boolean;
}

export class VtdNestedDomain implements NestedDomain, DmarDomain {
  readonly kind = 'nested' as const;
  readonly devices = new Set<IommuDevice>();
  readonly devPasids = new Map<IommuDevice, Set<number>>();
  /** The flushes user invalidations asked for, oldest first (the last 64). */
  readonly flushes: VtdS1Flush[] = [];

  constructor(readonly driver: IntelVtd, readonly parent: VtdSecondStageDomain, readonly s1: VtdS1Config) {}

  /** intel_pasid_setup_nested's checks of the stage-1 configuration against the unit. */
  private checkS1(u: IntelVtd): void {
    if (this.s1.addrWidth === VTD_S1_ADDR_WIDTH_5LEVEL) {
      if (!u.fl5lpSupported) throw new Errno(EINVAL, 'no 5-level first stage');
    } else if (this.s1.addrWidth !== VTD_S1_ADDR_WIDTH_4LEVEL) {
      throw new Errno(EINVAL, `stage-1 address width ${this.s1.addrWidth}`);
    }
    if ((this.s1.flags & BigInt(IOMMU_VTD_S1_SRE)) && !u.srsSupported) throw new Errno(EINVAL, 'no supervisor requests');
    if ((this.s1.flags & BigInt(IOMMU_VTD_S1_EAFE)) && !u.eafsSupported) throw new Errno(EINVAL, 'no extended access flag');
  }

  /** intel_nested_attach_dev and set_dev_pasid check the parent against the unit. */
  compatible(u: IntelVtd): void { this.parent.compatible(u); }

  /** The nested PASID entry, once the stage-1 configuration suits the unit. */
  setupEntry(u: IntelVtd, dev: IommuDevice, pasid: number, old: HwDomain | undefined): void {
    this.checkS1(u);
    const f = this.s1.flags, p = this.parent;
    u.setupPasidEntry(dev, pasid, this, old, {
      pgtt: PASID_ENTRY_PGTT_NESTED, did: u.domainId(this), aw: p.aw,
      fl5lp: this.s1.addrWidth === VTD_S1_ADDR_WIDTH_5LEVEL, flptr: this.s1.pgtblAddr,
      sre: (f & BigInt(IOMMU_VTD_S1_SRE)) !== 0n, wpe: (f & BigInt(IOMMU_VTD_S1_WPE)) !== 0n,
      eafe: (f & BigInt(IOMMU_VTD_S1_EAFE)) !== 0n, pgsnp: p.enforcing, pwsnp: !p.dmaIncoherent,
    });
  }

  // The attach paths of struct dmar_domain (intel-vtd-domain.ts).
  attachDev(dev: IommuDevice): void { dmarAttachDev(this, dev); }
  detachDev(dev: IommuDevice): void { dmarDetachDev(this, dev); }
  setDevPasid(dev: IommuDevice, pasid: number, old: HwDomain | undefined): void { dmarSetDevPasid(this, dev, pasid, old); }
  removeDevPasid(dev: IommuDevice, pasid: number): void { domainRemoveDevPasid(this, dev, pasid); }

  /**
   * intel_nested_cache_invalidate_user: entries one by one; flags other than
   * LEAF or a non-zero __reserved is EOPNOTSUPP, an address not 4 KiB
   * aligned or "all pages" (npages U64_MAX) from a non-zero address EINVAL.
   * entryNum becomes the number handled.
   */
  cacheInvalidateUser(a: UserDataArray): void {
    let done = 0;
    try {
      if (a.type !== IOMMU_HWPT_INVALIDATE_DATA_VTD_S1) throw new Errno(EINVAL, 'invalidation data type');
      const S = IommuHwptVtdS1Invalidate;
      for (let i = 0; i < a.entryNum; i++) {
        const e = S.decode(copyUserDataEntry(a, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, i, S.size, S.end('__reserved')));
        if ((e.flags & ~IOMMU_VTD_INV_FLAGS_LEAF) || e.__reserved) throw new Errno(EOPNOTSUPP, 'invalidation flags');
        if ((e.addr & 0xfffn) || (e.npages === U64_MAX && e.addr)) throw new Errno(EINVAL, 'invalidation range');
        const last = e.npages === U64_MAX || e.npages >= 1n << 52n ? U64_MAX : e.addr + (e.npages << 12n) - 1n;
        this.flushes.push({ start: e.addr, last: last > U64_MAX ? U64_MAX : last, leaf: (e.flags & IOMMU_VTD_INV_FLAGS_LEAF) !== 0 });
        if (this.flushes.length > 64) this.flushes.shift();
        done++;
      }
    } finally {
      a.entryNum = done;
    }
  }

  free(): void {
    this.parent.s1Domains.delete(this);
    this.devices.clear();
  }
}
