// Devices bound to an iommufd and their attachments
// (drivers/iommu/iommufd/device.c): DEVICE objects, per-context groups,
// attach / replace / detach with the group rules, and the automatic domain.
import { Errno, EBUSY, EINVAL, EOPNOTSUPP, EPERM } from '../uapi/errno.js';
import * as U from '../uapi/iommufd.js';
import { IommufdObject } from './object-table.js';
import { iommufdShouldFail, slabAlloc } from './faults.js';
import type { IommufdCtx } from './iommufd.js';
import type { IommufdIoas } from './ioas.js';
import type { IommuDevice, IommuGroup } from '../hw/iommu.js';
import type { Ucmd } from './ucmd.js';
import { clearUser } from './uaccess.js';
import { HwptPaging, findHwptPaging, hwptPagingAlloc, hwptPut, type IommufdHwpt } from './hw-pagetable.js';
import { IOMMU_NO_PASID, attachDevicePasid, detachDevicePasid, replaceDevicePasid } from './pasid.js';

/**
 * struct iommufd_attach_handle: what the iommu core keeps for an attachment
 * of a group or a PASID and hands back with its faults (the device that made
 * it, the HWPT it is to). A replace makes a new one.
 */
export class AttachHandle {
  constructor(readonly idev: IommufdDevice, readonly hwpt: IommufdHwpt) {}
}

/** struct iommufd_attach: the attachment of one PASID of a group: one HWPT, the devices attached through it. */
interface GroupAttach {
  hwpt: IommufdHwpt | undefined;
  readonly devices: Map<number, IommufdDevice>;
  handle: AttachHandle | undefined;
}

/** struct iommufd_group: a context's view of an iommu_group. */
export class IommufdGroup {
  refs = 1;
  /** igroup->pasid_attach: the attachments by PASID (IOMMU_NO_PASID = 0: the group's own). */
  readonly pasidAttach = new Map<number, GroupAttach>();
  swMsiStart: bigint | undefined;
  constructor(readonly ctx: IommufdCtx, readonly group: IommuGroup) {}
  /** The attachment without a PASID. */
  get attach(): GroupAttach | undefined { return this.pasidAttach.get(IOMMU_NO_PASID); }
}

export class IommufdDevice extends IommufdObject {
  readonly type = 'DEVICE' as const;
  /** IOMMU_CAP_ENFORCE_CACHE_COHERENCY of the device, fixed at bind. */
  readonly enforceCacheCoherency: boolean;
  /** The vDEVICE that stands for this device in a vIOMMU (idev->vdev); it holds users and wait_cnt. */
  vdev: IommufdObject | undefined;
  /** Unbind has begun: no new vDEVICE may point here (idev->destroying). */
  destroying = false;
  constructor(readonly ctx: IommufdCtx, readonly dev: IommuDevice, readonly igroup: IommufdGroup, readonly isMock: boolean) {
    super();
    this.enforceCacheCoherency = dev.driver.capable(dev, 'ENFORCE_CACHE_COHERENCY');
  }

  destroy(): void {
    releaseDmaOwner(this.dev.group);
    putGroup(this.igroup);
    if (!this.isMock) this.ctx.unhold();
  }
}

function getGroup(ctx: IommufdCtx, dev: IommuDevice): IommufdGroup {
  const g = ctx.groups.get(dev.group);
  if (g) { g.refs++; return g; }
  const n = new IommufdGroup(ctx, dev.group);
  ctx.groups.set(dev.group, n);
  return n;
}

function putGroup(g: IommufdGroup): void {
  if (--g.refs === 0) g.ctx.groups.delete(g.group);
}

/** iommu_device_claim_dma_owner: one owner per group; another owner → EBUSY. */
function claimDmaOwner(group: IommuGroup, owner: unknown): void {
  if (group.dmaOwner !== undefined && group.dmaOwner !== owner) throw new Errno(EBUSY, 'group owned by another user');
  group.dmaOwner = owner;
  group.ownerCnt++;
}

function releaseDmaOwner(group: IommuGroup): void {
  if (group.ownerCnt > 0) group.ownerCnt--;
  if (group.ownerCnt === 0) group.dmaOwner = undefined;
}

