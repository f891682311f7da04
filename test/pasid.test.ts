// PASID attachments on the mock driver: the test ops PASID_ATTACH / REPLACE /
// DETACH / CHECK_HWPT, the compat rules of iommufd_hwpt_pasid_compat, the
// iommu core's range and EBUSY rules, the mock's PASID-1024 fake error, and
// TRIGGER_IOPF routing (find_fault_handler).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, errno as E, uapi as U, testAbi as T, type IommufdFile } from '../src/lib/index.js';
import type { FaultFile } from '../src/core/eventq.js';
import { getDevice } from '../src/core/device.js';
import { MockDevice } from '../src/hw/mock-iommu.js';
import { errnoOf } from './lib/errno-of.js';

const ALLOC_NEST_PARENT = 1, FAULT_ID_VALID = 4, ALLOC_PASID = 8;
const IOMMU_HWPT_DATA_SELFTEST = 0xdead;
const selftestData = () => new Uint8Array(8);

const attach = (f: IommufdFile, stdev: number, pasid: number, pt: number) =>
  f.testCmd(T.IOMMU_TEST_OP_PASID_ATTACH, stdev, T.IommuTestCmdPasidAttach, { pasid, pt_id: pt }).pt_id;
const replace = (f: IommufdFile, stdev: number, pasid: number, pt: number) =>
  f.testCmd(T.IOMMU_TEST_OP_PASID_REPLACE, stdev, T.IommuTestCmdPasidReplace, { pasid, pt_id: pt }).pt_id;
const detach = (f: IommufdFile, stdev: number, pasid: number) =>
  f.testCmd(T.IOMMU_TEST_OP_PASID_DETACH, stdev, T.IommuTestCmdPasidDetach, { pasid });
const check = (f: IommufdFile, stdev: number, pasid: number, hwpt: number) =>
  errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev, T.IommuTestCmdPasidCheck, { pasid, hwpt_id: hwpt }));

function mockDev(f: IommufdFile, idevId: number): MockDevice {
  const idev = getDevice(f.ctx, idevId);
  f.ctx.objects.put(idev);
  return idev.dev as MockDevice;
}

function setup(devFlags = T.MOCK_FLAGS_DEVICE_PASID) {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const m = f.mockDomain(ioas, devFlags);
  const s2 = f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: ALLOC_PASID });
  const plain = f.hwptAlloc({ devId: m.idevId, ptId: ioas });
  return { f, ioas, m, s2, plain };
}

test('PASID attach: the compat rules, EBUSY, detach, and the check op', () => {
  const { f, ioas, m, s2, plain } = setup();
  detach(f, m.stdevId, 100); // nothing attached: still 0
  assert.equal(errnoOf(() => attach(f, m.stdevId, 100, s2)), E.EINVAL, 'the device is on its automatic (non-PASID) HWPT');
  f.mockDomainReplace(m.stdevId, s2);
  assert.equal(errnoOf(() => attach(f, m.stdevId, 100, plain)), E.EINVAL, 'a HWPT without ALLOC_PASID');
  assert.equal(errnoOf(() => attach(f, m.stdevId, 100, ioas)), E.EINVAL, 'an IOAS: automatic HWPTs are not PASID-capable');
  assert.equal(check(f, m.stdevId, 100, 0), 0);
  assert.equal(attach(f, m.stdevId, 100, s2), s2);
  assert.equal(check(f, m.stdevId, 100, s2), 0);
  assert.equal(check(f, m.stdevId, 100, 0), E.EINVAL, 'attached');
  assert.equal(check(f, m.stdevId, 100, plain), E.EINVAL);
  assert.equal(check(f, m.stdevId, 100, ioas), E.EINVAL, 'not a HWPT');
  assert.equal(check(f, m.stdevId, 0, s2), 0, 'PASID 0 is the device itself');
  assert.equal(errnoOf(() => attach(f, m.stdevId, 100, s2)), E.EBUSY, 'attach does not overwrite');
  assert.equal(errnoOf(() => f.mockDomainReplace(m.stdevId, plain)), E.EINVAL, 'with a PASID attached the device needs a PASID-capable HWPT');
  assert.equal(errnoOf(() => f.destroy(s2)), E.EBUSY);
  assert.equal(errnoOf(() => attach(f, m.stdevId, 1 << 20, s2)), E.EINVAL, 'past the 20-bit PASID space');
  assert.equal(attach(f, m.stdevId, (1 << 20) - 1, s2), s2);
  detach(f, m.stdevId, (1 << 20) - 1);
  detach(f, m.stdevId, 100);
  assert.equal(check(f, m.stdevId, 100, 0), 0);
  f.mockDomainReplace(m.stdevId, plain);
  f.mockDomainReplace(m.stdevId, ioas);
  f.destroy(s2);
  f.destroy(plain);
});

