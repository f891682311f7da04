// /proc/<pid>/status as an emulated client should see it: the host kernel's
// text with the VmLck and VmPin lines carrying the engine's accounting too
// (mm->locked_vm and mm->pinned_vm, which iommufd charges), so programs that
// check pin accounting there (the kernel selftests' get_vm_pinned/locked)
// see the emulated kernel's numbers.
//
//   /proc/self/status, /proc/thread-self/status, /proc/<pid>/status,
//   /proc/{self,<pid>}/task/<tid>/status      → <state>/status/<pid>/<name>
//
// The shim asks the server (OP_RESOLVE) as for the fault-injection files;
// at that moment the server reads the real file, rewrites the two lines and
// writes the result (read-only, replaced atomically so an earlier open keeps
// its snapshot, as a read of the kernel's file is a snapshot too). A process
// the server does not know (no client, or not a process at all) passes
// through: the answer is the path itself, and the shim opens the real file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddressSpace } from '../hw/memory.js';
import { writePrivate, type Owner } from './private-files.js';

const KB_PER_PAGE = 4;

/** The status text with the engine's locked/pinned pages added to VmLck and VmPin (kB, width 8 as the kernel prints them). */
export function rewriteStatus(text: string, mm: Pick<AddressSpace, 'lockedVm' | 'pinnedVm'>): string {
  return text.replace(/^(VmLck|VmPin):(\s*)(\d+) kB$/gm, (_all, tag: string, _sp: string, kb: string) => {
    const add = (tag === 'VmLck' ? mm.lockedVm : mm.pinnedVm) * KB_PER_PAGE;
    return `${tag}:\t${String(Number(kb) + Math.max(0, add)).padStart(8)} kB`;
  });
}

export class ProcStatus {
  readonly dir: string;
  private seq = 0;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'status');
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Glob patterns (fnmatch without FNM_PATHNAME) of the paths the shim sends us. */
  static readonly patterns = [
    '/proc/self/status', '/proc/thread-self/status', '/proc/[0-9]*/status',
    '/proc/self/task/[0-9]*/status',
  ];

  /**
   * Whether resolve() answers `p` (normalised): anything under /proc named
   * status that the patterns may send; those it does not rewrite pass through.
   */
  static matches(p: string): boolean {
    return p.startsWith('/proc/') && p.endsWith('/status');
  }

  /**
   * The file standing for status path `p` opened by thread `tid` of `pid` (a
   * process of `owner`): a rewritten copy, owned by `owner`, when the process
   * it names is one `mmOf` lets it see, else `p` (the client opens the real
   * file with its own rights).
   */
  resolve(pid: number, tid: number, p: string, owner: Owner, mmOf: (pid: number) => AddressSpace | undefined): string {
    let real: string;
    let m: RegExpExecArray | null;
    if (p === '/proc/self/status') real = `/proc/${pid}/status`;
    else if (p === '/proc/thread-self/status') real = `/proc/${pid}/task/${tid}/status`;
    else if ((m = /^\/proc\/(self|\d+)\/task\/(\d+)\/status$/.exec(p))) real = `/proc/${m[1] === 'self' ? pid : m[1]}/task/${m[2]}/status`;
    else if (/^\/proc\/\d+\/status$/.test(p)) real = p;
    else return p;
    // Only a process we may show (read nothing as root for a client that could not).
    const named = Number(/^\/proc\/(\d+)/.exec(real)![1]);
    if (named !== pid && !mmOf(named)) return p;
    let text: string;
    try { text = fs.readFileSync(real, 'latin1'); } catch { return p; } // the real open says why
    const tgid = /^Tgid:\s*(\d+)$/m.exec(text);
    const mm = tgid ? mmOf(Number(tgid[1])) : undefined;
    if (!mm) return p;
    const dir = path.join(this.dir, tgid![1]!);
    fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
    const name = real.slice('/proc/'.length).replace(/\//g, '-');
    const file = path.join(dir, name);
    const tmp = path.join(dir, `.${name}.${this.seq++}`);
    writePrivate(tmp, rewriteStatus(text, mm), 0o444, owner);
    fs.renameSync(tmp, file);
    return file;
  }

  /** Process `pid` is gone: its status copies go too. */
  forget(pid: number): void {
    try { fs.rmSync(path.join(this.dir, String(pid)), { recursive: true, force: true }); } catch { /* gone */ }
  }
}
