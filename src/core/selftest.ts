// IOMMU_TEST_CMD (drivers/iommu/iommufd/selftest.c): the kernel's test ABI on
// the mock driver. Mock devices come and go with SELFTEST objects; the check
// ops answer questions about page tables and pins.
import { Errno, EFAULT, EINVAL, EIO, EOPNOTSUPP, EOVERFLOW, ENOENT, ENOTTY, EBADFD, EBADE, ENOMEM } from '../uapi/errno.js';
import type { EmulatedFile } from './file.js';
import type { Task } from './task.js';
import { accessAttach, accessCreate, accessDestroy, accessPinPages, accessReplace, accessRw, accessUnpinPages, IOMMUFD_ACCESS_RW_SLOW_PATH, IOMMUFD_ACCESS_RW_WRITE, type IommufdAccess } from './access.js';
import * as T from '../uapi/iommufd-test.js';
import { IommufdObject } from './object-table.js';
import type { IommufdCtx } from './iommufd.js';
import type { Ucmd } from './ucmd.js';
import type { IommufdIoas } from './ioas.js';
import { deviceAttach, deviceBind, deviceDetach, deviceReplace, deviceUnbind, getDevice, type IommufdDevice } from './device.js';
import { testPasidAttach, testPasidCheckHwpt, testPasidDetach, testPasidReplace, testTriggerIopf } from './pasid.js';
import { testDmabufGet, testDmabufRevoke } from './dmabuf.js';
import { getHwptPaging, type HwptNested } from './hw-pagetable.js';
import { MockDevice, MockNestedDomain, MockPagingDomain } from '../hw/mock-iommu.js';
import { PAGE_SIZE_N, PAGE_SHIFT, pfnOf } from '../hw/memory.js';
import { ULONG_MAX, type IoPagetable } from './io-pagetable.js';
import type { Decoded, Fields, StructDef } from '../uapi/struct.js';
import { anonInodeGetfile, kvzalloc, slabAlloc, slabShouldFail } from './faults.js';

/** A SELFTEST object: a mock device, bound and attached, that DESTROY unplugs. */
export class SelftestObj extends IommufdObject {
  readonly type = 'SELFTEST' as const;
  idev: IommufdDevice | undefined;
  constructor(readonly ctx: IommufdCtx, readonly mockDev: MockDevice) { super(); }
  destroy(): void {
    if (!this.idev) return;
    deviceDetach(this.idev);
    deviceUnbind(this.idev);
    this.idev = undefined;
    // mock_dev_destroy → device_unregister: the driver core allocates four
    // times on the way out (uevent environment and path, the group's
    // release), each failure ignored. Counted as measured on Linux 7.2
    // (fail_sweep's DESTROY stdev); they only move fail-nth.
    for (let i = 0; i < 4; i++) slabShouldFail();
  }
}

type TestCmd = Ucmd<typeof T.IommuTestCmd.fields>;

function payload<F extends Fields>(u: TestCmd, view: StructDef<F>): Decoded<F> {
  return view.decode(u.raw);
}

function respondPayload<F extends Fields>(u: TestCmd, view: StructDef<F>, p: Decoded<F>): void {
  view.encodeInto(p, u.raw);
  u.respond();
}

/** get_md_pagetable: a HWPT_PAGING whose domain is a mock paging domain (EINVAL otherwise). */
function withMockPaging<R>(u: TestCmd, id: number, fn: (d: MockPagingDomain) => R): R {
  const h = getHwptPaging(u.ctx, id);
  try {
    if (!(h.domain instanceof MockPagingDomain)) throw new Errno(EINVAL, 'not a mock paging domain');
    return fn(h.domain);
  } finally {
    u.ctx.objects.put(h);
  }
}

function mockDomain(u: TestCmd): number {
  const c = u.cmd;
  const t = u.ctx.objects;
  const flags = c.op === T.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS ? payload(u, T.IommuTestCmdMockDomainFlags).dev_flags : 0;
  const sobj = t.alloc(new SelftestObj(u.ctx, undefined as unknown as MockDevice));
  let mdev: MockDevice;
  try {
    mdev = u.ctx.engine.mock.createDevice(flags);
  } catch (e) { t.abort(sobj); throw e; }
  (sobj as { mockDev: MockDevice }).mockDev = mdev;
  let idev: IommufdDevice;
  try {
    idev = deviceBind(u.ctx, mdev, { mock: true });
  } catch (e) { t.abort(sobj); throw e; }
  let hwptId: number;
  try {
    hwptId = deviceAttach(idev, c.id);
  } catch (e) { deviceUnbind(idev); t.abort(sobj); throw e; }
  sobj.idev = idev;
  const p = payload(u, T.IommuTestCmdMockDomain);
  p.out_hwpt_id = hwptId;
  p.out_stdev_id = sobj.id;
  p.out_idev_id = idev.id;
  try {
    respondPayload(u, T.IommuTestCmdMockDomain, p);
  } catch (e) {
    deviceDetach(idev); deviceUnbind(idev); sobj.idev = undefined; t.abort(sobj);
    throw e;
  }
  t.finalize(sobj);
  return 0;
}

