// RunDomain keeps its runs in typed-array rows: the same translations as a
// plain list of runs over random maps and unmaps (splits, sub-page runs,
// runs longer than one row holds), EEXIST on overlap, the aperture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RunDomain, type Run } from '../src/hw/run-domain.js';
import { EEXIST, EINVAL } from '../src/uapi/errno.js';
import { errnoOf } from './lib/errno-of.js';

/** The model: runs as plain objects, with the same split rules. */
class ModelDomain {
  runs: Run[] = [];
  map(iova: bigint, paddr: bigint, length: bigint, prot: number): number {
    const last = iova + length - 1n;
    if (this.runs.some((r) => r.iova <= last && r.last >= iova)) return EEXIST;
    this.runs.push({ iova, last, paddr, prot });
    this.runs.sort((a, b) => (a.iova < b.iova ? -1 : 1));
    return 0;
  }
  unmap(iova: bigint, length: bigint): void {
    const last = iova + length - 1n, out: Run[] = [];
    for (const r of this.runs) {
      if (r.last < iova || r.iova > last) { out.push(r); continue; }
      if (r.iova < iova) out.push({ ...r, last: iova - 1n });
      if (r.last > last) out.push({ iova: last + 1n, last: r.last, paddr: r.paddr + (last + 1n - r.iova), prot: r.prot });
    }
    this.runs = out.sort((a, b) => (a.iova < b.iova ? -1 : 1));
  }
  phys(iova: bigint): bigint | undefined {
    const r = this.runs.find((x) => x.iova <= iova && iova <= x.last);
    return r ? r.paddr + (iova - r.iova) : undefined;
  }
  bytes(): bigint { return this.runs.reduce((n, r) => n + r.last - r.iova + 1n, 0n); }
}

/** Merge adjacent runs that continue each other, so rows split at 2^55 compare equal to one model run. */
function joined(runs: Iterable<Readonly<Run>>): Run[] {
  const out: Run[] = [];
  for (const r of runs) {
    const p = out[out.length - 1];
    if (p && p.last + 1n === r.iova && p.paddr + (p.last - p.iova + 1n) === r.paddr && p.prot === r.prot) p.last = r.last;
    else out.push({ ...r });
  }
  return out;
}

test('RunDomain: random maps and unmaps translate as a list of runs does', () => {
  const unit = 0x800n; // 2 KiB granules: sub-page runs too
  const op = fc.oneof(
    fc.record({ k: fc.constant('map' as const), at: fc.integer({ min: 0, max: 200 }), n: fc.integer({ min: 1, max: 24 }), pa: fc.integer({ min: 0, max: 1 << 20 }), prot: fc.integer({ min: 0, max: 0xff }) }),
    fc.record({ k: fc.constant('unmap' as const), at: fc.integer({ min: 0, max: 200 }), n: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ k: fc.constant('probe' as const), at: fc.integer({ min: 0, max: 230 * 2 }) }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
    const d = new RunDomain(), m = new ModelDomain();
    for (const o of ops) {
      if (o.k === 'map') {
        const iova = BigInt(o.at) * unit, len = BigInt(o.n) * unit, pa = (1n << 45n) + BigInt(o.pa) * unit;
        assert.equal(errnoOf(() => d.map(iova, pa, len, o.prot)), m.map(iova, pa, len, o.prot));
      } else if (o.k === 'unmap') {
        d.unmap(BigInt(o.at) * unit, BigInt(o.n) * unit); m.unmap(BigInt(o.at) * unit, BigInt(o.n) * unit);
      } else {
        const iova = BigInt(o.at) * (unit / 2n) + 7n;
        assert.equal(d.iovaToPhys(iova), m.phys(iova));
        assert.equal(d.runAt(iova)?.prot, m.runs.find((r) => r.iova <= iova && iova <= r.last)?.prot);
      }
      assert.equal(d.mappedBytes, m.bytes());
      assert.deepEqual([...d.translations()], m.runs);
      assert.equal(d.runCount, m.runs.length);
    }
  }), { numRuns: 300 });
});

test('RunDomain: a run longer than one row holds, high IOVAs and physical addresses', () => {
  const d = new RunDomain();
  const iova = 0xc000_0000_0000_0000n, pa = 0xfedc_ba98_7654_0000n, len = (1n << 56n) + 0x3000n;
  d.map(iova, pa, len, 3);
  assert.ok(d.runCount >= 2, 'split into rows');
  assert.deepEqual(joined(d.translations()), [{ iova, last: iova + len - 1n, paddr: pa, prot: 3 }]);
  assert.equal(d.iovaToPhys(iova + len - 1n), pa + len - 1n);
  assert.equal(d.iovaToPhys(iova + (1n << 55n) + 5n), pa + (1n << 55n) + 5n);
  assert.equal(errnoOf(() => d.map(iova + len - 0x1000n, 0n, 0x2000n, 1)), EEXIST);
  d.unmap(iova + 0x1000n, len - 0x2000n);
  assert.deepEqual([...d.translations()].map((r) => [r.iova, r.last, r.paddr]), [[iova, iova + 0xfffn, pa], [iova + len - 0x1000n, iova + len - 1n, pa + len - 0x1000n]]);
  assert.equal(d.mappedBytes, 0x2000n);
});

test('RunDomain: the aperture and protection bits beyond a byte', () => {
  const d = new RunDomain({ apertureStart: 0x1000n, apertureEnd: 0xffffn });
  assert.equal(errnoOf(() => d.map(0n, 0n, 0x1000n, 1)), EINVAL);
  assert.equal(errnoOf(() => d.map(0xf000n, 0n, 0x2000n, 1)), EINVAL);
  assert.throws(() => d.map(0x1000n, 0n, 0x1000n, 0x100), RangeError);
  assert.equal(d.runCount, 0);
});

test('RunDomain: 100k one-page runs cost their rows, not an object each', () => {
  const d = new RunDomain();
  for (let i = 0; i < 100_000; i++) d.map(BigInt(i) * 0x2000n, BigInt(i) * 0x1000n, 0x1000n, 3);
  assert.ok(d.tableBytes() / 100_000 <= 26, `${d.tableBytes() / 100_000} B per run`);
  assert.equal(d.iovaToPhys(99_999n * 0x2000n + 1n), 99_999n * 0x1000n + 1n);
});
