// The Intel 82574L gigabit NIC as qemu's "e1000e" device presents it: the
// PCI function the oracle's --vfio machine binds to vfio-pci. Only what the
// IOMMU and VFIO see: IDs, no PASID and no ATS capability (GET_HW_INFO on the
// real machine reports max_pasid_log2 0 and PCI_ATS_NOT_SUPPORTED), and what
// vfio-pci reports about its regions and IRQs.
import {
  PciConfigSpace, PciFunction, PciRegisterFile, PCI_CFG_SPACE_EXP_SIZE,
  type Bdf, type PciBarResource, type PciFunctionModel, type PciInterruptSink, type PciIommu,
} from './pci.js';
import { E1000eCore, type E1000eIrqMode } from './e1000e-core.js';
import type { Wire, WireEnd } from './wire.js';
import type { IommuGroup } from './iommu.js';
import * as V from '../uapi/vfio.js';
import { PCI_EXP_DEVCTL } from '../uapi/pci-regs.js';
import { R, E1000E_MSIX_VECTORS } from './e1000e-regs.js';
import type { DmaOptions } from './dma.js';
import type { Clock } from './clock.js';

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
  /**
   * No host driver enabled the function before vfio-pci took it: its irq is
   * still the firmware's interrupt line and its DMA masks the default 32 bits.
   */
  readonly neverEnabled?: boolean;
  /** VFIO_PCI_NUM_REGIONS plus device-specific regions. */
  readonly numRegions: number;
  /** VFIO_PCI_NUM_IRQS. */
  readonly numIrqs: number;
  /** By region index; undefined: EINVAL (no VGA, no device-specific regions). */
  readonly regions: ReadonlyArray<VfioRegion | undefined>;
  /** By IRQ index: INTx, MSI, MSI-X, ERR, REQ. */
  readonly irqs: ReadonlyArray<VfioIrq>;
}

const RW = V.VFIO_REGION_INFO_FLAG_READ | V.VFIO_REGION_INFO_FLAG_WRITE, RW_MMAP = RW | V.VFIO_REGION_INFO_FLAG_MMAP;
const { VFIO_IRQ_INFO_EVENTFD: IRQ_EVENTFD, VFIO_IRQ_INFO_MASKABLE: IRQ_MASKABLE, VFIO_IRQ_INFO_AUTOMASKED: IRQ_AUTOMASKED, VFIO_IRQ_INFO_NORESIZE: IRQ_NORESIZE } = V;

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

/** What the firmware (SeaBIOS on the oracle's q35) gave the function, and its MAC. */
export interface E1000eFirmware {
  /** BAR0 (MMIO), BAR1 (flash), BAR2 (I/O ports), BAR3 (MSI-X). */
  readonly bars: readonly [bigint, bigint, bigint, bigint];
  /** PCI_INTERRUPT_LINE. */
  readonly irqLine: number;
  /** The MAC address, six bytes (the device serial number is made from it). */
  readonly mac: readonly number[];
  /** PCI_COMMAND as the firmware left it (default SeaBIOS's: I/O, memory, SERR). */
  readonly command?: number;
}

/** 0000:00:01.0 on the oracle's --vfio machine, measured. */
export const E1000E_FIRMWARE_SLOT1: E1000eFirmware = {
  bars: [0xfeb60000n, 0xfeb80000n, 0xc040n, 0xfebe0000n], irqLine: 0x0a, mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
};
/** 0000:00:02.0, measured. */
export const E1000E_FIRMWARE_SLOT2: E1000eFirmware = {
  bars: [0xfeba0000n, 0xfebc0000n, 0xc060n, 0xfebe4000n], irqLine: 0x0b, mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x57],
};
/**
 * The --arm machine's two (qemu's arm64 virt, UEFI then the arm64 kernel),
 * measured (arm_nic_config.golden): BARs in the host bridge's windows, no
 * SERR in the command register, no INTx line assigned (0xff).
 */
