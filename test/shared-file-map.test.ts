// MAP_SHARED file mappings: the pages behind such a VA range are the file's.
// IOMMU_IOAS_MAP of that range pins the file's pages (shared with
// IOAS_MAP_FILE pins of the same file), the frames are the file's, and
// MD_CHECK_MAP / MD_CHECK_REFS at those addresses see the file's pages, as
// on Linux (the selftests' iommufd_mock_domain.one_domain_file*).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, Frames, IommufdFile, SimProcess, SimulatedAddressSpace, SimulatedFile, errno as E, testAbi as T } from '../src/lib/index.js';
import { pfnOf, pfnBase } from '../src/hw/memory.js';
import { errnoOf } from './lib/errno-of.js';

const PAGE = 4096n;
const UNIT = 1n << 24n;

function checkMap(f: IommufdFile, hwpt: number, iova: bigint, length: bigint, uptr: bigint): void {
  f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_MAP, hwpt, T.IommuTestCmdCheckMap, { iova, length, uptr });
}

function checkRefs(f: IommufdFile, uptr: bigint, length: bigint, refs: number): void {
  f.testCmd(T.IOMMU_TEST_OP_MD_CHECK_REFS, 0, T.IommuTestCmdCheckRefs, { uptr, length, refs });
}

function setup(): { f: IommufdFile; ioas: number; hwpt: number; mfd: number; file: SimulatedFile; buf: bigint } {
  const f = openIommufd({ process: {} });
  const ioas = f.ioasAlloc();
  const { hwptId } = f.mockDomain(ioas);
  const mfd = f.proc.memfdCreate(16n * PAGE);
  const file = f.proc.plainFiles.get(mfd)!;
  const buf = f.proc.mmapFile(mfd, 16n * PAGE);
  return { f, ioas, hwpt: hwptId, mfd, file, buf };
}

test('SimulatedAddressSpace: a shared file mapping shows the file (bytes, frames); a private one does not', () => {
  const frames = new Frames();
  const mm = new SimulatedAddressSpace(frames);
  const file = new SimulatedFile(8n * PAGE);
  const a = mm.mmap(4n * PAGE, { file, offset: 2n * PAGE, shared: true });
  mm.write(a + 5n, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...file.read(2n * PAGE + 5n, 3)], [1, 2, 3], 'writes reach the file');
  file.write(3n * PAGE, new Uint8Array([9]));
  assert.equal(mm.read(a + PAGE, 1)[0], 9, 'reads see the file');
  const fs = frames.fileSpace(file);
  assert.equal(pfnOf(mm, a + PAGE), pfnOf(fs, 3n * PAGE), 'the frame of the file page');
  assert.equal(pfnOf(fs, 0n) >> 40n, BigInt(fs.id));
  fs.put();
  const p = mm.mmap(PAGE, { file, offset: 0n });
  assert.equal(pfnOf(mm, p), pfnBase(mm.id) + (p >> 12n), 'a private mapping is anonymous memory');
  // A second process mapping the same file sees the same frames.
  const mm2 = new SimulatedAddressSpace(frames);
  const b = mm2.mmap(PAGE, { file, offset: 3n * PAGE, shared: true });
  assert.equal(pfnOf(mm2, b), pfnOf(mm, a + PAGE));
  // munmap of part of the mapping keeps the rest's offsets.
  mm.munmap(a, PAGE);
  assert.equal(pfnOf(mm, a + PAGE), pfnOf(mm2, b));
  assert.throws(() => mm.mmap(PAGE, { file, offset: 100n, shared: true }), /aligned/);
});

test('MAP_FILE: MD_CHECK_MAP and MD_CHECK_REFS at the VA of a shared mapping of the file see its pages', () => {
  const { f, ioas, hwpt, mfd, buf } = setup();
  checkRefs(f, buf, 16n * PAGE, 0);
  const iova = f.mapFile({ ioasId: ioas, fd: mfd, length: 4n * PAGE, iova: UNIT });
  checkMap(f, hwpt, iova, 4n * PAGE, buf);
  checkRefs(f, buf, 4n * PAGE, 1);
  checkRefs(f, buf + 4n * PAGE, 12n * PAGE, 0);
  assert.equal(errnoOf(() => checkMap(f, hwpt, iova, PAGE, buf + PAGE)), E.EINVAL, 'another page of the file');
  // Sub-page starts and odd offsets (all_aligns).
  const iova2 = f.mapFile({ ioasId: ioas, fd: mfd, start: 5n * PAGE + 0x800n, length: 2n * PAGE, iova: 2n * UNIT + 0x800n });
  checkMap(f, hwpt, iova2, 2n * PAGE, buf + 5n * PAGE + 0x800n);
  checkRefs(f, buf + 5n * PAGE, 3n * PAGE, 1);
  f.unmap(ioas, iova2, 2n * PAGE);
  f.unmap(ioas, iova, 4n * PAGE);
  checkRefs(f, buf, 16n * PAGE, 0);
});

