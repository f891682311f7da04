// A real client process as the engine sees it: its memory through
// /proc/<pid>/mem, its mappings through /proc/<pid>/maps, and its identity,
// limits and capabilities through /proc/<pid>/status and limits.
//
// One ProcessAddressSpace per client process (per exec image), shared by all
// of its connections, so pins are per page of the process and global across
// its files, as the kernel's are.
import * as fs from 'node:fs';
import { Errno, EFAULT, ESRCH } from '../uapi/errno.js';
import { MmPins, PAGE_SHIFT, PAGE_SIZE_N, type AddressSpace, type FileBacking, type Frames, type SharedFileMap } from '../hw/memory.js';
import { openFileBacking } from './file-backing.js';
import { ProcTexts } from './proc-texts.js';
import { makedev } from './protocol.js';
import { RunCounter } from '../util/run-counter.js';
import { RLIM_INFINITY, UserAccounts, type EventfdCtx, type FaultInjector, type Task, type UserAccount } from '../core/task.js';
import type { EmulatedFile } from '../core/file.js';

/**
 * Addresses we can reach: Node's fs takes a file position as a safe integer
 * (a bigint position is not honoured by writeSync), which covers every user
 * address of 4-level paging and of 5-level paging below 2^53.
 */
const USER_VA_LIMIT = 1n << 53n;

/** Bytes the first read of an ioctl fetches (a struct is read as size, then whole). */
const READ_AHEAD = 256;

/** Bytes of writes per request the client applies itself (REC_WRITE); more go through /proc/<pid>/mem. */
export const DEFER_MAX = 64 * 1024;

/** A write into the requesting client's memory that its shim makes (process_vm_writev). */
export interface DeferredWrite { va: bigint; data: Uint8Array }

export interface Vma {
  start: bigint; end: bigint; read: boolean; write: boolean;
  /** A MAP_SHARED mapping of a file (a memfd, a shmem or other file, shared anonymous memory): its identity and offset. */
  file?: { identity: string; offset: bigint; path: string };
}

/** Parse /proc/<pid>/maps text into sorted mappings. */
export function parseMaps(text: string): Vma[] {
  const out: Vma[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const dash = line.indexOf('-');
    const sp = line.indexOf(' ', dash);
    if (dash < 0 || sp < 0) continue;
    const perms = line.slice(sp + 1, sp + 5);
    const v: Vma = {
      start: BigInt('0x' + line.slice(0, dash)),
      end: BigInt('0x' + line.slice(dash + 1, sp)),
      read: perms[0] === 'r',
      write: perms[1] === 'w',
    };
    if (perms[3] === 's') {
      // "start-end perms offset major:minor inode   path"
      const f = line.slice(sp + 6).split(/\s+/);
      const [offset, dev, inode] = f;
      const path = line.slice(sp + 6).replace(/^\S+\s+\S+\s+\S+\s*/, '');
      const mm = dev ? /^([0-9a-f]+):([0-9a-f]+)$/.exec(dev) : null;
      if (offset && mm && inode && inode !== '0') {
        v.file = { identity: `${makedev(parseInt(mm[1]!, 16), parseInt(mm[2]!, 16))}:${inode}`, offset: BigInt('0x' + offset), path };
      }
    }
    out.push(v);
  }
  return out;
}

/** Shmem-like files (as statfs would say): pinnable by memfd_pin_folios. A guess from the maps path. */
function shmemPath(p: string): boolean {
  return p.startsWith('/memfd:') || p.startsWith('/dev/shm/') || p.startsWith('/dev/zero') || p.startsWith('/SYSV') || p.startsWith('/anon_hugepage') || p.startsWith('/dev/hugepages/');
}

const NO_FILE_MAPS: readonly SharedFileMap[] = [];

/** How many bytes from va (at most len) mappings with the needed permission cover without a gap. */
function coveredBytes(vmas: readonly Vma[], va: bigint, len: bigint, write: boolean): bigint {
  if (len === 0n) return 0n;
  let cur = va;
  const end = va + len;
  for (const m of vmas) {
    if (m.end <= cur) continue;
    if (m.start > cur) break;
    if (write ? !m.write : !m.read) break;
    cur = m.end;
    if (cur >= end) return len;
  }
  return cur - va;
}

