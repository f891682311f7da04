// The TypeScript library: open /dev/iommu on a simulated machine from a
// simulated process, issue typed calls or raw struct bytes through the same
// dispatch the server uses, and inspect the engine's state.
import { Engine, type EngineOptions } from '../core/engine.js';
import { IommufdCtx } from '../core/iommufd.js';
import type { IommufdIoas } from '../core/ioas.js';
import { RLIM_INFINITY, UserAccounts, type EventfdCtx, type ResolvedFile, type Task } from '../core/task.js';
import { SimulatedAddressSpace, SimulatedFile } from '../hw/memory.js';
import type { IommuDomain } from '../hw/iommu.js';
import { Errno, EBADF, EMSGSIZE } from '../uapi/errno.js';
import * as U from '../uapi/iommufd.js';
import type { StructDef, Fields, Decoded } from '../uapi/struct.js';
import * as T from '../uapi/iommufd-test.js';
import type { IommufdObject } from '../core/object-table.js';
import type { EmulatedFile } from '../core/file.js';
import { VfioDeviceHandle } from './vfio.js';
import { DmaBuf, DmaBufFile } from '../core/dmabuf.js';
import { type Platform } from '../hw/platform.js';
import { loadPlatform } from '../server/platform-file.js';
import { rawIoctl, type RawResult } from './raw-ioctl.js';

export { Engine } from '../core/engine.js';
export { IommufdCtx } from '../core/iommufd.js';
export { Errno, errnoName } from '../uapi/errno.js';
export * as errno from '../uapi/errno.js';
export * as uapi from '../uapi/iommufd.js';
export * as testAbi from '../uapi/iommufd-test.js';
export { SimulatedAddressSpace, SimulatedFile, FileSpace, Frames, PAGE_SIZE, type FileBacking } from '../hw/memory.js';
export { RunDomain } from '../hw/run-domain.js';
export { RLIM_INFINITY } from '../core/task.js';
export { VfioDeviceHandle } from './vfio.js';
export { DmaBuf, DmaBufFile } from '../core/dmabuf.js';
export * as vfio from '../uapi/vfio.js';
export { Machine, openMachine, dmaOutcomes, type DmaOutcome } from './coherency.js';
export { CpuCache, SystemMemory, physAddr, CACHE_LINE, type PhysicalMemory } from '../hw/cache.js';
export { DmaEngine, iommuFaults, type DmaOptions, type DmaReadResult, type DmaWriteResult, type DmaSegment, type IommuFault, type DmaFaultReason } from '../hw/dma.js';
export { KvmVm, type KvmArch, type WbinvdResult } from '../kvm/kvm.js';
export { KvmVfioDevice, vfioFileEnforcedCoherent } from '../kvm/vfio.js';
// The simulated machines, by name (`openIommufd({ platform: 'qemu-vtd' })`) or as values.
export { PLATFORMS, DEFAULT_PLATFORM, type Platform } from '../hw/platform.js';
export { loadPlatform } from '../server/platform-file.js';
// The types that appear in the signatures above and below.
export type { EngineOptions } from '../core/engine.js';
export type { Task, ResolvedFile, UserAccount } from '../core/task.js';
export { UserAccounts } from '../core/task.js';
export type { IommuDomain } from '../hw/iommu.js';
export type { IommufdIoas } from '../core/ioas.js';
export type { IommufdObject } from '../core/object-table.js';
export type { EmulatedFile } from '../core/file.js';
export type { StructDef, Fields, Decoded } from '../uapi/struct.js';
export type { VfioProcess, VfioRawResult } from './vfio.js';

let nextPid = 1000;

export interface ProcessOptions {
  uid?: number;
  /** RLIMIT_MEMLOCK in bytes (default unlimited). */
  rlimitMemlock?: bigint;
  /** CAP_IPC_LOCK (default: true for uid 0). */
  capIpcLock?: boolean;
  /** CAP_SYS_RESOURCE (default: true for uid 0). */
  capSysResource?: boolean;
  /**
   * The users its charges go to (RLIMIT_MEMLOCK per uid). Default: the
   * users of the first engine the process opens a file of; before that, its
   * own.
   */
  users?: UserAccounts;
  /**
   * The machine it runs on: its memory's frames and files are that engine's
   * (Engine.frames). Default: the first engine it opens a file of, as for
   * `users`. (A process whose frames were looked at before any engine has
   * frames of its own, and cannot open an engine's files after.)
   */
  engine?: Engine;
}

