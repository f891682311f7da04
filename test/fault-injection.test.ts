// Fault injection: the kernel's fail-nth sweep over the sequence of the
// fail_nth conformance client (sweep 1: only iommufd's own points), with the
// same errno at each point, and nothing left pinned or charged after any of
// them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IommufdFile, SimProcess, Engine, Errno, errnoName, testAbi as T } from '../src/lib/index.js';
import type { FaultInjector } from '../src/core/faults.js';

/** The kernel's per-task fail-nth countdown over fail_iommufd only (failslab filtered out). */
class FailNth implements FaultInjector {
  fired = false;
  constructor(private n: number) {}
  shouldFail(attr: string): boolean {
    if (attr !== 'fail_iommufd' || this.n <= 0) return false;
    if (--this.n === 0) { this.fired = true; return true; }
    return false;
  }
}

const MiB = 1n << 20n;

function run(nth: number): string {
  const inj = new FailNth(nth);
  const proc = new SimProcess({ uid: 0 });
  (proc.task as { faultInjector?: FaultInjector }).faultInjector = inj;
  const f = new IommufdFile(proc, new Engine());
  const buf = proc.mmap(2n * MiB, { align: 2n * MiB });
  const steps: Array<[string, () => unknown]> = [];
  let ioas = 0, stdev = 0, hwpt = 0;
  steps.push(['ioas_alloc', () => { ioas = f.ioasAlloc(); }]);
  steps.push(['map', () => f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 1n << 24n })]);
  steps.push(['mock_domain', () => { const m = f.mockDomain(ioas); stdev = m.stdevId; hwpt = m.hwptId; }]);
  steps.push(['map2', () => f.map({ ioasId: ioas, userVa: buf + MiB, length: MiB, iova: (1n << 24n) + MiB })]);
  steps.push(['check_map', () => f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_MAP, hwpt, T.IommuTestCmdCheckMap, { iova: 1n << 24n, length: MiB, uptr: buf })]);
  steps.push(['unmap', () => f.unmap(ioas, 1n << 24n, MiB)]);
  steps.push(['destroy_stdev', () => f.destroy(stdev)]);
  const out: string[] = [];
  let failed = false;
  for (const [name, fn] of steps) {
    if (failed) { out.push(`${name}=-`); continue; }
    try { fn(); out.push(`${name}=ok`); } catch (e) {
      if (!(e instanceof Errno)) throw e;
      out.push(`${name}=${errnoName(e.code)}`); failed = true;
    }
  }
  f.close();
  assert.equal(proc.mm.pins.covered, 0, `nth=${nth}: pins left after close`);
  assert.equal(proc.mm.pinnedVm, 0);
  return `${out.join(' ')} fired=${inj.fired ? 'yes' : 'no'}`;
}

test('a fail-nth sweep hits the kernel\'s injection points in the kernel\'s order and unwinds each', () => {
  const want = [
    'ioas_alloc=ok map=ok mock_domain=ok map2=ok check_map=ok unmap=ok destroy_stdev=ok fired=no',
    'ioas_alloc=ok map=ENOENT mock_domain=- map2=- check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ENOENT map2=- check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=EINVAL map2=- check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ENOMEM map2=- check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ENOMEM map2=- check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=EFAULT map2=- check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ENOMEM map2=- check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ok map2=ENOENT check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ok map2=ENOMEM check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ok map2=ENOMEM check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ok map2=EFAULT check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ok map2=ENOMEM check_map=- unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ok map2=ok check_map=ENOENT unmap=- destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ok map2=ok check_map=ok unmap=ENOENT destroy_stdev=- fired=yes',
    'ioas_alloc=ok map=ok mock_domain=ok map2=ok check_map=ok unmap=ok destroy_stdev=ok fired=no',
  ];
  for (let n = 0; n < want.length; n++) assert.equal(run(n), want[n], `nth=${n}`);
});
