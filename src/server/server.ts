// The iommufd-emu server: sockets, client processes, open files, tracing.
//
// Each FILE connection is one open file description of an emulated path; the
// engine's file is released when that connection closes (the last close() of
// every dup and fork of the client's fd). Each CHANNEL connection belongs to
// one client process and carries that process's ioctls, naming the file by
// the socket inode of the client's end. See native/shim/proto.h.
//
// Isolation: everything a connection does runs inside try/catch; a malformed
// frame ends that connection only; a non-Errno exception from the engine is a
// bug, logged and answered with EIO.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../core/engine.js';
import type { EmulatedFile, IoctlTrace } from '../core/file.js';
import { Errno, EBADF, EIO, ENOSYS, EPERM, errnoName, isErrno } from '../uapi/errno.js';
import { describeRequest } from '../uapi/ioctls.js';
import {
  HELLO_SIZE, IEMU_MAGIC, IEMU_VERSION, KIND_CHANNEL, KIND_FILE, KIND_QUERY, MAX_PATH,
  OP_FILE_INFO, OP_IOCTL, REQ_SIZE, decodeHello, decodeRequest, encodeReply, makedev, type Hello,
} from './protocol.js';
import { ProcessAddressSpace, ProcessTask } from './process-memory.js';

export interface ServerOptions {
  engine?: Engine;
  /** Listen here; default: `sock` in a new private 0700 directory under the tmpdir. */
  socketPath?: string;
  /** One decoded line per ioctl. */
  trace?: (line: string) => void;
  /** One-line diagnostics for humans (default: stderr). */
  log?: (line: string) => void;
  /** Clients whose euid is 0 get every capability (as root outside a container). */
  rootCaps?: boolean;
}

/** A client process (one exec image): its address space, shared by all its connections. */
interface ClientProcess {
  pid: number;
  /** The shim's name for this process image: a new one after exec or fork. */
  cookie: bigint;
  mm: ProcessAddressSpace;
  channels: number;
}

interface OpenFile {
  /** The pid that opened it, for traces. */
  pid: number;
  file: EmulatedFile;
  path: string;
  ino: bigint;
  rdev: bigint;
}

/** The device number stat() reports for an emulated path (approximate: see shim). */
export function deviceNumber(p: string): bigint {
  if (p === '/dev/iommu') return makedev(10, 123);
  const m = /^\/dev\/vfio\/devices\/vfio(\d+)$/.exec(p);
  if (m) return makedev(236, Number(m[1]));
  return 0n;
}

/** IOMMUFD_EMU_PATHS for the shim: patterns, each with "=MAJOR,MINOR" when it is a device. */
export function pathsEnv(paths: readonly string[]): string {
  return paths.map((p) => {
    if (p === '/dev/iommu') return `${p}=10,123`;
    if (p.startsWith('/dev/vfio/devices/vfio')) return `${p}=236,0`;
    return p;
  }).join(':');
}

function fmtDuration(ns: bigint): string {
  const us = Number(ns) / 1000;
  return us < 1000 ? `${us.toFixed(1)}us` : `${(us / 1000).toFixed(2)}ms`;
}

export class EmuServer {
  readonly engine: Engine;
  readonly socketPath: string;
  /** The private directory we created for the socket, removed on close. */
  private readonly ownDir: string | undefined;
  private readonly server: net.Server;
  private readonly files = new Map<bigint, OpenFile>();
  private readonly procs = new Map<number, ClientProcess>();
  private readonly sockets = new Set<net.Socket>();
  private readonly trace: ((line: string) => void) | undefined;
  private readonly rootCaps: boolean;
  private readonly log: (line: string) => void;
  private closed = false;

  private constructor(opts: ServerOptions) {
    this.engine = opts.engine ?? new Engine();
    this.rootCaps = opts.rootCaps ?? false;
    this.trace = opts.trace;
    this.log = opts.log ?? ((l) => process.stderr.write(`iommufd-emu: ${l}\n`));
    if (opts.socketPath) {
      this.socketPath = path.resolve(opts.socketPath);
    } else {
      this.ownDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-'));
      fs.chmodSync(this.ownDir, 0o700);
      this.socketPath = path.join(this.ownDir, 'sock');
    }
    this.server = net.createServer({ allowHalfOpen: false }, (s) => this.accept(s));
    this.server.on('error', (e) => this.log(`server socket: ${e.message}`));
  }

