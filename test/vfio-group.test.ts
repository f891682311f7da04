// The legacy VFIO group API on iommufd (src/core/vfio-group.ts): the rules
// test/conformance/vfio_group.golden shows, plus what a client cannot see
// there: the group's device is the cdev's device, and MAP_DMA through the
// container reaches the device's IOMMU domain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, SimProcess, Errno, errno as E } from '../src/lib/index.js';
import { PLATFORMS } from '../src/hw/platform.js';
import * as V from '../src/uapi/vfio.js';
import type { EmulatedFile } from '../src/core/file.js';
import { VfioDeviceFile } from '../src/core/vfio-device.js';
import { IommufdCtx } from '../src/core/iommufd.js';
import type { PciFunction } from '../src/hw/pci.js';
import { pathsEnv } from '../src/server/server.js';

interface Ctx { engine: Engine; p: SimProcess; scratch: bigint }

function setup(): Ctx {
  const engine = new Engine({ platform: PLATFORMS['qemu-vtd']! });
  const p = new SimProcess();
  return { engine, p, scratch: p.mm.mmap(8192) };
}

function open(c: Ctx, path: string): { f: EmulatedFile; fd: number } {
  const f = c.engine.open(path, c.p.task);
  return { f, fd: c.p.addFile(f) };
}

/** An ioctl with `bytes` at the scratch page (or a plain value): the result or -errno. */
function ioctl(c: Ctx, f: EmulatedFile, req: number, bytes?: Uint8Array | bigint): number {
  let arg = c.scratch;
  if (typeof bytes === 'bigint') arg = bytes;
  else if (bytes) c.p.mm.write(c.scratch, bytes);
  try {
    return f.ioctl(c.p.task, req, arg);
  } catch (e) {
    if (e instanceof Errno) return -e.code;
    throw e;
  }
}

const i32 = (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setInt32(0, v, true); return b; };
const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);

function status(c: Ctx, g: EmulatedFile): number {
  assert.equal(ioctl(c, g, V.VFIO_GROUP_GET_STATUS, V.VfioGroupStatus.encode({ argsz: 8, flags: 0 })), 0);
  return V.VfioGroupStatus.decode(c.p.mm.read(c.scratch, 8)).flags;
}

function mapDma(c: Ctx, container: EmulatedFile, va: bigint, iova: bigint, size: bigint): number {
  return ioctl(c, container, V.VFIO_IOMMU_MAP_DMA, V.VfioIommuType1DmaMap.encode({ argsz: 32, flags: 3, vaddr: va, iova, size }));
}

test('the group nodes: one per iommu_group, open once', () => {
  const c = setup();
  assert.deepEqual(c.engine.vfioGroups.map((g) => g.path), ['/dev/vfio/1', '/dev/vfio/2']);
  assert.ok(c.engine.paths().includes('/dev/vfio/vfio'));
  const g = open(c, '/dev/vfio/1');
  assert.throws(() => c.engine.open('/dev/vfio/1', c.p.task), (e: Errno) => e.code === E.EBUSY);
  assert.throws(() => c.engine.open('/dev/vfio/3', c.p.task), (e: Errno) => e.code === E.ENOENT);
  g.f.release();
  open(c, '/dev/vfio/1');
});

test('GET_DEVICE_FD: the same device as the cdev, enabled, attached to the compat IOAS; MAP_DMA reaches its domain', () => {
  const c = setup();
  const g = open(c, '/dev/vfio/1').f;
  const ct = open(c, '/dev/vfio/vfio');
  assert.equal(status(c, g), V.VFIO_GROUP_FLAGS_VIABLE);
  assert.equal(ioctl(c, g, V.VFIO_GROUP_GET_DEVICE_FD, cstr('0000:00:01.0')), -E.EINVAL);
  assert.equal(ioctl(c, g, V.VFIO_GROUP_SET_CONTAINER, i32(ct.fd)), 0);
  assert.equal(status(c, g), V.VFIO_GROUP_FLAGS_VIABLE | V.VFIO_GROUP_FLAGS_CONTAINER_SET);
  assert.equal(ioctl(c, ct.f, V.VFIO_SET_IOMMU, BigInt(V.VFIO_TYPE1v2_IOMMU)), 0);
  const buf = c.p.mm.mmap(0x10000);
  c.p.mm.write(buf, new Uint8Array([0xab]));
  assert.equal(mapDma(c, ct.f, buf, 0x100000n, 0x10000n), 0);

  assert.equal(ioctl(c, g, V.VFIO_GROUP_GET_DEVICE_FD, cstr('0000:00:02.0')), -E.ENODEV);
  const fd = ioctl(c, g, V.VFIO_GROUP_GET_DEVICE_FD, cstr('0000:00:01.0'));
  assert.ok(fd >= 3);
  const df = c.p.files.get(fd) as VfioDeviceFile;
  assert.ok(df instanceof VfioDeviceFile);
  const vdev = c.engine.vfioDevices[0]!;
  assert.equal(df.device, vdev);
  assert.equal(vdev.openCount, 1);
  assert.ok(vdev.config, 'vfio_pci_core_enable ran');
  assert.ok(vdev.iommufdAttached);
  // The mapping made before the device came is in its domain, and one made after too.
  const pci = vdev.pci as PciFunction;
  const dom = pci.group.domain!;
  assert.ok(dom);
  const mapped = (iova: bigint) => (dom as unknown as { iovaToPhys(i: bigint): bigint | undefined }).iovaToPhys(iova);
  assert.notEqual(mapped(0x100000n), undefined);
  assert.equal(mapDma(c, ct.f, buf, 0x200000n, 0x1000n), 0);
  assert.notEqual(mapped(0x200000n), undefined);
  assert.equal(mapped(0x300000n), undefined);
  // The MSI window is reserved now that the device is attached.
  assert.equal(mapDma(c, ct.f, buf, 0xfee00000n, 0x1000n), -E.EINVAL);

  // A second device file opens the device again without a second bind.
  const fd2 = ioctl(c, g, V.VFIO_GROUP_GET_DEVICE_FD, cstr('0000:00:01.0 '));
  assert.ok(fd2 >= 3 && fd2 !== fd);
  assert.equal(vdev.openCount, 2);
  assert.equal(ioctl(c, c.p.files.get(fd2)!, V.VFIO_DEVICE_BIND_IOMMUFD,
    V.VfioDeviceBindIommufd.encode({ argsz: 24, flags: 0, iommufd: ct.fd, out_devid: 0, token_uuid_ptr: 0n })), -E.EINVAL);
  c.p.closeFd(fd);
  assert.equal(vdev.openCount, 1);
  assert.ok(vdev.idev);
  c.p.closeFd(fd2);
  assert.equal(vdev.openCount, 0);
  assert.equal(vdev.idev, undefined);
  assert.equal(vdev.config, undefined, 'vfio_pci_core_disable ran');
  assert.equal(pci.group.dmaOwner, undefined);
});

