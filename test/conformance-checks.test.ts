// The conformance suite's own checks fail when something breaks
// (test/lib/conformance.ts, used by test/conformance.test.ts):
//   - a golden edited by hand, even one byte, does not match the stamp the
//     oracle wrote when it recorded the golden, and the failure names the line;
//     the same for the goldens of test/shim/ (stamped as shim/G, checked by
//     test/shim/robust.test.ts and vmstat.test.ts before they compare);
//   - a missing prerequisite (gcc, the shim library, a platform, a golden)
//     is a failure naming it, never a skip or a todo.
// Everything is tried on copies or in memory: the real goldens, stamps and
// tools are not touched.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  goldenByteLines,
  goldenStampProblem,
  loadClients,
  platformProblem,
  prerequisiteProblems,
  readStamps,
  shimGoldenProblem,
  shimGoldens,
} from './lib/conformance.js';
import { findRoot } from './lib/conformance.js';

const ROOT = findRoot();
const CLIENTS = join(ROOT, 'test', 'conformance');
const STAMP = join(ROOT, 'oracle', 'recorded-with.txt');
const EMU = join(ROOT, 'bin', 'iommufd-emu');
const goldens = readdirSync(CLIENTS).filter((f) => f.endsWith('.golden')).map((f) => f.slice(0, -'.golden'.length)).sort();
const SHIM = join(ROOT, 'test', 'shim');
const shimGoldenFiles = readdirSync(SHIM).filter((f) => f.endsWith('.golden')).map((f) => f.slice(0, -'.golden'.length)).sort();

const temps: string[] = [];
function temp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** BYTES with the byte at I replaced by another. */
function edited(bytes: Buffer, i: number): Buffer {
  const b = Buffer.from(bytes);
  b[i] = (b[i]! + 1) & 0xff;
  return b;
}

/** Byte offsets of the first, middle and last byte of 64 lines spread over a golden. */
function sampledBytes(bytes: Buffer): number[] {
  const starts: number[] = [0];
  for (let i = 0; i < bytes.length - 1; i++) if (bytes[i] === 0x0a) starts.push(i + 1);
  const out: number[] = [];
  for (let k = 0; k < 64; k++) {
    const line = Math.round((k * (starts.length - 1)) / 63);
    const a = starts[line]!, end = (starts[line + 1] ?? bytes.length + 1) - 1;
    for (const at of new Set([a, (a + end) >> 1, Math.max(a, end - 1)])) if (at < bytes.length) out.push(at);
  }
  return out;
}

/** The line (1-based) that byte I of a golden belongs to (a newline ends its line). */
function lineOf(bytes: Buffer, i: number): number {
  let line = 1;
  for (let k = 0; k < i; k++) if (bytes[k] === 0x0a) line++;
  return line;
}

