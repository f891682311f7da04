// One open /dev/iommu (struct iommufd_ctx, drivers/iommu/iommufd/main.c): the
// object table, the ioctl table and its generic size rules, options, release.
import { Errno, EINVAL, ENOTTY, EOPNOTSUPP, EPERM, EBUSY } from '../uapi/errno.js';
import * as U from '../uapi/iommufd.js';
import { IOMMUFD_IOCTLS, IOMMUFD_TABLE_LEN, IOMMUFD_TABLE_LEN_NO_TEST } from '../uapi/ioctls.js';
import { formatStruct, widthOf, type Fields } from '../uapi/struct.js';
import type { EmulatedFile, IoctlTrace, MmapRegion } from './file.js';
import { IommufdMmapTable } from './mmap.js';
import type { Task } from './task.js';
import type { Engine } from './engine.js';
import { ObjectTable, type IommufdObject } from './object-table.js';
import type { AccountMode } from './pages.js';
import type { IoctlHandler, Ucmd } from './ucmd.js';
import * as ioas from './ioas.js';
import type { IommufdGroup } from './device.js';
import type { IommuGroup } from '../hw/iommu.js';
import * as device from './device.js';
import * as hwpt from './hw-pagetable.js';
import * as selftest from './selftest.js';
import { vfioCompatIoasGetId, vfioCompatIoctl } from './vfio-compat.js';
import * as viommu from './viommu.js';
import { withTask } from './faults.js';
import { copyStructFromUser } from './uaccess.js';
import { DEFAULT_STRSIZE, recordWrites, testNames, traceArgs, traceOut, type Written } from './trace-decode.js';
import * as eventq from './eventq.js';
import { IOMMUFD_CMD_TEST } from '../uapi/iommufd-test.js';

/** One entry of the ioctl table. */
function op<F extends Fields>(nr: number, h: IoctlHandler<F>): [number, IoctlHandler<Fields>] {
  return [nr, h as unknown as IoctlHandler<Fields>];
}

const C = U.IOMMUFD_CMD;
/** Handlers by ioctl nr (iommufd_ioctl_ops); the uapi table gives their struct and minimum size. */
const HANDLERS: ReadonlyMap<number, IoctlHandler<Fields>> = new Map([
  op<typeof U.IommuDestroy.fields>(C.DESTROY, (u) => { u.ctx.destroyObject(u.cmd.id); return 0; }),
  op(C.IOAS_ALLOC, ioas.ioasAlloc),
  op(C.IOAS_ALLOW_IOVAS, ioas.ioasAllowIovas),
  op(C.IOAS_COPY, ioas.ioasCopy),
  op(C.IOAS_IOVA_RANGES, ioas.ioasIovaRanges),
  op(C.IOAS_MAP, ioas.ioasMap),
  op(C.IOAS_UNMAP, ioas.ioasUnmap),
  op<typeof U.IommuOption.fields>(C.OPTION, (u) => u.ctx.option(u)),
  op<typeof U.IommuVfioIoas.fields>(C.VFIO_IOAS, (u) => u.ctx.vfioIoasIoctl(u)),
  op(C.HWPT_ALLOC, hwpt.hwptAllocIoctl),
  op(C.GET_HW_INFO, device.getHwInfo),
  op(C.HWPT_SET_DIRTY_TRACKING, hwpt.setDirtyTrackingIoctl),
  op(C.HWPT_GET_DIRTY_BITMAP, hwpt.getDirtyBitmapIoctl),
  op(C.HWPT_INVALIDATE, hwpt.hwptInvalidateIoctl),
  op(IOMMUFD_CMD_TEST, selftest.testCmd),
  op(C.VIOMMU_ALLOC, viommu.viommuAllocIoctl),
  op(C.VDEVICE_ALLOC, viommu.vdeviceAllocIoctl),
  op(C.HW_QUEUE_ALLOC, viommu.hwQueueAllocIoctl),
  op(C.VEVENTQ_ALLOC, viommu.veventqAllocIoctl),
  op(C.IOAS_CHANGE_PROCESS, ioas.ioasChangeProcess),
  op(C.IOAS_MAP_FILE, ioas.ioasMapFile),
  op(C.FAULT_QUEUE_ALLOC, eventq.faultAllocIoctl),
]);

