// Checks the VFIO/iommufd tests share: a HWPT_PAGING object by ID, and
// VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) on an iommufd.
import assert from 'node:assert/strict';
import { Errno, vfio as V, type IommufdFile } from '../../src/lib/index.js';
import type { HwptPaging } from '../../src/core/hw-pagetable.js';

/** Object `id` of `f`, which must be a HWPT_PAGING. */
export function hwpt(f: IommufdFile, id: number): HwptPaging {
  const o = f.object(id);
  assert.equal(o?.type, 'HWPT_PAGING');
  return o as HwptPaging;
}

/** VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) on the iommufd: the value, or -errno. */
export function dmaCc(f: IommufdFile): number {
  try { return f.ctx.ioctl(f.proc.task, V.VFIO_CHECK_EXTENSION, BigInt(V.VFIO_DMA_CC_IOMMU)); } catch (e) {
    if (e instanceof Errno) return -e.code;
    throw e;
  }
}