export const E1000E_FIRMWARE_ARM: readonly E1000eFirmware[] = [
  { bars: [0x10000000n, 0x10020000n, 0x1000n, 0x10080000n], irqLine: 0xff, mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56], command: 0x0003 },
  { bars: [0x10040000n, 0x10060000n, 0x1020n, 0x10084000n], irqLine: 0xff, mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x57], command: 0x0003 },
];

// Capability offsets of qemu's e1000e (hw/net/e1000e.c), as the oracle reads them.
const CAP_MSIX = 0xa0, CAP_PM = 0xc8, CAP_MSI = 0xd0, CAP_EXP = 0xe0, ECAP_AER = 0x100, ECAP_DSN = 0x140;
/** qemu's PCI_ERR_UNC_SUPPORTED and PCI_ERR_COR_SUPPORTED (hw/pci/pcie_regs.h). */
const AER_UNC_SUPPORTED = 0x03fff030, AER_COR_SUPPORTED = 0xf1c1;

/**
 * The config space qemu's e1000e presents once the firmware and the host
 * kernel have set it up (command: I/O, memory and SERR enabled). The masks
 * are qemu's: its default write mask (command IO|MEMORY|MASTER|SERR|
 * INTX_DISABLE, cache line and interrupt line; every byte past the header
 * writable unless a capability claims it) and each capability's own.
 * Values and the masks vfio-pci lets writes reach were measured on the
 * oracle (test/conformance/vfio_config.golden).
 */
export function e1000eConfigSpace(fw: E1000eFirmware): PciConfigSpace {
  const c = new PciConfigSpace(PCI_CFG_SPACE_EXP_SIZE);
  c.wmask.fill(0xff, 0x40);
  c.set(0x00, 2, E1000E_VENDOR_ID);
  c.set(0x02, 2, E1000E_DEVICE_ID);
  c.set(0x04, 2, fw.command ?? 0x0103);
  c.setMasks(0x04, 2, 0x0507);
  c.set(0x06, 2, 0x0010); // capability list
  c.set(0x08, 4, E1000E_CLASS << 8); // revision 0
  c.setMasks(0x0c, 1, 0xff); // cache line size
  c.set(0x10, 4, Number(fw.bars[0]));
  c.set(0x14, 4, Number(fw.bars[1]));
  c.set(0x18, 4, Number(fw.bars[2]) | 1);
  c.set(0x1c, 4, Number(fw.bars[3]));
  c.set(0x2c, 2, E1000E_VENDOR_ID); // subsystem vendor; subsystem id 0
  c.set(0x34, 1, CAP_PM);
  c.set(0x3c, 1, fw.irqLine);
  c.setMasks(0x3c, 1, 0xff);
  c.set(0x3d, 1, 1); // INTA
  const claim = (off: number, len: number) => c.setMasks(off, len, 0);
  // MSI-X: 5 vectors, table at BAR3 + 0, PBA at BAR3 + 0x2000.
  claim(CAP_MSIX, 12);
  c.set(CAP_MSIX, 4, 0x00040011);
  c.setMasks(CAP_MSIX + 3, 1, 0xc0); // enable, function mask
  c.set(CAP_MSIX + 4, 4, 0x00000003);
  c.set(CAP_MSIX + 8, 4, 0x00002003);
  // Power management: PMC 0x0022 (version 2, DSI).
  claim(CAP_PM, 8);
  c.set(CAP_PM, 4, 0x0022d001);
  c.setMasks(CAP_PM + 4, 2, 0x0103, 0x8000); // state, PME enable; PME status W1C
  // MSI: one vector, 64-bit addresses.
  claim(CAP_MSI, 14);
  c.set(CAP_MSI, 4, 0x0080e005);
  c.setMasks(CAP_MSI + 2, 1, 0x71); // enable, multiple message enable
  c.setMasks(CAP_MSI + 4, 4, 0xfffffffc);
  c.setMasks(CAP_MSI + 8, 4, 0xffffffff);
  c.setMasks(CAP_MSI + 12, 2, 0xffff);
  // PCI Express v1, root complex integrated endpoint.
  claim(CAP_EXP, 0x14);
  c.set(CAP_EXP, 4, 0x0091a010);
  c.set(CAP_EXP + 4, 4, 0x00008000);
  c.set(CAP_EXP + 12, 4, 0x00000411);
  c.set(CAP_EXP + 16, 4, 0x00110000);
  // AER, then the device serial number (from the MAC).
  claim(ECAP_AER, ECAP_DSN - ECAP_AER);
  c.set(ECAP_AER, 4, 0x14020001);
  c.setMasks(ECAP_AER + 4, 4, 0, AER_UNC_SUPPORTED);
  c.set(ECAP_AER + 12, 4, 0x00462030);
  c.setMasks(ECAP_AER + 12, 4, AER_UNC_SUPPORTED);
  c.setMasks(ECAP_AER + 16, 4, 0, AER_COR_SUPPORTED);
  c.set(ECAP_AER + 20, 4, 0x0000e000);
  c.setMasks(ECAP_AER + 20, 4, AER_COR_SUPPORTED);
  c.set(ECAP_AER + 24, 4, 0x000000a0);
  c.setMasks(ECAP_AER + 24, 4, 0x140); // ECRC generation and check enable
  claim(ECAP_DSN, 12);
  const m = fw.mac;
  c.set(ECAP_DSN, 4, 0x00010003);
  c.set(ECAP_DSN + 4, 4, (0xff000000 | (m[3]! << 16) | (m[4]! << 8) | m[5]!) >>> 0);
  c.set(ECAP_DSN + 8, 4, ((m[0]! << 24) | (m[1]! << 16) | (m[2]! << 8) | 0xff) >>> 0);
  return c;
}

