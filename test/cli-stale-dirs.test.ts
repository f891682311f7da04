// Stale server directories: markOwner records the pid, removeStaleDirs removes
// what dead servers left and nothing else (live owners, unknown recent ones,
// owners in another pid namespace, symlinks, other users' directories, what
// links point to).
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { markOwner, readOwner, removeStaleDirs, OWNER_FILE } from '../src/server/stale-dirs.js';

let base: string;
let outside: string;
let deadPid: number;
const uid = process.getuid!();

/** A pid that existed and is gone (reaped): a child that exited. */
function aDeadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout);
}

/** A server directory under `base` named NAME, owned by `pid` (none: no owner file). */
function serverDir(name: string, pid?: number): string {
  const d = path.join(base, name);
  fs.mkdirSync(d, { mode: 0o700 });
  fs.writeFileSync(path.join(d, 'sock-or-state'), 'x');
  if (pid !== undefined) fs.writeFileSync(path.join(d, OWNER_FILE), `${pid}\n`, { mode: 0o600 });
  return d;
}

function exists(p: string): boolean {
  try { fs.lstatSync(p); return true; } catch { return false; }
}

before(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-stale-base-'));
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-stale-outside-'));
  fs.writeFileSync(path.join(outside, 'precious'), 'keep me');
  deadPid = aDeadPid();
});
after(() => {
  fs.rmSync(base, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

describe('markOwner', () => {
  it('creates owner (0600, our pid) once, and refuses an existing file or a symlink', () => {
    const d = fs.mkdtempSync(path.join(base, 'mark-'));
    markOwner(d);
    const f = path.join(d, OWNER_FILE);
    const ns = fs.readlinkSync('/proc/self/ns/pid');
    assert.equal(fs.readFileSync(f, 'utf8'), `${process.pid}\n${ns}\n`);
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(readOwner(d, uid), { pid: process.pid, pidns: ns });
    assert.throws(() => markOwner(d), { code: 'EEXIST' });

    const l = fs.mkdtempSync(path.join(base, 'mark-'));
    fs.symlinkSync(path.join(outside, 'target'), path.join(l, OWNER_FILE));
    assert.throws(() => markOwner(l), { code: 'EEXIST' });
    assert.equal(exists(path.join(outside, 'target')), false, 'did not create through the link');
    // A symlinked owner file is not trusted either.
    assert.equal(readOwner(l, uid), undefined);
  });
});

describe('removeStaleDirs', () => {
  it("removes a dead server's directories and keeps live, unknown-recent, symlinked and foreign ones", () => {
    const dead = serverDir('iommufd-emu-Dead01', deadPid);
    const deadState = serverDir('iommufd-emu-state-Dead02', deadPid);
    // Inside a dead one: links to the outside, which must survive its removal.
    fs.symlinkSync(outside, path.join(dead, 'link-to-dir'));
    fs.symlinkSync(path.join(outside, 'precious'), path.join(deadState, 'link-to-file'));
    const live = serverDir('iommufd-emu-Live01', process.pid);
    const liveOther = serverDir('iommufd-emu-state-Live02', process.ppid);
    const unknownNew = serverDir('iommufd-emu-Unkn01');
    const unknownOld = serverDir('iommufd-emu-state-Unkn02');
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    fs.utimesSync(unknownOld, old, old);
    const garbage = serverDir('iommufd-emu-Garb01');
    fs.writeFileSync(path.join(garbage, OWNER_FILE), 'not a pid\n');
    // A symlink with a server's name, to a dead server's directory elsewhere.
    const target = fs.mkdtempSync(path.join(outside, 'iommufd-emu-'));
    fs.writeFileSync(path.join(target, OWNER_FILE), `${deadPid}\n`);
    const link = path.join(base, 'iommufd-emu-Link01');
    fs.symlinkSync(target, link);
    // Another user's directory with a dead owner.
    const foreign = serverDir('iommufd-emu-Frgn01', deadPid);
    fs.chownSync(path.join(foreign, OWNER_FILE), 65534, 65534);
    fs.chownSync(foreign, 65534, 65534);
    // A dead pid, but recorded in another pid namespace (a container sharing the directory): kept.
    const otherNs = serverDir('iommufd-emu-Nspc01');
    fs.writeFileSync(path.join(otherNs, OWNER_FILE), `${deadPid}\npid:[1]\n`);
    // The same with our namespace: removed.
    const sameNs = serverDir('iommufd-emu-Nspc02');
    fs.writeFileSync(path.join(sameNs, OWNER_FILE), `${deadPid}\n${fs.readlinkSync('/proc/self/ns/pid')}\n`);
    // Not our names.
    const other = serverDir('iommufd-emu-clients-Other1', deadPid);
    // A cleaner that died half way.
    const halfDone = serverDir(`.iommufd-emu-stale-${deadPid}-iommufd-emu-Half01`);

    const removed = removeStaleDirs({ bases: [base] }).sort();
    assert.deepEqual(removed, [dead, deadState, halfDone, unknownOld, sameNs].sort());
    for (const d of removed) assert.equal(exists(d), false, d);
    for (const d of [live, liveOther, unknownNew, garbage, link, foreign, other, otherNs]) assert.equal(exists(d), true, d);
    assert.equal(fs.lstatSync(link).isSymbolicLink(), true);
    assert.equal(exists(path.join(target, OWNER_FILE)), true, "the link's target is untouched");
    assert.equal(fs.readFileSync(path.join(outside, 'precious'), 'utf8'), 'keep me');
    assert.deepEqual(fs.readdirSync(base).filter((n) => n.startsWith('.')), [], 'no renamed leftovers');
    // Nothing more to do the second time.
    assert.deepEqual(removeStaleDirs({ bases: [base] }), []);
  });

  it('never throws on a base that does not exist', () => {
    assert.deepEqual(removeStaleDirs({ bases: [path.join(base, 'nope')] }), []);
  });
});
