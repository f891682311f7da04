// The e1000e's interrupt moderation as qemu 7.2's e1000e_core.c does it, on
// the machine's virtual clock (deterministic): ITR and EITR throttling (one
// interrupt per interval, the postponed one at its end), TIDV/TADV and
// RDTR/RADV delays with their FPD flush bits, the auto-mask and auto-clear
// registers (IAM with IAME and EIAME, EIAC), msi_causes_pending, and the
// Linux driver's "other" vector (an IMS write with LSC pending raises
// nothing new: no storm). Also the clock itself and the PHY's 500 ms
// autonegotiation restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MachineClock } from '../src/hw/clock.js';
import { E1000eCore, type E1000eIrqMode, type E1000eBus } from '../src/hw/e1000e-core.js';
import { vfio as V } from '../src/lib/index.js';
import { openNic0, wr as wrReg } from './lib/nic0.js';

const ICR = 0xc0, ITR = 0xc4, ICS = 0xc8, IMS = 0xd0, IMC = 0xd8, EIAC = 0xdc, IAM = 0xe0, IVAR = 0xe4, EITR = 0xe8;
const CTRL = 0x0, STATUS = 0x8, CTRL_EXT = 0x18, MDIC = 0x20;
const TDBAL = 0x3800, TDLEN = 0x3808, TDH = 0x3810, TDT = 0x3818, TIDV = 0x3820, TADV = 0x382c, TCTL = 0x400;
const RDBAL = 0x2800, RDLEN = 0x2808, RDH = 0x2810, RDT = 0x2818, RDTR = 0x2820, RADV = 0x282c, RCTL = 0x100;
const TXDW = 1 << 0, TXQE = 1 << 1, LSC = 1 << 2, RXT0 = 1 << 7, RXQ0 = 1 << 20, TXQ0 = 1 << 22;
const TXQ1 = 1 << 23, RXQ1 = 1 << 21, OTHER = 1 << 24, ASSERTED = 0x80000000;
const EIAME = 1 << 24, IAME = 1 << 27, PBA_CLR = 1 << 31, INT_TIMERS_CLEAR_ENA = 1 << 29;
const IMS_ALL = 0x01f7_82d7; // every cause IMS takes (qemu's ims_valid_mask)
const FPD = 0x80000000;
const US = 1000;

/** A core on a virtual clock, its interrupts recorded, memory a flat 64 KiB. */
function nic(mode: E1000eIrqMode) {
  const clock = new MachineClock();
  const msi: number[] = [];
  let intx = false, intxRaises = 0;
  const mem = new Uint8Array(0x10000);
  const bus: E1000eBus = {
    read: (a, out) => { out.set(mem.subarray(Number(a), Number(a) + out.length)); return true; },
    write: (a, d) => { mem.set(d, Number(a)); return true; },
    mapRead: (a, out) => { out.set(mem.subarray(Number(a), Number(a) + out.length)); return 'mapped'; },
    master: () => true,
  };
  const sent: number[] = [];
  const core = new E1000eCore([0x52, 0x54, 0, 0x12, 0x34, 0x56], {
    mode: () => mode,
    setIntx: (l) => { if (l && !intx) intxRaises++; intx = l; },
    msi: (v) => { msi.push(v); },
  }, clock);
  core.bus = bus;
  core.net = { send: (_f, len) => { sent.push(len); }, rxReady: () => {} };
  const at = (t: number) => clock.advance(t - clock.now());
  core.read(ICR); // the link change the oracle's NICs hold
  return { clock, core, msi, mem, sent, at, intx: () => intx, intxRaises: () => intxRaises };
}

const count = (a: number[], v: number) => a.filter((x) => x === v).length;
/** What a driver's queue interrupt handler ends with: re-enable the cause; then the cause again. */
function kick(core: E1000eCore, cause: number): void { core.write(IMS, cause); core.write(ICS, cause); }

