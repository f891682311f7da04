#!/usr/bin/env node
// oracle fuzz: random ioctl sequences (test/fuzz/gen.c) on Linux and under
// the emulator, compared line by line; each divergence shrunk to a short
// reproducer (the steps it needs, found by delta debugging on both sides).
//
//   oracle fuzz [MACHINE] [--no-shrink] [--v2] [--tally FILE] SEEDS STEPS
//     MACHINE  the oracle's machine flags, one of: (none: mock), --vfio,
//            --vfio --snoop-control, --vfio --scalable [--snoop-control],
//            --igb, --amd, --arm; the emulator runs the matching platform
//     SEEDS  a seed, a list 1,2,3 or a range 1-8
//     --v2   the generator's version 2 (more step kinds; gen v2 SEED ...)
//     --tally FILE  append a row (date, machine, version, seeds, steps of the
//            seeds that agree throughout, differing seeds) to FILE's table (test/fuzz/tally.md)
// Timing goes to stderr: the guest's boot and its clients' time, the
// emulator's run (both sides run at once), the comparison.
//
// Exit: 0 every seed agrees, 1 some differ, 64 usage, other: the oracle's.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GEN = join(ROOT, 'test/fuzz/gen.c');

function usage(code) {
  (code ? process.stderr : process.stdout).write(`usage: oracle fuzz [MACHINE] [--no-shrink] [--v2] [--tally FILE] SEEDS STEPS
  Runs test/fuzz/gen.c with each seed on the oracle's kernel and under the
  emulator, reports the first step where they differ and a shrunk
  reproducer (gen SEED N SKIPS...). MACHINE, the oracle's flags, and the
  emulator's platform that mirrors it:
    (none)                          mock
    --vfio                          qemu-vtd
    --vfio --snoop-control          qemu-vtd-sc
    --vfio --scalable               qemu-vtd-sm     (qemu 10)
    --vfio --scalable --snoop-control  qemu-vtd-sm-sc  (qemu 10)
    --igb                           qemu-vtd-igb    (qemu 10; vfio2 an igb)
    --amd                           amd-vi
    --arm                           qemu-smmuv3     (arm64 under TCG; gen
                                    cross-built with aarch64-linux-gnu-gcc)
  SEEDS: N, N,M,... or A-B. --v2: the generator's version 2 (fork, dup,
  freed memory, FIO* ioctls, VFIO container and group files).
  --tally FILE: append the run's row to FILE (test/fuzz/tally.md).
`);
  process.exit(code);
}

