// KVM's kvm-vfio device, met on a client's real fd. Under `-accel kvm` a VMM
// creates a real kvm-vfio device (KVM_CREATE_DEVICE on its real VM fd) and
// hands it each VFIO file with KVM_SET_DEVICE_ATTR(KVM_DEV_VFIO_FILE,
// KVM_DEV_VFIO_FILE_ADD, addr → int32 fd). The real kernel takes only files
// VFIO owns: an emulated file is the shim's socket, and kvm_vfio_file_add
// refuses it (EINVAL), which stopped QEMU. So the shim forwards that request
// even on fds it does not own (proto.h, IEMU_OP_FOREIGN; the list of requests
// is FOREIGN_IOCTLS), and this module decides: a kvm-vfio device (what
// /proc/<pid>/fd/<n> reads for it) told of one of the client's own emulated
// VFIO files (its fd table says so, never the request) is answered here and
// recorded in a model of that VM's kvm-vfio device (kvm/vfio.ts), which keeps
// the file open as get_file does; everything else goes to the real kernel
// unchanged (a real VFIO file, a bad fd, another attribute, another device).
//
// A VM is known by its kvm-vfio device fd in the process that made it: KVM
// allows one kvm-vfio device per VM (EBUSY), and a device fd works only in
// its VM's mm (kvm_device_ioctl: EIO elsewhere). The model lives until the
// process image goes (exit, exec: the device fd is O_CLOEXEC), when
// kvm_vfio_release drops every file; a device fd closed earlier is not seen.
import { errnoName, isErrno } from '../uapi/errno.js';
import {
  FOREIGN_IOCTLS, KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD, KVM_DEV_VFIO_FILE_DEL, KVM_SET_DEVICE_ATTR, KVM_VFIO_DEVICE_LINK, KvmDeviceAttr,
} from '../uapi/kvm.js';
import type { EmulatedFile } from '../core/file.js';
import type { Engine } from '../core/engine.js';
import { CpuCache } from '../hw/cache.js';
import { KvmVm, kvmArchOf } from '../kvm/kvm.js';
import { vfioFileDevices } from '../kvm/vfio.js';

/** IOMMUFD_EMU_FOREIGN for the shim: the requests it forwards on any fd, in hex. */
export function foreignEnv(): string {
  return FOREIGN_IOCTLS.map((r) => `0x${r.toString(16)}`).join(':');
}

/** What the server needs of the client to look at one foreign call. */
export interface ForeignHost {
  readonly pid: number;
  /** What /proc/<pid>/fd/<fd> of the client reads (undefined: no such fd). */
  fdLink(fd: number): string | undefined;
  /** The client's memory (throws Errno EFAULT). */
  read(addr: bigint, len: number): Uint8Array;
  /** The client's fd `fd`: one of its emulated files, some other file, or none. */
  resolveFd(fd: number): { kind: 'emulated' | 'other' | 'bad'; file?: EmulatedFile; path?: string };
  /** Keep the file behind the client's fd `fd` open until the returned function runs (get_file/fput). */
  hold(fd: number): (() => void) | undefined;
  /** Words for the file (its path), for traces. */
  describe(file: EmulatedFile): string;
}

/** The answer to a foreign call: the real kernel's, or ours. */
export type ForeignAnswer =
  | { readonly kernel: true; readonly why: string }
  | { readonly kernel: false; readonly result: number; readonly trace: string };

/** One VM's kvm-vfio device, as far as emulated files go. */
interface VmEntry {
  readonly pid: number;
  /** Its device fd in that process. */
  readonly fd: number;
  readonly vm: KvmVm;
  /** The files it holds, each with what lets it go. */
  readonly holds: Map<EmulatedFile, (() => void) | undefined>;
}

const kernel = (why: string): ForeignAnswer => ({ kernel: true, why });

export class KvmVfioDevices {
  /** By owner (the server's record of a process image), then by device fd. */
  private readonly byOwner = new Map<object, Map<number, VmEntry>>();

  constructor(private readonly engine: Engine) {}

  /** The VMs known, for reports. */
  get vms(): VmEntry[] {
    return [...this.byOwner.values()].flatMap((m) => [...m.values()]);
  }

  /**
   * A forwarded ioctl `request` on fd `fd` of the process `owner` stands for,
   * with `arg`: answered here or left to the kernel. Never throws.
   */
  ioctl(owner: object, host: ForeignHost, fd: number, request: number, arg: bigint): ForeignAnswer {
    try {
      return this.call(owner, host, fd, request, arg);
    } catch (e) {
      // A fault reading the client, a process that went: the kernel says the same.
      return kernel(isErrno(e) ? e.message : String(e));
    }
  }

