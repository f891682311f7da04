// IOMMU_IOAS_MAP_FILE and IOMMU_IOAS_CHANGE_PROCESS through the library:
// file pages are lazy (any file maps, only memfds inside their size pin),
// pins count per page of the file whoever maps it, the charge goes to the
// mapping task and moves with CHANGE_PROCESS. Errnos as the kernel answered
// (test/conformance/ioas_map_file.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, IommufdFile, SimProcess, errno as E, testAbi as T } from '../src/lib/index.js';
import { errnoOf } from './lib/errno-of.js';

const PAGE = 4096n;
// IOVAs inside the mock aperture (from 16 UNIT): multiples of this unit.
const UNIT = 1n << 24n;

function setup(o: { uid?: number; rlimitPages?: number; capIpcLock?: boolean } = {}): { f: IommufdFile; ioas: number; mfd: number } {
  const f = openIommufd({ process: {
    uid: o.uid ?? 0,
    ...(o.rlimitPages !== undefined ? { rlimitMemlock: BigInt(o.rlimitPages) * PAGE } : {}),
    ...(o.capIpcLock !== undefined ? { capIpcLock: o.capIpcLock } : {}),
  } });
  const ioas = f.ioasAlloc();
  const mfd = f.proc.memfdCreate(8n * PAGE);
  return { f, ioas, mfd };
}

/** Pins of page `index` of the file behind fd `fd` (0 when no engine holds the file). */
function filePins(f: IommufdFile, ioas: number, iova: bigint): number {
  const area = f.ioas(ioas).iopt.areaAt(iova)!;
  const pages = area.source;
  return pages.mm.pins.get(Number((pages.uptr + area.startByteOf(iova)) >> 12n));
}

test('MAP_FILE: argument checks, EBADF, lazy maps of any file, auto IOVA from the file offset', () => {
  const { f, ioas, mfd } = setup();
  assert.equal(f.mapFile({ ioasId: ioas, fd: mfd, length: 4n * PAGE }), 0x4000n);
  assert.equal(f.mapFile({ ioasId: ioas, fd: mfd, start: 0x3100n, length: 2n * PAGE }), 0x1100n, 'the sub-page offset of start is kept');
  assert.equal(f.mapFile({ ioasId: ioas, fd: mfd, start: 6n * PAGE, length: 4n * PAGE }), 0x8000n, 'past EOF: fine without a domain');
  const other = f.proc.memfdCreate(8n * PAGE, { memfd: false });
  assert.equal(f.mapFile({ ioasId: ioas, fd: other, length: 4n * PAGE, iova: 8n * UNIT }), 8n * UNIT, 'not a memfd: fine without a domain');
  assert.equal(f.mapFile({ ioasId: ioas, fd: f.fd, length: PAGE, iova: 9n * UNIT }), 9n * UNIT, 'even the iommufd itself');
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: -1, length: PAGE })), E.EBADF);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: 999, length: PAGE })), E.EBADF);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: mfd, length: 0n })), E.EINVAL);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: mfd, start: (1n << 64n) - 11n, length: PAGE })), E.EOVERFLOW);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: 99, fd: 999, length: PAGE })), E.ENOENT, 'the IOAS is looked up before the fd');
  const a = f.ioas(ioas).iopt.areaAt(0x4000n)!;
  assert.equal(a.source.kind, 'file');
  assert.equal(a.pages!.file!.isMemfd, true);
  // Unmapping everything lets go of every file.
  const live = f.ctx.engine.frames.liveFiles;
  f.unmap(ioas, 0n, (1n << 64n) - 1n);
  assert.equal(f.ctx.engine.frames.liveFiles, live - 3);
});

