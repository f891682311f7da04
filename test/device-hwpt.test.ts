// Devices, groups and HWPTs on the mock driver, through the test ABI: the
// kernel's attach rules, automatic domains, refcounts and the mock's checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errno as E, uapi as U, testAbi as T } from '../src/lib/index.js';
import type { HwptPaging } from '../src/core/hw-pagetable.js';
import { errnoOf } from './lib/errno-of.js';
import { setup } from './lib/ioas-setup.js';

const MiB = 1n << 20n;
const PAGE = 4096n;



test('MOCK_DOMAIN on an IOAS: IDs in the order selftest, device, HWPT; aperture and 2 KiB alignment', () => {
  const { f, ioas } = setup();
  const m = f.mockDomain(ioas);
  assert.deepEqual(m, { stdevId: 2, idevId: 3, hwptId: 4 });
  assert.deepEqual(f.iovaRanges(ioas), { ranges: [{ start: 1n << 24n, last: (1n << 31n) - 1n }], alignment: 0x800n });
  // a second mock device reuses the automatic HWPT
  const m2 = f.mockDomain(ioas);
  assert.equal(m2.hwptId, 4);
  assert.equal(f.object(4)!.users, 3, 'table + two devices');
});

test('an attach that would reserve over a mapping fails (EADDRINUSE) and leaves nothing behind', () => {
  const { f, ioas, buf } = setup();
  f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: PAGE });
  assert.equal(errnoOf(() => f.mockDomain(ioas)), E.EADDRINUSE);
  assert.deepEqual([...f.ctx.objects.objects()].map((o) => o.type), ['IOAS']);
  assert.equal(f.proc.mm.pins.covered, 0);
  assert.equal(f.ioas(ioas).iopt.reservedRanges().length, 0);
  assert.equal(f.ctx.groups.size, 0);
});

test('an attached domain pins and maps; MD_CHECK_MAP and MD_CHECK_REFS see it', () => {
  const { f, ioas, buf } = setup();
  const m = f.mockDomain(ioas);
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 1n << 24n });
  f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_MAP, m.hwptId, T.IommuTestCmdCheckMap, { iova: 1n << 24n, length: MiB, uptr: buf });
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_MAP, m.hwptId, T.IommuTestCmdCheckMap, { iova: 1n << 24n, length: MiB, uptr: buf + PAGE })), E.EINVAL);
  f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_REFS, 0, T.IommuTestCmdCheckRefs, { length: MiB, uptr: buf, refs: 1 });
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_REFS, 0, T.IommuTestCmdCheckRefs, { length: MiB, uptr: buf, refs: 2 })), E.EIO);
  // MD_CHECK_MAP on something that is not a mock paging HWPT
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_MAP, ioas, T.IommuTestCmdCheckMap, { iova: 1n << 24n, length: MiB, uptr: buf })), E.ENOENT);
});

test('DESTROY: a device is EBUSY, an attached HWPT EBUSY, the IOAS EBUSY; unplugging the mock device frees the automatic HWPT', () => {
  const { f, ioas, buf } = setup();
  const m = f.mockDomain(ioas);
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 1n << 24n });
  assert.equal(errnoOf(() => f.destroy(m.idevId)), E.EBUSY);
  assert.equal(errnoOf(() => f.destroy(m.hwptId)), E.EBUSY);
  assert.equal(errnoOf(() => f.destroy(ioas)), E.EBUSY);
  f.destroy(m.stdevId);
  assert.equal(f.object(m.hwptId), undefined, 'the automatic HWPT went with its last device');
  assert.equal(f.object(m.idevId), undefined);
  assert.equal(f.proc.mm.pins.covered, 0, 'no domain, nothing pinned');
  assert.deepEqual(f.iovaRanges(ioas).ranges, [{ start: 0n, last: (1n << 64n) - 1n }]);
  f.destroy(ioas);
  assert.equal(f.ctx.objects.empty, true);
});

