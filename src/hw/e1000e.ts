// The Intel 82574L gigabit NIC as qemu's "e1000e" device presents it: the
// PCI function the oracle's --vfio machine binds to vfio-pci. Only what the
// IOMMU and VFIO see: IDs, no PASID and no ATS capability (GET_HW_INFO on the
// real machine reports max_pasid_log2 0 and PCI_ATS_NOT_SUPPORTED), and what
// vfio-pci reports about its regions and IRQs.
import { PciFunction, type Bdf, type PciIommu } from './pci.js';
import type { IommuGroup } from './iommu.js';

export const E1000E_VENDOR_ID = 0x8086;
export const E1000E_DEVICE_ID = 0x10d3;
export const E1000E_CLASS = 0x020000;

/** One region as VFIO_DEVICE_GET_REGION_INFO reports it (offset: index << 40). */
export interface VfioRegion {
  readonly size: bigint;
  /** VFIO_REGION_INFO_FLAG_READ | WRITE | MMAP (CAPS is added for capabilities). */
  readonly flags: number;
  /** VFIO_REGION_INFO_CAP_MSIX_MAPPABLE: the MSI-X table's BAR may be mmapped whole. */
  readonly msixMappable?: boolean;
}

/** One IRQ index as VFIO_DEVICE_GET_IRQ_INFO reports it. */
export interface VfioIrq {
  readonly flags: number;
  readonly count: number;
}

/** What vfio-pci tells userspace about a function it drives. */
export interface VfioPciInfo {
  /** pci_probe_reset_function found a reset method (VFIO_DEVICE_FLAGS_RESET). */
  readonly resetWorks: boolean;
  /** VFIO_PCI_NUM_REGIONS plus device-specific regions. */
  readonly numRegions: number;
  /** VFIO_PCI_NUM_IRQS. */
  readonly numIrqs: number;
  /** By region index; undefined: EINVAL (no VGA, no device-specific regions). */
  readonly regions: ReadonlyArray<VfioRegion | undefined>;
  /** By IRQ index: INTx, MSI, MSI-X, ERR, REQ. */
  readonly irqs: ReadonlyArray<VfioIrq>;
}

const RW = 0x3, RW_MMAP = 0x7;
const IRQ_EVENTFD = 1, IRQ_MASKABLE = 2, IRQ_AUTOMASKED = 4, IRQ_NORESIZE = 8;

/**
 * qemu's e1000e behind vfio-pci on the oracle machine, measured: BAR0 (MMIO)
 * and BAR1 (flash) 128 KiB, BAR2 32 bytes of I/O ports, BAR3 the MSI-X table
 * (16 KiB, mmappable whole), no ROM (romfile=), 4 KiB of PCIe config space,
 * no VGA; INTx, one MSI vector, five MSI-X vectors (dynamic), ERR and REQ.
 */
export const E1000E_VFIO_INFO: VfioPciInfo = {
  resetWorks: true,
  numRegions: 9,
  numIrqs: 5,
  regions: [
    { size: 0x20000n, flags: RW_MMAP }, { size: 0x20000n, flags: RW_MMAP }, { size: 0x20n, flags: RW },
    { size: 0x4000n, flags: RW_MMAP, msixMappable: true }, { size: 0n, flags: 0 }, { size: 0n, flags: 0 },
    { size: 0n, flags: 0 }, { size: 0x1000n, flags: RW }, undefined,
  ],
  irqs: [
    { flags: IRQ_EVENTFD | IRQ_MASKABLE | IRQ_AUTOMASKED, count: 1 }, { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 },
    { flags: IRQ_EVENTFD, count: 5 }, { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 }, { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 },
  ],
};

export class E1000e extends PciFunction {
  readonly vfio: VfioPciInfo = E1000E_VFIO_INFO;

  constructor(o: { bdf: Bdf; iommu: PciIommu; group?: IommuGroup; isolatedMsi?: boolean }) {
    super({
      bdf: o.bdf, vendorId: E1000E_VENDOR_ID, deviceId: E1000E_DEVICE_ID, classCode: E1000E_CLASS,
      iommu: o.iommu, ...(o.group ? { group: o.group } : {}), isolatedMsi: o.isolatedMsi ?? true,
    });
  }
}
