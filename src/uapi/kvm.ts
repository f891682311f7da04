// The little of KVM's uAPI (include/uapi/linux/kvm.h) the emulator meets: the
// kvm-vfio device's attributes, through which a VMM hands KVM its VFIO files.
// The emulator never opens /dev/kvm; it only recognises these calls on a
// client's real kvm-vfio device fd (server/foreign-ioctl.ts).
import { defineStruct, enumNames, u32, u64 } from './struct.js';

export const KVMIO = 0xae;

const IOC_WRITE = 1;
/** _IOC(dir, KVMIO, nr, size), as asm-generic/ioctl.h packs it. */
const kvmIoc = (dir: number, nr: number, size: number): number => ((dir << 30) | (size << 16) | (KVMIO << 8) | nr) >>> 0;

/** The device file KVM_CREATE_DEVICE(KVM_DEV_TYPE_VFIO) returns: what /proc/<pid>/fd/<n> reads for it (anon_inode_getfd of "kvm-vfio"). */
export const KVM_VFIO_DEVICE_LINK = 'anon_inode:kvm-vfio';

/** KVM_DEV_TYPE_VFIO (enum kvm_device_type). */
export const KVM_DEV_TYPE_VFIO = 4;

/** struct kvm_device_attr. */
export const KvmDeviceAttr = defineStruct('kvm_device_attr', 24, {
  flags: u32(0), group: u32(4), attr: u64(8), addr: u64(16),
}, { group: enumNames([1, 'KVM_DEV_VFIO_FILE']) });

/** _IOW(KVMIO, 0xe1, struct kvm_device_attr). */
export const KVM_SET_DEVICE_ATTR = kvmIoc(IOC_WRITE, 0xe1, KvmDeviceAttr.size);
/** _IOW(KVMIO, 0xe2, struct kvm_device_attr). */
export const KVM_GET_DEVICE_ATTR = kvmIoc(IOC_WRITE, 0xe2, KvmDeviceAttr.size);
/** _IOW(KVMIO, 0xe3, struct kvm_device_attr). */
export const KVM_HAS_DEVICE_ATTR = kvmIoc(IOC_WRITE, 0xe3, KvmDeviceAttr.size);

/** The kvm-vfio device's one attribute group (alias KVM_DEV_VFIO_GROUP). */
export const KVM_DEV_VFIO_FILE = 1;
/** attr: add the VFIO file (group or device) whose fd is the int32 at addr. */
export const KVM_DEV_VFIO_FILE_ADD = 1;
/** attr: remove it. */
export const KVM_DEV_VFIO_FILE_DEL = 2;
/** attr (sPAPR only): KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE. */
export const KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE = 3;

/**
 * The requests the shim forwards even on fds it does not own (its
 * IOMMUFD_EMU_FOREIGN): the server looks at each and either answers or lets
 * the real kernel have it.
 */
export const FOREIGN_IOCTLS: readonly number[] = [KVM_SET_DEVICE_ATTR];

/** Names of the KVM requests above, for traces. */
export const KVM_REQUEST_NAMES: ReadonlyMap<number, string> = new Map([
  [KVM_SET_DEVICE_ATTR, 'KVM_SET_DEVICE_ATTR'], [KVM_GET_DEVICE_ATTR, 'KVM_GET_DEVICE_ATTR'], [KVM_HAS_DEVICE_ATTR, 'KVM_HAS_DEVICE_ATTR'],
]);
