// npm run bench:profile: where the server's time goes while the kernel's
// iommufd selftest (246 cases) runs under the emulator. Runs the program of
// the oracle's selftest build (`npm run oracle -- selftests`) under
// `iommufd-emu run` with the V8 CPU profiler on the server, and prints the
// profile's self time by kind of work and by function, with the run's wall
// time, the server's CPU time and the machine's load. `--write FILE` also
// writes that summary as markdown (bench/selftest-profile.md is the one
// committed, the issue's figure).
//
// The profiler samples wall-clock time on the server's main thread: time the
// server spends off the CPU shows where it was when it left. Waiting in
// epoll for the next request is "(idle)"; a futex wake that lets the woken
// client run on the server's CPU at once shows as the channel page's answer.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { spawnCollect } from '../test/shim/build.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** The kind of work a function's self time is, for the summary's first table. */
export function kindOf(cf: CallFrame): string {
  const f = cf.functionName, u = cf.url;
  if (f === '(idle)') return 'idle: waiting for a request (epoll)';
  if (f === '(garbage collector)') return 'garbage collection';
  if (f === '(program)') return 'V8 and native code outside JS';
  if (u.endsWith('/server/channel-page.js')) {
    if (f === 'answer') return 'channel page: answer and futex wake (the woken client may run first)';
    return 'channel page: taking requests, polling for the next';
  }
  if (f === 'now' && (u === '' || u.includes('perf'))) return 'channel page: taking requests, polling for the next';
  if (u === '' && ['read', 'write', 'writeBuffer', 'writeString'].includes(f)) return 'syscalls: read/write (/proc/<pid>/mem, /proc texts, region files)';
  if (u === '' && ['open', 'openFileHandle', 'close', 'fstat', 'lstat', 'stat', 'readlink', 'readdir', 'rename', 'unlink', 'rmSync', 'mkdir'].includes(f)) return 'syscalls: open/close/stat/readlink (files, /proc)';
  if (u.includes('/server/process-memory.js') || u.includes('/server/proc-texts.js')) return 'server: client memory and /proc (JS)';
  if (u.includes('/server/')) return 'server: requests, files, fds (JS)';
  if (/\/(core|hw|uapi|util)\//.test(u)) return 'engine: iommufd semantics, the machine (JS)';
  if (u.startsWith('node:')) return 'Node: streams, buffers, fs wrappers, timers';
  return 'other';
}

function name(cf: CallFrame): string {
  const file = cf.url ? cf.url.split('/').slice(-2).join('/') : '(native)';
  return `${cf.functionName || '(anonymous)'} ${file}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
}

/** Self time (µs) by kind and by function. */
export function summarize(p: Profile): { total: number; kinds: Map<string, number>; fns: Map<string, number> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const kinds = new Map<string, number>(), fns = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    const n = byId.get(p.samples[i]!);
    if (!n) continue;
    total += dt;
    const k = kindOf(n.callFrame), f = name(n.callFrame);
    kinds.set(k, (kinds.get(k) ?? 0) + dt);
    fns.set(f, (fns.get(f) ?? 0) + dt);
  }
  return { total, kinds, fns };
}

function table(m: Map<string, number>, total: number, n: number): string[] {
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, v]) => `| ${k} | ${(v / 1e6).toFixed(2)} s | ${(100 * v / total).toFixed(1)}% |`);
}

const HP = '/proc/sys/vm/nr_hugepages';
const hpFree = (): number => Number(/^HugePages_Free:\s+(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);

/**
 * As `oracle/selftests --hugepages`: at least 128 free 2 MiB huge pages (the
 * guest's), raised when we may; returns the count to restore, if raised.
 */
function reserveHugepages(want = 128): number | undefined {
  const free = hpFree();
  if (free >= want) return undefined;
  try {
    const total = Number(fs.readFileSync(HP, 'utf8'));
    fs.writeFileSync(HP, String(total + want - free));
    return total;
  } catch {
    console.error(`bench:profile: ${free} free huge pages and cannot reserve more: the hugepage tests fail`);
    return undefined;
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const wi = argv.indexOf('--write');
  const out = wi >= 0 ? argv[wi + 1] : undefined;
  const cache = process.env.IOMMUFD_EMU_ORACLE_CACHE ?? `${os.homedir()}/.cache/iommufd-emu/oracle`;
  const dir = fs.existsSync(`${cache}/selftests`) ? fs.readdirSync(`${cache}/selftests`).filter((d) => d.startsWith('linux-source')).sort().pop() : undefined;
  const prog = dir ? `${cache}/selftests/${dir}/iommufd` : '';
  if (!dir || !fs.existsSync(prog)) {
    console.error('bench:profile: the selftest program is not built (npm run oracle -- selftests)');
    return 2;
  }
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-profile-'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-profile-work-'));
  const load0 = os.loadavg();
  const restore = reserveHugepages();
  try {
    const t0 = performance.now();
    // The server's own CPU, as the process sees it when it exits.
    const cpuHook = path.join(profDir, 'cpu.cjs');
    fs.writeFileSync(cpuHook, "process.on('exit',()=>{const r=process.resourceUsage();require('fs').writeFileSync(process.env.IEMU_PROFILE_CPU,JSON.stringify(r))})");
    const run = await spawnCollect(process.execPath,
      ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--require', cpuHook, path.join(ROOT, 'bin/iommufd-emu'), 'run', '--root-caps', '--platform', 'mock', '--', prog],
      { cwd: work, env: { ...process.env, IEMU_PROFILE_CPU: path.join(profDir, 'cpu.json') } });
    const wall = (performance.now() - t0) / 1000;
    const ok = (run.out.match(/^ok /gm) ?? []).length, notOk = (run.out.match(/^not ok /gm) ?? []).length;
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) { console.error(`bench:profile: no profile written (exit ${run.code}): ${run.err.trim().split('\n').pop()}`); return 1; }
    const { total, kinds, fns } = summarize(JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8')) as Profile);
    const cpu = JSON.parse(fs.readFileSync(path.join(profDir, 'cpu.json'), 'utf8')) as { userCPUTime: number; systemCPUTime: number };
    const load1 = os.loadavg();
    const lines = [
      '# Where the server\'s time goes in the kernel\'s iommufd selftest',
      '',
      `\`npm run bench:profile\`: ${path.basename(prog)} (${dir}) under \`iommufd-emu run --root-caps --platform mock\`, `
        + 'the V8 CPU profiler on the server (wall-clock samples of its main thread; off-CPU time shows where the thread left).',
      '',
      `- run: ${wall.toFixed(1)} s wall (profiler on), ${ok} ok, ${notOk} not ok; server CPU ${(cpu.userCPUTime / 1e6).toFixed(1)} s user + ${(cpu.systemCPUTime / 1e6).toFixed(1)} s system`,
      `- machine: ${os.cpus().length} CPUs, load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after`,
      '',
      '| self time by kind | seconds | share |',
      '|---|---|---|',
      ...table(kinds, total, 20),
      '',
      '| self time by function (top 25) | seconds | share |',
      '|---|---|---|',
      ...table(fns, total, 25),
      '',
    ];
    const text = lines.join('\n');
    console.log(text);
    if (out) fs.writeFileSync(out, text);
    return run.code === 0 ? 0 : 1;
  } finally {
    if (restore !== undefined) try { fs.writeFileSync(HP, String(restore)); } catch { /* as it is */ }
    fs.rmSync(profDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) process.exitCode = await main();
