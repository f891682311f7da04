// How the server words a coherency hazard (issue 12 point 5): a DMA request
// that did not snoop the CPU caches, with the device, the IOVA range, the
// HWPT the device is attached to, the direction, whether its domain enforces
// coherency, and what KVM knows.
//
// KVM learns of a VFIO device's non-coherent DMA only through the kvm-vfio
// device: the VMM hands it the VFIO file (KVM_DEV_VFIO_FILE_ADD on a real
// KVM device fd). The shim forwards that call to the server, which records an
// emulated file in its model of the VM's kvm-vfio device (kvm-vfio.ts); the
// note says which VMs hold the device's file and whether their KVM counts
// non-coherent DMA (so honours a guest's WBINVD), or that no VM was told.
import type { DmaHazard } from '../core/engine.js';
import { KVM_VFIO_NOT_TOLD } from './kvm-vfio.js';

const range = (h: DmaHazard) => `0x${h.iova.toString(16)}-0x${(h.iova + BigInt(Math.max(h.length, 1)) - 1n).toString(16)}`;

/** The trace line of one hazard, as it happens; `kvm`: what KVM knows of the device (KvmVfioDevices.noteFor). */
export function hazardTraceLine(h: DmaHazard, kvm = KVM_VFIO_NOT_TOLD): string {
  return `--- DMA no snoop vfio${h.vfio} iova=${range(h)} ${h.write ? 'write' : 'read'} ${h.bytes} of ${h.length} bytes not snooped ` +
    `(${h.hwpt === undefined ? '' : `hwpt ${h.hwpt}, `}${h.enforcing ? 'enforcing domain' : 'domain does not enforce coherency'}; ${kvm}) ---`;
}

/** The line printed at exit when any hazard occurred; `first` is the earliest kept. */
export function hazardSummary(count: number, first: DmaHazard, kvm = KVM_VFIO_NOT_TOLD): string {
  return `${count} DMA request(s) did not snoop the CPU caches: the program must flush them itself ` +
    `(the earliest kept: vfio${first.vfio} ${first.device}${first.hwpt === undefined ? '' : ` through hwpt ${first.hwpt}`} ${first.write ? 'write' : 'read'} at IOVA ${range(first)}; ` +
    `${kvm}; --trace shows each)`;
}
