// The trace of an iommufd ioctl shows, as its output, only the fields the
// kernel wrote back, as strace does: not their neighbours, and nothing past
// the size the caller gave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, uapi as U } from '../src/lib/index.js';
import type { IoctlTrace } from '../src/core/file.js';
import * as T from '../src/uapi/iommufd-test.js';

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
  // Written: num_iovas, the alignment and the array behind allowed_iovas (not the pointer's own value).
  assert.match(t.out ?? '', /^(num_iovas=\d+ )?out_iova_alignment=0x[0-9a-f]+ allowed_iovas=\[\{start=0x0, last=0xffffffffffffffff\}\]$/);
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

// ---- nested payloads and arrays behind pointers --------------------------

/** Run one ioctl with a trace: its args and out (a refused call has no out). */
function traced(f: ReturnType<typeof openIommufd>, req: number, bytes: Uint8Array, strsize?: number): IoctlTrace & { rc: number } {
  const buf = f.proc.mmap(4096);
  f.proc.mm.write(buf, bytes);
  const t: IoctlTrace = { name: '', args: '', ...(strsize !== undefined ? { strsize } : {}) };
  let rc: number;
  try { rc = f.ctx.ioctl(f.proc.task, req, buf, t); } catch (e) { rc = -(e as { code: number }).code; }
  return { ...t, rc };
}

test('IOMMU_TEST_CMD shows its op by name and the op\'s union member, in and out', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const t = traced(f, T.IOMMU_TEST_CMD, T.encodeTestCmd({ op: T.IOMMU_TEST_OP_MOCK_DOMAIN, id: ioas }));
  assert.equal(t.rc, 0);
  assert.equal(t.args, `op=IOMMU_TEST_OP_MOCK_DOMAIN id=${ioas} last=0 mock_domain={out_stdev_id=0, out_hwpt_id=0, out_idev_id=0}`);
  assert.match(t.out ?? '', /^mock_domain=\{out_stdev_id=(\d+), out_hwpt_id=(\d+), out_idev_id=(\d+)\}$/);
});

