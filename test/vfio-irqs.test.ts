// vfio-pci's interrupts (src/core/vfio-pci-intrs.ts) driven by the device
// model: what test/conformance/vfio_irqs.golden cannot show (a real e1000e
// on the oracle raises nothing unless programmed): INTx asserted by the
// function is automasked and signalled once, held pending while masked and
// delivered by the unmask, held entirely while INTx is disabled in the
// command register; MSI/MSI-X vectors reach their own eventfds; closing the
// device releases every eventfd reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vfio as V } from '../src/lib/index.js';
import type { PciInterruptSink } from '../src/hw/pci.js';
import { openNic0, type Nic0 } from './lib/nic0.js';

type M = Nic0;
const machine = openNic0;

const sink = (m: M): PciInterruptSink => m.engine.vfioDevices[0]!.pci.model.irqSink!;

/** SET_IRQS: 0 or the errno. */
function setIrqs(m: M, flags: number, index: number, start: number, count: number, data: number[] = []): number {
  const size = flags & V.VFIO_IRQ_SET_DATA_EVENTFD ? 4 : flags & V.VFIO_IRQ_SET_DATA_BOOL ? 1 : 0;
  const b = new Uint8Array(20 + size * data.length);
  b.set(V.VfioIrqSet.encode({ argsz: b.length, flags, index, start, count }));
  const dv = new DataView(b.buffer);
  data.forEach((v, i) => (size === 4 ? dv.setInt32(20 + 4 * i, v, true) : dv.setUint8(20 + i, v)));
  return m.d.ioctlRaw(V.VFIO_DEVICE_SET_IRQS, b).errno;
}

const TRIG = V.VFIO_IRQ_SET_ACTION_TRIGGER;
const EFD = V.VFIO_IRQ_SET_DATA_EVENTFD;
const NONE = V.VFIO_IRQ_SET_DATA_NONE;

function efd(m: M, fd: number): bigint { return m.p.eventfds.get(fd)!.read(); }

test('INTx from the function: automasked, pending while masked, delivered by the unmask', () => {
  const m = machine();
  const e = m.p.eventfdCreate();
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_INTX_IRQ_INDEX, 0, 1, [e]), 0);
  sink(m).setIntx(true);
  assert.equal(efd(m, e), 1n, 'asserted: signalled');
  sink(m).setIntx(false);
  sink(m).setIntx(true);
  assert.equal(efd(m, e), 0n, 'automasked: the second assertion waits');
  assert.equal(setIrqs(m, NONE | V.VFIO_IRQ_SET_ACTION_UNMASK, V.VFIO_PCI_INTX_IRQ_INDEX, 0, 1), 0);
  assert.equal(efd(m, e), 1n, 'unmask with the line asserted: delivered at once, masked again');
  sink(m).setIntx(false);
  assert.equal(setIrqs(m, NONE | V.VFIO_IRQ_SET_ACTION_UNMASK, V.VFIO_PCI_INTX_IRQ_INDEX, 0, 1), 0);
  assert.equal(efd(m, e), 0n, 'unmask with the line low: nothing');
  sink(m).setIntx(true);
  assert.equal(efd(m, e), 1n, 'unmasked again: the next assertion is signalled');
  sink(m).setIntx(false);
  assert.equal(setIrqs(m, NONE | V.VFIO_IRQ_SET_ACTION_UNMASK, V.VFIO_PCI_INTX_IRQ_INDEX, 0, 1), 0);
  // Masked by the user: the line waits for the unmask.
  assert.equal(setIrqs(m, NONE | V.VFIO_IRQ_SET_ACTION_MASK, V.VFIO_PCI_INTX_IRQ_INDEX, 0, 1), 0);
  sink(m).setIntx(true);
  assert.equal(efd(m, e), 0n);
  assert.equal(setIrqs(m, NONE | V.VFIO_IRQ_SET_ACTION_UNMASK, V.VFIO_PCI_INTX_IRQ_INDEX, 0, 1), 0);
  assert.equal(efd(m, e), 1n);
});

test('INTx disabled in the virtual command register holds delivery; clearing it unmasks', () => {
  const m = machine();
  const e = m.p.eventfdCreate();
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_INTX_IRQ_INDEX, 0, 1, [e]), 0);
  const cfg = (7n << 40n) + 4n;
  const buf = m.p.mm.mmap(4096);
  assert.equal(m.d.file.read!(m.p.task, buf, 2, cfg), 2);
  const cmd = m.p.mm.read(buf, 2);
  const write = (v: number) => { m.p.mm.write(buf, Uint8Array.of(v & 0xff, v >> 8)); m.d.file.write!(m.p.task, buf, 2, cfg); };
  const base = cmd[0]! | (cmd[1]! << 8);
  write(base | 0x400);
  sink(m).setIntx(true);
  assert.equal(efd(m, e), 0n, 'disabled: nothing');
  write(base & ~0x400);
  assert.equal(efd(m, e), 1n, 'enabled again: the pending line is delivered (the unmask)');
});

