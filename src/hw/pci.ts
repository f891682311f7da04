// A minimal PCI function: its address, its IDs, the IOMMU unit that
// translates its DMA and the group it is in. What iommufd and VFIO need of a
// struct pci_dev, not a config space: no BARs are decoded and no DMA engine
// runs yet. Device models (e1000e.ts) add what VFIO reports about them.
import type { IommuDevice, IommuDriver, IommuGroup, IommuGroupIds, ReservedRegion } from './iommu.js';
export { PCI_CFG_SPACE_SIZE, PCI_CFG_SPACE_EXP_SIZE } from '../uapi/pci-regs.js';

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

// ---- The PCI-function model interface ------------------------------------
//
// What a device model supplies so that a bus driver (vfio-pci) can drive it:
// its config space as the hardware implements it, its BARs as the firmware
// assigned them, register handlers behind each BAR, and a function reset.
// QEMU's PCIDevice is the reference: a config image with a write mask and a
// write-1-to-clear mask per byte (hw/pci/pci.c pci_default_write_config).

/** A function's config space as its hardware answers config cycles. */
export class PciConfigSpace {
  /** The register values. */
  readonly bytes: Uint8Array;
  /** Bits a write may change. */
  readonly wmask: Uint8Array;
  /** Bits a write of 1 clears. */
  readonly w1cmask: Uint8Array;

  constructor(readonly size: number) {
    this.bytes = new Uint8Array(size);
    this.wmask = new Uint8Array(size);
    this.w1cmask = new Uint8Array(size);
  }

  /** A little-endian read of 1, 2 or 4 bytes. */
  read(off: number, len: number): number {
    let v = 0;
    for (let i = len - 1; i >= 0; i--) v = (v * 256) + (this.bytes[off + i] ?? 0);
    return v >>> 0;
  }

  /** A config write: writable bits take the value, write-1-to-clear bits clear. */
  write(off: number, len: number, val: number): void {
    for (let i = 0; i < len && off + i < this.size; i++) {
      const b = (val >>> (8 * i)) & 0xff, o = off + i;
      const wm = this.wmask[o]!, w1c = this.w1cmask[o]!;
      this.bytes[o] = ((this.bytes[o]! & ~wm) | (b & wm)) & ~(b & w1c);
    }
  }

  /** Set a default value (device construction; no masks apply). */
  set(off: number, len: number, val: number): void {
    for (let i = 0; i < len; i++) this.bytes[off + i] = (val >>> (8 * i)) & 0xff;
  }

  /** Set the write and write-1-to-clear masks of a field. */
  setMasks(off: number, len: number, wmask: number, w1cmask = 0): void {
    for (let i = 0; i < len; i++) {
      this.wmask[off + i] = (wmask >>> (8 * i)) & 0xff;
      this.w1cmask[off + i] = (w1cmask >>> (8 * i)) & 0xff;
    }
  }
}

/** A BAR as the PCI core sees the resource behind it (pci_resource_start/len/flags). */
export interface PciBarResource {
  /** The address the firmware assigned (0: unassigned). */
  readonly start: bigint;
  /** A power of two. */
  readonly length: bigint;
  readonly io: boolean;
  readonly mem64: boolean;
  readonly prefetch: boolean;
}

/** What a PCI function model supplies to the bus driver that drives it. */
export interface PciFunctionModel {
  /** The config space the hardware presents (vendor, BARs, capabilities). */
  readonly config: PciConfigSpace;
  /** BAR 0..5 and the ROM (index 6); undefined: not implemented. */
  readonly resources: ReadonlyArray<PciBarResource | undefined>;
  /** A register read of `size` bytes (1, 2, 4 or 8) at `off` in BAR `bar`. */
  barRead(bar: number, off: number, size: number): bigint;
  /** A register write. */
  barWrite(bar: number, off: number, size: number, val: bigint): void;
  /** A function-level reset of the device's own state (the PCI core saves and restores config space around it). */
  resetFunction(): void;
  /**
   * Where the function's interrupts go, connected by the bus driver that
   * drives it (vfio-pci while the device is open); the model calls it to
   * raise INTx or an MSI/MSI-X vector. Undefined: nobody listens.
   */
  irqSink?: PciInterruptSink | undefined;
}

/** The interrupt lines of a PCI function as the driver of the function sees them. */
export interface PciInterruptSink {
  /** The INTx line's level (level-triggered: it stays asserted until the device lowers it). */
  setIntx(level: boolean): void;
  /** MSI vector `vector` (msix false) or MSI-X table entry `vector` fired. */
  msi(vector: number, msix: boolean): void;
  /**
   * MSI-X: whether entry `vector` fired while masked and waits (its PBA bit).
   * The masks are the table the host kernel programs, so the pending state
   * lives with the driver of the function; the model reads it to answer PBA reads.
   */
  msixPending?(vector: number): boolean;
  /** MSI-X: the device clears entry `vector`'s pending bit (qemu's msix_clr_pending). */
  msixClearPending?(vector: number): void;
}

/** The simplest BAR model: each BAR is plain memory (registers without side effects). */
export class PciRegisterFile {
  private readonly bars: Array<Uint8Array | undefined>;

  constructor(resources: ReadonlyArray<PciBarResource | undefined>) {
    this.bars = resources.slice(0, 6).map((r) => (r ? new Uint8Array(Number(r.length)) : undefined));
  }

  read(bar: number, off: number, size: number): bigint {
    const b = this.bars[bar];
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b?.[off + i] ?? 0xff);
    return v;
  }

  write(bar: number, off: number, size: number, val: bigint): void {
    const b = this.bars[bar];
    if (!b) return;
    for (let i = 0; i < size && off + i < b.length; i++) b[off + i] = Number((val >> BigInt(8 * i)) & 0xffn);
  }

  reset(): void {
    for (const b of this.bars) b?.fill(0);
  }
}

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
