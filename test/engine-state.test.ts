// Everything mutable belongs to an engine: two engines in one process number
// their devices, groups, mms and files alone, the file-frame ids of files
// nobody holds any more are forgotten (a long-lived server does not grow with
// every file ever mapped), and what an engine owns goes with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openIommufd, Engine, IommufdFile, RunDomain, SimProcess, physAddr, testAbi as T } from '../src/lib/index.js';
import { PLATFORMS } from '../src/hw/platform.js';
import type { IommufdDevice } from '../src/core/device.js';
import { pfnBase } from '../src/hw/memory.js';

const PAGE = 4096n;

function mockDevice(f: IommufdFile): IommufdDevice {
  const ioas = f.ioasAlloc();
  const { idevId } = f.mockDomain(ioas);
  return f.object(idevId) as IommufdDevice;
}

test('two engines share no mock device names or group ids', () => {
  const a = openIommufd(), b = openIommufd();
  const da = mockDevice(a);
  const db = mockDevice(b);
  assert.equal(da.dev.name, db.dev.name, 'each engine names its first mock device alone');
  assert.equal(da.dev.group.id, db.dev.group.id);
  assert.notEqual(da.dev.group, db.dev.group);
  assert.notEqual(mockDevice(a).dev.name, da.dev.name, 'a second device of one engine gets the next name');
});

test('two engines on one platform number their PCI groups alone, as the oracle measured them', () => {
  const platform = PLATFORMS['qemu-vtd']!;
  const groups = () => new Engine({ platform }).vfioDevices.map((d) => d.pci.group.id);
  assert.deepEqual(groups(), [1, 2]);
  assert.deepEqual(groups(), [1, 2], 'a second engine starts again at group 1');
});

test('the file-frame id map shrinks when files are released (MAP_FILE, and pins through a shared mapping)', () => {
  const f = new IommufdFile(new SimProcess({ uid: 0 }), new Engine());
  const frames = f.ctx.engine.frames;
  const ioas = f.ioasAlloc();
  f.mockDomain(ioas);
  assert.equal(frames.fileFrameIds, 0);
  for (let i = 0; i < 20; i++) {
    const mfd = f.proc.memfdCreate(4n * PAGE);
    f.mapFile({ ioasId: ioas, fd: mfd, length: 4n * PAGE, iova: 1n << 24n });
    // qemu's way: guest RAM is a memfd mapped shared, and IOAS_MAP takes its VA.
    const va = f.proc.mmapFile(mfd, 4n * PAGE);
    f.map({ ioasId: ioas, userVa: va, length: 4n * PAGE, iova: 1n << 25n });
    assert.equal(frames.fileFrameIds, 1, 'one live file, one frame space id');
    assert.equal(frames.liveFiles, 1);
    f.unmap(ioas, 1n << 24n, 4n * PAGE);
    assert.equal(frames.fileFrameIds, 1, 'still pinned through the mapping');
    f.unmap(ioas, 1n << 25n, 4n * PAGE);
    f.proc.mm.munmap(va, 4n * PAGE);
    f.proc.closeFd(mfd);
    assert.equal(frames.fileFrameIds, 0, 'released with its last holder');
    assert.equal(frames.liveFiles, 0);
  }
});

test('a DMA to a frame nobody owns gives no file a frame id (the server looks files up, it does not number them)', () => {
  const engine = new Engine();
  const proc = new SimProcess({ engine });
  engine.memory.addAddressSpace(proc.mm);
  for (let i = 0; i < 5; i++) proc.mmapFile(proc.memfdCreate(2n * PAGE), 2n * PAGE);
  const nobody = pfnBase(engine.frames.allocMmId()) << 12n;
  assert.equal(engine.memory.present(nobody, 8, false), false);
  assert.throws(() => engine.memory.read(nobody, 8), (e: Error & { code?: number }) => e.code === 14);
  assert.equal(engine.frames.fileFrameIds, 0, 'no id for the five files mapped shared');
  // A file frame someone named (a process looking through its mapping) is found.
  const va = proc.mmapFile(proc.memfdCreate(PAGE), PAGE);
  proc.mm.write(va, new Uint8Array([7]));
  assert.equal(engine.memory.read(physAddr(proc.mm, va), 1)[0], 7);
});

