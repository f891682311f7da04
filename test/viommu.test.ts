// vIOMMUs on the mock driver through the library: VIOMMU_ALLOC and its mmap
// region, nested HWPTs on a vIOMMU, vDEVICEs (EEXIST rules, attach needs one,
// tombstones on unplug), vEVENTQs (read format, sequence numbers, lost
// events, wake-ups), HWPT_INVALIDATE on a vIOMMU, HW queues (index rules,
// the locked IOVA range, contiguity), and a close that frees everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, IommufdFile, SimProcess, Engine, Errno, errnoName, errno as E, uapi as U, testAbi as T } from '../src/lib/index.js';
import type { VeventqFile } from '../src/core/eventq.js';
import type { RegionMemory } from '../src/core/file.js';
import type { FaultInjector } from '../src/core/faults.js';
import { errnoOf } from './lib/errno-of.js';

const PG = 4096n;
const NEST_PARENT = 1;
const SELFTEST = T.IOMMU_VIOMMU_TYPE_SELFTEST;

function u32s(...v: number[]): Uint8Array {
  const b = new Uint8Array(v.length * 4);
  v.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x, true));
  return b;
}

/** A file with an IOAS, a mock device on it, a nest parent and a vIOMMU on that. */
function setup(f: IommufdFile = openIommufd()) {
  const ioas = f.ioasAlloc();
  const m = f.mockDomain(ioas);
  const parent = f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: NEST_PARENT });
  const viommu = viommuAlloc(f, m.idevId, parent);
  return { f, ioas, m, parent, viommu };
}

function viommuAlloc(f: IommufdFile, devId: number, hwptId: number, data?: Uint8Array): number {
  let uptr = 0n;
  if (data) { uptr = f.proc.mmap(PG); f.proc.mm.write(uptr, data); }
  return f.call(U.IOMMU_VIOMMU_ALLOC, U.IommuViommuAlloc, { type: SELFTEST, dev_id: devId, hwpt_id: hwptId, data_len: data?.length ?? 0, data_uptr: uptr }).out_viommu_id;
}

function vdevAlloc(f: IommufdFile, viommuId: number, devId: number, virtId: bigint): number {
  return f.call(U.IOMMU_VDEVICE_ALLOC, U.IommuVdeviceAlloc, { viommu_id: viommuId, dev_id: devId, virt_id: virtId }).out_vdevice_id;
}

function nestedAlloc(f: IommufdFile, devId: number, ptId: number): number {
  return f.hwptAlloc({ devId, ptId, dataType: T.IOMMU_HWPT_DATA_SELFTEST, data: u32s(T.IOMMU_TEST_IOTLB_DEFAULT) });
}

function veventqAlloc(f: IommufdFile, viommuId: number, depth: number, type = T.IOMMU_VEVENTQ_TYPE_SELFTEST): { id: number; fd: number; file: VeventqFile } {
  const r = f.call(U.IOMMU_VEVENTQ_ALLOC, U.IommuVeventqAlloc, { viommu_id: viommuId, type, veventq_depth: depth });
  return { id: r.out_veventq_id, fd: r.out_veventq_fd, file: f.proc.files.get(r.out_veventq_fd) as VeventqFile };
}

function trigger(f: IommufdFile, devId: number): void {
  f.testCmd(T.IOMMU_TEST_OP_TRIGGER_VEVENT, 0, T.IommuTestCmdTriggerVevent, { dev_id: devId });
}

/** read() the queue into `len` bytes; records as "seq:virt" or "lost:seq". */
function readEvents(f: IommufdFile, file: VeventqFile, len: number): string[] {
  const buf = f.proc.mmap(PG);
  const n = file.read(f.proc.task, buf, len, 0n);
  const b = f.proc.mm.read(buf, n);
  const v = new DataView(b.buffer);
  const out: string[] = [];
  for (let off = 0; off < n;) {
    const flags = v.getUint32(off, true), seq = v.getUint32(off + 4, true);
    off += 8;
    if (flags & U.IOMMU_VEVENTQ_FLAG_LOST_EVENTS) { out.push(`lost:${seq}`); continue; }
    out.push(`${seq}:0x${v.getUint32(off, true).toString(16)}`);
    off += 4;
  }
  return out;
}