describe('golden stamps: a golden edited after recording fails', () => {
  const stamps = readStamps(STAMP);

  it('every committed golden matches the stamp the oracle wrote for it', () => {
    assert.ok(goldens.length > 0);
    for (const name of goldens) {
      assert.equal(goldenStampProblem(name, readFileSync(join(CLIENTS, `${name}.golden`)), stamps.get(name)), undefined);
    }
    // test/shim: every golden there is named by a "// golden:" line of a client, every
    // such line has its golden, and each matches its stamp (shim/G) and its client's source.
    assert.ok(shimGoldenFiles.length > 0);
    assert.deepEqual(shimGoldens(SHIM).map((g) => g.golden), shimGoldenFiles);
    for (const g of shimGoldens(SHIM)) assert.equal(shimGoldenProblem(ROOT, g, stamps), undefined);
  });

  it('changing any one byte of a test/shim golden fails, naming shim/G.golden and the line', () => {
    for (const g of shimGoldens(SHIM)) {
      const bytes = readFileSync(join(SHIM, `${g.golden}.golden`));
      // Every byte of a small golden; of a large one (the fuzz corpus: each
      // try hashes the whole file) the first, middle and last byte of 64 lines
      // spread over it, the first and last line included.
      for (const i of bytes.length <= 16384 ? bytes.keys() : sampledBytes(bytes)) {
        const why = goldenStampProblem(g.stampName, edited(bytes, i), stamps.get(g.stampName));
        assert.ok(why, `byte ${i} of test/shim/${g.golden}.golden changed and nothing noticed`);
        assert.match(why, new RegExp(`^shim/${g.golden}\\.golden line ${lineOf(bytes, i)} .*(does not match the stamp|is not in the stamp|is missing)`), why);
      }
    }
  });

  it('through the shim tests\' helper: a copy of a test/shim golden with one byte changed fails with the line', () => {
    // A copy of the layout: DIR/test/shim/{CLIENT.c,G.golden}, DIR/test/conformance/include/, DIR/test/fuzz/, DIR/oracle/recorded-with.txt.
    const dir = temp('iommufd-shim-golden-edit-');
    const shim = join(dir, 'test', 'shim');
    mkdirSync(shim, { recursive: true });
    mkdirSync(join(dir, 'oracle'), { recursive: true });
    const g = shimGoldens(SHIM).find((x) => x.args.length > 0) ?? shimGoldens(SHIM)[0]!;
    cpSync(join(SHIM, `${g.client}.c`), join(shim, `${g.client}.c`));
    cpSync(join(SHIM, `${g.golden}.golden`), join(shim, `${g.golden}.golden`));
    cpSync(join(CLIENTS, 'include'), join(dir, 'test', 'conformance', 'include'), { recursive: true });
    cpSync(join(ROOT, 'test', 'fuzz'), join(dir, 'test', 'fuzz'), { recursive: true }); // fuzz_corpus.c includes ../fuzz/gen.c
    cpSync(STAMP, join(dir, 'oracle', 'recorded-with.txt'));

    const [copy] = shimGoldens(shim).filter((x) => x.golden === g.golden);
    assert.deepEqual(copy, g);
    assert.equal(shimGoldenProblem(dir, copy!), undefined, 'the unedited copy passes');

    const golden = readFileSync(join(shim, `${g.golden}.golden`));
    const line2 = golden.indexOf(0x0a) + 1;
    writeFileSync(join(shim, `${g.golden}.golden`), edited(golden, line2 + 1));
    assert.match(
      shimGoldenProblem(dir, copy!)!,
      new RegExp(`^shim/${g.golden}\\.golden line 2 ".*" does not match the stamp in oracle/recorded-with\\.txt: the golden was edited after it was recorded; .*record shim/${g.golden}$`),
    );

    writeFileSync(join(shim, `${g.golden}.golden`), golden);
    writeFileSync(join(shim, `${g.client}.c`), `${readFileSync(join(shim, `${g.client}.c`), 'utf8')}\n// changed\n`);
    assert.match(shimGoldenProblem(dir, copy!)!, new RegExp(`test/shim/${g.client}\\.c or a header it includes changed after shim/${g.golden}\\.golden was recorded`));
    writeFileSync(join(dir, 'test', 'conformance', 'include', 'iofd.h'), '/* changed */\n', { flag: 'a' });
    cpSync(join(SHIM, `${g.client}.c`), join(shim, `${g.client}.c`));
    assert.match(shimGoldenProblem(dir, copy!)!, /or a header it includes changed/, 'a header in test/conformance/include counts');
    cpSync(join(CLIENTS, 'include', 'iofd.h'), join(dir, 'test', 'conformance', 'include', 'iofd.h'));
    assert.equal(shimGoldenProblem(dir, copy!), undefined);

    writeFileSync(join(dir, 'oracle', 'recorded-with.txt'), readFileSync(STAMP, 'utf8').split('\n').filter((l) => !l.includes(` ${g.stampName} `)).join('\n'));
    assert.match(shimGoldenProblem(dir, copy!)!, new RegExp(`^shim/${g.golden}\\.golden is not listed in oracle/recorded-with\\.txt`));
    unlinkSync(join(shim, `${g.golden}.golden`));
    assert.match(shimGoldenProblem(dir, copy!)!, new RegExp(`test/shim/${g.golden}\\.golden does not exist`));
  });

  it('changing any one byte of a golden fails, naming the line of a changed character', () => {
    // Every byte of the smallest golden, newlines included.
    const smallest = goldens.map((n) => ({ n, b: readFileSync(join(CLIENTS, `${n}.golden`)) })).sort((x, y) => x.b.length - y.b.length)[0]!;
    for (let i = 0; i < smallest.b.length; i++) {
      const why = goldenStampProblem(smallest.n, edited(smallest.b, i), stamps.get(smallest.n));
      assert.ok(why, `byte ${i} of ${smallest.n}.golden changed and nothing noticed`);
      assert.match(why, /does not match the stamp|is not in the stamp|is missing/, why);
      assert.match(why, new RegExp(`^${smallest.n}\\.golden line ${lineOf(smallest.b, i)} `), why);
    }
    // One byte in every line of every golden: the first, middle and last character.
    for (const name of goldens) {
      const bytes = readFileSync(join(CLIENTS, `${name}.golden`));
      let start = 0;
      goldenByteLines(bytes).forEach((line, k) => {
        for (const at of new Set([0, line.length >> 1, line.length - 1])) {
          if (line.length === 0) break;
          const why = goldenStampProblem(name, edited(bytes, start + at), stamps.get(name));
          assert.ok(why, `${name}.golden line ${k + 1} changed and nothing noticed`);
          assert.match(why, new RegExp(`^${name}\\.golden line ${k + 1} .*does not match the stamp in oracle/recorded-with\\.txt`), why);
        }
        start += line.length + 1;
      });
    }
  });

  it('added, removed and unterminated lines fail too', () => {
    const name = goldens[0]!;
    const bytes = readFileSync(join(CLIENTS, `${name}.golden`));
    const lines = goldenByteLines(bytes);
    const added = Buffer.concat([bytes, Buffer.from('one more line\n')]);
    assert.match(goldenStampProblem(name, added, stamps.get(name))!, new RegExp(`line ${lines.length + 1} "one more line" is not in the stamp`));
    const removed = bytes.subarray(0, bytes.length - lines[lines.length - 1]!.length - 1);
    assert.match(goldenStampProblem(name, removed, stamps.get(name))!, new RegExp(`line ${lines.length} is missing`));
    const noNewline = bytes.subarray(0, bytes.length - 1);
    assert.match(goldenStampProblem(name, noNewline, stamps.get(name))!, /do not match the stamp .* though every line does/);
  });

  it('a stamp without the golden hash (the old format) or no stamp at all fails', () => {
    const bytes = readFileSync(join(CLIENTS, `${goldens[0]}.golden`));
    const old = readStamps('/nonexistent');
    assert.equal(old.size, 0);
    assert.match(goldenStampProblem('x', bytes, undefined)!, /x\.golden is not listed in oracle\/recorded-with\.txt/);
    assert.match(
      goldenStampProblem('x', bytes, { source: 'a'.repeat(64), golden: undefined, kernel: 'k', lines: undefined })!,
      /does not cover the golden's bytes/,
    );
  });

  it('through the runner: a copy of a client whose golden has one byte changed fails with the line', () => {
    // A copy of the layout: DIR/test/conformance/{NAME.c,NAME.golden,include/} and DIR/oracle/recorded-with.txt.
    const dir = temp('iommufd-golden-edit-');
    const clients = join(dir, 'test', 'conformance');
    mkdirSync(join(dir, 'oracle'), { recursive: true });
    mkdirSync(clients, { recursive: true });
    const name = goldens.includes('fault_fd') ? 'fault_fd' : goldens[0]!;
    cpSync(join(CLIENTS, `${name}.c`), join(clients, `${name}.c`));
    cpSync(join(CLIENTS, `${name}.golden`), join(clients, `${name}.golden`));
    cpSync(join(CLIENTS, 'include'), join(clients, 'include'), { recursive: true });
    cpSync(STAMP, join(dir, 'oracle', 'recorded-with.txt'));
    const stampCopy = join(dir, 'oracle', 'recorded-with.txt');

    const [clean] = loadClients(clients, stampCopy);
    assert.equal(clean!.name, name);
    assert.deepEqual(clean!.problems, [], 'the unedited copy passes');

    const golden = readFileSync(join(clients, `${name}.golden`));
    const line2 = golden.indexOf(0x0a) + 1; // the first byte of line 2
    writeFileSync(join(clients, `${name}.golden`), edited(golden, line2 + 3));
    const [edit] = loadClients(clients, stampCopy);
    assert.equal(edit!.problems.length, 1, edit!.problems.join('\n'));
    assert.match(edit!.problems[0]!, new RegExp(`^${name}\\.golden line 2 ".*" does not match the stamp in oracle/recorded-with\\.txt: the golden was edited after it was recorded`));

    // and the other ways a golden stops belonging to its client
    writeFileSync(join(clients, `${name}.golden`), golden);
    writeFileSync(join(clients, `${name}.c`), `${readFileSync(join(clients, `${name}.c`), 'utf8')}\n// changed\n`);
    assert.match(loadClients(clients, stampCopy)[0]!.problems.join('\n'), /changed after its golden was recorded/);
    unlinkSync(join(clients, `${name}.golden`));
    assert.match(loadClients(clients, stampCopy)[0]!.problems.join('\n'), new RegExp(`${name}\\.c has no golden`));
  });
});

