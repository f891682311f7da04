// The Intel 82576 (8086:10c9) as qemu 10's "igb" device presents it: the PF
// the oracle's --igb machine binds to vfio-pci at 0000:00:03.0. Config space
// (PM, MSI with per-vector masking, MSI-X with 10 vectors in BAR3, PCIe v2
// with FLR, AER, ARI, SR-IOV with 8 VFs of device 10ca that are never
// instantiated here), the BARs (128 KiB MMIO, 128 KiB dummy flash, 32 bytes
// of I/O ports, 16 KiB 64-bit MSI-X), what vfio-pci reports about regions
// and IRQs, and the register core (igb-core.ts) behind BAR0 and the I/O
// window. Reset: FLR (vfio-pci's reset method, DevCap.FLR) is qemu's device
// reset, igb_core_reset.
import { PciConfigSpace, PciFunction, PCI_CFG_SPACE_EXP_SIZE, type Bdf, type PciIommu, type VfioPciInfo } from './pci.js';
import { IgbCore } from './igb-core.js';
import { IGB_MSIX_VECTORS } from './igb-regs.js';
import type { Clock } from './clock.js';
import type { IommuGroup } from './iommu.js';
import { E1000xModel, e1000xVfioInfo, e1000xResources, e1000xConfigHeader, type E1000xFirmware } from './e1000x-pci.js';
import { claimCap, msixCap, msiCap, aerCap } from './e1000x-pci.js';

export const IGB_VENDOR_ID = 0x8086;
export const IGB_DEVICE_ID = 0x10c9;
export const IGB_VF_DEVICE_ID = 0x10ca;
export const IGB_CLASS = 0x020000;

/**
 * vfio-pci on the oracle's igb, measured (igb_regs.golden): the BARs
 * e1000xVfioInfo lists (BAR3 with BAR4 its upper half), ten MSI-X vectors;
 * the oracle's kernel has no igb driver, so none enabled the function.
 */
export const IGB_VFIO_INFO: VfioPciInfo = e1000xVfioInfo(IGB_MSIX_VECTORS, true);

/** 0000:00:03.0 on the oracle's --igb machine, measured (BAR3 is 64-bit). */
export const IGB_FIRMWARE_SLOT3: E1000xFirmware = {
  bars: [0xfeba0000n, 0xfebc0000n, 0xc080n, 0xfebe8000n], irqLine: 0x0b, mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x58],
};

// Capability offsets of qemu's igb (hw/net/igb.c).
const CAP_PM = 0x40, CAP_MSI = 0x50, CAP_MSIX = 0x70, CAP_EXP = 0xa0;
const ECAP_AER = 0x100, ECAP_ARI = 0x150, ECAP_SRIOV = 0x160;