function parseSeeds(s) {
  const out = [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) usage(64);
    const a = Number(m[1]), b = m[2] ? Number(m[2]) : a;
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

const args = process.argv.slice(2);
let vfio = false, snoop = false, scalable = false, igb = false, amd = false, arm = false, shrink = true, V = [], tally = '';
while (args[0]?.startsWith('-')) {
  const a = args.shift();
  if (a === '--vfio') vfio = true;
  else if (a === '--snoop-control') snoop = true;
  else if (a === '--scalable') scalable = true;
  else if (a === '--igb') igb = true;
  else if (a === '--amd') amd = true;
  else if (a === '--arm') arm = true;
  else if (a === '--no-shrink') shrink = false;
  else if (a === '--v2') V = ['v2'];
  else if (a === '--tally' && args.length) tally = resolve(args.shift());
  else if (a === '-h' || a === '--help') usage(0);
  else usage(64);
}
if (args.length !== 2 || !/^\d+$/.test(args[1])) usage(64);
// (--snoop-control and --scalable are VT-d unit switches of --vfio; --igb is
// --vfio plus an igb, with no platform for those switches; --amd and --arm
// are machines of their own)
if (((snoop || scalable) && (!vfio || igb)) || [vfio || igb, amd, arm].filter(Boolean).length > 1) usage(64);
const seeds = parseSeeds(args[0]);
const steps = Number(args[1]);
/** The oracle's machine flags and the emulator's platform. */
const machine = amd ? ['--amd'] : arm ? ['--arm'] : igb ? ['--igb']
  : vfio ? ['--vfio', ...(scalable ? ['--scalable'] : []), ...(snoop ? ['--snoop-control'] : [])] : [];
const platform = amd ? 'amd-vi' : arm ? 'qemu-smmuv3' : igb ? 'qemu-vtd-igb'
  : scalable ? (snoop ? 'qemu-vtd-sm-sc' : 'qemu-vtd-sm') : snoop ? 'qemu-vtd-sc' : vfio ? 'qemu-vtd' : 'mock';
const secs = (t0) => ((performance.now() - t0) / 1000).toFixed(1);

const work = mkdtempSync(join(tmpdir(), 'iommufd-fuzz-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const bin = join(work, 'gen');
const cc = spawnSync('gcc', ['-O1', '-I', join(ROOT, 'test/conformance/include'), '-o', bin, GEN], { stdio: 'inherit' });
if (cc.status !== 0) process.exit(69);

function collect(cmd, argv) {
  return new Promise((resolveP, reject) => {
    const p = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [], err = [];
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', reject);
    p.on('close', (code) => resolveP({ code, out: Buffer.concat(out), err: Buffer.concat(err).toString() }));
  });
}

/** Runs (each an argv list for gen) on both sides: per run, its lines. */
async function both(runs) {
  const flat = runs.flatMap((r, i) => (i ? ['--', ...r] : r));
  // the guest's output comes gzipped (gen -z): its serial port is the slow part
  // the guest's limit for gen: ample for a loaded host (~22 ms a step seen on
  // x86), not an hour where a guest hangs (QEMU 10's scalable VT-d machine
  // has stopped dead mid-run); arm64 under TCG is slower
  const total = runs.reduce((n, r) => n + Number(r[V.length + 1]), 0);
  const limit = Math.ceil(300 + total * (arm ? 0.25 : 0.05));
  const oracle = () => collect('bash', [join(ROOT, 'oracle/oracle'), 'run', ...machine, `--timeout=${limit}`, GEN, '-z', ...flat]);
  const t0 = performance.now();
  let tk = '', te = '';
  let [k, e] = await Promise.all([
    oracle().then((r) => { tk = secs(t0); return r; }),
    collect(join(ROOT, 'bin/iommufd-emu'), ['run', '--root-caps', '--platform', platform, '--', bin, ...flat])
      .then((r) => { te = secs(t0); return r; }),
  ]);
  // a guest that did not come up (a loaded host) or whose qemu died (71), or
  // that hung (70: gen's time ran out), is tried again
  for (let again = 0, hung = 0; again < 3 && (k.code === 71 || (k.code === 70 && hung++ < 1)); again++) {
    process.stderr.write(`fuzz: the oracle's run ended with ${k.code}, again:\n${k.err.split('\n').filter((l) => /error|timeout/.test(l)).join('\n')}\n`);
    k = await oracle();
  }
  if (k.code !== 0) {
    process.stderr.write(k.err);
    process.exit(k.code ?? 1);
  }
  if (e.code !== 0) {
    process.stderr.write(`fuzz: the emulator's run ended with ${e.code}:\n${e.err}`);
    process.exit(70);
  }
  // where the time went: the oracle's boot line names qemu's and the clients' seconds
  const boot = /boot: .*?: ([\d.]+) s in qemu, of which clients ([\d.]+) s/.exec(k.err);
  const t1 = performance.now();
  let kout;
  try {
    // (a guest that stopped mid-run leaves a cut stream: what it has)
    kout = gunzipSync(k.out, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString();
  } catch {
    kout = k.out.toString();   // a run that died before gzip got its output
  }
  const res = { kernel: split(kout), emu: split(e.out.toString()) };
  process.stderr.write(`fuzz: ${runs.length} run(s): oracle ${tk} s (qemu ${boot?.[1] ?? '?'} s, gen in the guest ${boot?.[2] ?? '?'} s), emulator ${te} s (at once), split ${secs(t1)} s\n`);
  return res;
}

/** gen's output, one array of lines per run ("seed ..." starts one). */
function split(text) {
  const runs = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('seed ')) runs.push([]);
    else if (line && runs.length) runs[runs.length - 1].push(line);
  }
  return runs;
}

/** The first line where two runs differ: its step number (-1 if none). */
function firstDiff(k = [], e = []) {
  const n = Math.max(k.length, e.length);
  for (let i = 0; i < n; i++) {
    if (k[i] !== e[i]) return { at: stepOf(k[i] ?? e[i]), k: k[i] ?? '(nothing)', e: e[i] ?? '(nothing)' };
  }
  return undefined;
}

function stepOf(line) {
  const m = /^(\d+) /.exec(line ?? '');
  return m ? Number(m[1]) : -1;
}

/** The skip arguments that leave exactly `kept` (sorted) of [0, end). */
function skipsFor(kept, end) {
  const out = [];
  let next = 0;
  for (const k of [...kept, end]) {
    if (k > next) out.push(k - 1 > next ? `${next}-${k - 1}` : `${next}`);
    next = k + 1;
  }
  return out;
}

/** Does keeping `kept` (with target step `t`) still make step t differ? */
function stillDiffers(res, i, t) {
  const k = res.kernel[i] ?? [], e = res.emu[i] ?? [];
  const kl = k.find((l) => stepOf(l) === t), el = e.find((l) => stepOf(l) === t);
  const d = firstDiff(k, e);
  return d !== undefined && d.at === t && kl !== el;
}

/** ddmin over the steps before t (the complement tests of each round batched into one boot). */
async function shrinkSeed(seed, t, lines) {
  let kept = Array.from({ length: t + 1 }, (_, i) => i);
  // First try: only the steps that succeeded on Linux (a failed call
  // rarely changes state), and the target.
  const succeeded = lines.filter((l) => /: (ok|ret=\d+)( |$)/.test(l)).map(stepOf).filter((s) => s >= 0 && s < t);
  if (succeeded.length < t) {
    const cand = [...succeeded, t];
    const res = await both([[...V, String(seed), String(t + 1), ...skipsFor(cand, t + 1)]]);
    if (stillDiffers(res, 0, t)) kept = cand;
    process.stderr.write(`fuzz: seed ${seed}: the ${succeeded.length} steps that succeeded ${kept === cand ? 'still differ' : 'do not differ'}\n`);
  }
  let n = 2;
  for (let round = 0; round < 40 && kept.length > 1; round++) {
    const pre = kept.slice(0, -1);
    if (n > pre.length) n = pre.length;
    const size = Math.ceil(pre.length / n);
    const cands = [];
    for (let c = 0; c < pre.length; c += size) {
      const drop = new Set(pre.slice(c, c + size));
      cands.push(kept.filter((s) => !drop.has(s)));
    }
    const res = await both(cands.map((c) => [...V, String(seed), String(t + 1), ...skipsFor(c, t + 1)]));
    const hit = cands.findIndex((c, i) => stillDiffers(res, i, t));
    process.stderr.write(`fuzz: seed ${seed} round ${round}: ${kept.length} steps, ${cands.length} tries, ${hit >= 0 ? 'smaller' : 'no smaller'}\n`);
    if (hit >= 0) {
      kept = cands[hit];
      n = Math.max(n - 1, 2);
    } else if (n >= pre.length) {
      break;
    } else {
      n = Math.min(2 * n, pre.length);
    }
  }
  const argv = [...V, String(seed), String(t + 1), ...skipsFor(kept, t + 1)];
  const res = await both([argv]);
  return { argv, kept, kernel: res.kernel[0] ?? [], emu: res.emu[0] ?? [] };
}

let bad = 0, agreed = 0;
const first = await both(seeds.map((s) => [...V, String(s), String(steps)]));
for (const [i, seed] of seeds.entries()) {
  const d = firstDiff(first.kernel[i], first.emu[i]);
  if (!d) {
    agreed += steps;
    console.log(`seed ${seed}: ${steps} steps agree (${first.kernel[i]?.length ?? 0} lines)`);
    continue;
  }
  bad++;
  console.log(`seed ${seed}: differs at step ${d.at}\n  linux: ${d.k}\n  emu:   ${d.e}`);
  if (!shrink || d.at < 0) continue;
  const r = await shrinkSeed(seed, d.at, first.kernel[i] ?? []);
  console.log(`  reproducer (${r.kept.length} steps): gen ${r.argv.join(' ')}`);
  const n = Math.max(r.kernel.length, r.emu.length);
  for (let j = 0; j < n; j++) {
    if (r.kernel[j] === r.emu[j]) console.log(`    ${r.kernel[j]}`);
    else console.log(`  - ${r.kernel[j] ?? ''}\n  + ${r.emu[j] ?? ''}`);
  }
}
if (tally) {
  // | date | machine | gen | seeds | steps each | steps of the seeds that agree | seeds differing |
  const day = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const row = `| ${day} | ${platform} | ${V.length ? 'v2' : 'v1'} | ${args[0]} | ${steps} | ${agreed} | ${bad} |\n`;
  appendFileSync(tally, row);
}
process.exit(bad ? 1 : 0);
