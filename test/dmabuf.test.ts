// The selftest's dma-bufs and IOMMU_IOAS_MAP_FILE of a dma-buf fd through the
// library: the fd is DMABUF_GET's result, MAP_FILE maps the buffer's own
// contiguous frames at once without pinning or charging, and any REVOKE call
// unmaps every live mapping from every domain for good. Errnos as the kernel
// answered (test/conformance/dmabuf.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, IommufdFile, errno as E, testAbi as T } from '../src/lib/index.js';
import { errnoOf } from './lib/errno-of.js';

const PAGE = 4096n;
const UNIT = 1n << 24n; // inside the mock aperture

function setup(uid = 0): { f: IommufdFile; ioas: number } {
  const f = openIommufd({ process: { uid, rlimitMemlock: 0n } });
  return { f, ioas: f.ioasAlloc() };
}

test('DMABUF_GET: the fd is the result, lengths round up to pages, 0 and over 512 pages are EINVAL', () => {
  const { f } = setup();
  assert.equal(errnoOf(() => f.dmabufGet(0)), E.EINVAL);
  assert.equal(errnoOf(() => f.dmabufGet(512 * 4096 + 1)), E.EINVAL);
  assert.equal(errnoOf(() => f.dmabufGet(0xffffffff)), E.EINVAL);
  const a = f.dmabufGet(1);
  const b = f.dmabufGet(512 * 4096);
  assert.ok(a > f.fd && b > a);
  assert.equal(f.dmabuf(a)!.size, PAGE);
  assert.equal(f.dmabuf(b)!.size, 512n * PAGE);
  assert.equal(f.proc.files.get(a)!.kind, 'dmabuf');
  const buf = f.dmabuf(a)!;
  f.proc.closeFd(a);
  assert.equal(buf.live, false, 'the last close frees the memory');
});

test('DMABUF_REVOKE: EBADF without an fd, EINVAL for files that are not dma-bufs', () => {
  const { f } = setup();
  assert.equal(errnoOf(() => f.dmabufRevoke(-1, true)), E.EBADF);
  assert.equal(errnoOf(() => f.dmabufRevoke(1000, true)), E.EBADF);
  assert.equal(errnoOf(() => f.dmabufRevoke(f.fd, true)), E.EINVAL);
  assert.equal(errnoOf(() => f.dmabufRevoke(f.proc.memfdCreate(PAGE), true)), E.EINVAL);
});

test('MAP_FILE of a dma-buf: range checks against the buffer, auto IOVA from the offset, no pins or charge', () => {
  const { f, ioas } = setup(1000); // RLIMIT_MEMLOCK 0: a pin would be ENOMEM
  const dfd = f.dmabufGet(4 * 4096);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: dfd, length: 0n })), E.EINVAL);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: dfd, start: 4n * PAGE, length: 4n * PAGE })), E.EINVAL);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: dfd, length: 4n * PAGE + 1n })), E.EINVAL);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: dfd, start: ~0n & ((1n << 64n) - 1n), length: 2n })), E.EOVERFLOW);
  assert.equal(f.mapFile({ ioasId: ioas, fd: dfd, start: 4n * PAGE - 1n, length: 1n }), 0x1fffn);
  assert.equal(f.mapFile({ ioasId: ioas, fd: dfd, start: 0x800n, length: PAGE, writeable: false }), 0x2800n);
  f.unmap(ioas, 0n, (1n << 64n) - 1n); // below the mock aperture
  const { hwptId } = f.mockDomain(ioas);
  const iova = f.mapFile({ ioasId: ioas, fd: dfd, length: 4n * PAGE, iova: UNIT });
  const d = f.ioas(ioas).iopt.domains[0]!;
  const pa = d.iovaToPhys(iova)!;
  for (let i = 1n; i < 4n; i++) assert.equal(d.iovaToPhys(iova + i * PAGE), pa + i * PAGE, 'physically contiguous');
  const area = f.ioas(ioas).iopt.areaAt(iova)!;
  assert.equal(area.source.kind, 'dmabuf');
  assert.equal(area.source.npinned, 0);
  assert.equal(f.proc.task.user.lockedVm, 0);
  assert.equal(f.proc.mm.pinnedVm, 0);
  // The buffer's frames are its own: the same pages mapped twice share them, nothing else does.
  const iova2 = f.mapFile({ ioasId: ioas, fd: dfd, start: PAGE, length: PAGE, iova: 2n * UNIT });
  assert.equal(d.iovaToPhys(iova2), pa + PAGE);
  assert.ok(hwptId > 0);
});

