// Access objects through the test ABI: the access fd, pins shared with
// domains, unmap notification, CPU reads and writes, replace, close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, errno as E, testAbi as T, type IommufdFile } from '../src/lib/index.js';
import { errnoOf } from './lib/errno-of.js';

const MiB = 1n << 20n;
const PAGE = 4096n;


function createAccess(f: IommufdFile, ioas: number, pin = true): number {
  return f.testCmd(T.IOMMU_TEST_OP_CREATE_ACCESS, ioas, T.IommuTestCmdCreateAccess, { flags: pin ? T.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES : 0 }).out_access_fd;
}

const pages = (f: IommufdFile, fd: number, iova: bigint, length: bigint, flags = 0) =>
  f.testCmd(T.IOMMU_TEST_OP_ACCESS_PAGES, fd, T.IommuTestCmdAccessPages, { iova, length, flags }).out_access_pages_id;

test('CREATE_ACCESS gives an fd; a pinning access raises the IOAS alignment; items count from 0', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const buf = f.proc.mmap(MiB);
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB });
  const fd = createAccess(f, ioas);
  assert.ok(fd >= 3 && fd !== f.fd);
  assert.equal(f.iovaRanges(ioas).alignment, PAGE);
  assert.equal(errnoOf(() => f.destroy(2)), E.EBUSY, 'the ACCESS object (ID 2) belongs to its driver');
  assert.equal(pages(f, fd, MiB, PAGE), 0);
  assert.equal(pages(f, fd, MiB, PAGE), 1);
  assert.equal(f.proc.mm.pins.get(Number(buf >> 12n)), 1, 'the same interval pins once');
  f.testCmd(T.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, fd, T.IommuTestCmdDestroyAccessPages, { access_pages_id: 0 });
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, fd, T.IommuTestCmdDestroyAccessPages, { access_pages_id: 0 })), E.ENOENT);
  assert.equal(f.proc.mm.pins.get(Number(buf >> 12n)), 1);
  f.proc.closeFd(fd);
  assert.equal(f.proc.mm.pins.covered, 0, 'closing the fd unpins and destroys');
  assert.equal(f.object(2), undefined);
  assert.equal(f.iovaRanges(ioas).alignment, 1n);
});

test('ACCESS_PAGES rules: not pinning EOPNOTSUPP, hole ENOENT, protection EPERM, unaligned EINVAL, > 16 MiB ENOMEM, bad fd EBADFD', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const buf = f.proc.mmap(MiB);
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB, writeable: false });
  const nopin = createAccess(f, ioas, false);
  assert.equal(errnoOf(() => pages(f, nopin, MiB, PAGE)), E.EOPNOTSUPP);
  const fd = createAccess(f, ioas);
  assert.equal(errnoOf(() => pages(f, fd, 4n * MiB, PAGE)), E.ENOENT);
  assert.equal(errnoOf(() => pages(f, fd, MiB, PAGE, T.MOCK_FLAGS_ACCESS_WRITE)), E.EPERM);
  assert.equal(errnoOf(() => pages(f, fd, MiB + 8n, PAGE)), E.EINVAL);
  assert.equal(errnoOf(() => pages(f, fd, MiB, 17n * MiB)), E.ENOMEM);
  assert.equal(errnoOf(() => pages(f, 99, MiB, PAGE)), E.EBADFD);
  assert.equal(errnoOf(() => pages(f, f.fd, MiB, PAGE)), E.EBADFD);
  assert.equal(f.proc.mm.pins.covered, 0);
});

test('unmap tells the access to let go; the pins go with it', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const buf = f.proc.mmap(MiB);
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: MiB });
  const fd = createAccess(f, ioas);
  pages(f, fd, MiB, 4n * PAGE);
  assert.equal(f.proc.mm.pins.covered, 4);
  assert.equal(f.unmap(ioas, MiB, MiB), MiB);
  assert.equal(f.proc.mm.pins.covered, 0);
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, fd, T.IommuTestCmdDestroyAccessPages, { access_pages_id: 0 })), E.ENOENT);
});

test('ACCESS_RW reads and writes the process memory behind the IOVA, across areas', () => {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const buf = f.proc.mmap(2n * PAGE);
  f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: MiB });
  f.map({ ioasId: ioas, userVa: buf + PAGE, length: PAGE, iova: MiB + PAGE });
  const fd = createAccess(f, ioas, false);
  const src = f.proc.mmap(PAGE);
  f.proc.mm.write(src, new TextEncoder().encode('hello, dma'));
  f.testCmd(T.IOMMU_TEST_OP_ACCESS_RW, fd, T.IommuTestCmdAccessRw, { iova: MiB + PAGE - 5n, length: 10n, uptr: src, flags: T.MOCK_ACCESS_RW_WRITE });
  assert.equal(new TextDecoder().decode(f.proc.mm.read(buf + PAGE - 5n, 10)), 'hello, dma');
  const dst = f.proc.mmap(PAGE);
  f.testCmd(T.IOMMU_TEST_OP_ACCESS_RW, fd, T.IommuTestCmdAccessRw, { iova: MiB + PAGE - 5n, length: 10n, uptr: dst, flags: 0 });
  assert.equal(new TextDecoder().decode(f.proc.mm.read(dst, 10)), 'hello, dma');
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_ACCESS_RW, fd, T.IommuTestCmdAccessRw, { iova: MiB + PAGE, length: PAGE + 1n, uptr: dst })), E.ENOENT);
});

test('ACCESS_REPLACE_IOAS moves the access (its pins are dropped first)', () => {
  const f = openIommufd();
  const a = f.ioasAlloc(), b = f.ioasAlloc();
  const buf = f.proc.mmap(MiB);
  f.map({ ioasId: a, userVa: buf, length: MiB, iova: MiB });
  const fd = createAccess(f, a);
  pages(f, fd, MiB, PAGE);
  assert.equal(f.object(a)!.users, 2);
  f.testCmd(T.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, fd, T.IommuTestCmdAccessReplaceIoas, { ioas_id: b });
  assert.equal(f.proc.mm.pins.covered, 0);
  assert.equal(f.object(a)!.users, 1);
  assert.equal(f.object(b)!.users, 2);
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, fd, T.IommuTestCmdAccessReplaceIoas, { ioas_id: 77 })), E.ENOENT);
});
