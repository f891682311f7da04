// Slab injection points (failslab) as the kernel reaches them: the xa_nodes
// an xarray store allocates, counted from the xarray's shape, and the
// points of whole ioctls on the library (the fail_sweep golden checks the
// same against Linux, through the server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IommufdFile, SimProcess, Engine, Errno, errnoName } from '../src/lib/index.js';
import { XaShape, type FaultInjector } from '../src/core/faults.js';

test('XaShape: an xarray store allocates the nodes its index needs, as xas_create does', () => {
  // A normal entry at index 0 alone lives in the head; the next index needs the root node.
  const a = new XaShape([]);
  assert.equal(a.store(0), 0);
  assert.equal(a.store(1), 1);
  assert.equal(a.store(63), 0);
  // Index 64 makes the tree two levels tall: a new root above the old node, and 64's leaf.
  assert.equal(a.store(64), 2);
  assert.equal(a.store(100), 0);
  // xa_reserve's zero entry never sits in the head.
  assert.equal(new XaShape([]).store(0, true), 1);
  // Replayed as reserved, a lone index 0 is in a node already (iopt->domains after its first domain).
  assert.equal(new XaShape([0], true).store(1, true), 0);
  assert.equal(new XaShape([0], false).store(1, true), 1);
  // viommu->vdevs: virt_id 0x42 in an empty xarray needs a root and a leaf.
  assert.equal(new XaShape([]).store(0x42, true), 2);
  // Objects (IDs from 1): the first needs the node, the rest of the first 63 do not.
  assert.equal(new XaShape([]).store(1, true), 1);
  assert.equal(new XaShape([1, 2, 3], true).store(4, true), 0);
});

/** fail-nth over failslab and fail_iommufd: counts every point, fails the Nth. */
class FailNth implements FaultInjector {
  points = 0;
  constructor(private n: number) {}
  shouldFail(attr: string): boolean {
    if (attr !== 'failslab' && attr !== 'fail_iommufd') return false;
    this.points++;
    return this.points === this.n;
  }
}

function sweep(prep: (f: IommufdFile) => number, call: (f: IommufdFile, id: number) => unknown): string[] {
  const out: string[] = [];
  for (let n = 1; n < 50; n++) {
    const inj = new FailNth(n);
    const proc = new SimProcess({ uid: 0 });
    const f = new IommufdFile(proc, new Engine());
    const id = prep(f);
    (proc.task as { faultInjector?: FaultInjector }).faultInjector = inj;
    let r = 'ok';
    try { call(f, id); } catch (e) { if (!(e instanceof Errno)) throw e; r = errnoName(e.code); }
    (proc.task as { faultInjector?: FaultInjector }).faultInjector = undefined;
    f.close();
    if (inj.points < n) { out.push('clean'); break; }
    out.push(r);
  }
  return out;
}

test('IOAS_ALLOC: the object, then the objects xarray\'s node only while it has none', () => {
  // Linux 7.2 (fail_nth, fail_sweep): a NOWAIT node allocation that fails is retried and absorbed.
  assert.deepEqual(sweep(() => 0, (f) => f.ioasAlloc()), ['ENOMEM', 'ok', 'clean']);
  assert.deepEqual(sweep((f) => f.ioasAlloc(), (f) => f.ioasAlloc()), ['ENOMEM', 'clean']);
});

test('ALLOW_IOVAS: the IOAS lookup, then one iopt_allowed per range', () => {
  assert.deepEqual(sweep((f) => f.ioasAlloc(), (f, ioas) => f.allowIovas(ioas, [
    { start: 1n << 24n, last: (1n << 24n) + 0xfffffn }, { start: 1n << 25n, last: (1n << 25n) + 0xfffffn },
  ])), ['ENOENT', 'ENOMEM', 'ENOMEM', 'clean']);
});
