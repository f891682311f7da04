// The conformance runner's pieces, apart from the test file so that they can
// be tested on copies (test/conformance-checks.test.ts) without touching the
// real goldens, stamps or tools:
//   - what the oracle stamped each golden with (oracle/recorded-with.txt) and
//     whether the client's source and the golden's own bytes still match it;
//   - the prerequisites of a run (gcc, the shim library, the emulator and its
//     options, a platform), each missing one named;
//   - running a client under the emulator and comparing with its golden.
// Nothing here skips: a missing prerequisite or golden is a problem string,
// and the test that meets one fails with it.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from src (test/lib/) or from the build (dist/test/lib/). */
export function findRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['..', '../..', '../../..']) {
    const dir = join(here, up);
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'conformance'))) return dir;
  }
  return join(here, '../../..');
}

export type Platform = 'mock' | 'qemu-vtd' | 'qemu-vtd-sc' | 'qemu-vtd-sm' | 'qemu-vtd-sm-sc' | 'qemu-vtd-igb' | 'amd-vi' | 'qemu-smmuv3';

// ------------------------------------------------------------- stamps

/**
 * One client's record in oracle/recorded-with.txt, written by `oracle record`:
 *   golden NAME SRC-SHA256 GOLDEN-SHA256 KERNEL-ID...
 *   lines NAME H1 H2 ...
 * SRC-SHA256 covers NAME.c and the headers it includes (clientSha), GOLDEN-SHA256
 * the golden file's bytes, and Hk the k-th line of the golden (goldenLineHashes),
 * so that an edit is reported with its line.
 */
export interface Stamp {
  source: string;
  golden: string | undefined; // undefined: a stamp written before goldens were stamped
  kernel: string;
  lines: string[] | undefined;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function parseStamps(text: string): Map<string, Stamp> {
  const stamps = new Map<string, Stamp>();
  const lines = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'golden' && f[1] && f[2]) {
      const hasGolden = SHA256.test(f[3] ?? '');
      stamps.set(f[1], {
        source: f[2],
        golden: hasGolden ? f[3] : undefined,
        kernel: f.slice(hasGolden ? 4 : 3).join(' '),
        lines: undefined,
      });
    } else if (f[0] === 'lines' && f[1]) {
      lines.set(f[1], f.slice(2));
    }
  }
  for (const [name, l] of lines) {
    const s = stamps.get(name);
    if (s) s.lines = l;
  }
  return stamps;
}

export function readStamps(file: string): Map<string, Stamp> {
  return existsSync(file) ? parseStamps(readFileSync(file, 'utf8')) : new Map();
}

/**
 * The sha256 the oracle stamps a client's source with: NAME.c and,
 * recursively, the headers it includes with #include "..." (beside the
 * includer, then in INCLUDE, by default CLIENTS/include), concatenated in
 * order of their paths relative to CLIENTS.
 */
