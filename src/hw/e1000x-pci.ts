// The PCI function qemu wraps around both NIC cores (hw/net/e1000e.c and
// hw/net/igb.c build it alike): BAR0 the register core (4-byte accesses: a
// narrower one reaches the whole register at offset & ~3, the value not
// shifted; an 8-byte one is two), BAR1 a dummy flash (reads 0, drops
// writes), BAR2 32 bytes of I/O ports with the IOADDR/IODATA window onto the
// registers, BAR3 16 KiB holding the MSI-X table (at 0) and PBA (at
// 0x2000); DMA only while bus mastering is on; the interrupt mode from the
// MSI-X and MSI capabilities. What vfio-pci reports about such a function
// and the capabilities both set up the same way are here too. e1000e.ts and
// igb.ts say what differs: IDs, capability places, the I/O window's reach,
// No Snoop, MSI-X PBA reads and reset.
import {
  PciConfigSpace, PciRegisterFile, type PciBarResource, type PciFunctionModel, type PciInterruptSink, type VfioPciInfo,
} from './pci.js';
import type { DmaOptions } from './dma.js';
import type { Wire, WireEnd } from './wire.js';
import type { E1000eBus, E1000eIrqMode, E1000eNet } from './e1000e-core.js';
import * as V from '../uapi/vfio.js';

/** What the firmware (SeaBIOS on the oracle's q35) gave the function, and its MAC. */
export interface E1000xFirmware {
  /** BAR0 (MMIO), BAR1 (flash), BAR2 (I/O ports), BAR3 (MSI-X). */
  readonly bars: readonly [bigint, bigint, bigint, bigint];
  /** PCI_INTERRUPT_LINE. */
  readonly irqLine: number;
  /** The MAC address, six bytes. */
  readonly mac: readonly number[];
  /** PCI_COMMAND as the firmware left it (default SeaBIOS's: I/O, memory, SERR). */
  readonly command?: number;
}

/** A function's DMA as a device model uses it (DmaEngine.readInto / writeFrom). */
export interface DeviceDma {
  readInto(iova: bigint, out: Uint8Array, o?: DmaOptions): boolean;
  writeFrom(iova: bigint, data: Uint8Array, o?: DmaOptions): boolean;
  mapRead(iova: bigint, out: Uint8Array, o?: DmaOptions): 'mapped' | 'bounce' | 'failed';
}

/** The register core behind BAR0 and the I/O window, and its two sides (DMA, the wire). */
export interface E1000xCore {
  read(off: number): number;
  write(off: number, val: number): void;
  bus: E1000eBus;
  net: E1000eNet | undefined;
  canReceive(): boolean;
  receive(frame: Uint8Array, len: number): number;
}

const RW = V.VFIO_REGION_INFO_FLAG_READ | V.VFIO_REGION_INFO_FLAG_WRITE, RW_MMAP = RW | V.VFIO_REGION_INFO_FLAG_MMAP;
const { VFIO_IRQ_INFO_EVENTFD: IRQ_EVENTFD, VFIO_IRQ_INFO_MASKABLE: IRQ_MASKABLE, VFIO_IRQ_INFO_AUTOMASKED: IRQ_AUTOMASKED, VFIO_IRQ_INFO_NORESIZE: IRQ_NORESIZE } = V;

/**
 * vfio-pci on either NIC, measured: BAR0 (MMIO) and BAR1 (flash) 128 KiB
 * mmappable, BAR2 32 bytes of I/O ports, BAR3 the MSI-X table (16 KiB,
 * mmappable whole), no ROM (romfile=), 4 KiB of PCIe config space, no VGA;
 * INTx, one MSI vector, `msixVectors` MSI-X vectors (dynamic), ERR and REQ.
 */
export function e1000xVfioInfo(msixVectors: number, neverEnabled?: boolean): VfioPciInfo {
  return {
    resetWorks: true,
    ...(neverEnabled ? { neverEnabled } : {}),
    numRegions: 9,
    numIrqs: 5,
    regions: [
      { size: 0x20000n, flags: RW_MMAP }, { size: 0x20000n, flags: RW_MMAP }, { size: 0x20n, flags: RW },
      { size: 0x4000n, flags: RW_MMAP, msixMappable: true }, { size: 0n, flags: 0 }, { size: 0n, flags: 0 },
      { size: 0n, flags: 0 }, { size: 0x1000n, flags: RW }, undefined,
    ],
    irqs: [
      { flags: IRQ_EVENTFD | IRQ_MASKABLE | IRQ_AUTOMASKED, count: 1 }, { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 },
      { flags: IRQ_EVENTFD, count: msixVectors }, { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 },
      { flags: IRQ_EVENTFD | IRQ_NORESIZE, count: 1 },
    ],
  };
}

