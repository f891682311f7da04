// Devices bound to an iommufd and their attachments
// (drivers/iommu/iommufd/device.c): DEVICE objects, per-context groups,
// attach / replace / detach with the group rules, and the automatic domain.
import { Errno, EBUSY, EINVAL, EOPNOTSUPP, EPERM } from '../uapi/errno.js';
import * as U from '../uapi/iommufd.js';
import { IommufdObject } from './object-table.js';
import { iommufdShouldFail } from './faults.js';
import type { IommufdCtx } from './iommufd.js';
import type { IommufdIoas } from './ioas.js';
import type { IommuDevice, IommuGroup } from '../hw/iommu.js';
import type { Ucmd } from './ucmd.js';
import { HwptPaging, findHwptPaging, hwptPagingAlloc, hwptPut, type IommufdHwpt } from './hw-pagetable.js';

/** The attachment of a group (no PASID): one HWPT, the devices attached through it. */
interface GroupAttach { hwpt: IommufdHwpt | undefined; readonly devices: Map<number, IommufdDevice>; }

/** struct iommufd_group: a context's view of an iommu_group. */
export class IommufdGroup {
  refs = 1;
  attach: GroupAttach | undefined;
  swMsiStart: bigint | undefined;
  constructor(readonly ctx: IommufdCtx, readonly group: IommuGroup) {}
}

/** DMA ownership of a group: which context, and how many of its devices claim it. */
const dmaClaims = new WeakMap<IommuGroup, number>();

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
  const g = ctx.groups.get(dev.group.id);
  if (g) { g.refs++; return g; }
  const n = new IommufdGroup(ctx, dev.group);
  ctx.groups.set(dev.group.id, n);
  return n;
}

function putGroup(g: IommufdGroup): void {
  if (--g.refs === 0) g.ctx.groups.delete(g.group.id);
}

/** iommu_device_claim_dma_owner: one owner per group; another owner → EBUSY. */
function claimDmaOwner(group: IommuGroup, owner: unknown): void {
  if (group.dmaOwner !== undefined && group.dmaOwner !== owner) throw new Errno(EBUSY, 'group owned by another user');
  group.dmaOwner = owner;
  dmaClaims.set(group, (dmaClaims.get(group) ?? 0) + 1);
}

