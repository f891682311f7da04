// The legacy VFIO group API (drivers/vfio/group.c) on a kernel built with
// CONFIG_VFIO_CONTAINER=n and CONFIG_IOMMUFD_VFIO_CONTAINER=y: /dev/vfio/<N>
// for each iommu_group with a vfio-pci function, whose "container" is always
// an iommufd (/dev/vfio/vfio is iommufd's compat file, /dev/iommu works too).
//
// A VfioGroup is struct vfio_group (one per iommu_group, shared by every open
// of its node); a VfioGroupFile is its one open file. Device files made by
// VFIO_GROUP_GET_DEVICE_FD are VfioDeviceFiles of the same VfioDevice the cdev
// opens, marked as the group's (df->group).
import { Errno, EBADF, EBADFD, EBUSY, EFAULT, EINVAL, ENODEV, ENOTTY } from '../uapi/errno.js';
import * as V from '../uapi/vfio.js';
import { showField } from '../uapi/struct.js';
import { PAGE_SIZE } from '../hw/memory.js';
import type { IommuGroup } from '../hw/iommu.js';
import type { EmulatedFile, IoctlTrace } from './file.js';
import type { Task } from './task.js';
import { IommufdCtx } from './iommufd.js';
import { vfioCompatIoasCreate } from './vfio-compat.js';
import { VfioDeviceFile, type VfioDevice } from './vfio-device.js';
import { withTask } from './faults.js';

/** struct vfio_group. */
export class VfioGroup {
  /** group->opened_file: the group may be open once. */
  openedFile: VfioGroupFile | undefined;
  /** group->cdev_device_open_cnt: device cdevs bound (they keep the group closed). */
  cdevDeviceOpenCnt = 0;
  /** group->iommufd: the context set as the container (holds it). */
  iommufd: IommufdCtx | undefined;
  /** group->device_list. */
  readonly devices: VfioDevice[] = [];

  /** `minor`: the group's minor number (the order vfio registered groups). */
  constructor(readonly iommuGroup: IommuGroup, readonly minor: number) {}

  /** The group's node, named after its iommu_group id. */
  get path(): string { return `/dev/vfio/${this.iommuGroup.id}`; }

  /** vfio_group_has_iommu: a container (here always an iommufd) is set. */
  get hasIommu(): boolean { return this.iommufd !== undefined; }

  /** vfio_group_fops_open: EBUSY while a device cdev is bound or the group is open already. */
  open(): VfioGroupFile {
    if (this.cdevDeviceOpenCnt) throw new Errno(EBUSY, 'a device of the group is bound through its cdev');
    if (this.openedFile) throw new Errno(EBUSY, 'the group is open already');
    const f = new VfioGroupFile(this);
    this.openedFile = f;
    return f;
  }

  /** vfio_device_block_group: a cdev bind keeps the group from being opened (EBUSY while it is open). */
  blockGroup(): void {
    if (this.openedFile) throw new Errno(EBUSY, 'the device\'s group is open');
    this.cdevDeviceOpenCnt++;
  }

  /** vfio_device_unblock_group. */
  unblockGroup(): void {
    this.cdevDeviceOpenCnt--;
  }

  /** Drop the container's context (iommufd_ctx_put). */
  putIommufd(): void {
    const ictx = this.iommufd;
    this.iommufd = undefined;
    ictx?.unhold();
  }
}

/** The open group node (the group's file). */
export class VfioGroupFile implements EmulatedFile {
  readonly kind = 'vfio-group';
  private released = false;

  constructor(readonly group: VfioGroup) {}

  /** vfio_group_fops_unl_ioctl, run as `task` (its fault injection is the current one). */
  ioctl(task: Task, request: number, arg: bigint, trace?: IoctlTrace): number {
    return withTask(task, () => this.dispatchIoctl(task, request, arg, trace));
  }

  private dispatchIoctl(task: Task, request: number, arg: bigint, trace?: IoctlTrace): number {
    if (trace) trace.name = GROUP_NAMES.get(request) ?? `ioctl 0x${request.toString(16)}`;
    switch (request) {
      case V.VFIO_GROUP_GET_DEVICE_FD: return this.getDeviceFd(task, arg, trace);
      case V.VFIO_GROUP_GET_STATUS: return this.getStatus(task, arg, trace);
      case V.VFIO_GROUP_SET_CONTAINER: return this.setContainer(task, arg, trace);
      case V.VFIO_GROUP_UNSET_CONTAINER: return this.unsetContainer();
      default: throw new Errno(ENOTTY, 'not a group ioctl');
    }
  }

  /**
   * vfio_group_ioctl_get_status: VIABLE while nothing else owns the group's
   * DMA (a device still open through an earlier container keeps it claimed);
   * with a container, CONTAINER_SET and VIABLE.
   */
  private getStatus(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const S = V.VfioGroupStatus;
    const c = S.decode(task.mm.read(arg, S.size));
    if (trace) trace.args = `argsz=${c.argsz}`;
    if (c.argsz < S.size) throw new Errno(EINVAL, `argsz ${c.argsz} < ${S.size}`);
    const g = this.group;
    let flags = 0;
    if (g.hasIommu) flags = V.VFIO_GROUP_FLAGS_CONTAINER_SET | V.VFIO_GROUP_FLAGS_VIABLE;
    else if (g.iommuGroup.dmaOwner === undefined) flags = V.VFIO_GROUP_FLAGS_VIABLE;
    task.mm.write(arg, S.encode({ argsz: c.argsz, flags }));
    if (trace) trace.out = `flags=${showField(S, 'flags', flags)}`;
    return 0;
  }