function invalidate(f: IommufdFile, id: number, entries: Array<[number, number, number]>, type = T.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST): { errno: number; done: number } {
  const buf = f.proc.mmap(PG);
  entries.forEach((e, i) => f.proc.mm.write(buf + BigInt(i * 12), u32s(...e)));
  const r = f.ioctlRaw(U.IOMMU_HWPT_INVALIDATE, U.IommuHwptInvalidate.encode({ size: 32, hwpt_id: id, data_uptr: buf, data_type: type, entry_len: 12, entry_num: entries.length }));
  return { errno: r.errno, done: U.IommuHwptInvalidate.decode(r.out).entry_num };
}

function cache(f: IommufdFile, idev: number): string {
  const out: string[] = [];
  for (let i = 0; i < 4; i++) {
    const is = (v: number) => errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_DEV_CHECK_CACHE, idev, T.IommuTestCmdCheckDevCache, { id: i, cache: v })) === 0;
    out.push(is(0) ? '0' : is(T.IOMMU_TEST_DEV_CACHE_DEFAULT) ? 'default' : 'other');
  }
  return out.join(' ');
}

/** A RegionMemory the way the server backs a region: bytes both sides share. */
function sharedMemory(length: number): RegionMemory & { bytes: Uint8Array } {
  const bytes = new Uint8Array(length);
  return { length, bytes, read: (o, n) => bytes.slice(o, o + n), write: (o, d) => bytes.set(d, o) };
}

test('VIOMMU_ALLOC: the kernel\'s checks, the parent held, the SELFTEST data written back as far as data_len', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const m = f.mockDomain(ioas);
  const call = (o: Partial<{ flags: number; type: number; dev_id: number; hwpt_id: number }>) =>
    errnoOf(() => f.call(U.IOMMU_VIOMMU_ALLOC, U.IommuViommuAlloc, { type: SELFTEST, dev_id: m.idevId, hwpt_id: m.hwptId, ...o }));
  assert.equal(call({ flags: 1 }), E.EOPNOTSUPP);
  assert.equal(call({ type: 0 }), E.EOPNOTSUPP);
  assert.equal(call({ dev_id: 99 }), E.ENOENT);
  assert.equal(call({ hwpt_id: ioas }), E.ENOENT);
  assert.equal(call({}), E.EINVAL, 'an automatic HWPT is no nest parent');
  const parent = f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: NEST_PARENT });
  assert.equal(call({ hwpt_id: parent, type: 0xdead }), E.EOPNOTSUPP);
  const v = viommuAlloc(f, m.idevId, parent);
  assert.equal(errnoOf(() => f.destroy(parent)), E.EBUSY);
  assert.equal(errnoOf(() => viommuAlloc(f, m.idevId, parent, u32s(1))), E.EINVAL, 'data shorter than in_data + out_data');
  // data_len 8: only in_data and out_data come back, though a region is made.
  const buf = f.proc.mmap(PG);
  f.proc.mm.write(buf, new Uint8Array(24).fill(0x5a));
  f.proc.mm.write(buf, u32s(0xbeef));
  const r = f.call(U.IOMMU_VIOMMU_ALLOC, U.IommuViommuAlloc, { type: SELFTEST, dev_id: m.idevId, hwpt_id: parent, data_len: 8, data_uptr: buf });
  const d = T.IommuViommuSelftest.decode(f.proc.mm.read(buf, 24));
  assert.equal(d.out_data, 0xbeef);
  assert.equal(d.out_mmap_offset, 0x5a5a5a5a5a5a5a5an);
  assert.equal(f.ctx.mmaps.find(0x1000n)?.owner.id, r.out_viommu_id);
  f.destroy(r.out_viommu_id);
  assert.equal(f.ctx.mmaps.find(0x1000n), undefined, 'the region goes with its vIOMMU');
  f.destroy(v);
  f.destroy(parent);
});