test('IOMMU_HWPT_ALLOC shows its data by data_type', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const md = f.mockDomain(ioas);
  const parent = f.hwptAlloc({ devId: md.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  const data = f.proc.mmap(4096);
  f.proc.mm.write(data, T.IommuHwptSelftest.encode({ iotlb: T.IOMMU_TEST_IOTLB_DEFAULT }));
  const t = traced(f, U.IOMMU_HWPT_ALLOC, U.IommuHwptAlloc.encode({ size: U.IommuHwptAlloc.size, dev_id: md.idevId, pt_id: parent,
    data_type: T.IOMMU_HWPT_DATA_SELFTEST, data_len: T.IommuHwptSelftest.size, data_uptr: data }));
  assert.equal(t.rc, 0);
  assert.match(t.args, /data_type=IOMMU_HWPT_DATA_SELFTEST data_len=8 data_uptr=\{iotlb=0xbadbeef, pagetable_type=0\} fault_id=0/);
  const bad = traced(f, U.IOMMU_HWPT_ALLOC, U.IommuHwptAlloc.encode({ size: U.IommuHwptAlloc.size, dev_id: md.idevId, pt_id: parent,
    data_type: T.IOMMU_HWPT_DATA_SELFTEST, data_len: 8, data_uptr: 0x10n }));
  assert.equal(bad.rc, -14);
  assert.match(bad.args, /data_uptr=0x10 \/\* unreadable \*\//);
});

test('IOMMU_IOAS_IOVA_RANGES shows the ranges it wrote, up to strsize', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  f.mockDomain(ioas);
  // A hole at [0x2000000, 0x2ffffff] splits the mock aperture in two.
  assert.equal(traced(f, T.IOMMU_TEST_CMD, T.encodeTestCmd({ op: T.IOMMU_TEST_OP_ADD_RESERVED, id: ioas }, T.IommuTestCmdAddReserved,
    { start: 0x2000000n, length: 0x1000000n })).rc, 0);
  const ranges = f.proc.mmap(4096);
  const cmd = U.IommuIoasIovaRanges.encode({ size: U.IommuIoasIovaRanges.size, ioas_id: ioas, num_iovas: 8, allowed_iovas: ranges });
  const all = traced(f, U.IOMMU_IOAS_IOVA_RANGES, cmd);
  assert.equal(all.rc, 0);
  assert.equal(all.out, 'num_iovas=2 out_iova_alignment=0x800 allowed_iovas=[{start=0x1000000, last=0x1ffffff}, {start=0x3000000, last=0x7fffffff}]');
  const one = traced(f, U.IOMMU_IOAS_IOVA_RANGES, cmd, 1);
  assert.equal(one.out, 'num_iovas=2 out_iova_alignment=0x800 allowed_iovas=[{start=0x1000000, last=0x1ffffff}, ...]');
  // Room for one: EMSGSIZE, and a failed call shows no output.
  const short = traced(f, U.IOMMU_IOAS_IOVA_RANGES, U.IommuIoasIovaRanges.encode({ size: U.IommuIoasIovaRanges.size, ioas_id: ioas, num_iovas: 1, allowed_iovas: ranges }));
  assert.equal(short.rc, -90);
  assert.equal(short.out, undefined);
});

test('IOMMU_IOAS_ALLOW_IOVAS shows the array it read', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const arr = f.proc.mmap(4096);
  f.proc.mm.write(arr, new Uint8Array([...U.IommuIovaRange.encode({ start: 0x1000n, last: 0x1fffn }), ...U.IommuIovaRange.encode({ start: 0x10000n, last: 0x1ffffn })]));
  const cmd = U.IommuIoasAllowIovas.encode({ size: U.IommuIoasAllowIovas.size, ioas_id: ioas, num_iovas: 2, allowed_iovas: arr });
  assert.match(traced(f, U.IOMMU_IOAS_ALLOW_IOVAS, cmd).args,
    /num_iovas=2 allowed_iovas=\[\{start=0x1000, last=0x1fff\}, \{start=0x10000, last=0x1ffff\}\]$/);
  assert.match(traced(f, U.IOMMU_IOAS_ALLOW_IOVAS, cmd, 1).args, /allowed_iovas=\[\{start=0x1000, last=0x1fff\}, \.\.\.\]$/);
});

test('IOMMU_GET_HW_INFO on qemu-vtd shows cap_reg and ecap_reg', () => {
  const f = openIommufd({ platform: 'qemu-vtd' });
  const dev = f.openVfioDevice(0);
  const devId = dev.bind(f.fd);
  const data = f.proc.mmap(4096);
  const t = traced(f, U.IOMMU_GET_HW_INFO, U.IommuHwInfo.encode({ size: U.IommuHwInfo.size, dev_id: devId, data_len: 64, data_uptr: data }));
  assert.equal(t.rc, 0);
  assert.match(t.out ?? '', /^data_len=0x18 out_data_type=IOMMU_HW_INFO_TYPE_INTEL_VTD out_capabilities=IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED data_uptr=\{flags=IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, cap_reg=0xd2008c22260286, ecap_reg=0xf00f4a\}$/);
  // The ioctl writes only data_len bytes: with room for the flags alone, cap_reg is not shown as written.
  const short = traced(f, U.IOMMU_GET_HW_INFO, U.IommuHwInfo.encode({ size: U.IommuHwInfo.size, dev_id: devId, data_len: 4, data_uptr: data }));
  assert.match(short.out ?? '', /data_uptr=\{flags=IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, cap_reg=0x0, ecap_reg=0x0\}$/);
});

