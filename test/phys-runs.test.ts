// A MAP across an anonymous range and a shared file mapping right after it:
// the domain must translate each side to its own frames (one iommu_map per
// physically contiguous run, as batch_to_domain does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, RunDomain } from '../src/lib/index.js';
import { pfnOf, PAGE_SHIFT } from '../src/hw/memory.js';

const PAGE = 4096n;

test('a domain maps each physical run of an area to its own frames', () => {
  for (const compact of [true, false]) {
    const f = openIommufd();
    const ioas = f.ioasAlloc();
    if (!compact) f.ioas(ioas).iopt.compactRows = false;
    const anon = f.proc.mmap(8n * PAGE, { align: 1n << 21n });
    const fd = f.proc.memfdCreate(4n * PAGE);
    // The memfd right after the anonymous range, then more anonymous memory.
    const file = f.proc.mmapFile(fd, 4n * PAGE, { at: anon + 4n * PAGE });
    assert.equal(file, anon + 4n * PAGE);
    const d = new RunDomain();
    f.addDomain(ioas, d);
    const iova = 1n << 24n;
    f.map({ ioasId: ioas, userVa: anon, length: 8n * PAGE, iova });
    for (let i = 0n; i < 8n; i++) {
      const va = anon + i * PAGE;
      assert.equal(d.iovaToPhys(iova + i * PAGE + 5n), (pfnOf(f.proc.mm, va) << BigInt(PAGE_SHIFT)) + 5n, `page ${i} (compact ${compact})`);
    }
    assert.ok(d.runCount >= 2, 'anonymous and file runs are separate translations');
    f.unmap(ioas, iova, 8n * PAGE);
    assert.equal(d.mappedBytes, 0n);
  }
});
