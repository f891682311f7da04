// The iommufd-emu server: sockets, client processes, open files, tracing.
//
// Each FILE connection is one open file description of an emulated path; the
// engine's file is released when that connection closes (the last close() of
// every dup and fork of the client's fd) and no mapping of it is left. Each
// CHANNEL connection belongs to one client process and carries that
// process's ioctls, reads, writes, mmaps and control-path lookups, naming the
// file by the socket inode of the client's end. See native/shim/proto.h.
//
// Who may touch what: a connection's process is the kernel's answer
// (SO_PEERCRED, with a pidfd against pid reuse; see peer.ts), never a number
// from a frame: a hello that states another pid is refused. A process reaches
// only files it holds (an inode its /proc/<pid>/fd shows: opened, inherited or
// passed), its own memory (/proc/<pid>/mem of that very process), its own
// threads (/proc/<pid>/task/<tid>) and its own fd numbers.
//
// Isolation: everything a connection does runs inside try/catch; a malformed
// frame ends that connection only; a non-Errno exception from the engine is a
// bug, logged and answered with EIO.
//
// State directory (tmpfs when /dev/shm is writable): the backing files of mmap
// regions (regions/N), the fault-injection control files (debugfs/...,
// task/<tid>/fail-nth; see fault-injection.ts), status snapshots. Every
// directory is the server's own (0700; 0711 once another user is let in, so
// that user can reach but never list or create); a file made for a client is
// created new (O_EXCL|O_NOFOLLOW) in such a directory and given to the client
// by fchown of the open file, never by a path.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine, type DmaHazard } from '../core/engine.js';
import { POLLIN, type EmulatedFile, type IoctlTrace, type MmapRegion, type RegionMemory } from '../core/file.js';
import { Errno, EACCES, EBADF, EEXIST, EFAULT, EINVAL, EIO, ENODEV, ENOMEM, ENOSYS, EPERM, ESPIPE, errnoName, isErrno } from '../uapi/errno.js';
import { describeRequest } from '../uapi/ioctls.js';
import {
  AUX_DRAIN, AUX_KERNEL, OP_FOREIGN, HELLO_SIZE, IEMU_MAGIC, IEMU_VERSION, KIND_ADOPT, KIND_CHANNEL, KIND_FILE, KIND_QUERY, MAX_EXT, MAX_PATH,
  NEWFD_CLOEXEC, NEWFD_RESULT, REC_TRAP, OP_CLOSED, OP_FILE_INFO, OP_IOCTL, OP_MMAP, OP_MMAP_DUP, OP_MUNMAP, OP_READ, OP_RESOLVE, OP_WRITE,
  REC_NEWFD, REC_PATH, REC_WRITE, REPLY_SIZE, REQ_MAPS_STALE, REQ_SIZE, decodeHello, decodeReply, decodeRequest, encodeHello, encodeReply, makedev,
  param, requestExtLen, requestPid, type Hello, type Rec, type Request,
} from './protocol.js';
import { ProcessAddressSpace, ProcessTask, parseMemlock, type ResolvedFd, type TaskHost } from './process-memory.js';
import type { UiClient } from './ui-state.js';
import { PcapWriter } from './pcap.js';
import { hazardSummary, hazardTraceLine } from './hazard-report.js';
import { openFileBacking } from './file-backing.js';
import { HostEventfd, Peer } from './peer.js';
import { ChannelPage } from './channel-page.js';
import { AUX_PAGE, NO_PAGE, OP_DOORBELL, OP_MASK, PAGE_SIZE } from './protocol.js';
import { createPrivate, writePrivate, type Owner } from './private-files.js';
import { markOwner } from './stale-dirs.js';
import { FaultControl } from './fault-injection.js';
import { ProcStatus } from './proc-status.js';
import { KnownFds } from './fd-resolve.js';
import { KvmVfioDevices, foreignEnv, type ForeignHost } from './kvm-vfio.js';
import { KVM_REQUEST_NAMES } from '../uapi/kvm.js';
import { machineSysfs, treeEnv, writeSysfsTree } from './sysfs.js';

export interface ServerOptions {
  engine?: Engine;
  /** Listen here; default: `sock` in a new private 0700 directory under the tmpdir. */
  socketPath?: string;
  /** One decoded line per ioctl; `ev` says what an ioctl's or open's line is about (for filters and summaries). */
  trace?: (line: string, ev?: TraceEvent) => void;
  /** One-line diagnostics for humans (default: stderr). */
  log?: (line: string) => void;
  /** Clients whose euid is 0 get every capability (as root outside a container). */
  rootCaps?: boolean;
  /** strace -s: the most elements of an array behind a pointer a trace line shows (default 32). */
  traceStrsize?: number;
  /** strace -v: unabbreviated structs in trace lines. */
  traceVerbose?: boolean;
  /** Write every frame on the machine's wire to this new pcap file (made for `owner`). */
  pcap?: { path: string; owner?: Owner };
}

/** A traced call: its name, result (-1 or the errno's negation for open) and errno; the file's socket inode. */
export interface TraceEvent {
  name: string; pid: number; result: number; errno: number; durationNs?: bigint; ino?: bigint;
  /** An ioctl's new files, by adoption token: the fd goes to the result, or to the arg's byte `at`. */
  newFds?: ReadonlyArray<{ token: bigint; at?: number }>;
  /** A 'new' note's adoption token. */
  token?: bigint;
}

const O_ACCMODE = 3;
const O_WRONLY = 1;
const O_RDONLY = 0;
const O_RDWR = 2;
const PAGE = 4096n;
const MAP_TYPE = 0xf;
const MAP_SHARED = 1;
const MAP_SHARED_VALIDATE = 3;
const MAP_PRIVATE = 2;
const PROT_WRITE = 2;
/** MAX_RW_COUNT: the most one read/write moves. */
const MAX_RW = 0x7ffff000;

/** A file an ioctl made, waiting for the client to adopt it (REC_NEWFD). */
interface PendingFile { token: bigint; file: EmulatedFile; fdAt: bigint; cloexec: boolean }

/** A client process (one exec image): its address space, shared by all its connections. */
interface ClientProcess {
  pid: number;
  /** The kernel's word for who it is (its channel's SO_PEERCRED, or its parent's at fork). */
  peer: Peer;
  /** Socket inodes of emulated files it was seen to hold (its /proc/<pid>/fd). */
  owned: Set<bigint>;
  /** Its fd numbers known to hold an emulated file (fd-resolve.ts). */
  fds: KnownFds<OpenFile>;
  /** The shim's name for this process image: a new one after exec or fork. */
  cookie: bigint;
  mm: ProcessAddressSpace;
  channels: number;
  /** What its tasks get from us (fds, file identity, fault injection). */
  host: TaskHost;
  /** Files made by the request in progress. */
  made: Array<{ file: EmulatedFile; fdAt: bigint; cloexec: boolean; asResult?: boolean }>;
  /** Files announced to the client (REC_NEWFD) but not yet adopted. */
  pending: Map<bigint, PendingFile>;
  /** Its mappings of emulated files, by id (a forked child's copies keep their parent's ids). */
  mappings: Map<number, Mapping>;
  /** It was told once that a trapped mapping of a device in its KVM VM is out of KVM's reach. */
  kvmMmapWarned?: boolean;
}