test('PASID replace: not attached EINVAL, an IOAS EINVAL (old domain kept), nested HWPTs, the PASID-1024 fake error', () => {
  const { f, ioas, m, s2 } = setup();
  f.mockDomainReplace(m.stdevId, s2);
  const parent = f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: ALLOC_NEST_PARENT });
  const n0 = f.hwptAlloc({ devId: m.idevId, ptId: parent, flags: ALLOC_PASID, dataType: IOMMU_HWPT_DATA_SELFTEST, data: selftestData() });
  const n1 = f.hwptAlloc({ devId: m.idevId, ptId: parent, flags: ALLOC_PASID, dataType: IOMMU_HWPT_DATA_SELFTEST, data: selftestData() });
  assert.equal(errnoOf(() => replace(f, m.stdevId, 200, s2)), E.EINVAL, 'not attached');
  attach(f, m.stdevId, 200, s2);
  assert.equal(errnoOf(() => replace(f, m.stdevId, 200, ioas)), E.EINVAL);
  assert.equal(check(f, m.stdevId, 200, s2), 0);
  assert.equal(replace(f, m.stdevId, 200, n0), n0);
  assert.equal(check(f, m.stdevId, 200, n0), 0);
  assert.equal(replace(f, m.stdevId, 200, n1), n1);
  assert.equal(check(f, m.stdevId, 200, n1), 0);
  assert.equal(errnoOf(() => f.destroy(n1)), E.EBUSY);
  f.destroy(n0);
  detach(f, m.stdevId, 200);
  // PASID 1024: the first set_dev_pasid arms the fault, the replace fails with ENOMEM and keeps s2
  attach(f, m.stdevId, 1024, s2);
  assert.equal(errnoOf(() => replace(f, m.stdevId, 1024, n1)), E.ENOMEM);
  assert.equal(check(f, m.stdevId, 1024, s2), 0);
  assert.equal(replace(f, m.stdevId, 1024, n1), n1, 'the fake error is one-shot');
  detach(f, m.stdevId, 1024);
  // a detach (blocked domain) disarms it
  attach(f, m.stdevId, 1024, s2);
  detach(f, m.stdevId, 1024);
  attach(f, m.stdevId, 1024, s2);
  assert.equal(errnoOf(() => replace(f, m.stdevId, 1024, n1)), E.ENOMEM);
  detach(f, m.stdevId, 1024);
  f.destroy(n1);
  f.mockDomainReplace(m.stdevId, ioas);
  f.destroy(parent);
  f.destroy(s2);
});

test('a device without PASIDs: PASID-capable HWPTs serve its RID, but no PASID attaches (max_pasids 1)', () => {
  const { f, ioas, m, s2 } = setup(0);
  f.mockDomainReplace(m.stdevId, s2);
  assert.equal(errnoOf(() => attach(f, m.stdevId, 100, s2)), E.EINVAL);
  assert.equal(check(f, m.stdevId, 100, 0), 0);
  f.mockDomainReplace(m.stdevId, ioas);
  f.destroy(s2);
});

