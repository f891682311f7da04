// VFIO type1 container compat ioctls on the iommufd (vfio_compat.c) through
// the library: each rule checks the errno, the bytes written back and the
// state left in the compat IOAS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, IommufdFile, RunDomain, Errno, errno as E, uapi as U } from '../src/lib/index.js';
import * as V from '../src/uapi/vfio.js';
import { vfioCompatIoasCreate, vfioCompatIoasGetId, vfioCompatSetNoIommu } from '../src/core/vfio-compat.js';
import type { IommufdObject } from '../src/core/object-table.js';
import type { IoctlTrace } from '../src/core/file.js';
import { errnoOf } from './lib/errno-of.js';

const PAGE = 4096n;
const MiB = 1n << 20n;
const ULONG_MAX = (1n << 64n) - 1n;


/** An ioctl whose argument is a value (CHECK_EXTENSION, SET_IOMMU): its result or -errno. */
function val(f: IommufdFile, request: number, arg: number | bigint): number {
  try { return f.ctx.ioctl(f.proc.task, request, BigInt(arg)); } catch (e) {
    if (e instanceof Errno) return -e.code;
    throw e;
  }
}

/** A file with a compat IOAS chosen by IOMMU_VFIO_IOAS SET, and 64 pages of memory. */
function setup(): { f: IommufdFile; ioas: number; buf: bigint } {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  f.call(U.IOMMU_VFIO_IOAS, U.IommuVfioIoas, { ioas_id: ioas, op: U.IOMMU_VFIO_IOAS_SET });
  const buf = f.proc.mmap(64n * PAGE);
  return { f, ioas, buf };
}

function mapDma(f: IommufdFile, v: { argsz?: number; flags?: number; vaddr: bigint; iova: bigint; size: bigint }) {
  const bytes = V.VfioIommuType1DmaMap.encode({ argsz: 32, flags: 3, ...v });
  const r = f.ioctlRaw(V.VFIO_IOMMU_MAP_DMA, bytes);
  return { ...r, unchanged: r.out.every((b, i) => b === bytes[i]) };
}

function unmapDma(f: IommufdFile, v: { argsz?: number; flags?: number; iova: bigint; size: bigint }) {
  const r = f.ioctlRaw(V.VFIO_IOMMU_UNMAP_DMA, V.VfioIommuType1DmaUnmap.encode({ argsz: 24, flags: 0, ...v }));
  return { errno: r.errno, size: V.VfioIommuType1DmaUnmap.decode(r.out).size };
}

/** GET_INFO into a 256-byte buffer pre-filled with 0xa5 (to see exactly what was written). */
function getInfo(f: IommufdFile, argsz: number) {
  const b = new Uint8Array(256).fill(0xa5);
  new DataView(b.buffer).setUint32(0, argsz, true);
  const r = f.ioctlRaw(V.VFIO_IOMMU_GET_INFO, b);
  return { errno: r.errno, out: r.out, info: V.VfioIommuType1Info.decode(r.out) };
}

function areas(f: IommufdFile, ioas: number): Array<[bigint, bigint]> {
  return [...f.ioas(ioas).iopt.areasIn()].map((a) => [a.iova, a.last]);
}

// ---- dispatch, version, extensions ---------------------------------------------

test('GET_API_VERSION is 0; unknown and non-compat requests are ENOTTY', () => {
  const f = openIommufd();
  assert.equal(val(f, V.VFIO_GET_API_VERSION, 0), 0);
  for (const r of [V.VFIO_IOMMU_ENABLE, V.VFIO_IOMMU_DISABLE, V.VFIO_IOMMU_DIRTY_PAGES, V.VFIO_GROUP_GET_STATUS, V.VFIO_DEVICE_GET_INFO]) {
    assert.equal(val(f, r, 0), -E.ENOTTY, `0x${r.toString(16)}`);
  }
  // The same number with direction/size bits is another request.
  assert.equal(val(f, V.VFIO_GET_API_VERSION | (2 << 30) | (4 << 16), 0), -E.ENOTTY);
});

