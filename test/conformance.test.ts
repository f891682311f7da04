// Differential conformance: every C client in test/conformance/ that has a
// golden (its output recorded on the real Linux kernel by `npm run oracle --
// record`) runs under `bin/iommufd-emu run` on the platform that mirrors the
// oracle's machine, and its output is compared with the golden line by line.
//
// A client that matches passes. One that does not is a todo naming what will
// make it match (its "// needs: ..." header) and prints the first differing
// lines; a client with no "needs" header that drifts is a failure (a
// regression), and so is a golden whose client changed since it was recorded
// (oracle/recorded-with.txt keeps each client's sha256). At the end:
//   conformance: N of M golden lines match
// No qemu is needed here; only gcc and the emulator.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from src (test/) or from the build (dist/test/). */
function findRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['..', '../..']) {
    const dir = join(here, up);
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'conformance'))) return dir;
  }
  return join(here, '../..');
}

const ROOT = findRoot();
const STAMP = join(ROOT, 'oracle', 'recorded-with.txt');
const CLIENTS = join(ROOT, 'test', 'conformance');
const EMU = join(ROOT, 'bin', 'iommufd-emu');
const RUN_TIMEOUT_MS = Number(process.env['CONFORMANCE_TIMEOUT_MS'] ?? 30_000);
const SHOW_LINES = 4; // differing lines shown per client

type Platform = 'mock' | 'qemu-vtd' | 'qemu-vtd-sc';

interface Client {
  name: string;
  source: string;
  stale: string | undefined; // why the golden no longer belongs to the source
  golden: string[]; // lines, the last one "exit=N"
  platform: Platform;
  needs: string | undefined;
  oracleFlags: string[];
}

