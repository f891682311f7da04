// Differential conformance: every C client in test/conformance/ runs under
// `bin/iommufd-emu run` on the platform that mirrors the oracle's machine, and
// its output is compared line by line with its golden (the output recorded on
// the real Linux kernel by `npm run oracle -- record`).
//
// A client that matches passes. Everything else fails, naming why:
//   - a prerequisite is missing (gcc, the shim library, the emulator or one of
//     its `run` options, the client's platform);
//   - the client has no golden, or its golden no longer belongs to it: the
//     oracle stamps each golden in oracle/recorded-with.txt with the sha256 of
//     the client's source and of the golden's own bytes (and one short hash
//     per golden line), so a changed client or a hand-edited golden fails
//     here, with the line that was edited;
//   - its output differs from the golden. The one exception is a client with
//     a "// needs: ..." header (a known gap of the emulator, none today): its
//     drift is a todo naming what will make it match.
// At the end:
//   conformance: N of M golden lines match
// No qemu is needed here; only gcc and the emulator. The pieces are in
// test/lib/conformance.ts; test/conformance-checks.test.ts tests them.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compare,
  findRoot,
  firstLine,
  loadClients,
  platformProblem,
  prerequisiteProblems,
  runArgs,
  runUnderEmulator,
  type Platform,
} from './lib/conformance.js';

const ROOT = findRoot();
const STAMP = join(ROOT, 'oracle', 'recorded-with.txt');
const CLIENTS = join(ROOT, 'test', 'conformance');
const EMU = join(ROOT, 'bin', 'iommufd-emu');
const RUN_TIMEOUT_MS = Number(process.env['CONFORMANCE_TIMEOUT_MS'] ?? 30_000);

const clients = loadClients(CLIENTS, STAMP);
const missing = prerequisiteProblems({ root: ROOT, emu: EMU });
const work = mkdtempSync(join(tmpdir(), 'iommufd-conformance-'));
chmodSync(work, 0o755); // --user clients run as uid 65534 and must reach their binary
let matchedLines = 0;
const totalLines = clients.reduce((n, c) => n + c.golden.length, 0);

after(() => {
  rmSync(work, { recursive: true, force: true });
  console.log(`conformance: ${matchedLines} of ${totalLines} golden lines match`);
});

test('conformance prerequisites: gcc, the shim library, the emulator and its run options', () => {
  if (missing.length > 0) assert.fail(`missing:\n  ${missing.join('\n  ')}`);
});

test('conformance: test/conformance has clients', () => {
  assert.ok(clients.length > 0, `no client (*.c) in ${CLIENTS}`);
});

const platformProblems = new Map<Platform, string | undefined>();
function platformMissing(p: Platform): string | undefined {
  if (!platformProblems.has(p)) platformProblems.set(p, platformProblem(EMU, p, RUN_TIMEOUT_MS));
  return platformProblems.get(p);
}

for (const c of clients) {
  test(`conformance ${c.name} [${c.platform}]`, async (t) => {
    // A golden is only worth comparing against if it is the kernel's output for this source.
    if (c.problems.length > 0) assert.fail(c.problems.join('\n'));
    if (missing.length > 0) assert.fail(`cannot run ${c.name}: missing ${missing.join('; ')}`);
    const noPlatform = platformMissing(c.platform);
    if (noPlatform) assert.fail(`cannot run ${c.name}: ${noPlatform}`);

    const bin = join(work, c.name);
    const cc = spawnSync('gcc', ['-O1', '-I', join(CLIENTS, 'include'), '-o', bin, c.source], {
      encoding: 'utf8',
    });
    assert.equal(cc.status, 0, `gcc ${c.name}.c failed:\n${cc.error?.message ?? cc.stderr}`);

    const r = await runUnderEmulator(EMU, bin, runArgs(c), RUN_TIMEOUT_MS);
    const cmp = compare(c.golden, r.lines);
    matchedLines += cmp.matched;
    if (r.problem === undefined && cmp.diffs.length === 0) return;

    const report = [
      `${c.name}: ${cmp.matched} of ${c.golden.length} golden lines match` + (r.problem ? ` (${r.problem})` : ''),
      ...cmp.diffs,
    ];
    const err = firstLine(r.stderr);
    if (err) report.push(`  emulator stderr: ${err}`);
    for (const line of report) t.diagnostic(line);
    if (c.needs) {
      t.todo(`needs ${c.needs}`);
      return;
    }
    assert.fail(`${report.join('\n')}\n(${c.name}.c has no "// needs:" line, so this is a regression)`);
  });
}
