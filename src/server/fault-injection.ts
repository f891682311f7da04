// The kernel's fault-injection control files, as plain files the server keeps
// in its state directory (ARCHITECTURE: "control paths that are plain files to
// the kernel are redirected to files that the server keeps and reads at each
// ioctl"):
//
//   /proc/self/task/<tid>/fail-nth, /proc/<pid>/task/<tid>/fail-nth,
//   /proc/thread-self/fail-nth          → <state>/task/<tid>/fail-nth
//   /sys/kernel/debug[/...]             → <state>/debugfs[/...]
//
// The shim asks the server (OP_RESOLVE) where such a path lives and opens,
// stats or opendirs that file instead; a write() to it replaces its contents
// (as a write to the kernel's file sets the value). The server reads a task's
// fail-nth when an injection point is reached in that task's request, counts
// it down as should_fail_ex does, and writes the value back ("%u\n") before
// the reply goes out, so the program's pread after the call sees "0\n" when
// the fault fired.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Errno, ENOENT } from '../uapi/errno.js';
import type { FaultInjector } from '../core/task.js';
import { writePrivate, type Owner } from './private-files.js';

/** Knobs every fault_attr directory has, with the kernel's defaults. */
const COMMON_KNOBS: Record<string, string> = {
  probability: '0', interval: '1', times: '1', space: '0', verbose: '2',
  verbose_ratelimit_interval_ms: '5000', verbose_ratelimit_burst: '10',
  'task-filter': 'N', 'stacktrace-depth': '32',
  'require-start': '0', 'require-end': '18446744073709551615',
  'reject-start': '0', 'reject-end': '18446744073709551615',
};

/** The fault_attr directories of debugfs we provide, with their own knobs. */
const ATTRS: Record<string, Record<string, string>> = {
  failslab: { 'ignore-gfp-wait': 'Y', 'cache-filter': 'N' },
  fail_page_alloc: { 'ignore-gfp-wait': 'Y', 'ignore-gfp-highmem': 'Y', 'min-order': '1' },
  fail_iommufd: {},
  fail_usercopy: {},
};

type ShouldFailOpts = Parameters<FaultInjector['shouldFail']>[1];

/** Parse a value as kstrtouint would (leading digits, base 10); garbage reads as 0. */
function parseUint(text: string): number {
  const m = /^\s*(\d+)/.exec(text);
  if (!m) return 0;
  const n = Number(m[1]);
  return n > 0xffffffff ? 0 : n;
}

/** One task's fail-nth and the counting of its injection points. */
class TaskFaults implements FaultInjector {
  /** The counter as read at the first point of the current request, or undefined before. */
  private value: number | undefined;
  private dirty = false;

  constructor(readonly pid: number, readonly tid: number, readonly file: string, private readonly control: FaultControl) {}

  shouldFail(site: string, opts?: ShouldFailOpts): boolean {
    if (this.value === undefined) {
      this.value = this.read();
      this.control.touched(this);
    }
    if (this.value === 0) return false;
    if (opts?.noFail) return false;
    if (!this.control.passesFilters(site, opts)) return false;
    this.value--;
    this.dirty = true;
    return this.value === 0;
  }

  private read(): number {
    try { return parseUint(fs.readFileSync(this.file, 'latin1')); } catch { return 0; }
  }

  /** The request is over: store the counter if it moved, and forget it (the client may write it before the next one). */
  flush(): void {
    if (this.dirty) {
      try { fs.writeFileSync(this.file, `${this.value}\n`); } catch { /* the process is gone */ }
    }
    this.value = undefined;
    this.dirty = false;
  }
}

export class FaultControl {
  readonly debugfs: string;
  readonly taskDir: string;
  /** Tasks whose fail-nth file exists, by tid. */
  private readonly tasks = new Map<number, TaskFaults>();
  /** Tasks that reached an injection point in the current request. */
  private readonly active: TaskFaults[] = [];
  /** Knob values read in the current request. */
  private knobs = new Map<string, string>();

