// What an arm64 "virt"-style machine's PCI buses list besides the functions
// given to vfio-pci: the generic ECAM host bridge (qemu's gpex, 1b36:0008,
// class 0x060000 host bridge) at 00.0 of each root complex, and where its
// SMMUv3 units live. The oracle has no arm64 machine: IDs are qemu's gpex
// model, names follow Linux's IORT probe (platform devices
// "arm-smmu-v3.N.auto") and arm-smmu-v3.c ("smmu3.%pa" of the register
// base); register bases are qemu virt's VIRT_SMMU for the first unit and the
// next 128 KiB windows after it for further units (an assumption).
import type { ChipsetFunction } from './q35-chipset.js';

/** The gpex host bridge function: no BARs, no interrupt, qemu's default subsystem IDs. */
export const GPEX_HOST_BRIDGE: ChipsetFunction = {
  device: 0, fn: 0, irq: 0, groupWithSlot: false, resources: [],
  config: [[0x00, 0x00081b36], [0x08, 0x06000000], [0x2c, 0x11001af4]],
};

/** The register base of SMMUv3 unit `index`. */
export function virtSmmuBase(index: number): bigint {
  return 0x09050000n + BigInt(index) * 0x20000n;
}

/**
 * The Linux virq of a function's INTx pin on the virt machine's GIC: the
 * swizzled SPI (3 + (slot + pin - 1) % 4) as a plausible virq number; not
 * measured (virq numbers depend on probe order).
 */
export function virtIntxIrq(slot: number, pin: number): number {
  return 35 + ((slot + pin - 1) & 3);
}

/** The CPUs the machine's sysfs masks show (two, as the q35 oracle's). */
export const VIRT_CPU_MASK = '3';
export const VIRT_CPU_LIST = '0-1';
