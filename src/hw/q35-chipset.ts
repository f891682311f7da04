// The parts of the oracle's q35 machine that no driver can be given to but
// that its PCI bus lists: the MCH host bridge (00:00.0) and the ICH9 LPC
// bridge, SATA (AHCI) and SMBus functions (00:1f.0, .2, .3), with the config
// space, BARs and legacy interrupt the firmware left them (measured on the
// oracle's --vfio machine; no driver binds them there). Also the machine's
// legacy interrupt routing and what sysfs shows of its VT-d unit and CPUs.
import type { PciBarResource } from './pci.js';

export interface ChipsetFunction {
  readonly device: number;
  readonly fn: number;
  /** Non-zero dwords of its 256 bytes of config space, by offset. */
  readonly config: ReadonlyArray<readonly [number, number]>;
  /** BAR 0..5 as the PCI core holds them. */
  readonly resources: ReadonlyArray<PciBarResource | undefined>;
  /** pdev->irq: PCI_INTERRUPT_LINE (no driver enabled the function). */
  readonly irq: number;
  /** It shares its iommu_group with the functions of its slot (no ACS on a multifunction device). */
  readonly groupWithSlot: boolean;
}

const io = (start: bigint, length: bigint): PciBarResource => ({ start, length, io: true, mem64: false, prefetch: false });
const mem = (start: bigint, length: bigint): PciBarResource => ({ start, length, io: false, mem64: false, prefetch: false });

/** The MCH: alone in the first iommu group (group 0, probed first). */
export const Q35_HOST_BRIDGE: ChipsetFunction = {
  device: 0, fn: 0, irq: 0, groupWithSlot: false, resources: [],
  config: [[0x00, 0x29c08086], [0x04, 0x00000103], [0x08, 0x06000000], [0x2c, 0x11001af4], [0x50, 0x00000010],
    [0x60, 0xb0000001], [0x90, 0x11111110], [0x94, 0x00331111], [0x9c, 0x00380a00]],
};

/** ICH9 at slot 0x1f: one iommu group for the three (probed after the slots before it). */
export const Q35_ICH9: readonly ChipsetFunction[] = [
  {
    device: 0x1f, fn: 0, irq: 0, groupWithSlot: true, resources: [],
    config: [[0x00, 0x29188086], [0x04, 0x00000103], [0x08, 0x06010002], [0x0c, 0x00800000], [0x2c, 0x11001af4],
      [0x40, 0x00000601], [0x44, 0x00000080], [0x60, 0x8b8b8a8a], [0x68, 0x8b8b8a8a], [0x80, 0x00030000],
      [0xa0, 0x00000010], [0xf0, 0xfed1c001]],
  },
  {
    device: 0x1f, fn: 2, irq: 10, groupWithSlot: true,
    resources: [undefined, undefined, undefined, undefined, io(0xc080n, 0x20n), mem(0xfebe8000n, 0x1000n)],
    config: [[0x00, 0x29228086], [0x04, 0x00100107], [0x08, 0x01060102], [0x0c, 0x00800000], [0x20, 0x0000c081],
      [0x24, 0xfebe8000], [0x2c, 0x11001af4], [0x34, 0x00000080], [0x3c, 0x0000010a], [0x80, 0x0080a805],
      [0x90, 0x00000040], [0xa8, 0x00100012], [0xac, 0x00000048]],
  },
  {
    device: 0x1f, fn: 3, irq: 10, groupWithSlot: true,
    resources: [undefined, undefined, undefined, undefined, io(0x700n, 0x40n)],
    config: [[0x00, 0x29308086], [0x04, 0x00000103], [0x08, 0x0c050002], [0x0c, 0x00800000], [0x20, 0x00000701],
      [0x2c, 0x11001af4], [0x3c, 0x0000010a], [0x40, 0x00000001]],
  },
];

/**
 * ICH9 on the oracle's --igb machine: SeaBIOS places the AHCI's I/O and
 * memory BARs after the igb's (0x20 ports and 16 KiB further up; measured,
 * igb_sysfs.golden).
 */
export const Q35_ICH9_BESIDE_IGB: readonly ChipsetFunction[] = Q35_ICH9.map((c) => c.fn !== 2 ? c : {
  ...c,
  resources: [undefined, undefined, undefined, undefined, io(0xc0a0n, 0x20n), mem(0xfebec000n, 0x1000n)],
  config: c.config.map(([o, v]) => [o, o === 0x20 ? 0x0000c0a1 : o === 0x24 ? 0xfebec000 : v] as const),
});

/**
 * The GSI a function's INTx pin is routed to once a driver enables it (ACPI
 * _PRT of qemu's q35: slot s, pin p (1 = INTA) go to PIRQ E..H, GSI 20..23,
 * rotating with the slot). The oracle's e1000e at slots 1 and 2 got 21 and 22.
 */
export function q35IntxGsi(slot: number, pin: number): number {
  return 20 + ((slot + pin - 1) & 3);
}

/** The register base of the first VT-d unit (qemu's Q35_HOST_BRIDGE_IOMMU_ADDR). */
export const Q35_VTD_BASE = 0xfed90000n;

/**
 * The register base of VT-d unit `index`: qemu has one unit; further ones
 * take the 4 KiB pages after it, as DMAR tables of client parts list them
 * (an assumption, not measured).
 */
export function vtdUnitBase(index: number): bigint {
  return Q35_VTD_BASE + BigInt(index) * 0x1000n;
}

/** The oracle machine's CPUs as sysfs masks them: two, 0-1 (local_cpus, local_cpulist). */
export const Q35_CPU_MASK = '3';
export const Q35_CPU_LIST = '0-1';

/**
 * qemu's amd-iommu is a PCI function of its own ("AMDVI-PCI", class 0x0806
 * system IOMMU) that no driver binds: Linux's AMD IOMMU driver reads its
 * capability block (at 0x40) and hangs ivhdN under it. Its header dword is
 * the one qemu 7.2's reset writes (AMDVI_CAPAB_FEATURES: capability ID 0x0f,
 * IOTLB/HT tunnel/NP cache/EFR/flat-ext flags, init type 3). Measured on the
 * oracle's --amd machine (amd_sysfs.golden): IDs 1022:0008, class 0x080600,
 * qemu's subsystem IDs, revision 0, amd-iommu/cap 1f03000f. Its slot is given
 * by the machine: qemu creates it before the NICs, so the first free one.
 */
export const AMDVI_CAP_OFFSET = 0x40;
export const AMDVI_CAP_HEADER = 0x1f03000f;
/** qemu's AMDVI_BASE_ADDR, in the capability's BAR registers (enabled). */
export const AMDVI_MMIO_BASE = 0xfed80000;

export function amdViPciFunction(device: number): ChipsetFunction {
  return {
    device, fn: 0, irq: 0, groupWithSlot: false, resources: [],
    config: [[0x00, 0x00081022], [0x04, 0x00100000], [0x08, 0x08060000], [0x2c, 0x11001af4], [0x34, AMDVI_CAP_OFFSET],
      [AMDVI_CAP_OFFSET, AMDVI_CAP_HEADER], [AMDVI_CAP_OFFSET + 4, AMDVI_MMIO_BASE | 1]],
  };
}
