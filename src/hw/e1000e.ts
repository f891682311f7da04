// The Intel 82574L gigabit NIC as qemu's "e1000e" device presents it: the
// PCI function the oracle's --vfio machine binds to vfio-pci. Only what the
// IOMMU and VFIO see: IDs, no PASID and no ATS capability (GET_HW_INFO on the
// real machine reports max_pasid_log2 0 and PCI_ATS_NOT_SUPPORTED), and what
// vfio-pci reports about its regions and IRQs. The BARs and the function
// model are what qemu's e1000e and igb share (e1000x-pci.ts).
import { PciConfigSpace, PciFunction, PCI_CFG_SPACE_EXP_SIZE, type Bdf, type PciIommu, type VfioPciInfo } from './pci.js';
import { E1000eCore } from './e1000e-core.js';
import type { IommuGroup } from './iommu.js';
import { PCI_EXP_DEVCTL } from '../uapi/pci-regs.js';
import * as V from '../uapi/vfio.js';
import { R, E1000E_MSIX_VECTORS } from './e1000e-regs.js';
import type { DmaOptions } from './dma.js';
import type { Clock } from './clock.js';
import { E1000xModel, e1000xVfioInfo, e1000xResources, e1000xConfigHeader, type E1000xFirmware } from './e1000x-pci.js';
import { claimCap, msixCap, msiCap, aerCap } from './e1000x-pci.js';

export const E1000E_VENDOR_ID = 0x8086;
export const E1000E_DEVICE_ID = 0x10d3;
export const E1000E_CLASS = 0x020000;

/**
 * qemu's e1000e behind vfio-pci on the oracle machine, measured: the BARs
 * e1000xVfioInfo lists, five MSI-X vectors.
 */
export const E1000E_VFIO_INFO: VfioPciInfo = e1000xVfioInfo(E1000E_MSIX_VECTORS);

/** 0000:00:01.0 on the oracle's --vfio machine, measured (the device serial number is made from the MAC). */
export const E1000E_FIRMWARE_SLOT1: E1000xFirmware = {
  bars: [0xfeb60000n, 0xfeb80000n, 0xc040n, 0xfebe0000n], irqLine: 0x0a, mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
};
/** 0000:00:02.0, measured. */
export const E1000E_FIRMWARE_SLOT2: E1000xFirmware = {
  bars: [0xfeba0000n, 0xfebc0000n, 0xc060n, 0xfebe4000n], irqLine: 0x0b, mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x57],
};
/**
 * The --arm machine's two (qemu's arm64 virt, UEFI then the arm64 kernel),
 * measured (arm_nic_config.golden): BARs in the host bridge's windows, no
 * SERR in the command register, no INTx line assigned (0xff).
 */
export const E1000E_FIRMWARE_ARM: readonly E1000xFirmware[] = [
  { bars: [0x10000000n, 0x10020000n, 0x1000n, 0x10080000n], irqLine: 0xff, mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56], command: 0x0003 },
  { bars: [0x10040000n, 0x10060000n, 0x1020n, 0x10084000n], irqLine: 0xff, mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x57], command: 0x0003 },
];

// Capability offsets of qemu's e1000e (hw/net/e1000e.c), as the oracle reads them.
const CAP_MSIX = 0xa0, CAP_PM = 0xc8, CAP_MSI = 0xd0, CAP_EXP = 0xe0, ECAP_AER = 0x100, ECAP_DSN = 0x140;

/**
 * The config space qemu's e1000e presents once the firmware and the host
 * kernel have set it up (e1000xConfigHeader), and each capability's own
 * masks. Values and the masks vfio-pci lets writes reach were measured on
 * the oracle (test/conformance/vfio_config.golden).
 */
export function e1000eConfigSpace(fw: E1000xFirmware): PciConfigSpace {
  const c = new PciConfigSpace(PCI_CFG_SPACE_EXP_SIZE);
  e1000xConfigHeader(c, fw, { vendor: E1000E_VENDOR_ID, device: E1000E_DEVICE_ID, classRev: E1000E_CLASS << 8, capPtr: CAP_PM });
  c.set(0x1c, 4, Number(fw.bars[3]));
  c.set(0x2c, 2, E1000E_VENDOR_ID); // subsystem vendor; subsystem id 0
  // MSI-X: 5 vectors.
  msixCap(c, CAP_MSIX, 0x00040011);
  // Power management: PMC 0x0022 (version 2, DSI).
  claimCap(c, CAP_PM, 8);
  c.set(CAP_PM, 4, 0x0022d001);
  c.setMasks(CAP_PM + 4, 2, 0x0103, 0x8000); // state, PME enable; PME status W1C
  // MSI: one vector, 64-bit addresses.
  msiCap(c, CAP_MSI, 14, 0x0080e005);
  // PCI Express v1, root complex integrated endpoint.
  claimCap(c, CAP_EXP, 0x14);
  c.set(CAP_EXP, 4, 0x0091a010);
  c.set(CAP_EXP + 4, 4, 0x00008000);
  c.set(CAP_EXP + 12, 4, 0x00000411);
  c.set(CAP_EXP + 16, 4, 0x00110000);
  // AER, then the device serial number (from the MAC).
  claimCap(c, ECAP_AER, ECAP_DSN - ECAP_AER);
  aerCap(c, ECAP_AER, 0x14020001);
  claimCap(c, ECAP_DSN, 12);
  const m = fw.mac;
  c.set(ECAP_DSN, 4, 0x00010003);
  c.set(ECAP_DSN + 4, 4, (0xff000000 | (m[3]! << 16) | (m[4]! << 8) | m[5]!) >>> 0);
  c.set(ECAP_DSN + 8, 4, ((m[0]! << 24) | (m[1]! << 16) | (m[2]! << 8) | 0xff) >>> 0);
  return c;
}

