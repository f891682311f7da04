// Directories left by servers that died without closing (SIGKILL, a crash):
// the socket directory (<tmpdir>/iommufd-emu-XXXXXX) and the state directory
// (/dev/shm or <tmpdir>/iommufd-emu-state-XXXXXX). A server records its pid
// in each (markOwner); at the next start removeStaleDirs removes those whose
// owner is gone.
//
// Safety: only entries that are real directories (lstat: never a symlink),
// owned by our uid, whose `owner` file is a regular file of ours naming a
// pid that does not exist in our pid namespace (one recorded in another
// namespace is never judged dead). A directory whose owner is unknown (no file yet:
// the moment between mkdtemp and markOwner, or a server from before owner
// files) is left alone unless it is older than `unknownAfterMs`. The
// directory is first renamed to a private name and checked to be the same
// inode, so a concurrent cleaner or a swapped entry is never removed by
// mistake; the removal does not follow symlinks inside it (rmSync unlinks a
// link, it never descends into its target).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The file in each server directory that names its owner's pid. */
export const OWNER_FILE = 'owner';

/** Names the server gives its directories (mkdtemp's six characters). */
const NAMES = [/^iommufd-emu-[A-Za-z0-9]{6}$/, /^iommufd-emu-state-[A-Za-z0-9]{6}$/];
/** What a cleaner renames a directory to before removing it; its pid is the owner. */
const DOOMED = /^\.iommufd-emu-stale-(\d+)-/;

/**
 * Record this process as the owner of `dir`, a directory it just created:
 * `dir/owner` made with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, holding our
 * pid, and on a second line our pid namespace (`pid:[N]`), so that a cleaner
 * in another namespace sharing the directory (containers sharing /tmp) does
 * not take a pid it cannot see for a dead one.
 * Throws (EEXIST among others) when it cannot.
 */
export function markOwner(dir: string): void {
  const c = fs.constants;
  const fd = fs.openSync(path.join(dir, OWNER_FILE), c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, 0o600);
  try {
    fs.fchmodSync(fd, 0o600); // whatever the umask
    const ns = pidNamespace();
    fs.writeSync(fd, `${process.pid}\n${ns ? `${ns}\n` : ''}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Our pid namespace as /proc names it (`pid:[4026531836]`), when /proc says. */
function pidNamespace(): string | undefined {
  try {
    const ns = fs.readlinkSync('/proc/self/ns/pid');
    return /^pid:\[\d+\]$/.test(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}

/** What an owner file says. */
export interface Owner {
  pid: number;
  /** Its pid namespace, when recorded. */
  pidns?: string;
}

export interface StaleDirOptions {
  /** Where to look (default: the tmpdir and /dev/shm). */
  bases?: string[];
  /** Leave a directory with no readable owner alone until it is this old (default: a day). */
  unknownAfterMs?: number;
  /** The uid whose directories we may remove (default: ours). */
  uid?: number;
  /** A one-line note per removal or failure (default: none). */
  log?: (line: string) => void;
}

export const DEFAULT_UNKNOWN_AFTER_MS = 24 * 3600 * 1000;

/** What `dir/owner` says, or undefined when there is nothing we trust. */
export function readOwner(dir: string, uid: number): Owner | undefined {
  const c = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(path.join(dir, OWNER_FILE), c.O_RDONLY | c.O_NOFOLLOW | c.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== uid || st.size > 64) return undefined;
    const buf = Buffer.alloc(64);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const m = /^(\d{1,10})(?:\n(pid:\[\d+\]))?\n?$/.exec(buf.subarray(0, n).toString('latin1'));
    const pid = m ? Number(m[1]) : 0;
    if (!(pid > 0 && pid <= 0x3fffffff)) return undefined;
    return m![2] ? { pid, pidns: m![2] } : { pid };
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether process `pid` exists (a zombie does; EPERM: it exists, another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Remove the server directories under `bases` whose owner process is gone.
 * Never throws; returns the directories removed.
 */
export function removeStaleDirs(opts: StaleDirOptions = {}): string[] {
  const uid = opts.uid ?? process.getuid?.() ?? -1;
  const unknownAfter = opts.unknownAfterMs ?? DEFAULT_UNKNOWN_AFTER_MS;
  const bases = [...new Set((opts.bases ?? [os.tmpdir(), '/dev/shm']).map((b) => path.resolve(b)))];
  const removed: string[] = [];
  for (const base of bases) {
    let names: string[];
    try { names = fs.readdirSync(base); } catch { continue; }
    for (const name of names) {
      const doomed = DOOMED.exec(name);
      if (!doomed && !NAMES.some((re) => re.test(name))) continue;
      const dir = path.join(base, name);
      try {
        // A cleaner that died while removing: its name says who it was.
        const owner = doomed ? Number(doomed[1]) : undefined;
        if (removeIfStale(base, dir, uid, unknownAfter, owner)) removed.push(dir);
      } catch (e) {
        opts.log?.(`cannot remove the stale directory ${dir}: ${(e as Error).message}`);
      }
    }
  }
  for (const d of removed) opts.log?.(`removed ${d}, left by a server that is gone`);
  return removed;
}

function removeIfStale(base: string, dir: string, uid: number, unknownAfter: number, owner?: number): boolean {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid) return false;
  const o: Owner | undefined = owner !== undefined ? { pid: owner } : readOwner(dir, uid);
  if (o === undefined) {
    if (Date.now() - st.mtimeMs < unknownAfter) return false;
  } else if (o.pidns !== undefined && o.pidns !== pidNamespace()) {
    return false; // a pid we cannot see is not a dead one
  } else if (o.pid === process.pid || pidAlive(o.pid)) {
    return false;
  }
  // Take it out of the way under a name no server or cleaner uses, then
  // check that what we moved is still the directory we judged.
  const doomed = path.join(base, `.iommufd-emu-stale-${process.pid}-${path.basename(dir).replace(/^\.iommufd-emu-stale-\d+-/, '')}`);
  try {
    fs.renameSync(dir, doomed);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false; // another cleaner was first
    throw e;
  }
  const now = fs.lstatSync(doomed);
  if (!now.isDirectory() || now.ino !== st.ino || now.dev !== st.dev || now.uid !== uid) {
    // Not what we judged: put it back.
    fs.renameSync(doomed, dir);
    return false;
  }
  fs.rmSync(doomed, { recursive: true, force: true });
  return true;
}