test('MAP_FILE pins at fill: memfds inside their size only (EINVAL otherwise), nothing changed on failure', () => {
  const { f, ioas, mfd } = setup();
  const { hwptId } = f.mockDomain(ioas);
  void hwptId;
  assert.equal(f.mapFile({ ioasId: ioas, fd: mfd, length: 4n * PAGE, iova: UNIT }), UNIT);
  assert.equal(filePins(f, ioas, UNIT), 1);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: mfd, start: 6n * PAGE, length: 4n * PAGE, iova: 2n * UNIT })), E.EINVAL);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: mfd, start: 100n * PAGE, length: PAGE, iova: 2n * UNIT })), E.EINVAL);
  assert.equal(f.mapFile({ ioasId: ioas, fd: mfd, start: 4n * PAGE, length: 4n * PAGE, iova: 2n * UNIT }), 2n * UNIT, 'up to EOF');
  const other = f.proc.memfdCreate(8n * PAGE, { memfd: false });
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: other, length: PAGE, iova: 3n * UNIT })), E.EINVAL);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: f.fd, length: PAGE, iova: 3n * UNIT })), E.EINVAL);
  // A size that is not a page multiple: its last page cannot be pinned.
  const odd = f.proc.memfdCreate(PAGE + 100n);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: odd, length: PAGE + 100n, iova: 3n * UNIT })), E.EINVAL);
  assert.equal(f.mapFile({ ioasId: ioas, fd: odd, length: PAGE, iova: 3n * UNIT }), 3n * UNIT);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: odd, start: PAGE, length: 100n, iova: 4n * UNIT })), E.EINVAL);
  assert.equal(f.ioas(ioas).iopt.areaCount, 3);
});

test('attach to an IOAS with a file area past EOF fails EINVAL; without it, it pins', () => {
  const { f, ioas, mfd } = setup();
  f.mapFile({ ioasId: ioas, fd: mfd, start: 6n * PAGE, length: 4n * PAGE, iova: UNIT });
  assert.equal(errnoOf(() => f.mockDomain(ioas)), E.EINVAL);
  f.unmap(ioas, UNIT, 4n * PAGE);
  const other = f.proc.memfdCreate(PAGE, { memfd: false });
  f.mapFile({ ioasId: ioas, fd: other, length: PAGE, iova: UNIT });
  assert.equal(errnoOf(() => f.mockDomain(ioas)), E.EINVAL);
  f.unmap(ioas, UNIT, PAGE);
  f.mapFile({ ioasId: ioas, fd: mfd, length: 8n * PAGE, iova: UNIT });
  f.mockDomain(ioas);
  assert.equal(filePins(f, ioas, UNIT + 7n * PAGE), 1);
});

test('pins are per file page: shared by every mapping of the file, from any process, and by COPY', () => {
  const { f, ioas, mfd } = setup();
  f.mockDomain(ioas);
  f.mapFile({ ioasId: ioas, fd: mfd, length: PAGE, iova: UNIT });
  // A second open of the same memfd (open /proc/self/fd/N) is the same file.
  const again = f.proc.openPlainFile(f.proc.plainFiles.get(mfd)!);
  f.mapFile({ ioasId: ioas, fd: again, length: PAGE, iova: 2n * UNIT, writeable: false });
  assert.equal(filePins(f, ioas, UNIT), 2);
  // Another process with its own /dev/iommu mapping the same file.
  const p2 = new SimProcess();
  const f2 = new IommufdFile(p2, f.ctx.engine);
  const fd2 = p2.openPlainFile(f.proc.plainFiles.get(mfd)!);
  const ioas2 = f2.ioasAlloc();
  f2.mockDomain(ioas2);
  f2.mapFile({ ioasId: ioas2, fd: fd2, length: PAGE, iova: UNIT });
  assert.equal(filePins(f, ioas, UNIT), 3);
  // COPY shares the pages: no new pin.
  const ioas3 = f.ioasAlloc();
  f.mockDomain(ioas3);
  f.copy({ dstIoasId: ioas3, srcIoasId: ioas, srcIova: UNIT, length: PAGE, dstIova: UNIT });
  assert.equal(filePins(f, ioas, UNIT), 3);
  assert.equal(f.ioas(ioas3).iopt.areaAt(UNIT)!.source, f.ioas(ioas).iopt.areaAt(UNIT)!.source);
  f2.close();
  assert.equal(filePins(f, ioas, UNIT), 2);
  // Frames: the file's, not the process's; equal wherever the page is mapped.
  const d = f.ioas(ioas).iopt.domains[0]!;
  const d3 = f.ioas(ioas3).iopt.domains[0]!;
  assert.equal(d.iovaToPhys(UNIT), d.iovaToPhys(2n * UNIT));
  assert.equal(d.iovaToPhys(UNIT), d3.iovaToPhys(UNIT));
});

