// VFIO device cdevs (/dev/vfio/devices/vfioN) of PCI functions bound to
// vfio-pci: drivers/vfio/device_cdev.c (bind to an iommufd, attach / detach
// a page table), the iommufd "physical device" glue of drivers/vfio/iommufd.c,
// and the vfio-pci ioctls a client meets first (VFIO_DEVICE_GET_INFO).
//
// A VfioDevice is the registered struct vfio_device, shared by every open
// of its cdev and of its group; a VfioDeviceFile is one open (struct
// vfio_device_file). Only BIND works on a cdev file before it is bound; every
// other ioctl is EINVAL until then. A file made by VFIO_GROUP_GET_DEVICE_FD
// (vfio-group.ts) is open from the start. The device is bound to an iommufd
// at its first open and unbound at its last close: PASID and plain
// attachments are detached and the DEVICE object goes away.
import { formatStruct, showField, symbolic } from '../uapi/struct.js';
import { Errno, EBADF, EBADFD, EFAULT, EINVAL, EIO, ENODEV, ENOSPC, ENOTTY } from '../uapi/errno.js';
import * as V from '../uapi/vfio.js';
import type { EmulatedFile, IoctlTrace, MmapRegion } from './file.js';
import { vfioPciMmap } from './vfio-pci-mmap.js';
import type { Task } from './task.js';
import { copyStructFromUser } from './uaccess.js';
import { IommufdCtx } from './iommufd.js';
import { deviceAttach, deviceBind, deviceDetach, deviceReplace, deviceUnbind, type IommufdDevice } from './device.js';
import type { PciFunction, PciFunctionModel } from '../hw/pci.js';
import { VfioPciConfig } from './vfio-pci-config.js';
import type { VfioGroup } from './vfio-group.js';
import { vfioCompatIoasGetId } from './vfio-compat.js';
import { VfioPciIntrs } from './vfio-pci-intrs.js';
import { VfioPciIoeventfds } from './vfio-pci-ioeventfd.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_STD_HEADER_SIZEOF } from '../uapi/pci-regs.js';
import type { VfioPciInfo } from '../hw/pci.js';
import { withTask } from './faults.js';

/** IOMMU_NO_PASID: PASID 0 means "the device's requests without a PASID". */
const IOMMU_NO_PASID = 0;
const VFIO_REGION_INFO_CAP_MSIX_MAPPABLE = 3;
/** struct vfio_device_feature.flags: the feature number and the operation bits. */
const FEATURE_MASK = V.VFIO_DEVICE_FEATURE_MASK, FEATURE_SET = V.VFIO_DEVICE_FEATURE_SET, FEATURE_GET = V.VFIO_DEVICE_FEATURE_GET,
  FEATURE_PROBE = V.VFIO_DEVICE_FEATURE_PROBE;
/** Chunk size for checking that bytes past a struct are zero. */

/** A PCI function vfio-pci drives: its device model, and what vfio-pci reports about it. */
export type VfioPciFunction = PciFunction & { readonly vfio: VfioPciInfo; readonly model: PciFunctionModel };

/** struct vfio_device of a vfio-pci function: registered once, opened through its cdev. */
export class VfioDevice {
  /** device->open_count: a cdev bind (one at a time) or the group's device files. */
  openCount = 0;
  /** device->group: set when the engine registers the device. */
  group!: VfioGroup;
  /** vdev->iommufd_device while bound. */
  idev: IommufdDevice | undefined;
  /** vdev->iommufd_attached: attached without a PASID through VFIO_DEVICE_ATTACH_IOMMUFD_PT. */
  iommufdAttached = false;
  /** vdev->pasids: PASIDs attached with VFIO_DEVICE_ATTACH_PASID. */
  readonly pasids = new Set<number>();
  /** The config-space state of vfio_pci_core_device while the device is open (vconfig and friends). */
  config: VfioPciConfig | undefined;
  /** Its interrupts (SET_IRQS state) while the device is open. */
  intrs: VfioPciIntrs | undefined;
  /** Its VFIO_DEVICE_IOEVENTFD registrations while the device is open. */
  ioeventfds: VfioPciIoeventfds | undefined;
  /** pci_save_state at open: the header the PCI core puts back at close. */
  private savedHeader: Uint8Array | undefined;

  constructor(readonly pci: VfioPciFunction, readonly index: number) {}