test('mmap of a vIOMMU region: exact offset and length, shared, not exec; the mapping holds the vIOMMU', () => {
  const { f, m, parent } = setup();
  const buf = f.proc.mmap(PG);
  f.proc.mm.write(buf, u32s(0xcafe));
  const r = f.call(U.IOMMU_VIOMMU_ALLOC, U.IommuViommuAlloc, { type: SELFTEST, dev_id: m.idevId, hwpt_id: parent, data_len: 24, data_uptr: buf });
  const d = T.IommuViommuSelftest.decode(f.proc.mm.read(buf, 24));
  assert.deepEqual([d.out_data, d.out_mmap_offset, d.out_mmap_length], [0xcafe, 0x1000n, 0x2000n]);
  const task = f.proc.task;
  const mmap = (off: bigint, len: bigint, prot = 3, flags = 1) => f.ctx.mmap(task, off, len, prot, flags);
  assert.equal(errnoOf(() => mmap(0x2000n, 0x2000n)), E.ENXIO, 'inside, not at the start');
  assert.equal(errnoOf(() => mmap(0x1000n, 0x1000n)), E.ENXIO, 'half');
  assert.equal(errnoOf(() => mmap(0x1000n, 0x4000n)), E.ENXIO, 'double');
  assert.equal(errnoOf(() => mmap(0x0n, 0x2000n)), E.ENXIO, 'the first page is never a region');
  assert.equal(errnoOf(() => mmap(0x1000n, 0x2000n, 1, 2)), E.EINVAL, 'MAP_PRIVATE');
  assert.equal(errnoOf(() => mmap(0x1000n, 0x2000n, 5, 1)), E.EPERM, 'PROT_EXEC');
  const region = mmap(0x1000n, 0x2000n);
  assert.equal(mmap(0x1000n, 0x2000n, 1, 3), region, 'MAP_SHARED_VALIDATE maps the same region');
  const mem = sharedMemory(region.length);
  region.attach(mem);
  assert.equal(new DataView(mem.bytes.buffer).getUint32(0, true), 0xcafe, 'the first u32 is in_data, the rest zero');
  assert.ok(mem.bytes.subarray(4).every((b) => b === 0));
  assert.equal(errnoOf(() => f.destroy(r.out_viommu_id)), E.EBUSY, 'mapped twice');
  region.duplicated!();
  region.unmapped(); region.unmapped();
  assert.equal(errnoOf(() => f.destroy(r.out_viommu_id)), E.EBUSY, 'the fork\'s copy still maps it');
  region.unmapped();
  f.destroy(r.out_viommu_id);
  assert.equal(errnoOf(() => mmap(0x1000n, 0x2000n)), E.ENXIO, 'gone with its vIOMMU');
  // Offsets are allocated lowest-fit: a freed range is used again.
  const a = viommuAlloc(f, m.idevId, parent, new Uint8Array(24));
  const b = viommuAlloc(f, m.idevId, parent, new Uint8Array(24));
  assert.equal(f.ctx.mmaps.find(0x1000n)?.owner.id, a);
  assert.equal(f.ctx.mmaps.find(0x3000n)?.owner.id, b);
  f.destroy(a);
  const c = viommuAlloc(f, m.idevId, parent, new Uint8Array(24));
  assert.equal(f.ctx.mmaps.find(0x1000n)?.owner.id, c);
});

test('nested HWPTs on a vIOMMU; attaching one needs a vDEVICE; vDEVICE EEXIST rules', () => {
  const { f, ioas, m, parent, viommu } = setup();
  const m2 = f.mockDomain(ioas);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: m.idevId, ptId: viommu })), E.EOPNOTSUPP, 'no data');
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: m.idevId, ptId: viommu, dataType: 0xbeef, data: u32s(1) })), E.EOPNOTSUPP);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: m.idevId, ptId: viommu, dataType: T.IOMMU_HWPT_DATA_SELFTEST, data: new Uint8Array(12) })), E.EINVAL);
  const nested = nestedAlloc(f, m.idevId, viommu);
  assert.equal(errnoOf(() => f.destroy(viommu)), E.EBUSY, 'the nested HWPT holds its vIOMMU');
  assert.equal(errnoOf(() => f.mockDomainReplace(m.stdevId, nested)), E.ENOENT, 'no vDEVICE yet');
  assert.equal(errnoOf(() => vdevAlloc(f, parent, m.idevId, 0x99n)), E.ENOENT);
  const vd = vdevAlloc(f, viommu, m.idevId, 0x99n);
  assert.equal(errnoOf(() => vdevAlloc(f, viommu, m.idevId, 0x55n)), E.EEXIST, 'one per device');
  assert.equal(errnoOf(() => vdevAlloc(f, viommu, m2.idevId, 0x99n)), E.EEXIST, 'virt_id taken');
  const vd2 = vdevAlloc(f, viommu, m2.idevId, 0x77n);
  assert.equal(f.mockDomainReplace(m.stdevId, nested), nested);
  assert.equal(errnoOf(() => f.destroy(nested)), E.EBUSY);
  // Back to the IOAS; the vDEVICEs go, then the vIOMMU, then the parent.
  assert.equal(f.mockDomainReplace(m.stdevId, ioas), m.hwptId);
  f.destroy(nested);
  assert.equal(errnoOf(() => f.destroy(viommu)), E.EBUSY);
  f.destroy(vd); f.destroy(vd2);
  f.destroy(viommu);
  f.destroy(parent);
});