export function clientSha(clients: string, name: string, include = join(clients, 'include')): string {
  const seen = new Set<string>();
  const todo = [`${name}.c`];
  while (todo.length > 0) {
    const rel = todo.shift()!;
    if (seen.has(rel)) continue;
    seen.add(rel);
    const text = readFileSync(join(clients, rel), 'utf8');
    for (const m of text.matchAll(/^\s*#\s*include\s*"([^"]*)"/gm)) {
      for (const cand of [join(dirname(join(clients, rel)), m[1]!), join(include, m[1]!)]) {
        if (existsSync(cand)) {
          todo.push(relative(clients, cand));
          break;
        }
      }
    }
  }
  const hash = createHash('sha256');
  for (const rel of [...seen].sort()) hash.update(readFileSync(join(clients, rel)));
  return hash.digest('hex');
}

/** A golden's lines as bytes: split at each \n; a final \n ends the last line. */
export function goldenByteLines(bytes: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      lines.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  return lines;
}

export function goldenSha(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The first 8 hex digits of each line's sha256 (without its newline), as the oracle writes them. */
export function goldenLineHashes(bytes: Buffer): string[] {
  return goldenByteLines(bytes).map((l) => createHash('sha256').update(l).digest('hex').slice(0, 8));
}

function quote(line: Buffer | undefined): string {
  if (line === undefined) return '(no line)';
  const s = line.toString('utf8');
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

/**
 * Why the golden's bytes are not the ones the oracle recorded and stamped
 * (undefined if they are). Names the first line that differs.
 */
export function goldenStampProblem(name: string, bytes: Buffer, stamp: Stamp | undefined, stampFile = 'oracle/recorded-with.txt'): string | undefined {
  const rerecord = `goldens come only from the kernel: npm run oracle -- record ${name}`;
  if (stamp === undefined) return `${name}.golden is not listed in ${stampFile} (record it: npm run oracle -- record ${name})`;
  if (stamp.golden === undefined || stamp.lines === undefined) {
    return `${name}.golden: its stamp in ${stampFile} does not cover the golden's bytes (stamped before goldens were); ${rerecord}`;
  }
  const sha = goldenSha(bytes);
  if (sha === stamp.golden) return undefined;
  const now = goldenLineHashes(bytes);
  const lines = goldenByteLines(bytes);
  const n = Math.max(now.length, stamp.lines.length);
  for (let i = 0; i < n; i++) {
    if (now[i] === stamp.lines[i]) continue;
    const what =
      now[i] === undefined
        ? `is missing (the stamp has ${stamp.lines.length} lines, the golden ${now.length})`
        : stamp.lines[i] === undefined
          ? `${quote(lines[i])} is not in the stamp (the stamp has ${stamp.lines.length} lines, the golden ${now.length})`
          : `${quote(lines[i])} does not match the stamp`;
    return `${name}.golden line ${i + 1} ${what} in ${stampFile}: the golden was edited after it was recorded; ${rerecord}`;
  }
  return `${name}.golden: its bytes (sha256 ${sha.slice(0, 12)}) do not match the stamp in ${stampFile} (${stamp.golden.slice(0, 12)}) though every line does (the final newline?); ${rerecord}`;
}

// ------------------------------------------------------------- clients

export interface Client {
  name: string;
  source: string;
  /** why this client cannot be compared: stale stamp, edited golden, no golden */
  problems: string[];
  golden: string[]; // lines, the last one "exit=N"
  platform: Platform;
  needs: string | undefined;
  oracleFlags: string[];
}

/** Text after "// KEY:" in the first 40 lines of a client. */
export function header(src: string, key: string): string | undefined {
  const re = new RegExp(`^\\s*//\\s*${key}:\\s*(.*?)\\s*$`);
  for (const line of src.split('\n').slice(0, 40)) {
    const m = re.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** Text after every "// KEY:" in the first 40 lines of a client, in order. */
export function headers(src: string, key: string): string[] {
  const re = new RegExp(`^\\s*//\\s*${key}:\\s*(.*?)\\s*$`);
  const out: string[] = [];
  for (const line of src.split('\n').slice(0, 40)) {
    const m = re.exec(line);
    if (m && m[1] !== '') out.push(m[1]!);
  }
  return out;
}

export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The emulator platform that mirrors the oracle machine these flags boot (oracle --help). */
export function platformOfFlags(flags: readonly string[]): Platform {
  if (flags.includes('--arm')) return 'qemu-smmuv3';
  if (flags.includes('--amd')) return 'amd-vi';
  if (flags.includes('--igb')) return 'qemu-vtd-igb';
  const sm = flags.includes('--scalable'), sc = flags.includes('--snoop-control');
  if (sm) return sc ? 'qemu-vtd-sm-sc' : 'qemu-vtd-sm';
  if (sc) return 'qemu-vtd-sc';
  return flags.includes('--vfio') ? 'qemu-vtd' : 'mock';
}

/**
 * Every client CLIENTS/NAME.c with what stands between it and a comparison:
 * a missing golden, a golden whose source changed since it was recorded, a
 * golden whose bytes are not the recorded ones.
 */
export function loadClients(clients: string, stampFile: string): Client[] {
  const stamps = readStamps(stampFile);
  const shown = relative(join(clients, '../..'), stampFile) || stampFile;
  const out: Client[] = [];
  for (const file of readdirSync(clients).sort()) {
    if (!file.endsWith('.c')) continue;
    const name = file.slice(0, -2);
    const source = join(clients, file);
    const src = readFileSync(source, 'utf8');
    const oracleFlags = (header(src, 'oracle') ?? '').split(/\s+/).filter(Boolean);
    const platform = (header(src, 'platform') as Platform | undefined) ?? platformOfFlags(oracleFlags);
    const problems: string[] = [];
    const goldenPath = join(clients, `${name}.golden`);
    let golden: string[] = [];
    if (!existsSync(goldenPath)) {
      problems.push(`${name}.c has no golden (${name}.golden): record it on the real kernel: npm run oracle -- record ${name}`);
    } else {
      const bytes = readFileSync(goldenPath);
      golden = splitLines(bytes.toString('utf8'));
      const stamp = stamps.get(name);
      const edited = goldenStampProblem(name, bytes, stamp, shown);
      if (edited) problems.push(edited);
      if (stamp !== undefined && stamp.source !== clientSha(clients, name)) {
        problems.push(`${name}.c or a header it includes changed after its golden was recorded (re-record: npm run oracle -- record ${name})`);
      }
    }
    out.push({ name, source, problems, golden, platform, needs: header(src, 'needs') || undefined, oracleFlags });
  }
  return out;
}

// ------------------------------------------------------------- prerequisites

export interface Prerequisites {
  root: string;
  /** PATH to look for gcc in (default: this process's) */
  path?: string;
  /** the shim library (default: $IOMMUFD_EMU_SHIM or ROOT/native/shim/libiommufd-shim.so, as `run` finds it) */
  shim?: string;
  /** the emulator's command (default ROOT/bin/iommufd-emu) */
  emu?: string;
}

export function defaultShim(root: string): string {
  return process.env['IOMMUFD_EMU_SHIM'] ?? join(root, 'native', 'shim', 'libiommufd-shim.so');
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

/** The `run` options the conformance clients need from the emulator. */
const RUN_OPTIONS = ['--platform', '--user', '--root-caps'];

/**
 * What is missing to run the conformance clients, one line each (empty if
 * nothing): gcc, the shim library, the emulator, its `run` options.
 */
export function prerequisiteProblems(p: Prerequisites): string[] {
  const problems: string[] = [];
  const env = { ...process.env, PATH: p.path ?? process.env['PATH'] ?? '' };
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8', env });
  if (gcc.error || gcc.status !== 0) {
    problems.push(`gcc: not found or not working on PATH=${env.PATH} (${gcc.error?.message ?? `exit ${gcc.status}`}); apt-get install gcc libc6-dev`);
  }
  const shim = p.shim ?? defaultShim(p.root);
  if (!existsSync(shim)) problems.push(`the shim library ${shim} does not exist (npm run build makes it)`);
  const emu = p.emu ?? join(p.root, 'bin', 'iommufd-emu');
  if (!existsSync(emu)) {
    problems.push(`the emulator ${emu} does not exist`);
    return problems;
  }
  const r = spawnSync(emu, ['run', '--help'], { cwd: p.root, encoding: 'utf8', timeout: 15_000 });
  const help = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error || r.status !== 0) {
    problems.push(`${emu} run --help: ${r.error?.message ?? `exits ${r.status}: ${firstLine(help)}`} (npm run build?)`);
    return problems;
  }
  for (const opt of RUN_OPTIONS) {
    if (!new RegExp(`${opt}\\b`).test(help)) problems.push(`${emu} run has no ${opt} option`);
  }
  return problems;
}

/** Why `run --platform P` cannot start a trivial program (undefined if it can). */
export function platformProblem(emu: string, platform: string, timeoutMs = 30_000): string | undefined {
  const r = spawnSync(emu, ['run', '--platform', platform, '--', 'true'], { cwd: tmpdir(), encoding: 'utf8', timeout: timeoutMs });
  if (r.error) return `platform ${platform}: ${emu} run: ${r.error.message}`;
  if (r.status !== 0) return `platform ${platform}: ${emu} run --platform ${platform} -- true exits ${r.status}: ${firstLine(r.stderr)}`;
  return undefined;
}

/** The options for `run` before "--" that mirror the oracle's machine for this client. */
export function runArgs(c: Client): string[] {
  // The oracle runs clients as root with every capability, or with --user as uid 65534.
  return ['--platform', c.platform, c.oracleFlags.includes('--user') ? '--user' : '--root-caps'];
}

// ------------------------------------------------------------- running

export interface RunResult {
  lines: string[]; // stdout lines, then "exit=N"
  stderr: string;
  problem: string | undefined; // could not run / timed out
}

export function runUnderEmulator(emu: string, bin: string, options: string[], timeoutMs: number): Promise<RunResult> {
  const args = ['run', ...options, '--', bin];
  return new Promise((resolve) => {
    const child = spawn(emu, args, { cwd: tmpdir(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ lines: [], stderr: '', problem: `cannot start ${emu}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const lines = splitLines(stdout);
      if (timedOut) {
        resolve({ lines, stderr, problem: `timed out after ${timeoutMs / 1000} s` });
        return;
      }
      const status = code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
      lines.push(`exit=${status}`);
      resolve({ lines, stderr, problem: undefined });
    });
  });
}

export { firstLine };

// ------------------------------------------------------------- comparison

export interface Comparison {
  matched: number; // golden lines that match
  diffs: string[]; // report of the first differing lines
}

/**
 * Golden stdout lines are compared by position; the final "exit=N" line is
 * compared with the emulator's exit line wherever it falls.
 */
export function compare(golden: string[], got: string[], show = 4): Comparison {
  const gBody = golden.slice(0, -1);
  const gExit = golden[golden.length - 1] ?? '';
  const hasExit = got.length > 0 && /^exit=/.test(got[got.length - 1]!);
  const oBody = hasExit ? got.slice(0, -1) : got;
  const oExit = hasExit ? got[got.length - 1]! : '(no exit status)';
  let matched = 0;
  let shown = 0;
  const diffs: string[] = [];
  const n = Math.max(gBody.length, oBody.length);
  for (let i = 0; i < n; i++) {
    const g = gBody[i];
    const o = oBody[i];
    if (g !== undefined && g === o) {
      matched++;
      continue;
    }
    if (shown++ < show) {
      diffs.push(`  line ${i + 1}:`);
      diffs.push(`    kernel:   ${g ?? '(no line)'}`);
      diffs.push(`    emulator: ${o ?? '(no line)'}`);
    }
  }
  if (shown > show) diffs.push(`  ... and ${shown - show} more differing lines`);
  if (gExit === oExit) matched++;
  else diffs.push(`  ${gExit} from the kernel, ${oExit} from the emulator`);
  return { matched, diffs };
}

// ------------------------------------------------------------- test/shim goldens

/**
 * A golden of a test/shim client, from a "// golden: G [FLAGS...] [-- ARGS...]"
 * line in the first 40 lines of test/shim/CLIENT.c: test/shim/G.golden is the
 * stdout of CLIENT (which exits 0) run with ARGS on the oracle machine FLAGS.
 * `npm run oracle -- record` writes it and stamps it as shim/G.
 */
export interface ShimGolden {
  golden: string; // G: test/shim/G.golden
  stampName: string; // shim/G in oracle/recorded-with.txt
  client: string; // CLIENT: test/shim/CLIENT.c
  oracleFlags: string[];
  args: string[];
  platform: Platform; // the emulator platform mirroring the oracle machine
}

/** Every golden the clients of SHIM (test/shim) declare, by golden name. */
export function shimGoldens(shim: string): ShimGolden[] {
  const out: ShimGolden[] = [];
  for (const file of readdirSync(shim).sort()) {
    if (!file.endsWith('.c')) continue;
    for (const h of headers(readFileSync(join(shim, file), 'utf8'), 'golden')) {
      const words = h.split(/\s+/);
      const golden = words.shift()!;
      const dash = words.indexOf('--');
      const oracleFlags = dash < 0 ? words : words.slice(0, dash);
      const args = dash < 0 ? [] : words.slice(dash + 1);
      const platform = platformOfFlags(oracleFlags);
      out.push({ golden, stampName: `shim/${golden}`, client: file.slice(0, -2), oracleFlags, args, platform });
    }
  }
  return out.sort((a, b) => (a.golden < b.golden ? -1 : a.golden > b.golden ? 1 : 0));
}

/**
 * Why test/shim/G.golden cannot be compared (undefined if it can): it is
 * missing, its bytes are not the ones the oracle recorded and stamped as
 * shim/G (naming the first line that differs), or its client or a header it
 * includes changed since. ROOT is the repository (test/shim, test/conformance/include,
 * oracle/recorded-with.txt); STAMPS, if given, replaces reading the stamp file.
 */
export function shimGoldenProblem(root: string, g: ShimGolden, stamps?: Map<string, Stamp>): string | undefined {
  const shim = join(root, 'test', 'shim');
  const file = join(shim, `${g.golden}.golden`);
  if (!existsSync(file)) return `test/shim/${g.golden}.golden does not exist: record it on the real kernel: npm run oracle -- record ${g.stampName}`;
  const all = stamps ?? readStamps(join(root, 'oracle', 'recorded-with.txt'));
  const stamp = all.get(g.stampName);
  const edited = goldenStampProblem(g.stampName, readFileSync(file), stamp);
  if (edited) return edited;
  if (stamp!.source !== clientSha(shim, g.client, join(root, 'test', 'conformance', 'include'))) {
    return `test/shim/${g.client}.c or a header it includes changed after ${g.stampName}.golden was recorded (re-record: npm run oracle -- record ${g.stampName})`;
  }
  return undefined;
}