  /**
   * vfio_group_ioctl_set_container: the int at arg is the container's fd.
   * An iommufd (opened as /dev/iommu or /dev/vfio/vfio) gets a compat IOAS
   * if it has none; anything else open is EBADFD.
   */
  private setContainer(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const fd = new DataView(task.mm.read(arg, 4).buffer).getInt32(0, true);
    if (trace) trace.args = `fd=${fd}`;
    const r = task.resolveFd?.(fd) ?? { kind: 'bad' as const };
    if (r.kind === 'bad') throw new Errno(EBADF, `fd ${fd} is not open`);
    const g = this.group;
    if (g.hasIommu) throw new Errno(EINVAL, 'the group has a container already');
    if (r.kind !== 'emulated' || !(r.file instanceof IommufdCtx)) throw new Errno(EBADFD, `fd ${fd} is not a container`);
    const ictx = r.file;
    ictx.hold();
    try {
      vfioCompatIoasCreate(ictx);
    } catch (e) {
      ictx.unhold();
      throw e;
    }
    g.iommufd = ictx;
    return 0;
  }

  /**
   * vfio_group_ioctl_unset_container: EINVAL without one. With iommufd as
   * the container it succeeds even while device files are open (they keep
   * their binding; only a real type1 container counts its users).
   */
  private unsetContainer(): number {
    const g = this.group;
    if (!g.hasIommu) throw new Errno(EINVAL, 'no container');
    g.putIommufd();
    return 0;
  }

  /**
   * vfio_group_ioctl_get_device_fd: the name (up to a page, NUL-terminated)
   * picks the device as vfio_pci_core_match does: the PCI name, then
   * options separated by spaces, of which only one "vf_token=UUID" is known
   * (and these functions take none: EINVAL). No such device: ENODEV. The new
   * file is close-on-exec and its fd is the ioctl's result.
   */
  private getDeviceFd(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const name = strndupUser(task, arg, PAGE_SIZE);
    if (trace) trace.args = JSON.stringify(name);
    const vdev = this.deviceFromName(name);
    if (!task.installFileResult) throw new Errno(EINVAL, 'the caller cannot receive files');
    const df = new VfioDeviceFile(vdev, this.group);
    df.groupOpen();
    return task.installFileResult(df, true);
  }

  /** vfio_device_get_from_name with vfio-pci's match. */
  private deviceFromName(buf: string): VfioDevice {
    for (const d of this.group.devices) {
      const pciName = d.pci.name;
      if (!buf.startsWith(pciName)) continue;
      let rest = buf.slice(pciName.length);
      if (rest.length && rest[0] !== ' ') continue;
      let vfToken = false;
      while (rest.length) {
        if (rest[0] === ' ') { rest = rest.slice(1); continue; }
        if (!vfToken && rest.startsWith(VF_TOKEN_ARG)) {
          rest = rest.slice(VF_TOKEN_ARG.length);
          if (rest.length < UUID_STRING_LEN || !UUID_RE.test(rest.slice(0, UUID_STRING_LEN))) throw new Errno(EINVAL, 'bad vf_token');
          vfToken = true;
          rest = rest.slice(UUID_STRING_LEN);
        } else {
          throw new Errno(EINVAL, 'unknown or repeated option');
        }
      }
      // vfio_pci_core_match_token_uuid: neither a PF with VFs nor a VF.
      if (vfToken) throw new Errno(EINVAL, 'a VF token for a function that is neither a PF nor a VF');
      return d;
    }
    throw new Errno(ENODEV, `no device ${JSON.stringify(buf)} in group ${this.group.iommuGroup.id}`);
  }

  /** vfio_group_fops_release: the container goes; open device files stay. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const g = this.group;
    g.putIommufd();
    if (g.openedFile === this) g.openedFile = undefined;
  }
}

const VF_TOKEN_ARG = 'vf_token=';
const UUID_STRING_LEN = 36;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * strndup_user(s, n): a NUL-terminated string of fewer than n bytes (EINVAL
 * when longer, EFAULT when unreadable before its end). Read a page at a time
 * so a string that ends just before unmapped memory is found.
 */
function strndupUser(task: Task, at: bigint, n: number): string {
  const bytes: number[] = [];
  let p = at;
  while (bytes.length < n) {
    const inPage = PAGE_SIZE - Number(p % BigInt(PAGE_SIZE));
    const chunk = task.mm.read(p, Math.min(inPage, n - bytes.length));
    const z = chunk.indexOf(0);
    if (z >= 0) {
      for (let i = 0; i < z; i++) bytes.push(chunk[i]!);
      return Buffer.from(bytes).toString('latin1');
    }
    for (const b of chunk) bytes.push(b);
    p += BigInt(chunk.length);
  }
  if (bytes.length === 0) throw new Errno(EFAULT, 'no string');
  throw new Errno(EINVAL, `the string is longer than ${n - 1} bytes`);
}

const GROUP_NAMES = new Map<number, string>([
  [V.VFIO_GROUP_GET_STATUS, 'VFIO_GROUP_GET_STATUS'],
  [V.VFIO_GROUP_SET_CONTAINER, 'VFIO_GROUP_SET_CONTAINER'],
  [V.VFIO_GROUP_UNSET_CONTAINER, 'VFIO_GROUP_UNSET_CONTAINER'],
  [V.VFIO_GROUP_GET_DEVICE_FD, 'VFIO_GROUP_GET_DEVICE_FD'],
]);