interface OpenFile {
  /** The pid that opened it, for traces. */
  pid: number;
  file: EmulatedFile;
  path: string;
  ino: bigint;
  rdev: bigint;
  oflags: number;
  sock: net.Socket;
  /** A wake byte is queued on sock (the file was readable when last looked at). */
  wake: boolean;
  /** Live mappings of it: they keep it open after the last close, as vma->vm_file does. */
  mapped: number;
  /** Its connection closed (last close of the fd); released when `mapped` reaches 0. */
  closed: boolean;
  /** Backing files of its regions, removed on release. */
  backings: Backing[];
  /** f_pos: where read()/write() of a positional file go next (shared by every dup, as the open file description is). */
  pos: bigint;
}

interface Backing { path: string; fd: number; region: MmapRegion }

interface Mapping { id: number; of: OpenFile; region: MmapRegion }

/** A VFIO group node's minor number (the engine's: the order vfio made the groups). */
type GroupMinor = (path: string) => number | undefined;

/**
 * The device numbers stat() reports, as on the oracle's machines (Linux 7.2):
 * /dev/iommu is misc 10:257, /dev/vfio/vfio misc 10:196 (VFIO_MINOR),
 * /dev/vfio/devices/vfioN the vfio cdev region 250:N, /dev/vfio/<group> the
 * group region 251 with the group's minor (the dynamic majors are what that
 * boot assigned).
 */
function devNumbers(p: string, groupMinor?: GroupMinor): [number, number] | undefined {
  if (p === '/dev/iommu') return [10, 257];
  if (p === '/dev/vfio/vfio') return [10, 196];
  const m = /^\/dev\/vfio\/devices\/vfio(\d+)$/.exec(p);
  if (m) return [250, Number(m[1])];
  const g = groupMinor?.(p);
  if (g !== undefined) return [251, g];
  return undefined;
}

/** The device number stat() reports for an emulated path. */
export function deviceNumber(p: string, groupMinor?: GroupMinor): bigint {
  const d = devNumbers(p, groupMinor);
  return d ? makedev(d[0], d[1]) : 0n;
}

/** IOMMUFD_EMU_PATHS for the shim: patterns, each with "=MAJOR,MINOR" when it is a device. */
export function pathsEnv(paths: readonly string[], groupMinor?: GroupMinor): string {
  return paths.map((p) => {
    const d = devNumbers(p, groupMinor);
    return d ? `${p}=${d[0]},${d[1]}` : p;
  }).join(':');
}

/** IOMMUFD_EMU_REDIRECT for the shim: control paths it asks us about (OP_RESOLVE). */
export function redirectEnv(): string {
  return [...FaultControl.patterns, ...ProcStatus.patterns].join(':');
}

function fmtDuration(ns: bigint): string {
  const us = Number(ns) / 1000;
  return us < 1000 ? `${us.toFixed(1)}us` : `${(us / 1000).toFixed(2)}ms`;
}

/** A private directory for our state: on tmpfs when we can (regions are shared memory). */
function makeStateDir(): string {
  for (const base of ['/dev/shm', os.tmpdir()]) {
    try {
      const d = fs.mkdtempSync(path.join(base, 'iommufd-emu-state-'));
      fs.chmodSync(d, 0o700);
      markOwner(d);
      return d;
    } catch { /* next */ }
  }
  throw new Error('cannot create a state directory');
}

const NO_RECS: Rec[] = [];

export class EmuServer {
  readonly engine: Engine;
  /** /dev/vfio/<group> minors, from the engine's groups. */
  private readonly groupMinor = (p: string): number | undefined => this.engine.vfioGroups.find((g) => g.path === p)?.minor;
  readonly socketPath: string;
  /** The private directory we created for the socket, removed on close. */
  private readonly ownDir: string | undefined;
  /** Our private state: region backings and control files. */
  readonly stateDir: string;
  readonly faults: FaultControl;
  /** IOMMUFD_EMU_TREE: the machine's sysfs and /dev/vfio (sysfs.ts), when it has PCI functions to show. */
  private readonly treeEnv: string | undefined;
  /** /proc/<pid>/status with the engine's VmLck/VmPin. */
  private readonly procStatus: ProcStatus;
  private readonly server: net.Server;
  private readonly files = new Map<bigint, OpenFile>();
  /** Open files that can poll(): their wake bytes are re-checked after each request. */
  private readonly pollable = new Set<OpenFile>();
  private readonly procs = new Map<number, ClientProcess>();
  private readonly backings = new Map<MmapRegion, Backing>();
  private nextMapping = 1;
  private nextBacking = 1;
  private readonly sockets = new Set<net.Socket>();
  private readonly trace: ((line: string, ev?: TraceEvent) => void) | undefined;
  private readonly traceStrsize: number | undefined;
  private readonly traceVerbose: boolean;
  private readonly rootCaps: boolean;
  private readonly log: (line: string) => void;
  /** The user `allowUser` let in (besides our own uid and root). */
  private allowed: { uid: number; gid: number } | undefined;
  private closed = false;
  /** The --pcap capture of the wire. */
  private readonly pcap: PcapWriter | undefined;
  /** The clients' real kvm-vfio devices, as far as emulated VFIO files go (KVM_DEV_VFIO_FILE_ADD). */
  readonly kvm: KvmVfioDevices;
  /** What KVM knew of the device when each hazard happened (for the summary at close). */
  private readonly hazardNotes = new WeakMap<DmaHazard, string>();

  private constructor(opts: ServerOptions) {
    this.engine = opts.engine ?? new Engine();
    // Device DMA faults show in the trace, as strace shows a signal.
    this.engine.dma.forEach((e, n) => {
      e.onFault = (f) => this.trace?.(`--- DMA fault vfio${n} iova=0x${f.iova.toString(16)} ${f.write ? 'write' : 'read'} ${f.reason} ---`);
    });
    this.kvm = new KvmVfioDevices(this.engine);
    // Requests that did not snoop the CPU caches: in the trace as they happen, counted at close.
    this.engine.hazardWatchers.add((h) => {
      const note = this.kvm.noteFor(h.vfio);
      this.hazardNotes.set(h, note);
      this.trace?.(hazardTraceLine(h, note));
    });
    this.rootCaps = opts.rootCaps ?? false;
    this.trace = opts.trace;
    this.traceStrsize = opts.traceStrsize;
    this.traceVerbose = opts.traceVerbose ?? false;
    this.log = opts.log ?? ((l) => process.stderr.write(`iommufd-emu: ${l}\n`));
    if (opts.socketPath) {
      this.socketPath = path.resolve(opts.socketPath);
      checkSocketDir(this.socketPath);
    } else {
      this.ownDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-'));
      fs.chmodSync(this.ownDir, 0o700);
      markOwner(this.ownDir);
      this.socketPath = path.join(this.ownDir, 'sock');
    }
    this.stateDir = makeStateDir();
    fs.mkdirSync(path.join(this.stateDir, 'regions'), { mode: 0o700 });
    this.faults = new FaultControl(this.stateDir);
    this.procStatus = new ProcStatus(this.stateDir);
    const tree = machineSysfs(this.engine);
    if (tree) {
      const root = path.join(fs.realpathSync(this.stateDir), 'tree');
      writeSysfsTree(root, tree.entries);
      this.treeEnv = treeEnv(root, tree.prefixes);
    }
    if (opts.pcap) {
      const w = new PcapWriter(opts.pcap.path, opts.pcap.owner);
      this.pcap = w;
      this.engine.wire.sink = (f) => w.frame(f);
    }
    this.server = net.createServer({ allowHalfOpen: false }, (s) => this.accept(s));
    this.server.on('error', (e) => this.log(`server socket: ${e.message}`));
    // Device timers (interrupt throttling and delays, link negotiation) run on host time.
    this.engine.clock.runRealTime({
      afterFire: () => { this.faults.flush(); for (const p of this.pollable) this.syncWake(p); },
      onError: (e) => this.log(`device timer raised an exception (bug): ${(e as Error)?.stack ?? e}`),
    });
  }

