// IOAS ioctls through the library: every rule checks the errno and the state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, IommufdFile, SimProcess, RunDomain, Errno, uapi as U, errno as E, Engine } from '../src/lib/index.js';
import { errnoOf } from './lib/errno-of.js';
import { setup } from './lib/ioas-setup.js';

const MiB = 1n << 20n;
const PAGE = 4096n;



test('object IDs start at 1 and reuse the lowest free', () => {
  const f = openIommufd();
  assert.equal(f.ioasAlloc(), 1);
  assert.equal(f.ioasAlloc(), 2);
  assert.equal(f.ioasAlloc(), 3);
  f.destroy(2);
  f.destroy(1);
  assert.equal(f.ioasAlloc(), 1);
  assert.equal(f.ioasAlloc(), 2);
  assert.equal(f.ioasAlloc(), 4);
});

test('DESTROY: ENOENT for a missing ID, twice destroyed, ID 0', () => {
  const f = openIommufd();
  const id = f.ioasAlloc();
  assert.equal(errnoOf(() => f.destroy(99)), E.ENOENT);
  assert.equal(errnoOf(() => f.destroy(0)), E.ENOENT);
  f.destroy(id);
  assert.equal(errnoOf(() => f.destroy(id)), E.ENOENT);
});

test('DESTROY of an IOAS with mappings unmaps them; EBUSY while a domain holds... via users', () => {
  const { f, ioas, buf } = setup();
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB });
  const obj = f.ioas(ioas);
  obj.users++; // what a HWPT's reference looks like
  assert.equal(errnoOf(() => f.destroy(ioas)), E.EBUSY);
  assert.equal(obj.iopt.areaCount, 1);
  obj.users--;
  f.destroy(ioas);
  assert.equal(obj.iopt.areaCount, 0);
});

test('generic size rules: short size EINVAL, non-zero tail E2BIG, zero tail ok, unknown ioctl ENOTTY', () => {
  const f = openIommufd();
  let r = f.ioctlRaw(U.IOMMU_IOAS_ALLOC, U.IommuIoasAlloc.encode({ size: 8 }));
  assert.equal(r.errno, E.EINVAL);
  const big = new Uint8Array(64); new DataView(big.buffer).setUint32(0, 64, true); big[40] = 1;
  r = f.ioctlRaw(U.IOMMU_IOAS_ALLOC, big);
  assert.equal(r.errno, E.E2BIG);
  assert.equal(f.ctx.objects.empty, true, 'nothing allocated');
  big[40] = 0;
  r = f.ioctlRaw(U.IOMMU_IOAS_ALLOC, big);
  assert.equal(r.errno, 0);
  assert.equal(new DataView(r.out.buffer).getUint32(8, true), 1);
  r = f.ioctlRaw(0x3b9f, new Uint8Array(16).fill(0));
  assert.equal(r.errno, E.ENOTTY);
  r = f.ioctlRaw(U.IOMMU_IOAS_ALLOC | (12 << 16), U.IommuIoasAlloc.encode({ size: 12 }));
  assert.equal(r.errno, E.ENOTTY, 'size bits in the request make it another request');
  r = f.ioctlRaw(U.IOMMU_IOAS_ALLOC, U.IommuIoasAlloc.encode({ size: 12, flags: 1 }));
  assert.equal(r.errno, E.EOPNOTSUPP);
});

test('a bad argument pointer gives EFAULT and changes nothing', () => {
  const f = openIommufd();
  assert.throws(() => f.ctx.ioctl(f.proc.task, U.IOMMU_IOAS_ALLOC, 0x10n), (e: Errno) => e.code === E.EFAULT);
  assert.equal(f.ctx.objects.empty, true);
});

test('ALLOC whose reply cannot be written is aborted (no object left)', () => {
  const f = openIommufd();
  const ro = f.proc.mmap(4096);
  f.proc.mm.write(ro, U.IommuIoasAlloc.encode({ size: 12 }));
  f.proc.mm.mprotect(ro, 4096, false);
  assert.throws(() => f.ctx.ioctl(f.proc.task, U.IOMMU_IOAS_ALLOC, ro), (e: Errno) => e.code === E.EFAULT);
  assert.equal(f.ctx.objects.empty, true);
});