test('CHECK_EXTENSION without a compat IOAS: TYPE1/TYPE1v2/UNMAP_ALL 1, DMA_CC ENODEV, the rest 0', () => {
  const f = openIommufd();
  const want: Record<number, number> = { 1: 1, 2: 0, 3: 1, 4: -E.ENODEV, 5: 0, 6: 0, 7: 0, 8: 0, 9: 1, 10: 0, 11: 0 };
  for (const [ext, rc] of Object.entries(want)) assert.equal(val(f, V.VFIO_CHECK_EXTENSION, Number(ext)), rc, `extension ${ext}`);
});

test('DMA_CC_IOMMU: 1 with no HWPT or only enforcing ones, 0 once one HWPT does not enforce', () => {
  const { f, ioas } = setup();
  const hwpts = f.ioas(ioas).hwpts;
  assert.equal(val(f, V.VFIO_CHECK_EXTENSION, V.VFIO_DMA_CC_IOMMU), 1);
  hwpts.push({ enforceCacheCoherency: true } as unknown as IommufdObject);
  assert.equal(val(f, V.VFIO_CHECK_EXTENSION, V.VFIO_DMA_CC_IOMMU), 1);
  hwpts.push({ enforceCacheCoherency: false } as unknown as IommufdObject);
  assert.equal(val(f, V.VFIO_CHECK_EXTENSION, V.VFIO_DMA_CC_IOMMU), 0);
  hwpts.length = 0;
});

// ---- SET_IOMMU ------------------------------------------------------------------

test('SET_IOMMU: bad types EINVAL (before ENODEV), no compat IOAS ENODEV', () => {
  const f = openIommufd();
  assert.equal(val(f, V.VFIO_SET_IOMMU, 0), -E.EINVAL);
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_SPAPR_TCE_IOMMU), -E.EINVAL);
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_NOIOMMU_IOMMU), -E.EINVAL);
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1v2_IOMMU), -E.ENODEV);
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1_IOMMU), -E.ENODEV);
  assert.equal(val(f, V.VFIO_SET_IOMMU, (1n << 32n) | 3n), -E.EINVAL); // unsigned long, not truncated
});

test('SET_IOMMU TYPE1v2 leaves large pages on; TYPE1 turns them off (PAGE_SIZE alignment)', () => {
  const { f, ioas } = setup();
  const iopt = f.ioas(ioas).iopt;
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1v2_IOMMU), 0);
  assert.equal(iopt.disableLargePages, false);
  assert.equal(iopt.iovaAlignment, 1n);
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1_IOMMU), 0);
  assert.equal(iopt.disableLargePages, true);
  assert.equal(iopt.iovaAlignment, PAGE);
  assert.equal(f.option(U.IOMMU_OPTION_HUGE_PAGES, 'get', ioas), 0n);
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1_IOMMU), 0); // again: nothing to do
});

test('SET_IOMMU TYPE1 is EINVAL once a domain holds mappings', () => {
  const { f, ioas, buf } = setup();
  f.addDomain(ioas, new RunDomain());
  assert.equal(mapDma(f, { vaddr: buf, iova: MiB, size: PAGE }).errno, 0);
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1_IOMMU), -E.EINVAL);
  assert.equal(f.ioas(ioas).iopt.disableLargePages, false);
});

// ---- GET_INFO -------------------------------------------------------------------

test('GET_INFO without a compat IOAS is ENODEV; argsz below 16 EINVAL and nothing written', () => {
  const f = openIommufd();
  assert.equal(getInfo(f, 256).errno, E.ENODEV);
  const g = setup().f;
  const r = getInfo(g, 12);
  assert.equal(r.errno, E.EINVAL);
  assert.ok(r.out.subarray(4).every((b) => b === 0xa5));
});

test('GET_INFO with room for everything: flags, pgsizes, DMA_AVAIL then IOVA_RANGE, argsz 72', () => {
  const { f } = setup();
  const r = getInfo(f, 256);
  assert.equal(r.errno, 0);
  assert.deepEqual(r.info, { argsz: 72, flags: 3, iova_pgsizes: 0xfffffffffffff000n, cap_offset: 24, pad: 0 });
  const dma = V.VfioIommuType1InfoDmaAvail.decode(r.out.subarray(24));
  assert.deepEqual(dma, { id: V.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1, next: 40, avail: 0xffffffff });
  assert.ok(r.out.subarray(36, 40).every((b) => b === 0xa5), 'padding of the 12-byte cap is not written');
  const iova = V.VfioIommuType1InfoCapIovaRange.decode(r.out.subarray(40));
  assert.deepEqual(iova, { id: V.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version: 1, next: 0, nr_iovas: 1, reserved: 0 });
  assert.deepEqual(V.VfioIovaRange.decode(r.out.subarray(56)), { start: 0n, end: ULONG_MAX });
  assert.ok(r.out.subarray(72).every((b) => b === 0xa5));
});

