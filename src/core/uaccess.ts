// copy_struct_from_user: the kernel's size-extensible copy of a struct from a
// caller's memory, shared by every ioctl that takes one.
import { Errno, E2BIG } from '../uapi/errno.js';
import type { Task } from './task.js';

/** How much of an over-long tail is read at a time while checking it is zero (a page). */
const TAIL_CHUNK = 4096;
/** clear_user writes zeros at most this many bytes at a time (never a buffer of the caller's size). */
const CLEAR_CHUNK = 1 << 16;

/**
 * Copy a `size`-byte struct the caller says is `userSize` bytes long from
 * `arg`: a shorter one is zero-extended; bytes past `size` must all be zero
 * (E2BIG); unreadable memory is EFAULT.
 */
export function copyStructFromUser(task: Task, arg: bigint, userSize: number, size: number): Uint8Array {
  // check_zeroed_user reads the tail in order: a non-zero byte before an
  // unreadable page is E2BIG, the page EFAULT. Pieces end at page boundaries.
  for (let off = size; off < userSize;) {
    const at = arg + BigInt(off);
    const n = Math.min(TAIL_CHUNK - Number(at % BigInt(TAIL_CHUNK)), userSize - off);
    if (task.mm.read(at, n).some((b) => b !== 0)) throw new Errno(E2BIG, 'non-zero bytes past the struct');
    off += n;
  }
  const buf = new Uint8Array(new ArrayBuffer(size));
  buf.set(task.mm.read(arg, Math.min(userSize, size)));
  return buf;
}

/**
 * clear_user: zero `len` bytes at `va`, in order, stopping with EFAULT at the
 * first byte that cannot be written (the ones before it are zeroed). `len`
 * comes from the caller: never allocate it whole.
 */
export function clearUser(task: Task, va: bigint, len: number): void {
  const zeros = new Uint8Array(Math.min(len, CLEAR_CHUNK));
  for (let off = 0; off < len; off += zeros.length) {
    const n = Math.min(zeros.length, len - off);
    task.mm.write(va + BigInt(off), zeros.subarray(0, n));
  }
}
