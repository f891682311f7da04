// The kvm-vfio pseudo device (virt/kvm/vfio.c): the VFIO files a VM has been
// told about, and the one thing KVM learns from them on x86 — whether any of
// them can do DMA that does not snoop the CPU caches. It asks VFIO about each
// file when a file is added or removed (vfio_file_enforced_coherent), never
// later: for a device cdev the answer is the device's static
// IOMMU_CAP_ENFORCE_CACHE_COHERENCY, not the state of the domain it is
// attached to (drivers/vfio/vfio_main.c). A device on a unit with snoop
// control therefore counts as coherent even while it sits in a non-enforcing
// HWPT, which iommufd allows.
import { Errno, EEXIST, EINVAL, ENOENT } from '../uapi/errno.js';
import type { EmulatedFile } from '../core/file.js';
import { VfioDeviceFile, type VfioDevice } from '../core/vfio-device.js';
import { VfioGroupFile } from '../core/vfio-group.js';

/** vfio_file_is_valid: a VFIO group file or device file (a cdev, or one VFIO_GROUP_GET_DEVICE_FD made). */
export function vfioFileIsValid(file: EmulatedFile): file is VfioDeviceFile | VfioGroupFile {
  return file instanceof VfioDeviceFile || file instanceof VfioGroupFile;
}

function enforces(d: VfioDevice): boolean {
  return d.pci.driver.capable(d.pci, 'ENFORCE_CACHE_COHERENCY');
}

/**
 * vfio_file_enforced_coherent: the IOMMU ignores No Snoop for every DMA of
 * this file's device. For a device file, the device's capability, bound or
 * not, attached or not; for a group file, every device of the group has it
 * (vfio_group_enforced_coherent); any other file is coherent.
 */
export function vfioFileEnforcedCoherent(file: EmulatedFile): boolean {
  if (file instanceof VfioGroupFile) return file.group.devices.every(enforces);
  if (file instanceof VfioDeviceFile) return enforces(file.device);
  return true;
}

/** The VFIO devices a VFIO file stands for: its device, or every device of its group. */
export function vfioFileDevices(file: EmulatedFile): readonly VfioDevice[] {
  if (file instanceof VfioGroupFile) return file.group.devices;
  if (file instanceof VfioDeviceFile) return [file.device];
  return [];
}

/** What the kvm-vfio device needs of its VM (kvm_arch_{register,unregister}_noncoherent_dma). */
export interface NoncoherentDmaSink {
  registerNoncoherentDma(): void;
  unregisterNoncoherentDma(): void;
}

/** struct kvm_vfio: one per VM. */
export class KvmVfioDevice {
  /** kv->file_list, in the order added. */
  private readonly files: EmulatedFile[] = [];
  /** kv->noncoherent: this device has registered non-coherent DMA with the VM. */
  private noncoherent = false;

  constructor(private readonly kvm: NoncoherentDmaSink) {}

  /** The files added, in order. */
  get fileList(): readonly EmulatedFile[] { return this.files; }

  /** kvm_vfio_update_coherency: re-ask every file; tell the VM when the answer flips. */
  private updateCoherency(): void {
    const noncoherent = this.files.some((f) => !vfioFileEnforcedCoherent(f));
    if (noncoherent === this.noncoherent) return;
    this.noncoherent = noncoherent;
    if (noncoherent) this.kvm.registerNoncoherentDma();
    else this.kvm.unregisterNoncoherentDma();
  }

  /** KVM_DEV_VFIO_FILE_ADD: EINVAL for a file VFIO does not own, EEXIST for one already added. */
  fileAdd(file: EmulatedFile): void {
    if (!vfioFileIsValid(file)) throw new Errno(EINVAL, 'not a VFIO file');
    if (this.files.includes(file)) throw new Errno(EEXIST, 'file already added');
    this.files.push(file);
    this.updateCoherency();
  }

  /** KVM_DEV_VFIO_FILE_DEL: ENOENT for a file not added. */
  fileDel(file: EmulatedFile): void {
    const i = this.files.indexOf(file);
    if (i < 0) throw new Errno(ENOENT, 'file not added');
    this.files.splice(i, 1);
    this.updateCoherency();
  }

  /** kvm_vfio_release: drop every file. */
  release(): void {
    this.files.length = 0;
    this.updateCoherency();
  }
}