test('vEVENTQ: one per type, the read format, sequence numbers and the lost-events header', () => {
  const { f, m, viommu } = setup();
  const nested = nestedAlloc(f, m.idevId, viommu);
  vdevAlloc(f, viommu, m.idevId, 0x99n);
  f.mockDomainReplace(m.stdevId, nested);
  assert.equal(errnoOf(() => trigger(f, m.idevId)), E.EOPNOTSUPP, 'no queue of the type yet');
  const q = veventqAlloc(f, viommu, 2);
  assert.equal(errnoOf(() => veventqAlloc(f, viommu, 2)), E.EEXIST);
  assert.equal(errnoOf(() => f.destroy(q.id)), E.EBUSY, 'the fd holds it');
  let woken = 0;
  q.file.onReadable = () => { woken++; };
  const task = f.proc.task;
  const buf = f.proc.mmap(PG);
  assert.equal(errnoOf(() => q.file.read(task, buf, 7, 0n)), E.EINVAL);
  assert.equal(errnoOf(() => q.file.read(task, buf, 64, 8n)), E.ESPIPE);
  assert.equal(q.file.read(task, buf, 64, 0n), 0);
  assert.equal(q.file.poll(), 0);
  trigger(f, m.idevId);
  assert.equal(woken, 1);
  assert.equal(q.file.poll(), 1);
  assert.equal(errnoOf(() => q.file.read(task, buf, 8, 0n)), E.EINVAL, 'the event does not fit');
  assert.deepEqual(readEvents(f, q.file, 64), ['0:0x99']);
  for (let i = 0; i < 4; i++) trigger(f, m.idevId);
  assert.deepEqual(readEvents(f, q.file, 64), ['1:0x99', '2:0x99', 'lost:4'], 'the lost header takes a new number per lost event');
  for (let i = 0; i < 3; i++) trigger(f, m.idevId);
  assert.deepEqual(readEvents(f, q.file, 20), ['5:0x99']);
  assert.equal(errnoOf(() => q.file.read(task, buf, 8, 0n)), E.EINVAL);
  assert.deepEqual(readEvents(f, q.file, 12), ['6:0x99']);
  assert.deepEqual(readEvents(f, q.file, 8), ['lost:7']);
  for (let i = 0; i < 3; i++) trigger(f, m.idevId);
  assert.deepEqual(readEvents(f, q.file, 24), ['8:0x99', '9:0x99']);
  trigger(f, m.idevId);
  assert.deepEqual(readEvents(f, q.file, 64), ['11:0x99'], 'a new event replaces a lost header at the tail');
  // The device keeps the virtual ID it learnt at attach, even once its vDEVICE is gone.
  f.proc.closeFd(q.fd);
  f.destroy(q.id);
  assert.equal(errnoOf(() => trigger(f, m.idevId)), E.EOPNOTSUPP);
});

test('sequence numbers wrap at 2^31', () => {
  const { f, m, viommu } = setup();
  const nested = nestedAlloc(f, m.idevId, viommu);
  vdevAlloc(f, viommu, m.idevId, 0x5n);
  f.mockDomainReplace(m.stdevId, nested);
  const q = veventqAlloc(f, viommu, 4);
  (q.file.veventq as unknown as { sequence: number }).sequence = 0x7fffffff;
  trigger(f, m.idevId); trigger(f, m.idevId);
  assert.deepEqual(readEvents(f, q.file, 64), ['2147483647:0x5', '0:0x5']);
});