  /**
   * vfio_pci_core_enable: bus mastering off (pci_clear_master), reset the
   * function (pci_try_reset_function), save its state, and build the
   * virtual config space from it.
   */
  enable(): void {
    const model = this.pci.model;
    model.config.write(PCI_COMMAND, 2, model.config.read(PCI_COMMAND, 2) & ~PCI_COMMAND_MASTER);
    if (this.pci.vfio.resetWorks) model.resetFunction();
    this.savedHeader = model.config.bytes.slice(0, PCI_STD_HEADER_SIZEOF);
    const config = new VfioPciConfig(model);
    this.config = config;
    const irqs = this.pci.vfio.irqs;
    const intrs = new VfioPciIntrs({
      irqCount: (i) => irqs[i]?.count ?? 0,
      hasIrq: (irqs[V.VFIO_PCI_INTX_IRQ_INDEX]?.count ?? 0) > 0,
      isPcie: (irqs[V.VFIO_PCI_ERR_IRQ_INDEX]?.count ?? 0) > 0,
    }, config);
    this.intrs = intrs;
    model.irqSink = {
      setIntx: (level) => intrs.setIntx(level),
      msi: (vector, msix) => intrs.raiseMsi(vector, msix),
      msixPending: (vector) => intrs.msixIsPending(vector),
      msixClearPending: (vector) => intrs.msixClearPending(vector),
    };
    this.ioeventfds = new VfioPciIoeventfds(model, () => config.msixTable(), () => config.memoryEnabled);
  }

  /** vfio_pci_core_disable: reset, then the saved header back (pci_restore_state). */
  disable(): void {
    const model = this.pci.model;
    // vfio_pci_core_disable: interrupts off and their eventfds released first.
    this.intrs?.teardown();
    this.intrs = undefined;
    this.ioeventfds?.teardown();
    this.ioeventfds = undefined;
    model.irqSink = undefined;
    if (this.pci.vfio.resetWorks) model.resetFunction();
    if (this.savedHeader) model.config.bytes.set(this.savedHeader, 0);
    this.savedHeader = undefined;
    this.config = undefined;
  }

  /** The cdev's path. */
  get path(): string { return `/dev/vfio/devices/vfio${this.index}`; }

  /**
   * vfio_df_open: the first open binds to `ictx` and enables the function
   * (vfio_df_device_first_open, vfio_pci_core_enable). Only group files may
   * open a device that is open already (EINVAL for a cdev).
   */
  open(ictx: IommufdCtx, viaGroup: boolean): void {
    if (this.openCount !== 0 && !viaGroup) throw new Errno(EINVAL, 'the device is open through another file');
    this.openCount++;
    if (this.openCount !== 1) return;
    try {
      this.idev = deviceBind(ictx, this.pci);
    } catch (e) {
      this.openCount--;
      throw e;
    }
    this.enable();
  }

  /** vfio_df_close: the last close disables the function and unbinds. */
  close(): void {
    if (this.openCount === 0) return;
    if (this.openCount === 1) this.unbindIommufd();
    this.openCount--;
  }

  /** vfio_iommufd_physical_unbind. */
  unbindIommufd(): void {
    const idev = this.idev;
    if (!idev) return;
    // The context may already be gone (the emulator does not keep a closed
    // iommufd alive for its devices the way the kernel's file reference does).
    const live = idev.ctx.objects.peek(idev.id) === idev;
    if (live) {
      for (const pasid of [...this.pasids].sort((a, b) => a - b)) { deviceDetach(idev, pasid); this.pasids.delete(pasid); }
      if (this.iommufdAttached) deviceDetach(idev);
      deviceUnbind(idev);
    }
    this.pasids.clear();
    this.iommufdAttached = false;
    this.idev = undefined;
    this.disable();
  }
}


/** One open of a VFIO device cdev (struct vfio_device_file). */
export class VfioDeviceFile implements EmulatedFile {
  readonly kind = 'vfio-device';
  /** vfio_device_fops has a pread mode: regions are addressed by file offset. */
  readonly positional = true;
  /** df->access_granted: bound. */
  private accessGranted = false;
  private ictx: IommufdCtx | undefined;
  /** df->devid: the DEVICE object ID in the bound iommufd. */
  devid = 0;

  /** `group`: df->group, for files VFIO_GROUP_GET_DEVICE_FD makes. */
  constructor(readonly device: VfioDevice, readonly group?: VfioGroup) {}