test('MAP: flag and field rules, each leaving no area', () => {
  const { f, ioas, buf } = setup();
  const base = { size: 40, ioas_id: ioas, user_va: buf, length: MiB, iova: MiB };
  const cases: Array<[Partial<Record<string, number | bigint>>, number]> = [
    [{ flags: 0x8 | 7 }, E.EOPNOTSUPP],
    [{ flags: 7, __reserved: 1 }, E.EOPNOTSUPP],
    [{ flags: 7, iova: (1n << 64n) - 1n }, E.EOVERFLOW],
    [{ flags: 7, length: (1n << 64n) - 1n }, E.EOVERFLOW],
    [{ flags: 1 }, E.EINVAL],
    [{ flags: 7, ioas_id: 99 }, E.ENOENT],
    [{ flags: 7, length: 0n }, E.EINVAL],
    [{ flags: 7, user_va: (1n << 64n) - 4096n }, E.EOVERFLOW],
    [{ flags: 7, iova: (1n << 64n) - 4096n, length: 8192n }, E.EOVERFLOW],
  ];
  for (const [v, want] of cases) {
    const r = f.ioctlRaw(U.IOMMU_IOAS_MAP, U.IommuIoasMap.encode({ ...base, ...v } as never));
    assert.equal(r.errno, want, JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x)));
  }
  assert.equal(f.ioas(ioas).iopt.areaCount, 0);
});

test('MAP fixed: overlap EEXIST, reserved EINVAL; UNMAP whole areas only', () => {
  const { f, ioas, buf } = setup();
  assert.equal(f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 4n * MiB }), 4n * MiB);
  assert.equal(errnoOf(() => f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 4n * MiB + PAGE })), E.EEXIST);
  f.ioas(ioas).iopt.reserveIova(16n * MiB, 17n * MiB - 1n, 'test');
  assert.equal(errnoOf(() => f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 16n * MiB })), E.EINVAL);
  // partial cover
  assert.equal(errnoOf(() => f.unmap(ioas, 4n * MiB, PAGE)), E.ENOENT);
  assert.equal(errnoOf(() => f.unmap(ioas, 4n * MiB + PAGE, MiB)), E.ENOENT);
  // nothing mapped
  assert.equal(errnoOf(() => f.unmap(ioas, 100n * MiB, MiB)), E.ENOENT);
  assert.equal(errnoOf(() => f.unmap(ioas, 0n, 0n)), E.EINVAL);
  assert.equal(f.ioas(ioas).iopt.areaCount, 1);
  // superset unmaps the whole area and reports its length
  assert.equal(f.unmap(ioas, 3n * MiB, 3n * MiB), MiB);
  assert.equal(f.ioas(ioas).iopt.areaCount, 0);
});

test('UNMAP 0..U64_MAX unmaps all, also when empty', () => {
  const { f, ioas, buf } = setup();
  assert.equal(f.unmap(ioas, 0n, (1n << 64n) - 1n), 0n);
  for (let i = 0n; i < 4n; i++) f.map({ ioasId: ioas, userVa: buf + i * MiB, length: MiB, iova: (i + 1n) * 8n * MiB });
  assert.equal(f.unmap(ioas, 0n, (1n << 64n) - 1n), 4n * MiB);
  assert.equal(f.ioas(ioas).iopt.areaCount, 0);
});

test('UNMAP is not atomic: areas before a cut area are gone', () => {
  const { f, ioas, buf } = setup();
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB });
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 2n * MiB });
  assert.equal(errnoOf(() => f.unmap(ioas, MiB, MiB + PAGE)), E.ENOENT);
  assert.equal(f.ioas(ioas).iopt.areaCount, 1);
});

test('MAP auto IOVA: lowest fit from PAGE_SIZE, alignment from length and user_va', () => {
  const { f, ioas, buf } = setup();
  // buf is 2 MiB aligned: alignment = min(roundup_pow2(len), lowest bit of va) capped at 2 MiB
  assert.equal(f.map({ ioasId: ioas, userVa: buf, length: PAGE }), PAGE);
  assert.equal(f.map({ ioasId: ioas, userVa: buf, length: 3n * PAGE }), 4n * PAGE);
  assert.equal(f.map({ ioasId: ioas, userVa: buf, length: 4n * MiB }), 2n * MiB);
  // sub-page offset of user_va is kept
  const iova = f.map({ ioasId: ioas, userVa: buf + 0x10n, length: 0x100n });
  assert.equal(iova & 0xfffn, 0x10n);
  assert.equal(iova, 2n * PAGE + 0x10n);
});