/** A simulated process: its memory, its fd table and the task the engine charges. */
/** A simulated eventfd: a counter, and how many references the engine holds to it. */
export class SimEventfd {
  count = 0n;
  /** References the engine took (eventfd_ctx_fdget) and has not released. */
  refs = 0;

  /** A non-blocking read: the counter (reset to 0), or 0n where read(2) would be EAGAIN. */
  read(): bigint {
    const v = this.count;
    this.count = 0n;
    return v;
  }

  /** Handlers the engine watches it with (virqfds). */
  private readonly watchers = new Set<() => void>();

  /** write(2) of `n` by the program: the counter grows; a watching engine takes it and runs its handlers. */
  write(n = 1n): void {
    this.count += n;
    if (!this.watchers.size) return;
    this.count = 0n;
    for (const w of [...this.watchers]) w();
  }

  /** eventfd_ctx_fdget. */
  ref(): EventfdCtx {
    this.refs++;
    let live = true;
    let watcher: (() => void) | undefined;
    return {
      signal: () => { if (live) this.count++; },
      release: () => {
        if (!live) return;
        live = false;
        this.refs--;
        if (watcher) this.watchers.delete(watcher);
      },
      watch: (handler) => {
        if (!live) return;
        watcher = handler;
        this.watchers.add(handler);
      },
    };
  }
}

export class SimProcess {
  readonly mm = new SimulatedAddressSpace();
  readonly task: Task & { resolveFd(fd: number): ResolvedFile };
  /** Open emulated files by fd number. */
  readonly files = new Map<number, EmulatedFile>();
  /** Open plain files (memfds and others, see memfdCreate) by fd number. */
  readonly plainFiles = new Map<number, SimulatedFile>();
  /** Simulated eventfds by fd number (see eventfdCreate). */
  readonly eventfds = new Map<number, SimEventfd>();
  /** Where its user's charges go (see ProcessOptions.users). */
  private users: UserAccounts | undefined;
  /** Files made by memfdCreate, for their names. */
  private memfds = 0;

  constructor(o: ProcessOptions = {}) {
    const uid = o.uid ?? 0;
    const pid = nextPid++;
    this.users = o.users;
    if (o.engine) this.joinEngine(o.engine);
    const self = this;
    this.task = {
      pid, tid: pid, mm: this.mm,
      get user() { return (self.users ??= new UserAccounts()).account(uid); },
      rlimitMemlock: o.rlimitMemlock ?? RLIM_INFINITY,
      capIpcLock: o.capIpcLock ?? uid === 0,
      capSysResource: o.capSysResource ?? uid === 0,
      installFile: (file, fdAt) => {
        const fd = this.addFile(file);
        const b = new Uint8Array(4);
        new DataView(b.buffer).setInt32(0, fd, true);
        this.mm.write(fdAt, b);
      },
      installFileResult: (file) => this.addFile(file),
      resolveFd: (fd): ResolvedFile => {
        const file = this.files.get(fd);
        if (file) return { file, kind: 'emulated' };
        const plain = this.plainFiles.get(fd);
        // The engine's open is a second reference to the same file: closing it changes nothing here.
        if (plain) return { kind: 'other', openBacking: () => plain };
        const efd = this.eventfds.get(fd);
        if (efd) return { kind: 'other', eventfd: () => efd.ref() };
        return { kind: 'bad' };
      },
    };
  }

  /**
   * The process uses `engine`'s files: it runs on that machine (its memory's
   * frames are the engine's; EINVAL if they are another's already), and its
   * user is that machine's, unless it was given users or charged already.
   */
  joinEngine(engine: Engine): void {
    this.mm.place(engine.frames);
    this.users ??= engine.users;
  }