describe('prerequisites: a missing one fails, naming it', () => {
  it('all present here', () => {
    assert.deepEqual(prerequisiteProblems({ root: ROOT, emu: EMU }), []);
  });

  it('a PATH without gcc', () => {
    const empty = temp('iommufd-nogcc-');
    const p = prerequisiteProblems({ root: ROOT, emu: EMU, path: empty });
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(p[0]!, /^gcc: not found or not working on PATH=/);
  });

  it('a missing shim library', () => {
    const shim = join(temp('iommufd-noshim-'), 'libiommufd-shim.so');
    const p = prerequisiteProblems({ root: ROOT, emu: EMU, shim });
    assert.deepEqual(p, [`the shim library ${shim} does not exist (npm run build makes it)`]);
  });

  it('a missing emulator', () => {
    const emu = join(temp('iommufd-noemu-'), 'iommufd-emu');
    assert.deepEqual(prerequisiteProblems({ root: ROOT, emu }), [`the emulator ${emu} does not exist`]);
  });

  it('a platform the emulator does not have', () => {
    assert.match(platformProblem(EMU, 'no-such-platform')!, /^platform no-such-platform: .* exits [1-9]/);
    assert.equal(platformProblem(EMU, 'mock'), undefined);
  });

  // The conformance suite itself, run with what it needs taken away: it fails
  // (no todo, no skip) and says what is missing.
  function runConformance(env: Record<string, string | undefined>) {
    const e: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined && k !== 'NODE_TEST_CONTEXT') e[k] = v;
    return spawnSync(process.execPath, ['--test', '--test-reporter=tap', join(ROOT, 'dist', 'test', 'conformance.test.js')], {
      cwd: ROOT,
      encoding: 'utf8',
      env: e,
      timeout: 120_000,
    });
  }

  it('npm test with no gcc on PATH fails every client, naming gcc', () => {
    const bin = temp('iommufd-path-');
    symlinkSync(process.execPath, join(bin, 'node')); // bin/iommufd-emu runs with env node
    const r = runConformance({ PATH: bin });
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stdout, /gcc: not found or not working on PATH=/);
    assert.match(r.stdout, /^# todo 0$/m);
    assert.match(r.stdout, /^# skipped 0$/m);
    assert.match(r.stdout, /^# pass 1$/m, 'only "test/conformance has clients" passes');
  });

  it('npm test with the shim library missing fails every client, naming it', () => {
    const shim = join(temp('iommufd-shim-'), 'libiommufd-shim.so');
    const r = runConformance({ IOMMUFD_EMU_SHIM: shim });
    assert.notEqual(r.status, 0, r.stdout);
    assert.ok(r.stdout.includes(`the shim library ${shim} does not exist`), r.stdout);
    assert.match(r.stdout, /^# todo 0$/m);
    assert.match(r.stdout, /^# skipped 0$/m);
  });
});

describe('no test file turns a missing prerequisite into a skip or a todo', () => {
  // The one todo left is conformance.test.ts's for a client with a "// needs:"
  // header (a known gap of the emulator, not a missing prerequisite).
  const allowed = /t\.todo\(`needs \$\{c\.needs\}`\)/;
  function sources(dir: string): string[] {
    const out: string[] = [];
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) out.push(...sources(join(dir, e.name)));
      else if (e.name.endsWith('.ts')) out.push(join(dir, e.name));
    }
    return out;
  }
  it('test/**/*.ts has no skip, todo or only but the needs todo', () => {
    const found: string[] = [];
    for (const file of sources(join(ROOT, 'test'))) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (line.trimStart().startsWith('//')) return;
        if (/\b(t|it|test|describe|context)\.(skip|todo|only)\s*\(|\{\s*(skip|todo|only)\s*:|\bskip\s*:\s*(true|['"`])/.test(line) && !allowed.test(line)) {
          found.push(`${file.slice(ROOT.length + 1)}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    assert.deepEqual(found, []);
  });
});