test('accesses cannot pin or read dma-buf pages (EINVAL); COPY shares them; VFIO cuts are EOPNOTSUPP', () => {
  const { f, ioas } = setup();
  const dfd = f.dmabufGet(4 * 4096);
  const acc = f.testCmd(T.IOMMU_TEST_OP_CREATE_ACCESS, ioas, T.IommuTestCmdCreateAccess, { flags: T.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES });
  const afd = acc.out_access_fd;
  const iova = f.mapFile({ ioasId: ioas, fd: dfd, length: 4n * PAGE });
  const va = f.proc.mmap(PAGE);
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_ACCESS_PAGES, afd, T.IommuTestCmdAccessPages, { iova, length: PAGE, uptr: va })), E.EINVAL);
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_ACCESS_RW, afd, T.IommuTestCmdAccessRw, { iova, length: 16n, uptr: va })), E.EINVAL);
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_ACCESS_RW, afd, T.IommuTestCmdAccessRw, { iova, length: 16n, uptr: va, flags: T.MOCK_ACCESS_RW_WRITE })), E.EINVAL);
  const ioas2 = f.ioasAlloc();
  assert.equal(f.copy({ dstIoasId: ioas2, srcIoasId: ioas, srcIova: iova, length: 4n * PAGE, dstIova: UNIT }), UNIT);
  assert.equal(f.ioas(ioas2).iopt.areaAt(UNIT)!.source, f.ioas(ioas).iopt.areaAt(iova)!.source);
  assert.equal(errnoOf(() => f.ioas(ioas).iopt.cutIova([iova + PAGE - 1n])), E.EOPNOTSUPP);
});

test('revoke: unmapped from every domain, later MAP_FILE ENODEV, new domains get nothing, unmap works, restore maps anew', () => {
  const { f, ioas } = setup();
  const dfd = f.dmabufGet(4 * 4096);
  const buf = f.dmabuf(dfd)!;
  const { idevId } = f.mockDomain(ioas);
  const iopt = f.ioas(ioas).iopt;
  const d1 = iopt.domains[0]!;
  const a = f.mapFile({ ioasId: ioas, fd: dfd, length: 4n * PAGE, iova: UNIT });
  assert.notEqual(d1.iovaToPhys(a), undefined);
  f.dmabufRevoke(dfd, true);
  assert.equal(d1.iovaToPhys(a), undefined, 'unmapped from the domain');
  assert.ok(iopt.areaAt(a), 'the area stays');
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: dfd, length: 4n * PAGE })), E.ENODEV);
  f.hwptAlloc({ devId: idevId, ptId: ioas }); // a second domain, filled while revoked
  const d2 = iopt.domains.find((d) => d !== d1);
  assert.ok(d2);
  assert.equal(d2.iovaToPhys(a), undefined, 'a new domain gets nothing of a revoked area');
  f.dmabufRevoke(dfd, false);
  assert.equal(d1.iovaToPhys(a), undefined, 'a restore does not bring the old area back');
  const b = f.mapFile({ ioasId: ioas, fd: dfd, length: 4n * PAGE, iova: 2n * UNIT });
  assert.notEqual(d1.iovaToPhys(b), undefined);
  assert.notEqual(d2.iovaToPhys(b), undefined);
  // Any REVOKE call invalidates every attachment, a restore too.
  f.dmabufRevoke(dfd, false);
  assert.equal(d1.iovaToPhys(b), undefined);
  assert.equal(d2.iovaToPhys(b), undefined);
  assert.equal(f.unmap(ioas, a, 4n * PAGE), 4n * PAGE, 'unmap of a revoked area works');
  assert.equal(f.mapFile({ ioasId: ioas, fd: dfd, length: 4n * PAGE, iova: a }), a);
  assert.notEqual(d1.iovaToPhys(a), undefined);
  // The mapping holds the buffer past the fd's close; unmapping lets it go.
  f.proc.closeFd(dfd);
  assert.equal(buf.live, true);
  assert.notEqual(d1.iovaToPhys(a), undefined);
  f.unmap(ioas, 0n, (1n << 64n) - 1n);
  assert.equal(buf.live, false);
  assert.equal(buf.attachments.size, 0);
});

test('a dma-buf space has frames of its own and goes away with the buffer', () => {
  const { f, ioas } = setup();
  const live = f.ctx.engine.frames.liveFiles;
  const dfd = f.dmabufGet(4096);
  assert.equal(f.ctx.engine.frames.liveFiles, live + 1);
  f.mapFile({ ioasId: ioas, fd: dfd, length: PAGE });
  f.proc.closeFd(dfd);
  assert.equal(f.ctx.engine.frames.liveFiles, live + 1);
  f.unmap(ioas, 0n, (1n << 64n) - 1n);
  assert.equal(f.ctx.engine.frames.liveFiles, live);
});