function getSelftest(u: TestCmd, id: number): SelftestObj {
  return u.ctx.objects.get<SelftestObj>(id, 'SELFTEST');
}

function mockDomainReplace(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdMockDomainReplace);
  const s = getSelftest(u, u.cmd.id);
  try {
    p.pt_id = deviceReplace(s.idev!, p.pt_id);
    respondPayload(u, T.IommuTestCmdMockDomainReplace, p);
    return 0;
  } finally {
    u.ctx.objects.put(s);
  }
}

function addReserved(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdAddReserved);
  if (!p.length) throw new Errno(EINVAL, 'length 0');
  const last = p.start + p.length - 1n;
  if (last > ULONG_MAX) throw new Errno(EOVERFLOW, 'start + length');
  const ioas = u.ctx.objects.get<IommufdIoas>(u.cmd.id, 'IOAS');
  try {
    ioas.iopt.reserveIova(p.start, last, null);
    return 0;
  } finally {
    u.ctx.objects.put(ioas);
  }
}

/** MD_CHECK_MAP: every mock page of [iova, iova+length) must translate to the page behind uptr. */
function checkMap(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdCheckMap);
  return withMockPaging(u, u.cmd.id, (d) => {
    const ps = d.pgsizeBitmap & -d.pgsizeBitmap;
    if (p.iova % ps || p.length % ps || p.uptr % ps || p.uptr + p.length > ULONG_MAX) throw new Errno(EINVAL, 'alignment');
    const mm = u.task.mm;
    let iova = p.iova, uptr = p.uptr, left = p.length;
    while (left > 0n) {
      // Pages must be there (get_user_pages_fast), then compare run by run.
      mm.checkPinnable(uptr, 1n, false);
      const run = d.runAt(iova);
      const want = (pfnOf(mm, uptr) << BigInt(PAGE_SHIFT)) + (uptr % PAGE_SIZE_N);
      if (!run || run.paddr + (iova - run.iova) !== want) throw new Errno(EINVAL, `iova 0x${iova.toString(16)} does not map uptr`);
      // The rest of this run and this user page stay in step: skip to the nearer end.
      const pageLeft = PAGE_SIZE_N - (uptr % PAGE_SIZE_N);
      const runLeft = run.last - iova + 1n;
      let step = pageLeft < runLeft ? pageLeft : runLeft;
      if (step > left) step = left;
      step = step < ps ? ps : step - (step % ps);
      iova += step; uptr += step; left -= step;
    }
    return 0;
  });
}

/**
 * The selftest's syzkaller IOVA (__iommufd_test_syz_conv_iova): with
 * MOCK_FLAGS_ACCESS_SYZ an IOVA is {nth_area: u32, offset: u32} (little
 * endian), meaning the nth area's start plus offset; 0 when there is no
 * such area.
 */
export function syzConvIova(iopt: IoPagetable, iova: bigint): bigint {
  let nth = Number(iova & 0xffffffffn);
  const offset = iova >> 32n;
  for (const area of iopt.areasIn()) {
    if (nth === 0) return area.iova + offset;
    nth--;
  }
  return 0n;
}

/** MD_CHECK_REFS: every page of [uptr, uptr+length) is pinned exactly `refs` times (EIO otherwise). */
function checkRefs(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdCheckRefs);
  if (p.length % PAGE_SIZE_N || p.uptr % PAGE_SIZE_N || p.uptr + p.length > ULONG_MAX) throw new Errno(EINVAL, 'alignment');
  if (!p.length) return 0;
  // The kernel looks page by page (get_user_pages_fast, then the count), so
  // the first page that is unmapped (EFAULT) or pinned a different number of
  // times (EIO) decides. By runs: the first miscounted page, then whether
  // everything up to it is mapped.
  const mm = u.task.mm;
  const first = Number(p.uptr >> BigInt(PAGE_SHIFT));
  let upto = p.length;
  let wrong: number | undefined;
  for (const [start, , c] of mm.pins.slice(first, Number(p.length >> BigInt(PAGE_SHIFT)))) {
    if (c !== p.refs) { upto = BigInt(start - first + 1) * PAGE_SIZE_N; wrong = c; break; }
  }
  mm.checkPinnable(p.uptr, upto, false);
  if (wrong !== undefined) throw new Errno(EIO, `pinned ${wrong} times, not ${p.refs}`);
  return 0;
}