test('access objects read and write the file; past EOF EINVAL; a read-only mapping EPERM on write', () => {
  const { f, ioas, mfd } = setup();
  const file = f.proc.plainFiles.get(mfd)!;
  file.write(0x10n, new Uint8Array([0x5a, 0x5b]));
  const afd = f.testCmd(T.IOMMU_TEST_OP_CREATE_ACCESS, ioas, T.IommuTestCmdCreateAccess, { flags: 0 }).out_access_fd;
  f.mapFile({ ioasId: ioas, fd: mfd, length: 2n * PAGE, iova: UNIT });
  const buf = f.proc.mmap(PAGE);
  f.testCmd(T.IOMMU_TEST_OP_ACCESS_RW, afd, T.IommuTestCmdAccessRw, { iova: UNIT + 0x10n, length: 2n, uptr: buf, flags: 0 });
  assert.deepEqual([...f.proc.mm.read(buf, 2)], [0x5a, 0x5b]);
  f.proc.mm.write(buf, new Uint8Array([0x11, 0x11]));
  f.testCmd(T.IOMMU_TEST_OP_ACCESS_RW, afd, T.IommuTestCmdAccessRw, { iova: UNIT + 0x20n, length: 2n, uptr: buf, flags: T.MOCK_ACCESS_RW_WRITE });
  assert.deepEqual([...file.read(0x20n, 2)], [0x11, 0x11]);
  f.mapFile({ ioasId: ioas, fd: mfd, start: 6n * PAGE, length: 4n * PAGE, iova: 2n * UNIT });
  f.testCmd(T.IOMMU_TEST_OP_ACCESS_RW, afd, T.IommuTestCmdAccessRw, { iova: 2n * UNIT, length: 8n, uptr: buf, flags: 0 });
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_ACCESS_RW, afd, T.IommuTestCmdAccessRw, { iova: 2n * UNIT + 3n * PAGE, length: 8n, uptr: buf, flags: 0 })), E.EINVAL);
  f.mapFile({ ioasId: ioas, fd: mfd, length: PAGE, iova: 3n * UNIT, writeable: false });
  assert.equal(errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_ACCESS_RW, afd, T.IommuTestCmdAccessRw, { iova: 3n * UNIT, length: 8n, uptr: buf, flags: T.MOCK_ACCESS_RW_WRITE })), E.EPERM);
});

test('file areas are objects; user MAP areas stay compact rows', () => {
  const { f, ioas, mfd } = setup();
  const buf = f.proc.mmap(UNIT);
  f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: UNIT });
  f.mapFile({ ioasId: ioas, fd: mfd, length: PAGE, iova: 2n * UNIT });
  const iopt = f.ioas(ioas).iopt;
  assert.equal(iopt.areaAt(UNIT)!.source.kind, 'user');
  assert.equal(iopt.areaAt(2n * UNIT)!.source.kind, 'file');
  assert.equal(iopt.tableBytes() > 0, true);
});

test('charges: file pages charge the mapping task like user pages (USER and MM modes)', () => {
  const { f, ioas, mfd } = setup({ uid: 4242, rlimitPages: 6 });
  f.mockDomain(ioas);
  const user = f.proc.task.user;
  const base = user.lockedVm;
  f.mapFile({ ioasId: ioas, fd: mfd, length: 4n * PAGE, iova: UNIT });
  assert.equal(user.lockedVm - base, 4);
  assert.equal(f.proc.mm.pinnedVm, 4);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: mfd, start: 4n * PAGE, length: 4n * PAGE, iova: 2n * UNIT })), E.ENOMEM);
  assert.equal(errnoOf(() => f.mapFile({ ioasId: ioas, fd: mfd, length: 4n * PAGE, iova: 2n * UNIT })), E.ENOMEM,
    'each MAP_FILE is its own iopt_pages with its own charge, even over the same file pages');
  assert.equal(f.mapFile({ ioasId: ioas, fd: mfd, length: 2n * PAGE, iova: 2n * UNIT }), 2n * UNIT);
  assert.equal(user.lockedVm - base, 6);
  f.unmap(ioas, 0n, (1n << 64n) - 1n);
  assert.equal(user.lockedVm - base, 0);
  assert.equal(f.proc.mm.pinnedVm, 0);
});

