// The bytes of a client's open file, for IOMMU_IOAS_MAP_FILE. The server
// opens the same file again through /proc/<pid>/fd/<n> (a memfd reopens its
// inode; the page cache makes the client's mmap and our reads coherent) and
// keeps that fd until the engine lets go of the file — as the kernel keeps a
// reference to the struct file after the client closed its fd.
//
// Only regular files are opened: opening a device or a FIFO of the client's
// could have side effects (a second /dev/iommu context, a blocked open). Such
// a file is still a file to the engine — it maps, and never pins.
import * as fs from 'node:fs';
import type { FileBacking } from '../hw/memory.js';

/** statfs f_type of shmem (memfd, tmpfs) and hugetlbfs: the files memfd_pin_folios takes. */
const TMPFS_MAGIC = 0x01021994;
const HUGETLBFS_MAGIC = 0x958458f6;

/** A file whose bytes the server does not read: identity and size only. */
function opaque(identity: string, size: bigint): FileBacking {
  return { identity, isMemfd: false, size: () => size, read: (_o, len) => new Uint8Array(len), write: () => {} };
}

/**
 * Open the file at `path` (normally /proc/<pid>/fd/<n>) as a FileBacking,
 * with no more access than `access` (the client's own fd's: a root server
 * reopening it must not read or write what the client could not): read-write
 * when both are allowed and the server may, else what is left (writes through
 * a read-only backing are dropped, reads of a write-only one are zeros).
 * Identity "dev:ino" from fstat; memfd-ness (shmem or hugetlbfs) from statfs.
 * Throws the fs error when the path cannot be looked at.
 */
export function openFileBacking(path: string, access: { read: boolean; write: boolean } = { read: true, write: true }): FileBacking {
  const st = fs.statSync(path, { bigint: true });
  const identity = `${st.dev}:${st.ino}`;
  if (!st.isFile()) return opaque(identity, st.size);
  let writable = access.write;
  const readable = access.read;
  const tryModes = [
    ...(readable && writable ? [fs.constants.O_RDWR] : []),
    ...(readable ? [fs.constants.O_RDONLY] : []),
    ...(!readable && writable ? [fs.constants.O_WRONLY] : []),
  ];
  let opened: number | undefined;
  for (const mode of tryModes) {
    try { opened = fs.openSync(path, mode); break; } catch { if (mode === fs.constants.O_RDWR) writable = false; }
  }
  if (opened === undefined) return opaque(identity, st.size);
  const fd = opened;
  let type = 0;
  try { type = Number(fs.statfsSync(path).type); } catch { /* not shmem as far as we know */ }
  const isMemfd = type === TMPFS_MAGIC || type === HUGETLBFS_MAGIC;
  let open = true;
  return {
    identity,
    isMemfd,
    size: () => (open ? fs.fstatSync(fd, { bigint: true }).size : 0n),
    read: (off, len) => {
      const out = new Uint8Array(len);
      let done = 0;
      while (open && readable && done < len) {
        const n = fs.readSync(fd, out, done, len - done, off + BigInt(done));
        if (n <= 0) break; // past EOF: zeros
        done += n;
      }
      return out;
    },
    write: (off, data) => {
      if (!open || !writable) return;
      let done = 0;
      while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, Number(off) + done);
    },
    close: () => {
      if (!open) return;
      open = false;
      try { fs.closeSync(fd); } catch { /* already gone */ }
    },
  };
}
