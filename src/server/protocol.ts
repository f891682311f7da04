// The wire protocol between native/shim and the server; native/shim/proto.h is
// the C side of this file and the two must agree. Frames are fixed size, in the
// host's byte order (always little-endian on the targets we support).

export const IEMU_MAGIC = 0x554d4549; // "IEMU"
export const IEMU_VERSION = 1;

export const KIND_FILE = 1;
export const KIND_CHANNEL = 2;
/** A control query: the reply carries the emulated paths and the server pid. */
export const KIND_QUERY = 3;

export const OP_IOCTL = 1;
export const OP_FILE_INFO = 2;

export const HELLO_SIZE = 32;
/** Bytes of the struct at `arg` a request may carry inline (IEMU_INLINE). */
export const INLINE_MAX = 56;
export const REQ_SIZE = 96;
export const REPLY_SIZE = 16;

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
  pid: number;
  tid: number;
  request: number;
  arg: bigint;
  ino: bigint;
  /** The first bytes at `arg` as the client read them when the ioctl began. */
  inline: Uint8Array;
}

export function decodeRequest(b: Buffer, off = 0): Request {
  return {
    op: b.readUInt32LE(off),
    pid: b.readUInt32LE(off + 4),
    tid: b.readUInt32LE(off + 8),
    request: b.readUInt32LE(off + 12),
    arg: b.readBigUInt64LE(off + 16),
    ino: b.readBigUInt64LE(off + 24),
    inline: b.subarray(off + 40, off + 40 + Math.min(b.readUInt32LE(off + 32), INLINE_MAX)),
  };
}

/** A reply: `result` >= 0 is the ioctl's result, < 0 is -errno. */
export function encodeReply(result: number, aux = 0n): Buffer {
  const b = Buffer.allocUnsafe(REPLY_SIZE);
  b.writeUInt32LE(IEMU_MAGIC, 0);
  b.writeInt32LE(result, 4);
  b.writeBigUInt64LE(aux, 8);
  return b;
}

export function decodeReply(b: Buffer, off = 0): { magic: number; result: number; aux: bigint } {
  return { magic: b.readUInt32LE(off), result: b.readInt32LE(off + 4), aux: b.readBigUInt64LE(off + 8) };
}

/** Linux's makedev(), as glibc encodes dev_t. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}
