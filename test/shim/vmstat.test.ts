// /proc/<pid>/status under `iommufd-emu run`: VmLck and VmPin carry the
// engine's accounting (test/shim/vmstat.c), and MAP_SHARED memfd pages pin as
// the file's pages. The expected output is what Linux printed for the same
// program (`npm run oracle -- record shim/vmstat`, Linux 7.2.13): vmstat.golden,
// whose bytes must be the ones stamped in oracle/recorded-with.txt.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, ROOT, SRC, compileClient, ensureShim, removeTempDir } from './build.js';
import { rewriteStatus, ProcStatus } from '../../src/server/proc-status.js';
import { shimGoldenProblem, shimGoldens } from '../lib/conformance.js';

let bin = '';
before(() => {
  ensureShim();
  bin = compileClient('vmstat', ['-I', path.join(ROOT, 'test/conformance/include')]);
});
after(() => removeTempDir());

test('rewriteStatus: VmLck/VmPin plus the engine pages, in kB, width 8 as the kernel prints them', () => {
  const text = 'Name:\tx\nVmPeak:\t    1000 kB\nVmLck:\t       4 kB\nVmPin:\t       0 kB\nVmHWM:\t      10 kB\n';
  assert.equal(rewriteStatus(text, { lockedVm: 3, pinnedVm: 300000 }),
    'Name:\tx\nVmPeak:\t    1000 kB\nVmLck:\t      16 kB\nVmPin:\t 1200000 kB\nVmHWM:\t      10 kB\n');
  assert.equal(rewriteStatus(text, { lockedVm: 0, pinnedVm: 0 }), text);
});

test('ProcStatus: the status names of a known process are rewritten; others pass through', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-status-'));
  try {
    const ps = new ProcStatus(dir);
    const me = process.pid;
    const mm = { lockedVm: 1, pinnedVm: 2 } as Parameters<typeof rewriteStatus>[1] as never;
    const known = (pid: number) => (pid === me ? mm : undefined);
    const owner = { uid: process.getuid!(), gid: process.getgid!() };
    for (const p of ['/proc/self/status', '/proc/thread-self/status', `/proc/${me}/status`, `/proc/${me}/task/${me}/status`, `/proc/self/task/${me}/status`]) {
      assert.ok(ProcStatus.matches(p), p);
      const f = ps.resolve(me, me, p, owner, known);
      assert.notEqual(f, p, p);
      assert.match(fs.readFileSync(f, 'latin1'), /^VmLck:\t       4 kB\nVmPin:\t       8 kB$/m, p);
      assert.equal(fs.statSync(f).mode & 0o777, 0o444, 'read-only: not a control file to the shim');
    }
    for (const p of [`/proc/${me}/fd/0/status`, '/proc/999999999/status', `/proc/${me}/net/status`]) assert.equal(ps.resolve(me, me, p, owner, known), p, p);
    assert.equal(ps.resolve(me, me, '/proc/self/status', owner, () => undefined), '/proc/self/status', 'an unknown process');
    assert.ok(!ProcStatus.matches('/proc/self/stat'));
    ps.forget(me);
    assert.deepEqual(fs.readdirSync(ps.dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('VmLck/VmPin through every name of the file, from a child, and for shared memfd pages: as on Linux', () => {
  const g = shimGoldens(SRC).find((x) => x.golden === 'vmstat');
  assert.ok(g, 'test/shim/vmstat.c has no "// golden: vmstat" line');
  assert.equal(shimGoldenProblem(ROOT, g), undefined);
  assert.equal(process.getuid?.(), 0, 'missing prerequisite: this test runs as root (RLIMIT_MODE needs CAP_SYS_RESOURCE)');
  const r = spawnSync(process.execPath, [BIN, 'run', '--root-caps', '--', bin, ...g.args], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, fs.readFileSync(path.join(SRC, 'vmstat.golden'), 'utf8'));
});