/**
 * iommufd_device_bind: a DEVICE object for `dev`, published, holding the
 * binder's reference. EINVAL without cache coherency, EPERM without
 * isolated MSI (mock devices are exempt), EBUSY if another owner has DMA.
 */
export function deviceBind(ctx: IommufdCtx, dev: IommuDevice, opts: { mock?: boolean; allowUnsafeInterrupts?: boolean } = {}): IommufdDevice {
  if (!dev.driver.capable(dev, 'CACHE_COHERENCY')) throw new Errno(EINVAL, 'device cannot do coherent DMA');
  const igroup = getGroup(ctx, dev);
  try {
    if (!opts.mock && !dev.group.isolatedMsi && !opts.allowUnsafeInterrupts) throw new Errno(EPERM, 'MSI not isolated');
    claimDmaOwner(dev.group, ctx);
  } catch (e) {
    putGroup(igroup);
    throw e;
  }
  const idev = ctx.objects.alloc(new IommufdDevice(ctx, dev, igroup, opts.mock ?? false));
  // Real devices keep the iommufd file alive while bound; mock devices do not.
  if (!opts.mock) ctx.hold();
  idev.users++; // the binding driver's reference
  ctx.objects.finalize(idev);
  return idev;
}

/**
 * iommufd_device_unbind: destroy on behalf of the binder (its reference goes
 * with it). First iommufd_device_pre_destroy: a vDEVICE still pointing here
 * is destroyed and its ID left as a tombstone (DESTROY on it is ENOENT and
 * the number is not reused until the file is closed).
 */
export function deviceUnbind(idev: IommufdDevice): void {
  // Attachments of PASIDs other than IOMMU_NO_PASID that the binder left
  // (as vfio_iommufd_physical_unbind detaches each of its PASIDs first).
  for (const [pasid, a] of [...idev.igroup.pasidAttach]) {
    if (pasid !== IOMMU_NO_PASID && a.devices.has(idev.id)) deviceDetach(idev, pasid);
  }
  idev.destroying = true;
  if (idev.vdev) idev.ctx.objects.destroyUser(idev.vdev, true);
  idev.ctx.objects.destroyUser(idev);
}

/** iopt_table_enforce_dev_resv_regions: reserve the device's regions in the IOAS (owner: the device). */
function enforceDevResvRegions(ioas: IommufdIoas, idev: IommufdDevice): void {
  if (iommufdShouldFail()) throw new Errno(EINVAL, 'injected: reserved regions');
  let swMsi = 0, hwMsi = 0;
  try {
    for (const r of idev.dev.reservedRegions()) {
      if (r.type === 'DIRECT_RELAXABLE') continue;
      if (r.type === 'MSI') hwMsi++;
      if (r.type === 'SW_MSI') { idev.igroup.swMsiStart = r.start; swMsi++; }
      ioas.iopt.reserveIova(r.start, r.start + r.length - 1n, idev.dev);
    }
    if ((swMsi && hwMsi) || swMsi > 1) throw new Errno(EINVAL, 'driver reports conflicting MSI regions');
  } catch (e) {
    ioas.iopt.removeReserved(idev.dev);
    throw e;
  }
}

/**
 * iommufd_hwpt_pasid_compat: a PASID other than IOMMU_NO_PASID needs a HWPT
 * allocated with IOMMU_HWPT_ALLOC_PASID and, if the group itself is
 * attached, a PASID-capable HWPT there too; the group may only go to a
 * HWPT that is not PASID-capable while no other PASID is attached. EINVAL.
 */
function hwptPasidCompat(hwpt: IommufdHwpt, idev: IommufdDevice, pasid: number): void {
  const ig = idev.igroup;
  if (pasid === IOMMU_NO_PASID) {
    if (!hwpt.pasidCompat && [...ig.pasidAttach.keys()].some((p) => p !== IOMMU_NO_PASID)) {
      throw new Errno(EINVAL, 'PASIDs are attached: the group needs a PASID-capable HWPT');
    }
  } else {
    if (!hwpt.pasidCompat) throw new Errno(EINVAL, 'the HWPT was not allocated with IOMMU_HWPT_ALLOC_PASID');
    const rid = ig.attach?.hwpt;
    if (rid && !rid.pasidCompat) throw new Errno(EINVAL, 'the group is attached to a HWPT that is not PASID-capable');
  }
}