/** The BARs: 128 KiB MMIO, 128 KiB flash, 32 bytes of I/O ports, 16 KiB for MSI-X (64-bit on the igb); no ROM. */
export function e1000xResources(fw: E1000xFirmware, msix64: boolean): PciBarResource[] {
  const mem = (start: bigint, length: bigint, mem64 = false): PciBarResource => ({ start, length, io: false, mem64, prefetch: false });
  return [
    mem(fw.bars[0], 0x20000n), mem(fw.bars[1], 0x20000n),
    { start: fw.bars[2], length: 0x20n, io: true, mem64: false, prefetch: false },
    mem(fw.bars[3], 0x4000n, msix64),
  ];
}

/**
 * The type 0 header as the firmware and the host kernel leave it (command:
 * I/O, memory and SERR enabled unless the firmware says otherwise), with qemu's default write masks (command
 * IO|MEMORY|MASTER|SERR|INTX_DISABLE, cache line and interrupt line; every
 * byte past the header writable unless a capability claims it): IDs, class
 * and revision, BAR0-2, the capability list from `capPtr`, INTA. BAR3 on and
 * the subsystem IDs are the caller's.
 */
export function e1000xConfigHeader(c: PciConfigSpace, fw: E1000xFirmware, ids: { vendor: number; device: number; classRev: number; capPtr: number }): void {
  c.wmask.fill(0xff, 0x40);
  c.set(0x00, 2, ids.vendor);
  c.set(0x02, 2, ids.device);
  c.set(0x04, 2, fw.command ?? 0x0103);
  c.setMasks(0x04, 2, 0x0507);
  c.set(0x06, 2, 0x0010); // capability list
  c.set(0x08, 4, ids.classRev >>> 0);
  c.setMasks(0x0c, 1, 0xff); // cache line size
  c.set(0x10, 4, Number(fw.bars[0]));
  c.set(0x14, 4, Number(fw.bars[1]));
  c.set(0x18, 4, Number(fw.bars[2]) | 1);
  c.set(0x34, 1, ids.capPtr);
  c.set(0x3c, 1, fw.irqLine);
  c.setMasks(0x3c, 1, 0xff);
  c.set(0x3d, 1, 1); // INTA
}

/** Claim `len` bytes for a capability: no write reaches them unless its own masks say so. */
export function claimCap(c: PciConfigSpace, at: number, len: number): void { c.setMasks(at, len, 0); }

/** qemu's msix_init as both NICs call it: `header` (next pointer, table size), table at BAR3 + 0, PBA at BAR3 + 0x2000. */
export function msixCap(c: PciConfigSpace, at: number, header: number): void {
  claimCap(c, at, 12);
  c.set(at, 4, header);
  c.setMasks(at + 3, 1, 0xc0); // enable, function mask
  c.set(at + 4, 4, 0x00000003);
  c.set(at + 8, 4, 0x00002003);
}

/** qemu's msi_init, 64-bit, `len` bytes claimed: enable and multiple message enable, address and data writable. */
export function msiCap(c: PciConfigSpace, at: number, len: number, header: number): void {
  claimCap(c, at, len);
  c.set(at, 4, header);
  c.setMasks(at + 2, 1, 0x71);
  c.setMasks(at + 4, 4, 0xfffffffc);
  c.setMasks(at + 8, 4, 0xffffffff);
  c.setMasks(at + 12, 2, 0xffff);
}

/** qemu's PCI_ERR_UNC_SUPPORTED and PCI_ERR_COR_SUPPORTED (hw/pci/pcie_regs.h). */
const AER_UNC_SUPPORTED = 0x03fff030, AER_COR_SUPPORTED = 0xf1c1;

/**
 * qemu's pcie_aer_init as both NICs have it, the capability already
 * claimed: the status registers write-1-to-clear, the uncorrectable
 * severity and the correctable mask writable, ECRC generation and check
 * enable. The uncorrectable mask is the caller's.
 */