/** The e1000e's BARs: 128 KiB MMIO, 128 KiB flash, 32 bytes of I/O ports, 16 KiB for MSI-X; no ROM (romfile=). */
function e1000eResources(fw: E1000eFirmware): PciBarResource[] {
  const mem = (start: bigint, length: bigint): PciBarResource => ({ start, length, io: false, mem64: false, prefetch: false });
  return [
    mem(fw.bars[0], 0x20000n), mem(fw.bars[1], 0x20000n),
    { start: fw.bars[2], length: 0x20n, io: true, mem64: false, prefetch: false },
    mem(fw.bars[3], 0x4000n),
  ];
}

/** A function's DMA as a device model uses it (DmaEngine.readInto / writeFrom). */
export interface DeviceDma {
  readInto(iova: bigint, out: Uint8Array, o?: DmaOptions): boolean;
  writeFrom(iova: bigint, data: Uint8Array, o?: DmaOptions): boolean;
  mapRead(iova: bigint, out: Uint8Array, o?: DmaOptions): 'mapped' | 'bounce' | 'failed';
}

/** PCIe Device Control: Enable No Snoop (PCI_EXP_DEVCTL_NOSNOOP_EN). */
const DEVCTL_NOSNOOP_EN = 0x0800;
const SNOOP: DmaOptions = {}, NO_SNOOP: DmaOptions = { noSnoop: true };

const PCI_COMMAND_MASTER = 0x4;
/** BAR3: the MSI-X PBA's offset (the capability's PBA offset) and size (qemu rounds to 64 vectors). */
const MSIX_PBA = 0x2000, MSIX_PBA_SIZE = 8;

/** qemu's IOADDR/IODATA window in the I/O BAR: a register offset, then its value. */
const IOADDR = 0, IODATA = 4;