function releaseDmaOwner(group: IommuGroup): void {
  const n = (dmaClaims.get(group) ?? 1) - 1;
  dmaClaims.set(group, n);
  if (n === 0) group.dmaOwner = undefined;
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

/** iommufd_hw_pagetable_attach: attach `idev` (its group on first use) to `hwpt`. */
export function hwptAttach(hwpt: IommufdHwpt, idev: IommufdDevice): void {
  const ig = idev.igroup;
  const first = !ig.attach;
  const attach: GroupAttach = ig.attach ?? { hwpt: undefined, devices: new Map() };
  if (attach.devices.has(idev.id)) throw new Errno(EBUSY, 'device already attached');
  if (attach.hwpt && attach.hwpt !== hwpt) throw new Errno(EINVAL, 'group attached to another HWPT');
  const paging = findHwptPaging(hwpt);
  if (paging) enforceDevResvRegions(paging.ioas, idev);
  try {
    if (first) {
      hwpt.domain!.attachDev(idev.dev);
      idev.dev.group.domain = hwpt.domain!;
      attach.hwpt = hwpt;
      ig.attach = attach;
    }
  } catch (e) {
    if (paging) paging.ioas.iopt.removeReserved(idev.dev);
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
export function hwptDetachDevice(idev: IommufdDevice, put = true): IommufdHwpt | undefined {
  const ig = idev.igroup;
  const attach = ig.attach;
  if (!attach || !attach.devices.has(idev.id)) return undefined;
  const hwpt = attach.hwpt!;
  attach.devices.delete(idev.id);
  if (attach.devices.size === 0) {
    hwpt.domain!.detachDev?.(idev.dev);
    idev.dev.group.domain = null;
    ig.attach = undefined;
    // iommufd_auto_response_faults: the device's pending faults get INVALID.
    (hwpt.fault as { autoRespond?: (d: IommufdDevice) => void } | undefined)?.autoRespond?.(idev);
  }
  const paging = findHwptPaging(hwpt);
  if (paging) paging.ioas.iopt.removeReserved(idev.dev);
  if (put) hwptPut(idev.ctx, hwpt);
  else hwpt.users--;
  return hwpt;
}

/** iommufd_device_do_replace: move the whole group to `hwpt`; returns the HWPT to put, if any. */
function doReplace(idev: IommufdDevice, hwpt: IommufdHwpt): IommufdHwpt | undefined {
  const ig = idev.igroup;
  const attach = ig.attach;
  if (!attach) throw new Errno(EINVAL, 'not attached');
  const old = attach.hwpt!;
  if (!attach.devices.has(idev.id)) throw new Errno(EINVAL, 'device not attached');
  if (hwpt === old) return undefined;
  const paging = findHwptPaging(hwpt);
  const oldPaging = findHwptPaging(old);
  const newIoas = paging && (!oldPaging || paging.ioas !== oldPaging.ioas);
  if (newIoas) {
    try {
      for (const d of attach.devices.values()) enforceDevResvRegions(paging.ioas, d);
    } catch (e) {
      for (const d of attach.devices.values()) paging.ioas.iopt.removeReserved(d.dev);
      throw e;
    }
  }
  try {
    hwpt.domain!.attachDev(idev.dev);
  } catch (e) {
    if (newIoas) for (const d of attach.devices.values()) paging.ioas.iopt.removeReserved(d.dev);
    throw e;
  }
  old.domain!.detachDev?.(idev.dev);
  idev.dev.group.domain = hwpt.domain!;
  (old.fault as { autoRespond?: (d: IommufdDevice) => void } | undefined)?.autoRespond?.(idev);
  if (oldPaging && (!paging || paging.ioas !== oldPaging.ioas)) {
    for (const d of attach.devices.values()) oldPaging.ioas.iopt.removeReserved(d.dev);
  }
  attach.hwpt = hwpt;
  const n = attach.devices.size;
  hwpt.users += n;
  if (n > 1) old.users -= n - 1;
  return old;
}

function doAttach(idev: IommufdDevice, hwpt: IommufdHwpt): IommufdHwpt | undefined {
  hwptAttach(hwpt, idev);
  return undefined;
}

type AttachFn = (idev: IommufdDevice, hwpt: IommufdHwpt) => IommufdHwpt | undefined;

/** iommufd_device_auto_get_domain: reuse an automatic HWPT of the IOAS that takes the device, or make one. */
function autoGetDomain(idev: IommufdDevice, ioas: IommufdIoas, fn: AttachFn): { ptId: number; put: IommufdHwpt | undefined } {
  const immediate = fn === doAttach;
  for (const h of [...ioas.hwpts]) {
    const hp = h as HwptPaging;
    if (!hp.autoDomain || hp.users === 0) continue;
    hp.users++; hp.shortterm++;
    try {
      const put = fn(idev, hp);
      return { ptId: hp.id, put };
    } catch (e) {
      if (e instanceof Errno && e.code === EINVAL) continue; // incompatible: try the next one
      throw e;
    } finally {
      hp.users--; hp.shortterm--;
    }
  }
  const h = hwptPagingAlloc(idev.ctx, ioas, idev, 0, immediate, undefined);
  let put: IommufdHwpt | undefined;
  if (!immediate) {
    try { put = fn(idev, h); } catch (e) { idev.ctx.objects.abortAndDestroy(h); throw e; }
  }
  h.autoDomain = true;
  idev.ctx.objects.finalize(h);
  return { ptId: h.id, put };
}

/** iommufd_device_change_pt: attach or replace to an IOAS (automatic domain) or a HWPT. Returns the resulting HWPT ID. */
function changePt(idev: IommufdDevice, ptId: number, fn: AttachFn): number {
  const ctx = idev.ctx;
  const pt = ctx.objects.get(ptId);
  let put: IommufdHwpt | undefined;
  let out = ptId;
  try {
    switch (pt.type) {
      case 'HWPT_PAGING': case 'HWPT_NESTED':
        put = fn(idev, pt as IommufdHwpt);
        break;
      case 'IOAS': {
        const r = autoGetDomain(idev, pt as IommufdIoas, fn);
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

/** iommufd_device_attach: returns the HWPT ID the device is now attached to. */
export function deviceAttach(idev: IommufdDevice, ptId: number): number {
  const out = changePt(idev, ptId, doAttach);
  idev.users++;
  return out;
}

export function deviceReplace(idev: IommufdDevice, ptId: number): number {
  return changePt(idev, ptId, doReplace);
}

export function deviceDetach(idev: IommufdDevice): void {
  if (hwptDetachDevice(idev)) idev.users--;
}

/** The HWPT a device is attached to now, if any. */
export function attachedHwpt(idev: IommufdDevice): IommufdHwpt | undefined {
  const a = idev.igroup.attach;
  return a && a.devices.has(idev.id) ? a.hwpt : undefined;
}

export function getDevice(ctx: IommufdCtx, id: number): IommufdDevice {
  return ctx.objects.get<IommufdDevice>(id, 'DEVICE');
}

const IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1;
const IOMMU_HW_CAP_DIRTY_TRACKING = 1n << 0n;
const IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 1n << 3n;

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
      c.out_data_type = info.type;
      data = info.data;
    } else c.out_data_type = 0;
    const copy = Math.min(c.data_len, data.length);
    if (copy) u.task.mm.write(c.data_uptr, data.subarray(0, copy));
    if (copy < c.data_len) u.task.mm.write(c.data_uptr + BigInt(copy), new Uint8Array(c.data_len - copy));
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