test('clock: virtual time fires timers in deadline order, each at its deadline; del and re-mod', () => {
  const c = new MachineClock();
  const seen: string[] = [];
  const a = c.timer(() => seen.push(`a@${c.now()}`));
  const b = c.timer(() => { seen.push(`b@${c.now()}`); a.mod(c.now() + 5); });
  const d = c.timer(() => seen.push(`d@${c.now()}`));
  a.mod(30); b.mod(10); d.mod(12);
  d.del();
  assert.equal(d.pending, false);
  c.advance(14);
  assert.deepEqual(seen, ['b@10'], 'b fired; a was moved to 15 by b; d was deleted');
  assert.equal(c.now(), 14);
  assert.equal(a.pending, true);
  c.advance(1);
  assert.deepEqual(seen, ['b@10', 'a@15']);
  assert.equal(c.pendingTimers, 0);
});

test('clock: in real time a host timeout fires the due timers, then afterFire', async () => {
  const c = new MachineClock();
  c.advance(1000);
  let after = 0;
  const fired: number[] = [];
  c.runRealTime({ afterFire: () => { after++; } });
  assert.ok(c.now() >= 1000, 'real time continues from the virtual time');
  const t = c.now();
  c.timer(() => fired.push(1)).mod(t + 2e6);
  c.timer(() => fired.push(2)).mod(t + 1e6);
  await new Promise((r) => setTimeout(r, 30));
  c.stop();
  assert.deepEqual(fired, [2, 1]);
  assert.ok(after >= 1);
});

test('e1000e EITR: one MSI-X interrupt per vector per interval (EITR x 256 ns), the postponed one at its end', () => {
  const n = nic('msix');
  const { core } = n;
  core.write(IVAR, 0x8 | (0x9 << 8)); // RXQ0 -> 0, TXQ0 -> 1
  core.write(EIAC, RXQ0 | TXQ0);
  core.write(IMS, RXQ0 | TXQ0);
  core.write(EITR, 100);
  assert.equal(core.read(EITR), 100, 'EITR reads what the driver wrote');
  core.write(EITR + 4, 1000);
  assert.equal(core.read(EITR + 4), 1000);
  core.write(ICS, RXQ0);
  assert.deepEqual(n.msi, [0], 'the first interrupt goes at once');
  assert.equal(core.read(ICR) & RXQ0, 0, 'EIAC cleared RXQ0 from ICR');
  assert.equal(core.read(IMS), TXQ0, 'and, IAME being off, from IMS: the driver re-enables it');
  kick(core, RXQ0);
  kick(core, TXQ0);
  assert.deepEqual(n.msi, [0, 1], 'vector 0 is within its interval; vector 1 has its own');
  // Vector 0: EITR 100 is below qemu's minimum of 500: 500 x 256 ns = 128 us.
  n.at(128 * US - 1);
  assert.deepEqual(n.msi, [0, 1]);
  n.at(128 * US);
  assert.deepEqual(n.msi, [0, 1, 0], 'the postponed interrupt at the end of the interval');
  kick(core, TXQ0);
  n.at(255 * US);
  assert.deepEqual(n.msi, [0, 1, 0], 'vector 1: 1000 x 256 ns = 256 us');
  n.at(256 * US);
  assert.deepEqual(n.msi, [0, 1, 0, 1]);
});

test('e1000e EITR: a burst of causes in one interval gives 2 interrupts, not one per cause', () => {
  const n = nic('msix');
  const { core } = n;
  core.write(IVAR, 0x8);
  core.write(EIAC, RXQ0);
  core.write(IMS, RXQ0);
  for (let i = 0; i < 100; i++) { kick(core, RXQ0); n.at(n.clock.now() + 1 * US); }
  assert.equal(count(n.msi, 0), 1, '100 causes within 100 us: 1 at once, the rest postponed');
  n.at(1000 * US);
  // qemu 7.2 never clears eitr_intr_pending: after the first postponement
  // every expiry of the interval sends once more.
  assert.equal(count(n.msi, 0), 2);
});

