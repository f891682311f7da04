// The Intel 82576 (8086:10c9) as qemu 10's "igb" device presents it: the PF
// the oracle's --igb machine binds to vfio-pci at 0000:00:03.0. Config space
// (PM, MSI with per-vector masking, MSI-X with 10 vectors in BAR3, PCIe v2
// with FLR, AER, ARI, SR-IOV with 8 VFs of device 10ca that are never
// instantiated here), the BARs (128 KiB MMIO, 128 KiB dummy flash, 32 bytes
// of I/O ports, 16 KiB 64-bit MSI-X), what vfio-pci reports about regions
// and IRQs, and the register core (igb-core.ts) behind BAR0 and the I/O
// window. Reset: FLR (vfio-pci's reset method, DevCap.FLR) is qemu's device
// reset, igb_core_reset.
import {
  PciConfigSpace, PciFunction, PciRegisterFile, PCI_CFG_SPACE_EXP_SIZE,
  type Bdf, type PciBarResource, type PciFunctionModel, type PciInterruptSink, type PciIommu,
} from './pci.js';
import { IgbCore } from './igb-core.js';
import type { Clock } from './clock.js';
import type { E1000eIrqMode } from './e1000e-core.js';
import type { DeviceDma, VfioPciInfo } from './e1000e.js';
import type { Wire, WireEnd } from './wire.js';
import type { IommuGroup } from './iommu.js';
import type { DmaOptions } from './dma.js';
import * as V from '../uapi/vfio.js';

export const IGB_VENDOR_ID = 0x8086;
export const IGB_DEVICE_ID = 0x10c9;
export const IGB_VF_DEVICE_ID = 0x10ca;
export const IGB_CLASS = 0x020000;

const RW = V.VFIO_REGION_INFO_FLAG_READ | V.VFIO_REGION_INFO_FLAG_WRITE, RW_MMAP = RW | V.VFIO_REGION_INFO_FLAG_MMAP;
const { VFIO_IRQ_INFO_EVENTFD: IRQ_EVENTFD, VFIO_IRQ_INFO_MASKABLE: IRQ_MASKABLE, VFIO_IRQ_INFO_AUTOMASKED: IRQ_AUTOMASKED, VFIO_IRQ_INFO_NORESIZE: IRQ_NORESIZE } = V;

/**
 * vfio-pci on the oracle's igb, measured (igb_regs.golden): BAR0 and BAR1
 * 128 KiB mmappable, BAR2 32 bytes of ports, BAR3 (with BAR4 its upper half)
 * 16 KiB holding the MSI-X table, no ROM, 4 KiB config space; INTx, one MSI
 * vector, ten MSI-X vectors, ERR and REQ.
 */
export const IGB_VFIO_INFO: VfioPciInfo = {
  resetWorks: true,
  neverEnabled: true, // the oracle's kernel has no igb driver
  numRegions: 9,
  numIrqs: 5,
  regions: [
    { size: 0x20000n, flags: RW_MMAP }, { size: 0x20000n, flags: RW_MMAP }, { size: 0x20n, flags: RW },
    { size: 0x4000n, flags: RW_MMAP, msixMappable: true }, { size: 0n, flags: 0 }, { size: 0n, flags: 0 },
    { size: 0n, flags: 0 }, { size: 0x1000n, flags: RW }, undefined,
  ],
  irqs: [
    { flags: IRQ_EVENTFD | IRQ_MASKABLE | IRQ_AUTOMASKED, count: 1 }, { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 },
    { flags: IRQ_EVENTFD, count: 10 }, { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 }, { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 },
  ],
};

/** What SeaBIOS gave the function and its MAC. */
export interface IgbFirmware {
  /** BAR0 (MMIO), BAR1 (flash), BAR2 (I/O ports), BAR3 (MSI-X, 64-bit). */
  readonly bars: readonly [bigint, bigint, bigint, bigint];
  readonly irqLine: number;
  readonly mac: readonly number[];
}

/** 0000:00:03.0 on the oracle's --igb machine, measured. */
export const IGB_FIRMWARE_SLOT3: IgbFirmware = {
  bars: [0xfeba0000n, 0xfebc0000n, 0xc080n, 0xfebe8000n], irqLine: 0x0b, mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x58],
};

// Capability offsets of qemu's igb (hw/net/igb.c).
const CAP_PM = 0x40, CAP_MSI = 0x50, CAP_MSIX = 0x70, CAP_EXP = 0xa0;
const ECAP_AER = 0x100, ECAP_ARI = 0x150, ECAP_SRIOV = 0x160;
const AER_UNC_SUPPORTED = 0x03fff030, AER_COR_SUPPORTED = 0xf1c1;