test('CHANGE_PROCESS: EINVAL with a MAP area, ok with none or only file areas; the charge moves to the caller', () => {
  const { f, ioas, mfd } = setup({ uid: 4343, rlimitPages: 16 });
  f.changeProcess();
  const buf = f.proc.mmap(UNIT);
  f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: 4n * UNIT });
  assert.equal(errnoOf(() => f.changeProcess()), E.EINVAL);
  f.unmap(ioas, 4n * UNIT, PAGE);
  f.mockDomain(ioas);
  f.mapFile({ ioasId: ioas, fd: mfd, length: 4n * PAGE, iova: UNIT });
  f.changeProcess();
  assert.equal(f.proc.mm.pinnedVm, 4);
  // A child (same uid) takes it over: its mm now shows the pins, the parent's none.
  const child = new SimProcess({ uid: 4343, rlimitMemlock: 16n * PAGE, capIpcLock: false });
  const cf = f.inheritBy(child);
  const user = f.proc.task.user;
  const before = user.lockedVm;
  cf.changeProcess();
  assert.equal(f.proc.mm.pinnedVm, 0);
  assert.equal(child.mm.pinnedVm, 4);
  assert.equal(user.lockedVm, before, 'same user: charged then uncharged');
  const pages = f.ioas(ioas).iopt.areaAt(UNIT)!.source;
  assert.equal(pages.sourceTask, child.task);
  // Over the caller's limit: ENOMEM and nothing moves.
  const tight = new SimProcess({ uid: 4343, rlimitMemlock: 4n * PAGE, capIpcLock: false });
  const tf = f.inheritBy(tight);
  assert.equal(errnoOf(() => tf.changeProcess()), E.ENOMEM, 'charge first: 4 + 4 pages over a 4-page limit');
  assert.equal(pages.sourceTask, child.task);
  assert.equal(child.mm.pinnedVm, 4);
  assert.equal(user.lockedVm, before);
  // Back to the parent; unmap uncharges whoever owns it now.
  f.changeProcess();
  assert.equal(child.mm.pinnedVm, 0);
  assert.equal(f.proc.mm.pinnedVm, 4);
  f.unmap(ioas, UNIT, 4n * PAGE);
  assert.equal(f.proc.mm.pinnedVm, 0);
  assert.equal(user.lockedVm, before - 4);
  cf.close(); tf.close();
});

test('CHANGE_PROCESS: MM mode charges the caller mm locked_vm; NONE mode moves nothing but the owner', () => {
  const f = openIommufd({ process: { uid: 0, capIpcLock: false } });
  const mfd = f.proc.memfdCreate(8n * PAGE);
  f.option(U_OPTION_RLIMIT_MODE, 'set', 0, 1n);
  const ioas2 = f.ioasAlloc();
  f.mockDomain(ioas2);
  f.mapFile({ ioasId: ioas2, fd: mfd, length: 2n * PAGE, iova: UNIT });
  assert.equal(f.proc.mm.lockedVm, 2);
  const child = new SimProcess({ uid: 0, capIpcLock: false });
  f.inheritBy(child).changeProcess();
  assert.equal(f.proc.mm.lockedVm, 0);
  assert.equal(child.mm.lockedVm, 2);
  assert.equal(child.mm.pinnedVm, 2);
  // As root with CAP_IPC_LOCK the pages are NONE: no charge moves, only the owner
  // (pinned_vm stays with the mapper's mm and is later taken from the new owner's).
  const g = openIommufd({ process: { uid: 0 } });
  const gm = g.proc.memfdCreate(PAGE);
  const gi = g.ioasAlloc();
  g.mockDomain(gi);
  g.mapFile({ ioasId: gi, fd: gm, length: PAGE, iova: UNIT });
  assert.equal(g.proc.mm.pinnedVm, 1);
  const c2 = new SimProcess({ uid: 0 });
  g.inheritBy(c2).changeProcess();
  assert.equal(g.proc.mm.pinnedVm, 1);
  assert.equal(c2.mm.pinnedVm, 0);
  g.unmap(gi, UNIT, PAGE);
  assert.equal(c2.mm.pinnedVm, -1, 'atomic64_sub on the new owner, as the kernel does');
});
const U_OPTION_RLIMIT_MODE = 0;

