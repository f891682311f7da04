// What an open emulated file is to the server: the kernel's struct file for
// /dev/iommu or a VFIO device cdev. The server owns sockets and client memory;
// the engine owns everything behind this interface.
import type { Task } from './task.js';

/** A decoded record of one ioctl, filled in by the dispatcher for --trace. */
export interface IoctlTrace {
  /** "IOMMU_IOAS_MAP", or "ioctl 0x1234" when unknown. */
  name: string;
  /** Decoded input fields, "flags=0x6 ioas_id=2 ...". */
  args: string;
  /** Decoded output fields after success, if any. */
  out?: string;
}

export interface EmulatedFile {
  /** What kind of file this is, for traces ("iommufd", "vfio-device"). */
  readonly kind: string;
  /**
   * Run one ioctl for `task`. `arg` is the raw argument (a pointer for
   * struct ioctls). Returns the ioctl's non-negative result; throws Errno.
   */
  ioctl(task: Task, request: number, arg: bigint, trace?: IoctlTrace): number;
  /** The last reference to the open file went away (the kernel's release). */
  release(): void;
}