  /** Start listening; resolves once the socket accepts connections. */
  static async start(opts: ServerOptions = {}): Promise<EmuServer> {
    const srv = new EmuServer(opts);
    if (opts.socketPath) await removeStaleSocket(srv.socketPath);
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) => reject(e);
      srv.server.once('error', onErr);
      srv.server.listen(srv.socketPath, () => {
        srv.server.off('error', onErr);
        resolve();
      });
    });
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
      IOMMUFD_EMU_PATHS: pathsEnv(this.engine.paths()),
      IOMMUFD_EMU_TRACER: String(process.pid),
    };
  }

  /** Let another user connect: hand it the socket (and our private directory). */
  allowUser(uid: number, gid: number): void {
    if (this.ownDir) fs.chownSync(this.ownDir, uid, gid);
    fs.chownSync(this.socketPath, uid, gid);
  }

  /** Number of open emulated files (for tests and status). */
  get openFiles(): number {
    return this.files.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const f of [...this.files.values()]) this.releaseFile(f);
    for (const p of this.procs.values()) p.mm.close();
    this.procs.clear();
    try { fs.rmSync(this.socketPath, { force: true }); } catch { /* gone */ }
    if (this.ownDir) try { fs.rmSync(this.ownDir, { recursive: true, force: true }); } catch { /* gone */ }
  }

  // ---- connections ----

  private accept(sock: net.Socket): void {
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
          if (h.magic !== IEMU_MAGIC || h.version !== IEMU_VERSION) return fail('bad hello');
          if (h.kind === KIND_FILE) {
            if (h.pathLen > MAX_PATH) return fail('path too long');
            if (buf.length < HELLO_SIZE + h.pathLen) return;
            const p = buf.subarray(HELLO_SIZE, HELLO_SIZE + h.pathLen).toString('utf8');
            buf = buf.subarray(HELLO_SIZE + h.pathLen);
            hello = h;
            onClose = this.openFile(sock, h, p);
            onFrames = (b) => b.subarray(b.length); // nothing travels on a file connection
          } else if (h.kind === KIND_CHANNEL) {
            buf = buf.subarray(HELLO_SIZE);
            hello = h;
            const ch = this.openChannel(sock, h);
            if (!ch) return;
            onClose = ch.close;
            onFrames = ch.frames;
          } else if (h.kind === KIND_QUERY) {
            hello = h;
            const text = Buffer.from(pathsEnv(this.engine.paths()), 'utf8');
            sock.end(Buffer.concat([encodeReply(text.length, BigInt(process.pid)), text]));
            return;
          } else {
            return fail(`unknown connection kind ${h.kind}`);
          }
        }
        if (onFrames && buf.length) buf = onFrames(buf);
      } catch (e) {
        this.log(`internal error on a connection (bug): ${(e as Error)?.stack ?? e}`);
        sock.destroy();
      }
    });
    sock.on('error', () => { /* the client went away; 'close' follows */ });
    sock.on('close', () => {
      this.sockets.delete(sock);
      try { onClose?.(); } catch (e) { this.log(`internal error on close (bug): ${(e as Error)?.stack ?? e}`); }
    });
  }

  /** The ClientProcess for `pid`, made on first sight. Throws what opening /proc/<pid>/mem throws. */
  private process(pid: number, cookie = 0n): ClientProcess {
    const known = this.procs.get(pid);
    if (known) return known;
    const p: ClientProcess = { pid, cookie, mm: new ProcessAddressSpace(pid), channels: 0 };
    this.procs.set(pid, p);
    return p;
  }

  private openChannel(sock: net.Socket, h: Hello): { frames: (b: Buffer) => Buffer; close: () => void } | undefined {
    let proc: ClientProcess;
    try {
      // A channel from a new image of a pid we hold (after exec, or a reused pid)
      // starts afresh; the old image's channel may not have been seen to close yet.
      const old = this.procs.get(h.pid);
      if (old && old.cookie !== h.ino) {
        if (old.channels === 0) old.mm.close();
        this.procs.delete(h.pid);
      }
      proc = this.process(h.pid, h.ino);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.log(`cannot access the memory of client pid ${h.pid} (/proc/${h.pid}/mem: ${code ?? e}); ` +
        `run it with 'iommufd-emu run' or let it name this server (pid ${process.pid}) as its ptracer`);
      sock.end(encodeReply(-(code === 'ENOENT' ? EIO : EPERM)));
      return undefined;
    }
    proc.channels++;
    sock.write(encodeReply(0));
    let closed = false;
    const frames = (b: Buffer): Buffer => {
      let off = 0;
      let out: Buffer[] | undefined;
      let one: Buffer | undefined;
      while (b.length - off >= REQ_SIZE) {
        const r = this.request(proc, b, off);
        off += REQ_SIZE;
        if (!one) one = r; else (out ??= [one]).push(r);
      }
      if (out) sock.write(Buffer.concat(out)); else if (one) sock.write(one);
      return off === b.length ? b.subarray(b.length) : Buffer.from(b.subarray(off));
    };
    const close = () => {
      if (closed) return;
      closed = true;
      // Its only channel is gone: the process exited or exec'd, and its memory with it.
      if (--proc.channels === 0) {
        proc.mm.close();
        if (this.procs.get(proc.pid) === proc) this.procs.delete(proc.pid);
      }
    };
    return { frames, close };
  }

  private openFile(sock: net.Socket, h: Hello, p: string): () => void {
    let result = 0;
    let of: OpenFile | undefined;
    try {
      const proc = this.process(h.pid);
      const task = new ProcessTask(h.pid, h.tid, proc.mm, this.rootCaps);
      const file = this.engine.open(p, task);
      of = { pid: h.pid, file, path: p, ino: h.ino, rdev: deviceNumber(p) };
      const stale = this.files.get(h.ino);
      if (stale) this.releaseFile(stale);
      this.files.set(h.ino, of);
    } catch (e) {
      result = isErrno(e) ? -e.code : -EIO;
      if (!isErrno(e)) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') result = -EPERM;
        else this.log(`open ${p} failed (bug): ${(e as Error)?.stack ?? e}`);
      }
    }
    this.trace?.(`[${h.pid}] open("${p}") = ${result < 0 ? `-1 ${errnoName(-result)}` : 'fd'}`);
    sock.write(encodeReply(result, of?.rdev ?? 0n));
    return () => {
      if (of && this.files.get(of.ino) === of) this.releaseFile(of);
    };
  }

  private releaseFile(of: OpenFile): void {
    this.files.delete(of.ino);
    try {
      of.file.release();
    } catch (e) {
      this.log(`release of ${of.path} failed (bug): ${(e as Error)?.stack ?? e}`);
    }
    this.trace?.(`[${of.pid}] release("${of.path}") (last close)`);
  }

  /** One channel request; returns the reply frame. Never throws. */
  private request(proc: ClientProcess, b: Buffer, off: number): Buffer {
    const q = decodeRequest(b, off);
    const of = this.files.get(q.ino);
    if (q.op === OP_FILE_INFO) return of ? encodeReply(0, of.rdev) : encodeReply(-EBADF);
    if (q.op !== OP_IOCTL) return encodeReply(-ENOSYS);
    if (!of) return encodeReply(-EBADF);
    const task = new ProcessTask(proc.pid, q.tid, proc.mm, this.rootCaps);
    proc.mm.beginIoctl(q.arg, q.inline);
    const trace: IoctlTrace | undefined = this.trace ? { name: '', args: '' } : undefined;
    const t0 = this.trace ? process.hrtime.bigint() : 0n;
    let result: number;
    let err: Errno | undefined;
    try {
      result = of.file.ioctl(task, q.request, q.arg, trace);
      if (!Number.isInteger(result) || result < 0 || result > 0x7fffffff) {
        throw new Error(`ioctl returned ${result}`);
      }
    } catch (e) {
      if (isErrno(e)) {
        err = e;
      } else {
        this.log(`ioctl ${describeRequest(q.request)} raised a non-errno exception (engine bug): ${(e as Error)?.stack ?? e}`);
        err = new Errno(EIO, 'engine bug');
      }
      result = -err.code;
    }
    if (this.trace && trace) {
      const dt = process.hrtime.bigint() - t0;
      const name = trace.name || describeRequest(q.request);
      const res = err ? `-1 ${err.message}` : `${result}${trace.out ? ` {${trace.out}}` : ''}`;
      const tid = q.tid !== proc.pid ? `/${q.tid}` : '';
      this.trace(`[${proc.pid}${tid}] ${name}(${trace.args}) = ${res} <${fmtDuration(dt)}>`);
    }
    return encodeReply(result);
  }
}

/** A socket file left by a server that died: remove it; a live one: EADDRINUSE. */
async function removeStaleSocket(p: string): Promise<void> {
  let st: fs.Stats;
  try { st = fs.statSync(p); } catch { return; }
  if (!st.isSocket()) throw new Errno(17, `${p} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(p);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (alive) throw Object.assign(new Error(`${p}: a server is already listening there`), { code: 'EADDRINUSE' });
  fs.rmSync(p, { force: true });
}

/** Ask a running server (over its socket) for its emulated paths and pid. */
export async function queryServer(socketPath: string): Promise<{ paths: string; pid: number }> {
  const { encodeHello, decodeReply, REPLY_SIZE } = await import('./protocol.js');
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
      resolve({ paths: all.subarray(REPLY_SIZE, REPLY_SIZE + r.result).toString('utf8'), pid: Number(r.aux) });
    });
  });
}