export function aerCap(c: PciConfigSpace, at: number, header: number): void {
  c.set(at, 4, header);
  c.setMasks(at + 4, 4, 0, AER_UNC_SUPPORTED);
  c.set(at + 12, 4, 0x00462030);
  c.setMasks(at + 12, 4, AER_UNC_SUPPORTED);
  c.setMasks(at + 16, 4, 0, AER_COR_SUPPORTED);
  c.set(at + 20, 4, 0x0000e000);
  c.setMasks(at + 20, 4, AER_COR_SUPPORTED);
  c.set(at + 24, 4, 0x000000a0);
  c.setMasks(at + 24, 4, 0x140); // ECRC generation and check enable
}

const PCI_COMMAND_MASTER = 0x4;
/** qemu's IOADDR/IODATA window in the I/O BAR: a register offset, then its value. */
const IOADDR = 0, IODATA = 4;
const SNOOP: DmaOptions = {};

/** The function model both NICs are: see the file's head. */
export abstract class E1000xModel implements PciFunctionModel {
  abstract readonly core: E1000xCore;
  irqSink?: PciInterruptSink | undefined;
  private readonly regs: PciRegisterFile;
  private ioaddr = 0;

  /** `msix`, `msi`: where those capabilities sit in `config`. */
  constructor(readonly config: PciConfigSpace, readonly resources: ReadonlyArray<PciBarResource | undefined>,
    private readonly caps: { readonly msix: number; readonly msi: number }) {
    this.regs = new PciRegisterFile(resources);
  }

  /** PCI_COMMAND_MASTER: the function may start requests (DMA, MSI messages). */
  protected busMaster(): boolean { return (this.config.bytes[4]! & PCI_COMMAND_MASTER) !== 0; }

  /** What a request of GCR No Snoop class `cls` carries: it snoops, unless a model says otherwise. */
  protected dmaOptions(cls?: number): DmaOptions { void cls; return SNOOP; }

  /** The register the I/O window's IOADDR `ioaddr` reaches, or undefined (reads 0, writes dropped). */
  protected abstract ioRegister(ioaddr: number): number | undefined;

  /**
   * Give the function its DMA (through its IOMMU group's domain). Requests
   * need bus mastering: without it qemu's bus-master address space is off,
   * reads give zeros and writes go nowhere, and nothing reaches the IOMMU.
   */
  attachDma(dma: DeviceDma | undefined): void {
    const master = () => this.busMaster();
    this.core.bus = {
      read: (addr, out, cls) => {
        if (dma && master()) return dma.readInto(addr, out, this.dmaOptions(cls));
        out.fill(0);
        return false;
      },
      write: (addr, data, cls) => (dma && master() ? dma.writeFrom(addr, data, this.dmaOptions(cls)) : false),
      mapRead: (addr, out, cls) => {
        if (dma && master()) return dma.mapRead(addr, out, this.dmaOptions(cls));
        out.fill(0);
        return out.length <= 4096 ? 'bounce' : 'failed';
      },
      master,
    };
  }

  /** Plug the NIC into `wire` (its net client becomes that end). */
  plugInto(wire: Wire): WireEnd {
    const end = wire.plug({ canReceive: () => this.core.canReceive(), receive: (f, len) => this.core.receive(f, len) });
    this.core.net = end;
    return end;
  }

  /** The interrupt mode the host set in the MSI-X and MSI capabilities. */
  protected irqMode(): E1000eIrqMode {
    if (this.config.bytes[this.caps.msix + 3]! & 0x80) return 'msix';
    if (this.config.bytes[this.caps.msi + 2]! & 0x01) return 'msi';
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
      if ((off & ~3) === IODATA) {
        const reg = this.ioRegister(this.ioaddr);
        return reg === undefined ? 0n : narrow(this.core.read(reg), size);
      }
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
      else if ((off & ~3) === IODATA) {
        const reg = this.ioRegister(this.ioaddr);
        if (reg !== undefined) this.core.write(reg, v);
      }
      return;
    }
    this.regs.write(bar, off, size, val);
  }

  /** The BARs past the core (the MSI-X table and PBA) back to their reset state. */
  resetFunction(): void {
    this.regs.reset();
  }
}

const mask = (size: number) => (1n << BigInt(8 * size)) - 1n;
const narrow = (v: number, size: number) => BigInt(v >>> 0) & mask(size);