/**
 * iommufd_hwpt_attach_device: the group (IOMMU_NO_PASID) or one PASID of the
 * device goes to `hwpt`'s domain. Returns the new attach handle.
 */
function hwptAttachDevice(hwpt: IommufdHwpt, idev: IommufdDevice, pasid: number): AttachHandle {
  hwptPasidCompat(hwpt, idev, pasid);
  slabAlloc('attach handle'); // the iommufd_attach_handle's kzalloc
  const handle = new AttachHandle(idev, hwpt);
  if (pasid === IOMMU_NO_PASID) {
    hwpt.domain!.attachDev(idev.dev);
    idev.dev.group.domain = hwpt.domain!;
  } else {
    attachDevicePasid(hwpt.domain!, idev.dev, pasid, handle);
  }
  return handle;
}

/** iommufd_auto_response_faults: the handle's pending faults on the HWPT's queue get INVALID. */
function autoResponseFaults(hwpt: IommufdHwpt, handle: AttachHandle | undefined): void {
  if (!handle) return;
  (hwpt.fault as { autoRespond?: (d: IommufdDevice, h?: object) => void } | undefined)?.autoRespond?.(handle.idev, handle);
}

/**
 * iommufd_hw_pagetable_attach: attach `idev` (its group on first use) to
 * `hwpt`, for IOMMU_NO_PASID or a PASID. Only the group's own attachment
 * reserves the device's regions in the IOAS.
 */
export function hwptAttach(hwpt: IommufdHwpt, idev: IommufdDevice, pasid = IOMMU_NO_PASID): void {
  const ig = idev.igroup;
  const existing = ig.pasidAttach.get(pasid);
  const attach: GroupAttach = existing ?? { hwpt: undefined, devices: new Map(), handle: undefined };
  if (attach.devices.has(idev.id)) throw new Errno(EBUSY, 'device already attached');
  if (attach.hwpt && attach.hwpt !== hwpt) throw new Errno(EINVAL, 'group attached to another HWPT');
  const paging = findHwptPaging(hwpt);
  const resv = paging && pasid === IOMMU_NO_PASID ? paging : undefined;
  if (resv) enforceDevResvRegions(resv.ioas, idev);
  try {
    if (!existing) {
      attach.handle = hwptAttachDevice(hwpt, idev, pasid);
      attach.hwpt = hwpt;
      ig.pasidAttach.set(pasid, attach);
    }
  } catch (e) {
    if (resv) resv.ioas.iopt.removeReserved(idev.dev);
    throw e;
  }
  hwpt.users++;
  attach.devices.set(idev.id, idev);
}

/**
 * iommufd_hw_pagetable_detach: take `idev` off its HWPT (the group leaves it
 * with its last device), drop its reservations, put the HWPT. Returns the
 * HWPT it was attached to.
 */
export function hwptDetachDevice(idev: IommufdDevice, put = true, pasid = IOMMU_NO_PASID): IommufdHwpt | undefined {
  const ig = idev.igroup;
  const attach = ig.pasidAttach.get(pasid);
  if (!attach || !attach.devices.has(idev.id)) return undefined;
  const hwpt = attach.hwpt!;
  attach.devices.delete(idev.id);
  if (attach.devices.size === 0) {
    // iommufd_hwpt_detach_device
    if (pasid === IOMMU_NO_PASID) {
      hwpt.domain!.detachDev?.(idev.dev);
      idev.dev.group.domain = null;
    } else {
      detachDevicePasid(hwpt.domain!, idev.dev, pasid);
    }
    ig.pasidAttach.delete(pasid);
    autoResponseFaults(hwpt, attach.handle);
  }
  const paging = findHwptPaging(hwpt);
  if (paging && pasid === IOMMU_NO_PASID) paging.ioas.iopt.removeReserved(idev.dev);
  if (put) hwptPut(idev.ctx, hwpt);
  else hwpt.users--;
  return hwpt;
}

/**
 * iommufd_hwpt_replace_device: move the group (IOMMU_NO_PASID) or the PASID
 * from `old` to `hwpt` with a new handle; the old handle's faults are
 * answered INVALID.
 */