test('e1000e ITR: MSI is throttled by ITR; the expiry forgets msi_causes_pending and sends again', () => {
  const n = nic('msi');
  const { core } = n;
  core.write(ITR, 1000); // 256 us
  assert.equal(core.read(ITR), 1000);
  core.write(IMS, LSC | TXDW);
  core.write(ICS, LSC);
  assert.deepEqual(n.msi, [0]);
  core.write(ICS, TXDW);
  assert.deepEqual(n.msi, [0], 'a new cause within the interval: postponed');
  n.at(256 * US);
  assert.deepEqual(n.msi, [0, 0], 'sent at the end of the interval');
  core.write(ITR, 0);
  assert.equal(core.read(ITR), 0, 'ITR reads back 0');
});

test('e1000e ITR: INTx assertion is postponed by ITR too; IAC counts the raises', () => {
  const n = nic('intx');
  const { core } = n;
  core.write(IMS, LSC);
  core.write(ICS, LSC);
  assert.equal(n.intx(), true);
  core.read(ICR);
  assert.equal(n.intx(), false, 'the ICR read cleared the cause and lowered the line');
  core.write(ICS, LSC);
  assert.equal(n.intx(), false, 'within 500 x 256 ns: postponed');
  n.at(128 * US);
  assert.equal(n.intx(), true);
  assert.equal(core.read(0x4100), 2, 'IAC: two assertions');
});

test('e1000e other vector: the Linux driver re-enabling OTHER|LSC with LSC pending raises nothing new', () => {
  const n = nic('msix');
  const { core } = n;
  // e1000_configure_msix: RXQ0 -> 0, TXQ0 -> 1, OTHER -> 2; IAME off, EIAME and PBA_CLR on.
  core.write(IVAR, 0x8 | (0x9 << 8) | (0xa << 16) | 0x80000000);
  core.write(EIAC, RXQ0 | RXQ1 | TXQ0 | TXQ1);
  core.write(IAM, (~(RXQ0 | RXQ1 | TXQ0 | TXQ1) | OTHER | LSC) >>> 0);
  core.write(CTRL_EXT, (core.read(CTRL_EXT) & ~IAME) | EIAME | PBA_CLR);
  core.write(IMS, RXQ0 | TXQ0 | OTHER | LSC);
  core.write(ICS, LSC);
  assert.deepEqual(n.msi, [2], 'LSC goes to the other vector');
  assert.equal(core.read(IAM) & OTHER, 0, 'EIAME cleared OTHER from IAM (qemu 7.2)');
  assert.equal(core.read(IMS) & (OTHER | LSC), OTHER | LSC, 'IMS keeps OTHER and LSC');
  // e1000_msix_other: read ICR, then IMS = OTHER | LSC; the driver repeats it.
  for (let i = 0; i < 1000; i++) {
    const icr = core.read(ICR);
    assert.equal(icr, (ASSERTED | OTHER | LSC) >>> 0, 'under MSI-X with IAME off the read does not clear');
    core.write(IMS, OTHER | LSC);
    n.at(n.clock.now() + 10 * US);
  }
  assert.deepEqual(n.msi, [2], 'one interrupt in 10 ms, not one per IMS write');
  // Clearing the causes (ICR write of OTHER clears what it stands for) then a new LSC sends again.
  core.write(ICR, OTHER);
  assert.equal(core.read(ICS), 0);
  core.write(ICS, LSC);
  assert.deepEqual(n.msi, [2, 2]);
});