test('MAP auto IOVA honours the allowed list; ENOSPC when nothing fits', () => {
  const { f, ioas, buf } = setup();
  f.allowIovas(ioas, [{ start: 64n * MiB, last: 65n * MiB - 1n }]);
  assert.equal(f.map({ ioasId: ioas, userVa: buf, length: MiB }), 64n * MiB);
  assert.equal(errnoOf(() => f.map({ ioasId: ioas, userVa: buf, length: MiB })), E.ENOSPC);
  // a fixed IOVA is not checked against the allowed list
  assert.equal(f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 8n * MiB }), 8n * MiB);
});

test('ALLOW_IOVAS: start >= last and overlaps are EINVAL; reserved overlap EADDRINUSE keeps the old list', () => {
  const { f, ioas } = setup();
  assert.equal(errnoOf(() => f.allowIovas(ioas, [{ start: 5n, last: 5n }])), E.EINVAL);
  assert.equal(errnoOf(() => f.allowIovas(ioas, [{ start: 0n, last: 100n }, { start: 100n, last: 200n }])), E.EINVAL);
  f.allowIovas(ioas, [{ start: 0x1000n, last: 0x1fffn }]);
  f.ioas(ioas).iopt.reserveIova(0x10000n, 0x1ffffn, 'x');
  assert.equal(errnoOf(() => f.allowIovas(ioas, [{ start: 0x18000n, last: 0x28000n }])), E.EADDRINUSE);
  assert.deepEqual(f.ioas(ioas).iopt.allowedRanges(), [{ start: 0x1000n, last: 0x1fffn }]);
  // reserving inside the allowed list is refused
  assert.equal(errnoOf(() => f.ioas(ioas).iopt.reserveIova(0x1800n, 0x1900n, 'y')), E.EADDRINUSE);
  f.allowIovas(ioas, []);
  assert.deepEqual(f.ioas(ioas).iopt.allowedRanges(), []);
});

test('IOVA_RANGES: holes of the reserved ranges, EMSGSIZE with the count written back', () => {
  const { f, ioas } = setup();
  assert.deepEqual(f.iovaRanges(ioas), { ranges: [{ start: 0n, last: (1n << 64n) - 1n }], alignment: 1n });
  const iopt = f.ioas(ioas).iopt;
  iopt.reserveIova(0n, 0xffffffn, 'a');
  iopt.reserveIova(0x80000000n, (1n << 64n) - 1n, 'a');
  iopt.reserveIova(0x2000000n, 0x2ffffffn, 'b');
  const r = f.ioctlRaw(U.IOMMU_IOAS_IOVA_RANGES, U.IommuIoasIovaRanges.encode({ size: 32, ioas_id: ioas, num_iovas: 1, allowed_iovas: f.proc.mmap(4096) }));
  assert.equal(r.errno, E.EMSGSIZE);
  assert.equal(U.IommuIoasIovaRanges.decode(r.out).num_iovas, 2);
  assert.deepEqual(f.iovaRanges(ioas).ranges, [{ start: 0x1000000n, last: 0x1ffffffn }, { start: 0x3000000n, last: 0x7fffffffn }]);
  const bad = f.ioctlRaw(U.IOMMU_IOAS_IOVA_RANGES, U.IommuIoasIovaRanges.encode({ size: 32, ioas_id: ioas, __reserved: 1 }));
  assert.equal(bad.errno, E.EOPNOTSUPP);
});

test('COPY: sub-ranges of contiguous areas, holes ENOENT, shared pages pinned once', () => {
  const { f, ioas, buf } = setup();
  const ioas2 = f.ioasAlloc();
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB });
  f.map({ ioasId: ioas, userVa: buf + MiB, length: MiB, iova: 2n * MiB });
  // spans two areas: two new areas
  assert.equal(f.copy({ dstIoasId: ioas2, srcIoasId: ioas, srcIova: MiB + PAGE, length: MiB, dstIova: 16n * MiB }), 16n * MiB);
  assert.equal(f.ioas(ioas2).iopt.areaCount, 2);
  assert.equal(errnoOf(() => f.copy({ dstIoasId: ioas2, srcIoasId: ioas, srcIova: 3n * MiB, length: PAGE })), E.ENOENT);
  assert.equal(errnoOf(() => f.copy({ dstIoasId: 99, srcIoasId: ioas, srcIova: MiB, length: PAGE })), E.ENOENT);
  assert.equal(errnoOf(() => f.copy({ dstIoasId: ioas2, srcIoasId: ioas, srcIova: MiB, length: 0n })), E.EINVAL);
  // pinning: a domain on each IOAS, pages shared → pinned once
  f.addDomain(ioas, new RunDomain());
  f.addDomain(ioas2, new RunDomain());
  const mm = f.proc.mm;
  assert.equal(mm.pins.covered, 512);
  assert.equal(mm.pins.get(Number((buf + MiB + PAGE) >> 12n)), 1);
});

