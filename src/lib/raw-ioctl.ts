// An ioctl as a C program issues it on a library handle: the argument
// struct written to the process's scratch memory, the file's ioctl run for
// the process's task, and what the kernel left in the struct read back; an
// errno comes back as a value, not a throw.
import type { EmulatedFile } from '../core/file.js';
import type { Task } from '../core/task.js';
import type { AddressSpace } from '../hw/memory.js';
import { Errno } from '../uapi/errno.js';

/** The result of a raw ioctl: the return value or errno, and the struct bytes after the call. */
export interface RawResult { rc: number; errno: number; out: Uint8Array; }

/** `request` on `file` with `bytes` as the struct at `scratch` in `proc`'s memory. */
export function rawIoctl(proc: { readonly mm: AddressSpace; readonly task: Task }, file: EmulatedFile, scratch: bigint,
  request: number, bytes: Uint8Array): RawResult {
  proc.mm.write(scratch, bytes);
  try {
    const rc = file.ioctl(proc.task, request, scratch);
    return { rc, errno: 0, out: proc.mm.read(scratch, bytes.length) };
  } catch (e) {
    if (e instanceof Errno) return { rc: -1, errno: e.code, out: proc.mm.read(scratch, bytes.length) };
    throw e;
  }
}