  private freeFd(): number {
    let fd = 3;
    while (this.files.has(fd) || this.plainFiles.has(fd) || this.eventfds.has(fd)) fd++;
    return fd;
  }

  /** Put `file` in the fd table at the lowest free number from 3; returns it. */
  addFile(file: EmulatedFile): number {
    const fd = this.freeFd();
    this.files.set(fd, file);
    return fd;
  }

  /**
   * memfd_create + ftruncate(size): a shmem file whose pages MAP_FILE can
   * pin. `{ memfd: false }` makes some other file (a regular file on a disk,
   * /dev/zero...): it maps, but never pins (EINVAL). Returns the fd; the
   * file's bytes are `plainFiles.get(fd)`.
   */
  memfdCreate(size: bigint | number, o: { memfd?: boolean; name?: string } = {}): number {
    return this.openPlainFile(new SimulatedFile(size, o.memfd ?? true, `sim:${o.name ?? 'memfd'}:${this.task.pid}.${++this.memfds}`));
  }

  /** Put an existing plain file in the fd table too (dup, or a second open of it). */
  openPlainFile(file: SimulatedFile): number {
    const fd = this.freeFd();
    this.plainFiles.set(fd, file);
    return fd;
  }

  /** eventfd(0, 0): a simulated eventfd the engine can take (SET_IRQS); returns the fd. */
  eventfdCreate(): number {
    const fd = this.freeFd();
    this.eventfds.set(fd, new SimEventfd());
    return fd;
  }

  /** close(fd): the file's release. */
  closeFd(fd: number): void {
    if (this.plainFiles.delete(fd)) return;
    if (this.eventfds.delete(fd)) return;
    const f = this.files.get(fd);
    if (!f) throw new Errno(EBADF);
    this.files.delete(fd);
    f.release();
  }
  /** mmap anonymous memory; returns its address. */
  mmap(len: bigint | number, opts?: { at?: bigint; writable?: boolean; align?: bigint }): bigint {
    return this.mm.mmap(len, opts);
  }

  /**
   * mmap plain file `fd` (see memfdCreate) from byte `offset`: MAP_SHARED by
   * default, so the pages at the returned address are the file's (their
   * frames, and their pins shared with IOAS_MAP_FILE of it); `shared: false`
   * is a private copy (anonymous memory here).
   */
  mmapFile(fd: number, len: bigint | number, opts: { offset?: bigint | number; shared?: boolean; at?: bigint; writable?: boolean; align?: bigint } = {}): bigint {
    const file = this.plainFiles.get(fd);
    if (!file) throw new Errno(EBADF);
    return this.mm.mmap(len, { ...opts, file, shared: opts.shared ?? true });
  }
}

export type { RawResult } from './raw-ioctl.js';

export interface MapArgs { ioasId: number; userVa: bigint; length: bigint; iova?: bigint; readable?: boolean; writeable?: boolean; }

/** One open /dev/iommu, used from one simulated process. */
export class IommufdFile {
  readonly ctx: IommufdCtx;
  /** This file's number in the process's fd table. */
  readonly fd: number;
  private scratch: bigint;

  /** This handle shares another process's open file (see inheritBy): closing it drops a hold. */
  private readonly inherited: boolean;

  constructor(readonly proc: SimProcess = new SimProcess(), engine: Engine = new Engine(), share?: IommufdFile) {
    this.inherited = share !== undefined;
    if (share) {
      proc.joinEngine(share.ctx.engine);
      this.ctx = share.ctx;
      this.ctx.hold();
    } else {
      proc.joinEngine(engine);
      this.ctx = engine.open('/dev/iommu', proc.task) as IommufdCtx;
    }
    this.fd = proc.addFile(this.ctx);
    this.scratch = proc.mmap(1 << 16);
  }

  /** Issue `request` with `bytes` as the argument struct; errors come back as values. */
  ioctlRaw(request: number, bytes: Uint8Array): RawResult {
    return rawIoctl(this.proc, this.ctx, this.scratch, request, bytes);
  }

