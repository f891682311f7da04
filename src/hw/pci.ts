// A minimal PCI function: its address, its IDs, the IOMMU unit that
// translates its DMA and the group it is in. What iommufd and VFIO need of a
// struct pci_dev, not a config space: no BARs are decoded and no DMA engine
// runs yet. Device models (e1000e.ts) add what VFIO reports about them.
import type { IommuDevice, IommuDriver, IommuGroup, IommuGroupIds, ReservedRegion } from './iommu.js';

/** A PCI address: domain, bus, device (slot) and function. */
export interface Bdf {
  readonly domain: number;
  readonly bus: number;
  readonly device: number;
  readonly fn: number;
}

/** "0000:00:01.0", as sysfs and the kernel log name a function. */
export function formatBdf(a: Bdf): string {
  const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${hex(a.domain, 4)}:${hex(a.bus, 2)}:${hex(a.device, 2)}.${a.fn}`;
}

/** The IOMMU side of a PCI function: a unit that reports reserved regions per device. */
export interface PciIommu extends IommuDriver {
  /** ops->get_resv_regions for `dev`. */
  reservedRegionsOf(dev: PciFunction): ReservedRegion[];
  /** The group ids of the unit's machine: pci_device_group gives a function without peers its own group. */
  readonly groupIds: IommuGroupIds;
}

export interface PciFunctionOptions {
  readonly bdf: Bdf;
  readonly vendorId: number;
  readonly deviceId: number;
  /** Class code, 24 bits (0x020000: Ethernet controller). */
  readonly classCode: number;
  /** The IOMMU unit whose scope covers the function. */
  readonly iommu: PciIommu;
  /** The function's iommu_group; default: a group of its own. */
  readonly group?: IommuGroup;
  /**
   * MSI writes cannot reach another context: interrupt remapping is on (or
   * the platform isolates MSI). Only used when a new group is made.
   */
  readonly isolatedMsi?: boolean;
  /** PASID capability width in bits, enabled (0: no PASID capability). */
  readonly pasidWidth?: number;
  /** Has an ATS capability that the IOMMU can use. */
  readonly ats?: boolean;
}

export class PciFunction implements IommuDevice {
  readonly name: string;
  readonly bdf: Bdf;
  readonly vendorId: number;
  readonly deviceId: number;
  readonly classCode: number;
  readonly driver: PciIommu;
  readonly group: IommuGroup;
  readonly isPci = true;
  readonly maxPasidLog2: number;
  readonly ats: boolean;

  constructor(o: PciFunctionOptions) {
    this.bdf = o.bdf;
    this.name = formatBdf(o.bdf);
    this.vendorId = o.vendorId;
    this.deviceId = o.deviceId;
    this.classCode = o.classCode;
    this.driver = o.iommu;
    this.group = o.group ?? o.iommu.groupIds.alloc(o.isolatedMsi ?? true);
    this.maxPasidLog2 = o.pasidWidth ?? 0;
    this.ats = o.ats ?? false;
  }

  reservedRegions(): ReservedRegion[] {
    return this.driver.reservedRegionsOf(this);
  }
}
