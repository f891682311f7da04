// Resolving a client's fd number to what it names, for structs that carry an
// fd (VFIO_DEVICE_BIND_IOMMUFD's iommufd). The client's descriptors are real:
// an emulated file is the client's end of a socket the shim connected, so
// /proc/<pid>/fd/<n> reads "socket:[INODE]" and the server knows its open
// files by that inode. Anything else open there is some other file; nothing
// there is a bad fd.
import * as fs from 'node:fs';
import type { EmulatedFile } from '../core/file.js';
import { Errno, EIO } from '../uapi/errno.js';

export interface FdResolution {
  file?: EmulatedFile;
  kind: 'emulated' | 'other' | 'bad';
}

/**
 * What fd `fd` of process `pid` is: 'emulated' with the file when it is the
 * socket of an open emulated file (`bySocketInode` finds those), 'other' for
 * any other open file (including sockets that are not ours), 'bad' when the
 * process has no such fd. Needs the same access to the process as reading
 * its memory; other failures to look are EIO.
 */
export function resolveClientFd(
  pid: number, fd: number, bySocketInode: (ino: bigint) => EmulatedFile | undefined, procRoot = '/proc',
): FdResolution {
  if (!Number.isInteger(fd) || fd < 0) return { kind: 'bad' };
  let target: string;
  try {
    target = fs.readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'bad' };
    throw new Errno(EIO, `cannot look at fd ${fd} of pid ${pid}: ${code ?? String(e)}`);
  }
  const m = /^socket:\[(\d+)\]$/.exec(target);
  if (m) {
    const file = bySocketInode(BigInt(m[1]!));
    if (file) return { file, kind: 'emulated' };
  }
  return { kind: 'other' };
}

/** Most fd numbers a KnownFds keeps (a process with more starts over). */
const KNOWN_FDS_MAX = 4096;

/**
 * One client process's fd numbers that were seen (in its /proc/<pid>/fd, not
 * O_PATH) to hold the socket of an emulated file, so resolving them again
 * costs no /proc read. Only such answers are kept: every other fd can change
 * without the server hearing of it, an emulated one cannot go but through the
 * shim, which reports every way it goes (close, dup2/dup3 over it,
 * close_range, closefrom, close-on-exec: OP_CLOSED, which forgets every
 * number naming that file). A new emulated file of the process (an open, an
 * adopted fd) forgets them all, so a number freed behind the shim's back and
 * reused for it is looked up afresh. The table belongs to one process image
 * (its record is per pidfd and exec), so a stale answer can name only a file
 * that very process held, which it may reach by inode anyway (its `owned`).
 */
export class KnownFds<F extends { ino: bigint }> {
  private readonly byFd = new Map<number, F>();

  get(fd: number): F | undefined {
    return this.byFd.get(fd);
  }

  set(fd: number, file: F): void {
    if (this.byFd.size >= KNOWN_FDS_MAX) this.byFd.clear();
    this.byFd.set(fd, file);
  }

  delete(fd: number): void {
    this.byFd.delete(fd);
  }

  /** An fd of the file with socket inode `ino` was closed: forget every number naming it. */
  closed(ino: bigint): void {
    if (!this.byFd.size) return;
    for (const [fd, f] of this.byFd) if (f.ino === ino) this.byFd.delete(fd);
  }

  clear(): void {
    this.byFd.clear();
  }
}