  /** Typed call: encode `v` (size filled in), issue, decode; throws Errno on failure. */
  call<F extends Fields>(request: number, def: StructDef<F>, v: Partial<Decoded<F>>): Decoded<F> {
    const r = this.ioctlRaw(request, def.encode({ size: def.size, ...v } as Partial<Decoded<F>>));
    if (r.errno) throw new Errno(r.errno);
    return def.decode(r.out);
  }

  ioasAlloc(): number {
    return this.call(U.IOMMU_IOAS_ALLOC, U.IommuIoasAlloc, {}).out_ioas_id;
  }

  destroy(id: number): void {
    this.call(U.IOMMU_DESTROY, U.IommuDestroy, { id });
  }

  /** IOMMU_IOAS_MAP; fixed when `iova` is given. Returns the IOVA. */
  map(a: MapArgs): bigint {
    let flags = 0;
    if (a.iova !== undefined) flags |= U.IOMMU_IOAS_MAP_FIXED_IOVA;
    if (a.readable ?? true) flags |= U.IOMMU_IOAS_MAP_READABLE;
    if (a.writeable ?? true) flags |= U.IOMMU_IOAS_MAP_WRITEABLE;
    return this.call(U.IOMMU_IOAS_MAP, U.IommuIoasMap, { flags, ioas_id: a.ioasId, user_va: a.userVa, length: a.length, iova: a.iova ?? 0n }).iova;
  }

  /**
   * IOMMU_IOAS_MAP_FILE of fd `fd` of this process from byte `start`; fixed
   * when `iova` is given. Returns the IOVA.
   */
  mapFile(a: { ioasId: number; fd: number; start?: bigint; length: bigint; iova?: bigint; readable?: boolean; writeable?: boolean }): bigint {
    let flags = 0;
    if (a.iova !== undefined) flags |= U.IOMMU_IOAS_MAP_FIXED_IOVA;
    if (a.readable ?? true) flags |= U.IOMMU_IOAS_MAP_READABLE;
    if (a.writeable ?? true) flags |= U.IOMMU_IOAS_MAP_WRITEABLE;
    return this.call(U.IOMMU_IOAS_MAP_FILE, U.IommuIoasMapFile, {
      flags, ioas_id: a.ioasId, fd: a.fd, start: a.start ?? 0n, length: a.length, iova: a.iova ?? 0n,
    }).iova;
  }

  /** IOMMU_IOAS_CHANGE_PROCESS: this handle's process takes over the pin accounting. */
  changeProcess(): void {
    this.call(U.IOMMU_IOAS_CHANGE_PROCESS, U.IommuIoasChangeProcess, {});
  }

  /**
   * The same open file as seen from `proc` (a child after fork(), or a
   * process the fd was passed to): ioctls through the returned handle run as
   * `proc`. Its close() lets go of this process's file only when both closed.
   */
  inheritBy(proc: SimProcess): IommufdFile {
    return new IommufdFile(proc, this.ctx.engine, this);
  }

  /** IOMMU_IOAS_UNMAP; returns the bytes unmapped. */
  unmap(ioasId: number, iova: bigint, length: bigint): bigint {
    return this.call(U.IOMMU_IOAS_UNMAP, U.IommuIoasUnmap, { ioas_id: ioasId, iova, length }).length;
  }

  /** IOMMU_IOAS_COPY; returns the destination IOVA. */
  copy(a: { dstIoasId: number; srcIoasId: number; srcIova: bigint; length: bigint; dstIova?: bigint; writeable?: boolean }): bigint {
    let flags = U.IOMMU_IOAS_MAP_READABLE;
    if (a.writeable ?? true) flags |= U.IOMMU_IOAS_MAP_WRITEABLE;
    if (a.dstIova !== undefined) flags |= U.IOMMU_IOAS_MAP_FIXED_IOVA;
    return this.call(U.IOMMU_IOAS_COPY, U.IommuIoasCopy, {
      flags, dst_ioas_id: a.dstIoasId, src_ioas_id: a.srcIoasId, length: a.length, dst_iova: a.dstIova ?? 0n, src_iova: a.srcIova,
    }).dst_iova;
  }

