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

test('flags and enums are traced by name, as strace names them; unknown bits stay hex', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const mem = f.proc.mmap(1n << 20n);
  const buf = f.proc.mmap(4096);
  const call = (req: number, bytes: Uint8Array) => {
    f.proc.mm.write(buf, bytes);
    const t: IoctlTrace = { name: '', args: '' };
    try { f.ctx.ioctl(f.proc.task, req, buf, t); } catch { /* a refused call is traced too */ }
    return t.args;
  };
  assert.match(call(U.IOMMU_IOAS_MAP, U.IommuIoasMap.encode({ size: U.IommuIoasMap.size, ioas_id: ioas, user_va: mem, length: 4096n,
    flags: U.IOMMU_IOAS_MAP_WRITEABLE | U.IOMMU_IOAS_MAP_READABLE })), /flags=IOMMU_IOAS_MAP_WRITEABLE\|IOMMU_IOAS_MAP_READABLE /);
  assert.match(call(U.IOMMU_IOAS_MAP, U.IommuIoasMap.encode({ size: U.IommuIoasMap.size, ioas_id: ioas, user_va: mem, length: 4096n,
    flags: U.IOMMU_IOAS_MAP_READABLE | 0x80 })), /flags=IOMMU_IOAS_MAP_READABLE\|0x80 /);
  assert.match(call(U.IOMMU_OPTION, U.IommuOption.encode({ size: U.IommuOption.size, option_id: U.IOMMU_OPTION_RLIMIT_MODE, op: U.IOMMU_OPTION_OP_GET })),
    /option_id=IOMMU_OPTION_RLIMIT_MODE op=IOMMU_OPTION_OP_GET/);
  assert.match(call(U.IOMMU_OPTION, U.IommuOption.encode({ size: U.IommuOption.size, option_id: 77, op: 5 })), /option_id=0x4d op=5/);
  assert.match(call(U.IOMMU_IOAS_UNMAP, U.IommuIoasUnmap.encode({ size: U.IommuIoasUnmap.size, ioas_id: ioas, iova: 0n, length: 0n })), /^ioas_id=/);
});
