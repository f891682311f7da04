// A platform made into a machine: its IOMMU units (VT-d, SMMUv3, AMD-Vi) and
// the PCI functions bound to vfio-pci, in the platform's order (vfio0,
// vfio1, ...). Groups: a function without a group label gets a group of its
// own (pci_device_group for a function without peers); functions that share
// a label share one iommu_group. Group ids are numbered as the kernel's ida
// does at probe, in the order the groups first appear. The qemu-vtd machines
// are the oracle's --vfio q35: two "-device e1000e" at their default slots,
// measured at 0000:00:01.0 (group 1, vfio0) and 0000:00:02.0 (group 2, vfio1);
// the host bridge and the ICH9 functions are not assignable and not modelled.
import { IntelVtd, vtdRegisters } from './intel-vtd.js';
import { ArmSmmuV3 } from './arm-smmu-v3.js';
import { AmdVi } from './amd-vi.js';
import { E1000e, E1000E_FIRMWARE_ARM, E1000E_FIRMWARE_SLOT1, E1000E_FIRMWARE_SLOT2 } from './e1000e.js';
import { PciEndpoint } from './pci-endpoint.js';
import { Igb, IGB_FIRMWARE_SLOT3 } from './igb.js';
import type { IommuGroup, IommuGroupIds } from './iommu.js';
import type { PciFunctionModel, PciIommu, PciFunction, PciConfigSpace, VfioPciInfo } from './pci.js';
import type { E1000xFirmware } from './e1000x-pci.js';
import type { IommuUnitSpec, Platform } from './platform.js';
import { QEMU_AMDVI_IVINFO_VASIZE } from './platform.js';

export type IommuUnit = IntelVtd | ArmSmmuV3 | AmdVi;
export type VfioCapableFunction = PciFunction & { readonly vfio: VfioPciInfo; readonly model: PciFunctionModel };

export interface Machine {
  readonly units: IommuUnit[];
  /** The functions bound to vfio-pci, in the platform's order. */
  readonly vfioFunctions: VfioCapableFunction[];
}

function makeUnit(u: IommuUnitSpec, index: number, groupIds: IommuGroupIds): IommuUnit {
  switch (u.kind) {
    case 'vtd':
      return new IntelVtd({ index, snoopControl: u.snoopControl, groupIds, ...vtdRegisters(u.addressWidth, u.scalable) });
    case 'smmuv3':
      return new ArmSmmuV3({ index, coherent: u.coherent, stage1: u.stage1, stage2: u.stage2, s2fwb: u.s2fwb, oas: u.oas, groupIds });
    case 'amd-vi':
      return new AmdVi({ index, efr: u.efr, efr2: u.efr2, ivinfoVasize: QEMU_AMDVI_IVINFO_VASIZE, groupIds });
  }
}

/**
 * The firmware of the n-th e1000e: the two the oracle measured at 00:01.0 and
 * 00:02.0, then the second's layout moved up 256 KiB (and 0x20 ports) per NIC.
 */
function e1000eFirmware(n: number, withIgb: boolean): E1000xFirmware {
  // With an igb beside them, SeaBIOS puts the igb's two 128 KiB BARs where
  // the second e1000e's were and both e1000e's move 256 KiB down (measured
  // on the oracle's --igb machine, igb_loop.golden).
  if (withIgb && n < 2) {
    const f = n === 0 ? E1000E_FIRMWARE_SLOT1 : E1000E_FIRMWARE_SLOT2;
    return { ...f, bars: [f.bars[0] - 0x40000n, f.bars[1] - 0x40000n, f.bars[2], f.bars[3]] };
  }
  if (n === 0) return E1000E_FIRMWARE_SLOT1;
  if (n === 1) return E1000E_FIRMWARE_SLOT2;
  const f = E1000E_FIRMWARE_SLOT2, k = BigInt(n - 1);
  const mac = [...f.mac];
  mac[5] = (mac[5]! + n - 1) & 0xff;
  return { bars: [f.bars[0] + k * 0x40000n, f.bars[1] + k * 0x40000n, f.bars[2] + k * 0x20n, f.bars[3] + k * 0x40000n], irqLine: f.irqLine, mac };
}

/**
 * The firmware of the n-th igb: the one the oracle measured at 00:03.0, then
 * (not measured: no oracle machine has two) each further one's MMIO and flash
 * BARs 1 MiB lower, clear of the e1000e's, its I/O ports 0x20 and its MSI-X
 * BAR 16 KiB higher, and the next MAC.
 */