/** Is [va, va+len) covered by mappings with the needed permission? */
function covered(vmas: readonly Vma[], va: bigint, len: bigint, write: boolean): boolean {
  return coveredBytes(vmas, va, len, write) === len;
}

/**
 * pread (`io` fs.readSync) or pwrite (fs.writeSync) of `buf` at `va` on
 * /proc/<pid>/mem until all of it moved or the file stops short (EIO at an
 * unmapped page): the bytes moved.
 */
function memIo(io: (fd: number, buf: Uint8Array, off: number, len: number, pos: number) => number,
  fd: number, buf: Uint8Array, va: bigint): number {
  let done = 0;
  try {
    while (done < buf.length) {
      const n = io(fd, buf, done, buf.length - done, Number(va) + done);
      if (n <= 0) break;
      done += n;
    }
  } catch {
    /* EIO: unmapped */
  }
  return done;
}

/**
 * The AddressSpace of a live client process.
 *
 * /proc/<pid>/mem writes with FOLL_FORCE, so on its own it would write into a
 * read-only mapping where copy_to_user faults. Writes are therefore checked
 * against a snapshot of /proc/<pid>/maps. Reading maps costs far more than the
 * ioctl round trip, so the snapshot is kept across ioctls and re-read only when
 * it does not show the target writable (a miss), and for checkPinnable at its
 * first call in each request (and on a miss).
 * An unmapped target still fails (pwrite gives EIO); the one case the snapshot
 * can miss is a range made read-only in place since it was taken.
 */
export class ProcessAddressSpace implements AddressSpace {
  readonly id: number;
  readonly pins: RunCounter = new MmPins(this);
  lockedVm = 0;
  pinnedVm = 0;
  private memFd: number;
  private vmas: Vma[] | undefined;
  /**
   * The snapshot was read for a pin of the current request. Attaching a
   * device fills its domain with every area of the IOAS, one pin each: DPDK
   * maps its memory 4 KiB at a time (16384 areas for 64 MiB), and re-reading
   * its 1200-line maps for each took minutes.
   */
  private pinFresh = false;
  /** How many times /proc/<pid>/maps was read (the cost checkPinnable saves). */
  mapsReads = 0;
  private closed = false;

  /** Its /proc/<pid>/ text files (maps, status, limits), kept open. */
  readonly procTexts: ProcTexts;

  /**
   * Opens /proc/<pid>/mem; throws the system error (EACCES, EPERM, ENOENT)
   * if it cannot. Its frames are numbered in `frames`, the engine's.
   * `alive`: whether the pid still names that process (the caller's pidfd),
   * checked as each other /proc file of it is opened.
   */
  constructor(readonly pid: number, readonly frames: Frames, alive?: () => boolean) {
    this.id = frames.allocMmId();
    this.memFd = fs.openSync(`/proc/${pid}/mem`, 'r+');
    this.procTexts = new ProcTexts(pid, alive);
  }

  /**
   * Read-ahead of the current ioctl: the dispatcher reads a struct's size and
   * then the struct, so the first read takes up to READ_AHEAD bytes (never past
   * its page, which might be the last mapped one) and later reads inside that
   * window cost no syscall. Valid for one ioctl only: the client may change its
   * memory between ioctls, as it may between two copy_from_user of the kernel.
   */
  private ahead: { va: bigint; data: Uint8Array } | undefined;

  /**
   * A new ioctl starts: drop the last one's read-ahead (the maps snapshot
   * survives). `inline` is what the client itself read at `arg` as it issued
   * the ioctl; it becomes the read-ahead window.
   */
  beginIoctl(arg?: bigint, inline?: Uint8Array, defer = false): void {
    this.pinFresh = false;
    // A plain Uint8Array over the request's bytes (a Buffer's slice() would
    // hand out views of them; a Uint8Array's copies). Nothing writes them.
    this.ahead = arg !== undefined && inline && inline.length
      ? { va: arg, data: new Uint8Array(inline.buffer, inline.byteOffset, inline.length) } : undefined;
    this.deferring = defer;
    if (this.pending.length) this.pending = [];
    this.pendingBytes = 0;
  }

