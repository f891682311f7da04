// Fault queues: IOMMU_FAULT_QUEUE_ALLOC's fd, a HWPT that reports to it, and
// the read/write protocol of struct iommu_hwpt_pgfault / page_response.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, errno as E, uapi as U, testAbi as T } from '../src/lib/index.js';
import type { FaultFile } from '../src/core/eventq.js';
import { errnoOf } from './lib/errno-of.js';


test('a fault queue gets the page requests of devices on its HWPT; read, respond, close', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const m = f.mockDomain(ioas);
  const r = f.call(U.IOMMU_FAULT_QUEUE_ALLOC, U.IommuFaultAlloc, {});
  const file = f.proc.files.get(r.out_fault_fd) as FaultFile;
  assert.ok(file, 'an fd was installed');
  assert.equal(errnoOf(() => f.destroy(r.out_fault_id)), E.EBUSY, 'the open fd holds the FAULT object');
  const h = f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: 4 /* FAULT_ID_VALID */, faultId: r.out_fault_id });
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: 4, faultId: 99 })), E.ENOENT);
  f.mockDomainReplace(m.stdevId, h);
  let woken = 0;
  file.onReadable = () => { woken++; };
  assert.equal(file.poll() & 1, 0);
  f.testCmd(T.IOMMU_TEST_OP_TRIGGER_IOPF, 0, T.IommuTestCmdTriggerIopf, { dev_id: m.idevId, pasid: 0, grpid: 7, perm: 1, addr: 0x1234000n });
  assert.equal(woken, 1);
  assert.equal(file.poll() & 1, 1);
  const task = f.proc.task;
  const buf = f.proc.mmap(4096);
  assert.equal(errnoOf(() => file.read(task, buf, 39, 0n)), E.ESPIPE);
  assert.equal(errnoOf(() => file.read(task, buf, 40, 8n)), E.ESPIPE);
  assert.equal(file.read(task, buf, 80, 0n), 40);
  const rec = U.IommuHwptPgfault.decode(f.proc.mm.read(buf, 40));
  assert.deepEqual({ flags: rec.flags, dev_id: rec.dev_id, grpid: rec.grpid, perm: rec.perm, addr: rec.addr, cookie: rec.cookie }, { flags: 2, dev_id: m.idevId, grpid: 7, perm: 1, addr: 0x1234000n, cookie: 1 });
  // a response with a bad code, then an unknown cookie, then the right one
  f.proc.mm.write(buf, U.IommuHwptPageResponse.encode({ cookie: 1, code: 5 }));
  assert.equal(errnoOf(() => file.write(task, buf, 8, 0n)), E.EINVAL);
  f.proc.mm.write(buf, U.IommuHwptPageResponse.encode({ cookie: 9, code: 0 }));
  assert.equal(errnoOf(() => file.write(task, buf, 8, 0n)), E.EINVAL);
  f.proc.mm.write(buf, U.IommuHwptPageResponse.encode({ cookie: 1, code: 0 }));
  assert.equal(file.write(task, buf, 8, 0n), 8);
  assert.equal(file.fault.responded.at(-1)!.code, 0);
  // pending faults of a device that leaves the HWPT are answered INVALID
  f.testCmd(T.IOMMU_TEST_OP_TRIGGER_IOPF, 0, T.IommuTestCmdTriggerIopf, { dev_id: m.idevId, grpid: 8 });
  f.mockDomainReplace(m.stdevId, ioas);
  assert.equal(file.fault.deliver.length, 0);
  assert.equal(file.fault.responded.at(-1)!.code, 1);
  // closing the fd lets the FAULT go once no HWPT uses it
  f.proc.closeFd(r.out_fault_fd);
  assert.equal(errnoOf(() => f.destroy(r.out_fault_id)), E.EBUSY, 'the HWPT still uses it');
  f.destroy(h);
  f.destroy(r.out_fault_id);
});
