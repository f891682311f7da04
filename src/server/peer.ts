// Who is at the other end of a connection, as the kernel says: SO_PEERCRED
// (pid, uid, gid, fixed when the client called connect()) and a pidfd of that
// process, so a pid that outlived its process is never taken for a new one.
// Node has no getsockopt: native/peer (a small Node-API module that knows
// nothing of iommufd) asks for us.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

interface PeerModule {
  peerCred(fd: number): [number, number, number];
  peerPidfd(fd: number): number;
  pidfdOpen(pid: number): number;
  pidfdAlive(pidfd: number): boolean;
  pidfdGetfd(pidfd: number, fd: number): number;
  eventfdSignal(fd: number): number;
  eventfdRead(fd: number): number;
  fdWatch(fd: number, cb: () => void): unknown;
  fdUnwatch(handle: unknown): void;
}

/**
 * A client's eventfd as the server holds it (the engine's EventfdCtx): our
 * own copy of the descriptor (Peer.getFd), so a device can signal it at any
 * time, and watch it for the client's signals (a virqfd); release() stops
 * watching and closes the copy.
 */
export class HostEventfd {
  private watching: unknown;

  constructor(private fd: number) {}

  /**
   * vfio_virqfd: when the client signals the eventfd, take its counter (as
   * the kernel's wait-queue callback does; never blocking: another watcher
   * of the same eventfd, woken by the same signal, may have taken it) and
   * run `handler` once. One watcher per copy.
   */
  watch(handler: () => void): void {
    if (this.fd < 0 || this.watching !== undefined) return;
    const fd = this.fd;
    this.watching = native.fdWatch(fd, () => {
      // A kernel whose eventfd cannot be read without blocking (RWF_NOWAIT
      // before Linux 5.13): stop, rather than spin on a counter we cannot take.
      if (native.eventfdRead(fd) < 0) { this.unwatch(); return; }
      try { handler(); } catch { /* a device handler's failure is the device's: the server goes on */ }
    });
  }

  private unwatch(): void {
    if (this.watching !== undefined) native.fdUnwatch(this.watching);
    this.watching = undefined;
  }

  /** eventfd_signal: +1, skipped when the counter is full (a write would block). */
  signal(): void {
    if (this.fd >= 0) native.eventfdSignal(this.fd);
  }

  release(): void {
    if (this.fd < 0) return;
    this.unwatch();
    try { fs.closeSync(this.fd); } catch { /* closed */ }
    this.fd = -1;
  }
}

/** dist/src/server → the checkout's native/peer/peer.node. */
export function peerModulePath(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../native/peer/peer.node');
}

const native = createRequire(import.meta.url)(peerModulePath()) as PeerModule;

/**
 * The identity of a client process. Held by each connection and by the
 * server's record of the process; the pidfd closes with the last holder.
 */
export class Peer {
  private holders = 1;

  private constructor(
    readonly pid: number, readonly uid: number, readonly gid: number,
    /** A pidfd of that very process, or -1 when the kernel gave none. */
    private pidfd: number,
  ) {}

  /** The peer of a connected Unix socket; throws (with the errno) if the kernel cannot say. */
  static of(sock: net.Socket): Peer {
    const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) throw new Error('the connection has no file descriptor');
    const [pid, uid, gid] = native.peerCred(fd);
    const pidfd = pid > 0 ? native.peerPidfd(fd) : -1;
    return new Peer(pid, uid, gid, pidfd >= 0 ? pidfd : -1);
  }

  /**
   * Process `pid`, known to be what the caller says (a child that `parent`
   * just forked: its pid cannot be reused while the parent has not reaped it),
   * with the parent's credentials, which a fork copies.
   */
  static child(pid: number, parent: Peer): Peer {
    const pidfd = native.pidfdOpen(pid);
    return new Peer(pid, parent.uid, parent.gid, pidfd >= 0 ? pidfd : -1);
  }

  hold(): this {
    this.holders++;
    return this;
  }

  /**
   * Whether the process still exists, so its pid still names it: checked
   * after reading /proc/<pid>/..., what was read was its own.
   */
  alive(): boolean {
    if (this.pidfd < 0) return this.pid > 0 && fs.existsSync(`/proc/${this.pid}`);
    return native.pidfdAlive(this.pidfd);
  }

  /** The error for a process that has gone (its pid may name another one by now). */
  gone(): Error {
    return Object.assign(new Error(`process ${this.pid} is gone`), { code: 'ESRCH' });
  }

  /**
   * Its /proc/<pid>/fd holds the socket with inode `ino`, read while it was
   * still the process that connected (read first, then alive()).
   */
  holdsSocket(ino: bigint): boolean {
    return holdsSocket(this.pid, ino) && this.alive();
  }

  /** The access its fd `fd` has (fdAccess), read while it was still the process that connected. */
  fdAccess(fd: number): { read: boolean; write: boolean } | undefined {
    const a = fdAccess(this.pid, fd);
    return a && this.alive() ? a : undefined;
  }

  /**
   * A copy of the process's fd `fd` in our own table (pidfd_getfd: the
   * access /proc/<pid>/mem needs), or -errno. The caller closes it.
   */
  getFd(fd: number): number {
    if (this.pidfd < 0) return -1; // EPERM: no pidfd, no copy
    return native.pidfdGetfd(this.pidfd, fd);
  }

  /** One holder is done with it. */
  release(): void {
    if (--this.holders > 0 || this.pidfd < 0) return;
    try { fs.closeSync(this.pidfd); } catch { /* closed */ }
    this.pidfd = -1;
  }
}

/** /proc/<pid>/fd of process `pid` holds the socket with inode `ino`. */
export function holdsSocket(pid: number, ino: bigint): boolean {
  const want = `socket:[${ino}]`;
  let fds: string[];
  try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { return false; }
  for (const fd of fds) {
    try { if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === want) return true; } catch { /* closed meanwhile */ }
  }
  return false;
}

/** O_PATH: a file descriptor that only names a file (fget refuses it). */
const O_PATH = 0o10000000;

/** The access an open file of process `pid` has (from /proc/<pid>/fdinfo), or undefined for none/O_PATH. */
export function fdAccess(pid: number, fd: number): { read: boolean; write: boolean } | undefined {
  let text: string;
  try { text = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1'); } catch { return undefined; }
  const m = /^flags:\s*([0-7]+)$/m.exec(text);
  if (!m) return undefined;
  const flags = parseInt(m[1]!, 8);
  if (flags & O_PATH) return undefined;
  const acc = flags & 3;
  return { read: acc !== 1, write: acc !== 0 };
}