test('a bound cdev keeps its group closed, an open group keeps the cdev from binding', () => {
  const c = setup();
  const io = open(c, '/dev/iommu');
  const cdev = open(c, '/dev/vfio/devices/vfio0');
  const bind = () => ioctl(c, cdev.f, V.VFIO_DEVICE_BIND_IOMMUFD,
    V.VfioDeviceBindIommufd.encode({ argsz: 24, flags: 0, iommufd: io.fd, out_devid: 0, token_uuid_ptr: 0n }));
  const g = open(c, '/dev/vfio/1');
  assert.equal(bind(), -E.EBUSY);
  g.f.release();
  assert.equal(bind(), 0);
  assert.throws(() => c.engine.open('/dev/vfio/1', c.p.task), (e: Errno) => e.code === E.EBUSY);
  cdev.f.release();
  open(c, '/dev/vfio/1');
});

test('the group holds its container: closing the iommufd fd keeps the context until UNSET_CONTAINER', () => {
  const c = setup();
  const g = open(c, '/dev/vfio/1').f;
  const io = open(c, '/dev/iommu');
  const ictx = io.f as IommufdCtx;
  assert.equal(ioctl(c, g, V.VFIO_GROUP_SET_CONTAINER, i32(io.fd)), 0);
  assert.ok(ictx.vfioIoas, 'SET_CONTAINER made a compat IOAS');
  c.p.closeFd(io.fd);
  assert.ok(ictx.vfioIoas, 'still alive: the group holds it');
  assert.equal(ioctl(c, g, V.VFIO_GROUP_UNSET_CONTAINER), 0);
  assert.equal(ictx.vfioIoas, undefined, 'released with the last holder');
  assert.equal(ioctl(c, g, V.VFIO_GROUP_UNSET_CONTAINER), -E.EINVAL);
});

test('GET_DEVICE_FD names: prefix rules, options, a string longer than a page', () => {
  const c = setup();
  const g = open(c, '/dev/vfio/1').f;
  const io = open(c, '/dev/iommu');
  assert.equal(ioctl(c, g, V.VFIO_GROUP_SET_CONTAINER, i32(io.fd)), 0);
  const get = (s: string) => ioctl(c, g, V.VFIO_GROUP_GET_DEVICE_FD, cstr(s));
  assert.equal(get('0000:00:01'), -E.ENODEV);
  assert.equal(get('0000:00:01.0x'), -E.ENODEV);
  assert.equal(get('0000:00:01.0 foo'), -E.EINVAL);
  assert.equal(get('0000:00:01.0 vf_token=2ab74924-c335-45f4-9b16-8569e5b08258'), -E.EINVAL);
  assert.equal(get(`0000:00:01.0${' '.repeat(5000)}`), -E.EINVAL);
  assert.equal(ioctl(c, g, V.VFIO_GROUP_GET_DEVICE_FD, 0n), -E.EFAULT);
  assert.ok(get(`0000:00:01.0${' '.repeat(4000)}`) >= 3);
});

test('device numbers: /dev/vfio/vfio is misc 196, a group node 251 with the minor vfio gave it', () => {
  const c = setup();
  const minor = (p: string) => c.engine.vfioGroups.find((g) => g.path === p)?.minor;
  const env = pathsEnv(c.engine.paths(), minor).split(':');
  assert.ok(env.includes('/dev/vfio/vfio=10,196'));
  assert.ok(env.includes('/dev/vfio/1=251,0'));
  assert.ok(env.includes('/dev/vfio/2=251,1'));
  // Without the engine's minors a group path is no device node.
  assert.ok(pathsEnv(c.engine.paths()).split(':').includes('/dev/vfio/1'));
});
