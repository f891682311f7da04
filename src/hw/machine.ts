// A platform made into a machine: its IOMMU units (VT-d, SMMUv3, AMD-Vi) and
// the PCI functions bound to vfio-pci, in the platform's order (vfio0,
// vfio1, ...). Groups: a function without a group label gets a group of its
// own (pci_device_group for a function without peers); functions that share
// a label share one iommu_group. Group ids are numbered as the kernel's ida
// does at probe, in the order the groups first appear. The qemu-vtd machines
// are the oracle's --vfio q35: two "-device e1000e" at their default slots,
// measured at 0000:00:01.0 (group 1, vfio0) and 0000:00:02.0 (group 2, vfio1);
// the host bridge and the ICH9 functions are not assignable and not modelled.
import { IntelVtd, QEMU_VTD_CAP } from './intel-vtd.js';
import { ArmSmmuV3 } from './arm-smmu-v3.js';
import { AmdVi } from './amd-vi.js';
import { E1000e, E1000E_FIRMWARE_SLOT1, E1000E_FIRMWARE_SLOT2, type E1000eFirmware } from './e1000e.js';
import { PciEndpoint } from './pci-endpoint.js';
import type { IommuGroup, IommuGroupIds } from './iommu.js';
import type { PciFunctionModel, PciIommu, PciFunction } from './pci.js';
import type { VfioPciInfo } from './e1000e.js';
import type { IommuUnitSpec, Platform } from './platform.js';
import { QEMU_AMDVI_IVINFO_VASIZE } from './platform.js';

export type IommuUnit = IntelVtd | ArmSmmuV3 | AmdVi;
export type VfioCapableFunction = PciFunction & { readonly vfio: VfioPciInfo; readonly model: PciFunctionModel };

export interface Machine {
  readonly units: IommuUnit[];
  /** The functions bound to vfio-pci, in the platform's order. */
  readonly vfioFunctions: VfioCapableFunction[];
}

/** CAP with a 48-bit, 4-level second stage as well (qemu's aw-bits=48): MGAW 47, SAGAW bits 1 and 2. */
const vtdCap48 = (QEMU_VTD_CAP & ~(0x3fn << 16n)) | (47n << 16n) | (0x4n << 8n);

function makeUnit(u: IommuUnitSpec, index: number, groupIds: IommuGroupIds): IommuUnit {
  switch (u.kind) {
    case 'vtd':
      return new IntelVtd({ index, snoopControl: u.snoopControl, groupIds, ...(u.addressWidth === 48 ? { cap: vtdCap48 } : {}) });
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
function e1000eFirmware(n: number): E1000eFirmware {
  if (n === 0) return E1000E_FIRMWARE_SLOT1;
  if (n === 1) return E1000E_FIRMWARE_SLOT2;
  const f = E1000E_FIRMWARE_SLOT2, k = BigInt(n - 1);
  const mac = [...f.mac];
  mac[5] = (mac[5]! + n - 1) & 0xff;
  return { bars: [f.bars[0] + k * 0x40000n, f.bars[1] + k * 0x40000n, f.bars[2] + k * 0x20n, f.bars[3] + k * 0x40000n], irqLine: f.irqLine, mac };
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
  let nics = 0;
  const vfioFunctions = pl.functions.map((f): VfioCapableFunction => {
    const iommu: PciIommu = units[f.iommu]!;
    let group: IommuGroup | undefined;
    if (f.group !== undefined) {
      group = groups.get(f.group) ?? iommu.groupIds.alloc(true);
      groups.set(f.group, group);
    }
    const common = { bdf: f.bdf, iommu, isolatedMsi: true, ...(group ? { group } : {}) };
    const fn: VfioCapableFunction = f.model === 'e1000e'
      ? new E1000e({ ...common, firmware: { ...e1000eFirmware(nics++), irqLine: seabiosIntxLine(f.bdf.device) } })
      : new PciEndpoint({ ...common, vendorId: f.vendorId ?? 0x1b36, deviceId: f.deviceId ?? 0x000d, classCode: f.classCode ?? 0xff0000 });
    if (iommu instanceof ArmSmmuV3) iommu.probeMaster(fn, pl.rootComplexes.find((rc) => rc.segment === f.bdf.domain)?.canwbs ?? false);
    return fn;
  });
  return { units, vfioFunctions };
}
