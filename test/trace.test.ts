// The trace of an iommufd ioctl shows, as its output, only the fields the
// kernel wrote back, as strace does: not their neighbours, and nothing past
// the size the caller gave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, uapi as U } from '../src/lib/index.js';
import type { IoctlTrace } from '../src/core/file.js';

test('IOMMU_IOAS_ALLOC traces out_ioas_id only, not the flags beside it', () => {
  const f = openIommufd();
  const buf = f.proc.mmap(4096);
  f.proc.mm.write(buf, U.IommuIoasAlloc.encode({ size: U.IommuIoasAlloc.size, flags: 0 }));
  const t: IoctlTrace = { name: '', args: '' };
  assert.equal(f.ctx.ioctl(f.proc.task, U.IOMMU_IOAS_ALLOC, buf, t), 0);
  assert.equal(t.name, 'IOMMU_IOAS_ALLOC');
  assert.match(t.out ?? '', /^out_ioas_id=\d+$/);
});

test('IOMMU_IOAS_IOVA_RANGES traces what it wrote: num_iovas and the alignment', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const buf = f.proc.mmap(4096);
  const ranges = f.proc.mmap(4096);
  f.proc.mm.write(buf, U.IommuIoasIovaRanges.encode({ size: U.IommuIoasIovaRanges.size, ioas_id: ioas, num_iovas: 8, allowed_iovas: ranges }));
  const t: IoctlTrace = { name: '', args: '' };
  assert.equal(f.ctx.ioctl(f.proc.task, U.IOMMU_IOAS_IOVA_RANGES, buf, t), 0);
  const out = (t.out ?? '').split(' ').map((kv) => kv.split('=')[0]);
  assert.ok(out.every((k) => k === 'num_iovas' || k === 'out_iova_alignment'), `only written fields: ${t.out}`);
  assert.ok(out.includes('out_iova_alignment'), t.out);
});
