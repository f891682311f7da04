// vIOMMUs and what hangs off them (drivers/iommu/iommufd/viommu.c, driver.c):
// VIOMMU objects (a driver's virtual IOMMU on a nest-parent HWPT), VDEVICE
// objects (a device's virtual ID in a vIOMMU), HW_QUEUE objects (guest queue
// memory pinned through an internal access). vEVENTQs live in eventq.ts, the
// vIOMMU branches of HWPT_ALLOC and HWPT_INVALIDATE in hw-pagetable.ts.
import { Errno, EINVAL, ENOENT, ENOMEM, EOPNOTSUPP, EOVERFLOW, ERANGE, EEXIST, EFAULT } from '../uapi/errno.js';
import * as U from '../uapi/iommufd.js';
import type { Ucmd } from './ucmd.js';
import { IommufdObject } from './object-table.js';
import type { IommufdCtx } from './iommufd.js';
import { getDevice, type IommufdDevice } from './device.js';
import { getHwptPaging, userDataOf, type HwptPaging } from './hw-pagetable.js';
import { accessAttachInternal, accessCreateInternal, accessDetach, accessPinPages, accessUnpinPages, type IommufdAccess } from './access.js';
import type { IommufdVeventq } from './eventq.js';
import type { DriverMmap, HwQueueCore, HwViommu, IommuDevice, IommuDriver } from '../hw/iommu.js';
import { PAGE_SIZE_N } from '../hw/memory.js';
import { ULONG_MAX, U64_MAX } from './io-pagetable.js';
import { kvzalloc, xaStore } from './faults.js';

const INT_MAX = 0x7fffffffn;

/** struct iommufd_viommu: the core half; `hw` is the driver's. */
export class IommufdViommu extends IommufdObject {
  readonly type = 'VIOMMU' as const;
  /** vDEVICEs by virtual ID (viommu->vdevs). */
  readonly vdevs = new Map<bigint, IommufdVdevice>();
  /** vEVENTQs, one per type (viommu->veventqs). */
  readonly veventqs: IommufdVeventq[] = [];
  /** The driver's vIOMMU, once viommu_init succeeded. */
  hw: HwViommu | undefined;

  /** `iommuDev` is the physical IOMMU instance (the driver) of the device it was made for. */
  constructor(readonly ctx: IommufdCtx, readonly viommuType: number, readonly hwpt: HwptPaging, readonly iommuDev: IommuDriver) { super(); }

  // ---- ViommuCore: what the driver may call -------------------------------

  findDev(virtId: bigint): IommuDevice | undefined {
    return this.vdevs.get(virtId)?.idev.dev;
  }

  getVdevId(dev: IommuDevice): bigint {
    for (const [id, v] of this.vdevs) if (v.idev.dev === dev) return id;
    throw new Errno(ENOENT, 'device has no vDEVICE in this vIOMMU');
  }

  reportEvent(type: number, data: Uint8Array): void {
    const q = this.veventqs.find((e) => e.vtype === type);
    if (!q) throw new Errno(EOPNOTSUPP, 'no vEVENTQ of this type');
    q.report(data);
  }

  allocMmap(contents: Uint8Array): DriverMmap {
    return this.ctx.mmaps.alloc(this, contents);
  }

  destroyMmap(m: DriverMmap): void {
    this.ctx.mmaps.destroy(m);
  }

  destroy(): void {
    this.hw?.destroy?.();
    this.hw = undefined;
    this.hwpt.users--;
    this.vdevs.clear();
  }
}

/** struct iommufd_vdevice: holds its vIOMMU, and its device (users and wait_cnt). */
export class IommufdVdevice extends IommufdObject {
  readonly type = 'VDEVICE' as const;
  constructor(readonly ctx: IommufdCtx, readonly viommu: IommufdViommu, readonly idev: IommufdDevice, readonly virtId: bigint) { super(); }

  /** iommufd_vdevice_abort: everything but the device reference. */
  abortVdev(): void {
    if (this.viommu.vdevs.get(this.virtId) === this) this.viommu.vdevs.delete(this.virtId);
    this.viommu.users--;
    this.idev.vdev = undefined;
  }

  /** iommufd_vdevice_destroy */
  destroy(): void {
    this.abortVdev();
    this.ctx.objects.put(this.idev);
  }
}