/** The config space as qemu's igb presents it after SeaBIOS (values measured: igb_regs.golden). */
export function igbConfigSpace(fw: E1000xFirmware): PciConfigSpace {
  const c = new PciConfigSpace(PCI_CFG_SPACE_EXP_SIZE);
  e1000xConfigHeader(c, fw, { vendor: IGB_VENDOR_ID, device: IGB_DEVICE_ID, classRev: (IGB_CLASS << 8) | 0x01, capPtr: CAP_PM });
  c.set(0x1c, 4, Number(fw.bars[3] & 0xffffffffn) | 0x4);
  c.set(0x20, 4, Number(fw.bars[3] >> 32n));
  c.set(0x2c, 2, 0x1af4); // qemu's subsystem vendor; subsystem 0x1100
  c.set(0x2e, 2, 0x1100);
  // Power management: PMC version 2, DSI.
  claimCap(c, CAP_PM, 8);
  c.set(CAP_PM, 4, 0x00225001);
  c.setMasks(CAP_PM + 4, 2, 0x1f03, 0x8000);
  // MSI: one vector, 64-bit, per-vector masking.
  msiCap(c, CAP_MSI, 24, 0x01807005);
  c.setMasks(CAP_MSI + 16, 4, 0x1);
  // MSI-X: 10 vectors.
  msixCap(c, CAP_MSIX, 0x0009a011);
  // PCI Express v2, root complex integrated endpoint, FLR.
  claimCap(c, CAP_EXP, 0x3c);
  c.set(CAP_EXP, 4, 0x00920010);
  c.set(CAP_EXP + 4, 4, 0x10008020);
  c.set(CAP_EXP + 12, 4, 0x00000411);
  c.set(CAP_EXP + 16, 4, 0x00110000);
  c.set(CAP_EXP + 0x24, 4, 0x00300000);
  // AER (internal and TLP prefix blocked errors masked), ARI, SR-IOV.
  claimCap(c, ECAP_AER, 0x48);
  aerCap(c, ECAP_AER, 0x15010001);
  c.set(ECAP_AER + 8, 4, 0x02400000);
  c.setMasks(ECAP_AER + 8, 4, 0x03fff030); // the uncorrectable mask: PCI_ERR_UNC_SUPPORTED writable
  claimCap(c, ECAP_ARI, 8);
  c.set(ECAP_ARI, 4, 0x1601000e);
  claimCap(c, ECAP_SRIOV, 0x40);
  c.set(ECAP_SRIOV, 4, 0x00010010);
  c.set(ECAP_SRIOV + 12, 4, 0x00080008); // initial and total VFs
  c.set(ECAP_SRIOV + 20, 4, 0x00020080); // first VF offset 0x80, stride 2
  c.set(ECAP_SRIOV + 26, 2, IGB_VF_DEVICE_ID);
  c.set(ECAP_SRIOV + 28, 4, 0x00000553); // supported page sizes
  c.set(ECAP_SRIOV + 32, 4, 0x00000001); // system page size
  c.set(ECAP_SRIOV + 36, 4, 0x0000000c); // VF BAR0: 64-bit prefetchable
  c.set(ECAP_SRIOV + 48, 4, 0x0000000c); // VF BAR3
  return c;
}

/**
 * qemu's igb as a PCI function model (e1000x-pci.ts): the I/O window reaches
 * the registers below 0x1ffff; every request snoops.
 */
export class IgbModel extends E1000xModel {
  readonly core: IgbCore;

  constructor(fw: E1000xFirmware, clock?: Clock) {
    super(igbConfigSpace(fw), e1000xResources(fw, true), { msix: CAP_MSIX, msi: CAP_MSI });
    this.core = new IgbCore(fw.mac, {
      mode: () => this.irqMode(),
      setIntx: (level) => this.irqSink?.setIntx(level),
      msi: (vector, msix) => this.irqSink?.msi(vector, msix),
    }, clock);
  }

  /** igb_io_get_reg_idx: an offset below 0x1ffff reaches that register; past it, nothing. */
  protected ioRegister(ioaddr: number): number | undefined { return ioaddr < 0x1ffff ? ioaddr : undefined; }

  /** FLR: qemu's device reset (igb_core_reset); the MSI-X table is the PCI core's. */
  override resetFunction(): void {
    super.resetFunction();
    this.core.reset(false);
  }
}

export class Igb extends PciFunction {
  readonly vfio: VfioPciInfo = IGB_VFIO_INFO;
  readonly model: IgbModel;

  constructor(o: { bdf: Bdf; iommu: PciIommu; group?: IommuGroup; isolatedMsi?: boolean; firmware?: E1000xFirmware; clock?: Clock }) {
    super({
      bdf: o.bdf, vendorId: IGB_VENDOR_ID, deviceId: IGB_DEVICE_ID, classCode: IGB_CLASS,
      iommu: o.iommu, ...(o.group ? { group: o.group } : {}), isolatedMsi: o.isolatedMsi ?? true,
    });
    this.model = new IgbModel(o.firmware ?? IGB_FIRMWARE_SLOT3, o.clock);
  }
}
