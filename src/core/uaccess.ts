// copy_struct_from_user: the kernel's size-extensible copy of a struct from a
// caller's memory, shared by every ioctl that takes one.
import { Errno, E2BIG } from '../uapi/errno.js';
import type { Task } from './task.js';

/** How much of an over-long tail is read at a time while checking it is zero. */
const TAIL_CHUNK = 4096;

/**
 * Copy a `size`-byte struct the caller says is `userSize` bytes long from
 * `arg`: a shorter one is zero-extended; bytes past `size` must all be zero
 * (E2BIG); unreadable memory is EFAULT.
 */
export function copyStructFromUser(task: Task, arg: bigint, userSize: number, size: number): Uint8Array {
  for (let off = size; off < userSize; off += TAIL_CHUNK) {
    const n = Math.min(TAIL_CHUNK, userSize - off);
    if (task.mm.read(arg + BigInt(off), n).some((b) => b !== 0)) throw new Errno(E2BIG, 'non-zero bytes past the struct');
  }
  const buf = new Uint8Array(new ArrayBuffer(size));
  buf.set(task.mm.read(arg, Math.min(userSize, size)));
  return buf;
}