  /**
   * vfio_df_group_open: open the device through its group, bound to the
   * group's iommufd (EINVAL without a container); the first open attaches
   * it to the compat IOAS (ENODEV without one).
   */
  groupOpen(): void {
    const ictx = this.group!.iommufd;
    if (!ictx) throw new Errno(EINVAL, 'the group has no container');
    const vdev = this.device;
    vdev.open(ictx, true);
    if (vdev.openCount === 1) {
      try {
        deviceAttach(vdev.idev!, vfioCompatIoasGetId(ictx));
        vdev.iommufdAttached = true;
      } catch (e) {
        vdev.close();
        throw e;
      }
    }
    this.ictx = ictx;
    this.accessGranted = true;
  }

  /** vfio_device_fops_unl_ioctl, run as `task` (its fault injection is the current one). */
  ioctl(task: Task, request: number, arg: bigint, trace?: IoctlTrace): number {
    return withTask(task, () => this.dispatchIoctl(task, request, arg, trace));
  }

  private dispatchIoctl(task: Task, request: number, arg: bigint, trace?: IoctlTrace): number {
    if (trace) trace.name = vfioDeviceIoctlName(request);
    if (request === V.VFIO_DEVICE_BIND_IOMMUFD) return this.bindIommufd(task, arg, trace);
    if (!this.accessGranted) throw new Errno(EINVAL, 'the device file is not bound to an iommufd');
    // The cdev-only ioctls; a group's device file passes them to vfio-pci (ENOTTY).
    if (!this.group) {
      if (request === V.VFIO_DEVICE_ATTACH_IOMMUFD_PT) return this.attachPt(task, arg, trace);
      if (request === V.VFIO_DEVICE_DETACH_IOMMUFD_PT) return this.detachPt(task, arg, trace);
    }
    switch (request) {
      case V.VFIO_DEVICE_GET_REGION_INFO: return this.getRegionInfo(task, arg, trace);
      case V.VFIO_DEVICE_FEATURE: return this.feature(task, arg, trace);
      default: return this.pciIoctl(task, request, arg, trace);
    }
  }