function hwptReplaceDevice(idev: IommufdDevice, pasid: number, hwpt: IommufdHwpt, old: IommufdHwpt, oldHandle: AttachHandle | undefined): AttachHandle {
  hwptPasidCompat(hwpt, idev, pasid);
  slabAlloc('attach handle'); // the iommufd_attach_handle's kzalloc
  const handle = new AttachHandle(idev, hwpt);
  if (pasid === IOMMU_NO_PASID) {
    hwpt.domain!.attachDev(idev.dev);
    old.domain!.detachDev?.(idev.dev);
    idev.dev.group.domain = hwpt.domain!;
  } else {
    replaceDevicePasid(hwpt.domain!, idev.dev, pasid, handle);
  }
  autoResponseFaults(old, oldHandle);
  return handle;
}

/** iommufd_device_do_replace: move the whole group's attachment of `pasid` to `hwpt`; returns the HWPT to put, if any. */
function doReplace(idev: IommufdDevice, hwpt: IommufdHwpt, pasid: number): IommufdHwpt | undefined {
  const ig = idev.igroup;
  const attach = ig.pasidAttach.get(pasid);
  if (!attach) throw new Errno(EINVAL, 'not attached');
  const old = attach.hwpt!;
  if (!attach.devices.has(idev.id)) throw new Errno(EINVAL, 'device not attached');
  if (hwpt === old) return undefined;
  const rid = pasid === IOMMU_NO_PASID;
  const paging = findHwptPaging(hwpt);
  const oldPaging = findHwptPaging(old);
  const newIoas = rid && paging && (!oldPaging || paging.ioas !== oldPaging.ioas) ? paging : undefined;
  if (newIoas) {
    try {
      for (const d of attach.devices.values()) enforceDevResvRegions(newIoas.ioas, d);
    } catch (e) {
      for (const d of attach.devices.values()) newIoas.ioas.iopt.removeReserved(d.dev);
      throw e;
    }
  }
  try {
    attach.handle = hwptReplaceDevice(idev, pasid, hwpt, old, attach.handle);
  } catch (e) {
    if (newIoas) for (const d of attach.devices.values()) newIoas.ioas.iopt.removeReserved(d.dev);
    throw e;
  }
  if (rid && oldPaging && (!paging || paging.ioas !== oldPaging.ioas)) {
    for (const d of attach.devices.values()) oldPaging.ioas.iopt.removeReserved(d.dev);
  }
  attach.hwpt = hwpt;
  const n = attach.devices.size;
  hwpt.users += n;
  if (n > 1) old.users -= n - 1;
  return old;
}

function doAttach(idev: IommufdDevice, hwpt: IommufdHwpt, pasid: number): IommufdHwpt | undefined {
  hwptAttach(hwpt, idev, pasid);
  return undefined;
}

type AttachFn = (idev: IommufdDevice, hwpt: IommufdHwpt, pasid: number) => IommufdHwpt | undefined;

/**
 * iommufd_device_auto_get_domain: reuse an automatic HWPT of the IOAS that
 * takes the device, or make one. Automatic HWPTs are never PASID-capable, so
 * for a PASID other than IOMMU_NO_PASID every try ends in EINVAL.
 */
function autoGetDomain(idev: IommufdDevice, pasid: number, ioas: IommufdIoas, fn: AttachFn): { ptId: number; put: IommufdHwpt | undefined } {
  const immediate = fn === doAttach;
  for (const h of [...ioas.hwpts]) {
    const hp = h as HwptPaging;
    if (!hp.autoDomain || hp.users === 0) continue;
    hp.users++; hp.shortterm++;
    try {
      const put = fn(idev, hp, pasid);
      return { ptId: hp.id, put };
    } catch (e) {
      if (e instanceof Errno && e.code === EINVAL) continue; // incompatible: try the next one
      throw e;
    } finally {
      hp.users--; hp.shortterm--;
    }
  }
  const h = hwptPagingAlloc(idev.ctx, ioas, idev, 0, immediate, undefined, pasid);
  let put: IommufdHwpt | undefined;
  if (!immediate) {
    try { put = fn(idev, h, pasid); } catch (e) { idev.ctx.objects.abortAndDestroy(h); throw e; }
  }
  h.autoDomain = true;
  idev.ctx.objects.finalize(h);
  return { ptId: h.id, put };
}