/**
 * qemu's e1000e as a PCI function model: BAR0 reaches the register core,
 * BAR2's IOADDR/IODATA pair reaches it indirectly, BAR1 is qemu's dummy
 * flash (reads 0, drops writes), BAR3 (the MSI-X table and PBA) is plain
 * memory. qemu's register accesses are 4 bytes wide: a narrower one
 * reads or writes the whole register at offset & ~3 (the value not shifted),
 * an 8-byte one is two.
 */
export class E1000eModel implements PciFunctionModel {
  readonly config: PciConfigSpace;
  readonly resources: ReadonlyArray<PciBarResource | undefined>;
  readonly core: E1000eCore;
  irqSink?: PciInterruptSink | undefined;
  private readonly regs: PciRegisterFile;
  private ioaddr = 0;

  constructor(fw: E1000eFirmware) {
    this.config = e1000eConfigSpace(fw);
    this.resources = e1000eResources(fw);
    this.regs = new PciRegisterFile(this.resources);
    this.core = new E1000eCore(fw.mac, {
      mode: () => this.irqMode(),
      setIntx: (level) => this.irqSink?.setIntx(level),
      // An MSI/MSI-X message is a memory write by the function: without bus
      // mastering qemu's bus-master address space drops it (measured:
      // test/conformance/nic_irq.golden).
      msi: (vector, msix) => { if (this.config.bytes[4]! & PCI_COMMAND_MASTER) this.irqSink?.msi(vector, msix); },
      msixClearPending: (vector) => this.irqSink?.msixClearPending?.(vector),
    });
  }

  /**
   * Give the function its DMA (through its IOMMU group's domain). Requests
   * need bus mastering (PCI_COMMAND_MASTER): without it qemu's bus-master
   * address space is off, reads give zeros and writes go nowhere, and
   * nothing reaches the IOMMU.
   */
  attachDma(dma: DeviceDma | undefined): void {
    const master = () => (this.config.bytes[4]! & PCI_COMMAND_MASTER) !== 0;
    // A request carries No Snoop when the driver enabled it for its class in
    // GCR and the PCIe Device Control register allows it (Enable No Snoop).
    // qemu's e1000e keeps that DevCtl bit read-only 0 (vfio_config.golden:
    // writing 0x7fff reads back 0x70e0), so on the oracle's NIC no request
    // ever does; a platform whose function lets the bit be set gets them.
    const snoop = (cls?: number): DmaOptions => {
      if (!cls || !(this.core.mac[R.GCR >> 2]! & cls)) return SNOOP;
      const devctl = this.config.bytes[CAP_EXP + PCI_EXP_DEVCTL]! | (this.config.bytes[CAP_EXP + PCI_EXP_DEVCTL + 1]! << 8);
      return devctl & DEVCTL_NOSNOOP_EN ? NO_SNOOP : SNOOP;
    };
    this.core.bus = {
      read: (addr, out, cls) => {
        if (dma && master()) return dma.readInto(addr, out, snoop(cls));
        out.fill(0);
        return false;
      },
      write: (addr, data, cls) => (dma && master() ? dma.writeFrom(addr, data, snoop(cls)) : false),
      mapRead: (addr, out, cls) => {
        if (dma && master()) return dma.mapRead(addr, out, snoop(cls));
        out.fill(0);
        return out.length <= 4096 ? 'bounce' : 'failed';
      },
      master,
    };
  }

  /** Run the NIC's timers on the machine's clock. */
  useClock(clock: Clock): void { this.core.useClock(clock); }

  /** Plug the NIC into `wire` (its net client becomes that end). */
  plugInto(wire: Wire): WireEnd {
    const end = wire.plug({ canReceive: () => this.core.canReceive(), receive: (f, len) => this.core.receive(f, len) });
    this.core.net = end;
    return end;
  }

  /** The interrupt mode the host set in the MSI-X and MSI capabilities. */
  private irqMode(): E1000eIrqMode {
    if (this.config.bytes[CAP_MSIX + 3]! & 0x80) return 'msix';
    if (this.config.bytes[CAP_MSI + 2]! & 0x01) return 'msi';
    return 'intx';
  }