test('GET_INFO argsz 16 writes 16 bytes; 24 writes cap_offset 0 and no caps', () => {
  const { f } = setup();
  let r = getInfo(f, 16);
  assert.equal(r.errno, 0);
  assert.equal(r.info.argsz, 72);
  assert.equal(r.info.flags, 3);
  assert.ok(r.out.subarray(16).every((b) => b === 0xa5));
  r = getInfo(f, 24);
  assert.equal(r.errno, 0);
  assert.equal(r.info.cap_offset, 0);
  assert.equal(r.info.pad, 0);
  assert.ok(r.out.subarray(24).every((b) => b === 0xa5));
});

test('GET_INFO with room for the first cap only: it is written and linked, cap_offset stays 0', () => {
  const { f } = setup();
  const r = getInfo(f, 48);
  assert.equal(r.errno, 0);
  assert.equal(r.info.argsz, 72);
  assert.equal(r.info.cap_offset, 0);
  // The buffer reaches offset 40, so DMA_AVAIL's next is linked to it...
  assert.deepEqual(V.VfioIommuType1InfoDmaAvail.decode(r.out.subarray(24)), { id: 3, version: 1, next: 40, avail: 0xffffffff });
  // ...but the IOVA cap (16 + 16 bytes) does not fit in 8.
  assert.ok(r.out.subarray(40).every((b) => b === 0xa5));
  // 36: the cap fits but offset 40 is past the buffer: next stays 0.
  const s = getInfo(f, 36);
  assert.deepEqual(V.VfioIommuType1InfoDmaAvail.decode(s.out.subarray(24)), { id: 3, version: 1, next: 0, avail: 0xffffffff });
});

test('GET_INFO IOVA ranges: the holes of the reserved ranges; ranges that fit are written without the header', () => {
  const { f, ioas } = setup();
  f.addDomain(ioas, new RunDomain({ apertureStart: 16n * MiB, apertureEnd: (1n << 31n) - 1n }));
  f.ioas(ioas).iopt.reserveIova(32n * MiB, 48n * MiB - 1n, 'test');
  let r = getInfo(f, 256);
  assert.equal(r.info.argsz, 24 + 16 + 16 + 32);
  assert.equal(V.VfioIommuType1InfoCapIovaRange.decode(r.out.subarray(40)).nr_iovas, 2);
  assert.deepEqual(V.VfioIovaRange.decode(r.out.subarray(56)), { start: 16n * MiB, end: 32n * MiB - 1n });
  assert.deepEqual(V.VfioIovaRange.decode(r.out.subarray(72)), { start: 48n * MiB, end: (1n << 31n) - 1n });
  // Room for the cap header and one range: the range is written, the header is not.
  r = getInfo(f, 72);
  assert.equal(r.info.cap_offset, 0);
  assert.equal(r.info.argsz, 88);
  assert.ok(r.out.subarray(40, 56).every((b) => b === 0xa5));
  assert.deepEqual(V.VfioIovaRange.decode(r.out.subarray(56)), { start: 16n * MiB, end: 32n * MiB - 1n });
});

test('GET_INFO pgsizes: AND of the domains, sub-page sizes folded into PAGE_SIZE, at least the alignment', () => {
  const { f, ioas } = setup();
  f.addDomain(ioas, new RunDomain({ pgsizeBitmap: 0x800n | 0x1000n | 0x200000n | 0x40000000n }));
  assert.equal(getInfo(f, 24).info.iova_pgsizes, 0x1000n | 0x200000n | 0x40000000n);
  f.addDomain(ioas, new RunDomain({ pgsizeBitmap: 0x1000n | 0x200000n }));
  assert.equal(getInfo(f, 24).info.iova_pgsizes, 0x1000n | 0x200000n);
  // Nothing in common: the IOAS alignment (PAGE_SIZE here) is the answer.
  f.addDomain(ioas, new RunDomain({ pgsizeBitmap: 0x800n }));
  assert.equal(getInfo(f, 24).info.iova_pgsizes, PAGE);
});