export class IommufdCtx implements EmulatedFile {
  readonly kind = 'iommufd';
  readonly objects = new ObjectTable();
  /** IOPT_PAGES_ACCOUNT_USER for /dev/iommu, MM when opened as /dev/vfio/vfio. */
  accountMode: AccountMode;
  /**
   * iommufd_group records by iommu_group (ictx->groups, keyed by the group
   * itself: ids are unique per machine, and a test may plug in a function
   * whose unit numbers its groups alone).
   */
  readonly groups = new Map<IommuGroup, IommufdGroup>();
  /** The IOAS the VFIO type1 compat ioctls act on. */
  vfioIoas: ioas.IommufdIoas | undefined;
  /** ictx->no_iommu_mode: a no-iommu VFIO device joined this context (core/vfio-compat.ts). */
  noIommuMode = false;
  /** Regions drivers published for mmap() of this file (ictx->mt_mmap). */
  readonly mmaps = new IommufdMmapTable();
  private released = false;

  constructor(readonly engine: Engine, opts: { vfioContainer?: boolean } = {}) {
    this.accountMode = opts.vfioContainer ? 'MM' : 'USER';
  }

  /** iommufd_fops_ioctl. */
  ioctl(task: Task, request: number, arg: bigint, trace?: IoctlTrace): number {
    return withTask(task, () => this.dispatch(task, request, arg, trace));
  }

  private dispatch(task: Task, request: number, arg: bigint, trace?: IoctlTrace): number {
    const nr = request & 0xff;
    const tableLen = this.engine.testAbi ? IOMMUFD_TABLE_LEN : IOMMUFD_TABLE_LEN_NO_TEST;
    if (nr < U.IOMMUFD_CMD_BASE || nr - U.IOMMUFD_CMD_BASE >= tableLen) return this.vfioCompat(task, request, arg, trace);
    const desc = IOMMUFD_IOCTLS[nr - U.IOMMUFD_CMD_BASE];
    if (trace) trace.name = desc && desc.request === request ? desc.name : `ioctl 0x${request.toString(16)}`;
    const sizeBuf = task.mm.read(arg, 4);
    const userSize = (sizeBuf[0]! | (sizeBuf[1]! << 8) | (sizeBuf[2]! << 16) | (sizeBuf[3]! << 24)) >>> 0;
    const handler = HANDLERS.get(nr);
    if (!desc || desc.request !== request || !handler) throw new Errno(ENOTTY, 'unknown iommufd ioctl');
    if (userSize < desc.minSize) throw new Errno(EINVAL, `size ${userSize} < ${desc.minSize}`);
    const buf = copyStructFromUser(task, arg, userSize, desc.struct.size);
    const def = desc.struct;
    const cmd = def.decode(buf);
    // What the trace needs; nothing of it when untraced (the hot path).
    const style = trace ? { strsize: trace.strsize ?? DEFAULT_STRSIZE, verbose: trace.verbose ?? false } : undefined;
    if (trace && style) trace.args = traceArgs(desc.name, def, cmd, buf, task.mm, style);
    const before = trace ? def.encode(cmd) : undefined;
    const was = trace ? { ...cmd } : undefined;
    const rawWas = trace ? buf.slice(0, Math.min(userSize, def.size)) : undefined;
    const u: Ucmd = {
      ctx: this, task, arg, userSize, def, cmd, raw: buf,
      respond: () => {
        const out = def.encodeInto(cmd, buf.slice());
        task.mm.write(arg, out.subarray(0, Math.min(userSize, def.size)));
      },
    };
    const writes: Written[] | undefined = trace ? [] : undefined;
    const rc = writes ? recordWrites(task.mm, writes, () => handler(u)) : handler(u);
    if (trace && before && was && rawWas && writes && style) {
      const after = def.encode(cmd);
      // Only what the handler wrote back: fields whose own bytes changed,
      // within what the caller's size let it copy out (as strace shows).
      const changed = Object.entries(def.fields)
        .filter(([k, f]) => {
          const end = Math.min(f.off + widthOf(f), userSize);
          // (a union's other reading of the same bytes, in_data_type beside out_data_type, did not change)
          return f.off < end && before.subarray(f.off, end).some((b, i) => b !== after[f.off + i]) &&
            String((was as Record<string, unknown>)[k]) !== String((cmd as Record<string, unknown>)[k]);
        })
        .map(([k]) => k);
      const extra = traceOut(desc.name, was, cmd, rawWas, arg, writes, style);
      const out = [changed.length ? formatStruct(def, cmd, changed, { verbose: style.verbose, show: testNames(def, cmd) }) : '', extra].filter((x) => x).join(' ');
      if (out) trace.out = out;
    }
    return rc;
  }

