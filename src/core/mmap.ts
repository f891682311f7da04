// mmap() of the iommufd (main.c iommufd_fops_mmap, driver.c
// _iommufd_alloc_mmap): drivers publish regions (a vIOMMU's MMIO page, a HW
// queue's) at offsets allocated from the context's mt_mmap; a mapping of a
// region holds a `users` reference on the object that owns it, so that object
// cannot be destroyed while the program still has it mapped.
import { Errno, EINVAL, ENXIO, EPERM } from '../uapi/errno.js';
import type { DriverMmap } from '../hw/iommu.js';
import type { MmapRegion, RegionMemory } from './file.js';
import type { IommufdObject } from './object-table.js';
import { PAGE_SIZE, PAGE_SIZE_N } from '../hw/memory.js';

const PROT_EXEC = 0x4;
const MAP_TYPE = 0x0f;
const MAP_SHARED = 0x01;
const MAP_SHARED_VALIDATE = 0x03;

/** One published region (struct iommufd_mmap). */
export class IommufdMmap implements DriverMmap, MmapRegion {
  /** The bytes until the host backs the region with shared memory. */
  private data: Uint8Array;
  private mem: RegionMemory | undefined;

  constructor(readonly owner: IommufdObject, readonly offset: bigint, contents: Uint8Array) {
    this.data = contents.slice();
  }

  get length(): number { return this.data.length; }

  attach(mem: RegionMemory): void {
    mem.write(0, this.data);
    this.mem = mem;
  }

  read(off: number, len: number): Uint8Array {
    return this.mem ? this.mem.read(off, len) : this.data.slice(off, off + len);
  }

  write(off: number, data: Uint8Array): void {
    if (this.mem) this.mem.write(off, data);
    else this.data.set(data, off);
  }

  /** vm_ops->close */
  unmapped(): void { this.owner.users--; }

  /** vm_ops->open (fork copies the mapping) */
  duplicated(): void { this.owner.users++; }
}

/** The context's mt_mmap: regions by offset, allocated lowest-fit above the first page. */
export class IommufdMmapTable {
  private regions: IommufdMmap[] = [];

  /** _iommufd_alloc_mmap: a page-multiple length (EINVAL otherwise) at the lowest free offset >= PAGE_SIZE. */
  alloc(owner: IommufdObject, contents: Uint8Array): IommufdMmap {
    const length = BigInt(contents.length);
    if (!length || length % PAGE_SIZE_N) throw new Errno(EINVAL, 'mmap length');
    let at = PAGE_SIZE_N; // the first page is skipped so that 0 is never a valid offset
    let i = 0;
    for (; i < this.regions.length; i++) {
      const r = this.regions[i]!;
      if (r.offset - at >= length) break;
      const end = r.offset + BigInt(r.length);
      if (end > at) at = end;
    }
    const m = new IommufdMmap(owner, at, contents);
    this.regions.splice(i, 0, m);
    return m;
  }

  /** _iommufd_destroy_mmap */
  destroy(m: DriverMmap): void {
    const i = this.regions.indexOf(m as IommufdMmap);
    if (i >= 0) this.regions.splice(i, 1);
  }

  /** mtree_load: the region containing byte `offset`. */
  find(offset: bigint): IommufdMmap | undefined {
    return this.regions.find((r) => offset >= r.offset && offset < r.offset + BigInt(r.length));
  }

  /**
   * iommufd_fops_mmap: EINVAL for a length that is not a page multiple or a
   * mapping that is not shared, EPERM for PROT_EXEC, ENXIO unless offset and
   * length are exactly a live region's. The mapping holds the region's owner.
   */
  mmap(offset: bigint, length: bigint, prot: number, flags: number): IommufdMmap {
    if (length % BigInt(PAGE_SIZE)) throw new Errno(EINVAL, 'length not page aligned');
    const type = flags & MAP_TYPE;
    if (type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE) throw new Errno(EINVAL, 'mapping is not shared');
    if (prot & PROT_EXEC) throw new Errno(EPERM, 'PROT_EXEC');
    const m = this.find(offset);
    if (!m || m.owner.users === 0) throw new Errno(ENXIO, 'no region at this offset');
    if (m.offset !== offset || BigInt(m.length) !== length) throw new Errno(ENXIO, 'not exactly a region');
    m.owner.users++;
    return m;
  }
}