test('HWPT_ALLOC: manual HWPTs are never chosen by automatic attach; errno order of the checks', () => {
  const { f, ioas } = setup();
  const m = f.mockDomain(ioas);
  const manual = f.hwptAlloc({ devId: m.idevId, ptId: ioas });
  assert.equal((f.object(manual) as HwptPaging).autoDomain, false);
  const m2 = f.mockDomain(ioas);
  assert.equal(m2.hwptId, m.hwptId, 'the automatic one, not the manual one');
  // bad dev_id first (ENOENT), then a bad pt_id (EINVAL), flags (EOPNOTSUPP)
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: 99, ptId: ioas, flags: 0x10 })), E.ENOENT);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: m.idevId, ptId: 99 })), E.EINVAL);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: 0x10 })), E.EOPNOTSUPP);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: m.idevId, ptId: m.idevId })), E.EINVAL);
  // an unattached manual HWPT is destroyable; the IOAS is busy while it exists
  assert.equal(f.object(ioas)!.users, 3, 'two HWPTs hold the IOAS');
  f.destroy(manual);
  assert.equal(f.object(ioas)!.users, 2);
});

test('dirty tracking: NO_DIRTY devices cannot have it; DIRTY marks, GET_DIRTY_BITMAP reports and clears', () => {
  const { f, ioas, buf } = setup();
  const nd = f.mockDomain(ioas, T.MOCK_FLAGS_DEVICE_NO_DIRTY);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: nd.idevId, ptId: ioas, flags: 2 })), E.EOPNOTSUPP);
  const m = f.mockDomain(ioas);
  const h = f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: 2 });
  // a NO_DIRTY device cannot join a dirty-tracking domain
  assert.equal(errnoOf(() => f.mockDomainReplace(nd.stdevId, h)), E.EINVAL);
  assert.equal(f.mockDomainReplace(m.stdevId, h), h);
  f.map({ ioasId: ioas, userVa: buf, length: 8n * PAGE, iova: 1n << 24n });
  const bits = f.proc.mmap(PAGE);
  f.proc.mm.write(bits, new Uint8Array([0b101]));
  // tracking off: the DIRTY op refuses
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_DIRTY, h, T.IommuTestCmdDirty, { iova: 1n << 24n, length: 8n * PAGE, page_size: PAGE, uptr: bits })), E.EINVAL);
  f.call(U.IOMMU_HWPT_SET_DIRTY_TRACKING, U.IommuHwptSetDirtyTracking, { flags: 1, hwpt_id: h });
  const d = f.testCmd(T.IOMMU_TEST_OP_DIRTY, h, T.IommuTestCmdDirty, { iova: 1n << 24n, length: 8n * PAGE, page_size: PAGE, uptr: bits });
  assert.equal(d.out_nr_dirty, 2n);
  const out = f.proc.mmap(PAGE);
  const get = (flags: number) => f.call(U.IOMMU_HWPT_GET_DIRTY_BITMAP, U.IommuHwptGetDirtyBitmap, { hwpt_id: h, flags, iova: 1n << 24n, length: 8n * PAGE, page_size: PAGE, data: out });
  get(1); // NO_CLEAR
  assert.equal(f.proc.mm.read(out, 1)[0], 0b101);
  f.proc.mm.write(out, new Uint8Array(8));
  get(0);
  assert.equal(f.proc.mm.read(out, 1)[0], 0b101);
  f.proc.mm.write(out, new Uint8Array(8));
  get(0);
  assert.equal(f.proc.mm.read(out, 1)[0], 0, 'cleared by the previous read');
  assert.equal(errnoOf(() => f.call(U.IOMMU_HWPT_GET_DIRTY_BITMAP, U.IommuHwptGetDirtyBitmap, { hwpt_id: h, iova: 1n << 24n, length: 8n * PAGE, page_size: 0n, data: out })), E.EINVAL);
});