test('random MAP_FILE/MAP/COPY/UNMAP/CHANGE_PROCESS sequences: file pins, charges and files stay consistent', async () => {
  const fc = (await import('fast-check')).default;
  type Op =
    | { k: 'mapFile'; ioas: number; start: number; n: number; fixed: number | null }
    | { k: 'map'; ioas: number; page: number; n: number }
    | { k: 'copy'; src: number; dst: number; at: number; n: number }
    | { k: 'unmapAll'; ioas: number }
    | { k: 'change'; child: boolean };
  const ioasArb = fc.integer({ min: 0, max: 1 });
  const opArb: import('fast-check').Arbitrary<Op> = fc.oneof(
    fc.record({ k: fc.constant('mapFile' as const), ioas: ioasArb, start: fc.integer({ min: 0, max: 11 }), n: fc.integer({ min: 1, max: 4 }), fixed: fc.option(fc.integer({ min: 0, max: 31 }), { nil: null }) }),
    fc.record({ k: fc.constant('map' as const), ioas: ioasArb, page: fc.integer({ min: 0, max: 7 }), n: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ k: fc.constant('copy' as const), src: ioasArb, dst: ioasArb, at: fc.integer({ min: 0, max: 31 }), n: fc.integer({ min: 1, max: 2 }) }),
    fc.record({ k: fc.constant('unmapAll' as const), ioas: ioasArb }),
    fc.record({ k: fc.constant('change' as const), child: fc.boolean() }),
  );
  let uid = 30000;
  fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops) => {
    const proc = new SimProcess({ uid: uid++, capIpcLock: false });
    const f = new IommufdFile(proc);
    const live0 = f.ctx.engine.frames.liveFiles;
    const child = new SimProcess({ uid: proc.task.user.uid, capIpcLock: false });
    const cf = f.inheritBy(child);
    const ids = [f.ioasAlloc(), f.ioasAlloc()];
    f.mockDomain(ids[0]!);
    const mfd = proc.memfdCreate(10n * PAGE); // pages 10, 11 are past EOF
    const buf = proc.mmap(8n * PAGE);
    const iovaOf = (p: number) => UNIT + BigInt(p) * PAGE;
    for (const op of ops) {
      try {
        switch (op.k) {
          case 'mapFile': f.mapFile({ ioasId: ids[op.ioas]!, fd: mfd, start: BigInt(op.start) * PAGE, length: BigInt(op.n) * PAGE, ...(op.fixed === null ? {} : { iova: iovaOf(op.fixed) }) }); break;
          case 'map': f.map({ ioasId: ids[op.ioas]!, userVa: buf + BigInt(op.page) * PAGE, length: BigInt(op.n) * PAGE }); break;
          case 'copy': {
            const a = [...f.ioas(ids[op.src]!).iopt.areasIn()][0];
            if (a) f.copy({ srcIoasId: ids[op.src]!, dstIoasId: ids[op.dst]!, srcIova: a.iova, length: a.length < BigInt(op.n) * PAGE ? a.length : BigInt(op.n) * PAGE, dstIova: iovaOf(op.at) });
            break;
          }
          case 'unmapAll': f.unmap(ids[op.ioas]!, 0n, (1n << 64n) - 1n); break;
          case 'change': (op.child ? cf : f).changeProcess(); break;
        }
      } catch (e) {
        if (!(e instanceof Error) || e.name !== 'Errno') throw e;
      }
      // Invariants: a file page's pins are the pages objects holding it; each
      // pages object is charged its npinned to its source task's mm; a MAP area
      // makes CHANGE_PROCESS impossible, so user pages always belong to `proc`.
      const seen = new Set<import('../src/core/pages.js').IoptPages>();
      for (const id of ids) for (const a of f.ioas(id).iopt.areasIn()) seen.add(a.source);
      const filePins = new Map<number, number>();
      let pinnedProc = 0, pinnedChild = 0;
      for (const p of seen) {
        if (p.kind === 'file') {
          for (const [s, len] of p.holders.runs()) for (let i = s; i < s + len; i++) {
            const idx = Number(p.uptr >> 12n) + i;
            filePins.set(idx, (filePins.get(idx) ?? 0) + 1);
          }
        } else assert.equal(p.sourceTask, proc.task);
        assert.equal(p.npinned, p.holders.covered);
        if (p.sourceTask === proc.task) pinnedProc += p.npinned; else pinnedChild += p.npinned;
      }
      const fileSpace = [...seen].find((p) => p.file)?.file;
      if (fileSpace) {
        const got = new Map<number, number>();
        for (const [s, len, c] of fileSpace.pins.runs()) for (let i = s; i < s + len; i++) got.set(i, c);
        assert.deepEqual(got, filePins);
        for (const i of got.keys()) assert.ok(i < 10, 'nothing past EOF is pinned');
      }
      assert.equal(proc.mm.pinnedVm, pinnedProc);
      assert.equal(child.mm.pinnedVm, pinnedChild);
      assert.equal(proc.task.user.lockedVm, pinnedProc + pinnedChild);
    }
    cf.close();
    f.close();
    assert.equal(f.ctx.engine.frames.liveFiles, live0, 'closing lets go of every file');
    assert.equal(proc.task.user.lockedVm, 0);
  }), { numRuns: 150 });
});