test('HWPT_INVALIDATE on a vIOMMU clears the vDEVICE\'s mock device cache', () => {
  const { f, ioas, m, viommu } = setup();
  const m2 = f.mockDomain(ioas);
  vdevAlloc(f, viommu, m.idevId, 0x99n);
  vdevAlloc(f, viommu, m2.idevId, 0x77n);
  assert.equal(cache(f, m.idevId), 'default default default default');
  assert.deepEqual(invalidate(f, viommu, []), { errno: 0, done: 0 });
  assert.deepEqual(invalidate(f, viommu, [], T.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID), { errno: E.EINVAL, done: 0 });
  assert.deepEqual(invalidate(f, viommu, [[0, 0x99, 4]]), { errno: E.EINVAL, done: 0 });
  assert.deepEqual(invalidate(f, viommu, [[0, 0x9, 0]]), { errno: E.EINVAL, done: 0 });
  assert.deepEqual(invalidate(f, viommu, [[0, 0x99, 0], [0xffffffff, 0x99, 1]]), { errno: E.EOPNOTSUPP, done: 1 });
  assert.equal(cache(f, m.idevId), '0 default default default');
  assert.deepEqual(invalidate(f, viommu, [[1, 0x77, 9]]), { errno: E.EINVAL, done: 0 }, 'cache_id is checked even with FLAG_ALL');
  assert.deepEqual(invalidate(f, viommu, [[1, 0x77, 3]]), { errno: 0, done: 1 });
  assert.equal(cache(f, m2.idevId), '0 0 0 0');
  assert.equal(cache(f, m.idevId), '0 default default default');
  assert.deepEqual(invalidate(f, ioas, []), { errno: E.EINVAL, done: 0 });
  assert.deepEqual(invalidate(f, 999, []), { errno: E.ENOENT, done: 0 });
});

test('unplugging a device destroys its vDEVICE and leaves the ID as a tombstone until close', () => {
  const { f, ioas, m, viommu } = setup();
  const m2 = f.mockDomain(ioas);
  const vd = vdevAlloc(f, viommu, m2.idevId, 0x77n);
  f.destroy(m2.stdevId);
  assert.equal(errnoOf(() => f.destroy(vd)), E.ENOENT);
  assert.equal(f.object(vd), undefined);
  const ids = [f.ioasAlloc(), f.ioasAlloc(), f.ioasAlloc()];
  assert.ok(!ids.includes(vd), 'the number is not handed out again');
  assert.deepEqual(invalidate(f, viommu, [[0, 0x77, 0]]), { errno: E.EINVAL, done: 0 }, 'the virtual ID is free');
  vdevAlloc(f, viommu, m.idevId, 0x77n);
  assert.deepEqual(f.ctx.release(), [], 'close frees everything, tombstones included');
});

test('HW queues: index rules, the pinned IOVA cannot be unmapped, queue 1 depends on 0, contiguity', () => {
  const { f, ioas, viommu } = setup();
  const hwq = (index: number, iova: bigint, length: bigint) =>
    f.call(U.IOMMU_HW_QUEUE_ALLOC, U.IommuHwQueueAlloc, { viommu_id: viommu, type: T.IOMMU_HW_QUEUE_TYPE_SELFTEST, index, nesting_parent_iova: iova, length }).out_hw_queue_id;
  assert.equal(errnoOf(() => hwq(0, 1n << 24n, PG)), E.ENOENT, 'nothing mapped');
  assert.equal(errnoOf(() => hwq(0, 0xfffn, (1n << 64n) - 1n - 0xffen)), E.ERANGE);
  assert.equal(errnoOf(() => hwq(0, 0n, 1n << 40n)), E.ENOMEM);
  const buf = f.proc.mmap(4n * PG);
  const iova = f.map({ ioasId: ioas, userVa: buf, length: PG });
  const iova2 = f.map({ ioasId: ioas, userVa: buf + PG, length: PG });
  assert.equal(errnoOf(() => hwq(1, iova, PG)), E.EIO);
  assert.equal(errnoOf(() => hwq(2, iova, PG)), E.EINVAL);
  const before = [...f.ctx.objects.objects()].length;
  const q0 = hwq(0, iova, PG);
  assert.equal([...f.ctx.objects.objects()].length, before + 2, 'the queue and its internal access');
  assert.equal(errnoOf(() => hwq(0, iova2, PG)), E.EEXIST);
  assert.equal([...f.ctx.objects.objects()].length, before + 2, 'the failed one left nothing');
  assert.equal(errnoOf(() => f.unmap(ioas, iova, PG)), E.EBUSY);
  f.unmap(ioas, iova2, PG);
  const q1 = hwq(1, iova + PG / 2n, PG / 2n);
  assert.equal(errnoOf(() => f.destroy(q0)), E.EBUSY);
  assert.equal(errnoOf(() => f.destroy(viommu)), E.EBUSY);
  assert.equal(errnoOf(() => f.destroy(ioas)), E.EBUSY);
  f.destroy(q1);
  assert.equal(errnoOf(() => f.unmap(ioas, iova, PG)), E.EBUSY, 'queue 0 still pins it');
  f.destroy(q0);
  f.unmap(ioas, iova, PG);
  assert.equal(f.proc.mm.pins.covered, 0);
  // Two IOVA pages over one physical page are not contiguous; two pages of one buffer are.
  f.map({ ioasId: ioas, userVa: buf, length: PG, iova: 1n << 24n });
  f.map({ ioasId: ioas, userVa: buf, length: PG, iova: (1n << 24n) + PG });
  assert.equal(errnoOf(() => hwq(0, 1n << 24n, 2n * PG)), E.EFAULT);
  f.unmap(ioas, 1n << 24n, 2n * PG);
  f.map({ ioasId: ioas, userVa: buf, length: 2n * PG, iova: 1n << 24n });
  const q = hwq(0, 1n << 24n, 2n * PG);
  assert.deepEqual(f.ctx.release(), [], 'close frees the queue, its access and the rest');
  void q;
});