  /** Start listening; resolves once the socket accepts connections. */
  static async start(opts: ServerOptions = {}): Promise<EmuServer> {
    const srv = new EmuServer(opts);
    try {
      if (opts.socketPath) await removeStaleSocket(srv.socketPath);
      await new Promise<void>((resolve, reject) => {
        const onErr = (e: Error) => reject(e);
        srv.server.once('error', onErr);
        srv.server.listen(srv.socketPath, () => {
          srv.server.off('error', onErr);
          resolve();
        });
      });
    } catch (e) {
      srv.removeDirs();
      throw e;
    }
    fs.chmodSync(srv.socketPath, 0o600);
    return srv;
  }

  /** The shim's environment for a client of this server. */
  clientEnv(shimPath: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    const preload = base.LD_PRELOAD ? `${shimPath} ${base.LD_PRELOAD}` : shimPath;
    return {
      ...base,
      LD_PRELOAD: preload,
      IOMMUFD_EMU_SOCKET: this.socketPath,
      IOMMUFD_EMU_PATHS: pathsEnv(this.engine.paths(), this.groupMinor),
      IOMMUFD_EMU_REDIRECT: redirectEnv(),
      IOMMUFD_EMU_FOREIGN: foreignEnv(),
      IOMMUFD_EMU_STATE: this.stateDir,
      IOMMUFD_EMU_TRACER: String(process.pid),
      ...(this.treeEnv ? { IOMMUFD_EMU_TREE: this.treeEnv } : {}),
    };
  }

  /**
   * Let another user connect. Nothing changes hands: our directories stay
   * ours and become reachable (0711: search, no listing, no creating), the
   * socket becomes connectable by anyone (0666) and each connection's
   * SO_PEERCRED decides (our uid, root, and this user). The files a client
   * needs are made its own when they are made (private-files.ts).
   */
  allowUser(uid: number, gid: number): void {
    this.allowed = { uid, gid };
    if (this.ownDir) fs.chmodSync(this.ownDir, 0o711);
    for (const d of [this.stateDir, path.join(this.stateDir, 'regions'), this.faults.taskDir, this.procStatus.dir]) fs.chmodSync(d, 0o711);
    fs.chmodSync(this.socketPath, 0o666);
  }

  /** Whether a process of user `uid` may use this server. */
  private mayConnect(uid: number): boolean {
    return uid === 0 || uid === process.geteuid?.() || uid === this.allowed?.uid;
  }

  /**
   * A copy of file `src` (the shim) in the server's private directory,
   * readable by the user `allowUser` let in; returns its path.
   */
  shareWithUser(src: string): string {
    if (!this.ownDir || !this.allowed) return src;
    const dst = path.join(this.ownDir, path.basename(src));
    writePrivate(dst, fs.readFileSync(src), 0o755);
    return dst;
  }

  /** The clients and the emulated files each holds, for the live view (ui-state.ts). */
  uiClients(): UiClient[] {
    return [...this.procs.values()].map((p) => {
      const files = [...p.owned].flatMap((ino) => {
        const f = this.files.get(ino);
        return f ? [{ ino, path: f.path, file: f.file }] : [];
      });
      return {
        pid: p.pid, uid: p.peer.uid, mm: p.mm, files,
        // Read only when a snapshot shows it (the timeline looks at files after every call).
        get rlimitMemlock(): bigint | undefined {
          try { return parseMemlock(fs.readFileSync(`/proc/${p.pid}/limits`, 'latin1')); } catch { return undefined; }
        },
      };
    });
  }

