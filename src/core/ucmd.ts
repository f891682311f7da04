// One ioctl in flight (struct iommufd_ucmd): the caller, the decoded struct,
// and the write-back of its known prefix.
import type { Decoded, Fields, StructDef } from '../uapi/struct.js';
import type { Task } from './task.js';
import type { IommufdCtx } from './iommufd.js';

export interface Ucmd<F extends Fields = Fields> {
  readonly ctx: IommufdCtx;
  readonly task: Task;
  /** The user pointer the struct came from. */
  readonly arg: bigint;
  /** The caller's `size`. */
  readonly userSize: number;
  readonly def: StructDef<F>;
  readonly cmd: Decoded<F>;
  /** The whole kernel copy of the struct (zero-extended), for ioctls with unions. */
  readonly raw: Uint8Array;
  /** iommufd_ucmd_respond: copy min(userSize, sizeof) bytes of `cmd` back (EFAULT). */
  respond(): void;
}

export type IoctlHandler<F extends Fields = Fields> = (u: Ucmd<F>) => number;