/** The config space as qemu's igb presents it after SeaBIOS (values measured: igb_regs.golden). */
export function igbConfigSpace(fw: IgbFirmware): PciConfigSpace {
  const c = new PciConfigSpace(PCI_CFG_SPACE_EXP_SIZE);
  c.wmask.fill(0xff, 0x40);
  const claim = (off: number, len: number) => c.setMasks(off, len, 0);
  c.set(0x00, 2, IGB_VENDOR_ID);
  c.set(0x02, 2, IGB_DEVICE_ID);
  c.set(0x04, 2, 0x0103);
  c.setMasks(0x04, 2, 0x0507);
  c.set(0x06, 2, 0x0010);
  c.set(0x08, 4, ((IGB_CLASS << 8) | 0x01) >>> 0); // revision 1
  c.setMasks(0x0c, 1, 0xff);
  c.set(0x10, 4, Number(fw.bars[0]));
  c.set(0x14, 4, Number(fw.bars[1]));
  c.set(0x18, 4, Number(fw.bars[2]) | 1);
  c.set(0x1c, 4, Number(fw.bars[3] & 0xffffffffn) | 0x4);
  c.set(0x20, 4, Number(fw.bars[3] >> 32n));
  c.set(0x2c, 2, 0x1af4); // qemu's subsystem vendor; subsystem 0x1100
  c.set(0x2e, 2, 0x1100);
  c.set(0x34, 1, CAP_PM);
  c.set(0x3c, 1, fw.irqLine);
  c.setMasks(0x3c, 1, 0xff);
  c.set(0x3d, 1, 1);
  // Power management: PMC version 2, DSI.
  claim(CAP_PM, 8);
  c.set(CAP_PM, 4, 0x00225001);
  c.setMasks(CAP_PM + 4, 2, 0x1f03, 0x8000);
  // MSI: one vector, 64-bit, per-vector masking.
  claim(CAP_MSI, 24);
  c.set(CAP_MSI, 4, 0x01807005);
  c.setMasks(CAP_MSI + 2, 1, 0x71);
  c.setMasks(CAP_MSI + 4, 4, 0xfffffffc);
  c.setMasks(CAP_MSI + 8, 4, 0xffffffff);
  c.setMasks(CAP_MSI + 12, 2, 0xffff);
  c.setMasks(CAP_MSI + 16, 4, 0x1);
  // MSI-X: 10 vectors, table at BAR3 + 0, PBA at BAR3 + 0x2000.
  claim(CAP_MSIX, 12);
  c.set(CAP_MSIX, 4, 0x0009a011);
  c.setMasks(CAP_MSIX + 3, 1, 0xc0);
  c.set(CAP_MSIX + 4, 4, 0x00000003);
  c.set(CAP_MSIX + 8, 4, 0x00002003);
  // PCI Express v2, root complex integrated endpoint, FLR.
  claim(CAP_EXP, 0x3c);
  c.set(CAP_EXP, 4, 0x00920010);
  c.set(CAP_EXP + 4, 4, 0x10008020);
  c.set(CAP_EXP + 12, 4, 0x00000411);
  c.set(CAP_EXP + 16, 4, 0x00110000);
  c.set(CAP_EXP + 0x24, 4, 0x00300000);
  // AER, ARI, SR-IOV.
  claim(ECAP_AER, 0x48);
  c.set(ECAP_AER, 4, 0x15010001);
  c.setMasks(ECAP_AER + 4, 4, 0, AER_UNC_SUPPORTED);
  c.set(ECAP_AER + 8, 4, 0x02400000);
  c.setMasks(ECAP_AER + 8, 4, AER_UNC_SUPPORTED);
  c.set(ECAP_AER + 12, 4, 0x00462030);
  c.setMasks(ECAP_AER + 12, 4, AER_UNC_SUPPORTED);
  c.setMasks(ECAP_AER + 16, 4, 0, AER_COR_SUPPORTED);
  c.set(ECAP_AER + 20, 4, 0x0000e000);
  c.setMasks(ECAP_AER + 20, 4, AER_COR_SUPPORTED);
  c.set(ECAP_AER + 24, 4, 0x000000a0);
  c.setMasks(ECAP_AER + 24, 4, 0x140);
  claim(ECAP_ARI, 8);
  c.set(ECAP_ARI, 4, 0x1601000e);
  claim(ECAP_SRIOV, 0x40);
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

function igbResources(fw: IgbFirmware): Array<PciBarResource | undefined> {
  const mem = (start: bigint, length: bigint, mem64 = false): PciBarResource => ({ start, length, io: false, mem64, prefetch: false });
  return [
    mem(fw.bars[0], 0x20000n), mem(fw.bars[1], 0x20000n),
    { start: fw.bars[2], length: 0x20n, io: true, mem64: false, prefetch: false },
    mem(fw.bars[3], 0x4000n, true),
  ];
}

const PCI_COMMAND_MASTER = 0x4;
const IOADDR = 0, IODATA = 4;
const SNOOP: DmaOptions = {};

/**
 * qemu's igb as a PCI function model: BAR0 reaches the register core (4-byte
 * accesses; a narrower one reaches the whole register), BAR2's IOADDR/IODATA
 * pair reaches it indirectly, BAR1 is the dummy flash, BAR3 the MSI-X table
 * and PBA as plain memory.
 */
export class IgbModel implements PciFunctionModel {
  readonly config: PciConfigSpace;
  readonly resources: ReadonlyArray<PciBarResource | undefined>;
  readonly core: IgbCore;
  irqSink?: PciInterruptSink | undefined;
  private readonly regs: PciRegisterFile;
  private ioaddr = 0;

  constructor(fw: IgbFirmware, clock?: Clock) {
    this.config = igbConfigSpace(fw);
    this.resources = igbResources(fw);
    this.regs = new PciRegisterFile(this.resources);
    this.core = new IgbCore(fw.mac, {
      mode: () => this.irqMode(),
      setIntx: (level) => this.irqSink?.setIntx(level),
      msi: (vector, msix) => this.irqSink?.msi(vector, msix),
    }, clock);
  }

  /** DMA through the function's domain, only while bus mastering is on (qemu's bus-master address space). */
  attachDma(dma: DeviceDma | undefined): void {
    const master = () => (this.config.bytes[4]! & PCI_COMMAND_MASTER) !== 0;
    this.core.bus = {
      read: (addr, out) => {
        if (dma && master()) return dma.readInto(addr, out, SNOOP);
        out.fill(0);
        return false;
      },
      write: (addr, data) => (dma && master() ? dma.writeFrom(addr, data, SNOOP) : false),
      mapRead: (addr, out) => {
        if (dma && master()) return dma.mapRead(addr, out, SNOOP);
        out.fill(0);
        return out.length <= 4096 ? 'bounce' : 'failed';
      },
      master,
    };
  }

  plugInto(wire: Wire): WireEnd {
    const end = wire.plug({ canReceive: () => this.core.canReceive(), receive: (f, len) => this.core.receive(f, len) });
    this.core.net = end;
    return end;
  }

  private irqMode(): E1000eIrqMode {
    if (this.config.bytes[CAP_MSIX + 3]! & 0x80) return 'msix';
    if (this.config.bytes[CAP_MSI + 2]! & 0x01) return 'msi';
    return 'intx';
  }

  barRead(bar: number, off: number, size: number): bigint {
    if (bar === 0) {
      if (size === 8) return BigInt(this.core.read(off)) | (BigInt(this.core.read(off + 4)) << 32n);
      return narrow(this.core.read(off), size);
    }
    if (bar === 1) return 0n;
    if (bar === 2) {
      if ((off & ~3) === IOADDR) return narrow(this.ioaddr, size);
      if ((off & ~3) === IODATA) return this.ioaddr < 0x1ffff ? narrow(this.core.read(this.ioaddr), size) : 0n;
      return 0n;
    }
    return this.regs.read(bar, off, size);
  }

  barWrite(bar: number, off: number, size: number, val: bigint): void {
    if (bar === 0) {
      if (size === 8) {
        this.core.write(off, Number(val & 0xffffffffn));
        this.core.write(off + 4, Number((val >> 32n) & 0xffffffffn));
      } else {
        this.core.write(off, Number(val & mask(size)));
      }
      return;
    }
    if (bar === 1) return;
    if (bar === 2) {
      const v = Number(val & mask(Math.min(size, 4)));
      if ((off & ~3) === IOADDR) this.ioaddr = v;
      else if ((off & ~3) === IODATA && this.ioaddr < 0x1ffff) this.core.write(this.ioaddr, v);
      return;
    }
    this.regs.write(bar, off, size, val);
  }

  /** FLR: qemu's device reset (igb_core_reset); the MSI-X table is the PCI core's. */
  resetFunction(): void {
    this.regs.reset();
    this.core.reset(false);
  }
}

const mask = (size: number) => (1n << BigInt(8 * size)) - 1n;
const narrow = (v: number, size: number) => BigInt(v >>> 0) & mask(size);

export class Igb extends PciFunction {
  readonly vfio: VfioPciInfo = IGB_VFIO_INFO;
  readonly model: IgbModel;

  constructor(o: { bdf: Bdf; iommu: PciIommu; group?: IommuGroup; isolatedMsi?: boolean; firmware?: IgbFirmware; clock?: Clock }) {
    super({
      bdf: o.bdf, vendorId: IGB_VENDOR_ID, deviceId: IGB_DEVICE_ID, classCode: IGB_CLASS,
      iommu: o.iommu, ...(o.group ? { group: o.group } : {}), isolatedMsi: o.isolatedMsi ?? true,
    });
    this.model = new IgbModel(o.firmware ?? IGB_FIRMWARE_SLOT3, o.clock);
  }
}