  /** IOMMU_IOAS_IOVA_RANGES, following the EMSGSIZE protocol to get every range. */
  iovaRanges(ioasId: number): { ranges: Array<{ start: bigint; last: bigint }>; alignment: bigint } {
    let room = 4;
    for (;;) {
      const R = U.IommuIovaRange.size;
      const buf = this.proc.mmap(room * R);
      const r = this.ioctlRaw(U.IOMMU_IOAS_IOVA_RANGES, U.IommuIoasIovaRanges.encode({ size: U.IommuIoasIovaRanges.size, ioas_id: ioasId, num_iovas: room, allowed_iovas: buf }));
      const out = U.IommuIoasIovaRanges.decode(r.out);
      if (r.errno === EMSGSIZE) { room = out.num_iovas; continue; }
      if (r.errno) throw new Errno(r.errno);
      const ranges = [];
      for (let i = 0; i < out.num_iovas; i++) {
        const e = U.IommuIovaRange.decode(this.proc.mm.read(buf + BigInt(i * R), R));
        ranges.push({ start: e.start, last: e.last });
      }
      return { ranges, alignment: out.out_iova_alignment };
    }
  }

  /** IOMMU_IOAS_ALLOW_IOVAS. */
  allowIovas(ioasId: number, ranges: Array<{ start: bigint; last: bigint }>): void {
    const buf = this.proc.mmap(Math.max(1, ranges.length) * 16);
    ranges.forEach((r, i) => this.proc.mm.write(buf + BigInt(i * 16), U.IommuIovaRange.encode(r)));
    this.call(U.IOMMU_IOAS_ALLOW_IOVAS, U.IommuIoasAllowIovas, { ioas_id: ioasId, num_iovas: ranges.length, allowed_iovas: buf });
  }

  /** IOMMU_OPTION get (val64 returned) or set. */
  option(optionId: number, op: 'get' | 'set', objectId = 0, val64 = 0n): bigint {
    return this.call(U.IOMMU_OPTION, U.IommuOption, {
      option_id: optionId, op: op === 'get' ? U.IOMMU_OPTION_OP_GET : U.IOMMU_OPTION_OP_SET, object_id: objectId, val64,
    }).val64;
  }

  /** IOMMU_TEST_CMD: op `op` on object `id` with the payload through `view`; returns the payload after the call. */
  testCmd<F extends Fields>(op: number, id: number, view: StructDef<F>, payload: Partial<Decoded<F>>): Decoded<F> {
    const bytes = view.encodeInto(payload, T.IommuTestCmd.encode({ size: T.IOMMU_TEST_CMD_SIZE, op, id }));
    const r = this.ioctlRaw(T.IOMMU_TEST_CMD, bytes);
    if (r.errno) throw new Errno(r.errno);
    return view.decode(r.out);
  }

  /**
   * IOMMU_TEST_OP_DMABUF_GET: a test dma-buf of `length` bytes (rounded up to
   * pages; 0 and over 512 pages are EINVAL). Returns its fd in the process's
   * table (the ioctl's result), for mapFile and dmabufRevoke.
   */
  dmabufGet(length: number, openFlags = 0o2000000): number {
    const bytes = T.IommuTestCmdDmabufGet.encodeInto({ length, open_flags: openFlags },
      T.IommuTestCmd.encode({ size: T.IOMMU_TEST_CMD_SIZE, op: T.IOMMU_TEST_OP_DMABUF_GET, id: 0 }));
    const r = this.ioctlRaw(T.IOMMU_TEST_CMD, bytes);
    if (r.errno) throw new Errno(r.errno);
    return r.rc;
  }

  /** IOMMU_TEST_OP_DMABUF_REVOKE: revoke (true) or restore (false) the dma-buf behind `fd`; either way every live mapping of it is revoked. */
  dmabufRevoke(fd: number, revoked: boolean): void {
    this.testCmd(T.IOMMU_TEST_OP_DMABUF_REVOKE, 0, T.IommuTestCmdDmabufRevoke, { dmabuf_fd: fd, revoked: revoked ? 1 : 0 });
  }