function devCheckCache(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdCheckDevCache);
  const idev = getDevice(u.ctx, u.cmd.id);
  try {
    // A device that is not the mock driver's (a VFIO function): the kernel
    // reads its struct as a mock_dev's and finds no such cache (EINVAL).
    const m = idev.dev;
    if (!(m instanceof MockDevice) || p.id > T.MOCK_DEV_CACHE_ID_MAX || m.cache[p.id] !== p.cache) throw new Errno(EINVAL, 'cache mismatch');
    return 0;
  } finally {
    u.ctx.objects.put(idev);
  }
}

/** The DIRTY op: mark the pages whose bits are set in the user bitmap dirty; count them. */
function dirty(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdDirty);
  if (!p.page_size || !p.length || p.iova % p.page_size || p.length % p.page_size || !p.uptr) throw new Errno(EINVAL, 'arguments');
  const max = p.length / p.page_size;
  if (max > 16n * 1024n * 1024n * 8n) throw new Errno(EOVERFLOW, 'bitmap too large');
  return withMockPaging(u, u.cmd.id, (d) => {
    if (!d.dirtyOps || !d.dirtyTracking) throw new Errno(EINVAL, 'dirty tracking is off');
    kvzalloc(Number((max + 63n) / 64n) * 8, 'dirty bitmap');
    const bytes = u.task.mm.read(p.uptr, Number((max + 7n) / 8n));
    let count = 0n;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (!b) continue;
      for (let bit = 0; bit < 8; bit++) {
        const idx = BigInt(i * 8 + bit);
        if (idx >= max || !(b & (1 << bit))) continue;
        d.setDirty(p.iova + idx * p.page_size);
        count++;
      }
    }
    p.out_nr_dirty = count;
    respondPayload(u, T.IommuTestCmdDirty, p);
    return 0;
  });
}

/**
 * The selftest access file (anon inode "[iommufd_test_staccess]"): an access
 * object driven by test ops on its fd; it records pinned items and drops them
 * when the IOAS asks (unmap) or the fd closes.
 */
export class SelftestAccessFile implements EmulatedFile {
  readonly kind = 'iommufd-test-access';
  access: IommufdAccess | undefined;
  readonly items: Array<{ iova: bigint; length: bigint; id: number }> = [];
  nextId = 0;
  constructor(readonly pin: boolean) {}

  /** iommufd_test_access_unmap: unpin every item overlapping the range. */
  unmapItems(iova: bigint, length: bigint): void {
    const last = iova + length - 1n;
    for (const it of [...this.items]) {
      if (iova > it.iova + it.length - 1n || last < it.iova) continue;
      this.items.splice(this.items.indexOf(it), 1);
      accessUnpinPages(this.access!, it.iova, it.length);
    }
  }

  ioctl(): number { throw new Errno(ENOTTY, 'the access fd has no ioctls'); }

  release(): void {
    if (!this.access) return;
    this.unmapItems(0n, ULONG_MAX);
    accessDestroy(this.access);
    this.access = undefined;
  }
}

/** iommufd_access_get: the access behind one of the caller's fds (EBADFD otherwise). */
function accessFile(u: TestCmd, fd: number): SelftestAccessFile {
  const task = u.task as Task & { resolveFd?: (fd: number) => { file?: EmulatedFile } | undefined };
  const f = task.resolveFd?.(fd)?.file;
  if (!(f instanceof SelftestAccessFile) || !f.access) throw new Errno(EBADFD, `fd ${fd} is not a test access`);
  return f;
}