test('e1000e auto-mask: IAME with an asserted ICR read clears the IAM bits from IMS; EIAC clears IMS without IAME', () => {
  const n = nic('msix');
  const { core } = n;
  core.write(IVAR, 0x8 | (0xa << 16));
  core.write(CTRL_EXT, core.read(CTRL_EXT) | IAME);
  core.write(IAM, LSC | OTHER);
  core.write(IMS, LSC | OTHER | RXQ0);
  core.write(ICS, LSC);
  assert.deepEqual(n.msi, [2]);
  assert.equal(core.read(ICR), (ASSERTED | LSC | OTHER) >>> 0);
  assert.equal(core.read(IMS), RXQ0, 'IAME: the asserted read masked IAM (LSC, OTHER)');
  assert.equal(core.read(ICR), 0, 'and cleared ICR');
  // IAME off: EIAC's cause leaves ICR and IMS after the vector fires.
  core.write(CTRL_EXT, core.read(CTRL_EXT) & ~IAME);
  core.write(EIAC, RXQ0);
  core.write(ICS, RXQ0);
  assert.deepEqual(n.msi, [2, 0]);
  assert.equal(core.read(IMS), 0, 'EIAC without IAME clears the cause from IMS');
  assert.equal(core.read(ICS), (ASSERTED | RXQ0) >>> 0, 'ICS is the copy qemu took before the auto-clear');
  assert.equal(core.read(ICR), ASSERTED, 'ICR lost RXQ0 (ASSERTED stays until the next update)');
  // IMC masks, a later IMS unmasks a cause still pending.
  core.write(ICS, RXQ0);
  assert.deepEqual(n.msi, [2, 0]);
  n.at(128 * US);
  core.write(IMS, RXQ0);
  assert.deepEqual(n.msi, [2, 0, 0], 'the pending cause goes when IMS enables it');
  core.write(IMC, RXQ0);
  assert.equal(core.read(IMS), 0);
});

/** One legacy TX descriptor (EOP, IFCS, RS, `ide`) at slot `i` of a ring at 0x1000, then TDT. */
function txOne(n: ReturnType<typeof nic>, i: number, ide: boolean): void {
  const d = new DataView(n.mem.buffer, 0x1000 + 16 * i, 16);
  d.setBigUint64(0, 0x4000n, true);
  d.setUint32(8, (60 | (1 << 24) | (1 << 25) | (1 << 27) | (ide ? 1 << 31 : 0)) >>> 0, true);
  d.setUint32(12, 0, true);
  n.core.write(TDT, i + 1);
}

function txSetup(n: ReturnType<typeof nic>): void {
  n.core.write(TDBAL, 0x1000); n.core.write(TDLEN, 256); n.core.write(TDH, 0); n.core.write(TDT, 0);
  n.core.write(TCTL, 2);
}

test('e1000e TIDV: IDE descriptors hold TXDW back TIDV x 1.024 us, re-armed by each pass; TADV bounds it', () => {
  const n = nic('msi');
  const { core } = n;
  txSetup(n);
  core.write(IMS, TXDW);
  core.read(ICR);
  n.msi.length = 0;
  core.write(TIDV, 100); // 102.4 us
  core.write(TADV, 150); // 153.6 us
  txOne(n, 0, true);
  assert.equal(n.sent.length, 1);
  assert.deepEqual(n.msi, [], 'the write-back cause waits');
  n.at(60 * US);
  txOne(n, 1, true);
  // TIDV restarted by the second pass (162.4 us), but TADV, armed by the
  // first pass and not re-armed, expires first: 153.6 us.
  n.at(153_600 - 1);
  assert.deepEqual(n.msi, []);
  n.at(153_600);
  assert.deepEqual(n.msi, [0], 'TADV fired the delayed causes');
  assert.equal(core.read(ICR), (ASSERTED | TXDW | TXQE) >>> 0);
});

