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
  /**
   * get_file: something in the engine keeps the file open (IOAS_MAP_FILE's
   * pages hold their file). The file's release() then waits for unhold().
   */
  hold?(): void;
  /** fput of a hold(): the last one after the fds are gone runs the release. */
  unhold?(): void;
}

// ---- Optional capabilities of an emulated file (all additive) -------------
//
// The server (src/server) and the shim carry these to an unmodified program;
// the library may offer them to scripts. An engine file implements only what
// its kernel counterpart has; a missing method answers as the kernel does for
// a file without that fop (read/write: EINVAL, mmap: ENODEV, poll: readable
// never).

/** poll(2) bits, as the kernel's EPOLL* values. */
export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;

/** Storage the host puts behind an MmapRegion: the bytes the program's mapping shows. */
export interface RegionMemory {
  readonly length: number;
  read(offset: number, length: number): Uint8Array;
  write(offset: number, data: Uint8Array): void;
}

/**
 * Memory an emulated file lets the program mmap (a vIOMMU's mmap region today,
 * device BARs later), as returned by EmulatedFile.mmap. One object per region:
 * mmapping the same region again returns the same object.
 */
export interface MmapRegion {
  /** Bytes the region spans (a page multiple). */
  readonly length: number;
  /**
   * Registers, not memory (a device's BAR: loads have side effects, stores
   * are doorbells): the host backs nothing and never calls attach(); each
   * load or store the program makes in the mapping reaches the file as a
   * read()/write() at the mapping's offset plus the distance into it.
   */
  readonly trap?: boolean;
  /**
   * The host backs the region with memory shared with the program. Called
   * once per region, before its first mapping appears: the engine copies the
   * region's current contents into `mem` and from then on reads and writes
   * the region only through `mem` (the program's stores land there).
   */
  attach(mem: RegionMemory): void;
  /** One mapping made by a successful mmap() went away (munmap, exec, exit): drop what mmap() took (vm_ops->close). */
  unmapped(): void;
  /** A mapping was copied (fork): take another reference, as vm_ops->open. Default: nothing. */
  duplicated?(): void;
}

export interface EmulatedFile {
  /**
   * read(2)/pread(2): copy up to `len` bytes to the caller's memory at `buf`
   * (task.mm.write, so a bad buffer faults as copy_to_user does) and return
   * how many. `pos` is the pread offset, 0 for read() (these files never
   * advance f_pos). Never blocks: throw Errno(EAGAIN) or return 0 as the
   * kernel's fop does. Without it: EINVAL. With `trace`, the file says
   * what the access meant (trace.args: "region=CONFIG off=0x10").
   * `viaMapping`: a load or store the program made in a trap mapping of the
   * file (MmapRegion.trap), carried out as a read or write: the access the
   * mapping would make, which may differ from read()'s (vfio-pci's MSI-X
   * table is all-ones to read() but the device's own through a mapping).
   */
  read?(task: Task, buf: bigint, len: number, pos: bigint, trace?: IoctlTrace, viaMapping?: boolean): number;
  /**
   * The file has a pread/pwrite mode (FMODE_PREAD/FMODE_PWRITE). Without it
   * pread(2)/pwrite(2) are ESPIPE whatever the offset, as for the kernel's
   * anon-inode files; read(2)/write(2) then pass `pos` 0.
   */
  readonly positional?: boolean;
  /** write(2)/pwrite(2): consume up to `len` bytes from `buf` (task.mm.read); returns bytes taken. Without it: EINVAL. */
  write?(task: Task, buf: bigint, len: number, pos: bigint, trace?: IoctlTrace, viaMapping?: boolean): number;
  /** poll(2): the POLL* bits that hold now (POLLIN when read() would return data). */
  poll?(): number;
  /**
   * Set by the host when the file has readers that may poll: the engine calls
   * it whenever poll() may have gained POLLIN (an event queued from another
   * file's ioctl or a simulated device). The host also re-checks poll() after
   * each ioctl, read and write, so a missed call only delays a wake-up.
   */
  onReadable?: (() => void) | undefined;
  /**
   * mmap(2) of this file. The host has applied the mm's generic rules
   * (length > 0, rounded up to pages; offset page aligned; PROT_WRITE on
   * MAP_SHARED needs an fd open for writing), so `length` is the VMA's length
   * and `offset` its vm_pgoff << PAGE_SHIFT. `prot` and `flags` are mmap(2)'s
   * PROT_* and MAP_* bits. The engine applies its fop's rules (iommufd: EINVAL
   * without MAP_SHARED, EPERM for PROT_EXEC, ENXIO for an unknown offset or a
   * length that is not the region's) and takes the reference the mapping
   * holds; it returns the region, which the host maps. Without it: ENODEV.
   */
  mmap?(task: Task, offset: bigint, length: bigint, prot: number, flags: number): MmapRegion;
}