test('two engines number their frames and keep their page caches alone', () => {
  const e1 = new Engine(), e2 = new Engine();
  const a = new IommufdFile(new SimProcess({ engine: e1 }), e1);
  const b = new IommufdFile(new SimProcess({ engine: e2 }), e2);
  assert.equal(a.proc.mm.frames, e1.frames);
  assert.equal(b.proc.mm.frames, e2.frames);
  assert.equal(a.proc.mm.id, b.proc.mm.id, 'each machine numbers its mms from 1');
  // One file (one identity) mapped on both machines: a page cache entry on each, pins apart.
  const mfd = a.proc.memfdCreate(4n * PAGE);
  const file = a.proc.plainFiles.get(mfd)!;
  const bfd = b.proc.openPlainFile(file);
  const ia = a.ioasAlloc(), ib = b.ioasAlloc();
  a.mockDomain(ia);
  b.mockDomain(ib);
  a.mapFile({ ioasId: ia, fd: mfd, length: 4n * PAGE, iova: 1n << 24n });
  b.mapFile({ ioasId: ib, fd: bfd, length: 2n * PAGE, iova: 1n << 24n });
  const sa = e1.frames.liveFile(file.identity)!, sb = e2.frames.liveFile(file.identity)!;
  assert.notEqual(sa, sb);
  assert.equal(sa.pins.covered, 4);
  assert.equal(sb.pins.covered, 2, "e2's pins are not e1's");
  b.unmap(ib, 1n << 24n, 2n * PAGE);
  assert.equal(e2.frames.liveFiles, 0);
  assert.equal(e1.frames.liveFiles, 1, "releasing e2's file leaves e1's");
  // A process whose frames are one machine's cannot open another's files.
  assert.throws(() => e2.open('/dev/iommu', a.proc.task), (e: Error & { code?: number }) => e.code === 22);
  assert.throws(() => b.proc.joinEngine(e1), (e: Error & { code?: number }) => e.code === 22);
});

test("an engine's frames and file spaces go with it: nothing else holds them", async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const made = (): { frames: WeakRef<object>; space: WeakRef<object> } => {
    const f = new IommufdFile(new SimProcess({ uid: 0 }), new Engine());
    const ioas = f.ioasAlloc();
    const mfd = f.proc.memfdCreate(4n * PAGE);
    f.mapFile({ ioasId: ioas, fd: mfd, length: 4n * PAGE, iova: 1n << 24n });
    const frames = f.ctx.engine.frames;
    const space = frames.liveFile(f.proc.plainFiles.get(mfd)!.identity)!;
    assert.equal(frames.liveFiles, 1);
    // The file stays mapped: the engine is dropped with it live.
    return { frames: new WeakRef(frames), space: new WeakRef(space) };
  };
  const refs = made();
  for (let i = 0; i < 10 && (refs.frames.deref() || refs.space.deref()); i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(refs.frames.deref(), undefined, "the engine's frames were collected with it");
  assert.equal(refs.space.deref(), undefined, 'and its live file space');
});

test('IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT sets its own engine\'s limit only', () => {
  const a = openIommufd(), b = openIommufd();
  a.testCmd(T.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 0, T.IommuTestCmdMemoryLimit, { limit: 4096 });
  assert.equal(a.ctx.engine.testMemoryLimit, 4096);
  assert.equal(b.ctx.engine.testMemoryLimit, 65536);
});

test("RLIMIT_MEMLOCK accounting is per machine: one engine's users are not another's", () => {
  const rlimitMemlock = 8n * PAGE;
  const e1 = new Engine(), e2 = new Engine();
  // Two processes of uid 1000 on e1 share user->locked_vm; the same uid on e2 starts at 0.
  const a = new IommufdFile(new SimProcess({ uid: 1000, rlimitMemlock }), e1);
  const b = new IommufdFile(new SimProcess({ uid: 1000, rlimitMemlock }), e1);
  const c = new IommufdFile(new SimProcess({ uid: 1000, rlimitMemlock }), e2);
  for (const f of [a, b, c]) f.addDomain(f.ioasAlloc(), new RunDomain());
  const map = (f: IommufdFile, pages: bigint) => {
    const buf = f.proc.mmap(pages * PAGE);
    return f.map({ ioasId: 1, userVa: buf, length: pages * PAGE });
  };
  map(a, 6n);
  assert.equal(a.proc.task.user.lockedVm, 6);
  assert.equal(b.proc.task.user, a.proc.task.user, 'one uid, one account on one machine');
  assert.throws(() => map(b, 4n), (e: Error & { code?: number }) => e.code === 12, 'the user is over its limit on e1: ENOMEM');
  assert.equal(c.proc.task.user.lockedVm, 0);
  map(c, 8n);
  assert.equal(c.proc.task.user.lockedVm, 8, 'the same uid on e2 has its own account');
  assert.equal(a.proc.task.user.lockedVm, 6);
  assert.notEqual(c.proc.task.user, a.proc.task.user);
});
