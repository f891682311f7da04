// The PCI side of the oracle's --vfio machine: qemu q35 with intel-iommu
// (intremap=on, caching-mode=on, optionally snoop-control=on) and two
// "-device e1000e" at their default slots. The oracle measured them at
// 0000:00:01.0 (iommu group 1, vfio0) and 0000:00:02.0 (group 2, vfio1);
// the host bridge and the ICH9 functions are not assignable and not modelled.
import { IntelVtd } from './intel-vtd.js';
import { E1000e, E1000E_FIRMWARE_SLOT1, E1000E_FIRMWARE_SLOT2 } from './e1000e.js';
import type { IommuGroupIds } from './iommu.js';

export interface VfioMachine {
  /** The VT-d units, dmar0 first. */
  readonly units: IntelVtd[];
  /** The functions bound to vfio-pci, in PCI address order (vfio0, vfio1, ...). */
  readonly vfioFunctions: E1000e[];
}

/**
 * Units as the platform lists them (by snoop control); every e1000e sits
 * behind dmar0, whose scope is all of segment 0 (INCLUDE_PCI_ALL). No unit:
 * no VFIO devices (vfio-pci needs an IOMMU, no-IOMMU mode is not modelled).
 */
export function q35VfioMachine(vtd: ReadonlyArray<{ snoopControl: boolean }>, groupIds: IommuGroupIds): VfioMachine {
  const units = vtd.map((u, index) => new IntelVtd({ index, snoopControl: u.snoopControl, groupIds }));
  const first = units[0];
  const vfioFunctions = first
    ? [E1000E_FIRMWARE_SLOT1, E1000E_FIRMWARE_SLOT2].map((firmware, i) =>
      new E1000e({ bdf: { domain: 0, bus: 0, device: i + 1, fn: 0 }, iommu: first, isolatedMsi: true, firmware }))
    : [];
  return { units, vfioFunctions };
}