  barRead(bar: number, off: number, size: number): bigint {
    if (bar === 0) return this.regRead(off, size);
    if (bar === 1) return 0n;
    if (bar === 2) {
      if ((off & ~3) === IOADDR) return narrow(this.ioaddr, size);
      if ((off & ~3) === IODATA) return narrow(this.core.read(this.ioaddr & 0x1fffc), size);
      return 0n;
    }
    if (bar === 3 && off >= MSIX_PBA && off < MSIX_PBA + MSIX_PBA_SIZE) return this.pbaRead(off - MSIX_PBA, size);
    return this.regs.read(bar, off, size);
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

  barWrite(bar: number, off: number, size: number, val: bigint): void {
    if (bar === 0) return this.regWrite(off, size, val);
    if (bar === 1) return;
    if (bar === 2) {
      const v = Number(val & mask(Math.min(size, 4)));
      if ((off & ~3) === IOADDR) this.ioaddr = v;
      else if ((off & ~3) === IODATA) this.core.write(this.ioaddr & 0x1fffc, v);
      return;
    }
    // qemu's PBA ignores writes (msix_pba_mmio_write).
    if (bar === 3 && off >= MSIX_PBA && off < MSIX_PBA + MSIX_PBA_SIZE) return;
    this.regs.write(bar, off, size, val);
  }

  private regRead(off: number, size: number): bigint {
    if (size === 8) return BigInt(this.core.read(off)) | (BigInt(this.core.read(off + 4)) << 32n);
    return narrow(this.core.read(off), size);
  }

  private regWrite(off: number, size: number, val: bigint): void {
    if (size === 8) {
      this.core.write(off, Number(val & 0xffffffffn));
      this.core.write(off + 4, Number((val >> 32n) & 0xffffffffn));
      return;
    }
    this.core.write(off, Number(val & mask(size)));
  }

  /**
   * vfio-pci's reset of this function is a PM reset (no FLR), which qemu 7.2's
   * e1000e does not act on: registers and PHY keep their values (measured).
   */
  resetFunction(): void {
    this.regs.reset();
  }
}

const mask = (size: number) => (1n << BigInt(8 * size)) - 1n;
const narrow = (v: number, size: number) => BigInt(v >>> 0) & mask(size);

/**
 * vfio-pci's view when the machine's MSI domain cannot add MSI-X vectors
 * once enabled (pci_msix_can_alloc_dyn false, has_dyn_msix: the arm64
 * GICv3 ITS; x86's vector domain can): the MSI-X index is NORESIZE too.
 */
export function withoutDynMsix(info: VfioPciInfo): VfioPciInfo {
  const irqs = info.irqs.map((q, i) => (i === V.VFIO_PCI_MSIX_IRQ_INDEX ? { ...q, flags: q.flags | IRQ_NORESIZE } : q));
  return { ...info, irqs };
}

export class E1000e extends PciFunction {
  readonly vfio: VfioPciInfo;
  readonly model: E1000eModel;

  constructor(o: { bdf: Bdf; iommu: PciIommu; group?: IommuGroup; isolatedMsi?: boolean; firmware?: E1000eFirmware; dynMsix?: boolean }) {
    super({
      bdf: o.bdf, vendorId: E1000E_VENDOR_ID, deviceId: E1000E_DEVICE_ID, classCode: E1000E_CLASS,
      iommu: o.iommu, ...(o.group ? { group: o.group } : {}), isolatedMsi: o.isolatedMsi ?? true,
    });
    this.vfio = o.dynMsix === false ? withoutDynMsix(E1000E_VFIO_INFO) : E1000E_VFIO_INFO;
    this.model = new E1000eModel(o.firmware ?? E1000E_FIRMWARE_SLOT1);
  }
}