// ---- MAP_DMA --------------------------------------------------------------------

test('MAP_DMA: argsz, flags (VADDR), ENODEV without compat IOAS; nothing written back', () => {
  const f = openIommufd();
  const buf = f.proc.mmap(PAGE);
  assert.equal(mapDma(f, { vaddr: buf, iova: MiB, size: PAGE }).errno, E.ENODEV);
  const { f: g, ioas, buf: b2 } = setup();
  for (const bad of [{ argsz: 24 }, { flags: V.VFIO_DMA_MAP_FLAG_VADDR | 3 }, { flags: 8 }]) {
    const r = mapDma(g, { vaddr: b2, iova: MiB, size: PAGE, ...bad });
    assert.equal(r.errno, E.EINVAL, JSON.stringify(bad));
    assert.ok(r.unchanged);
  }
  assert.equal(g.ioas(ioas).iopt.areaCount, 0);
});

test('MAP_DMA maps at exactly iova with the IOAS rules; READ/WRITE give the protection, neither is needed', () => {
  const { f, ioas, buf } = setup();
  let r = mapDma(f, { vaddr: buf, iova: MiB, size: 16n * PAGE });
  assert.equal(r.errno, 0);
  assert.ok(r.unchanged);
  assert.equal(mapDma(f, { vaddr: buf, iova: MiB + 8n * PAGE, size: 16n * PAGE }).errno, E.EEXIST);
  assert.equal(mapDma(f, { vaddr: buf, iova: 4n * MiB, size: 0n }).errno, E.EINVAL);
  r = mapDma(f, { flags: 0, vaddr: buf, iova: 2n * MiB, size: PAGE });
  assert.equal(r.errno, 0);
  r = mapDma(f, { flags: V.VFIO_DMA_MAP_FLAG_READ, vaddr: buf, iova: 3n * MiB, size: PAGE });
  assert.equal(r.errno, 0);
  const prot = [...f.ioas(ioas).iopt.areasIn()].map((a) => [a.iova, a.prot]);
  assert.deepEqual(prot, [[MiB, 7], [2n * MiB, 4], [3n * MiB, 5]]); // IOMMU_CACHE always
});

test('MAP_DMA: EINVAL under a domain aperture or off the alignment', () => {
  const { f, ioas, buf } = setup();
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1_IOMMU), 0);
  f.addDomain(ioas, new RunDomain({ apertureStart: 16n * MiB }));
  assert.equal(mapDma(f, { vaddr: buf, iova: MiB, size: PAGE }).errno, E.EINVAL);
  assert.equal(mapDma(f, { vaddr: buf, iova: 16n * MiB + 0x800n, size: 0x800n }).errno, E.EINVAL);
  assert.equal(mapDma(f, { vaddr: buf, iova: 16n * MiB, size: 4n * PAGE }).errno, 0);
});

test('MAP_DMA accounting follows the context: MM on a /dev/vfio/vfio-style context, USER otherwise', () => {
  for (const mode of ['USER', 'MM'] as const) {
    const f = openIommufd({ process: { uid: 1000 } });
    f.ctx.accountMode = mode;
    const ioas = f.ioasAlloc();
    f.call(U.IOMMU_VFIO_IOAS, U.IommuVfioIoas, { ioas_id: ioas, op: U.IOMMU_VFIO_IOAS_SET });
    const d = new RunDomain();
    f.addDomain(ioas, d);
    const buf = f.proc.mmap(4n * PAGE);
    const mmBefore = f.proc.mm.lockedVm, userBefore = f.proc.task.user.lockedVm;
    assert.equal(mapDma(f, { vaddr: buf, iova: MiB, size: 4n * PAGE }).errno, 0);
    const area = [...f.ioas(ioas).iopt.areasIn()][0]!;
    assert.equal(area.pages!.accountMode, mode);
    assert.equal(f.proc.mm.lockedVm - mmBefore, mode === 'MM' ? 4 : 0);
    assert.equal(f.proc.task.user.lockedVm - userBefore, mode === 'USER' ? 4 : 0);
    assert.equal(unmapDma(f, { flags: V.VFIO_DMA_UNMAP_FLAG_ALL, iova: 0n, size: 0n }).size, 4n * PAGE);
    assert.equal(f.proc.mm.lockedVm, mmBefore);
    assert.equal(f.proc.task.user.lockedVm, userBefore);
  }
});