function createAccess(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdCreateAccess);
  if (p.flags & ~T.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) throw new Errno(EOPNOTSUPP, 'flags');
  if (!u.task.installFile) throw new Errno(ENOMEM, 'this caller cannot receive files');
  // iommufd_test_alloc_access: the selftest_access (kzalloc), then its file.
  slabAlloc('selftest_access');
  anonInodeGetfile();
  const file = new SelftestAccessFile((p.flags & T.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) !== 0);
  const access = accessCreate(u.ctx, { needsPinPages: file.pin, unmap: (iova, len) => file.unmapItems(iova, len) });
  try {
    accessAttach(access, u.cmd.id);
    p.out_access_fd = 0; // the shim stores the real fd number once it exists
    respondPayload(u, T.IommuTestCmdCreateAccess, p);
  } catch (e) {
    accessDestroy(access);
    throw e;
  }
  file.access = access;
  u.task.installFile(file, u.arg + 16n);
  return 0;
}

function accessPages(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdAccessPages);
  if (p.length > 16n * 1024n * 1024n) throw new Errno(ENOMEM, 'length over 16 MiB');
  if (p.flags & ~(T.MOCK_FLAGS_ACCESS_WRITE | T.MOCK_FLAGS_ACCESS_SYZ)) throw new Errno(EOPNOTSUPP, 'flags');
  const f = accessFile(u, u.cmd.id);
  if (!f.pin) throw new Errno(EOPNOTSUPP, 'access does not pin pages');
  const a = f.access!;
  // the syzkaller IOVA is converted for the pin only; the reply keeps the caller's
  const iova = p.flags & T.MOCK_FLAGS_ACCESS_SYZ ? (a.ioas ? syzConvIova(a.ioas.iopt, p.iova) : 0n) : p.iova;
  // The page array (kvzalloc) for the pages the range touches.
  const npages = (iova + p.length + PAGE_SIZE_N - 1n) / PAGE_SIZE_N - iova / PAGE_SIZE_N;
  kvzalloc(Number(npages) * 8, 'access page array');
  accessPinPages(a, iova, p.length, p.flags & T.MOCK_FLAGS_ACCESS_WRITE);
  try {
    if (p.uptr) {
      // iommufd_test_check_pages: the pinned pages must be the pages behind uptr.
      const start = iova & ~(PAGE_SIZE_N - 1n);
      const end = (iova + p.length + PAGE_SIZE_N - 1n) & ~(PAGE_SIZE_N - 1n);
      const uptr = p.uptr - (iova - start);
      for (let off = 0n; off < end - start; off += PAGE_SIZE_N) {
        u.task.mm.checkPinnable(uptr + off, 1n, false);
        const area = a.ioas!.iopt.areaAt(iova > start + off ? iova : start + off)!;
        const at = start + off < area.iova ? area.iova : start + off;
        const va = area.source.uptr + area.startByteOf(at);
        const pinned = (pfnOf(area.source.mm, va));
        if (pinned !== pfnOf(u.task.mm, uptr + off)) throw new Errno(EBADE, 'pinned pages differ from uptr');
      }
    }
    slabAlloc('selftest_access_item');
    const id = f.nextId++;
    f.items.push({ iova, length: p.length, id });
    p.out_access_pages_id = id;
    try {
      respondPayload(u, T.IommuTestCmdAccessPages, p);
    } catch (e) {
      f.items.pop();
      throw e;
    }
  } catch (e) {
    accessUnpinPages(a, iova, p.length);
    throw e;
  }
  return 0;
}

function destroyAccessPages(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdDestroyAccessPages);
  const f = accessFile(u, u.cmd.id);
  const i = f.items.findIndex((it) => it.id === p.access_pages_id);
  if (i < 0) throw new Errno(ENOENT, 'no such item');
  const [it] = f.items.splice(i, 1);
  accessUnpinPages(f.access!, it!.iova, it!.length);
  return 0;
}

function accessRwOp(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdAccessRw);
  if (p.length > 16n * 1024n * 1024n) throw new Errno(ENOMEM, 'length over 16 MiB');
  if (p.flags & ~(T.MOCK_ACCESS_RW_WRITE | T.MOCK_ACCESS_RW_SLOW_PATH | T.MOCK_FLAGS_ACCESS_SYZ)) throw new Errno(EOPNOTSUPP, 'flags');
  const f = accessFile(u, u.cmd.id);
  const n = Number(p.length);
  kvzalloc(n, 'access rw buffer'); // iommufd_test_access_rw's tmp
  const write = (p.flags & T.MOCK_ACCESS_RW_WRITE) !== 0;
  const tmp = write ? u.task.mm.read(p.uptr, n) : new Uint8Array(n);
  const a = f.access!;
  const iova = p.flags & T.MOCK_FLAGS_ACCESS_SYZ ? (a.ioas ? syzConvIova(a.ioas.iopt, p.iova) : 0n) : p.iova;
  accessRw(a, iova, tmp, (write ? IOMMUFD_ACCESS_RW_WRITE : 0) | (p.flags & T.MOCK_ACCESS_RW_SLOW_PATH ? IOMMUFD_ACCESS_RW_SLOW_PATH : 0), u.task.mm);
  if (!write) u.task.mm.write(p.uptr, tmp);
  return 0;
}