  /** vfio_df_ioctl_bind_iommufd. */
  private bindIommufd(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const minsz = V.VfioDeviceBindIommufd.end('out_devid');
    const argsz = u32At(task.mm.read(arg, 4), 0);
    if (argsz < minsz) throw new Errno(EINVAL, `argsz ${argsz} < ${minsz}`);
    const c = V.VfioDeviceBindIommufd.decode(copyStructFromUser(task, arg, argsz, V.VfioDeviceBindIommufd.size));
    if (trace) trace.args = `argsz=${argsz} flags=${showField(V.VfioDeviceBindIommufd, 'flags', c.flags)} iommufd=${c.iommufd}`;
    if (c.iommufd < 0 || (c.flags & ~V.VFIO_DEVICE_BIND_FLAG_TOKEN)) throw new Errno(EINVAL, 'iommufd or flags');
    // BIND is for cdev files only.
    if (this.group) throw new Errno(EINVAL, 'a device file of a group');
    const vdev = this.device;
    // vfio_device_block_group: EBUSY while the group is open; held while bound.
    vdev.group.blockGroup();
    let idev: IommufdDevice;
    try {
      if (this.accessGranted) throw new Errno(EINVAL, 'already bound');
      // vfio_df_check_token: vfio-pci matches VF tokens; a function that is
      // neither a PF with VFs nor a VF takes no token (EINVAL when one is given).
      if (c.flags & V.VFIO_DEVICE_BIND_FLAG_TOKEN) {
        task.mm.read(c.token_uuid_ptr, 16);
        throw new Errno(EINVAL, 'a VF token for a function that is neither a PF nor a VF');
      }
      const ictx = iommufdCtxFromFd(task, c.iommufd);
      // vfio_df_open: a cdev may have the device open only once.
      vdev.open(ictx, false);
      idev = vdev.idev!;
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, idev.id, true);
      try {
        task.mm.write(arg + BigInt(V.VfioDeviceBindIommufd.fields.out_devid.off), out);
      } catch (e) {
        vdev.close();
        throw e;
      }
      this.ictx = ictx;
    } catch (e) {
      vdev.group.unblockGroup();
      throw e;
    }
    this.devid = idev.id;
    this.accessGranted = true;
    if (trace) trace.out = `out_devid=${idev.id}`;
    return 0;
  }

  /** vfio_df_ioctl_attach_pt. */
  private attachPt(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const S = V.VfioDeviceAttachIommufdPt;
    const minsz = S.end('pt_id');
    const head = task.mm.read(arg, minsz);
    const argsz = u32At(head, 0), flags = u32At(head, 4);
    let ptId = u32At(head, 8), pasid = IOMMU_NO_PASID;
    if (trace) trace.args = `argsz=${argsz} flags=${showField(S, 'flags', flags)} pt_id=${ptId}`;
    if (argsz < minsz) throw new Errno(EINVAL, `argsz ${argsz} < ${minsz}`);
    if (flags & ~V.VFIO_DEVICE_ATTACH_PASID) throw new Errno(EINVAL, 'flags');
    const withPasid = (flags & V.VFIO_DEVICE_ATTACH_PASID) !== 0;
    if (withPasid) {
      if (argsz < S.end('pasid')) throw new Errno(EINVAL, 'argsz too small for pasid');
      pasid = u32At(task.mm.read(arg + BigInt(minsz), 4), 0);
      if (trace) trace.args += ` pasid=${pasid}`;
    }
    const vdev = this.device;
    const idev = vdev.idev!;
    if (withPasid) {
      ptId = this.pasidAttach(idev, pasid, ptId);
    } else {
      ptId = vdev.iommufdAttached ? deviceReplace(idev, ptId) : deviceAttach(idev, ptId);
      vdev.iommufdAttached = true;
    }
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, ptId, true);
    try {
      task.mm.write(arg + BigInt(S.fields.pt_id.off), out);
    } catch (e) {
      // The kernel undoes a failed copy-out with a plain detach.
      if (vdev.iommufdAttached) { deviceDetach(idev); vdev.iommufdAttached = false; }
      throw e;
    }
    if (trace) trace.out = `pt_id=${ptId}`;
    return 0;
  }

  /**
   * vfio_iommufd_physical_pasid_attach_ioas: a PASID VFIO already attached is
   * replaced, any other attached. PASID 0 is IOMMU_NO_PASID, the same
   * attachment as without the flag (tracked by VFIO as a PASID). Measured on
   * the e1000e (no PASID capability): an IOAS (its automatic HWPT is never
   * PASID-capable) and a HWPT without IOMMU_HWPT_ALLOC_PASID are EINVAL, a
   * PASID-capable HWPT attaches.
   */
  private pasidAttach(idev: IommufdDevice, pasid: number, ptId: number): number {
    const vdev = this.device;
    if (vdev.pasids.has(pasid)) return deviceReplace(idev, ptId, pasid);
    // ida_alloc_range(pasid, pasid): the IDA holds non-negative ints only.
    if (pasid > 0x7fffffff) throw new Errno(ENOSPC, 'PASID past INT_MAX');
    vdev.pasids.add(pasid);
    try {
      return deviceAttach(idev, ptId, pasid);
    } catch (e) {
      vdev.pasids.delete(pasid);
      throw e;
    }
  }

  /** vfio_df_ioctl_detach_pt: 0 whenever the arguments are valid. */
  private detachPt(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const S = V.VfioDeviceDetachIommufdPt;
    const minsz = S.end('flags');
    const head = task.mm.read(arg, minsz);
    const argsz = u32At(head, 0), flags = u32At(head, 4);
    if (trace) trace.args = `argsz=${argsz} flags=${showField(S, 'flags', flags)}`;
    if (argsz < minsz) throw new Errno(EINVAL, `argsz ${argsz} < ${minsz}`);
    if (flags & ~V.VFIO_DEVICE_DETACH_PASID) throw new Errno(EINVAL, 'flags');
    const vdev = this.device;
    const idev = vdev.idev!;
    if (flags & V.VFIO_DEVICE_DETACH_PASID) {
      if (argsz < S.end('pasid')) throw new Errno(EINVAL, 'argsz too small for pasid');
      const pasid = u32At(task.mm.read(arg + BigInt(minsz), 4), 0);
      if (trace) trace.args += ` pasid=${pasid}`;
      if (!vdev.pasids.has(pasid)) return 0;
      deviceDetach(idev, pasid);
      vdev.pasids.delete(pasid);
      return 0;
    }
    if (!vdev.iommufdAttached) return 0;
    deviceDetach(idev);
    vdev.iommufdAttached = false;
    return 0;
  }

  /**
   * vfio_ioctl_device_feature: the header rules; then no feature answers
   * (vfio-pci has no migration or dirty-logging ops: ENOTTY, measured; its
   * own low-power and DMA-buf features are not emulated yet: ENOTTY too).
   */
  private feature(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const head = task.mm.read(arg, 8);
    const argsz = u32At(head, 0), flags = u32At(head, 4);
    if (trace) {
      const act = flags & ~FEATURE_MASK, index = flags & FEATURE_MASK;
      trace.args = `argsz=${argsz} flags=${act ? `${symbolic(V.VFIO_DEVICE_FEATURE_ACTIONS, act)}|` : ''}${symbolic(V.VFIO_DEVICE_FEATURE_NAMES, index)}`;
    }
    if (argsz < 8) throw new Errno(EINVAL, `argsz ${argsz} < 8`);
    if (flags & ~(FEATURE_MASK | FEATURE_SET | FEATURE_GET | FEATURE_PROBE)) throw new Errno(EINVAL, 'flags');
    if (!(flags & FEATURE_PROBE) && (flags & FEATURE_SET) && (flags & FEATURE_GET)) throw new Errno(EINVAL, 'GET and SET');
    throw new Errno(ENOTTY, `feature ${flags & FEATURE_MASK} is not available`);
  }

  /** vfio_pci_core_ioctl: the ioctls of the PCI bus driver. */
  private pciIoctl(task: Task, request: number, arg: bigint, trace?: IoctlTrace): number {
    switch (request) {
      case V.VFIO_DEVICE_GET_INFO: return this.getInfo(task, arg, trace);
      case V.VFIO_DEVICE_GET_IRQ_INFO: return this.getIrqInfo(task, arg, trace);
      case V.VFIO_DEVICE_RESET:
        // vfio_pci_ioctl_reset: EINVAL without a reset method. The PCI core
        // saves config space before the reset and restores it after, and
        // vconfig is vfio's own: the user sees the same config space
        // (measured); only the device's own state is reset.
        if (!this.device.pci.vfio.resetWorks) throw new Errno(EINVAL, 'no reset method');
        this.device.pci.model.resetFunction();
        return 0;
      case V.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: return this.hotResetInfo(task, arg, trace);
      case V.VFIO_DEVICE_SET_IRQS: return this.device.intrs!.setIrqs(task, arg, trace);
      case V.VFIO_DEVICE_PCI_HOT_RESET: return this.hotReset(task, arg, trace);
      case V.VFIO_DEVICE_IOEVENTFD: return this.device.ioeventfds!.ioctl(task, arg, trace);
      default:
        throw new Errno(ENOTTY, 'not a vfio-pci ioctl');
    }
  }

  /**
   * vfio_pci_ioctl_get_pci_hot_reset_info: neither a slot reset nor a bus
   * reset can be done for a function on a root bus (no bridge to reset),
   * which is where every modelled function sits: ENODEV (measured on both
   * e1000e), after the header's argsz check.
   */
  private hotResetInfo(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const S = V.VfioPciHotResetInfo;
    const hdr = S.decode(task.mm.read(arg, S.size));
    if (trace) trace.args = `argsz=${hdr.argsz}`;
    if (hdr.argsz < S.size) throw new Errno(EINVAL, `argsz ${hdr.argsz} < ${S.size}`);
    throw new Errno(ENODEV, `${this.device.pci.name} is on a root bus: no slot or bus reset`);
  }

  /**
   * vfio_pci_ioctl_pci_hot_reset: the header (no flags; a cdev's file gives
   * no group fds, a group's device file at least one), then, as for the
   * info query, no slot or bus reset on the root bus: ENODEV (measured).
   */
  private hotReset(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const S = V.VfioPciHotReset;
    const h = S.decode(task.mm.read(arg, S.size));
    if (trace) {
      trace.args = `argsz=${h.argsz} flags=${showField(S, 'flags', h.flags)} count=${h.count}`;
      // group_fds[] behind the header, up to the trace's -s.
      const n = Math.min(h.count, trace.strsize ?? 32, Math.max(0, Math.floor((h.argsz - S.size) / 4)));
      if (n) {
        try {
          const b = task.mm.read(arg + BigInt(S.size), 4 * n);
          const fds = Array.from({ length: n }, (_, i) => new DataView(b.buffer, b.byteOffset).getInt32(4 * i, true));
          trace.args += ` group_fds=[${fds.join(',')}${h.count > n ? ',...' : ''}]`;
        } catch { trace.args += ' group_fds=/* unreadable */'; }
      }
    }
    if (h.argsz < S.size || h.flags) throw new Errno(EINVAL, 'argsz or flags');
    if ((h.count !== 0) === !this.group) throw new Errno(EINVAL, this.group ? 'a group\'s device file needs group fds' : 'a cdev takes no group fds');
    throw new Errno(ENODEV, `${this.device.pci.name} is on a root bus: no slot or bus reset`);
  }

  /** vfio_pci_core_read / vfio_pci_core_write: the regions through the file offset. */
  read(task: Task, buf: bigint, len: number, pos: bigint, trace?: IoctlTrace, viaMapping?: boolean): number {
    if (trace) traceRegion(trace, viaMapping ? 'load' : 'read', pos, len);
    const data = this.regionRw(pos, len, undefined, viaMapping);
    task.mm.write(buf, data);
    return data.length;
  }

  write(task: Task, buf: bigint, len: number, pos: bigint, trace?: IoctlTrace, viaMapping?: boolean): number {
    if (trace) traceRegion(trace, viaMapping ? 'store' : 'write', pos, len);
    if (!this.accessGranted) throw new Errno(EINVAL, 'the device file is not bound to an iommufd');
    if (len === 0) return 0;
    // The bytes are copied in once the region has decided how many it takes.
    return this.regionRw(pos, len, (n) => task.mm.read(buf, n), viaMapping).length;
  }

  /** vfio_device_fops_mmap: EINVAL until bound; then vfio-pci's rules (vfio-pci-mmap.ts). */
  mmap(_task: Task, offset: bigint, length: bigint, _prot: number, flags: number): MmapRegion {
    if (!this.accessGranted) throw new Errno(EINVAL, 'the device file is not bound to an iommufd');
    return vfioPciMmap(this.device.pci.vfio, this.device.pci.model, offset, length, flags);
  }

  /** vfio_pci_rw: the region is the offset's top bits. */
  private regionRw(pos: bigint, len: number, from?: (n: number) => Uint8Array, viaMapping = false): Uint8Array {
    if (!this.accessGranted) throw new Errno(EINVAL, 'the device file is not bound to an iommufd');
    if (len === 0) return new Uint8Array(0);
    const info = this.device.pci.vfio;
    const index = Number(pos >> V.VFIO_PCI_OFFSET_SHIFT);
    const off = pos & V.VFIO_PCI_OFFSET_MASK;
    if (index >= info.numRegions) throw new Errno(EINVAL, `no region ${index}`);
    const cfg = this.device.config!;
    if (index === V.VFIO_PCI_CONFIG_REGION_INDEX) {
      // Offsets past 4 GiB are past the end too (EFAULT).
      const o = off > 0xffffffffn ? Number.MAX_SAFE_INTEGER : Number(off);
      if (o + len > cfg.vconfig.length) throw new Errno(EFAULT, `config access 0x${o.toString(16)}+${len} past the end`);
      const data = from?.(len);
      const virqDisabled = cfg.virqDisabled;
      const out = cfg.rw(o, len, data);
      // INTx disable in the command register masks or unmasks INTx (vfio_basic_config_write).
      if (cfg.virqDisabled !== virqDisabled) {
        if (cfg.virqDisabled) this.device.intrs?.intxMask(); else this.device.intrs?.intxUnmask();
      }
      return data ?? out;
    }
    if (index === V.VFIO_PCI_ROM_REGION_INDEX) {
      if (from) throw new Errno(EINVAL, 'the ROM region is read-only');
      return this.barRw(cfg, index, off, len);
    }
    if (index <= V.VFIO_PCI_BAR5_REGION_INDEX) return this.barRw(cfg, index, off, len, from, viaMapping);
    // VGA (no VGA function) and device-specific regions (none).
    throw new Errno(EINVAL, `region ${index} has no read/write`);
  }

  /**
   * vfio_pci_bar_rw and vfio_pci_core_do_io_rw: within the BAR (a count
   * past the end is cut short), in the widest aligned accesses up to 8
   * bytes (4 for the ROM); the MSI-X table reads as all-ones and drops
   * writes (not for a mapping's loads and stores: `viaMapping`); memory BARs answer EIO while memory decoding is off (the virtual
   * command register) or the function is in D3hot.
   */
  private barRw(cfg: VfioPciConfig, bar: number, off: bigint, len: number, from?: (n: number) => Uint8Array, viaMapping = false): Uint8Array {
    const model = this.device.pci.model;
    const r = model.resources[bar];
    if (!r || !r.start) throw new Errno(EINVAL, `BAR ${bar} is not implemented`);
    if (off >= r.length) throw new Errno(EINVAL, `offset 0x${off.toString(16)} past BAR ${bar}`);
    let pos = Number(off);
    const count = Math.min(len, Number(r.length - off));
    let xStart = 0, xEnd = 0;
    // A mapping reaches the MSI-X table itself (vfio-pci lets the table's BAR
    // be mapped whole: VFIO_REGION_INFO_CAP_MSIX_MAPPABLE; measured).
    const msix = viaMapping ? undefined : cfg.msixTable();
    if (msix && msix.bar === bar) { xStart = msix.offset; xEnd = msix.offset + msix.size; }
    const maxWidth = bar === V.VFIO_PCI_ROM_REGION_INDEX ? 4 : 8;
    const data = from?.(count);
    const out = data ?? new Uint8Array(count);
    let done = 0;
    while (done < count) {
      const left = count - done;
      const fillable = pos < xStart ? Math.min(left, xStart - pos) : pos >= xEnd ? left : 0;
      let width = 0;
      for (const w of [8, 4, 2, 1]) if (w <= maxWidth && fillable >= w && pos % w === 0) { width = w; break; }
      if (!width) {
        const n = Math.min(left, xEnd - pos);
        if (!data) out.fill(0xff, done, done + n);
        done += n; pos += n;
        continue;
      }
      if (!r.io && !cfg.memoryEnabled) throw new Errno(EIO, `BAR ${bar}: memory decoding is disabled`);
      if (data) {
        let v = 0n;
        for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[done + i]!);
        model.barWrite(bar, pos, width, v);
      } else {
        const v = model.barRead(bar, pos, width);
        for (let i = 0; i < width; i++) out[done + i] = Number((v >> BigInt(8 * i)) & 0xffn);
      }
      done += width; pos += width;
    }
    return data ? data.subarray(0, count) : out;
  }

  /** vfio_pci_ioctl_get_info: no capabilities (no zPCI, no AtomicOps completer) on this machine. */
  private getInfo(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const S = V.VfioDeviceInfo;
    const minsz = S.end('num_irqs');
    const argsz = u32At(task.mm.read(arg, minsz), 0);
    if (trace) trace.args = `argsz=${argsz}`;
    if (argsz < minsz) throw new Errno(EINVAL, `argsz ${argsz} < ${minsz}`);
    const info = this.device.pci.vfio;
    const flags = V.VFIO_DEVICE_FLAGS_PCI | (info.resetWorks ? V.VFIO_DEVICE_FLAGS_RESET : 0);
    const out = S.encode({ argsz, flags, num_regions: info.numRegions, num_irqs: info.numIrqs, cap_offset: 0, pad: 0 });
    task.mm.write(arg, out.subarray(0, Math.min(argsz, S.size)));
    if (trace) trace.out = formatStruct(S, S.decode(out), ['flags', 'num_regions', 'num_irqs']);
    return 0;
  }

  /** vfio_get_region_info with vfio-pci's regions: the fixed 32 bytes always go back; capabilities where they fit. */
  private getRegionInfo(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const S = V.VfioRegionInfo;
    const minsz = S.end('offset');
    const c = S.decode(task.mm.read(arg, minsz));
    if (trace) trace.args = `argsz=${c.argsz} index=${c.index}`;
    if (c.argsz < minsz) throw new Errno(EINVAL, `argsz ${c.argsz} < ${minsz}`);
    const info = this.device.pci.vfio;
    const r = c.index < info.numRegions ? info.regions[c.index] : undefined;
    if (!r) throw new Errno(EINVAL, `no region ${c.index}`);
    // cap_offset goes back as the caller gave it unless there are capabilities.
    let flags = r.flags, argsz = c.argsz, capOffset = c.cap_offset;
    if (r.msixMappable) {
      // One capability: struct vfio_info_cap_header { id 3 (MSIX_MAPPABLE), version 1, next 0 }.
      const cap = V.VfioInfoCapHeader.encode({ id: VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, version: 1, next: 0 });
      flags |= V.VFIO_REGION_INFO_FLAG_CAPS;
      if (c.argsz < S.size + cap.length) {
        argsz = S.size + cap.length;
        capOffset = 0;
      } else {
        task.mm.write(arg + BigInt(S.size), cap);
        capOffset = S.size;
      }
    }
    const offset = BigInt(c.index) << V.VFIO_PCI_OFFSET_SHIFT;
    const back = { argsz, flags, index: c.index, cap_offset: capOffset, size: r.size, offset };
    task.mm.write(arg, S.encode(back));
    if (trace) {
      trace.out = formatStruct(S, back, ['flags', 'cap_offset', 'size', 'offset']);
      if (argsz !== c.argsz) trace.out += ` argsz=${argsz}`;
    }
    return 0;
  }

  /** vfio_pci_ioctl_get_irq_info. */
  private getIrqInfo(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const S = V.VfioIrqInfo;
    const c = S.decode(task.mm.read(arg, S.size));
    if (trace) trace.args = `argsz=${c.argsz} index=${c.index}`;
    const info = this.device.pci.vfio;
    const irq = c.index < info.numIrqs ? info.irqs[c.index] : undefined;
    if (c.argsz < S.size || !irq) throw new Errno(EINVAL, 'argsz or index');
    task.mm.write(arg, S.encode({ argsz: c.argsz, flags: irq.flags, index: c.index, count: irq.count }));
    if (trace) trace.out = formatStruct(S, { flags: irq.flags, count: irq.count }, ['flags', 'count']);
    return 0;
  }

  /** vfio_device_fops_release: an open file closes the device (a bound cdev file unbinds and unblocks its group). */
  /** get_file holds (IOAS_MAP_FILE of this file): the release waits for them. */
  private holds = 0;
  private closedWhileHeld = false;

  hold(): void { this.holds++; }

  unhold(): void {
    if (--this.holds === 0 && this.closedWhileHeld) {
      this.closedWhileHeld = false;
      this.release();
    }
  }

  release(): void {
    if (this.holds > 0) { this.closedWhileHeld = true; return; }
    if (!this.accessGranted) return;
    this.accessGranted = false;
    const vdev = this.device;
    vdev.close();
    if (!this.group) vdev.group.unblockGroup();
    this.ictx = undefined;
  }

  /** The iommufd this file is bound to, if any. */
  get iommufd(): IommufdCtx | undefined { return this.ictx; }
}

