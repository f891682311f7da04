// The e1000e model's interrupts as qemu 7.2's e1000e_core.c raises them,
// through vfio-pci to a client's eventfds: ICS sets causes; a cause enabled
// in IMS asserts INTx (until ICR's read-to-clear lowers it), sends MSI, or
// under MSI-X goes to the vector IVAR maps its queue (or OTHER) to, once per
// cause (qemu 7.2's msi_causes_pending); EIAC clears auto-cleared causes. Also the
// NVM checksum qemu computes. Register values themselves are checked against
// the oracle by test/conformance/e1000e_regs.golden.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vfio as V } from '../src/lib/index.js';
import { e1000eNvm } from '../src/hw/e1000e-nvm.js';
import { openNic0, wr, rd, type Nic0 } from './lib/nic0.js';

type M = Nic0;

function machine(): M {
  const m = openNic0();
  m.d.enableBusMaster(); // MSI and MSI-X messages are memory writes by the function
  return m;
}

function setIrqs(m: M, index: number, fds: number[]): void {
  const b = new Uint8Array(20 + 4 * fds.length);
  const flags = V.VFIO_IRQ_SET_DATA_EVENTFD | V.VFIO_IRQ_SET_ACTION_TRIGGER;
  b.set(V.VfioIrqSet.encode({ argsz: b.length, flags, index, start: 0, count: fds.length }));
  const dv = new DataView(b.buffer);
  fds.forEach((v, i) => dv.setInt32(20 + 4 * i, v, true));
  assert.equal(m.d.ioctlRaw(V.VFIO_DEVICE_SET_IRQS, b).errno, 0);
}

const efd = (m: M, fd: number) => m.p.eventfds.get(fd)!.read();

const ICR = 0xc0, ICS = 0xc8, IMS = 0xd0, IMC = 0xd8, EIAC = 0xdc, IVAR = 0xe4;
const LSC = 1 << 2, RXQ0 = 1 << 20, TXQ0 = 1 << 22, OTHER = 1 << 24, ASSERTED = 0x80000000;

test('e1000e MSI-X: ICS raises the vector IVAR maps the cause to, once per cause', () => {
  const m = machine();
  const fds = [m.p.eventfdCreate(), m.p.eventfdCreate(), m.p.eventfdCreate()];
  setIrqs(m, V.VFIO_PCI_MSIX_IRQ_INDEX, fds);
  rd(m, ICR); // the link change the guest driver left pending
  // RXQ0 -> vector 0, TXQ0 -> vector 1, OTHER -> vector 2 (bit 3 of each entry: valid).
  wr(m, IVAR, 0x8 | (0x9 << 8) | (0xa << 16));
  wr(m, ICS, LSC);
  assert.deepEqual(fds.map((f) => efd(m, f)), [0n, 0n, 0n], 'LSC (OTHER) not enabled in IMS: nothing');
  wr(m, IMS, OTHER);
  assert.deepEqual(fds.map((f) => efd(m, f)), [0n, 0n, 1n], 'enabling OTHER sends the pending cause to vector 2');
  assert.equal(rd(m, ICR), (ASSERTED | OTHER | LSC) >>> 0, 'under MSI-X an ICR read with IMS set keeps the causes');
  wr(m, ICS, LSC);
  assert.equal(efd(m, fds[2]!), 0n, 'a cause already signalled is not signalled again');
  wr(m, ICR, OTHER);
  assert.equal(rd(m, ICR), 0, 'writing OTHER to ICR clears the causes it stands for');
  wr(m, ICS, LSC);
  assert.equal(efd(m, fds[2]!), 0n, 'qemu 7.2 keeps a signalled cause in msi_causes_pending until a send without it');
  wr(m, IMS, TXQ0 | RXQ0);
  wr(m, EIAC, TXQ0);
  wr(m, ICS, TXQ0);
  assert.deepEqual(fds.map((f) => efd(m, f)), [0n, 1n, 0n], 'TXQ0 to vector 1');
  assert.equal(rd(m, ICR) & TXQ0, 0, 'EIAC cleared TXQ0 from ICR');
  assert.equal(rd(m, IMS) & TXQ0, 0, 'and from IMS (IAME off)');
  wr(m, IVAR, 0);
  wr(m, ICS, RXQ0);
  assert.deepEqual(fds.map((f) => efd(m, f)), [0n, 0n, 0n], 'an invalid IVAR entry raises nothing');
});

test('e1000e INTx: an enabled cause asserts the line, the ICR read clears the causes and lowers it', () => {
  const m = machine();
  const e = m.p.eventfdCreate();
  setIrqs(m, V.VFIO_PCI_INTX_IRQ_INDEX, [e]);
  rd(m, ICR);
  wr(m, ICS, LSC);
  assert.equal(efd(m, e), 0n, 'IMS 0: the line stays low');
  wr(m, IMS, LSC);
  assert.equal(efd(m, e), 1n, 'IMS enables the pending cause: asserted');
  assert.equal(rd(m, ICR), (ASSERTED | LSC) >>> 0);
  assert.equal(rd(m, ICR), 0, 'read to clear');
  assert.equal(m.d.ioctlRaw(V.VFIO_DEVICE_SET_IRQS, V.VfioIrqSet.encode({
    argsz: 20, flags: V.VFIO_IRQ_SET_DATA_NONE | V.VFIO_IRQ_SET_ACTION_UNMASK, index: V.VFIO_PCI_INTX_IRQ_INDEX, start: 0, count: 1,
  })).errno, 0);
  assert.equal(efd(m, e), 0n, 'the line was lowered: the unmask delivers nothing');
  wr(m, ICS, LSC);
  assert.equal(efd(m, e), 0n, 'within the ITR interval (500 x 256 ns) the assertion is postponed');
  m.engine.clock.advance(500 * 256 - 1);
  assert.equal(efd(m, e), 0n);
  m.engine.clock.advance(1);
  assert.equal(efd(m, e), 1n, 'asserted when the interval ends');
  wr(m, IMC, LSC);
  assert.equal(rd(m, IMS), 0);
});

test('e1000e MSI: an enabled cause sends the one vector', () => {
  const m = machine();
  const e = m.p.eventfdCreate();
  setIrqs(m, V.VFIO_PCI_MSI_IRQ_INDEX, [e]);
  rd(m, ICR);
  wr(m, IMS, LSC);
  wr(m, ICS, LSC);
  assert.equal(efd(m, e), 1n);
});

test('e1000e NVM: words 0-2 are the MAC, the words sum to 0xbaba', () => {
  const w = e1000eNvm([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
  assert.deepEqual([...w.slice(0, 3)], [0x5452, 0x1200, 0x5634]);
  assert.equal(w.reduce((a, b) => (a + b) & 0xffff, 0), 0xbaba);
  assert.equal(w[0x3f], 0x1ce3, 'as the oracle read it');
});