// ---- UNMAP_DMA ------------------------------------------------------------------

test('UNMAP_DMA: argsz, flags and ENODEV leave the struct alone', () => {
  const f = openIommufd();
  assert.deepEqual(unmapDma(f, { iova: MiB, size: PAGE }), { errno: E.ENODEV, size: PAGE });
  const { f: g } = setup();
  assert.deepEqual(unmapDma(g, { argsz: 16, iova: MiB, size: PAGE }), { errno: E.EINVAL, size: PAGE });
  assert.deepEqual(unmapDma(g, { flags: V.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, iova: MiB, size: PAGE }), { errno: E.EINVAL, size: PAGE });
  assert.deepEqual(unmapDma(g, { flags: V.VFIO_DMA_UNMAP_FLAG_VADDR, iova: MiB, size: PAGE }), { errno: E.EINVAL, size: PAGE });
  assert.deepEqual(unmapDma(g, { flags: V.VFIO_DMA_UNMAP_FLAG_ALL, iova: PAGE, size: 0n }), { errno: E.EINVAL, size: 0n });
  assert.deepEqual(unmapDma(g, { flags: V.VFIO_DMA_UNMAP_FLAG_ALL, iova: 0n, size: PAGE }), { errno: E.EINVAL, size: PAGE });
});

test('UNMAP_DMA ALL empties the IOAS and reports the bytes; on an empty IOAS it reports 0', () => {
  const { f, ioas, buf } = setup();
  mapDma(f, { vaddr: buf, iova: MiB, size: 4n * PAGE });
  mapDma(f, { vaddr: buf, iova: 8n * MiB, size: PAGE });
  assert.deepEqual(unmapDma(f, { flags: V.VFIO_DMA_UNMAP_FLAG_ALL, iova: 0n, size: 0n }), { errno: 0, size: 5n * PAGE });
  assert.equal(f.ioas(ioas).iopt.areaCount, 0);
  assert.deepEqual(unmapDma(f, { flags: V.VFIO_DMA_UNMAP_FLAG_ALL, iova: 0n, size: 0n }), { errno: 0, size: 0n });
});

test('UNMAP_DMA type1v2: whole areas only (ENOENT, size 0), empty range ok with size 0, size 0 EINVAL with size 0', () => {
  const { f, ioas, buf } = setup();
  mapDma(f, { vaddr: buf, iova: MiB, size: 16n * PAGE });
  assert.deepEqual(unmapDma(f, { iova: MiB, size: 4n * PAGE }), { errno: E.ENOENT, size: 0n });
  assert.deepEqual(areas(f, ioas), [[MiB, MiB + 16n * PAGE - 1n]]);
  assert.deepEqual(unmapDma(f, { iova: 9n * MiB, size: 4n * PAGE }), { errno: 0, size: 0n });
  assert.deepEqual(unmapDma(f, { iova: MiB, size: 0n }), { errno: E.EINVAL, size: 0n });
  assert.deepEqual(unmapDma(f, { iova: MiB, size: 16n * PAGE }), { errno: 0, size: 16n * PAGE });
  assert.equal(f.ioas(ioas).iopt.areaCount, 0);
});

test('UNMAP_DMA that fails part-way writes back what it did unmap', () => {
  const { f, ioas, buf } = setup();
  mapDma(f, { vaddr: buf, iova: MiB, size: 4n * PAGE });
  mapDma(f, { vaddr: buf, iova: MiB + 4n * PAGE, size: 4n * PAGE });
  assert.deepEqual(unmapDma(f, { iova: MiB, size: 6n * PAGE }), { errno: E.ENOENT, size: 4n * PAGE });
  assert.deepEqual(areas(f, ioas), [[MiB + 4n * PAGE, MiB + 8n * PAGE - 1n]]);
});

