// Files the server makes for its clients. The server often runs as root for
// an unprivileged client, so a file is never made by following a name someone
// else could have planted: it is created new (O_CREAT|O_EXCL|O_NOFOLLOW) in a
// directory that is the server's own, and handed to the client by fchown of
// the open file, never by chown of a path.
import * as fs from 'node:fs';

/** Who a file is made for: a client process's uid and gid (its SO_PEERCRED). */
export interface Owner { readonly uid: number; readonly gid: number }

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDWR } = fs.constants;

/**
 * Create `p` (which must not exist) read-write with `mode`, owned by `owner`
 * when that is another user and we may give files away; returns the open fd.
 */
export function createPrivate(p: string, mode: number, owner?: Owner): number {
  const fd = fs.openSync(p, O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR, mode);
  try {
    fs.fchmodSync(fd, mode); // the umask may have taken bits away
    const me = process.geteuid?.();
    if (owner && me === 0 && (owner.uid !== me || owner.gid !== process.getegid?.())) fs.fchownSync(fd, owner.uid, owner.gid);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(p, { force: true });
    throw e;
  }
  return fd;
}

/** Write `data` (text as latin1) into a new private file `p` (as createPrivate) and close it. */
export function writePrivate(p: string, data: string | Uint8Array, mode: number, owner?: Owner): void {
  const fd = createPrivate(p, mode, owner);
  try {
    if (typeof data === 'string') fs.writeFileSync(fd, data, 'latin1'); else fs.writeFileSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}