test('the fault of a PASID goes to its own HWPT, else (user_pasid_table) to the device\'s nested HWPT', () => {
  const { f, ioas, m, s2 } = setup();
  const r = f.call(U.IOMMU_FAULT_QUEUE_ALLOC, U.IommuFaultAlloc, {});
  const file = f.proc.files.get(r.out_fault_fd) as FaultFile;
  const parent = f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: ALLOC_NEST_PARENT });
  const iopf = f.hwptAlloc({ devId: m.idevId, ptId: parent, flags: FAULT_ID_VALID | ALLOC_PASID, faultId: r.out_fault_id, dataType: IOMMU_HWPT_DATA_SELFTEST, data: selftestData() });
  const trigger = (pasid: number) => f.testCmd(T.IOMMU_TEST_OP_TRIGGER_IOPF, 0, T.IommuTestCmdTriggerIopf, { dev_id: m.idevId, pasid, grpid: 2, perm: 3, addr: 0xdeadbeafn });
  // The device on s2 (no fault queue): a PASID fault without an attachment is dropped.
  f.mockDomainReplace(m.stdevId, s2);
  trigger(7);
  assert.equal(file.fault.deliver.length, 0);
  // PASID 2048 on the iopf HWPT: its faults are queued, with PASID_VALID.
  attach(f, m.stdevId, 2048, iopf);
  trigger(2048);
  assert.equal(file.fault.deliver.length, 1);
  assert.deepEqual(file.fault.deliver[0]!.faults[0], { flags: 3, pasid: 2048, grpid: 2, perm: 3, addr: 0xdeadbeafn });
  trigger(7);
  assert.equal(file.fault.deliver.length, 1, 'PASID 7 has no attachment and the device is not on a nested HWPT');
  trigger(0);
  assert.equal(file.fault.deliver.length, 1, 'the device\'s own HWPT has no queue');
  // Replacing PASID 2048 answers its pending fault INVALID.
  replace(f, m.stdevId, 2048, s2);
  assert.equal(file.fault.deliver.length, 0);
  assert.equal(file.fault.responded.at(-1)!.code, 1);
  trigger(2048);
  assert.equal(file.fault.deliver.length, 0, 'now on s2: no queue');
  detach(f, m.stdevId, 2048);
  // The device itself on the nested iopf HWPT: a fault of any unattached PASID goes there.
  f.mockDomainReplace(m.stdevId, iopf);
  trigger(1);
  assert.equal(file.fault.deliver.length, 1);
  assert.equal(file.fault.deliver[0]!.faults[0]!.pasid, 1);
  // a PASID with its own attachment (no queue) keeps its fault: dropped
  attach(f, m.stdevId, 300, s2);
  trigger(300);
  assert.equal(file.fault.deliver.length, 1);
  detach(f, m.stdevId, 300);
  f.mockDomainReplace(m.stdevId, ioas);
  assert.equal(file.fault.deliver.length, 0, 'leaving the HWPT answered it');
  f.proc.closeFd(r.out_fault_fd);
  f.destroy(iopf);
  f.destroy(parent);
  f.destroy(s2);
  f.destroy(r.out_fault_id);
});

test('destroying the SELFTEST device (and closing the file) detaches every PASID', () => {
  const { f, ioas, m, s2 } = setup();
  f.mockDomainReplace(m.stdevId, s2);
  attach(f, m.stdevId, 5, s2);
  attach(f, m.stdevId, 6, s2);
  const dev = mockDev(f, m.idevId);
  assert.equal(dev.group.pasidArray?.size, 2);
  f.destroy(m.stdevId);
  assert.equal(dev.group.pasidArray?.size, 0);
  f.destroy(s2);
  // and on close, with a PASID left attached
  const m2 = f.mockDomain(ioas, T.MOCK_FLAGS_DEVICE_PASID);
  const s2b = f.hwptAlloc({ devId: m2.idevId, ptId: ioas, flags: ALLOC_PASID });
  f.mockDomainReplace(m2.stdevId, s2b);
  attach(f, m2.stdevId, 9, s2b);
  const dev2 = mockDev(f, m2.idevId);
  f.close();
  assert.equal(dev2.group.pasidArray?.size, 0);
  assert.equal(f.ctx.objects.peek(s2b), undefined, 'everything was freed');
});