test('UNMAP_DMA overflow: EOVERFLOW, size 0 written back', () => {
  const { f } = setup();
  assert.deepEqual(unmapDma(f, { iova: ULONG_MAX - PAGE + 1n, size: 2n * PAGE }), { errno: E.EOVERFLOW, size: 0n });
});

test('UNMAP_DMA type1: partial unmaps cut areas at iova and iova+size (the golden sequence)', () => {
  const { f, ioas, buf } = setup();
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1_IOMMU), 0);
  assert.equal(mapDma(f, { vaddr: buf, iova: MiB, size: 16n * PAGE }).errno, 0);
  const pages = [...f.ioas(ioas).iopt.areasIn()][0]!.pages!;
  assert.deepEqual(unmapDma(f, { iova: MiB + 4n * PAGE, size: 4n * PAGE }), { errno: 0, size: 4n * PAGE });
  assert.deepEqual(areas(f, ioas), [[MiB, MiB + 4n * PAGE - 1n], [MiB + 8n * PAGE, MiB + 16n * PAGE - 1n]]);
  assert.equal(pages.refs, 2, 'both halves share the original pages');
  const halves = [...f.ioas(ioas).iopt.areasIn()];
  assert.equal(halves[1]!.startByte, 8n * PAGE);
  assert.deepEqual(unmapDma(f, { iova: MiB, size: 2n * PAGE }), { errno: 0, size: 2n * PAGE });
  assert.deepEqual(unmapDma(f, { iova: MiB + 3n * PAGE, size: 4n * PAGE }), { errno: 0, size: PAGE });
  assert.deepEqual(areas(f, ioas), [[MiB + 2n * PAGE, MiB + 3n * PAGE - 1n], [MiB + 8n * PAGE, MiB + 16n * PAGE - 1n]]);
  assert.deepEqual(unmapDma(f, { iova: MiB, size: 16n * PAGE }), { errno: 0, size: 9n * PAGE });
  assert.equal(f.ioas(ioas).iopt.areaCount, 0);
  assert.equal(pages.refs, 0);
});

test('UNMAP_DMA type1 with a domain: the cut-out pages leave the domain and are unpinned, the rest stay', () => {
  const { f, ioas, buf } = setup();
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1_IOMMU), 0);
  const d = new RunDomain();
  f.addDomain(ioas, d);
  assert.equal(mapDma(f, { vaddr: buf, iova: MiB, size: 16n * PAGE }).errno, 0);
  const pages = [...f.ioas(ioas).iopt.areasIn()][0]!.pages!;
  assert.equal(pages.npinned, 16);
  assert.deepEqual(unmapDma(f, { iova: MiB + 4n * PAGE, size: 4n * PAGE }), { errno: 0, size: 4n * PAGE });
  assert.equal(pages.npinned, 12);
  assert.equal(d.mappedBytes, 12n * PAGE);
  assert.equal(d.iovaToPhys(MiB + 5n * PAGE), undefined);
  assert.notEqual(d.iovaToPhys(MiB + 3n * PAGE), undefined);
  assert.notEqual(d.iovaToPhys(MiB + 8n * PAGE), undefined);
  assert.deepEqual(unmapDma(f, { flags: V.VFIO_DMA_UNMAP_FLAG_ALL, iova: 0n, size: 0n }), { errno: 0, size: 12n * PAGE });
  assert.equal(pages.npinned, 0);
  assert.equal(d.mappedBytes, 0n);
});

test('UNMAP_DMA type1: a misaligned cut or an area with accesses is EINVAL, nothing written back', () => {
  const { f, ioas, buf } = setup();
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1_IOMMU), 0);
  mapDma(f, { vaddr: buf, iova: MiB, size: 16n * PAGE });
  assert.deepEqual(unmapDma(f, { iova: MiB + 0x800n, size: PAGE }), { errno: E.EINVAL, size: PAGE });
  assert.equal(f.ioas(ioas).iopt.areaCount, 1);
  const iopt = f.ioas(ioas).iopt;
  iopt.accessPin(MiB, PAGE, false);
  assert.deepEqual(unmapDma(f, { iova: MiB + 4n * PAGE, size: 4n * PAGE }), { errno: E.EINVAL, size: 4n * PAGE });
  assert.equal(iopt.areaCount, 1);
  iopt.accessUnpin(MiB, PAGE);
  assert.deepEqual(unmapDma(f, { iova: MiB + 4n * PAGE, size: 4n * PAGE }), { errno: 0, size: 4n * PAGE });
});