test('nested HWPTs need a NEST_PARENT manual parent; invalidation zeroes IOTLB entries and reports entries done', () => {
  const { f, ioas } = setup();
  const m = f.mockDomain(ioas);
  const data = new Uint8Array(8);
  new DataView(data.buffer).setUint32(0, 0xbadbeef, true);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: m.idevId, ptId: m.hwptId, dataType: 0xdead, data })), E.EINVAL, 'automatic parent');
  const plain = f.hwptAlloc({ devId: m.idevId, ptId: ioas });
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: m.idevId, ptId: plain, dataType: 0xdead, data })), E.EINVAL, 'not NEST_PARENT');
  const parent = f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: 1 });
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: m.idevId, ptId: parent })), E.EOPNOTSUPP, 'no data');
  const nested = f.hwptAlloc({ devId: m.idevId, ptId: parent, dataType: 0xdead, data });
  assert.equal(errnoOf(() => f.destroy(parent)), E.EBUSY);
  for (let i = 0; i < 4; i++) f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_IOTLB, nested, T.IommuTestCmdCheckIotlb, { id: i, iotlb: 0xbadbeef });
  const arr = f.proc.mmap(PAGE);
  const e = new Uint8Array(16); const dv = new DataView(e.buffer);
  dv.setUint32(4, 1, true); // entry 0: iotlb 1
  dv.setUint32(12, 9, true); // entry 1: iotlb 9 → EINVAL
  f.proc.mm.write(arr, e);
  const r = f.ioctlRaw(U.IOMMU_HWPT_INVALIDATE, U.IommuHwptInvalidate.encode({ size: 32, hwpt_id: nested, data_uptr: arr, data_type: 0xdeadbeef, entry_len: 8, entry_num: 2 }));
  assert.equal(r.errno, E.EINVAL);
  assert.equal(U.IommuHwptInvalidate.decode(r.out).entry_num, 1, 'entry_num is written back on error');
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_IOTLB, nested, T.IommuTestCmdCheckIotlb, { id: 1, iotlb: 0xbadbeef })), E.EINVAL);
  f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_IOTLB, nested, T.IommuTestCmdCheckIotlb, { id: 1, iotlb: 0 });
  f.destroy(nested);
  f.destroy(parent);
});

test('GET_HW_INFO of a mock device: type, data, capabilities; a short buffer and zero fill', () => {
  const { f, ioas } = setup();
  const m = f.mockDomain(ioas);
  const nd = f.mockDomain(ioas, T.MOCK_FLAGS_DEVICE_NO_DIRTY);
  const buf = f.proc.mmap(PAGE);
  f.proc.mm.write(buf, new Uint8Array(16).fill(0xff));
  const r = f.call(U.IOMMU_GET_HW_INFO, U.IommuHwInfo, { dev_id: m.idevId, data_len: 16, data_uptr: buf });
  assert.equal(r.out_data_type, 0xfeedbeef);
  assert.equal(r.data_len, 8);
  assert.equal(r.out_capabilities, 0x9n);
  assert.deepEqual([...f.proc.mm.read(buf, 16)], [0, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(f.call(U.IOMMU_GET_HW_INFO, U.IommuHwInfo, { dev_id: nd.idevId }).out_capabilities, 0x8n);
  assert.equal(errnoOf(() => f.call(U.IOMMU_GET_HW_INFO, U.IommuHwInfo, { dev_id: m.idevId, flags: 1, in_data_type: 1 })), E.EOPNOTSUPP);
});

test('close unplugs every mock device and drops every pin (the kernel\'s release order)', () => {
  const { f, ioas, buf } = setup();
  f.mockDomain(ioas);
  f.mockDomain(f.ioasAlloc());
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 1n << 24n });
  assert.equal(f.proc.mm.pins.covered, 256);
  const left = f.ctx.release();
  assert.deepEqual(left, []);
  assert.equal(f.ctx.objects.empty, true);
  assert.equal(f.proc.mm.pins.covered, 0);
  assert.equal(f.ctx.groups.size, 0);
});