/** struct iommufd_hw_queue: the guest queue's memory stays pinned (and its IOVA locked) while it lives. */
export class IommufdHwQueue extends IommufdObject implements HwQueueCore {
  readonly type = 'HW_QUEUE' as const;
  viommu: IommufdViommu | undefined;
  access: IommufdAccess | undefined;
  destroyHook: (() => void) | undefined;
  constructor(readonly ctx: IommufdCtx, readonly queueType: number, readonly baseAddr: bigint, readonly length: bigint) { super(); }

  /** iommufd_hw_queue_depend: EINVAL on itself. */
  depend(on: HwQueueCore): void {
    if (on === this || !(on instanceof IommufdHwQueue)) throw new Errno(EINVAL, 'bad queue dependency');
    on.users++;
  }

  undepend(on: HwQueueCore): void {
    (on as IommufdHwQueue).users--;
  }

  destroy(): void {
    this.destroyHook?.();
    this.destroyHook = undefined;
    if (this.access) {
      // iommufd_hw_queue_destroy_access
      const aligned = this.baseAddr & ~(PAGE_SIZE_N - 1n);
      const offset = this.baseAddr - aligned;
      accessUnpinPages(this.access, aligned, pageAlign(this.length + offset));
      accessDetach(this.access);
      this.ctx.objects.destroyUser(this.access);
      this.access = undefined;
    }
    if (this.viommu) { this.viommu.users--; this.viommu = undefined; }
  }
}

function pageAlign(x: bigint): bigint {
  return (x + PAGE_SIZE_N - 1n) & ~(PAGE_SIZE_N - 1n);
}

/** iommufd_get_viommu: ENOENT for anything but a vIOMMU. */
export function getViommu(ctx: IommufdCtx, id: number): IommufdViommu {
  return ctx.objects.get<IommufdViommu>(id, 'VIOMMU');
}

/** IOMMU_VIOMMU_ALLOC (iommufd_viommu_alloc_ioctl). */
export function viommuAllocIoctl(u: Ucmd<typeof U.IommuViommuAlloc.fields>): number {
  const c = u.cmd;
  const t = u.ctx.objects;
  if (c.flags || c.type === U.IOMMU_VIOMMU_TYPE_DEFAULT) throw new Errno(EOPNOTSUPP, 'flags or type');
  const idev = getDevice(u.ctx, c.dev_id);
  try {
    const drv = idev.dev.driver;
    if (!drv.getViommuSize || !drv.viommuInit || !drv.getViommuSize(idev.dev, c.type)) {
      throw new Errno(EOPNOTSUPP, `${drv.name} offers no vIOMMU of type 0x${c.type.toString(16)}`);
    }
    const hwpt = getHwptPaging(u.ctx, c.hwpt_id);
    try {
      if (!hwpt.nestParent) throw new Errno(EINVAL, 'not a nest parent');
      const v = t.alloc(new IommufdViommu(u.ctx, c.type, hwpt, drv));
      hwpt.users++;
      try {
        const ud = c.data_len ? userDataOf(u.task, c.type, c.data_uptr, c.data_len) : undefined;
        v.hw = drv.viommuInit(v, hwpt.domain!, ud);
        c.out_viommu_id = v.id;
        u.respond();
      } catch (e) {
        t.abortAndDestroy(v);
        throw e;
      }
      t.finalize(v);
      return 0;
    } finally {
      t.put(hwpt);
    }
  } finally {
    t.put(idev);
  }
}

/** IOMMU_VDEVICE_ALLOC (iommufd_vdevice_alloc_ioctl). */
export function vdeviceAllocIoctl(u: Ucmd<typeof U.IommuVdeviceAlloc.fields>): number {
  const c = u.cmd;
  const t = u.ctx.objects;
  if (c.virt_id > ULONG_MAX) throw new Errno(EINVAL, 'virt_id');
  const viommu = getViommu(u.ctx, c.viommu_id);
  try {
    const idev = getDevice(u.ctx, c.dev_id);
    // On success the lookup's reference (users and wait_cnt) passes to the vDEVICE.
    let kept = false;
    try {
      if (viommu.iommuDev !== idev.dev.driver) throw new Errno(EINVAL, 'device is behind another IOMMU');
      if (idev.destroying) throw new Errno(ENOENT, 'device is being unbound');
      if (idev.vdev) throw new Errno(EEXIST, 'device already has a vDEVICE');
      const vdev = t.alloc(new IommufdVdevice(u.ctx, viommu, idev, c.virt_id));
      viommu.users++;
      idev.vdev = vdev;
      try {
        if (viommu.vdevs.has(c.virt_id)) throw new Errno(EEXIST, 'virt_id in use');
        // xa_insert(&viommu->vdevs, virt_id, NULL): a reserved entry, in a node.
        xaStore(() => [...viommu.vdevs.keys()].map(Number), Number(c.virt_id), 'vdevs', true);
        viommu.vdevs.set(c.virt_id, vdev);
        c.out_vdevice_id = vdev.id;
        u.respond();
      } catch (e) {
        vdev.abortVdev();
        t.abort(vdev);
        throw e;
      }
      t.finalize(vdev);
      kept = true;
      return 0;
    } finally {
      if (!kept) t.put(idev);
    }
  } finally {
    t.put(viommu);
  }
}

