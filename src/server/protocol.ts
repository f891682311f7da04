// The wire protocol between native/shim and the server; native/shim/proto.h is
// the C side of this file (with the full description) and the two must agree.
// Frames are in the host's byte order (always little-endian on the targets we
// support). A request may be followed by ext_len bytes; a reply by ext_len
// bytes of records, each a 16-byte header and a payload padded to 8 bytes.

export const IEMU_MAGIC = 0x554d4549; // "IEMU"
export const IEMU_VERSION = 5;

export const KIND_FILE = 1;
export const KIND_CHANNEL = 2;
/** A control query: the reply carries the emulated paths and the server pid. */
export const KIND_QUERY = 3;
/** A FILE connection for a file an ioctl made (REC_NEWFD): the hello carries its token. */
export const KIND_ADOPT = 4;

export const OP_IOCTL = 1;
export const OP_FILE_INFO = 2;
export const OP_READ = 3;
export const OP_WRITE = 4;
export const OP_MMAP = 5;
export const OP_MUNMAP = 6;
export const OP_MMAP_DUP = 7;
export const OP_RESOLVE = 8;
/** The client closed an fd of file `ino`: reply once that close's release (if any) is done. */
export const OP_CLOSED = 9;
/** A request waits in the channel page (IEMU_OP_DOORBELL); no reply. */
export const OP_DOORBELL = 10;
/** An ioctl on an fd the shim does not own (IEMU_OP_FOREIGN): `ino` is the fd number. */
export const OP_FOREIGN = 11;
export const OP_MASK = 0xffff;
/** Or'd into op: a REC_WRITE faulted in the client since its last request. */
export const REQ_MAPS_STALE = 0x10000;

export const AUX_DRAIN = 1;
/** FOREIGN's reply: not ours; the shim makes the real ioctl (IEMU_AUX_KERNEL). */
export const AUX_KERNEL = 1;
/** The reply to a CHANNEL hello: the server maps the channel page (IEMU_AUX_PAGE). */
export const AUX_PAGE = 1;
/** A CHANNEL hello's oflags when the shim offers no page. */
export const NO_PAGE = 0xffffffff;

/** The channel page (struct iemu_page): word indices of its header, then the areas. */
export const PAGE_SIZE = 65536;
export const PAGE_REQ_SEQ = 0;
export const PAGE_REQ_LEN = 1;
export const PAGE_REP_SEQ = 2;
export const PAGE_REP_LEN = 3;
export const PAGE_SERVER_POLLING = 4;
export const PAGE_CLIENT_SLEEPING = 5;
export const PAGE_REQ = 64;
export const PAGE_REQ_MAX = PAGE_SIZE / 2 - PAGE_REQ;
export const PAGE_REP = PAGE_SIZE / 2;
export const PAGE_REP_MAX = PAGE_SIZE / 2;
/** rep_len: the reply did not fit and travels on the socket. */
export const REP_ON_SOCKET = 0xffffffff;

export const REC_WRITE = 1;
export const REC_NEWFD = 2;
export const REC_PATH = 3;
/** MMAP of memory with side effects: the shim traps each load and store and makes it a READ or WRITE of the file (IEMU_REC_TRAP). */
export const REC_TRAP = 4;
export const NEWFD_CLOEXEC = 1;
/** REC_NEWFD: the new fd is the call's result (addr unused), as IEMU_NEWFD_RESULT. */
export const NEWFD_RESULT = 2;
export const REC_HDR = 16;

export const HELLO_SIZE = 32;
/** Bytes of the struct at `arg` a request may carry inline (IEMU_INLINE). */
export const INLINE_MAX = 120;
export const REQ_SIZE = 160;
export const REPLY_SIZE = 16;
/** Largest request extension we accept (a write's bytes, a path). */
export const MAX_EXT = (1 << 20) + 4096;

/** Longest path a FILE hello may carry (PATH_MAX). */
export const MAX_PATH = 4096;

export interface Hello {
  magic: number;
  version: number;
  kind: number;
  pid: number;
  tid: number;
  ino: bigint;
  oflags: number;
  pathLen: number;
}

export function decodeHello(b: Buffer, off = 0): Hello {
  return {
    magic: b.readUInt32LE(off),
    version: b.readUInt16LE(off + 4),
    kind: b.readUInt16LE(off + 6),
    pid: b.readUInt32LE(off + 8),
    tid: b.readUInt32LE(off + 12),
    ino: b.readBigUInt64LE(off + 16),
    oflags: b.readUInt32LE(off + 24),
    pathLen: b.readUInt32LE(off + 28),
  };
}

export function encodeHello(h: Omit<Hello, 'magic' | 'version'>): Buffer {
  const b = Buffer.alloc(HELLO_SIZE);
  b.writeUInt32LE(IEMU_MAGIC, 0);
  b.writeUInt16LE(IEMU_VERSION, 4);
  b.writeUInt16LE(h.kind, 6);
  b.writeUInt32LE(h.pid, 8);
  b.writeUInt32LE(h.tid, 12);
  b.writeBigUInt64LE(h.ino, 16);
  b.writeUInt32LE(h.oflags, 24);
  b.writeUInt32LE(h.pathLen, 28);
  return b;
}