/** iommufd_device_change_pt: attach or replace to an IOAS (automatic domain) or a HWPT. Returns the resulting HWPT ID. */
function changePt(idev: IommufdDevice, pasid: number, ptId: number, fn: AttachFn): number {
  const ctx = idev.ctx;
  const pt = ctx.objects.get(ptId);
  let put: IommufdHwpt | undefined;
  let out = ptId;
  try {
    switch (pt.type) {
      case 'HWPT_PAGING': case 'HWPT_NESTED':
        put = fn(idev, pt as IommufdHwpt, pasid);
        break;
      case 'IOAS': {
        const r = autoGetDomain(idev, pasid, pt as IommufdIoas, fn);
        out = r.ptId; put = r.put;
        break;
      }
      default:
        throw new Errno(EINVAL, `cannot attach to ${pt.type}`);
    }
  } finally {
    ctx.objects.put(pt);
  }
  if (put) hwptPut(ctx, put);
  return out;
}

/**
 * iommufd_device_attach: attach the device (IOMMU_NO_PASID) or one of its
 * PASIDs; returns the HWPT ID it is now attached to.
 */
export function deviceAttach(idev: IommufdDevice, ptId: number, pasid = IOMMU_NO_PASID): number {
  const out = changePt(idev, pasid, ptId, doAttach);
  idev.users++;
  return out;
}

/** iommufd_device_replace: the same for an attached device or PASID. */
export function deviceReplace(idev: IommufdDevice, ptId: number, pasid = IOMMU_NO_PASID): number {
  return changePt(idev, pasid, ptId, doReplace);
}

/** iommufd_device_detach: nothing if the device or PASID is not attached. */
export function deviceDetach(idev: IommufdDevice, pasid = IOMMU_NO_PASID): void {
  if (hwptDetachDevice(idev, true, pasid)) idev.users--;
}

/** iommu_attach_handle_get(group, pasid, 0) as iommufd made it: the attach handle of a PASID of the device's group. */
export function attachHandleOf(idev: IommufdDevice, pasid: number): AttachHandle | undefined {
  return idev.igroup.pasidAttach.get(pasid)?.handle;
}

export function getDevice(ctx: IommufdCtx, id: number): IommufdDevice {
  return ctx.objects.get<IommufdDevice>(id, 'DEVICE');
}

const { IOMMU_HW_INFO_FLAG_INPUT_TYPE } = U;
const IOMMU_HW_CAP_DIRTY_TRACKING = BigInt(U.IOMMU_HW_CAP_DIRTY_TRACKING);
const IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = BigInt(U.IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED);

/** IOMMU_GET_HW_INFO (iommufd_get_hw_info). */
export function getHwInfo(u: Ucmd<typeof U.IommuHwInfo.fields>): number {
  const c = u.cmd;
  if (c.flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE) throw new Errno(EOPNOTSUPP, 'flags');
  if (c.__reserved.some((b) => b !== 0)) throw new Errno(EOPNOTSUPP, '__reserved');
  if (!(c.flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE)) c.in_data_type = 0;
  const idev = getDevice(u.ctx, c.dev_id);
  try {
    const drv = idev.dev.driver;
    let data: Uint8Array = new Uint8Array(0);
    if (drv.hwInfo) {
      const info = drv.hwInfo(idev.dev, c.in_data_type);
      slabAlloc('hw_info'); // the driver's kzalloc of the info, after its type check
      c.out_data_type = info.type;
      data = info.data;
    } else c.out_data_type = 0;
    const copy = Math.min(c.data_len, data.length);
    if (copy) u.task.mm.write(c.data_uptr, data.subarray(0, copy));
    if (copy < c.data_len) clearUser(u.task, c.data_uptr + BigInt(copy), c.data_len - copy);
    c.data_len = data.length;
    let caps = 0n;
    if (drv.capable(idev.dev, 'DIRTY_TRACKING')) caps |= IOMMU_HW_CAP_DIRTY_TRACKING;
    if (!drv.capable(idev.dev, 'PCI_ATS_SUPPORTED')) caps |= IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED;
    c.out_capabilities = caps;
    c.out_max_pasid_log2 = idev.dev.maxPasidLog2;
    u.respond();
    return 0;
  } finally {
    u.ctx.objects.put(idev);
  }
}