  /** Number of open emulated files (for tests and status). */
  get openFiles(): number {
    return this.files.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.engine.clock.stop();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const p of [...this.procs.values()]) this.dropProcess(p);
    this.kvm.clear();
    for (const f of [...this.files.values()]) this.releaseFile(f);
    try { fs.rmSync(this.socketPath, { force: true }); } catch { /* gone */ }
    this.removeDirs();
    this.pcap?.close();
    const e = this.engine;
    if (e.hazardCount) this.log(hazardSummary(e.hazardCount, e.hazards[0]!, this.hazardNotes.get(e.hazards[0]!)));
  }

  private removeDirs(): void {
    if (this.ownDir) try { fs.rmSync(this.ownDir, { recursive: true, force: true }); } catch { /* gone */ }
    try { fs.rmSync(this.stateDir, { recursive: true, force: true }); } catch { /* gone */ }
  }

  // ---- connections ----

  private accept(sock: net.Socket): void {
    let peer: Peer;
    try {
      peer = Peer.of(sock);
    } catch (e) {
      this.log(`dropping a connection: the kernel cannot say who it is (${(e as Error).message})`);
      sock.destroy();
      return;
    }
    if (!this.mayConnect(peer.uid)) {
      this.log(`refusing a connection from pid ${peer.pid}: uid ${peer.uid} may not use this server`);
      peer.release();
      sock.destroy();
      return;
    }
    this.sockets.add(sock);
    sock.setNoDelay?.(true);
    let buf: Buffer = Buffer.alloc(0);
    let hello: Hello | undefined;
    let onFrames: ((b: Buffer) => Buffer) | undefined;
    let onClose: (() => void) | undefined;

    const fail = (why: string) => {
      this.log(`dropping a client connection: ${why}`);
      sock.destroy();
    };

    sock.on('data', (chunk: Buffer) => {
      try {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        if (!hello) {
          if (buf.length < HELLO_SIZE) return;
          const h = decodeHello(buf);
          if (h.magic !== IEMU_MAGIC || h.version !== IEMU_VERSION) return fail('bad hello (a shim of another version?)');
          if (h.pid !== peer.pid) {
            return fail(`its hello states pid ${h.pid} but the kernel says the peer is pid ${peer.pid} (uid ${peer.uid}): refused`);
          }
          if (h.kind === KIND_FILE || h.kind === KIND_ADOPT) {
            if (h.pathLen > MAX_PATH) return fail('path too long');
            if (buf.length < HELLO_SIZE + h.pathLen) return;
            const body = buf.subarray(HELLO_SIZE, HELLO_SIZE + h.pathLen);
            buf = buf.subarray(HELLO_SIZE + h.pathLen);
            hello = h;
            if (!peer.holdsSocket(h.ino)) return fail(`pid ${peer.pid} does not hold the socket its hello names`);
            const live = this.files.get(h.ino);
            if (live && !live.sock.destroyed && !live.closed) return fail(`pid ${peer.pid} names the socket of a file that is open`);
            onClose = h.kind === KIND_FILE ? this.openFile(sock, h, peer, body.toString('utf8')) : this.adoptFile(sock, h, peer, body);
            onFrames = (b) => b.subarray(b.length); // nothing travels on a file connection
          } else if (h.kind === KIND_CHANNEL) {
            buf = buf.subarray(HELLO_SIZE);
            hello = h;
            const ch = this.openChannel(sock, h, peer);
            if (!ch) return;
            onClose = ch.close;
            onFrames = ch.frames;
          } else if (h.kind === KIND_QUERY) {
            hello = h;
            const text = Buffer.from(`${pathsEnv(this.engine.paths(), this.groupMinor)}\n${redirectEnv()}\n${this.stateDir}\n${this.treeEnv ?? ''}\n${foreignEnv()}`, 'utf8');
            sock.end(Buffer.concat([encodeReply(text.length, process.pid), text]));
            return;
          } else {
            return fail(`unknown connection kind ${h.kind}`);
          }
        }
        if (onFrames && buf.length) buf = onFrames(buf);
      } catch (e) {
        if (e instanceof BadFrame) return fail(e.message);
        this.log(`internal error on a connection (bug): ${(e as Error)?.stack ?? e}`);
        sock.destroy();
      }
    });
    // Act on EOF ('end') or a reset ('error': the client closed with a wake
    // byte unread), both delivered in order with the other sockets' data: a
    // close() the client made before its next request is seen before that
    // request. ('close' comes in a later phase of the event loop.)
    let ended = false;
    const closed = () => {
      if (ended) return;
      ended = true;
      try { onClose?.(); } catch (e) { this.log(`internal error on close (bug): ${(e as Error)?.stack ?? e}`); }
    };
    sock.on('end', closed);
    sock.on('error', closed);
    sock.on('close', () => {
      this.sockets.delete(sock);
      closed();
      peer.release();
    });
  }

  /**
   * The ClientProcess of `peer`, made on first sight. Throws what opening
   * /proc/<pid>/mem throws, or ESRCH when the process is gone (its pid may
   * name another process by now).
   */
  private process(peer: Peer, cookie = 0n): ClientProcess {
    const pid = peer.pid;
    const known = this.procs.get(pid);
    if (known) {
      if (known.peer.alive()) return known;
      // The process we knew by this pid is gone (a child kept its channel open): a new one.
      this.retire(known);
    }
    const mm = new ProcessAddressSpace(pid, this.engine.frames, () => peer.alive());
    if (!peer.alive()) {
      mm.close();
      throw peer.gone();
    }
    this.engine.memory.addAddressSpace(mm);
    const p: ClientProcess = {
      pid, peer: peer.hold(), owned: new Set(), fds: new KnownFds(), cookie, mm, channels: 0,
      host: undefined as unknown as TaskHost, made: [], pending: new Map(), mappings: new Map(),
    };
    p.host = {
      installFile: (file, fdAt) => { p.made.push({ file, fdAt, cloexec: true }); },
      // The client's fd number is the ioctl's result once it adopts the file (NEWFD_RESULT).
      installFileResult: (file, cloexec) => { p.made.push({ file, fdAt: 0n, cloexec, asResult: true }); return 0; },
      resolveFd: (_pid, fd) => this.resolveFd(p, fd),
      faultInjector: (_pid, tid) => this.faults.injector(pid, tid),
      users: this.engine.users,
    };
    this.procs.set(pid, p);
    return p;
  }

  /**
   * The open file with socket inode `ino`, if process `proc` holds it: it
   * opened or adopted it, or its /proc/<pid>/fd shows it (inherited at fork,
   * passed with SCM_RIGHTS). Another process's file is as any fd it does not
   * hold: EBADF.
   */
  private fileOf(proc: ClientProcess, ino: bigint): OpenFile | undefined {
    const of = this.files.get(ino);
    if (!of) return undefined;
    if (proc.owned.has(ino)) return of;
    if (!proc.peer.holdsSocket(ino)) return undefined;
    proc.owned.add(ino);
    return of;
  }

  /**
   * `p` no longer answers for its pid (a new image, or its process is gone):
   * dropped now if no channel of its is open, else only forgotten by pid
   * (its last channel's close drops it).
   */
  private retire(p: ClientProcess): void {
    if (p.channels === 0) this.dropProcess(p);
    else this.procs.delete(p.pid);
  }

  /** A process image is gone (exit, exec): its mappings, unadopted files and control files go too. */
  private dropProcess(p: ClientProcess): void {
    // Its kvm-vfio devices went with it (O_CLOEXEC, or the exit): kvm_vfio_release.
    this.kvm.dropOwner(p);
    this.engine.memory.removeAddressSpace(p.mm);
    p.mm.close();
    p.peer.release();
    if (this.procs.get(p.pid) === p) {
      this.procs.delete(p.pid);
      this.faults.forgetProcess(p.pid);
      this.procStatus.forget(p.pid);
    }
    this.dropPending(p);
    for (const id of [...p.mappings.keys()]) this.unmap(p, id);
  }

  private dropPending(p: ClientProcess): void {
    if (!p.pending.size) return;
    for (const f of p.pending.values()) this.releaseEngineFile(f.file, 'unadopted file');
    p.pending.clear();
  }

  private openChannel(sock: net.Socket, h: Hello, peer: Peer): { frames: (b: Buffer) => Buffer; close: () => void } | undefined {
    let proc: ClientProcess;
    try {
      // A channel from a new image of a pid we hold (after exec, or a reused pid)
      // starts afresh; the old image's channel may not have been seen to close yet.
      // A process a parent registered at fork (cookie 0, OP_MMAP_DUP) is this one.
      const old = this.procs.get(h.pid);
      if (old && old.cookie === 0n) old.cookie = h.ino;
      else if (old && old.cookie !== h.ino) this.retire(old);
      proc = this.process(peer, h.ino);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.log(`cannot access the memory of client pid ${h.pid} (/proc/${h.pid}/mem: ${code ?? e}); ` +
        `run it with 'iommufd-emu run' or let it name this server (pid ${process.pid}) as its ptracer`);
      sock.end(encodeReply(-(code === 'ENOENT' ? EIO : EPERM)));
      return undefined;
    }
    proc.channels++;
    const page = this.channelPage(peer, h);
    sock.write(encodeReply(0, page ? AUX_PAGE : 0));
    let closed = false;
    const late = (r: Buffer) => { if (!sock.destroyed) sock.write(r); };
    // One request from the page, if there is one: true when it was answered at
    // once. A malformed one drops the client (here: this may run from a timer).
    const pageRequest = (): boolean => {
      if (closed || !page || sock.destroyed) return false;
      const t = page.take();
      if (t === undefined) return false;
      const drop = (why: string) => { this.log(`dropping a client connection: ${why}`); sock.destroy(); return false; };
      if (typeof t === 'string') return drop(t);
      const stated = requestPid(t.frame);
      if (stated !== proc.pid) return drop(`a request states pid ${stated} on the channel of pid ${proc.pid} (SO_PEERCRED): refused`);
      const r = this.request(proc, t.frame, 0, (l) => { if (!closed) page.answer(t.seq, l, sock); });
      if (r) page.answer(t.seq, r, sock);
      return r !== undefined;
    };
    const frames = (b: Buffer): Buffer => {
      let off = 0;
      let out: Buffer[] | undefined;
      let one: Buffer | undefined;
      while (b.length - off >= REQ_SIZE) {
        const ext = requestExtLen(b, off);
        if (ext > MAX_EXT) throw new BadFrame(`request extension of ${ext} bytes`);
        if (b.length - off < REQ_SIZE + ext) break;
        const stated = requestPid(b, off);
        if (stated !== proc.pid) throw new BadFrame(`a request states pid ${stated} on the channel of pid ${proc.pid} (SO_PEERCRED): refused`);
        if (page && (b.readUInt32LE(off) & OP_MASK) === OP_DOORBELL) {
          off += REQ_SIZE + ext;
          page.rang();
          page.serve(pageRequest);
          continue;
        }
        const r = this.request(proc, b, off, late);
        off += REQ_SIZE + ext;
        if (!r) continue; // answered later
        if (!one) one = r; else (out ??= [one]).push(r);
      }
      if (out) sock.write(Buffer.concat(out)); else if (one) sock.write(one);
      return off === b.length ? b.subarray(b.length) : Buffer.from(b.subarray(off));
    };
    const close = () => {
      if (closed) return;
      closed = true;
      // Its only channel is gone: the process exited or exec'd, and its memory with it.
      if (--proc.channels === 0) this.dropProcess(proc);
    };
    return { frames, close };
  }

  /**
   * The channel page the hello offers (its fd in the client, oflags), mapped,
   * or undefined: none offered (the shim's IOMMUFD_EMU_NO_SHM=1), or not a memfd sealed
   * against shrinking of the page's size (then the socket carries everything).
   */
  private channelPage(peer: Peer, h: Hello): ChannelPage | undefined {
    if (h.oflags === NO_PAGE) return undefined;
    const fd = peer.getFd(h.oflags);
    if (fd < 0) return undefined;
    try {
      const page = ChannelPage.map(fd);
      if (typeof page === 'number') {
        this.log(`pid ${peer.pid} offers a channel page that is not a sealed memfd of ${PAGE_SIZE} bytes (${-page}): using its socket`);
        return undefined;
      }
      return page;
    } finally {
      fs.closeSync(fd);
    }
  }

  private openFile(sock: net.Socket, h: Hello, peer: Peer, p: string): () => void {
    let result = 0;
    let of: OpenFile | undefined;
    try {
      const proc = this.process(peer);
      const task = new ProcessTask(proc.pid, h.tid, proc.mm, this.rootCaps, proc.host);
      const file = this.engine.open(p, task);
      of = this.register(sock, h, file, p, deviceNumber(p, this.groupMinor), h.oflags);
      proc.owned.add(h.ino);
      proc.fds.clear();
    } catch (e) {
      result = isErrno(e) ? -e.code : -EIO;
      if (!isErrno(e)) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') result = -EPERM;
        else this.log(`open ${p} failed (bug): ${(e as Error)?.stack ?? e}`);
      }
    }
    this.trace?.(`[${h.pid}] open("${p}") = ${result < 0 ? `-1 ${errnoName(-result)}` : 'fd'}`,
      { name: 'open', pid: h.pid, result, errno: result < 0 ? -result : 0, ino: h.ino });
    sock.write(encodeReply(result, Number(of?.rdev ?? 0n)));
    return () => { if (of) this.fileClosed(of); };
  }

  /** An ADOPT connection: the fd the client made for a file an ioctl created. */
  private adoptFile(sock: net.Socket, h: Hello, peer: Peer, body: Buffer): () => void {
    const proc = this.procs.get(peer.pid);
    const token = body.length === 8 ? body.readBigUInt64LE(0) : 0n;
    const pf = proc?.pending.get(token);
    if (!proc || !pf) {
      sock.end(encodeReply(-EBADF));
      return () => {};
    }
    proc.pending.delete(token);
    const of = this.register(sock, h, pf.file, `anon_inode:[${pf.file.kind}]`, 0n, O_RDWR);
    proc.owned.add(h.ino);
    proc.fds.clear();
    this.trace?.(`[${h.pid}] new fd for ${of.path}`, { name: 'new', pid: h.pid, result: 0, errno: 0, ino: h.ino, token });
    sock.write(encodeReply(0, 0));
    this.syncWake(of);
    return () => this.fileClosed(of);
  }

  private register(sock: net.Socket, h: Hello, file: EmulatedFile, p: string, rdev: bigint, oflags: number): OpenFile {
    const of: OpenFile = { pid: h.pid, file, path: p, ino: h.ino, rdev, oflags, sock, wake: false, mapped: 0, closed: false, backings: [], pos: 0n };
    const stale = this.files.get(h.ino);
    if (stale) this.releaseFile(stale);
    this.files.set(h.ino, of);
    if (file.poll) {
      this.pollable.add(of);
      file.onReadable = () => { if (this.files.get(of.ino) === of) this.syncWake(of); };
    }
    return of;
  }

  /** The last close of the client's fd; mappings keep the file open (vma->vm_file). */
  private fileClosed(of: OpenFile): void {
    of.closed = true;
    if (of.mapped === 0 && this.files.get(of.ino) === of) this.releaseFile(of);
  }

  private releaseFile(of: OpenFile): void {
    if (this.files.get(of.ino) === of) this.files.delete(of.ino);
    this.pollable.delete(of);
    of.file.onReadable = undefined;
    this.releaseEngineFile(of.file, of.path);
    for (const b of of.backings) {
      this.backings.delete(b.region);
      try { fs.closeSync(b.fd); } catch { /* closed */ }
      try { fs.rmSync(b.path, { force: true }); } catch { /* gone */ }
    }
    of.backings = [];
    this.trace?.(`[${of.pid}] release("${of.path}") (last close)`);
  }

  private releaseEngineFile(file: EmulatedFile, what: string): void {
    try {
      file.release();
    } catch (e) {
      this.log(`release of ${what} failed (bug): ${(e as Error)?.stack ?? e}`);
    }
  }

  /**
   * Keep the wake byte in step with poll(): queue one when the file turned
   * readable. (Only a READ/WRITE reply can take it back: AUX_DRAIN.) The byte
   * is written at once (the socket's queue is empty), so it is in the
   * client's receive buffer before any reply we send after this.
   */
  private syncWake(of: OpenFile): void {
    if (of.wake || of.sock.destroyed) return;
    let bits = 0;
    try { bits = of.file.poll?.() ?? 0; } catch (e) { this.log(`poll of ${of.path} failed (bug): ${(e as Error)?.stack ?? e}`); }
    if (bits & POLLIN) {
      of.wake = true;
      of.sock.write(WAKE_BYTE);
    }
  }

  /** After a READ/WRITE: AUX_DRAIN when the file stopped being readable. */
  private drainIfIdle(of: OpenFile): number {
    if (!of.wake) { this.syncWake(of); return 0; }
    let bits = 0;
    try { bits = of.file.poll?.() ?? 0; } catch { /* as not readable */ }
    if (bits & POLLIN) return 0;
    of.wake = false;
    return AUX_DRAIN;
  }

  // ---- file identity ----

  /** Fd number `fd` of process `proc`: its own fd table, nobody else's. */
  private resolveFd(proc: ClientProcess, fd: number): ResolvedFd {
    if (!Number.isInteger(fd) || fd < 0) return { kind: 'bad' };
    const known = proc.fds.get(fd);
    if (known) {
      if (this.files.get(known.ino) === known && !known.closed) return { file: known.file, kind: 'emulated' };
      proc.fds.delete(fd);
    }
    const pid = proc.pid;
    let link: string;
    try { link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return { kind: 'bad' }; }
    // Read, then checked that the process is still the one we know (its pid not reused).
    const access = proc.peer.fdAccess(fd);
    if (!access) return { kind: 'bad' };
    const m = /^socket:\[(\d+)\]$/.exec(link);
    const of = m ? this.files.get(BigInt(m[1]!)) : undefined;
    if (of) {
      proc.owned.add(of.ino);
      proc.fds.set(fd, of);
      return { file: of.file, kind: 'emulated' };
    }
    const path = `/proc/${pid}/fd/${fd}`;
    // IOAS_MAP_FILE: the engine opens the file's bytes through the same path,
    // with no more access than the client's own fd has.
    return {
      kind: 'other', path,
      openBacking: () => {
        const b = openFileBacking(path, access);
        if (!proc.peer.alive()) { b.close?.(); throw proc.peer.gone(); }
        return b;
      },
      // SET_IRQS: our own copy of the client's eventfd (pidfd_getfd), checked to be
      // the file /proc showed (it was an eventfd, and the process is still the one).
      eventfd: () => {
        if (link !== 'anon_inode:[eventfd]') throw new Errno(EINVAL, `fd ${fd} is not an eventfd`);
        const copy = proc.peer.getFd(fd);
        if (copy < 0) throw new Errno(copy === -1 ? EPERM : -copy, `cannot take fd ${fd} of pid ${pid}`);
        const e = new HostEventfd(copy);
        let same = false;
        try { same = fs.readlinkSync(`/proc/self/fd/${copy}`) === link && proc.peer.alive(); } catch { /* as not */ }
        if (!same) { e.release(); throw new Errno(EBADF, `fd ${fd} of pid ${pid} changed`); }
        return e;
      },
    };
  }

  // ---- requests ----

  /** One channel request; returns the reply frame, or undefined when it is sent later. Never throws. */
  private request(proc: ClientProcess, b: Buffer, off: number, later: (r: Buffer) => void): Buffer | undefined {
    const q = decodeRequest(b, off);
    // The client has carried out our last reply: files it did not adopt are dead.
    if (proc.pending.size) this.dropPending(proc);
    if (q.flags & REQ_MAPS_STALE) proc.mm.mapsStale();
    switch (q.op) {
      case OP_IOCTL: return this.ioctl(proc, q);
      case OP_FOREIGN: return this.foreignIoctl(proc, q);
      case OP_FILE_INFO: {
        const of = this.fileOf(proc, q.ino);
        return of ? encodeReply(0, Number(of.rdev)) : encodeReply(-EBADF);
      }
      case OP_READ: case OP_WRITE: return this.readWrite(proc, q);
      case OP_MMAP: return this.mmap(proc, q);
      case OP_MUNMAP: return encodeReply(this.unmap(proc, Number(q.arg)));
      case OP_MMAP_DUP: return encodeReply(this.dupMapping(proc, Number(q.arg), Number(param(q, 0) & 0xffffffffn)));
      case OP_RESOLVE: return this.resolve(proc, q);
      case OP_CLOSED: {
        proc.fds.closed(q.ino);
        // The client's close() of that fd has happened; if it was the last
        // reference, the file's EOF is queued on its socket and reaches us in
        // this or the next turn of the event loop. Answer after both.
        // (Any file: the fd is already gone from the client's table, and
        // waiting tells nothing but that a file is being released.)
        if (!this.files.has(q.ino)) return encodeReply(0);
        setImmediate(() => setImmediate(() => later(encodeReply(0))));
        return undefined;
      }
      default: return encodeReply(-ENOSYS);
    }
  }

  /** Run `fn` as the engine runs a call: Errno → -errno, anything else a logged bug (EIO). */
  private guard(what: () => string, fn: () => number): number {
    try {
      const r = fn();
      if (!Number.isInteger(r) || r < 0 || r > 0x7fffffff) throw new Error(`returned ${r}`);
      return r;
    } catch (e) {
      return this.failure(e, what);
    }
  }

  private failure(e: unknown, what: () => string): number {
    if (isErrno(e)) { this.lastErr = e; return -e.code; }
    this.log(`${what()} raised a non-errno exception (engine bug): ${(e as Error)?.stack ?? e}`);
    this.lastErr = new Errno(EIO, 'engine bug');
    return -EIO;
  }
  private lastErr: Errno | undefined;

  /** The writes the engine left to the client, as records. */
  private static writeRecs(proc: ClientProcess, recs: Rec[] | undefined): Rec[] | undefined {
    const w = proc.mm.endIoctl();
    if (!w) return recs;
    const out = recs ?? [];
    for (const x of w) out.push({ type: REC_WRITE, addr: x.va, data: x.data });
    return out;
  }

  private ioctl(proc: ClientProcess, q: Request): Buffer {
    const of = this.fileOf(proc, q.ino);
    if (!of) return encodeReply(-EBADF);
    const task = new ProcessTask(proc.pid, q.tid, proc.mm, this.rootCaps, proc.host);
    proc.mm.beginIoctl(q.arg, q.inline, true);
    const trace: IoctlTrace | undefined = this.trace
      ? { name: '', args: '', ...(this.traceStrsize !== undefined ? { strsize: this.traceStrsize } : {}), verbose: this.traceVerbose } : undefined;
    const t0 = this.trace ? process.hrtime.bigint() : 0n;
    this.lastErr = undefined;
    // The hot path: no closures (guard() does the same for the other ops).
    let result: number;
    try {
      result = of.file.ioctl(task, q.request, q.arg, trace);
      if (!Number.isInteger(result) || result < 0 || result > 0x7fffffff) throw new Error(`returned ${result}`);
    } catch (e) {
      result = this.failure(e, () => `ioctl ${describeRequest(q.request)}`);
    }
    let recs = EmuServer.writeRecs(proc, undefined);
    this.faults.flush();
    // Files the ioctl made: the client adopts them after applying the writes.
    let newFds: Array<{ token: bigint; at?: number }> | undefined;
    if (proc.made.length) {
      const made = proc.made;
      proc.made = [];
      for (const m of made) {
        if (result < 0) { this.releaseEngineFile(m.file, 'file of a failed ioctl'); continue; }
        const token = crypto.randomBytes(8).readBigUInt64LE(0) || 1n;
        proc.pending.set(token, { token, file: m.file, fdAt: m.fdAt, cloexec: m.cloexec });
        const data = new Uint8Array(8);
        new DataView(data.buffer).setBigUint64(0, token, true);
        (recs ??= []).push({ type: REC_NEWFD, flags: (m.cloexec ? NEWFD_CLOEXEC : 0) | (m.asResult ? NEWFD_RESULT : 0), addr: m.fdAt, data });
        if (this.trace) (newFds ??= []).push(m.asResult ? { token } : { token, at: Number(m.fdAt - q.arg) });
      }
    }
    if (this.pollable.size) for (const p of this.pollable) this.syncWake(p);
    if (this.trace && trace) {
      const dt = process.hrtime.bigint() - t0;
      const name = trace.name || describeRequest(q.request);
      const err = this.lastErr as Errno | undefined;
      const res = err ? `-1 ${err.message}` : `${result}${trace.out ? ` {${trace.out}}` : ''}`;
      const tid = q.tid !== proc.pid ? `/${q.tid}` : '';
      this.trace(`[${proc.pid}${tid}] ${name}(${trace.args}) = ${res} <${fmtDuration(dt)}>`,
        { name, pid: proc.pid, result: err ? -1 : result, errno: err?.code ?? 0, durationNs: dt, ino: q.ino, ...(newFds ? { newFds } : {}) });
    }
    // Writes made before a failure still land, as copy_to_user's would.
    return encodeReply(result, 0, recs ?? NO_RECS);
  }

  /**
   * An ioctl on an fd the shim does not own, one of FOREIGN_IOCTLS: the fd
   * number travels in `ino`. Answered here (a kvm-vfio device told of an
   * emulated VFIO file) or left to the real kernel (AUX_KERNEL).
   */
  private foreignIoctl(proc: ClientProcess, q: Request): Buffer {
    const fd = Number(q.ino & 0xffffffffn) | 0;
    const pid = proc.pid;
    const host: ForeignHost = {
      pid,
      fdLink: (n) => {
        if (n < 0) return undefined;
        let link: string;
        try { link = fs.readlinkSync(`/proc/${pid}/fd/${n}`); } catch { return undefined; }
        return proc.peer.alive() ? link : undefined;
      },
      read: (addr, len) => proc.mm.read(addr, len),
      resolveFd: (n) => this.resolveFd(proc, n),
      hold: (n) => this.holdClientFd(proc, n),
      describe: (file) => [...proc.owned].map((ino) => this.files.get(ino)).find((of) => of?.file === file)?.path ?? file.kind,
    };
    proc.mm.beginIoctl(q.arg, q.inline, false);
    const t0 = this.trace ? process.hrtime.bigint() : 0n;
    const a = this.kvm.ioctl(proc, host, fd, q.request, q.arg);
    proc.mm.endIoctl();
    if (a.kernel) {
      this.trace?.(`[${pid}] ${KVM_REQUEST_NAMES.get(q.request) ?? describeRequest(q.request)}(${fd}) → the kernel (${a.why})`);
      return encodeReply(0, AUX_KERNEL);
    }
    if (this.trace) {
      const dt = process.hrtime.bigint() - t0;
      this.trace(`[${pid}] ${a.trace} <${fmtDuration(dt)}>`,
        { name: 'KVM_SET_DEVICE_ATTR', pid, result: a.result < 0 ? -1 : a.result, errno: a.result < 0 ? -a.result : 0, durationNs: dt });
    }
    return encodeReply(a.result);
  }

  /**
   * Keep the file behind fd `fd` of `proc` open (get_file): our own copy of
   * the client's end of its socket (pidfd_getfd), checked to be the socket of
   * an open emulated file; closing it lets the file go (fput).
   */
  private holdClientFd(proc: ClientProcess, fd: number): (() => void) | undefined {
    const copy = proc.peer.getFd(fd);
    if (copy < 0) return undefined;
    let ino: bigint | undefined;
    try { ino = fs.fstatSync(copy, { bigint: true }).ino; } catch { /* as not */ }
    if (ino === undefined || !this.files.has(ino)) {
      try { fs.closeSync(copy); } catch { /* closed */ }
      return undefined;
    }
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      try { fs.closeSync(copy); } catch { /* closed */ }
    };
  }

  private readWrite(proc: ClientProcess, q: Request): Buffer {
    // A trap mapping's loads and stores name its file, which the mapping
    // holds after the process closed its last fd of it (vma->vm_file).
    const of = this.fileOf(proc, q.ino) ?? this.mappedFile(proc, q.ino);
    if (!of) return encodeReply(-EBADF);
    const isRead = q.op === OP_READ;
    const acc = of.oflags & O_ACCMODE;
    if (isRead ? acc === O_WRONLY : acc === O_RDONLY) return encodeReply(-EBADF);
    // pread/pwrite need the file's pread mode (FMODE_PREAD/PWRITE): anon-inode
    // files (fault queues, event queues, access fds) have none: ESPIPE.
    if (param(q, 1) === 1n && !of.file.positional) return encodeReply(-ESPIPE);
    const fn = isRead ? of.file.read : of.file.write;
    if (!fn) return encodeReply(-EINVAL);
    const len = Math.min(q.request, MAX_RW);
    const explicit = param(q, 1) === 1n;
    // a[2]: a trapped load or store of a mapping, not a read()/write().
    const viaMapping = explicit && param(q, 2) === 1n;
    const pos = explicit ? param(q, 0) : of.file.positional ? of.pos : 0n;
    const task = new ProcessTask(proc.pid, q.tid, proc.mm, this.rootCaps, proc.host);
    // A write's bytes came with the request: they are the read-ahead window.
    proc.mm.beginIoctl(q.arg, isRead ? undefined : q.ext, true);
    this.lastErr = undefined;
    const trace: IoctlTrace | undefined = this.trace
      ? { name: '', args: '', ...(this.traceStrsize !== undefined ? { strsize: this.traceStrsize } : {}), verbose: this.traceVerbose } : undefined;
    const result = this.guard(() => `${isRead ? 'read' : 'write'} of ${of.path}`, () => fn.call(of.file, task, q.arg, len, pos, trace, viaMapping));
    // read()/write() move the file position (vfs_read's *ppos), pread/pwrite do not.
    if (!explicit && result > 0 && of.file.positional) of.pos = pos + BigInt(result);
    const recs = EmuServer.writeRecs(proc, undefined);
    this.faults.flush();
    const aux = this.drainIfIdle(of);
    if (this.pollable.size) for (const p of this.pollable) if (p !== of) this.syncWake(p);
    const call = viaMapping ? (isRead ? 'load' : 'store') : `${explicit ? 'p' : ''}${isRead ? 'read' : 'write'}`;
    // What a read returned, as strace shows the buffer: before the count (records of event files).
    const got = trace?.out && result > 0 ? `${trace.out}, ` : '';
    this.trace?.(`[${proc.pid}] ${call}(${of.path}, ${got}${trace?.args || len}) = ${result < 0 ? `-1 ${errnoName(-result)}` : result}`);
    return encodeReply(result, aux, recs ?? NO_RECS);
  }

  // ---- mmap ----

  private mmap(proc: ClientProcess, q: Request): Buffer {
    const of = this.fileOf(proc, q.ino);
    if (!of) return encodeReply(-EBADF);
    const offset = q.arg;
    let length = param(q, 0);
    const prot = Number(param(q, 1) & 0xffffffffn);
    const flags = Number(param(q, 2) & 0xffffffffn);
    // The mm's own rules, before the file's fop (do_mmap).
    if (length === 0n) return encodeReply(-EINVAL);
    length = (length + PAGE - 1n) & ~(PAGE - 1n);
    if (length === 0n || length > 1n << 47n) return encodeReply(-ENOMEM);
    if (offset & (PAGE - 1n)) return encodeReply(-EINVAL);
    const type = flags & MAP_TYPE;
    if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return encodeReply(-EINVAL);
    const acc = of.oflags & O_ACCMODE;
    if (acc === O_WRONLY) return encodeReply(-EACCES);
    if (type !== MAP_PRIVATE && (prot & PROT_WRITE) && acc !== O_RDWR) return encodeReply(-EACCES);
    const fn = of.file.mmap;
    if (!fn) return encodeReply(-ENODEV);
    const task = new ProcessTask(proc.pid, q.tid, proc.mm, this.rootCaps, proc.host);
    proc.mm.beginIoctl(undefined, undefined, true);
    let region: MmapRegion | undefined;
    this.lastErr = undefined;
    const result = this.guard(() => `mmap of ${of.path}`, () => {
      region = fn.call(of.file, task, offset, length, prot, flags);
      if (BigInt(region.length) !== length) {
        region.unmapped();
        throw new Error(`mmap returned a region of ${region.length} bytes for a mapping of ${length}`);
      }
      return 0;
    });
    let recs = EmuServer.writeRecs(proc, undefined);
    this.faults.flush();
    if (result < 0 || !region) {
      this.trace?.(`[${proc.pid}] mmap(${of.path}, 0x${offset.toString(16)}, 0x${length.toString(16)}) = -1 ${errnoName(-result)}`);
      return encodeReply(result, 0, recs ?? NO_RECS);
    }
    let backing: Backing | undefined;
    if (!region.trap) {
      try {
        backing = this.backing(of, region, proc.peer);
      } catch (e) {
        this.log(`cannot back a mapping of ${of.path}: ${(e as Error).message}`);
        region.unmapped();
        return encodeReply(-ENOMEM);
      }
    }
    if (region.trap && !proc.kvmMmapWarned && this.kvm.told(proc, of.file)) {
      // KVM reaches a VMM's mapping of a BAR through a memslot (get_user_pages),
      // never through the process's own loads and stores: a trapped range
      // (PROT_NONE in the client) cannot be faulted in, and the guest's access
      // would fail KVM_RUN with EFAULT. The read/write path works (MMIO exits).
      proc.kvmMmapWarned = true;
      this.log(`pid ${proc.pid} maps registers of ${of.path}, a device it handed to KVM (KVM_DEV_VFIO_FILE_ADD): ` +
        'the shim traps that mapping access by access, which KVM cannot fault in for a guest; ' +
        'have the VMM use read/write for the BARs (QEMU: -device vfio-pci,...,x-no-mmap=on)');
    }
    const id = this.nextMapping++;
    proc.mappings.set(id, { id, of, region });
    of.mapped++;
    // A trap mapping: the shim turns its loads and stores into reads and writes of this file.
    (recs ??= []).push(backing ? { type: REC_PATH, addr: 0n, data: Buffer.from(backing.path) } : { type: REC_TRAP, addr: 0n, data: Buffer.alloc(0) });
    this.trace?.(`[${proc.pid}] mmap(${of.path}, 0x${offset.toString(16)}, 0x${length.toString(16)}) = mapping ${id}${region.trap ? ' (registers: loads and stores trapped)' : ''}`);
    return encodeReply(id, 0, recs);
  }

  /** A file `proc` holds only through a trap mapping of it. */
  private mappedFile(proc: ClientProcess, ino: bigint): OpenFile | undefined {
    for (const m of proc.mappings.values()) if (m.region.trap && m.of.ino === ino) return m.of;
    return undefined;
  }

  /** The shared file behind `region`, made (and attached) on its first mapping, by `owner`. */
  private backing(of: OpenFile, region: MmapRegion, owner: Owner): Backing {
    const known = this.backings.get(region);
    if (known) return known;
    const p = path.join(this.stateDir, 'regions', String(this.nextBacking++));
    const fd = createPrivate(p, 0o600, owner);
    const b: Backing = { path: p, fd, region };
    try {
      fs.ftruncateSync(fd, region.length);
      const mem: RegionMemory = {
        length: region.length,
        read: (o, n) => {
          if (o < 0 || n < 0 || o + n > region.length) throw new Errno(EFAULT, 'outside the region');
          const out = new Uint8Array(n);
          fs.readSync(fd, out, 0, n, o);
          return out;
        },
        write: (o, data) => {
          if (o < 0 || o + data.length > region.length) throw new Errno(EFAULT, 'outside the region');
          fs.writeSync(fd, data, 0, data.length, o);
        },
      };
      region.attach(mem);
    } catch (e) {
      try { fs.closeSync(fd); } catch { /* */ }
      fs.rmSync(p, { force: true });
      throw e;
    }
    this.backings.set(region, b);
    of.backings.push(b);
    return b;
  }

  /** The last piece of mapping `id` is gone (or its process is). */
  private unmap(proc: ClientProcess, id: number): number {
    const m = proc.mappings.get(id);
    if (!m) return -EINVAL;
    proc.mappings.delete(id);
    try { m.region.unmapped(); } catch (e) { this.log(`unmapped() failed (bug): ${(e as Error)?.stack ?? e}`); }
    this.trace?.(`[${proc.pid}] munmap(${m.of.path}) mapping ${id}`);
    if (--m.of.mapped === 0 && m.of.closed && this.files.get(m.of.ino) === m.of) this.releaseFile(m.of);
    return 0;
  }

  /**
   * fork(): the parent tells us, before fork() returns to it, that its child
   * `child` holds a copy of mapping `id` (vm_ops->open). The copy keeps the
   * id in the child's namespace; the child's channel (which its shim opens
   * at once) tells us when it exits.
   */
  private dupMapping(proc: ClientProcess, id: number, child: number): number {
    const m = proc.mappings.get(id);
    if (!m || !child || child === proc.pid) return -EINVAL;
    // Only a child of the caller: its parent (blocked in fork() until we
    // answer) has not reaped it, so the pid is still that child.
    if (parentOf(child) !== proc.pid) return -EINVAL;
    let cp: ClientProcess;
    const peer = Peer.child(child, proc.peer);
    try { cp = this.process(peer); } catch { return 0; /* already gone */ } finally { peer.release(); }
    if (cp.mappings.has(id)) return 0;
    try { m.region.duplicated?.(); } catch (e) { this.log(`duplicated() failed (bug): ${(e as Error)?.stack ?? e}`); return -EIO; }
    cp.mappings.set(id, { id, of: m.of, region: m.region });
    m.of.mapped++;
    this.trace?.(`[${proc.pid}] fork: child ${child} maps ${m.of.path} (mapping ${id})`);
    return 0;
  }

  // ---- control paths ----

  private resolve(proc: ClientProcess, q: Request): Buffer {
    const p = Buffer.from(q.ext).toString('utf8');
    let target: string;
    try {
      if (ProcStatus.matches(p)) {
        target = this.procStatus.resolve(proc.pid, q.tid, p, proc.peer, (pid) => {
          // Another client's numbers only for its own user (or root), as hidepid would.
          const other = this.procs.get(pid);
          return other && (proc.peer.uid === 0 || other.peer.uid === proc.peer.uid) ? other.mm : undefined;
        });
        this.trace?.(`[${proc.pid}] status("${p}") → ${target === p ? 'host' : target}`);
        return encodeReply(0, 0, [{ type: REC_PATH, addr: 0n, data: Buffer.from(target) }]);
      }
      target = this.faults.resolve(proc.pid, q.tid, p, proc.peer);
    } catch (e) {
      return encodeReply(isErrno(e) ? -e.code : -EIO);
    }
    return encodeReply(0, 0, [{ type: REC_PATH, addr: 0n, data: Buffer.from(target) }]);
  }
}