/** iommufd_ctx_from_fd: EBADF for no such fd, EBADFD for a file that is not an iommufd. */
function iommufdCtxFromFd(task: Task, fd: number): IommufdCtx {
  const r = task.resolveFd?.(fd) ?? { kind: 'bad' as const };
  if (r.kind === 'bad') throw new Errno(EBADF, `fd ${fd} is not open`);
  if (r.kind !== 'emulated' || !(r.file instanceof IommufdCtx)) throw new Errno(EBADFD, `fd ${fd} is not an iommufd`);
  return r.file;
}

const REGION_NAMES = ['BAR0', 'BAR1', 'BAR2', 'BAR3', 'BAR4', 'BAR5', 'ROM', 'CONFIG', 'VGA'];

/** A region access for --trace: "region=CONFIG off=0x10 len=4". */
function traceRegion(trace: IoctlTrace, op: string, pos: bigint, len: number): void {
  const index = Number(pos >> V.VFIO_PCI_OFFSET_SHIFT);
  trace.name = op;
  trace.args = `region=${REGION_NAMES[index] ?? index} off=0x${(pos & V.VFIO_PCI_OFFSET_MASK).toString(16)} len=${len}`;
}

function u32At(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

const NAMES = new Map<number, string>([
  [V.VFIO_DEVICE_GET_INFO, 'VFIO_DEVICE_GET_INFO'],
  [V.VFIO_DEVICE_GET_REGION_INFO, 'VFIO_DEVICE_GET_REGION_INFO'],
  [V.VFIO_DEVICE_GET_IRQ_INFO, 'VFIO_DEVICE_GET_IRQ_INFO'],
  [V.VFIO_DEVICE_SET_IRQS, 'VFIO_DEVICE_SET_IRQS'],
  [V.VFIO_DEVICE_RESET, 'VFIO_DEVICE_RESET'],
  [V.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 'VFIO_DEVICE_GET_PCI_HOT_RESET_INFO'],
  [V.VFIO_DEVICE_PCI_HOT_RESET, 'VFIO_DEVICE_PCI_HOT_RESET'],
  [V.VFIO_DEVICE_IOEVENTFD, 'VFIO_DEVICE_IOEVENTFD'],
  [V.VFIO_DEVICE_FEATURE, 'VFIO_DEVICE_FEATURE'],
  [V.VFIO_DEVICE_BIND_IOMMUFD, 'VFIO_DEVICE_BIND_IOMMUFD'],
  [V.VFIO_DEVICE_ATTACH_IOMMUFD_PT, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT'],
  [V.VFIO_DEVICE_DETACH_IOMMUFD_PT, 'VFIO_DEVICE_DETACH_IOMMUFD_PT'],
]);

function vfioDeviceIoctlName(request: number): string {
  return NAMES.get(request) ?? `ioctl 0x${request.toString(16)}`;
}