function accessReplaceIoas(u: TestCmd): number {
  const p = payload(u, T.IommuTestCmdAccessReplaceIoas);
  const f = accessFile(u, u.cmd.id);
  accessReplace(f.access!, p.ioas_id);
  return 0;
}

/** iommufd_test: the dispatcher of IOMMU_TEST_CMD (unknown op → EOPNOTSUPP). */
export function testCmd(u: TestCmd): number {
  switch (u.cmd.op) {
    case T.IOMMU_TEST_OP_ADD_RESERVED: return addReserved(u);
    case T.IOMMU_TEST_OP_MOCK_DOMAIN:
    case T.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS: return mockDomain(u);
    case T.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: return mockDomainReplace(u);
    case T.IOMMU_TEST_OP_MD_CHECK_MAP: return checkMap(u);
    case T.IOMMU_TEST_OP_MD_CHECK_REFS: return checkRefs(u);
    case T.IOMMU_TEST_OP_MD_CHECK_IOTLB: {
      const p = payload(u, T.IommuTestCmdCheckIotlb);
      const o = u.ctx.objects.get<HwptNested>(u.cmd.id, 'HWPT_NESTED');
      try {
        if (!(o.domain instanceof MockNestedDomain)) throw new Errno(EINVAL, 'not a mock nested domain');
        if (p.id > T.MOCK_NESTED_DOMAIN_IOTLB_ID_MAX || o.domain.iotlb[p.id] !== p.iotlb) throw new Errno(EINVAL, 'iotlb mismatch');
        return 0;
      } finally {
        u.ctx.objects.put(o);
      }
    }
    case T.IOMMU_TEST_OP_DEV_CHECK_CACHE: return devCheckCache(u);
    case T.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT: {
      const p = payload(u, T.IommuTestCmdMemoryLimit);
      if (p.limit < 12) throw new Errno(EINVAL, 'limit below 12 bytes');
      u.ctx.engine.testMemoryLimit = p.limit;
      return 0;
    }
    case T.IOMMU_TEST_OP_DIRTY: return dirty(u);
    case T.IOMMU_TEST_OP_TRIGGER_IOPF: return testTriggerIopf(u);
    case T.IOMMU_TEST_OP_PASID_ATTACH: return testPasidAttach(u);
    case T.IOMMU_TEST_OP_PASID_REPLACE: return testPasidReplace(u);
    case T.IOMMU_TEST_OP_PASID_DETACH: return testPasidDetach(u);
    case T.IOMMU_TEST_OP_PASID_CHECK_HWPT: return testPasidCheckHwpt(u);
    case T.IOMMU_TEST_OP_TRIGGER_VEVENT: {
      // iommufd_test_trigger_vevent: the vIOMMU and virtual ID the device
      // learnt at its last attach (ENOENT without, or for virtual ID 0);
      // EOPNOTSUPP when the vIOMMU has no SELFTEST vEVENTQ.
      const p = payload(u, T.IommuTestCmdTriggerVevent);
      const idev = getDevice(u.ctx, p.dev_id);
      try {
        const m = idev.dev;
        if (!(m instanceof MockDevice) || !m.viommu || !m.vdevId) throw new Errno(ENOENT, 'device is not on a vIOMMU with a virtual ID');
        m.viommu.reportSelftestEvent(m.vdevId);
        return 0;
      } finally {
        u.ctx.objects.put(idev);
      }
    }
    case T.IOMMU_TEST_OP_CREATE_ACCESS: return createAccess(u);
    case T.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS: return accessReplaceIoas(u);
    case T.IOMMU_TEST_OP_ACCESS_PAGES: return accessPages(u);
    case T.IOMMU_TEST_OP_ACCESS_RW: return accessRwOp(u);
    case T.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES: return destroyAccessPages(u);
    case T.IOMMU_TEST_OP_DMABUF_GET: return testDmabufGet(u);
    case T.IOMMU_TEST_OP_DMABUF_REVOKE: return testDmabufRevoke(u);
    default:
      throw new Errno(EOPNOTSUPP, `test op ${u.cmd.op}`);
  }
}

void EFAULT;