  /**
   * Writes made while a request of this process is served are left to its
   * shim (which applies them with process_vm_writev before the call returns,
   * so page protections hold at the moment of the write) instead of a pwrite
   * to /proc/<pid>/mem each: one syscall fewer on the server per write. They
   * are still checked against the maps snapshot first, so a write to memory
   * known to be unwritable fails in the engine with EFAULT as before; one the
   * snapshot wrongly shows writable fails in the shim, which then returns
   * EFAULT (after the engine went on as if it had succeeded) and marks the
   * snapshot stale. Reads of bytes with a pending write, and writes too big
   * to carry, flush the pending ones through /proc first.
   */
  private deferring = false;
  private pending: DeferredWrite[] = [];
  private pendingBytes = 0;
  /** The span the pending writes cover (set by the first of them): most reads fall outside it. */
  private pendingLo = 0n;
  private pendingHi = 0n;

  /** The request is over: the writes the client must make, in order (REC_WRITE). */
  endIoctl(): DeferredWrite[] | undefined {
    this.deferring = false;
    this.pinFresh = false;
    if (!this.pending.length) return undefined;
    const out = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return out;
  }

  /** The client saw one of our deferred writes fault: forget the maps snapshot. */
  mapsStale(): void {
    this.vmas = undefined;
  }

  private flushPending(): void {
    const p = this.pending;
    if (!p.length) return;
    this.pending = [];
    this.pendingBytes = 0;
    for (const w of p) this.writeRaw(w.va, w.data);
  }

  private overlapsPending(va: bigint, len: number): boolean {
    const end = va + BigInt(len);
    if (end <= this.pendingLo || va >= this.pendingHi) return false;
    for (const w of this.pending) if (w.va < end && va < w.va + BigInt(w.data.length)) return true;
    return false;
  }

  /** The maps text last parsed and what it gave: a re-read that finds the same text parses nothing. */
  private mapsText: string | undefined;
  private mapsParsed: Vma[] = [];

  private maps(): Vma[] {
    if (!this.vmas) {
      this.mapsReads++;
      const text = this.procTexts.read('maps') ?? '';
      if (text !== this.mapsText) {
        try { this.mapsParsed = parseMaps(text); } catch { this.mapsParsed = []; }
        this.mapsText = text;
      }
      this.vmas = this.mapsParsed;
    }
    return this.vmas;
  }

  /** The shared file mappings of the current snapshot, as SharedFileMaps (made once per snapshot). */
  private fileMaps: { of: Vma[]; maps: SharedFileMap[] } | undefined;

  sharedFileMaps(first: number, end: number): readonly SharedFileMap[] {
    const vmas = this.maps();
    let fm = this.fileMaps;
    if (!fm || fm.of !== vmas) {
      const maps: SharedFileMap[] = [];
      for (const v of vmas) {
        const f = v.file;
        if (!f) continue;
        const vma = v;
        maps.push({
          start: Number(v.start >> BigInt(PAGE_SHIFT)), end: Number(v.end >> BigInt(PAGE_SHIFT)),
          pgoff: Number(f.offset >> BigInt(PAGE_SHIFT)), identity: f.identity,
          open: () => this.openMapped(vma),
        });
      }
      this.fileMaps = fm = { of: vmas, maps };
    }
    if (!fm.maps.length) return fm.maps;
    let out: SharedFileMap[] | undefined;
    for (const m of fm.maps) if (m.start < end && m.end > first) (out ??= []).push(m);
    return out ?? NO_FILE_MAPS;
  }

