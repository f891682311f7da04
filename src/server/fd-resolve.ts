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