test('IOAS_MAP of a shared file mapping pins the file pages, shared with MAP_FILE pins; unmap drops them', () => {
  const { f, ioas, hwpt, mfd, file, buf } = setup();
  const live = f.ctx.engine.frames.liveFiles;
  const iova = f.map({ ioasId: ioas, userVa: buf + PAGE, length: 2n * PAGE, iova: UNIT });
  checkMap(f, hwpt, iova, 2n * PAGE, buf + PAGE);
  checkRefs(f, buf + PAGE, 2n * PAGE, 1);
  assert.equal(f.proc.mm.pins.covered, 0, 'no page of the process itself is pinned');
  const fs = f.ctx.engine.frames.liveFile(file.identity)!;
  assert.ok(fs, 'the file has a live space while pinned');
  assert.equal(fs.pins.get(1), 1);
  assert.equal(fs.pins.get(0), 0);
  // MAP_FILE of the same pages: two pins of one page.
  const iova2 = f.mapFile({ ioasId: ioas, fd: mfd, start: PAGE, length: 2n * PAGE, iova: 2n * UNIT });
  checkRefs(f, buf + PAGE, 2n * PAGE, 2);
  checkMap(f, hwpt, iova2, 2n * PAGE, buf + PAGE);
  f.unmap(ioas, iova, 2n * PAGE);
  checkRefs(f, buf + PAGE, 2n * PAGE, 1);
  f.unmap(ioas, iova2, 2n * PAGE);
  checkRefs(f, buf, 16n * PAGE, 0);
  assert.equal(f.ctx.engine.frames.liveFiles, live, 'the mm lets go of the file once nothing is pinned');
});

test('access pins of a shared file mapping (ACCESS_PAGES checks the pinned pages are those at uptr)', () => {
  const { f, ioas, mfd, buf } = setup();
  const iova = f.mapFile({ ioasId: ioas, fd: mfd, length: 4n * PAGE, iova: UNIT });
  const fd = f.testCmd(T.IOMMU_TEST_OP_CREATE_ACCESS, ioas, T.IommuTestCmdCreateAccess, { flags: T.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES }).out_access_fd;
  f.testCmd(T.IOMMU_TEST_OP_ACCESS_PAGES, fd, T.IommuTestCmdAccessPages, { iova, length: 4n * PAGE, uptr: buf });
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_ACCESS_PAGES, fd, T.IommuTestCmdAccessPages, { iova, length: PAGE, uptr: buf + PAGE })), E.EBADE);
  // An IOAS_MAP of the VA and an access on it: also the file's pages.
  const ioas2 = f.ioasAlloc();
  const iova3 = f.map({ ioasId: ioas2, userVa: buf, length: 2n * PAGE, iova: UNIT });
  const fd2 = f.testCmd(T.IOMMU_TEST_OP_CREATE_ACCESS, ioas2, T.IommuTestCmdCreateAccess, { flags: T.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES }).out_access_fd;
  f.testCmd(T.IOMMU_TEST_OP_ACCESS_PAGES, fd2, T.IommuTestCmdAccessPages, { iova: iova3, length: 2n * PAGE, uptr: buf });
  f.proc.closeFd(fd2);
  f.proc.closeFd(fd);
  f.close();
});

test('an unpin drops the page it pinned even after the process remapped the address', () => {
  const { f, ioas, hwpt, file, buf } = setup();
  const live = f.ctx.engine.frames.liveFiles;
  const iova = f.map({ ioasId: ioas, userVa: buf, length: 4n * PAGE, iova: UNIT });
  const fs = f.ctx.engine.frames.liveFile(file.identity)!;
  assert.equal(fs.pins.covered, 4);
  // Replace the middle of the mapping with anonymous memory.
  f.proc.mm.mmap(2n * PAGE, { at: buf + PAGE });
  checkRefs(f, buf + PAGE, 2n * PAGE, 0);
  checkRefs(f, buf, PAGE, 1);
  // A new pin there is the process's own page.
  const iova2 = f.map({ ioasId: ioas, userVa: buf, length: 4n * PAGE, iova: 2n * UNIT });
  checkRefs(f, buf + PAGE, 2n * PAGE, 1);
  checkRefs(f, buf, PAGE, 2);
  checkMap(f, hwpt, iova2, PAGE, buf);
  assert.equal(f.proc.mm.pins.covered, 2);
  assert.equal(fs.pins.covered, 4);
  f.unmap(ioas, iova, 4n * PAGE);
  assert.equal(fs.pins.covered, 2, 'the first map dropped its four file pages');
  assert.equal(f.proc.mm.pins.covered, 2);
  f.unmap(ioas, iova2, 4n * PAGE);
  assert.equal(fs.pins.covered, 0);
  assert.equal(f.proc.mm.pins.covered, 0);
  assert.equal(f.ctx.engine.frames.liveFiles, live);
});

test('a forked child mapping the same file pins the same pages', () => {
  const { f, ioas, mfd, file, buf } = setup();
  const child = new SimProcess();
  const cbuf = child.mmapFile(child.openPlainFile(file), 4n * PAGE, { offset: 0 });
  const cf = f.inheritBy(child);
  f.map({ ioasId: ioas, userVa: buf, length: 2n * PAGE, iova: UNIT });
  cf.map({ ioasId: ioas, userVa: cbuf, length: 2n * PAGE, iova: 2n * UNIT });
  checkRefs(f, buf, 2n * PAGE, 2);
  checkRefs(cf, cbuf, 2n * PAGE, 2);
  void mfd;
  cf.close();
  f.close();
  assert.equal(f.ctx.engine.frames.liveFile(file.identity), undefined);
});