test('e1000e TIDV: without IDE the cause is immediate; FPD while TIDV runs flushes', () => {
  const n = nic('msi');
  const { core } = n;
  txSetup(n);
  core.write(IMS, TXDW);
  core.read(ICR);
  core.write(TIDV, 1000);
  txOne(n, 0, false);
  assert.deepEqual(n.msi, [0], 'no IDE: at once');
  core.read(ICR);
  n.at(1000 * US);
  txOne(n, 1, true);
  assert.deepEqual(n.msi, [0]);
  n.at(1010 * US);
  core.write(TIDV, 1000 | FPD);
  assert.deepEqual(n.msi, [0, 0], 'FPD flushed the delayed causes');
  assert.equal(core.read(TIDV), 0, 'qemu 7.2 has no read handler for TIDV');
});

/** Receive ring of 32 descriptors at 0x2000 (RXDMT0 at 16 free), all with the buffer at 0x8000. */
function rxSetup(n: ReturnType<typeof nic>): void {
  for (let i = 0; i < 32; i++) new DataView(n.mem.buffer, 0x2000 + 16 * i, 16).setBigUint64(0, 0x8000n, true);
  n.core.write(RDBAL, 0x2000); n.core.write(RDLEN, 512); n.core.write(RDH, 0);
  n.core.write(RCTL, 0x2 | (1 << 15));
  n.core.write(RDT, 31);
}

const bcast = () => { const f = new Uint8Array(60).fill(0xff, 0, 6); f[12] = 0x88; f[13] = 0xb5; return f; };

test('e1000e RDTR: RXT0 waits RDTR x 1.024 us (re-armed per frame), RADV bounds it, FPD flushes', () => {
  const n = nic('msi');
  const { core } = n;
  rxSetup(n);
  core.write(IMS, RXT0);
  core.read(ICR);
  core.write(RDTR, 10); // 10.24 us
  assert.equal(core.read(RDTR), 10);
  core.write(RADV, 25); // 25.6 us
  assert.equal(core.receive(bcast()), 60);
  assert.deepEqual(n.msi, []);
  n.at(8 * US);
  core.receive(bcast());
  n.at(18 * US);
  assert.deepEqual(n.msi, [], 'the second frame restarted RDTR (8 + 10.24 us)');
  n.at(18_240);
  assert.deepEqual(n.msi, [0]);
  assert.equal(core.read(ICR), (ASSERTED | RXT0) >>> 0);
  // RADV: frames every 8 us keep RDTR from expiring; RADV fires 25.6 us after the first.
  n.at(200 * US);
  core.receive(bcast());
  for (let t = 208; t <= 224; t += 8) { n.at(t * US); core.receive(bcast()); }
  n.at(200 * US + 25_600 - 1);
  assert.deepEqual(n.msi, [0]);
  n.at(200 * US + 25_600);
  assert.deepEqual(n.msi, [0, 0], 'RADV');
  core.read(ICR);
  // FPD: flush while RDTR runs.
  n.at(400 * US);
  core.receive(bcast());
  core.write(RDTR, 10 | FPD);
  assert.deepEqual(n.msi, [0, 0, 0]);
  assert.equal(core.read(RDTR), 10, '16 bits kept');
});

test('e1000e RDTR 0 and MSI-X: no delay', () => {
  const n = nic('msix');
  const { core } = n;
  rxSetup(n);
  core.write(IVAR, 0x8);
  core.write(IMS, RXQ0);
  core.write(RDTR, 100);
  core.receive(bcast());
  assert.deepEqual(n.msi, [0], 'MSI-X: receive causes are never delayed');
  const m = nic('intx');
  rxSetup(m);
  m.core.write(IMS, RXT0);
  m.core.read(ICR);
  m.core.receive(bcast());
  assert.equal(m.intx(), true, 'RDTR 0: at once');
});

