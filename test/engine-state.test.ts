// Everything mutable belongs to an engine: two engines in one process number
// their devices and groups alone, and the file-frame ids of files nobody
// holds any more are forgotten (a long-lived server does not grow with every
// file ever mapped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, Engine, FileSpace, IommufdFile, RunDomain, SimProcess, testAbi as T } from '../src/lib/index.js';
import { PLATFORMS } from '../src/hw/platform.js';
import type { IommufdDevice } from '../src/core/device.js';

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

test('the file-frame id map shrinks when files are released', () => {
  const before = FileSpace.frameIds;
  const f = new IommufdFile(new SimProcess({ uid: 0 }), new Engine());
  const ioas = f.ioasAlloc();
  for (let i = 0; i < 20; i++) {
    const mfd = f.proc.memfdCreate(4n * PAGE);
    f.mapFile({ ioasId: ioas, fd: mfd, length: 4n * PAGE, iova: 1n << 24n });
    assert.equal(FileSpace.frameIds, before + 1, 'one live file, one frame space id');
    f.unmap(ioas, 1n << 24n, 4n * PAGE);
    f.proc.closeFd(mfd);
    assert.equal(FileSpace.frameIds, before, 'released with its last holder');
  }
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