const WAKE_BYTE = Buffer.from([0x21]);

/** The parent pid of process `pid` (field 4 of /proc/<pid>/stat), or 0. */
function parentOf(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * `serve --socket PATH`: the directory must be one nobody else can change
 * (owned by us or root, not writable by group or others), or another user
 * could swap the socket for theirs.
 */
function checkSocketDir(socketPath: string): void {
  const dir = path.dirname(socketPath);
  const st = fs.statSync(dir);
  const me = process.geteuid?.() ?? 0;
  if ((st.uid !== me && st.uid !== 0) || (st.mode & 0o022)) {
    throw new Errno(EACCES, `${dir}: others can write this directory (or it is not ours); put the socket in a directory only we can write`);
  }
}

class BadFrame extends Error {}

/** A socket file left by a server that died: remove it; a live one: EADDRINUSE. */
async function removeStaleSocket(p: string): Promise<void> {
  let st: fs.Stats;
  try { st = fs.lstatSync(p); } catch { return; }
  if (!st.isSocket()) throw new Errno(EEXIST, `${p} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(p);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (alive) throw Object.assign(new Error(`${p}: a server is already listening there`), { code: 'EADDRINUSE' });
  fs.rmSync(p, { force: true });
}

/** Ask a running server (over its socket) for its emulated paths and pid. */
export async function queryServer(socketPath: string): Promise<{ paths: string; redirect: string; stateDir: string; tree: string; foreign: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socketPath);
    const chunks: Buffer[] = [];
    c.once('connect', () => c.write(encodeHello({ kind: KIND_QUERY, pid: process.pid, tid: process.pid, ino: 0n, oflags: 0, pathLen: 0 })));
    c.on('data', (d: Buffer) => chunks.push(d));
    c.once('error', reject);
    c.once('close', () => {
      const all = Buffer.concat(chunks);
      if (all.length < REPLY_SIZE) return reject(new Error(`${socketPath}: not an iommufd-emu server`));
      const r = decodeReply(all);
      if (r.magic !== IEMU_MAGIC || r.result < 0) return reject(new Error(`${socketPath}: not an iommufd-emu server`));
      const [paths = '', redirect = '', stateDir = '', tree = '', foreign = ''] = all.subarray(REPLY_SIZE, REPLY_SIZE + r.result).toString('utf8').split('\n');
      resolve({ paths, redirect, stateDir, tree, foreign, pid: Number(r.aux) });
    });
  });
}
