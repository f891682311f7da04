// The trace as strace users expect it: lines to stderr or a file (-o), the
// time of each call (-t, -tt, -ttt), a filter by name or class (-e trace=),
// a summary table at exit (-c, -C) and the fd number an open returned.
// The server gives one formatted line per call and, for ioctls and opens,
// what the line is about (TraceEvent); everything here is presentation.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TraceEvent } from '../server/server.js';
import { IOMMUFD_IOCTLS, VFIO_IOCTLS } from '../uapi/ioctls.js';
import { IOMMU_TEST_OP_VIEWS } from '../uapi/iommufd-test.js';

/** Calls that are not ioctls: the server's lines about files and processes. */
const FILE_CALLS = ['open', 'release', 'read', 'write', 'mmap', 'munmap', 'new', 'fork', 'status'];

/** `-e trace=` classes: a name's class is decided by its spelling. */
export const TRACE_CLASSES: Readonly<Record<string, { what: string; has: (name: string) => boolean }>> = {
  all: { what: 'everything', has: () => true },
  iommufd: { what: 'the /dev/iommu ioctls (IOMMU_*)', has: (n) => n.startsWith('IOMMU_') },
  ioas: { what: 'IOMMU_IOAS_*', has: (n) => n.startsWith('IOMMU_IOAS_') },
  hwpt: { what: 'IOMMU_HWPT_*', has: (n) => n.startsWith('IOMMU_HWPT_') },
  vfio: { what: 'the VFIO ioctls (VFIO_*)', has: (n) => n.startsWith('VFIO_') },
  test: { what: 'IOMMU_TEST_CMD (the mock driver)', has: (n) => n === 'IOMMU_TEST_CMD' },
  file: { what: 'what is not an ioctl: open, release, read, write, mmap, munmap, new fds', has: (n) => FILE_CALLS.includes(n) },
};

export class TraceUsageError extends Error {}

/** Which calls a trace shows: `-e trace=SET` (SET: NAME or CLASS, comma-separated, `!` to negate). */
export class TraceFilter {
  private readonly wanted: Array<(name: string) => boolean> = [];
  private negated = false;

  /** Add one `-e` expression (strace's syntax; `trace=` may be left out). */
  add(expr: string): void {
    const eq = expr.indexOf('=');
    const qual = eq < 0 ? 'trace' : expr.slice(0, eq);
    if (qual !== 'trace' && qual !== 't') {
      throw new TraceUsageError(`-e ${expr}: only 'trace=' is supported (it selects the calls shown)`);
    }
    let set = eq < 0 ? expr : expr.slice(eq + 1);
    if (set.startsWith('!')) { this.negated = true; set = set.slice(1); }
    if (set === '') throw new TraceUsageError(`-e ${expr}: an empty set`);
    for (const word of set.split(',')) this.wanted.push(TraceFilter.matcher(word, expr));
  }

  private static matcher(word: string, expr: string): (name: string) => boolean {
    const cls = TRACE_CLASSES[word.replace(/^%/, '').toLowerCase()];
    if (cls) return cls.has;
    // Call names as the trace spells them, in either case.
    const name = FILE_CALLS.includes(word.toLowerCase()) ? word.toLowerCase() : word.toUpperCase();
    const known = FILE_CALLS.includes(name)
      || IOMMUFD_IOCTLS.some((d) => d?.name === name) || VFIO_IOCTLS.some((d) => d.name === name)
      || /^(IOMMU|VFIO)_[A-Z0-9_]+$/.test(name);
    if (!known) {
      throw new TraceUsageError(`-e ${expr}: '${word}' is neither a call name (IOMMU_IOAS_MAP, VFIO_DEVICE_GET_INFO, open...) nor a class (${Object.keys(TRACE_CLASSES).join(', ')})`);
    }
    return (n) => n === name;
  }

  /** Whether a call named `name` is shown (an ambiguous VFIO name `A|B` when either part is). */
  shows(name: string): boolean {
    const hit = name.split('|').some((n) => this.wanted.some((w) => w(n)));
    return hit !== this.negated;
  }
}

export interface TracerOptions {
  /** Where lines and the summary go: a file's path, or stderr. */
  file?: string;
  /** Print a line per call (false with -c alone). */
  lines: boolean;
  /** Print the summary table at the end (-c, -C). */
  summary: boolean;
  filter?: TraceFilter;
  /** 0 none, 1 -t (HH:MM:SS), 2 -tt (with microseconds), 3 -ttt (seconds since the epoch). */
  timestamps: number;
  /** A diagnostic line for the user (the trace stopped). */
  say: (line: string) => void;
  /** -s: the most elements of an array a line shows (the server's default when unset). */
  strsize?: number;
  /** -v: unabbreviated structs. */
  verbose?: boolean;
}

interface Tally { calls: number; errors: number; ns: bigint }

/** An ioctl's line waiting for the fds of the files it made (the client adopts them after the reply). */
interface Held { text: string; name: string; wants: ReadonlyArray<{ token: bigint; at?: number }>; fds: Map<bigint, number> }

const waitCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Write all of `text` to `fd`, as a blocking write would: a non-blocking fd
 * that is full (EAGAIN; a pipe another process set O_NONBLOCK on) is waited
 * for, a partial write is continued. Throws the other errors (EPIPE...).
 */
export function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text, 'utf8');
  while (buf.length) {
    try {
      buf = buf.subarray(fs.writeSync(fd, buf));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(waitCell, 0, 0, 1);
    }
  }
}

/**
 * A trace's sink. `open()` opens the file (and throws its error, for the
 * caller to report); `line` never throws, since the server calls it inside a
 * client's request: when the reader goes away (`| head`: EPIPE) or writing
 * fails in any other way, the trace stops with one line on stderr and the
 * program goes on untraced.
 */
export class Tracer {
  private fd = 2;
  private stopped = false;
  private readonly tally = new Map<string, Tally>();
  /** By pid: the ioctl line that made files, until the client holds their fds. */
  private readonly held = new Map<number, Held>();

  constructor(private readonly o: TracerOptions) {}

  /** What the server's decoder needs to know: -s and -v. */
  get strsize(): number | undefined { return this.o.strsize; }
  get verbose(): boolean { return this.o.verbose ?? false; }

  /** Open the trace file (truncating it, as strace -o does). */
  open(): void {
    if (this.o.file !== undefined) this.fd = fs.openSync(this.o.file, 'w');
  }

  /** The server's trace callback. */
  readonly line = (line: string, ev?: TraceEvent): void => {
    const name = ev?.name ?? /^\[[^\]]*\] ([A-Za-z_][\w|]*)/.exec(line)?.[1] ?? '';
    if (ev?.name === 'new' && ev.ino !== undefined) {
      this.adopted(line, ev);
      return;
    }
    if (this.o.filter && !this.o.filter.shows(name)) return;
    // Counted: ioctls and opens (from their event), and the other calls the
    // server writes as `name(...) = result` (read, write, mmap, release...),
    // untimed; not the notes (new fd for, fork:).
    const isCall = ev !== undefined || /^\[[^\]]*\] [a-z]+\(/.test(line);
    if (this.o.summary && isCall) {
      const t = this.tally.get(name) ?? { calls: 0, errors: 0, ns: 0n };
      t.calls++;
      if (ev ? ev.result < 0 : / = -1 [A-Z]/.test(line)) t.errors++;
      t.ns += ev?.durationNs ?? 0n;
      this.tally.set(name, t);
    }
    if (!this.o.lines) return;
    let text = line;
    if (ev?.name === 'open' && ev.result >= 0 && ev.ino !== undefined) {
      const fd = clientFdOf(ev.pid, ev.ino);
      if (fd !== undefined) text = text.replace(/ = fd$/, ` = ${fd}`);
    }
    text = this.stamp(text, ev);
    // Anything else from this process: the held line's fds are not coming (a failed adoption).
    const pid = ev?.pid ?? Number(/^\[(\d+)/.exec(line)?.[1] ?? 0);
    this.release(pid);
    if (ev?.newFds?.length && ev.result >= 0) {
      this.held.set(pid, { text, name, wants: ev.newFds, fds: new Map() });
      return;
    }
    this.write(text + '\n');
  };

  /** A file an ioctl made is now an fd of the client: its number, on the note and in the ioctl's line. */
  private adopted(line: string, ev: TraceEvent): void {
    if (!this.o.lines) return;
    const fd = clientFdOf(ev.pid, ev.ino!);
    const held = this.held.get(ev.pid);
    if (held && ev.token !== undefined && held.wants.some((w) => w.token === ev.token)) {
      if (fd !== undefined) held.fds.set(ev.token, fd);
      if (held.fds.size === held.wants.length) this.release(ev.pid);
    }
    if (this.o.filter && !this.o.filter.shows('new')) return;
    this.write(this.stamp(fd !== undefined ? `${line} = ${fd}` : line, ev) + '\n');
  }

  /** `text` with -t's time after its pid: the call's start, as strace prints it (the line comes at its end). */
  private stamp(text: string, ev?: TraceEvent): string {
    if (!this.o.timestamps) return text;
    const atMs = performance.timeOrigin + performance.now() - Number(ev?.durationNs ?? 0n) / 1e6;
    const ts = timestamp(atMs, this.o.timestamps);
    const m = /^\[[^\]]*\] /.exec(text);
    return m ? `${m[0]}${ts} ${text.slice(m[0].length)}` : `${ts} ${text}`;
  }

  /** Write a held ioctl line with the fd numbers known by now. */
  private release(pid: number): void {
    const h = this.held.get(pid);
    if (!h) return;
    this.held.delete(pid);
    this.write(withFds(h) + '\n');
  }

  /** The summary table (when asked for), then close the file. */
  finish(): void {
    for (const pid of [...this.held.keys()]) this.release(pid);
    if (this.o.summary) this.write(summaryTable(this.tally));
    if (this.fd !== 2) try { fs.closeSync(this.fd); } catch { /* closed */ }
    this.fd = 2;
    this.stopped = true;
  }

  private write(text: string): void {
    if (this.stopped) return;
    try {
      writeAll(this.fd, text);
    } catch (e) {
      this.stopped = true;
      if (this.fd !== 2) try { fs.closeSync(this.fd); } catch { /* closed */ }
      this.o.say(`--trace stopped: cannot write to ${this.o.file ?? 'stderr'} (${(e as Error).message}); the program goes on untraced`);
    }
  }
}