test('COPY adding WRITE to read-only pages is EPERM', () => {
  const { f, ioas, buf } = setup();
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB, writeable: false });
  assert.equal(errnoOf(() => f.copy({ dstIoasId: ioas, srcIoasId: ioas, srcIova: MiB, length: MiB, writeable: true })), E.EPERM);
  assert.equal(f.ioas(ioas).iopt.areaCount, 1);
  f.copy({ dstIoasId: ioas, srcIoasId: ioas, srcIova: MiB, length: MiB, writeable: false });
  assert.equal(f.ioas(ioas).iopt.areaCount, 2);
});

test('pinning is lazy: nothing pinned without a domain; a domain pins and maps runs', () => {
  const { f, ioas, buf } = setup();
  f.map({ ioasId: ioas, userVa: buf, length: 8n * MiB, iova: 8n * MiB });
  assert.equal(f.proc.mm.pins.covered, 0);
  const d = new RunDomain();
  f.addDomain(ioas, d);
  assert.equal(f.proc.mm.pins.covered, 2048);
  assert.equal(f.proc.mm.pins.runCount, 1);
  assert.equal(d.runCount, 1);
  assert.equal(d.iovaToPhys(8n * MiB + 5n), (BigInt(f.proc.mm.id) << 52n) + buf + 5n);
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 32n * MiB });
  assert.equal(f.proc.mm.pins.get(Number(buf >> 12n)), 2, 'two MAPs of one VA pin twice');
  f.unmap(ioas, 0n, (1n << 64n) - 1n);
  assert.equal(f.proc.mm.pins.covered, 0);
  assert.equal(d.mappedBytes, 0n);
});

test('a domain fill that faults leaves nothing pinned and no domain', () => {
  const { f, ioas, buf } = setup();
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB });
  f.map({ ioasId: ioas, userVa: 0x1000n, length: MiB, iova: 4n * MiB }); // unmapped user memory: lazy, accepted
  const d = new RunDomain();
  assert.equal(errnoOf(() => f.addDomain(ioas, d)), E.EFAULT);
  assert.equal(f.proc.mm.pins.covered, 0);
  assert.equal(d.mappedBytes, 0n);
  assert.equal(f.ioas(ioas).iopt.domains.length, 0);
});

test('RLIMIT_MEMLOCK: user mode charges the uid, ENOMEM over the limit with full rollback', () => {
  const engine = new Engine();
  const proc = new SimProcess({ uid: 4242, rlimitMemlock: 4n * MiB });
  const f = new IommufdFile(proc, engine);
  const ioas = f.ioasAlloc();
  const buf = proc.mmap(16n * MiB);
  f.addDomain(ioas, new RunDomain());
  f.map({ ioasId: ioas, userVa: buf, length: 3n * MiB, iova: 8n * MiB });
  assert.equal(proc.task.user.lockedVm, 768);
  assert.equal(errnoOf(() => f.map({ ioasId: ioas, userVa: buf + 3n * MiB, length: 2n * MiB, iova: 16n * MiB })), E.ENOMEM);
  assert.equal(proc.task.user.lockedVm, 768);
  assert.equal(proc.mm.pins.covered, 768);
  assert.equal(f.ioas(ioas).iopt.areaCount, 1);
  // a second process of the same uid shares the charge
  const f2 = new IommufdFile(new SimProcess({ uid: 4242, rlimitMemlock: 4n * MiB }), engine);
  const i2 = f2.ioasAlloc();
  f2.addDomain(i2, new RunDomain());
  assert.equal(errnoOf(() => f2.map({ ioasId: i2, userVa: f2.proc.mmap(2n * MiB), length: 2n * MiB, iova: 8n * MiB })), E.ENOMEM);
  f.unmap(ioas, 0n, (1n << 64n) - 1n);
  assert.equal(proc.task.user.lockedVm, 0);
  assert.equal(proc.mm.pinnedVm, 0);
});