  /** The dma-buf behind `fd` of this process (inspection), or undefined. */
  dmabuf(fd: number): DmaBuf | undefined {
    const f = this.proc.files.get(fd);
    return f instanceof DmaBufFile ? f.buf : undefined;
  }

  /** IOMMU_TEST_OP_MOCK_DOMAIN(_FLAGS): plug a mock device in and attach it to `ptId`. */
  mockDomain(ptId: number, devFlags = 0): { stdevId: number; hwptId: number; idevId: number } {
    const r = devFlags
      ? this.testCmd(T.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ptId, T.IommuTestCmdMockDomainFlags, { dev_flags: devFlags })
      : this.testCmd(T.IOMMU_TEST_OP_MOCK_DOMAIN, ptId, T.IommuTestCmdMockDomain, {});
    return { stdevId: r.out_stdev_id, hwptId: r.out_hwpt_id, idevId: r.out_idev_id };
  }

  /** IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: returns the HWPT the device is attached to after. */
  mockDomainReplace(stdevId: number, ptId: number): number {
    return this.testCmd(T.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdevId, T.IommuTestCmdMockDomainReplace, { pt_id: ptId }).pt_id;
  }

  /** IOMMU_HWPT_ALLOC; returns the new HWPT ID. */
  hwptAlloc(a: { devId: number; ptId: number; flags?: number; dataType?: number; data?: Uint8Array; faultId?: number }): number {
    let uptr = 0n;
    if (a.data) { uptr = this.proc.mmap(Math.max(a.data.length, 1)); this.proc.mm.write(uptr, a.data); }
    return this.call(U.IOMMU_HWPT_ALLOC, U.IommuHwptAlloc, {
      flags: a.flags ?? 0, dev_id: a.devId, pt_id: a.ptId, data_type: a.dataType ?? 0,
      data_len: a.data?.length ?? 0, data_uptr: uptr, fault_id: a.faultId ?? 0,
    }).out_hwpt_id;
  }

  /** The object behind an ID (any type), for inspection. */
  object(id: number): IommufdObject | undefined {
    return this.ctx.objects.peek(id);
  }

  /** The IOAS object behind an ID, for inspection. */
  ioas(id: number): IommufdIoas {
    const o = this.ctx.objects.peek(id);
    if (!o || o.type !== 'IOAS') throw new Error(`object ${id} is not an IOAS`);
    return o as IommufdIoas;
  }

  /** Attach a bare domain to an IOAS (what a HWPT does), for studying fill and pinning. */
  addDomain(ioasId: number, domain: IommuDomain): void {
    this.ioas(ioasId).iopt.addDomain(domain);
  }

  removeDomain(ioasId: number, domain: IommuDomain): void {
    this.ioas(ioasId).iopt.removeDomain(domain);
  }

  /** Open /dev/vfio/devices/vfio`n` of this file's machine from the same process; `.bind(this)` binds it here. */
  openVfioDevice(n: number): VfioDeviceHandle {
    return new VfioDeviceHandle(this.proc, this.ctx.engine, n);
  }

  /** close(): the file's release. */
  close(): void {
    if (this.proc.files.get(this.fd) === this.ctx) this.proc.files.delete(this.fd);
    if (this.inherited) { this.ctx.unhold(); return; }
    this.ctx.release();
  }
}

/**
 * Open /dev/iommu on a fresh engine from a fresh simulated process.
 * `platform` is the machine: a built-in name (see PLATFORMS), a platform
 * file's path or a Platform; it overrides `engine.platform`.
 */
export function openIommufd(o: { process?: ProcessOptions; engine?: EngineOptions; platform?: string | Platform } = {}): IommufdFile {
  const platform = typeof o.platform === 'string' ? loadPlatform(o.platform) : o.platform;
  return new IommufdFile(new SimProcess(o.process), new Engine(platform ? { ...o.engine, platform } : o.engine));
}