/**
 * iommufd_hw_queue_alloc_phys: pin the queue's pages through an internal
 * access on the nest parent's IOAS (which locks their areas against unmap)
 * and require them physically contiguous (EFAULT). Returns the access and
 * the physical address of the queue's first byte.
 */
function hwQueueAllocPhys(c: { nesting_parent_iova: bigint; length: bigint }, viommu: IommufdViommu): { access: IommufdAccess; basePa: bigint } {
  const aligned = c.nesting_parent_iova & ~(PAGE_SIZE_N - 1n);
  const offset = c.nesting_parent_iova - aligned;
  let length = offset + c.length;
  if (length > U64_MAX) throw new Errno(ERANGE, 'offset + length');
  length += PAGE_SIZE_N - 1n;
  if (length > U64_MAX) throw new Errno(ERANGE, 'length rounded up');
  const npages = length / PAGE_SIZE_N;
  length = npages * PAGE_SIZE_N;
  // The page array (kvzalloc): more than INT_MAX bytes is refused outright.
  if (npages * 8n > INT_MAX) throw new Errno(ENOMEM, 'page array');
  kvzalloc(Number(npages) * 8, 'page array');
  const ctx = viommu.ctx;
  const access = accessCreateInternal(ctx);
  try {
    accessAttachInternal(access, viommu.hwpt.ioas);
    try {
      const paddrs: bigint[] = [];
      accessPinPages(access, aligned, length, 0, paddrs);
      for (let i = 1; i < paddrs.length; i++) {
        if (paddrs[i] !== paddrs[i - 1]! + PAGE_SIZE_N) {
          accessUnpinPages(access, aligned, length);
          throw new Errno(EFAULT, 'queue pages are not physically contiguous');
        }
      }
      return { access, basePa: paddrs[0]! + offset };
    } catch (e) {
      accessDetach(access);
      throw e;
    }
  } catch (e) {
    ctx.objects.destroyUser(access);
    throw e;
  }
}

/** IOMMU_HW_QUEUE_ALLOC (iommufd_hw_queue_alloc_ioctl). */
export function hwQueueAllocIoctl(u: Ucmd<typeof U.IommuHwQueueAlloc.fields>): number {
  const c = u.cmd;
  const t = u.ctx.objects;
  if (c.flags || c.type === U.IOMMU_HW_QUEUE_TYPE_DEFAULT) throw new Errno(EOPNOTSUPP, 'flags or type');
  if (!c.length) throw new Errno(EINVAL, 'length 0');
  if (c.nesting_parent_iova + c.length - 1n > U64_MAX) throw new Errno(EOVERFLOW, 'iova + length');
  const viommu = getViommu(u.ctx, c.viommu_id);
  try {
    const hw = viommu.hw;
    if (!hw?.getHwQueueSize || !hw.hwQueueInitPhys || !hw.getHwQueueSize(c.type)) throw new Errno(EOPNOTSUPP, 'queue type');
    const q = t.alloc(new IommufdHwQueue(u.ctx, c.type, c.nesting_parent_iova, c.length));
    try {
      const { access, basePa } = hwQueueAllocPhys(c, viommu);
      q.viommu = viommu;
      viommu.users++;
      q.access = access;
      hw.hwQueueInitPhys(q, c.index, basePa);
      c.out_hw_queue_id = q.id;
      u.respond();
    } catch (e) {
      t.abortAndDestroy(q);
      throw e;
    }
    t.finalize(q);
    return 0;
  } finally {
    t.put(viommu);
  }
}

/** IOMMU_VEVENTQ_ALLOC lives beside the fault queues. */
export { veventqAllocIoctl } from './eventq.js';
