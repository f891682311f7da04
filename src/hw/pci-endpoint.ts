// A plain PCI Express endpoint: config space only. The platforms use it for
// functions that have no device model yet (an NVMe-class controller, an
// integrated GPU): what the IOMMU, iommufd and vfio-pci see of them is their
// address, IDs, class and group; they have no BARs, no interrupts but the
// error and request ones vfio-pci gives every PCIe function, and no reset
// method (no FLR in DevCap, no PM capability, alone on a root bus).
import {
  PciConfigSpace, PciFunction, PCI_CFG_SPACE_EXP_SIZE,
  type Bdf, type PciBarResource, type PciFunctionModel, type PciIommu, type VfioPciInfo,
} from './pci.js';
import type { IommuGroup } from './iommu.js';
import * as V from '../uapi/vfio.js';

/** Where the PCI Express capability sits: the first byte past the standard header. */
const CAP_EXP = 0x40;
/** PCI_EXP_FLAGS: version 2, a root-complex integrated endpoint (type 9). */
const EXP_FLAGS_RCIEP_V2 = 0x0092;

const RW = V.VFIO_REGION_INFO_FLAG_READ | V.VFIO_REGION_INFO_FLAG_WRITE;
const { VFIO_IRQ_INFO_EVENTFD: IRQ_EVENTFD, VFIO_IRQ_INFO_MASKABLE: IRQ_MASKABLE, VFIO_IRQ_INFO_AUTOMASKED: IRQ_AUTOMASKED, VFIO_IRQ_INFO_NORESIZE: IRQ_NORESIZE } = V;

/**
 * What vfio-pci reports for such a function: six empty BARs and no ROM, 4 KiB
 * of config space, no VGA; INTx, MSI and MSI-X with no vectors (no interrupt
 * pin, no MSI or MSI-X capability), one ERR (PCIe) and one REQ interrupt.
 */
export const PCI_ENDPOINT_VFIO_INFO: VfioPciInfo = {
  resetWorks: false,
  numRegions: 9,
  numIrqs: 5,
  regions: [
    { size: 0n, flags: 0 }, { size: 0n, flags: 0 }, { size: 0n, flags: 0 }, { size: 0n, flags: 0 }, { size: 0n, flags: 0 },
    { size: 0n, flags: 0 }, { size: 0n, flags: 0 }, { size: BigInt(PCI_CFG_SPACE_EXP_SIZE), flags: RW }, undefined,
  ],
  irqs: [
    { flags: IRQ_EVENTFD | IRQ_MASKABLE | IRQ_AUTOMASKED, count: 0 }, { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 0 },
    { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 0 }, { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 },
    { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 },
  ],
};

/** The config space: IDs, class, the capability list with one PCI Express capability; command bits writable as qemu's default mask. */
export function pciEndpointConfigSpace(vendorId: number, deviceId: number, classCode: number): PciConfigSpace {
  const c = new PciConfigSpace(PCI_CFG_SPACE_EXP_SIZE);
  c.wmask.fill(0xff, CAP_EXP + 0x3c, 0x100);
  c.set(0x00, 2, vendorId);
  c.set(0x02, 2, deviceId);
  c.set(0x04, 2, 0x0002); // memory space enabled by the firmware
  c.setMasks(0x04, 2, 0x0507);
  c.set(0x06, 2, 0x0010); // capability list
  c.set(0x08, 4, (classCode << 8) >>> 0); // revision 0
  c.setMasks(0x0c, 1, 0xff);
  c.set(0x2c, 2, vendorId);
  c.set(0x34, 1, CAP_EXP);
  c.setMasks(0x3c, 1, 0xff);
  c.set(CAP_EXP, 4, EXP_FLAGS_RCIEP_V2 << 16 | 0x10);
  return c;
}

class PciEndpointModel implements PciFunctionModel {
  readonly resources: ReadonlyArray<PciBarResource | undefined> = [];
  constructor(readonly config: PciConfigSpace) {}
  barRead(bar: number, off: number, size: number): bigint { void bar; void off; return (1n << BigInt(8 * size)) - 1n; }
  barWrite(bar: number, off: number, size: number, val: bigint): void { void bar; void off; void size; void val; }
  resetFunction(): void {}
}

export class PciEndpoint extends PciFunction {
  readonly vfio: VfioPciInfo = PCI_ENDPOINT_VFIO_INFO;
  readonly model: PciFunctionModel;

  constructor(o: { bdf: Bdf; iommu: PciIommu; vendorId: number; deviceId: number; classCode: number; group?: IommuGroup; isolatedMsi?: boolean }) {
    super({
      bdf: o.bdf, vendorId: o.vendorId, deviceId: o.deviceId, classCode: o.classCode,
      iommu: o.iommu, ...(o.group ? { group: o.group } : {}), isolatedMsi: o.isolatedMsi ?? true,
    });
    this.model = new PciEndpointModel(pciEndpointConfigSpace(o.vendorId, o.deviceId, o.classCode));
  }
}
