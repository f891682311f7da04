// The e1000e's MSI-X Pending Bit Array as a client reads it through the
// vfio-pci BAR3 region: a vector raised while masked (no eventfd, so the
// host kernel's table entry is masked) sets its bit; the device clears it
// itself on an IMS write of a cause IVAR maps to it when CTRL_EXT.PBA_CLR is
// set (qemu 7.2's e1000e_msix_clear) and on a PBACLR write
// (e1000e_set_pbaclr); PBA writes are ignored; giving the vector an eventfd
// delivers what waited and clears the bit, also after MSI-X was disabled
// and enabled again. Measured on the oracle in
// test/conformance/nic_pba.golden.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vfio as V } from '../src/lib/index.js';
import { openNic0, wr as wrReg, rd as rdReg } from './lib/nic0.js';

const ICR = 0xc0, ICS = 0xc8, IMS = 0xd0, IMC = 0xd8, IVAR = 0xe4, CTRL_EXT = 0x18, PBACLR = 0x5b68;
const LSC = 1 << 2, RXQ0 = 1 << 20, TXQ0 = 1 << 22, OTHER = 1 << 24, PBA_CLR = 1 << 31;
const BAR3 = 3n << 40n, PBA = 0x2000n;

function setup() {
  const m = openNic0(), { engine, p, d, buf } = m;
  d.enableBusMaster();
  const wr = (off: number, v: number) => wrReg(m, off, v);
  const rd = (off: number) => rdReg(m, off);
  /** The PBA's 8 bytes through the region. */
  const pba = () => {
    assert.equal(d.file.read!(p.task, buf, 8, BAR3 + PBA), 8);
    return [...p.mm.read(buf, 8)];
  };
  const pbaWrite = (v: number) => {
    p.mm.write(buf, new Uint8Array(8).fill(v));
    assert.equal(d.file.write!(p.task, buf, 8, BAR3 + PBA), 8);
  };
  const fds = [p.eventfdCreate(), p.eventfdCreate(), p.eventfdCreate()];
  const setIrqs = (count: number) => {
    const b = new Uint8Array(20 + 4 * count), dv = new DataView(b.buffer);
    const data = count ? V.VFIO_IRQ_SET_DATA_EVENTFD : V.VFIO_IRQ_SET_DATA_NONE;
    b.set(V.VfioIrqSet.encode({ argsz: b.length, flags: data | V.VFIO_IRQ_SET_ACTION_TRIGGER, index: V.VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count }));
    for (let i = 0; i < count; i++) dv.setInt32(20 + 4 * i, fds[i]!, true);
    assert.equal(d.ioctlRaw(V.VFIO_DEVICE_SET_IRQS, b).errno, 0);
  };
  const irqs = (v: number) => p.eventfds.get(fds[v]!)!.read();
  return { engine, wr, rd, pba, pbaWrite, setIrqs, irqs };
}

test('e1000e MSI-X PBA: masked vectors pend; IMS with PBA_CLR and PBACLR clear them', () => {
  const { engine, wr, rd, pba, pbaWrite, setIrqs, irqs } = setup();
  setIrqs(1); // vector 0 only: 1 and 2 stay masked
  wr(IMC, 0xffffffff);
  wr(ICR, 0xffffffff);
  wr(IVAR, 0x8 | (0x9 << 8) | (0xa << 16)); // RXQ0 -> 0, TXQ0 -> 1, OTHER -> 2
  wr(IMS, RXQ0 | TXQ0 | OTHER | LSC);
  assert.deepEqual(pba(), [0, 0, 0, 0, 0, 0, 0, 0]);
  wr(ICS, TXQ0);
  assert.deepEqual(pba(), [0x02, 0, 0, 0, 0, 0, 0, 0], 'TXQ0 raised masked vector 1');
  wr(ICS, LSC);
  assert.deepEqual(pba(), [0x06, 0, 0, 0, 0, 0, 0, 0], 'LSC (OTHER) raised masked vector 2');
  wr(ICS, RXQ0);
  assert.equal(irqs(0), 1n, 'vector 0 has an eventfd: delivered, not pending');
  assert.equal(pba()[0], 0x06);
  wr(IMS, TXQ0);
  assert.equal(pba()[0], 0x06, 'without PBA_CLR an IMS write leaves the PBA');
  wr(CTRL_EXT, rd(CTRL_EXT) | PBA_CLR);
  wr(IMS, LSC);
  assert.equal(pba()[0], 0x06, 'LSC is not a cause IVAR maps');
  wr(IMS, TXQ0);
  assert.equal(pba()[0], 0x04, 'IMS TXQ0 with PBA_CLR cleared vector 1');
  wr(IMS, RXQ0);
  assert.equal(pba()[0], 0x04, 'vector 0 was not pending');
  pbaWrite(0xff);
  assert.equal(pba()[0], 0x04, 'PBA writes are ignored');
  wr(PBACLR, 0x4);
  assert.equal(pba()[0], 0, 'PBACLR bit 2 cleared vector 2');
  assert.equal(rd(PBACLR), 0x4);
  // Pending again, then the vector gets its eventfd: sent at once.
  engine.clock.advance(1_000_000); // past the vectors' minimum EITR interval
  wr(ICR, 0xffffffff);
  wr(ICS, TXQ0 | OTHER);
  assert.equal(pba()[0], 0x06);
  setIrqs(0);
  assert.equal(pba()[0], 0x06, 'disabling MSI-X leaves the PBA (the function\'s)');
  setIrqs(3);
  assert.equal(pba()[0], 0, 'unmasking delivered the waiting messages');
  assert.equal(irqs(1), 1n);
  assert.equal(irqs(2), 1n);
  assert.equal(irqs(0), 0n);
});
