// VFIO_DEVICE_IOEVENTFD (vfio_pci_ioctl_ioeventfd, vfio_pci_ioeventfd in
// drivers/vfio/pci/vfio_pci_rdwr.c): an eventfd that, when the user signals
// it, makes vfio-pci write fixed data of 1, 2 or 4 bytes at a BAR offset.
// Registrations are keyed by (BAR, offset, data, size); fd -1 removes one.
// The host watches the eventfd (EventfdCtx.watch: the server polls its copy
// of the client's eventfd, the library runs it on a simulated write).
import { Errno, EEXIST, EINVAL, ENODEV, ENOSPC } from '../uapi/errno.js';
import * as V from '../uapi/vfio.js';
import { showField } from '../uapi/struct.js';
import type { EventfdCtx, Task } from './task.js';
import type { IoctlTrace } from './file.js';
import type { PciFunctionModel } from '../hw/pci.js';
import { eventfdCtxFdget } from './vfio-pci-intrs.js';

/** VFIO_PCI_IOEVENTFD_MAX: registrations per device. */
const IOEVENTFD_MAX = 1000;

interface Ioeventfd { bar: number; pos: number; data: bigint; count: number; trigger: EventfdCtx }

/** The MSI-X table's place, which ioeventfds may not overlap. */
export interface MsixTable { bar: number; offset: number; size: number }

/** vdev->ioeventfds_list of an open device. */
export class VfioPciIoeventfds {
  private readonly list: Ioeventfd[] = [];

  constructor(
    private readonly model: PciFunctionModel,
    private readonly msix: () => MsixTable | undefined,
    /** The virtual command register's memory decoding (a memory BAR's write is dropped while it is off). */
    private readonly memoryEnabled: () => boolean,
  ) {}

  /** vfio_pci_ioctl_ioeventfd: the header, then the registration rules. */
  ioctl(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const S = V.VfioDeviceIoeventfd;
    const minsz = S.end('fd');
    const c = S.decode(Uint8Array.from([...task.mm.read(arg, minsz), 0, 0, 0, 0]));
    if (trace) trace.args = `argsz=${c.argsz} flags=${showField(S, 'flags', c.flags)} offset=0x${c.offset.toString(16)} data=0x${c.data.toString(16)} fd=${c.fd}`;
    if (c.argsz < minsz) throw new Errno(EINVAL, `argsz ${c.argsz} < ${minsz}`);
    if (c.flags & ~V.VFIO_DEVICE_IOEVENTFD_SIZE_MASK) throw new Errno(EINVAL, 'flags');
    const count = c.flags & V.VFIO_DEVICE_IOEVENTFD_SIZE_MASK;
    // One size bit: its value is the byte count.
    if ((count & (count - 1)) !== 0 || count === 0 || c.fd < -1) throw new Errno(EINVAL, 'size or fd');
    return this.set(task, c.offset, c.data, count, c.fd);
  }

  private set(task: Task, offset: bigint, data: bigint, count: number, fd: number): number {
    const bar = Number(offset >> V.VFIO_PCI_OFFSET_SHIFT);
    const pos = offset & V.VFIO_PCI_OFFSET_MASK;
    if (bar > V.VFIO_PCI_BAR5_REGION_INDEX) throw new Errno(EINVAL, 'only BARs');
    const len = this.model.resources[bar]?.length ?? 0n;
    if (pos + BigInt(count) > len) throw new Errno(EINVAL, 'past the BAR');
    const p = Number(pos);
    const x = this.msix();
    if (x && x.bar === bar && !(p + count <= x.offset || p >= x.offset + x.size)) throw new Errno(EINVAL, 'over the MSI-X table');
    // No 64-bit MMIO write on this path (measured).
    if (count === 8) throw new Errno(EINVAL, '8-byte writes');
    const i = this.list.findIndex((e) => e.pos === p && e.bar === bar && e.data === data && e.count === count);
    if (i >= 0) {
      if (fd !== -1) throw new Errno(EEXIST, 'registered already');
      this.list.splice(i, 1)[0]!.trigger.release();
      return 0;
    }
    if (fd < 0) throw new Errno(ENODEV, 'nothing to remove');
    if (this.list.length >= IOEVENTFD_MAX) throw new Errno(ENOSPC, `${IOEVENTFD_MAX} registered`);
    const trigger = eventfdCtxFdget(task, fd);
    const e: Ioeventfd = { bar, pos: p, data, count, trigger };
    const io = this.model.resources[bar]!.io;
    // vfio_pci_ioeventfd_handler: the write, unless memory decoding is off for a memory BAR.
    trigger.watch?.(() => {
      if (!io && !this.memoryEnabled()) return;
      this.model.barWrite(bar, p, count, data & ((1n << BigInt(8 * count)) - 1n));
    });
    this.list.push(e);
    return 0;
  }

  /** The device is closing: every registration goes. */
  teardown(): void {
    for (const e of this.list.splice(0)) e.trigger.release();
  }
}