test('closing the file with vIOMMUs, vDEVICEs, queues and an open vEVENTQ fd frees everything once the fd closes', () => {
  const { f, ioas, m, viommu } = setup();
  const nested = nestedAlloc(f, m.idevId, viommu);
  vdevAlloc(f, viommu, m.idevId, 0x99n);
  f.mockDomainReplace(m.stdevId, nested);
  const q = veventqAlloc(f, viommu, 8);
  const buf = f.proc.mmap(PG);
  const iova = f.map({ ioasId: ioas, userVa: buf, length: PG });
  f.call(U.IOMMU_HW_QUEUE_ALLOC, U.IommuHwQueueAlloc, { viommu_id: viommu, type: T.IOMMU_HW_QUEUE_TYPE_SELFTEST, index: 0, nesting_parent_iova: iova, length: PG });
  trigger(f, m.idevId);
  f.close();
  assert.ok([...f.ctx.objects.objects()].length > 0, 'the vEVENTQ fd holds the context');
  f.proc.closeFd(q.fd);
  assert.equal([...f.ctx.objects.objects()].length, 0);
  assert.equal(f.proc.mm.pins.covered, 0);
});

/** fail-nth over failslab and fail_iommufd: every injected failure unwinds. */
class FailNth implements FaultInjector {
  fired = false;
  constructor(private n: number) {}
  shouldFail(): boolean {
    if (this.n <= 0) return false;
    if (--this.n === 0) { this.fired = true; return true; }
    return false;
  }
}

test('a fail-nth sweep over the vIOMMU ioctls: each injected failure unwinds, close frees everything', () => {
  const seen = new Set<string>();
  for (let nth = 1; nth < 400; nth++) {
    const inj = new FailNth(nth);
    const proc = new SimProcess({ uid: 0 });
    (proc.task as { faultInjector?: FaultInjector }).faultInjector = inj;
    const f = new IommufdFile(proc, new Engine());
    const buf = proc.mmap(PG);
    let out = 'ok';
    try {
      const ioas = f.ioasAlloc();
      const m = f.mockDomain(ioas);
      const parent = f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: NEST_PARENT });
      const v = viommuAlloc(f, m.idevId, parent, new Uint8Array(24));
      const nested = nestedAlloc(f, m.idevId, v);
      const vd = vdevAlloc(f, v, m.idevId, 0x9n);
      f.mockDomainReplace(m.stdevId, nested);
      const q = veventqAlloc(f, v, 2);
      trigger(f, m.idevId);
      const iova = f.map({ ioasId: ioas, userVa: buf, length: PG });
      f.call(U.IOMMU_HW_QUEUE_ALLOC, U.IommuHwQueueAlloc, { viommu_id: v, type: T.IOMMU_HW_QUEUE_TYPE_SELFTEST, index: 0, nesting_parent_iova: iova, length: PG });
      invalidate(f, v, [[1, 0x9, 0]]);
      f.destroy(m.stdevId);
      assert.equal(errnoOf(() => f.destroy(vd)), E.ENOENT);
      proc.closeFd(q.fd);
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      out = errnoName(e.code);
      seen.add(out);
    }
    for (const fd of [...proc.files.keys()]) if (proc.files.get(fd) !== f.ctx) proc.closeFd(fd);
    f.close();
    assert.equal([...f.ctx.objects.objects()].length, 0, `nth=${nth} (${out}): objects left after close`);
    assert.equal(proc.mm.pins.covered, 0, `nth=${nth}: pins left`);
    if (!inj.fired) {
      assert.ok(nth > 30, `the sweep reached only ${nth} points`);
      assert.deepEqual([...seen].sort(), ["EFAULT", "EINVAL", "ENOENT", "ENOMEM"]);
      return;
    }
  }
  assert.fail('the sweep did not end');
});
