// iopt_area: one MAP (or one piece of a COPY) in an IOAS: an IOVA range bound
// to a slice of an iopt_pages. Areas never overlap and are unmapped whole.
import { PAGE_SHIFT } from '../hw/memory.js';
import type { IoptPages } from './pages.js';

export class IoptArea {
  /** Null while the area is being created (the kernel's "pages == NULL"). */
  pages: IoptPages | null = null;
  /** Accesses that pinned part of this area (unmap must notify them). */
  numAccesses = 0;
  /** Internal accesses that lock the area against unmap (EBUSY). */
  numLocks = 0;
  /** Set while an unmap waits for accesses to let go; new pins get EINVAL. */
  preventAccess = false;
  /** True once the area's pages are held for the IOAS's domains. */
  filled = false;

  constructor(
    readonly iova: bigint,
    /** Last IOVA, inclusive. */
    readonly last: bigint,
    /** Byte offset of the area's first byte from the pages' uptr. */
    readonly startByte: bigint,
    readonly prot: number,
    /** The pages this area will take when published. */
    readonly source: IoptPages,
  ) {}

  get length(): bigint { return this.last - this.iova + 1n; }
  /** Offset of the first byte within its page (area->page_offset). */
  get pageOffset(): bigint { return this.startByte & ((1n << BigInt(PAGE_SHIFT)) - 1n); }
  /** First and count of the pages indexes the area covers. */
  get firstIndex(): number { return Number(this.startByte >> BigInt(PAGE_SHIFT)); }
  get indexCount(): number {
    return Number((this.startByte + this.length - 1n) >> BigInt(PAGE_SHIFT)) - this.firstIndex + 1;
  }
  /** pages byte offset of `iova` inside this area. */
  startByteOf(iova: bigint): bigint { return this.startByte + (iova - this.iova); }
}