  /**
   * The bytes of the file a shared mapping shows, to make its FileSpace: the
   * file itself through /proc/<pid>/map_files (needs CAP_SYS_ADMIN) or an fd
   * of the process open on it, else the mapping's own bytes (reads and
   * writes through the process's memory, past it zeros).
   */
  private openMapped(v: Vma): FileBacking {
    const f = v.file!;
    const tryOpen = (p: string): FileBacking | undefined => {
      try {
        const b = openFileBacking(p);
        if (b.identity === f.identity) return b;
        b.close?.();
      } catch { /* not that way */ }
      return undefined;
    };
    const b = tryOpen(`/proc/${this.pid}/map_files/${v.start.toString(16)}-${v.end.toString(16)}`);
    if (b) return b;
    try {
      for (const fd of fs.readdirSync(`/proc/${this.pid}/fd`)) {
        let st: fs.BigIntStats;
        try { st = fs.statSync(`/proc/${this.pid}/fd/${fd}`, { bigint: true }); } catch { continue; }
        if (`${st.dev}:${st.ino}` !== f.identity) continue;
        const b2 = tryOpen(`/proc/${this.pid}/fd/${fd}`);
        if (b2) return b2;
      }
    } catch { /* no fds to look at */ }
    const base = v.start - f.offset;
    const lo = f.offset, hi = f.offset + (v.end - v.start);
    return {
      identity: f.identity,
      isMemfd: shmemPath(f.path),
      size: () => hi,
      read: (off, len) => {
        const out = new Uint8Array(len);
        const s = off > lo ? off : lo, e = off + BigInt(len) < hi ? off + BigInt(len) : hi;
        if (s < e && !this.closed) {
          const got = this.readRaw(base + s, Number(e - s), true);
          if (got) out.set(got, Number(s - off));
        }
        return out;
      },
      write: (off, data) => {
        const s = off > lo ? off : lo, e = off + BigInt(data.length) < hi ? off + BigInt(data.length) : hi;
        if (s < e && !this.closed) {
          try { this.writeRaw(base + s, data.subarray(Number(s - off), Number(e - off))); } catch { /* gone */ }
        }
      },
    };
  }

  private static inRange(va: bigint, len: number | bigint): boolean {
    return va >= 0n && va + BigInt(len) <= USER_VA_LIMIT;
  }

  read(va: bigint, len: number): Uint8Array {
    if (len === 0) return new Uint8Array(0);
    if (this.closed || !ProcessAddressSpace.inRange(va, len)) throw new Errno(EFAULT, 'bad user address');
    if (this.pending.length && this.overlapsPending(va, len)) this.flushPending();
    const a = this.ahead;
    if (a && va >= a.va && va + BigInt(len) <= a.va + BigInt(a.data.length)) {
      const off = Number(va - a.va);
      return a.data.slice(off, off + len);
    }
    if (len < READ_AHEAD) {
      const toPageEnd = Number(PAGE_SIZE_N - (va & (PAGE_SIZE_N - 1n)));
      const want = Math.min(READ_AHEAD, toPageEnd);
      if (want > len) {
        const data = this.readRaw(va, want, true);
        if (data) {
          this.ahead = { va, data };
          return data.slice(0, len);
        }
      }
    }
    return this.readRaw(va, len, false)!;
  }

  /** pread the whole range; EFAULT (or undefined when `soft`) if any byte is missing. */
  private readRaw(va: bigint, len: number, soft: boolean): Uint8Array | undefined {
    // /proc/<pid>/mem reads with FOLL_FORCE and so would read PROT_NONE pages
    // where copy_from_user faults: check the maps snapshot (re-read on a miss).
    if (!covered(this.maps(), va, BigInt(len), false)) {
      this.vmas = undefined;
      if (!covered(this.maps(), va, BigInt(len), false)) {
        if (soft) return undefined;
        throw new Errno(EFAULT, `read of unmapped or unreadable memory at 0x${va.toString(16)}`);
      }
    }
    const out = new Uint8Array(len);
    if (memIo(fs.readSync, this.memFd, out, va) !== len) {
      if (soft) return undefined;
      throw new Errno(EFAULT, `read of unmapped memory at 0x${va.toString(16)}`);
    }
    return out;
  }

