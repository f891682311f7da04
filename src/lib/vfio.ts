// The library's view of a VFIO device cdev: open /dev/vfio/devices/vfioN of
// the engine's platform from a simulated process, bind it to an iommufd of
// that process, attach and detach page tables, with typed calls or raw bytes.
import type { Engine } from '../core/engine.js';
import type { VfioDeviceFile } from '../core/vfio-device.js';
import type { Task } from '../core/task.js';
import type { EmulatedFile } from '../core/file.js';
import type { AddressSpace } from '../hw/memory.js';
import { Errno } from '../uapi/errno.js';
import * as V from '../uapi/vfio.js';

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
export interface VfioRawResult { rc: number; errno: number; out: Uint8Array; }

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
    this.proc.mm.write(this.scratch, bytes);
    try {
      const rc = this.file.ioctl(this.proc.task, request, this.scratch);
      return { rc, errno: 0, out: this.proc.mm.read(this.scratch, bytes.length) };
    } catch (e) {
      if (e instanceof Errno) return { rc: -1, errno: e.code, out: this.proc.mm.read(this.scratch, bytes.length) };
      throw e;
    }
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

  /** close(): the last close of this open file unbinds it. */
  close(): void {
    if (this.proc.files.get(this.fd) === this.file) this.proc.files.delete(this.fd);
    this.file.release();
  }
}
