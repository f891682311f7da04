// The library's view of a VFIO device cdev: open /dev/vfio/devices/vfioN of
// the engine's platform from a simulated process, bind it to an iommufd of
// that process, attach and detach page tables, with typed calls or raw bytes.
import type { Engine } from '../core/engine.js';
import type { VfioDeviceFile } from '../core/vfio-device.js';
import type { Task } from '../core/task.js';
import type { EmulatedFile } from '../core/file.js';
import type { AddressSpace } from '../hw/memory.js';
import { Errno, EIO } from '../uapi/errno.js';
import * as V from '../uapi/vfio.js';
import { rawIoctl, type RawResult } from './raw-ioctl.js';

/** What the wrapper needs of a simulated process (SimProcess). */
export interface VfioProcess {
  readonly mm: AddressSpace & { mmap(len: bigint | number): bigint };
  readonly task: Task;
  addFile(file: EmulatedFile): number;
  readonly files: Map<number, EmulatedFile>;
  /** Take the engine's users for its charges (SimProcess.joinEngine). */
  joinEngine?(engine: Engine): void;
}

/** The result of a raw ioctl: the return value or errno, and the struct bytes after the call. */
export type VfioRawResult = RawResult;

/** One open VFIO device cdev in a simulated process. */
export class VfioDeviceHandle {
  readonly file: VfioDeviceFile;
  /** Its number in the process's fd table. */
  readonly fd: number;
  private readonly scratch: bigint;

  constructor(readonly proc: VfioProcess, engine: Engine, readonly index: number) {
    proc.joinEngine?.(engine);
    this.file = engine.open(`/dev/vfio/devices/vfio${index}`, proc.task) as VfioDeviceFile;
    this.fd = proc.addFile(this.file);
    this.scratch = proc.mm.mmap(4096);
  }

  /** Issue `request` with `bytes` as the argument struct; errors come back as values. */
  ioctlRaw(request: number, bytes: Uint8Array): VfioRawResult {
    return rawIoctl(this.proc, this.file, this.scratch, request, bytes);
  }

  private must(r: VfioRawResult): Uint8Array {
    if (r.errno) throw new Errno(r.errno);
    return r.out;
  }

  /** VFIO_DEVICE_BIND_IOMMUFD to the iommufd at `iommufd` (an fd number of this process, or a file with one). Returns the device ID. */
  bind(iommufd: number | { fd: number }, o: { argsz?: number; flags?: number; tokenUuidPtr?: bigint } = {}): number {
    const S = V.VfioDeviceBindIommufd;
    const bytes = S.encode({
      argsz: o.argsz ?? S.size, flags: o.flags ?? 0, iommufd: typeof iommufd === 'number' ? iommufd : iommufd.fd, out_devid: 0,
      token_uuid_ptr: o.tokenUuidPtr ?? 0n,
    });
    return S.decode(this.must(this.ioctlRaw(V.VFIO_DEVICE_BIND_IOMMUFD, bytes))).out_devid;
  }

  /** VFIO_DEVICE_ATTACH_IOMMUFD_PT to an IOAS or HWPT; with `pasid`, the PASID form. Returns the HWPT ID attached. */
  attach(ptId: number, o: { pasid?: number; argsz?: number; flags?: number } = {}): number {
    const S = V.VfioDeviceAttachIommufdPt;
    const flags = o.flags ?? (o.pasid !== undefined ? V.VFIO_DEVICE_ATTACH_PASID : 0);
    const bytes = S.encode({ argsz: o.argsz ?? S.size, flags, pt_id: ptId, pasid: o.pasid ?? 0 });
    return S.decode(this.must(this.ioctlRaw(V.VFIO_DEVICE_ATTACH_IOMMUFD_PT, bytes))).pt_id;
  }

  /** VFIO_DEVICE_DETACH_IOMMUFD_PT; with `pasid`, the PASID form. */
  detach(o: { pasid?: number; argsz?: number; flags?: number } = {}): void {
    const S = V.VfioDeviceDetachIommufdPt;
    const flags = o.flags ?? (o.pasid !== undefined ? V.VFIO_DEVICE_DETACH_PASID : 0);
    this.must(this.ioctlRaw(V.VFIO_DEVICE_DETACH_IOMMUFD_PT, S.encode({ argsz: o.argsz ?? S.size, flags, pasid: o.pasid ?? 0 })));
  }

  /** VFIO_DEVICE_GET_INFO. */
  info(): { flags: number; numRegions: number; numIrqs: number } {
    const S = V.VfioDeviceInfo;
    const c = S.decode(this.must(this.ioctlRaw(V.VFIO_DEVICE_GET_INFO, S.encode({ argsz: S.size }))));
    return { flags: c.flags, numRegions: c.num_regions, numIrqs: c.num_irqs };
  }

  // ---- the device's regions (pread/pwrite at VFIO_PCI_INDEX_TO_OFFSET) ----

  /** pread of `size` bytes (1, 2, 4 or 8) at `off` of region `index`, little-endian. */
  regionRead(index: number, off: number, size: number): bigint {
    const n = this.file.read!(this.proc.task, this.scratch, size, (BigInt(index) << 40n) + BigInt(off));
    if (n !== size) throw new Errno(EIO, `short read of region ${index}`);
    const b = this.proc.mm.read(this.scratch, size);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }

  /** pwrite of `size` bytes of `value` at `off` of region `index`, little-endian. */
  regionWrite(index: number, off: number, size: number, value: bigint | number): void {
    const b = new Uint8Array(size);
    let v = BigInt(value);
    for (let i = 0; i < size; i++) { b[i] = Number(v & 0xffn); v >>= 8n; }
    this.proc.mm.write(this.scratch, b);
    const n = this.file.write!(this.proc.task, this.scratch, size, (BigInt(index) << 40n) + BigInt(off));
    if (n !== size) throw new Errno(EIO, `short write of region ${index}`);
  }

  /** A 32-bit register of BAR0 (an e1000e's MAC registers). */
  reg(off: number): number {
    return Number(this.regionRead(V.VFIO_PCI_BAR0_REGION_INDEX, off, 4));
  }

  setReg(off: number, value: number): void {
    this.regionWrite(V.VFIO_PCI_BAR0_REGION_INDEX, off, 4, value >>> 0);
  }

  /** Set PCI_COMMAND_MASTER (and memory space) through the config region: the function may DMA. */
  enableBusMaster(): void {
    const cmd = Number(this.regionRead(V.VFIO_PCI_CONFIG_REGION_INDEX, 4, 2));
    this.regionWrite(V.VFIO_PCI_CONFIG_REGION_INDEX, 4, 2, cmd | 0x6);
  }

  /** VFIO_DEVICE_SET_IRQS with eventfds (fd numbers of this process; -1 for none) for vectors from 0. */
  setIrqEventfds(index: number, fds: readonly number[]): void {
    const b = new Uint8Array(20 + 4 * fds.length);
    const flags = V.VFIO_IRQ_SET_DATA_EVENTFD | V.VFIO_IRQ_SET_ACTION_TRIGGER;
    b.set(V.VfioIrqSet.encode({ argsz: b.length, flags, index, start: 0, count: fds.length }));
    const dv = new DataView(b.buffer);
    fds.forEach((v, i) => dv.setInt32(20 + 4 * i, v, true));
    this.must(this.ioctlRaw(V.VFIO_DEVICE_SET_IRQS, b));
  }

  /** close(): the last close of this open file unbinds it. */
  close(): void {
    if (this.proc.files.get(this.fd) === this.file) this.proc.files.delete(this.fd);
    this.file.release();
  }
}
