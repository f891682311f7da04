// The /proc/<pid>/... text files of one client process (maps, status,
// limits, a thread's status), each opened once and read again from its
// start when asked: a read at offset 0 of a seq_file makes the text afresh,
// so every read is as current as a new open would be, for one syscall or two
// instead of four (open, fstat, read, close).
//
// An fd of /proc/<pid>/... stays bound to the process it was opened for
// (maps even to its mm): once that process is gone its reads fail or come
// back empty, never another's, whoever gets the pid next. So the one check
// that the pid still named our client is made right after the open (the
// `alive` callback: the client's pidfd), not after every read.
import * as fs from 'node:fs';

/** Most files kept open per process (a thread's status each; the oldest is closed first). */
const MAX_OPEN = 16;

export class ProcTexts {
  private readonly fds = new Map<string, number>();
  private buf: Buffer = Buffer.allocUnsafe(8192);
  private closed = false;

  /**
   * `alive`: whether `pid` still names the process these files are for,
   * asked after each open (without it, the caller knows the pid is its own).
   */
  constructor(readonly pid: number, private readonly alive?: () => boolean) {}

  /**
   * The text of /proc/<pid>/<rel> now, or undefined when it cannot be read
   * (no such file or thread, the process gone).
   */
  read(rel: string): string | undefined {
    if (this.closed) return undefined;
    let fd = this.fds.get(rel);
    if (fd === undefined) {
      try { fd = fs.openSync(`/proc/${this.pid}/${rel}`, 'r'); } catch { return undefined; }
      if (this.alive && !this.alive()) {
        fs.closeSync(fd);
        return undefined;
      }
      if (this.fds.size >= MAX_OPEN) this.drop(this.fds.keys().next().value!);
      this.fds.set(rel, fd);
    }
    let len = 0;
    try {
      for (;;) {
        if (len === this.buf.length) {
          const bigger = Buffer.allocUnsafe(this.buf.length * 2);
          this.buf.copy(bigger, 0, 0, len);
          this.buf = bigger;
        }
        const n = fs.readSync(fd, this.buf, len, this.buf.length - len, len);
        if (n <= 0) break;
        len += n;
      }
    } catch {
      this.drop(rel);
      return undefined;
    }
    return this.buf.toString('latin1', 0, len);
  }

  private drop(rel: string): void {
    const fd = this.fds.get(rel);
    if (fd === undefined) return;
    this.fds.delete(rel);
    try { fs.closeSync(fd); } catch { /* closed */ }
  }

  close(): void {
    this.closed = true;
    for (const rel of [...this.fds.keys()]) this.drop(rel);
  }
}
