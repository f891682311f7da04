// mmap() of a vfio-pci device file: vfio_device_fops_mmap (the file must be
// bound) and vfio_pci_core_mmap (a shared mapping of a BAR vfio-pci marked
// mmappable, within the BAR rounded up to pages). The mapping is the
// device's registers (VM_IO | VM_PFNMAP): nothing backs it, each load and
// store reaches the device as a read or write of the BAR region, with the
// same rules (memory decoding, the function's power state) as pread/pwrite.
import { Errno, EINVAL } from '../uapi/errno.js';
import * as V from '../uapi/vfio.js';
import type { MmapRegion } from './file.js';
import type { PciFunctionModel } from '../hw/pci.js';
import type { VfioPciInfo } from '../hw/pci.js';
import { PAGE_SIZE_N } from '../hw/memory.js';

const MAP_TYPE = 0x0f;
const MAP_SHARED = 0x01;
const MAP_SHARED_VALIDATE = 0x03;

/** One mapping of (part of) a BAR: registers, trapped access by access. */
export class VfioBarMapping implements MmapRegion {
  readonly trap = true;

  constructor(readonly bar: number, readonly offset: bigint, readonly length: number) {}

  attach(): void {
    throw new Error('a BAR mapping is registers: nothing backs it');
  }

  unmapped(): void { /* vm_ops->close: vfio-pci keeps nothing per mapping */ }

  duplicated(): void { /* vm_ops->open: likewise */ }
}

/**
 * vfio_pci_core_mmap, after vfio_device_fops_mmap's check that the file is
 * bound: EINVAL for a region past the last, a private mapping, the ROM,
 * config space, VGA and device-specific regions (vfio-pci has none here), a
 * BAR without VFIO_REGION_INFO_FLAG_MMAP (I/O ports, unimplemented BARs), or
 * a range past the BAR's length rounded up to a page. `length` is the VMA's
 * (already page-rounded by the mm); PROT_EXEC is allowed.
 */
export function vfioPciMmap(info: VfioPciInfo, model: PciFunctionModel, offset: bigint, length: bigint, flags: number): VfioBarMapping {
  const index = Number(offset >> V.VFIO_PCI_OFFSET_SHIFT);
  if (index >= info.numRegions) throw new Errno(EINVAL, `no region ${index}`);
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE) throw new Errno(EINVAL, 'a BAR mapping must be shared');
  if (index >= V.VFIO_PCI_ROM_REGION_INDEX) throw new Errno(EINVAL, `region ${index} cannot be mapped`);
  const region = info.regions[index];
  const res = model.resources[index];
  if (!region || !(region.flags & V.VFIO_REGION_INFO_FLAG_MMAP) || !res) throw new Errno(EINVAL, `BAR ${index} is not mmappable`);
  const physLen = (res.length + PAGE_SIZE_N - 1n) & ~(PAGE_SIZE_N - 1n);
  const start = offset & V.VFIO_PCI_OFFSET_MASK;
  if (start + length > physLen) throw new Errno(EINVAL, `0x${start.toString(16)}+0x${length.toString(16)} is past BAR ${index}`);
  return new VfioBarMapping(index, start, Number(length));
}
