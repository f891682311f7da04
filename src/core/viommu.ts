// vIOMMUs and what hangs off them (drivers/iommu/iommufd/viommu.c, eventq.c):
// VIOMMU_ALLOC, VDEVICE_ALLOC, HW_QUEUE_ALLOC, VEVENTQ_ALLOC. No emulated
// driver offers a vIOMMU yet, so these answer the kernel's argument checks and
// lookups in the kernel's order and end where such a driver would begin.
import { Errno, EINVAL, EOPNOTSUPP, EOVERFLOW } from '../uapi/errno.js';
import * as U from '../uapi/iommufd.js';
import type { Ucmd } from './ucmd.js';
import { getDevice } from './device.js';
import { ULONG_MAX } from './io-pagetable.js';

const IOMMU_VIOMMU_TYPE_DEFAULT = 0;
const IOMMU_VEVENTQ_TYPE_DEFAULT = 0;
const IOMMU_HW_QUEUE_TYPE_DEFAULT = 0;
const VEVENTQ_MAX_DEPTH = 1 << 19;

/** iommufd_get_viommu: ENOENT for anything but a vIOMMU. */
function getViommu(u: Ucmd, id: number): never {
  const o = u.ctx.objects.get(id, 'VIOMMU');
  u.ctx.objects.put(o);
  throw new Errno(EOPNOTSUPP, 'vIOMMUs are not emulated yet');
}

export function viommuAllocIoctl(u: Ucmd<typeof U.IommuViommuAlloc.fields>): number {
  const c = u.cmd;
  if (c.flags || c.type === IOMMU_VIOMMU_TYPE_DEFAULT) throw new Errno(EOPNOTSUPP, 'flags or type');
  const idev = getDevice(u.ctx, c.dev_id);
  u.ctx.objects.put(idev);
  // ops->get_viommu_size / viommu_init: no emulated driver has them yet.
  throw new Errno(EOPNOTSUPP, `${idev.dev.driver.name} offers no vIOMMU of type 0x${c.type.toString(16)}`);
}

export function vdeviceAllocIoctl(u: Ucmd<typeof U.IommuVdeviceAlloc.fields>): number {
  const c = u.cmd;
  if (c.virt_id > ULONG_MAX) throw new Errno(EINVAL, 'virt_id');
  return getViommu(u, c.viommu_id);
}

export function hwQueueAllocIoctl(u: Ucmd<typeof U.IommuHwQueueAlloc.fields>): number {
  const c = u.cmd;
  if (c.flags || c.type === IOMMU_HW_QUEUE_TYPE_DEFAULT) throw new Errno(EOPNOTSUPP, 'flags or type');
  if (!c.length) throw new Errno(EINVAL, 'length 0');
  if (c.nesting_parent_iova + c.length - 1n > (1n << 64n) - 1n) throw new Errno(EOVERFLOW, 'iova + length');
  return getViommu(u, c.viommu_id);
}

export function veventqAllocIoctl(u: Ucmd<typeof U.IommuVeventqAlloc.fields>): number {
  const c = u.cmd;
  if (c.flags || c.__reserved || c.type === IOMMU_VEVENTQ_TYPE_DEFAULT) throw new Errno(EOPNOTSUPP, 'flags, __reserved or type');
  if (!c.veventq_depth || c.veventq_depth > VEVENTQ_MAX_DEPTH) throw new Errno(EINVAL, 'veventq_depth');
  return getViommu(u, c.viommu_id);
}