  /** Ioctls below the iommufd range go to the VFIO type1 compat handler. */
  private vfioCompat(task: Task, request: number, arg: bigint, trace?: IoctlTrace): number {
    return vfioCompatIoctl(this, task, request, arg, trace);
  }

  /** iommufd_fops_mmap: a region a driver published (a vIOMMU's page); the mapping holds its owner. */
  mmap(task: Task, offset: bigint, length: bigint, prot: number, flags: number): MmapRegion {
    void task;
    return this.mmaps.mmap(offset, length, prot, flags);
  }

  /** IOMMU_DESTROY. */
  destroyObject(id: number): void {
    const o = this.objects.peek(id);
    this.objects.remove(id);
    if (o && o === this.vfioIoas) this.vfioIoas = undefined;
  }

  /** IOMMU_OPTION (iommufd_option). Only val64 is written back. */
  option(u: Ucmd<typeof U.IommuOption.fields>): number {
    const c = u.cmd;
    if (c.__reserved) throw new Errno(EOPNOTSUPP, '__reserved');
    switch (c.option_id) {
      case U.IOMMU_OPTION_RLIMIT_MODE: this.optionRlimitMode(u); break;
      case U.IOMMU_OPTION_HUGE_PAGES: ioas.ioasOptionHugePages(u, c); break;
      default: throw new Errno(EOPNOTSUPP, 'option_id');
    }
    const v = new Uint8Array(8);
    new DataView(v.buffer).setBigUint64(0, c.val64, true);
    u.task.mm.write(u.arg + 16n, v);
    return 0;
  }

  private optionRlimitMode(u: Ucmd<typeof U.IommuOption.fields>): void {
    const c = u.cmd;
    if (c.object_id) throw new Errno(EOPNOTSUPP, 'object_id');
    if (c.op === U.IOMMU_OPTION_OP_GET) { c.val64 = this.accountMode === 'MM' ? 1n : 0n; return; }
    if (c.op === U.IOMMU_OPTION_OP_SET) {
      if (!u.task.capSysResource) throw new Errno(EPERM, 'needs CAP_SYS_RESOURCE');
      if (!this.objects.empty) throw new Errno(EBUSY, 'objects exist');
      if (c.val64 === 0n) this.accountMode = 'USER';
      else if (c.val64 === 1n) this.accountMode = 'MM';
      else throw new Errno(EINVAL, 'val64');
      return;
    }
    throw new Errno(EOPNOTSUPP, 'op');
  }

  /** IOMMU_VFIO_IOAS. */
  vfioIoasIoctl(u: Ucmd<typeof U.IommuVfioIoas.fields>): number {
    const c = u.cmd;
    if (c.__reserved) throw new Errno(EOPNOTSUPP, '__reserved');
    switch (c.op) {
      case U.IOMMU_VFIO_IOAS_GET: {
        c.ioas_id = vfioCompatIoasGetId(this);
        u.respond();
        return 0;
      }
      case U.IOMMU_VFIO_IOAS_SET: {
        const o = this.objects.get<ioas.IommufdIoas>(c.ioas_id, 'IOAS');
        this.vfioIoas = o;
        this.objects.put(o);
        return 0;
      }
      case U.IOMMU_VFIO_IOAS_CLEAR:
        this.vfioIoas = undefined;
        return 0;
      default:
        throw new Errno(EOPNOTSUPP, 'op');
    }
  }

  /**
   * References that keep the context alive after its file is closed: a bound
   * VFIO device holds the iommufd file (iommufd_ctx_get) until it unbinds.
   */
  private holds = 0;
  private fileClosed = false;

  /** iommufd_ctx_get: one more holder of the file. */
  hold(): void { this.holds++; }

  /** iommufd_ctx_put: the last holder of a closed file runs its release. */
  unhold(): void {
    if (--this.holds === 0 && this.fileClosed) this.doRelease();
  }

  /** The file's last fd went away; the release runs once no device holds the context. */
  release(): IommufdObject[] {
    this.fileClosed = true;
    if (this.holds > 0) return [];
    return this.doRelease();
  }

  /** iommufd_fops_release: destroy every object, leaves first. */
  private doRelease(): IommufdObject[] {
    if (this.released) return [];
    this.released = true;
    this.vfioIoas = undefined;
    return this.objects.releaseAll();
  }
}