test('RLIMIT_MODE: get 0, set needs CAP_SYS_RESOURCE, EBUSY with objects, MM mode charges the mm', () => {
  const root = openIommufd();
  assert.equal(root.option(U.IOMMU_OPTION_RLIMIT_MODE, 'get'), 0n);
  assert.equal(errnoOf(() => root.option(U.IOMMU_OPTION_RLIMIT_MODE, 'set', 0, 2n)), E.EINVAL);
  assert.equal(errnoOf(() => root.option(U.IOMMU_OPTION_RLIMIT_MODE, 'get', 1)), E.EOPNOTSUPP);
  root.option(U.IOMMU_OPTION_RLIMIT_MODE, 'set', 0, 1n);
  assert.equal(root.option(U.IOMMU_OPTION_RLIMIT_MODE, 'get'), 1n);
  root.ioasAlloc();
  assert.equal(errnoOf(() => root.option(U.IOMMU_OPTION_RLIMIT_MODE, 'set', 0, 0n)), E.EBUSY);
  const user = openIommufd({ process: { uid: 1000, rlimitMemlock: MiB } });
  assert.equal(errnoOf(() => user.option(U.IOMMU_OPTION_RLIMIT_MODE, 'set', 0, 1n)), E.EPERM);
  const mmUser = openIommufd({ process: { uid: 1001, rlimitMemlock: MiB, capSysResource: true } });
  mmUser.option(U.IOMMU_OPTION_RLIMIT_MODE, 'set', 0, 1n);
  const io = mmUser.ioasAlloc();
  mmUser.addDomain(io, new RunDomain());
  mmUser.map({ ioasId: io, userVa: mmUser.proc.mmap(MiB), length: MiB, iova: MiB });
  assert.equal(mmUser.proc.mm.lockedVm, 256);
  assert.equal(mmUser.proc.task.user.lockedVm, 0);
  assert.equal(errnoOf(() => mmUser.map({ ioasId: io, userVa: mmUser.proc.mmap(PAGE), length: PAGE, iova: 8n * MiB })), E.ENOMEM);
});

test('HUGE_PAGES option: get/set, alignment becomes PAGE_SIZE, EINVAL with domain and areas', () => {
  const { f, ioas, buf } = setup();
  assert.equal(f.option(U.IOMMU_OPTION_HUGE_PAGES, 'get', ioas), 1n);
  assert.equal(errnoOf(() => f.option(U.IOMMU_OPTION_HUGE_PAGES, 'get', 0)), E.ENOENT);
  assert.equal(errnoOf(() => f.option(U.IOMMU_OPTION_HUGE_PAGES, 'set', ioas, 2n)), E.EINVAL);
  f.map({ ioasId: ioas, userVa: buf + 0x800n, length: 0x800n, iova: 0x1800n });
  assert.equal(errnoOf(() => f.option(U.IOMMU_OPTION_HUGE_PAGES, 'set', ioas, 0n)), E.EADDRINUSE);
  assert.equal(f.option(U.IOMMU_OPTION_HUGE_PAGES, 'get', ioas), 1n);
  f.unmap(ioas, 0n, (1n << 64n) - 1n);
  f.option(U.IOMMU_OPTION_HUGE_PAGES, 'set', ioas, 0n);
  assert.equal(f.iovaRanges(ioas).alignment, PAGE);
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB });
  f.addDomain(ioas, new RunDomain());
  f.option(U.IOMMU_OPTION_HUGE_PAGES, 'set', ioas, 1n);
  assert.equal(errnoOf(() => f.option(U.IOMMU_OPTION_HUGE_PAGES, 'set', ioas, 0n)), E.EINVAL);
  assert.equal(errnoOf(() => f.option(99, 'get', ioas)), E.EOPNOTSUPP);
});

test('a domain with a narrow aperture reserves outside it; EADDRINUSE over a mapping', () => {
  const { f, ioas, buf } = setup();
  const d = new RunDomain({ apertureStart: 1n << 24n, apertureEnd: (1n << 31n) - 1n, pgsizeBitmap: 0x800n });
  f.addDomain(ioas, d);
  assert.deepEqual(f.iovaRanges(ioas), { ranges: [{ start: 1n << 24n, last: (1n << 31n) - 1n }], alignment: 0x800n });
  f.removeDomain(ioas, d);
  assert.equal(f.iovaRanges(ioas).alignment, 1n);
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB });
  assert.equal(errnoOf(() => f.addDomain(ioas, d)), E.EADDRINUSE);
  assert.equal(f.iovaRanges(ioas).ranges.length, 1);
});