/** Text after "// KEY:" in the first 40 lines of a client. */
function header(src: string, key: string): string | undefined {
  const re = new RegExp(`^\\s*//\\s*${key}:\\s*(.*?)\\s*$`);
  for (const line of src.split('\n').slice(0, 40)) {
    const m = re.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * The sha256 the oracle stamps a golden with: NAME.c and, recursively, the
 * headers it includes with #include "..." (beside the includer, then in
 * test/conformance/include), concatenated in order of their paths relative
 * to test/conformance.
 */
function clientSha(name: string): string {
  const seen = new Set<string>();
  const todo = [`${name}.c`];
  while (todo.length > 0) {
    const rel = todo.shift()!;
    if (seen.has(rel)) continue;
    seen.add(rel);
    const text = readFileSync(join(CLIENTS, rel), 'utf8');
    for (const m of text.matchAll(/^\s*#\s*include\s*"([^"]*)"/gm)) {
      for (const cand of [join(dirname(join(CLIENTS, rel)), m[1]!), join(CLIENTS, 'include', m[1]!)]) {
        if (existsSync(cand)) {
          todo.push(relative(CLIENTS, cand));
          break;
        }
      }
    }
  }
  const hash = createHash('sha256');
  for (const rel of [...seen].sort()) hash.update(readFileSync(join(CLIENTS, rel)));
  return hash.digest('hex');
}

/** "golden NAME SHA256 KERNEL..." lines of oracle/recorded-with.txt. */
function loadStamps(): Map<string, string> {
  const stamps = new Map<string, string>();
  if (!existsSync(STAMP)) return stamps;
  for (const line of readFileSync(STAMP, 'utf8').split('\n')) {
    const f = line.split(/\s+/);
    if (f[0] === 'golden' && f[1] && f[2]) stamps.set(f[1], f[2]);
  }
  return stamps;
}

const unrecorded: string[] = []; // clients without a golden yet

function loadClients(): Client[] {
  if (!existsSync(CLIENTS)) return [];
  const stamps = loadStamps();
  const out: Client[] = [];
  for (const file of readdirSync(CLIENTS).sort()) {
    if (!file.endsWith('.c')) continue;
    const name = file.slice(0, -2);
    const goldenPath = join(CLIENTS, `${name}.golden`);
    if (!existsSync(goldenPath)) {
      unrecorded.push(name);
      continue;
    }
    const source = join(CLIENTS, file);
    const src = readFileSync(source, 'utf8');
    const oracleFlags = (header(src, 'oracle') ?? '').split(/\s+/).filter(Boolean);
    let platform = header(src, 'platform') as Platform | undefined;
    if (platform === undefined) {
      platform = oracleFlags.includes('--snoop-control')
        ? 'qemu-vtd-sc'
        : oracleFlags.includes('--vfio')
          ? 'qemu-vtd'
          : 'mock';
    }
    const sha = clientSha(name);
    const recorded = stamps.get(name);
    const stale =
      recorded === undefined
        ? `${name}.golden is not listed in oracle/recorded-with.txt (record it: npm run oracle -- record ${name})`
        : recorded !== sha
          ? `${name}.c or a header it includes changed after its golden was recorded (re-record: npm run oracle -- record ${name})`
          : undefined;
    out.push({
      name,
      source,
      stale,
      golden: splitLines(readFileSync(goldenPath, 'utf8')),
      platform,
      needs: header(src, 'needs') || undefined,
      oracleFlags,
    });
  }
  return out;
}

// ------------------------------------------------------------- the emulator

interface Emulator {
  ok: boolean;
  why: string; // when not ok
  help: string;
}

function probeEmulator(): Emulator {
  if (!existsSync(EMU)) return { ok: false, why: 'bin/iommufd-emu does not exist yet', help: '' };
  const r = spawnSync(EMU, ['run', '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
  const help = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) return { ok: false, why: `bin/iommufd-emu run --help: ${r.error.message}`, help };
  if (r.status !== 0) {
    return { ok: false, why: `bin/iommufd-emu run --help exits ${r.status}: ${firstLine(help)}`, help };
  }
  return { ok: true, why: '', help };
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

function probeGcc(): string | undefined {
  const r = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'gcc is not installed';
}

interface RunResult {
  lines: string[]; // stdout lines, then "exit=N"
  stderr: string;
  problem: string | undefined; // could not run / timed out
}

function runUnderEmulator(bin: string, options: string[]): Promise<RunResult> {
  const args = ['run', ...options, '--', bin];
  return new Promise((resolve) => {
    const child = spawn(EMU, args, { cwd: tmpdir(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
    }, RUN_TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ lines: [], stderr: '', problem: `cannot start bin/iommufd-emu: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const lines = splitLines(stdout);
      if (timedOut) {
        resolve({ lines, stderr, problem: `timed out after ${RUN_TIMEOUT_MS / 1000} s` });
        return;
      }
      const status = code ?? 128 + signalNumber(signal);
      lines.push(`exit=${status}`);
      resolve({ lines, stderr, problem: undefined });
    });
  });
}

function signalNumber(sig: NodeJS.Signals | null): number {
  return sig ? (osConstants.signals[sig] ?? 0) : 0;
}

// ------------------------------------------------------------- comparison

interface Comparison {
  matched: number; // golden lines that match
  diffs: string[]; // report of the first differing lines
}

/**
 * Golden stdout lines are compared by position; the final "exit=N" line is
 * compared with the emulator's exit line wherever it falls.
 */
function compare(golden: string[], got: string[]): Comparison {
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
    if (shown++ < SHOW_LINES) {
      diffs.push(`  line ${i + 1}:`);
      diffs.push(`    kernel:   ${g ?? '(no line)'}`);
      diffs.push(`    emulator: ${o ?? '(no line)'}`);
    }
  }
  if (shown > SHOW_LINES) diffs.push(`  ... and ${shown - SHOW_LINES} more differing lines`);
  if (gExit === oExit) matched++;
  else diffs.push(`  ${gExit} from the kernel, ${oExit} from the emulator`);
  return { matched, diffs };
}

// ------------------------------------------------------------- the tests

const clients = loadClients();
const emulator = probeEmulator();
const noGcc = probeGcc();
const work = mkdtempSync(join(tmpdir(), 'iommufd-conformance-'));
chmodSync(work, 0o755); // --user clients run as uid 65534 and must reach their binary
let matchedLines = 0;
const totalLines = clients.reduce((n, c) => n + c.golden.length, 0);

after(() => {
  rmSync(work, { recursive: true, force: true });
  console.log(`conformance: ${matchedLines} of ${totalLines} golden lines match`);
});

const platformProblems = new Map<string, string | undefined>();

/** Can `run [--platform P]` start a trivial program? undefined if so. */
function platformProblem(p: Platform | 'default'): string | undefined {
  if (!platformProblems.has(p)) {
    const args = p === 'default' ? ['run', '--', 'true'] : ['run', '--platform', p, '--', 'true'];
    const r = spawnSync(EMU, args, { cwd: tmpdir(), encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
    let why: string | undefined;
    if (r.error) why = `platform ${p} (bin/iommufd-emu run: ${r.error.message})`;
    else if (r.status !== 0) why = `platform ${p} in bin/iommufd-emu run (now: ${firstLine(r.stderr) || `exit ${r.status}`})`;
    platformProblems.set(p, why);
  }
  return platformProblems.get(p);
}

interface Plan {
  blocked?: string; // cannot run at all: why
  provisional?: string; // runs, but not on its own platform yet: why
  args: string[]; // the options for `run` before "--"
}

/** How to run this client under the emulator today. */
function plan(c: Client): Plan {
  if (!emulator.ok) return { blocked: emulator.why, args: [] };
  if (noGcc) return { blocked: noGcc, args: [] };
  const args: string[] = [];
  if (c.oracleFlags.includes('--user')) {
    if (!/--user\b/.test(emulator.help)) {
      return { blocked: 'bin/iommufd-emu run --user (run the client as an ordinary user)', args };
    }
    args.push('--user');
  } else if (/--root-caps\b/.test(emulator.help)) {
    // The oracle runs clients as root with every capability; so must we, even in a container.
    args.push('--root-caps');
  }
  const p = emulator.help.includes('--platform') ? platformProblem(c.platform) : 'bin/iommufd-emu run --platform';
  if (!p) return { args: ['--platform', c.platform, ...args] };
  // The mock machine is close to the emulator's default machine: run there for
  // the scoreboard, but the client cannot pass until its platform exists.
  if (c.platform === 'mock' && !platformProblem('default')) return { provisional: p, args };
  return { blocked: p, args };
}

for (const c of clients) {
  test(`conformance ${c.name} [${c.platform}]`, async (t) => {
    // A golden is only worth comparing against if it came from this source.
    assert.equal(c.stale, undefined, c.stale);
    const needs = c.needs ? `needs ${c.needs}` : undefined;
    const how = plan(c);
    if (how.blocked) {
      t.todo(`${how.blocked}${needs ? `; ${needs}` : ''}`);
      return;
    }
    const bin = join(work, c.name);
    const cc = spawnSync('gcc', ['-O1', '-I', join(CLIENTS, 'include'), '-o', bin, c.source], {
      encoding: 'utf8',
    });
    assert.equal(cc.status, 0, `gcc ${c.name}.c failed:\n${cc.stderr}`);

    const r = await runUnderEmulator(bin, how.args);
    const cmp = compare(c.golden, r.lines);
    matchedLines += cmp.matched;
    const matches = r.problem === undefined && cmp.diffs.length === 0;
    if (matches && !how.provisional) return;

    const report = [
      `${c.name}: ${cmp.matched} of ${c.golden.length} golden lines match` +
        (how.provisional ? ' on the default machine' : '') +
        (r.problem ? ` (${r.problem})` : ''),
      ...cmp.diffs,
    ];
    const err = firstLine(r.stderr);
    if (err && !matches) report.push(`  emulator stderr: ${err}`);
    for (const line of report) t.diagnostic(line);
    if (how.provisional) {
      t.todo(`${how.provisional}${needs && !matches ? `; ${needs}` : ''}`);
      return;
    }
    if (needs) {
      t.todo(needs);
      return;
    }
    assert.fail(`${report.join('\n')}\n(${c.name}.c has no "// needs:" line, so this is a regression)`);
  });
}

for (const name of unrecorded) {
  test(`conformance ${name} (no golden)`, (t) => {
    t.todo(`record its golden on the real kernel: npm run oracle -- record ${name}`);
  });
}

if (clients.length === 0 && unrecorded.length === 0) {
  test('conformance: no client has a golden yet (npm run oracle -- record)', (t) => {
    t.todo('record goldens with npm run oracle -- record');
  });
}