test('-v (verbose) shows the reserved fields that are 0; abbreviated, they are left out', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const cmd = T.encodeTestCmd({ op: T.IOMMU_TEST_OP_ADD_RESERVED, id: ioas }, T.IommuTestCmdAddReserved, { start: 0x2000000n, length: 0x1000n });
  const buf = f.proc.mmap(4096);
  f.proc.mm.write(buf, cmd);
  const t: IoctlTrace = { name: '', args: '', verbose: true };
  f.ctx.ioctl(f.proc.task, T.IOMMU_TEST_CMD, buf, t);
  assert.equal(t.args, `op=IOMMU_TEST_OP_ADD_RESERVED id=${ioas} __reserved=0 last=0 add_reserved={start=0x2000000, length=0x1000}`);
  assert.equal(traced(f, T.IOMMU_TEST_CMD, cmd).args, `op=IOMMU_TEST_OP_ADD_RESERVED id=${ioas} last=0 add_reserved={start=0x2000000, length=0x1000}`);
  // A reserved field that is not 0 (the reason for an EOPNOTSUPP) is always shown.
  const bad = traced(f, U.IOMMU_IOAS_IOVA_RANGES, U.IommuIoasIovaRanges.encode({ size: U.IommuIoasIovaRanges.size, ioas_id: ioas, __reserved: 1 }));
  assert.match(bad.args, / __reserved=1 /);
});

test('IOMMU_HWPT_GET_DIRTY_BITMAP shows the bitmap words it wrote, up to strsize', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const PAGE = 4096n;
  const buf = f.proc.mmap(1n << 20n);
  const m = f.mockDomain(ioas);
  const h = f.hwptAlloc({ devId: m.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
  f.mockDomainReplace(m.stdevId, h);
  f.map({ ioasId: ioas, userVa: buf, length: 128n * PAGE, iova: 1n << 24n });
  f.call(U.IOMMU_HWPT_SET_DIRTY_TRACKING, U.IommuHwptSetDirtyTracking, { flags: U.IOMMU_HWPT_DIRTY_TRACKING_ENABLE, hwpt_id: h });
  // Pages 0, 2 and 64 dirty: words 0 (0b101) and 1 (0b1).
  const marks = f.proc.mmap(PAGE);
  f.proc.mm.write(marks, new Uint8Array([0b101, 0, 0, 0, 0, 0, 0, 0, 1]));
  f.testCmd(T.IOMMU_TEST_OP_DIRTY, h, T.IommuTestCmdDirty, { iova: 1n << 24n, length: 128n * PAGE, page_size: PAGE, uptr: marks });
  const out = f.proc.mmap(PAGE);
  const get = U.IommuHwptGetDirtyBitmap.encode({ size: U.IommuHwptGetDirtyBitmap.size, hwpt_id: h, flags: U.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
    iova: 1n << 24n, length: 128n * PAGE, page_size: PAGE, data: out });
  const all = traced(f, U.IOMMU_HWPT_GET_DIRTY_BITMAP, get);
  assert.equal(all.rc, 0);
  assert.equal(all.out, 'data=[[0]=0x5, [1]=0x1]');
  assert.equal(traced(f, U.IOMMU_HWPT_GET_DIRTY_BITMAP, get, 1).out, 'data=[[0]=0x5, ...]');
  assert.match(all.args, /flags=IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR iova=0x1000000 length=0x80000 page_size=0x1000 data=0x[0-9a-f]+$/);
});

test('a trace that cannot read what it would show prints it unreadable and leaves the result alone', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  // dev_id 99 does not exist: the kernel fails with ENOENT before it reads the data; the trace's read faults.
  const cmd = U.IommuHwptAlloc.encode({ size: U.IommuHwptAlloc.size, dev_id: 99, pt_id: ioas,
    data_type: T.IOMMU_HWPT_DATA_SELFTEST, data_len: 8, data_uptr: 0x10n });
  const t = traced(f, U.IOMMU_HWPT_ALLOC, cmd);
  assert.equal(t.rc, -2);
  assert.match(t.args, /data_uptr=0x10 \/\* unreadable \*\//);
  const buf = f.proc.mmap(4096);
  f.proc.mm.write(buf, cmd);
  assert.throws(() => f.ctx.ioctl(f.proc.task, U.IOMMU_HWPT_ALLOC, buf), (e: { code: number }) => e.code === 2, 'the same errno untraced');
});