test('VFIO_IOAS: GET ENODEV, SET/GET/CLEAR, destroy clears it', () => {
  const f = openIommufd();
  const id = f.ioasAlloc();
  const op = (o: number, ioas_id = 0) => f.ioctlRaw(U.IOMMU_VFIO_IOAS, U.IommuVfioIoas.encode({ size: 12, op: o, ioas_id }));
  assert.equal(op(U.IOMMU_VFIO_IOAS_GET).errno, E.ENODEV);
  assert.equal(op(U.IOMMU_VFIO_IOAS_SET, 77).errno, E.ENOENT);
  assert.equal(op(U.IOMMU_VFIO_IOAS_SET, id).errno, 0);
  assert.equal(U.IommuVfioIoas.decode(op(U.IOMMU_VFIO_IOAS_GET).out).ioas_id, id);
  assert.equal(op(3).errno, E.EOPNOTSUPP);
  f.destroy(id);
  assert.equal(op(U.IOMMU_VFIO_IOAS_GET).errno, E.ENODEV);
});

test('close releases every object and every pin', () => {
  const { f, ioas, buf } = setup();
  f.ioasAlloc();
  f.addDomain(ioas, new RunDomain());
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB });
  assert.equal(f.proc.mm.pins.covered, 256);
  // release drops the IOASes; a real HWPT would drop the domain first
  f.removeDomain(ioas, f.ioas(ioas).iopt.domains[0]!);
  f.close();
  assert.equal(f.ctx.objects.empty, true);
  assert.equal(f.proc.mm.pins.covered, 0);
});

test('access pins: shared once with domains, unmap notifies and waits, EDEADLK if the access never lets go', () => {
  const { f, ioas, buf } = setup();
  const iopt = f.ioas(ioas).iopt;
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB, writeable: false });
  const pins: Array<[bigint, bigint]> = [];
  let cooperate = true;
  let calls = 0;
  const access = {
    iovaAlignment: PAGE, internal: false,
    unmap(iova: bigint, length: bigint) {
      calls++;
      if (!cooperate) return;
      for (const p of [...pins]) if (p[0] < iova + length && p[0] + p[1] > iova) { iopt.accessUnpin(p[0], p[1]); pins.splice(pins.indexOf(p), 1); }
    },
  };
  iopt.addAccess(access);
  assert.equal(iopt.iovaAlignment, PAGE);
  assert.equal(errnoOf(() => iopt.accessPin(MiB, PAGE, true)), E.EPERM, 'read-only area');
  assert.equal(errnoOf(() => iopt.accessPin(2n * MiB, PAGE, false)), E.ENOENT);
  iopt.accessPin(MiB, 2n * PAGE, false); pins.push([MiB, 2n * PAGE]);
  iopt.accessPin(MiB, 2n * PAGE, false); pins.push([MiB, 2n * PAGE]);
  assert.equal(f.proc.mm.pins.covered, 2, 'an exact repeat pins nothing more');
  const d = new RunDomain();
  f.addDomain(ioas, d);
  assert.equal(f.proc.mm.pins.covered, 256);
  assert.equal(f.proc.mm.pins.get(Number(buf >> 12n)), 1, 'access and domain share one pin');
  // unmap: the access is told, lets go, and the unmap completes
  assert.equal(f.unmap(ioas, MiB, MiB), MiB);
  assert.ok(calls >= 1);
  assert.equal(f.proc.mm.pins.covered, 0);
  // an access that never lets go: EDEADLK, the area stays and refuses new pins
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB });
  iopt.accessPin(MiB, PAGE, true); pins.push([MiB, PAGE]);
  cooperate = false;
  assert.equal(errnoOf(() => f.unmap(ioas, MiB, MiB)), E.EDEADLK);
  assert.equal(iopt.areaCount, 1);
  assert.equal(errnoOf(() => iopt.accessPin(MiB + PAGE, PAGE, false)), E.EINVAL);
  cooperate = true;
  assert.equal(f.unmap(ioas, MiB, MiB), MiB);
  f.removeDomain(ioas, d);
  iopt.removeAccess(access);
  assert.equal(iopt.iovaAlignment, 1n);
  assert.equal(f.proc.mm.pins.covered, 0);
});