function igbFirmware(n: number, irqLine: number): E1000xFirmware {
  const f = IGB_FIRMWARE_SLOT3, k = BigInt(n);
  const mac = [...f.mac];
  mac[5] = (mac[5]! + n) & 0xff;
  return { bars: [f.bars[0] - k * 0x100000n, f.bars[1] - k * 0x100000n, f.bars[2] + k * 0x20n, f.bars[3] + k * 0x4000n], irqLine, mac };
}

/**
 * The --igb and --vfio --scalable machines run QEMU 10, whose e1000e differs
 * in config space from 7.2's: DevCap has Extended Tag, and AER masks the
 * uncorrectable internal and TLP prefix blocked errors (igb_sysfs.golden,
 * vtd_sm_nic_config.golden).
 */
function qemu10E1000eConfig(c: PciConfigSpace): void {
  c.set(0xe4, 4, c.read(0xe4, 4) | 0x20);
  c.set(0x108, 4, 0x02400000);
}

/** The n-th e1000e on the arm64 machine: the two measured, then 256 KiB (0x20 ports, 16 KiB of MSI-X) on. */
function armE1000xFirmware(n: number): E1000xFirmware {
  const f = E1000E_FIRMWARE_ARM[Math.min(n, 1)]!, k = BigInt(Math.max(0, n - 1));
  if (n < 2) return f;
  const mac = [...f.mac];
  mac[5] = (mac[5]! + n - 1) & 0xff;
  return { ...f, bars: [f.bars[0] + k * 0x40000n, f.bars[1] + k * 0x40000n, f.bars[2] + k * 0x20n, f.bars[3] + k * 0x4000n], mac };
}

/**
 * PCI_INTERRUPT_LINE as SeaBIOS routes a q35 slot's INTA: by slot, 10, 10,
 * 11, 11 over and over (00:01.0 reads 0x0a, 00:02.0 and 00:03.0 0x0b on the
 * oracle's machines: vfio_config, amd_nic_config).
 */
function seabiosIntxLine(slot: number): number {
  return [0x0a, 0x0a, 0x0b, 0x0b][slot & 3]!;
}

/** Build the machine a platform describes. No unit: no VFIO functions (no-IOMMU mode is not modelled). */
export function buildMachine(pl: Platform, groupIds: IommuGroupIds): Machine {
  const units = pl.iommus.map((u, i) => makeUnit(u, i, groupIds));
  const groups = new Map<number, IommuGroup>();
  let nics = 0, igbs = 0;
  const withIgb = pl.functions.some((f) => f.model === 'igb');
  // the oracle boots QEMU 10 for an igb and for VT-d's scalable mode (x-flts)
  const qemu10 = withIgb || pl.iommus.some((u) => u.kind === 'vtd' && u.scalable !== undefined);
  const vfioFunctions = pl.functions.map((f): VfioCapableFunction => {
    const iommu: PciIommu = units[f.iommu]!;
    let group: IommuGroup | undefined;
    if (f.group !== undefined) {
      group = groups.get(f.group) ?? iommu.groupIds.alloc(true);
      groups.set(f.group, group);
    }
    const common = { bdf: f.bdf, iommu, isolatedMsi: true, ...(group ? { group } : {}) };
    // behind an SMMUv3: an arm64 machine (qemu's virt: UEFI's BARs, MSIs
    // through the GICv3 ITS, which cannot add MSI-X vectors once enabled)
    const arm = iommu instanceof ArmSmmuV3;
    const fn: VfioCapableFunction = f.model === 'e1000e'
      ? (arm ? new E1000e({ ...common, firmware: armE1000xFirmware(nics++), dynMsix: false })
        : new E1000e({ ...common, firmware: { ...e1000eFirmware(nics++, withIgb), irqLine: seabiosIntxLine(f.bdf.device) } }))
      : f.model === 'igb' ? new Igb({ ...common, firmware: igbFirmware(igbs++, seabiosIntxLine(f.bdf.device)) })
      : new PciEndpoint({ ...common, vendorId: f.vendorId ?? 0x1b36, deviceId: f.deviceId ?? 0x000d, classCode: f.classCode ?? 0xff0000 });
    if (qemu10 && fn instanceof E1000e) qemu10E1000eConfig(fn.model.config);
    if (iommu instanceof ArmSmmuV3) iommu.probeMaster(fn, pl.rootComplexes.find((rc) => rc.segment === f.bdf.domain)?.canwbs ?? false);
    return fn;
  });
  return { units, vfioFunctions };
}
