// How the server words a coherency hazard (issue 12 point 5): a DMA request
// that did not snoop the CPU caches, with the device, the IOVA range, the
// HWPT the device is attached to, the direction, whether its domain enforces coherency, and what KVM knows.
//
// KVM learns of a VFIO device's non-coherent DMA only through the kvm-vfio
// device: the VMM hands it the VFIO file (KVM_DEV_VFIO_FILE_ADD on a real
// KVM device fd, an ioctl the emulator never sees). The real kernel takes
// only files VFIO owns and refuses an emulated one with EINVAL
// (kvm_vfio_file_add); QEMU 11 under -accel kvm stops there (docs/clients.md).
// So KVM was never told: it does not count this device's non-coherent DMA
// when deciding whether a guest's WBINVD must flush.
import type { DmaHazard } from '../core/engine.js';

/** What the server knows of KVM for every emulated device. */
export const KVM_VFIO_NOTE = 'kvm-vfio: not told (KVM refuses an emulated VFIO file: KVM_DEV_VFIO_FILE_ADD is EINVAL)';

const range = (h: DmaHazard) => `0x${h.iova.toString(16)}-0x${(h.iova + BigInt(Math.max(h.length, 1)) - 1n).toString(16)}`;

/** The trace line of one hazard, as it happens. */
export function hazardTraceLine(h: DmaHazard): string {
  return `--- DMA no snoop vfio${h.vfio} iova=${range(h)} ${h.write ? 'write' : 'read'} ${h.bytes} of ${h.length} bytes not snooped ` +
    `(${h.hwpt === undefined ? '' : `hwpt ${h.hwpt}, `}${h.enforcing ? 'enforcing domain' : 'domain does not enforce coherency'}; ${KVM_VFIO_NOTE}) ---`;
}

/** The line printed at exit when any hazard occurred; `first` is the earliest kept. */
export function hazardSummary(count: number, first: DmaHazard): string {
  return `${count} DMA request(s) did not snoop the CPU caches: the program must flush them itself ` +
    `(the earliest kept: vfio${first.vfio} ${first.device}${first.hwpt === undefined ? '' : ` through hwpt ${first.hwpt}`} ${first.write ? 'write' : 'read'} at IOVA ${range(first)}; ` +
    `${KVM_VFIO_NOTE}; --trace shows each)`;
}
