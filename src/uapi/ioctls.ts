// The iommufd ioctl table as data: request, name, struct and the minimum size
// (offsetofend of the last mandatory member, as drivers/iommu/iommufd/main.c
// lists them). core/ pairs each entry with its handler.
import type { StructDef } from './struct.js';
import * as U from './iommufd.js';

export interface IoctlDesc {
  readonly nr: number;
  readonly request: number;
  readonly name: string;
  readonly struct: StructDef;
  /** Smallest `size` the kernel accepts (smaller → EINVAL). */
  readonly minSize: number;
}

function op(nr: number, name: string, struct: StructDef, last: string): IoctlDesc {
  return { nr, request: U.iommufdRequest(nr), name, struct, minSize: struct.end(last as never) };
}

const C = U.IOMMUFD_CMD;

/** Indexed by nr - IOMMUFD_CMD_BASE; holes are undefined. */
export const IOMMUFD_IOCTLS: ReadonlyArray<IoctlDesc | undefined> = (() => {
  const t: Array<IoctlDesc | undefined> = [];
  const add = (d: IoctlDesc) => { t[d.nr - U.IOMMUFD_CMD_BASE] = d; };
  add(op(C.DESTROY, 'IOMMU_DESTROY', U.IommuDestroy, 'id'));
  add(op(C.IOAS_ALLOC, 'IOMMU_IOAS_ALLOC', U.IommuIoasAlloc, 'out_ioas_id'));
  add(op(C.IOAS_ALLOW_IOVAS, 'IOMMU_IOAS_ALLOW_IOVAS', U.IommuIoasAllowIovas, 'allowed_iovas'));
  add(op(C.IOAS_COPY, 'IOMMU_IOAS_COPY', U.IommuIoasCopy, 'src_iova'));
  add(op(C.IOAS_IOVA_RANGES, 'IOMMU_IOAS_IOVA_RANGES', U.IommuIoasIovaRanges, 'out_iova_alignment'));
  add(op(C.IOAS_MAP, 'IOMMU_IOAS_MAP', U.IommuIoasMap, 'iova'));
  add(op(C.IOAS_UNMAP, 'IOMMU_IOAS_UNMAP', U.IommuIoasUnmap, 'length'));
  add(op(C.OPTION, 'IOMMU_OPTION', U.IommuOption, 'val64'));
  add(op(C.VFIO_IOAS, 'IOMMU_VFIO_IOAS', U.IommuVfioIoas, '__reserved'));
  return t;
})();

/** The table's length as the kernel sizes it (test builds reach IOMMU_TEST_CMD at 0xa0). */
export const IOMMUFD_TABLE_LEN = 0xa0 - U.IOMMUFD_CMD_BASE + 1;

export function ioctlByRequest(request: number): IoctlDesc | undefined {
  const nr = request & 0xff;
  const d = IOMMUFD_IOCTLS[nr - U.IOMMUFD_CMD_BASE];
  return d && d.request === request ? d : undefined;
}
