// VFIO_DEVICE_IOEVENTFD's behaviour (src/core/vfio-pci-ioeventfd.ts), which
// test/conformance/vfio_reset.golden cannot show: a signal from the user on
// a registered eventfd writes the registered data to the BAR; removing the
// registration (fd -1) or closing the device stops it and drops the
// eventfd reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vfio as V } from '../src/lib/index.js';
import { openNic0 } from './lib/nic0.js';

function machine() {
  const { engine, p, d } = openNic0();
  const writes: Array<[number, number, number, bigint]> = [];
  const model = engine.vfioDevices[0]!.pci.model;
  const orig = model.barWrite.bind(model);
  model.barWrite = (bar, off, size, val) => { writes.push([bar, off, size, val]); orig(bar, off, size, val); };
  const ioeventfd = (flags: number, offset: bigint, data: bigint, fd: number) =>
    d.ioctlRaw(V.VFIO_DEVICE_IOEVENTFD, V.VfioDeviceIoeventfd.encode({ argsz: 32, flags, offset, data, fd, reserved: 0 })).errno;
  return { p, d, writes, ioeventfd };
}

test('a signalled ioeventfd writes its data; fd -1 removes it', () => {
  const m = machine();
  const e = m.p.eventfdCreate();
  const efd = m.p.eventfds.get(e)!;
  assert.equal(m.ioeventfd(V.VFIO_DEVICE_IOEVENTFD_32, 0x2800n, 0x1234_5678_9abcn, e), 0);
  assert.equal(m.ioeventfd(V.VFIO_DEVICE_IOEVENTFD_16, (2n << 40n) + 4n, 0xbeefn, e), 0);
  efd.write();
  assert.deepEqual(m.writes, [[0, 0x2800, 4, 0x5678_9abcn], [2, 4, 2, 0xbeefn]]);
  assert.equal(efd.refs, 2);
  assert.equal(m.ioeventfd(V.VFIO_DEVICE_IOEVENTFD_32, 0x2800n, 0x1234_5678_9abcn, -1), 0);
  m.writes.length = 0;
  efd.write();
  assert.deepEqual(m.writes, [[2, 4, 2, 0xbeefn]]);
  m.d.close();
  m.writes.length = 0;
  efd.write();
  assert.deepEqual(m.writes, []);
  assert.equal(efd.refs, 0);
});

test('ioeventfd rules: EEXIST, ENODEV, the MSI-X table, 8 bytes', () => {
  const m = machine();
  const e = m.p.eventfdCreate();
  assert.equal(m.ioeventfd(V.VFIO_DEVICE_IOEVENTFD_32, 0x100n, 1n, e), 0);
  assert.equal(m.ioeventfd(V.VFIO_DEVICE_IOEVENTFD_32, 0x100n, 1n, e), 17);
  assert.equal(m.ioeventfd(V.VFIO_DEVICE_IOEVENTFD_32, 0x100n, 2n, -1), 19);
  assert.equal(m.ioeventfd(V.VFIO_DEVICE_IOEVENTFD_32, 3n << 40n, 1n, e), 22);
  assert.equal(m.ioeventfd(V.VFIO_DEVICE_IOEVENTFD_64, 0x100n, 1n, e), 22);
});

test('a memory BAR ioeventfd does nothing while memory decoding is off', () => {
  const m = machine();
  const e = m.p.eventfdCreate();
  assert.equal(m.ioeventfd(V.VFIO_DEVICE_IOEVENTFD_32, 0x2800n, 5n, e), 0);
  const cfg = (7n << 40n) + 4n;
  const buf = m.p.mm.mmap(4096);
  assert.equal(m.d.file.read!(m.p.task, buf, 2, cfg), 2);
  const cmd = m.p.mm.read(buf, 2);
  m.p.mm.write(buf, Uint8Array.of(cmd[0]! & ~2, cmd[1]!));
  m.d.file.write!(m.p.task, buf, 2, cfg);
  m.p.eventfds.get(e)!.write();
  assert.deepEqual(m.writes, []);
  m.p.mm.write(buf, Uint8Array.of(cmd[0]! | 2, cmd[1]!));
  m.d.file.write!(m.p.task, buf, 2, cfg);
  m.p.eventfds.get(e)!.write();
  assert.deepEqual(m.writes, [[0, 0x2800, 4, 5n]]);
});