  constructor(readonly stateDir: string) {
    this.debugfs = path.join(stateDir, 'debugfs');
    this.taskDir = path.join(stateDir, 'task');
    fs.mkdirSync(this.taskDir, { recursive: true, mode: 0o700 });
    for (const [attr, own] of Object.entries(ATTRS)) {
      const dir = path.join(this.debugfs, attr);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const [k, v] of Object.entries({ ...COMMON_KNOBS, ...own })) fs.writeFileSync(path.join(dir, k), `${v}\n`, { mode: 0o600 });
    }
  }

  /** Glob patterns of the paths the shim sends to resolve() (IOMMUFD_EMU_REDIRECT). */
  static readonly patterns = [
    '/sys/kernel/debug', '/sys/kernel/debug/*',
    '/proc/self/task/*/fail-nth', '/proc/thread-self/fail-nth', '/proc/[0-9]*/task/*/fail-nth',
  ];

  /**
   * Where the control path `p` (absolute, as the shim normalised it) opened by
   * thread `tid` of `pid` (a process of `owner`) lives. ENOENT for what the
   * kernel would not have.
   */
  resolve(pid: number, tid: number, p: string, owner?: Owner): string {
    const clean = path.posix.normalize(p).replace(/\/$/, '');
    if (clean === '/sys/kernel/debug') return this.debugfs;
    if (clean.startsWith('/sys/kernel/debug/')) {
      const rest = clean.slice('/sys/kernel/debug/'.length);
      if (rest.split('/').includes('..')) throw new Errno(ENOENT, p);
      return path.join(this.debugfs, rest);
    }
    let target: number | undefined;
    if (clean === '/proc/thread-self/fail-nth') target = tid;
    const m = /^\/proc\/(self|\d+)\/task\/(\d+)\/fail-nth$/.exec(clean);
    if (m && (m[1] === 'self' || Number(m[1]) === pid)) target = Number(m[2]);
    // Only a thread of the caller: /proc/<pid>/task/ lists them.
    if (target === undefined || !fs.existsSync(`/proc/${pid}/task/${target}`)) throw new Errno(ENOENT, p);
    return this.taskFile(pid, target, owner).file;
  }

  private taskFile(pid: number, tid: number, owner: Owner | undefined): TaskFaults {
    let t = this.tasks.get(tid);
    if (t && t.pid !== pid) { this.forget(t); t = undefined; } // a reused tid: a new task
    if (!t) {
      // Our directory (searchable, never writable by the client); its file the task's own.
      const dir = path.join(this.taskDir, String(tid));
      fs.rmSync(dir, { recursive: true, force: true }); // a dead task's leftovers
      fs.mkdirSync(dir, { mode: 0o711 });
      const file = path.join(dir, 'fail-nth');
      writePrivate(file, '0\n', 0o600, owner);
      t = new TaskFaults(pid, tid, file, this);
      this.tasks.set(tid, t);
    }
    return t;
  }

  /** The injector of a task, undefined while it has no fail-nth file (nothing can fire). */
  injector(pid: number, tid: number): FaultInjector | undefined {
    if (this.tasks.size === 0) return undefined;
    const t = this.tasks.get(tid);
    return t && t.pid === pid ? t : undefined;
  }

  touched(t: TaskFaults): void {
    this.active.push(t);
  }

  /** End of a request: write back the counters that moved. */
  flush(): void {
    if (this.active.length) {
      for (const t of this.active) t.flush();
      this.active.length = 0;
    }
    if (this.knobs.size) this.knobs = new Map();
  }

  /** A process is gone (exit, exec of a new image): its tasks' files go with it. */
  forgetProcess(pid: number): void {
    for (const t of [...this.tasks.values()]) if (t.pid === pid) this.forget(t);
  }

  private forget(t: TaskFaults): void {
    this.tasks.delete(t.tid);
    try { fs.rmSync(path.dirname(t.file), { recursive: true, force: true }); } catch { /* gone */ }
  }

  private knob(attr: string, name: string): string {
    const key = `${attr}/${name}`;
    let v = this.knobs.get(key);
    if (v === undefined) {
      try { v = fs.readFileSync(path.join(this.debugfs, attr, name), 'latin1').trim(); } catch { v = ''; }
      this.knobs.set(key, v);
    }
    return v;
  }

  private flag(attr: string, name: string): boolean {
    const v = this.knob(attr, name);
    return v === 'Y' || v === 'y' || v === '1';
  }

  /** The site's debugfs filters (failslab's and fail_page_alloc's ignore-gfp-*, min-order). */
  passesFilters(site: string, opts: ShouldFailOpts): boolean {
    if (site === 'failslab') {
      // cache-filter: only caches created with SLAB_FAILSLAB may fail, and
      // none of the ones iommufd allocates from are.
      if (this.flag('failslab', 'cache-filter')) return false;
      if (opts?.mayWait && this.flag('failslab', 'ignore-gfp-wait')) return false;
    } else if (site === 'fail_page_alloc') {
      if ((opts?.order ?? 0) < parseUint(this.knob('fail_page_alloc', 'min-order'))) return false;
      if (opts?.highmem && this.flag('fail_page_alloc', 'ignore-gfp-highmem')) return false;
      if (opts?.mayWait && this.flag('fail_page_alloc', 'ignore-gfp-wait')) return false;
    }
    return true;
  }
}