export interface Request {
  op: number;
  /** REQ_* flag bits that came with op. */
  flags: number;
  pid: number;
  tid: number;
  request: number;
  arg: bigint;
  ino: bigint;
  /** IOCTL: the first bytes at `arg` as the client read them when the ioctl began. */
  inline: Uint8Array;
  /** Bytes that followed the frame. */
  ext: Uint8Array;
  /** The frame itself, for op-specific parameters (param()). */
  frame: Buffer;
  off: number;
}

/** Bytes of extension the request at `off` announces. */
export function requestExtLen(b: Buffer, off = 0): number {
  return b.readUInt32LE(off + 36);
}

/** The pid the request at `off` states (its sender's, for an honest shim). */
export function requestPid(b: Buffer, off = 0): number {
  return b.readUInt32LE(off + 4);
}

const NO_BYTES = new Uint8Array(0);

export function decodeRequest(b: Buffer, off = 0): Request {
  const op = b.readUInt32LE(off);
  const extLen = b.readUInt32LE(off + 36);
  const inlineLen = b.readUInt32LE(off + 32);
  return {
    op: op & OP_MASK,
    flags: op & ~OP_MASK,
    pid: b.readUInt32LE(off + 4),
    tid: b.readUInt32LE(off + 8),
    request: b.readUInt32LE(off + 12),
    arg: b.readBigUInt64LE(off + 16),
    ino: b.readBigUInt64LE(off + 24),
    inline: inlineLen ? b.subarray(off + 40, off + 40 + Math.min(inlineLen, INLINE_MAX)) : NO_BYTES,
    ext: extLen ? b.subarray(off + REQ_SIZE, off + REQ_SIZE + extLen) : NO_BYTES,
    frame: b,
    off,
  };
}

/** The op-specific parameter a[i] of a non-ioctl request. */
export function param(q: Request, i: number): bigint {
  return q.frame.readBigUInt64LE(q.off + 40 + 8 * i);
}

/** A request frame (for tests and tools; the shim builds its own). */
export function encodeRequest(r: { op: number; pid: number; tid: number; request?: number; arg?: bigint; ino?: bigint; params?: bigint[]; inline?: Uint8Array; ext?: Uint8Array }): Buffer {
  const ext = r.ext ?? new Uint8Array(0);
  const b = Buffer.alloc(REQ_SIZE + ext.length);
  b.writeUInt32LE(r.op, 0);
  b.writeUInt32LE(r.pid, 4);
  b.writeUInt32LE(r.tid, 8);
  b.writeUInt32LE(r.request ?? 0, 12);
  b.writeBigUInt64LE(r.arg ?? 0n, 16);
  b.writeBigUInt64LE(r.ino ?? 0n, 24);
  if (r.inline) { b.writeUInt32LE(Math.min(r.inline.length, INLINE_MAX), 32); b.set(r.inline.subarray(0, INLINE_MAX), 40); }
  (r.params ?? []).forEach((p, i) => b.writeBigUInt64LE(p, 40 + 8 * i));
  b.writeUInt32LE(ext.length, 36);
  b.set(ext, REQ_SIZE);
  return b;
}

/** A record for a reply's extension. */
export interface Rec { type: number; flags?: number; addr: bigint; data: Uint8Array }

function pad8(n: number): number { return (n + 7) & ~7; }

/** A reply: `result` >= 0 is the call's result, < 0 is -errno; `recs` follow it. */
export function encodeReply(result: number, aux = 0, recs?: readonly Rec[]): Buffer {
  let ext = 0;
  if (recs) for (const r of recs) ext += REC_HDR + pad8(r.data.length);
  const b = Buffer.allocUnsafe(REPLY_SIZE + ext);
  b.writeUInt32LE(IEMU_MAGIC, 0);
  b.writeInt32LE(result, 4);
  b.writeUInt32LE(aux >>> 0, 8);
  b.writeUInt32LE(ext, 12);
  if (recs) {
    let o = REPLY_SIZE;
    for (const r of recs) {
      b.writeUInt16LE(r.type, o);
      b.writeUInt16LE(r.flags ?? 0, o + 2);
      b.writeUInt32LE(r.data.length, o + 4);
      b.writeBigUInt64LE(r.addr, o + 8);
      b.set(r.data, o + REC_HDR);
      const end = o + REC_HDR + r.data.length;
      o += REC_HDR + pad8(r.data.length);
      b.fill(0, end, o);
    }
  }
  return b;
}

export interface Reply { magic: number; result: number; aux: number; extLen: number; recs: Rec[] }

/** Decode a reply and its records (`b` must hold them all). */
export function decodeReply(b: Buffer, off = 0): Reply {
  const extLen = b.readUInt32LE(off + 12);
  const recs: Rec[] = [];
  let o = off + REPLY_SIZE;
  const end = Math.min(b.length, o + extLen);
  while (o + REC_HDR <= end) {
    const size = b.readUInt32LE(o + 4);
    recs.push({ type: b.readUInt16LE(o), flags: b.readUInt16LE(o + 2), addr: b.readBigUInt64LE(o + 8), data: b.subarray(o + REC_HDR, o + REC_HDR + size) });
    o += REC_HDR + pad8(size);
  }
  return { magic: b.readUInt32LE(off), result: b.readInt32LE(off + 4), aux: b.readUInt32LE(off + 8), extLen, recs };
}

/** Linux's makedev(), as glibc encodes dev_t. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}