test('e1000e INT_TIMERS_CLEAR_ENA: writing every cause to IMS fires the delayed causes', () => {
  const n = nic('msi');
  const { core } = n;
  txSetup(n);
  core.write(CTRL_EXT, core.read(CTRL_EXT) | INT_TIMERS_CLEAR_ENA);
  core.write(TIDV, 1000);
  txOne(n, 0, true);
  assert.deepEqual(n.msi, [], 'IMS 0');
  core.write(IMS, TXDW);
  assert.deepEqual(n.msi, [], 'not every cause: the causes still wait');
  assert.equal(core.read(ICS) & TXDW, 0, 'not yet in ICR');
  core.write(IMS, IMS_ALL);
  assert.deepEqual(n.msi, [0]);
  assert.equal(core.read(ICS) & (TXDW | TXQE), TXDW | TXQE);
});

test('e1000e PHY: restarting autonegotiation drops the link for 500 ms, then LSC', () => {
  const n = nic('intx');
  const { core } = n;
  core.write(IMS, LSC);
  const mdicWrite = (reg: number, v: number) => core.write(MDIC, (1 << 26) | (1 << 21) | (reg << 16) | v);
  const mdicRead = (reg: number) => { core.write(MDIC, (2 << 26) | (1 << 21) | (reg << 16)); return core.read(MDIC) & 0xffff; };
  assert.equal(core.read(STATUS) & 2, 2, 'link up');
  mdicWrite(0, 0x1000 | 0x0200 | 0x0140); // autoneg enable + restart, 1000 full duplex
  assert.equal(mdicRead(0), 0x1140, 'restart self-clears');
  assert.equal(core.read(STATUS) & 2, 0, 'link down while negotiating');
  assert.equal(mdicRead(1) & 0x24, 0, 'PHY status: no link, autonegotiation not complete');
  n.at(500e6 - 1);
  assert.equal(core.read(STATUS) & 2, 0);
  n.at(500e6);
  assert.equal(core.read(STATUS) & 2, 2, 'link up after 500 ms');
  assert.equal(mdicRead(1) & 0x24, 0x24);
  assert.equal(mdicRead(5) & 0x4000, 0x4000, 'link partner acknowledged');
  assert.equal(core.read(CTRL) & (3 << 27), 3 << 27, 'flow control on (TFCE, RFCE)');
  assert.equal(n.intx(), true);
  assert.equal(core.read(ICR), (ASSERTED | LSC) >>> 0);
});

test('e1000e through vfio-pci: MSI-X needs bus mastering; the engine clock drives EITR to the eventfd', () => {
  const m = openNic0(), { engine, p, d } = m;
  const wr = (off: number, v: number) => wrReg(m, off, v);
  const fds = [p.eventfdCreate(), p.eventfdCreate()];
  const b = new Uint8Array(28), dv = new DataView(b.buffer);
  b.set(V.VfioIrqSet.encode({ argsz: 28, flags: V.VFIO_IRQ_SET_DATA_EVENTFD | V.VFIO_IRQ_SET_ACTION_TRIGGER, index: V.VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: 2 }));
  dv.setInt32(20, fds[0]!, true); dv.setInt32(24, fds[1]!, true);
  assert.equal(d.ioctlRaw(V.VFIO_DEVICE_SET_IRQS, b).errno, 0);
  wr(IVAR, 0x8);
  wr(EIAC, RXQ0);
  wr(IMS, RXQ0);
  wr(ICS, RXQ0);
  const e0 = () => p.eventfds.get(fds[0]!)!.read();
  assert.equal(e0(), 0n, 'without bus mastering the message goes nowhere');
  wr(ICR, 0xffffffff);
  engine.clock.advance(128 * US); // the dropped message still started an EITR interval
  d.enableBusMaster();
  wr(IMS, RXQ0);
  wr(ICS, RXQ0);
  wr(IMS, RXQ0);
  wr(ICS, RXQ0);
  assert.equal(e0(), 1n);
  engine.clock.advance(128 * US);
  assert.equal(e0(), 1n, 'the postponed interrupt, at the end of the interval');
  assert.equal(p.eventfds.get(fds[1]!)!.read(), 0n);
});