test('MSI-X and MSI vectors reach their own eventfds; other interrupt types are not delivered', () => {
  const m = machine();
  const [a, b] = [m.p.eventfdCreate(), m.p.eventfdCreate()];
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_MSIX_IRQ_INDEX, 0, 3, [a, -1, b]), 0);
  sink(m).msi(2, true);
  sink(m).msi(1, true);
  sink(m).msi(0, false); // not MSI: dropped
  assert.deepEqual([efd(m, a), efd(m, b)], [0n, 1n]);
  sink(m).msi(0, true);
  sink(m).msi(0, true);
  assert.deepEqual([efd(m, a), efd(m, b)], [2n, 0n]);
  sink(m).setIntx(true); // INTx while MSI-X: nothing
  assert.deepEqual([efd(m, a), efd(m, b)], [0n, 0n]);
  assert.equal(setIrqs(m, NONE | TRIG, V.VFIO_PCI_MSIX_IRQ_INDEX, 0, 0), 0);
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_MSI_IRQ_INDEX, 0, 1, [a]), 0);
  sink(m).msi(0, false);
  assert.equal(efd(m, a), 1n);
});

test('closing the device file releases every eventfd reference and disconnects the model', () => {
  const m = machine();
  const fds = [0, 1, 2, 3].map(() => m.p.eventfdCreate());
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, [fds[0]!, fds[1]!]), 0);
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_ERR_IRQ_INDEX, 0, 1, [fds[2]!]), 0);
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_REQ_IRQ_INDEX, 0, 1, [fds[3]!]), 0);
  // Replacing a vector's eventfd drops the old reference.
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_MSIX_IRQ_INDEX, 1, 1, [fds[0]!]), 0);
  const refs = () => fds.map((fd) => m.p.eventfds.get(fd)!.refs);
  assert.deepEqual(refs(), [2, 0, 1, 1]);
  const model = m.engine.vfioDevices[0]!.pci.model;
  m.d.close();
  assert.deepEqual(refs(), [0, 0, 0, 0]);
  assert.equal(model.irqSink, undefined);
});

test('an INTx unmask eventfd (virqfd): the user signalling it unmasks, and a pending line is delivered', () => {
  const m = machine();
  const [e, u] = [m.p.eventfdCreate(), m.p.eventfdCreate()];
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_INTX_IRQ_INDEX, 0, 1, [e]), 0);
  assert.equal(setIrqs(m, EFD | V.VFIO_IRQ_SET_ACTION_UNMASK, V.VFIO_PCI_INTX_IRQ_INDEX, 0, 1, [u]), 0);
  sink(m).setIntx(true);
  assert.equal(efd(m, e), 1n);
  sink(m).setIntx(false);
  sink(m).setIntx(true);
  assert.equal(efd(m, e), 0n, 'automasked');
  m.p.eventfds.get(u)!.write();
  assert.equal(efd(m, e), 1n, 'the unmask eventfd delivered the pending line');
  assert.equal(m.p.eventfds.get(u)!.count, 0n, 'its counter was taken');
  // fd -1 removes the virqfd.
  assert.equal(setIrqs(m, EFD | V.VFIO_IRQ_SET_ACTION_UNMASK, V.VFIO_PCI_INTX_IRQ_INDEX, 0, 1, [-1]), 0);
  assert.equal(m.p.eventfds.get(u)!.refs, 0);
  m.p.eventfds.get(u)!.write();
  assert.equal(efd(m, e), 0n);
});

test('an MSI-X vector raised without an eventfd is pending until one is set', () => {
  const m = machine();
  const [a, b] = [m.p.eventfdCreate(), m.p.eventfdCreate()];
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, [a]), 0);
  sink(m).msi(3, true);
  sink(m).msi(3, true);
  assert.deepEqual([efd(m, a), efd(m, b)], [0n, 0n]);
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_MSIX_IRQ_INDEX, 3, 1, [b]), 0);
  assert.equal(efd(m, b), 1n, 'the pending message, once');
  // The PBA is the function's: disabling MSI-X keeps what was pending, sent
  // when the vector is enabled and unmasked again (nic_pba.golden).
  sink(m).msi(4, true);
  assert.equal(setIrqs(m, NONE | TRIG, V.VFIO_PCI_MSIX_IRQ_INDEX, 0, 0), 0);
  assert.equal(sink(m).msixPending?.(4), true);
  assert.equal(setIrqs(m, EFD | TRIG, V.VFIO_PCI_MSIX_IRQ_INDEX, 4, 1, [b]), 0);
  assert.equal(efd(m, b), 1n);
  assert.equal(sink(m).msixPending?.(4), false);
});