/**
 * An ioctl's line with the fds of the files it made: as its result
 * (VFIO_GROUP_GET_DEVICE_FD) or as the field the fd was stored in
 * (out_fault_fd), added to what the ioctl wrote.
 */
function withFds(h: Held): string {
  let text = h.text;
  for (const w of h.wants) {
    const fd = h.fds.get(w.token);
    if (fd === undefined) continue;
    if (w.at === undefined) {
      text = text.replace(/\) = 0( \{| <|$)/, `) = ${fd}$1`);
      continue;
    }
    const [member, field] = fdField(h.name, w.at);
    const m = /\) = (\d+)( \{(.*)\})?( <[^>]*>)?$/.exec(text);
    if (!m) continue;
    let out = m[3] ?? '';
    // In a union member (create_access={...}): inside its braces, which the ioctl may have opened already.
    const open = member ? out.indexOf(`${member}={`) : -1;
    if (member && open >= 0) {
      const close = out.indexOf('}', open);
      out = `${out.slice(0, close)}, ${field}=${fd}${out.slice(close)}`;
    } else {
      const item = member ? `${member}={${field}=${fd}}` : `${field}=${fd}`;
      out = out ? `${out} ${item}` : item;
    }
    text = `${text.slice(0, m.index)}) = ${m[1]} {${out}}${m[4] ?? ''}`;
  }
  return text;
}

/** The field at byte `at` of ioctl `name`'s struct that holds a new fd (out_fault_fd), with its union member if in one. */
function fdField(name: string, at: number): [string | undefined, string] {
  if (name === 'IOMMU_TEST_CMD') {
    for (const v of IOMMU_TEST_OP_VIEWS.values()) {
      for (const [k, f] of Object.entries(v.fields)) if (f.off === at && k.endsWith('_fd')) return [v.name.slice(v.name.indexOf('.') + 1), k];
    }
  }
  const def = IOMMUFD_IOCTLS.find((d) => d?.name === name)?.struct;
  for (const [k, f] of Object.entries(def?.fields ?? {})) if (f.off === at && k.endsWith('_fd')) return [undefined, k];
  return [undefined, 'fd'];
}

/** The fd number process `pid` holds its end of socket `ino` at (the server may read its /proc/PID/fd). */
function clientFdOf(pid: number, ino: bigint): number | undefined {
  const dir = `/proc/${pid}/fd`;
  const want = `socket:[${ino}]`;
  try {
    for (const n of fs.readdirSync(dir)) {
      try { if (fs.readlinkSync(path.join(dir, n)) === want) return Number(n); } catch { /* closed meanwhile */ }
    }
  } catch { /* gone */ }
  return undefined;
}

function timestamp(ms: number, kind: number): string {
  const us = Math.floor(ms * 1000);
  const secs = Math.floor(us / 1e6);
  const frac = String(us % 1e6).padStart(6, '0');
  if (kind >= 3) return `${secs}.${frac}`;
  const d = new Date(secs * 1000);
  const hms = [d.getHours(), d.getMinutes(), d.getSeconds()].map((v) => String(v).padStart(2, '0')).join(':');
  return kind === 2 ? `${hms}.${frac}` : hms;
}

/** strace -c's table: by time spent, most first; then calls, then name. */
export function summaryTable(tally: ReadonlyMap<string, Tally>): string {
  const rows = [...tally].sort(([an, a], [bn, b]) => (a.ns !== b.ns ? (b.ns > a.ns ? 1 : -1) : b.calls - a.calls || (an < bn ? -1 : 1)));
  let totalNs = 0n, calls = 0, errors = 0;
  for (const [, t] of rows) { totalNs += t.ns; calls += t.calls; errors += t.errors; }
  const rule = '------ ----------- ----------- --------- --------- ----------------\n';
  const row = (pct: number, ns: bigint, n: number, errs: number, name: string) =>
    `${pct.toFixed(2).padStart(6)} ${(Number(ns) / 1e9).toFixed(6).padStart(11)} ` +
    `${String(n ? Math.round(Number(ns) / 1000 / n) : 0).padStart(11)} ` +
    `${String(n).padStart(9)} ${(errs ? String(errs) : '').padStart(9)} ${name}\n`;
  let out = '% time     seconds  usecs/call     calls    errors call\n' + rule;
  for (const [name, t] of rows) out += row(totalNs ? (Number(t.ns) * 100) / Number(totalNs) : 0, t.ns, t.calls, t.errors, name);
  out += rule + row(100, totalNs, calls, errors, 'total');
  return out;
}
