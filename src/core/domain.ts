// What the io_pagetable needs of an IOMMU domain (struct iommu_domain as the
// iommufd core uses it). hw/ implements these for each IOMMU driver.
export const IOMMU_READ = 1 << 0;
export const IOMMU_WRITE = 1 << 1;
export const IOMMU_CACHE = 1 << 2;

export interface IommuDomain {
  /** Supported IO page sizes, as a bitmap of sizes (bit n = 2^n bytes). */
  readonly pgsizeBitmap: bigint;
  /** The aperture, inclusive. */
  readonly apertureStart: bigint;
  readonly apertureEnd: bigint;
  /**
   * Map [iova, iova+length) to [paddr, ...). The iommu core splits it into
   * the page sizes the domain supports. May throw Errno; on failure nothing
   * is left mapped by this call.
   */
  map(iova: bigint, paddr: bigint, length: bigint, prot: number): void;
  /** Unmap [iova, iova+length); never fails. */
  unmap(iova: bigint, length: bigint): void;
  /** The physical address behind `iova`, or undefined when unmapped. */
  iovaToPhys(iova: bigint): bigint | undefined;
}

/** Smallest page size of a domain (1 << ffs(pgsize_bitmap)). */
export function smallestPage(d: IommuDomain): bigint {
  const b = d.pgsizeBitmap;
  return b & -b;
}