  write(va: bigint, data: Uint8Array): void {
    const len = data.length;
    if (len === 0) return;
    if (this.closed || !ProcessAddressSpace.inRange(va, len)) throw new Errno(EFAULT, 'bad user address');
    if (!covered(this.maps(), va, BigInt(len), true)) {
      this.vmas = undefined; // a miss: the snapshot may be older than the mapping
      const ok = Number(coveredBytes(this.maps(), va, BigInt(len), true));
      if (ok < len) {
        // copy_to_user stops at the fault: the bytes before it are written.
        if (ok > 0) this.write(va, data.subarray(0, ok));
        throw new Errno(EFAULT, `write to unmapped or read-only memory at 0x${(va + BigInt(ok)).toString(16)}`);
      }
    }
    this.ahead = undefined;
    if (this.deferring && this.pendingBytes + len <= DEFER_MAX) {
      const end = va + BigInt(len);
      if (!this.pending.length) { this.pendingLo = va; this.pendingHi = end; } else {
        if (va < this.pendingLo) this.pendingLo = va;
        if (end > this.pendingHi) this.pendingHi = end;
      }
      this.pending.push({ va, data: new Uint8Array(data) });
      this.pendingBytes += len;
      return;
    }
    this.flushPending();
    this.writeRaw(va, data);
  }

  /** pwrite to /proc/<pid>/mem (checked by the caller); EFAULT if it comes up short. */
  private writeRaw(va: bigint, data: Uint8Array): void {
    if (memIo(fs.writeSync, this.memFd, data, va) !== data.length) {
      this.vmas = undefined;
      throw new Errno(EFAULT, `write to unmapped memory at 0x${va.toString(16)}`);
    }
  }

  checkPinnable(va: bigint, len: bigint, write: boolean): void {
    if (len === 0n) return;
    const first = va & ~(PAGE_SIZE_N - 1n);
    const end = ((va + len + PAGE_SIZE_N - 1n) / PAGE_SIZE_N) * PAGE_SIZE_N;
    if (this.closed || !ProcessAddressSpace.inRange(first, end - first)) throw new Errno(EFAULT, 'bad user address');
    // Pinning must see the current mappings: the first pin of a request
    // re-reads them, the request's later pins use that snapshot (as if they
    // all came at that instant) and re-read only on a miss.
    if (!this.pinFresh) this.vmas = undefined;
    this.pinFresh = true;
    if (covered(this.maps(), first, end - first, write)) return;
    this.vmas = undefined;
    if (!covered(this.maps(), first, end - first, write)) {
      throw new Errno(EFAULT, `range 0x${va.toString(16)}+0x${len.toString(16)} not mapped${write ? ' writable' : ''}`);
    }
  }

  /** The process exited or exec'd: its memory is gone. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { fs.closeSync(this.memFd); } catch { /* already gone */ }
    this.procTexts.close();
  }
}

/** A client fd number as the engine sees it (file identity). */
export interface ResolvedFd {
  file?: EmulatedFile;
  kind: 'emulated' | 'other' | 'bad';
  path?: string;
  /** For 'other': the file's bytes, opened for IOAS_MAP_FILE (see file-backing.ts). */
  openBacking?(): FileBacking;
  /** For 'other': our own reference to it as an eventfd (Task's ResolvedFile.eventfd). */
  eventfd?(): EventfdCtx;
}

/** The server's side of a ProcessTask. */
export interface TaskHost {
  installFile?(file: EmulatedFile, fdAt: bigint): void;
  /** The ioctl's result becomes a new fd for `file` (Task.installFileResult). */
  installFileResult?(file: EmulatedFile, cloexec: boolean): number;
  resolveFd?(pid: number, fd: number): ResolvedFd;
  faultInjector?(pid: number, tid: number): FaultInjector | undefined;
  /** The machine's users (the engine's); a task without a host accounts alone. */
  readonly users?: UserAccounts;
}

/** Parse "Max locked memory" from /proc/<pid>/limits (soft limit). */
export function parseMemlock(text: string): bigint {
  for (const line of text.split('\n')) {
    if (!line.startsWith('Max locked memory')) continue;
    const soft = line.slice('Max locked memory'.length).trim().split(/\s+/)[0];
    if (soft === undefined || soft === 'unlimited') return RLIM_INFINITY;
    return BigInt(soft);
  }
  return RLIM_INFINITY;
}