  private call(owner: object, host: ForeignHost, fd: number, request: number, arg: bigint): ForeignAnswer {
    if (request !== KVM_SET_DEVICE_ATTR) return kernel('not a kvm-vfio request');
    const link = host.fdLink(fd);
    if (link !== KVM_VFIO_DEVICE_LINK) return kernel(`fd ${fd} is ${link ?? 'not open'}`);
    // kvm_device_ioctl_attr copies the struct, kvm_vfio_set_file reads the int32 at addr.
    const a = KvmDeviceAttr.decode(host.read(arg, KvmDeviceAttr.size));
    if (a.group !== KVM_DEV_VFIO_FILE || (a.attr !== BigInt(KVM_DEV_VFIO_FILE_ADD) && a.attr !== BigInt(KVM_DEV_VFIO_FILE_DEL))) {
      return kernel(`group ${a.group} attr ${a.attr}`);
    }
    const b = host.read(a.addr, 4);
    const fileFd = new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
    const r = host.resolveFd(fileFd);
    // A real file (VFIO's own or not) or no file: the kernel's answer is the answer.
    if (r.kind !== 'emulated' || !r.file) return kernel(`fd ${fileFd} is ${r.kind === 'bad' ? 'not open' : 'not emulated'}`);
    const file = r.file;
    const add = a.attr === BigInt(KVM_DEV_VFIO_FILE_ADD);
    const what = `KVM_SET_DEVICE_ATTR(${fd}<${link}>, {group=KVM_DEV_VFIO_FILE, attr=${add ? 'KVM_DEV_VFIO_FILE_ADD' : 'KVM_DEV_VFIO_FILE_DEL'}, addr=[${fileFd}<${host.describe(file)}>]})`;
    const e = this.entry(owner, host.pid, fd);
    let result = 0;
    try {
      if (add) {
        // kvm_vfio_file_add: EINVAL for a file VFIO does not own, EEXIST for one added.
        e.vm.addVfioFile(file);
        e.holds.set(file, host.hold(fileFd));
      } else {
        e.vm.removeVfioFile(file);
        const release = e.holds.get(file);
        e.holds.delete(file);
        release?.();
      }
    } catch (err) {
      if (!isErrno(err)) throw err;
      result = -err.code;
    }
    const res = result < 0 ? `-1 ${errnoName(-result)}` : `0 {${this.vmNote(e)}}`;
    return { kernel: false, result, trace: `${what} = ${res}` };
  }

  private entry(owner: object, pid: number, fd: number): VmEntry {
    let m = this.byOwner.get(owner);
    if (!m) this.byOwner.set(owner, (m = new Map()));
    let e = m.get(fd);
    if (!e) {
      const vm = new KvmVm(new CpuCache(this.engine.memory), kvmArchOf(this.engine.platform));
      vm.createVfioDevice();
      e = { pid, fd, vm, holds: new Map() };
      m.set(fd, e);
    }
    return e;
  }

  /** Whether a VM of `owner` holds a VFIO file of the device(s) behind `file` (its cdev, a device fd of its group, its group). */
  told(owner: object, file: EmulatedFile): boolean {
    const m = this.byOwner.get(owner);
    if (!m) return false;
    const devices = vfioFileDevices(file);
    if (!devices.length) return false;
    for (const e of m.values()) {
      if (e.vm.vfioDevice.fileList.some((f) => vfioFileDevices(f).some((d) => devices.includes(d)))) return true;
    }
    return false;
  }

  /** The process image `owner` stands for is gone: kvm_vfio_release of each of its devices. */
  dropOwner(owner: object): void {
    const m = this.byOwner.get(owner);
    if (!m) return;
    this.byOwner.delete(owner);
    for (const e of m.values()) {
      e.vm.release();
      for (const release of e.holds.values()) release?.();
      e.holds.clear();
    }
  }

  /** Let go of everything (the server closes). */
  clear(): void {
    for (const owner of [...this.byOwner.keys()]) this.dropOwner(owner);
  }

  /** What a VM's KVM now believes about non-coherent DMA. */
  private vmNote(e: VmEntry): string {
    const files = e.vm.vfioDevice.fileList.length;
    if (e.vm.arch !== 'x86') return `${files} VFIO file(s); KVM (arm64) tracks no non-coherent DMA`;
    return `${files} VFIO file(s); ${e.vm.hasNoncoherentDma
      ? 'non-coherent DMA registered: guest WBINVD is honoured'
      : 'no non-coherent DMA: guest WBINVD is a no-op'}`;
  }

  /**
   * What KVM knows of device vfio<n>: which VMs' kvm-vfio devices hold a
   * file of it (its cdev, a device fd of its group, its group), and what
   * each VM believes.
   */
  noteFor(vfio: number): string {
    const told = this.vms.filter((e) => e.vm.vfioDevice.fileList.some((f) => vfioFileDevices(f).some((d) => d.index === vfio)));
    if (!told.length) return KVM_VFIO_NOT_TOLD;
    return `kvm-vfio: told (${told.map((e) => `the VM of pid ${e.pid}: ${this.vmNote(e)}`).join('; ')})`;
  }
}

/** What the server says of KVM for a device no kvm-vfio device holds. */
export const KVM_VFIO_NOT_TOLD = 'kvm-vfio: not told (no KVM VM was handed this device\'s file: KVM_DEV_VFIO_FILE_ADD)';