test('UNMAP_DMA type1 at IOVA 0 cuts only at the end; a cut at an area edge is no cut', () => {
  const { f, ioas, buf } = setup();
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1_IOMMU), 0);
  mapDma(f, { vaddr: buf, iova: 0n, size: 8n * PAGE });
  assert.deepEqual(unmapDma(f, { iova: 0n, size: 2n * PAGE }), { errno: 0, size: 2n * PAGE });
  assert.deepEqual(areas(f, ioas), [[2n * PAGE, 8n * PAGE - 1n]]);
  assert.deepEqual(unmapDma(f, { iova: 2n * PAGE, size: 6n * PAGE }), { errno: 0, size: 6n * PAGE });
  assert.equal(f.ioas(ioas).iopt.areaCount, 0);
});

test('UNMAP_DMA type1v2 does not cut even when the range would allow it', () => {
  const { f, ioas, buf } = setup();
  mapDma(f, { vaddr: buf, iova: MiB, size: 8n * PAGE });
  assert.deepEqual(unmapDma(f, { iova: MiB, size: 4n * PAGE }).errno, E.ENOENT);
  assert.equal(f.ioas(ioas).iopt.areaCount, 1);
});

// ---- the compat IOAS ------------------------------------------------------------

test('compat IOAS create (group attach): made once, user-visible, GET reports it; destroy clears it', () => {
  const f = openIommufd();
  assert.equal(errnoOf(() => vfioCompatIoasGetId(f.ctx)), E.ENODEV);
  vfioCompatIoasCreate(f.ctx);
  const id = vfioCompatIoasGetId(f.ctx);
  assert.equal(id, 1);
  vfioCompatIoasCreate(f.ctx);
  assert.equal(vfioCompatIoasGetId(f.ctx), 1);
  assert.equal(f.ioasAlloc(), 2, 'the second create made nothing');
  assert.equal(f.call(U.IOMMU_VFIO_IOAS, U.IommuVfioIoas, { op: U.IOMMU_VFIO_IOAS_GET }).ioas_id, 1);
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1v2_IOMMU), 0);
  f.destroy(id);
  assert.equal(val(f, V.VFIO_SET_IOMMU, V.VFIO_TYPE1v2_IOMMU), -E.ENODEV);
  assert.equal(val(f, V.VFIO_CHECK_EXTENSION, V.VFIO_DMA_CC_IOMMU), -E.ENODEV);
});

test('no-iommu mode: refused once a compat IOAS exists; then TYPE1 extensions 0 and SET_IOMMU EINVAL', () => {
  const f = openIommufd();
  vfioCompatIoasCreate(f.ctx);
  assert.equal(errnoOf(() => vfioCompatSetNoIommu(f.ctx)), E.EINVAL);
  const g = openIommufd();
  vfioCompatSetNoIommu(g.ctx);
  for (const ext of [V.VFIO_TYPE1_IOMMU, V.VFIO_TYPE1v2_IOMMU, V.VFIO_UNMAP_ALL]) assert.equal(val(g, V.VFIO_CHECK_EXTENSION, ext), 0);
  assert.equal(errnoOf(() => vfioCompatIoasCreate(g.ctx)), E.EINVAL);
  assert.equal(g.ctx.objects.empty, true, 'the aborted IOAS left no slot');
  assert.equal(val(g, V.VFIO_SET_IOMMU, V.VFIO_TYPE1v2_IOMMU), -E.EINVAL);
});

test('compat ioctls name themselves in traces', () => {
  const { f, buf } = setup();
  const t: IoctlTrace = { name: '', args: '' };
  f.proc.mm.write(buf, V.VfioIommuType1DmaUnmap.encode({ argsz: 24, flags: 0, iova: MiB, size: PAGE }));
  f.ctx.ioctl(f.proc.task, V.VFIO_IOMMU_UNMAP_DMA, buf, t);
  assert.equal(t.name, 'VFIO_IOMMU_UNMAP_DMA');
  assert.match(t.args, /iova=0x100000/);
  assert.equal(t.out, 'size=0x0');
});