const CAP_IPC_LOCK = 14n;
const CAP_SYS_RESOURCE = 24n;

interface Status { uid: number; capEff: bigint; capBnd: bigint; }

/** Uid (effective) and CapEff from /proc/<pid>/status. */
export function parseStatus(text: string): Status {
  let uid = 0;
  let capEff = 0n;
  let capBnd = (1n << 64n) - 1n;
  for (const line of text.split('\n')) {
    if (line.startsWith('Uid:')) uid = Number(line.slice(4).trim().split(/\s+/)[1] ?? 0);
    else if (line.startsWith('CapEff:')) capEff = BigInt('0x' + line.slice(7).trim());
    else if (line.startsWith('CapBnd:')) capBnd = BigInt('0x' + line.slice(7).trim());
  }
  return { uid, capEff, capBnd };
}

/**
 * The Task for one ioctl of thread `tid` of process `pid`. Limits, uid and
 * capabilities are read from /proc lazily on first use within this ioctl, so an
 * ioctl that needs none of them costs no /proc read, and a setrlimit() between
 * two ioctls is seen by the second.
 */
export class ProcessTask implements Task {
  private status: Status | undefined;
  private memlock: bigint | undefined;

  constructor(
    readonly pid: number, readonly tid: number, readonly mm: ProcessAddressSpace,
    /**
     * Root outside a container: a capability the container withheld (absent
     * from the bounding set) counts as held by a root client; one the client
     * dropped itself (in the bounding set, not effective) does not.
     */
    private readonly rootCaps = false,
    /** What the server offers this task beyond /proc: fds, fault injection. */
    private readonly host?: TaskHost,
  ) {}

  installFile(file: EmulatedFile, fdAt: bigint): void {
    if (!this.host?.installFile) throw new Errno(EFAULT, 'this caller cannot receive files');
    this.host.installFile(file, fdAt);
  }

  installFileResult(file: EmulatedFile, cloexec: boolean): number {
    if (!this.host?.installFileResult) throw new Errno(EFAULT, 'this caller cannot receive files');
    return this.host.installFileResult(file, cloexec);
  }

  resolveFd(fd: number): ResolvedFd {
    return this.host?.resolveFd?.(this.pid, fd) ?? { kind: 'bad' };
  }

  get faultInjector(): FaultInjector | undefined {
    return this.host?.faultInjector?.(this.pid, this.tid);
  }

  private cap(bit: bigint): boolean {
    const st = this.readStatus();
    if (this.rootCaps && st.uid === 0 && !((st.capBnd >> bit) & 1n)) return true;
    return ((st.capEff >> bit) & 1n) === 1n;
  }

  /**
   * The calling thread's credentials: /proc/<pid>/task/<tid>, so a tid that
   * is not one of this process's threads reads nothing (then the process's
   * own). Read first, then checked that the pid still names our client.
   */
  private readStatus(): Status {
    if (!this.status) {
      // Kept open (ProcTexts), checked at their open to be our client's.
      const texts = this.mm.procTexts;
      const text = (this.tid === this.pid ? undefined : texts.read(`task/${this.tid}/status`)) ?? texts.read('status');
      if (text === undefined) throw this.gone();
      this.status = parseStatus(text);
    }
    return this.status;
  }

  private gone(): Errno { return new Errno(ESRCH, `process ${this.pid} is gone`); }

  get user(): UserAccount { return (this.host?.users ?? (this.ownUsers ??= new UserAccounts())).account(this.readStatus().uid); }
  private ownUsers: UserAccounts | undefined;
  get capIpcLock(): boolean { return this.cap(CAP_IPC_LOCK); }
  get capSysResource(): boolean { return this.cap(CAP_SYS_RESOURCE); }
  get rlimitMemlock(): bigint {
    if (this.memlock === undefined) {
      const text = this.mm.procTexts.read('limits');
      if (text === undefined) throw this.gone();
      this.memlock = parseMemlock(text);
    }
    return this.memlock;
  }
}