/** PCIe Device Control: Enable No Snoop (PCI_EXP_DEVCTL_NOSNOOP_EN). */
const DEVCTL_NOSNOOP_EN = 0x0800;
const SNOOP: DmaOptions = {}, NO_SNOOP: DmaOptions = { noSnoop: true };

/** BAR3: the MSI-X PBA's offset (the capability's PBA offset) and size (qemu rounds to 64 vectors). */
const MSIX_PBA = 0x2000, MSIX_PBA_SIZE = 8;

/**
 * qemu's e1000e as a PCI function model (e1000x-pci.ts): the I/O window
 * reaches any register (the offset's low bits and high bits ignored),
 * BAR3's PBA answers from the pending MSI-X vectors, and No Snoop follows
 * GCR and Device Control. vfio-pci's reset of this function is a PM reset
 * (no FLR), which qemu 7.2's e1000e does not act on: registers and PHY keep
 * their values (measured); only the BARs past the core are reset.
 */
export class E1000eModel extends E1000xModel {
  readonly core: E1000eCore;

  constructor(fw: E1000xFirmware) {
    const config = e1000eConfigSpace(fw);
    super(config, e1000xResources(fw, false), { msix: CAP_MSIX, msi: CAP_MSI });
    this.core = new E1000eCore(fw.mac, {
      mode: () => this.irqMode(),
      setIntx: (level) => this.irqSink?.setIntx(level),
      // An MSI/MSI-X message is a memory write by the function: without bus
      // mastering qemu's bus-master address space drops it (measured:
      // test/conformance/nic_irq.golden).
      msi: (vector, msix) => { if (this.busMaster()) this.irqSink?.msi(vector, msix); },
      msixClearPending: (vector) => this.irqSink?.msixClearPending?.(vector),
    });
  }

  /**
   * A request carries No Snoop when the driver enabled it for its class in
   * GCR and the PCIe Device Control register allows it (Enable No Snoop).
   * qemu's e1000e keeps that DevCtl bit read-only 0 (vfio_config.golden:
   * writing 0x7fff reads back 0x70e0), so on the oracle's NIC no request
   * ever does; a platform whose function lets the bit be set gets them.
   */
  protected override dmaOptions(cls?: number): DmaOptions {
    if (!cls || !(this.core.mac[R.GCR >> 2]! & cls)) return SNOOP;
    const devctl = this.config.bytes[CAP_EXP + PCI_EXP_DEVCTL]! | (this.config.bytes[CAP_EXP + PCI_EXP_DEVCTL + 1]! << 8);
    return devctl & DEVCTL_NOSNOOP_EN ? NO_SNOOP : SNOOP;
  }

  /** e1000e_io_get_reg_idx: any register, the address's low two bits and bits past the BAR ignored. */
  protected ioRegister(ioaddr: number): number { return ioaddr & 0x1fffc; }

  /** Run the NIC's timers on the machine's clock. */
  useClock(clock: Clock): void { this.core.useClock(clock); }

  override barRead(bar: number, off: number, size: number): bigint {
    if (bar === 3 && off >= MSIX_PBA && off < MSIX_PBA + MSIX_PBA_SIZE) return this.pbaRead(off - MSIX_PBA, size);
    return super.barRead(bar, off, size);
  }

  /** qemu's msix_pba_mmio_read: bit n of the PBA is vector n's pending state. */
  private pbaRead(off: number, size: number): bigint {
    let v = 0n;
    for (let bit = 0; bit < 8 * size; bit++) {
      const vector = 8 * off + bit;
      if (vector < E1000E_MSIX_VECTORS && this.irqSink?.msixPending?.(vector)) v |= 1n << BigInt(bit);
    }
    return v;
  }

  override barWrite(bar: number, off: number, size: number, val: bigint): void {
    // qemu's PBA ignores writes (msix_pba_mmio_write).
    if (bar === 3 && off >= MSIX_PBA && off < MSIX_PBA + MSIX_PBA_SIZE) return;
    super.barWrite(bar, off, size, val);
  }
}

/**
 * vfio-pci's view when the machine's MSI domain cannot add MSI-X vectors
 * once enabled (pci_msix_can_alloc_dyn false, has_dyn_msix: the arm64
 * GICv3 ITS; x86's vector domain can): the MSI-X index is NORESIZE too.
 */
export function withoutDynMsix(info: VfioPciInfo): VfioPciInfo {
  const irqs = info.irqs.map((q, i) => (i === V.VFIO_PCI_MSIX_IRQ_INDEX ? { ...q, flags: q.flags | V.VFIO_IRQ_INFO_NORESIZE } : q));
  return { ...info, irqs };
}

export class E1000e extends PciFunction {
  readonly vfio: VfioPciInfo;
  readonly model: E1000eModel;

  constructor(o: { bdf: Bdf; iommu: PciIommu; group?: IommuGroup; isolatedMsi?: boolean; firmware?: E1000xFirmware; dynMsix?: boolean }) {
    super({
      bdf: o.bdf, vendorId: E1000E_VENDOR_ID, deviceId: E1000E_DEVICE_ID, classCode: E1000E_CLASS,
      iommu: o.iommu, ...(o.group ? { group: o.group } : {}), isolatedMsi: o.isolatedMsi ?? true,
    });
    this.vfio = o.dynMsix === false ? withoutDynMsix(E1000E_VFIO_INFO) : E1000E_VFIO_INFO;
    this.model = new E1000eModel(o.firmware ?? E1000E_FIRMWARE_SLOT1);
  }
}
