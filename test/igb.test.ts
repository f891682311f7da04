// qemu 10's igb (82576 PF) on the qemu-vtd-igb platform: registers at reset,
// NVM and PHY, the interrupt registers, autonegotiation, and the data path
// through MAC loopback (the oracle's igb has no peer): TX descriptors read
// and written back by DMA through the IOMMU domain, the frame DMA'd into the
// RX buffer with its advanced descriptor write-back, statistics, MSI-X
// vectors through IVAR, and a DMA fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, vfio as V, type VfioDeviceHandle, type IommufdFile } from '../src/lib/index.js';
import { IgbModel, IGB_FIRMWARE_SLOT3 } from '../src/hw/igb.js';
import { MachineClock } from '../src/hw/clock.js';

const CTRL = 0x0, STATUS = 0x8, EERD = 0x14, MDIC = 0x20, ICR = 0xc0, ICS = 0xc8, IMS = 0xd0, RCTL = 0x100, TCTL = 0x400;
const GPIE = 0x1514, EICS = 0x1520, EIMS = 0x1524, EIAC = 0x152c, EICR = 0x1580, EITR0 = 0x1680, IVAR0 = 0x1700;
const IVAR_MISC = 0x1740, RXPBS = 0x2404, RAL0 = 0x5400, RAH0 = 0x5404;
const RDBAL = 0xc000, RDLEN = 0xc008, SRRCTL = 0xc00c, RDH = 0xc010, RDT = 0xc018;
const TDBAL = 0xe000, TDLEN = 0xe008, TDH = 0xe010, TDT = 0xe018, TDWBAL = 0xe038;
const GPRC = 0x4074, GPTC = 0x4080, GORCL = 0x4088, RUC = 0x40a4;
const DEXT_DATA = (1 << 29) | (3 << 20), EOP = 1 << 24, IFCS = 1 << 25, RS = 1 << 27;
const RCTL_EN = 2, RCTL_LBM_MAC = 0x40, RCTL_BAM = 0x8000, RCTL_SECRC = 1 << 26;
const IOVA = 0x100000n, TX_RING = IOVA, RX_RING = IOVA + 0x1000n, TX_BUF = IOVA + 0x2000n, RX_BUF = IOVA + 0x4000n;
const MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x58];

interface Rig { m: Machine; f: IommufdFile; nic: VfioDeviceHandle; buf: bigint }

const mdicRead = (reg: number) => (2 << 26) | (1 << 21) | (reg << 16);

/** The igb (vfio2) bound, attached to an IOAS with 64 KiB of the process at IOVA 0x100000, bus master on. */
function rig(): Rig {
  const m = new Machine('qemu-vtd-igb');
  const f = m.openIommufd();
  const nic = f.openVfioDevice(2);
  nic.bind(f);
  const ioas = f.ioasAlloc();
  nic.attach(ioas);
  const buf = f.proc.mmap(0x10000n);
  f.map({ ioasId: ioas, userVa: buf, length: 0x10000n, iova: IOVA });
  nic.enableBusMaster();
  return { m, f, nic, buf };
}

const put = (r: Rig, iova: bigint, b: Uint8Array) => r.f.proc.mm.write(r.buf + (iova - IOVA), b);
const get = (r: Rig, iova: bigint, len: number) => r.f.proc.mm.read(r.buf + (iova - IOVA), len);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
function desc(addr: bigint, w2: number, w3: number): Uint8Array {
  const b = new Uint8Array(16), d = new DataView(b.buffer);
  d.setBigUint64(0, addr, true); d.setUint32(8, w2 >>> 0, true); d.setUint32(12, w3 >>> 0, true);
  return b;
}
function frame(len: number, seed: number, dst = MAC): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0); f.set(MAC, 6); f[12] = 0x88; f[13] = 0xb5;
  for (let i = 14; i < len; i++) f[i] = (i * 7 + seed) & 0xff;
  return f;
}

/** Link up (BMCR restart autonegotiation, 500 ms), rings of 16 descriptors, 8 RX buffers posted, MAC loopback. */
async function up(r: Rig, rctl = RCTL_EN | RCTL_BAM | RCTL_LBM_MAC): Promise<void> {
  const n = r.nic;
  n.setReg(MDIC, (1 << 26) | (1 << 21) | 0x1340);
  r.m.engine.clock.advance(499e6);
  assert.equal(n.reg(STATUS) & 2, 0, 'no link before the 500 ms');
  r.m.engine.clock.advance(1e6);
  assert.equal(n.reg(STATUS) & 2, 2, 'STATUS.LU after autonegotiation');
  n.reg(ICR);
  for (let i = 0; i < 8; i++) put(r, RX_RING + BigInt(16 * i), desc(RX_BUF + BigInt(0x800 * i), 0, 0));
  n.setReg(RDBAL, Number(RX_RING)); n.setReg(RDLEN, 256); n.setReg(SRRCTL, 0x02000002); n.setReg(RDT, 8);
  n.setReg(TDBAL, Number(TX_RING)); n.setReg(TDLEN, 256);
  n.setReg(RCTL, rctl);
  n.setReg(TCTL, 0x3f0fa);
}

function send(r: Rig, slot: number, f: Uint8Array, olinfo = 0): void {
  put(r, TX_BUF + BigInt(0x800 * slot), f);
  put(r, TX_RING + BigInt(16 * slot), desc(TX_BUF + BigInt(0x800 * slot), DEXT_DATA | EOP | IFCS | RS | f.length, (f.length << 14) | olinfo));
  r.nic.setReg(TDT, slot + 1);
}

test('igb at reset: CTRL, STATUS, RA0 from the MAC, NVM through EERD, PHY through MDIC, config space', () => {
  const { nic } = rig();
  assert.equal(nic.reg(CTRL) >>> 0, 0x00100209);
  assert.equal(nic.reg(STATUS) >>> 0, 0x80080481, 'no LU until autonegotiation ran');
  assert.equal(nic.reg(RAL0) >>> 0, 0x12005452);
  assert.equal(nic.reg(RAH0) >>> 0, 0x80005834);
  assert.equal(nic.reg(0x40) >>> 0, 0x12005452, 'RA at its 82542 alias');
  nic.setReg(EERD, (0x0b << 2) | 1);
  assert.equal(nic.reg(EERD) >>> 0, 0x10c9002e, 'word 0x0b: the device ID');
  nic.setReg(EERD, (0x3f << 2) | 1);
  assert.equal(nic.reg(EERD) >>> 0, 0xc3d900fe, 'the checksum word');
  nic.setReg(MDIC, mdicRead(2));
  assert.equal(nic.reg(MDIC) >>> 0, 0x182202a8, 'PHY ID1');
  nic.setReg(MDIC, mdicRead(11));
  assert.equal(nic.reg(MDIC) >>> 0, 0x582b0000, 'a register the PHY does not have: ERROR');
  assert.equal(Number(nic.regionRead(V.VFIO_PCI_CONFIG_REGION_INDEX, 0, 4)), 0x10c98086);
  assert.equal(Number(nic.regionRead(V.VFIO_PCI_CONFIG_REGION_INDEX, 0x160 + 14, 2)), 8, 'SR-IOV TotalVFs');
  assert.equal(Number(nic.regionRead(V.VFIO_PCI_CONFIG_REGION_INDEX, 0x160 + 26, 2)), 0x10ca, 'SR-IOV VF device');
  assert.equal(nic.reg(0x1508), 0, '0x1508 is no register of qemu\'s igb');
});

test('igb interrupt registers: ICR read-to-clear with INT_ASSERTED, IMS mask, EICS/EICR in legacy mode, IVAR', () => {
  const { nic } = rig();
  nic.setReg(ICS, 0x4);
  assert.equal(nic.reg(ICR) >>> 0, 0x80000004);
  assert.equal(nic.reg(ICR), 0, 'cleared by the read (IMS 0)');
  nic.setReg(IMS, 0xffffffff);
  assert.equal(nic.reg(IMS) >>> 0, 0x77d4fbfd);
  nic.setReg(0xd8, 0xffffffff);
  nic.setReg(EIMS, 0xffffffff);
  assert.equal(nic.reg(EIMS) >>> 0, 0x4000ffff, 'outside MSI-X mode EIMS takes the legacy mask');
  nic.setReg(0x1528, 0xffffffff);
  nic.setReg(EICS, 3);
  assert.equal(nic.reg(EICR), 3);
  assert.equal(nic.reg(EICR), 0);
  nic.setReg(IVAR0, 0x81808180);
  assert.equal(nic.reg(IVAR0) >>> 0, 0x81808180);
  nic.setReg(EITR0, 0x80001234);
  assert.equal(nic.reg(EITR0), 0x1234, 'EITR reads what was written, less CNT_IGNR');
});

test('igb CTRL.RST resets the registers but keeps RXPBS and EITR; the PHY and RA0 come back', () => {
  const { nic } = rig();
  nic.setReg(RXPBS, 0x30);
  nic.setReg(EITR0, 0x100);
  nic.setReg(RDBAL, 0x12340);
  nic.setReg(RAL0, 0x11223344);
  nic.setReg(CTRL, nic.reg(CTRL) | (1 << 26));
  assert.equal(nic.reg(RXPBS), 0x30);
  assert.equal(nic.reg(EITR0), 0x100);
  assert.equal(nic.reg(RDBAL), 0);
  assert.equal(nic.reg(RAL0) >>> 0, 0x12005452);
});

test('igb autonegotiation: a BMCR restart takes the link down and brings it up 500 ms later with LSC', () => {
  const clock = new MachineClock();
  clock.advance(1000e6);
  const model = new IgbModel(IGB_FIRMWARE_SLOT3, clock);
  const c = model.core;
  c.write(MDIC, (1 << 26) | (1 << 21) | 0x1340);
  c.write(MDIC, mdicRead(0));
  assert.equal(c.read(MDIC) & 0xffff, 0x1140, 'restart and bits 0-5 clear themselves');
  clock.advance(499e6);
  assert.equal(c.read(STATUS) & 2, 0);
  clock.advance(1e6);
  assert.equal(c.read(STATUS) & 2, 2, 'the timer fired at the deadline');
  c.write(MDIC, mdicRead(1));
  assert.equal(c.read(MDIC) & 0xffff, 0x796d, 'BMSR: link and autonegotiation complete');
  assert.equal(c.read(ICR) >>> 0, 0x80000004, 'LSC');
});

test('igb MAC loopback: TX DMA and write-back, the frame DMA\'d into the RX buffer, the advanced write-back, counters', async () => {
  const r = rig();
  await up(r);
  const f = frame(100, 1);
  send(r, 0, f);
  assert.equal(r.nic.reg(TDH), 1);
  assert.equal(r.nic.reg(RDH), 1);
  const tx = get(r, TX_RING, 16);
  assert.equal(u32(tx, 12), (100 << 14) | 1, 'TX write-back: olinfo with DD');
  assert.deepEqual(get(r, RX_BUF, 100), f);
  assert.deepEqual(get(r, RX_BUF + 100n, 4), new Uint8Array(4), 'the FCS as zeros');
  const rx = get(r, RX_RING, 16);
  assert.equal(u32(rx, 8), 0x3, 'status DD|EOP');
  assert.equal(u32(rx, 12) & 0xffff, 104, 'length with the FCS');
  assert.equal(r.nic.reg(ICR) >>> 0, 0x80000080, 'RXDW (no TXDW: IVAR maps no TX cause)');
  assert.equal(r.nic.reg(GPRC), 1);
  assert.equal(r.nic.reg(GPTC), 1);
  assert.equal(r.nic.reg(GORCL), 104);
  assert.equal(r.nic.reg(GPRC), 0, 'GPRC clears on read');
  // A short frame is padded to 60 bytes (RUC); SECRC drops the FCS.
  r.nic.setReg(RCTL, RCTL_EN | RCTL_BAM | RCTL_LBM_MAC | RCTL_SECRC);
  send(r, 1, frame(42, 2));
  const rx1 = get(r, RX_RING + 16n, 16);
  assert.equal(u32(rx1, 12) & 0xffff, 60);
  assert.equal(r.nic.reg(RUC), 1);
  // Head write-back instead of descriptor write-back.
  r.nic.setReg(TDWBAL, Number(IOVA + 0x3000n) | 1);
  send(r, 2, frame(64, 3));
  assert.equal(u32(get(r, IOVA + 0x3000n, 4), 0), 3, 'TDH written to the head write-back address');
  // A frame to another MAC is dropped by the filter.
  send(r, 3, frame(80, 4, [0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc]));
  assert.equal(r.nic.reg(RDH), 3);
});

test('igb MSI-X mode: IVAR maps RX0 and TX0 to vectors, IVAR_MISC the other causes; EIAC clears EICR', async () => {
  const r = rig();
  await up(r);
  const efds = [0, 1, 2].map(() => r.f.proc.eventfdCreate());
  r.nic.setIrqEventfds(V.VFIO_PCI_MSIX_IRQ_INDEX, efds);
  r.nic.setReg(GPIE, 0x10);
  r.nic.setReg(IVAR0, 0x8281);
  r.nic.setReg(IVAR_MISC, 0x8000);
  r.nic.setReg(EIAC, 0x7);
  r.nic.setReg(EIMS, 0x7);
  r.nic.setReg(IMS, 0x4);
  send(r, 0, frame(128, 5));
  const count = (i: number) => r.f.proc.eventfds.get(efds[i]!)!.read();
  assert.equal(count(1), 1n, 'vector 1: RX queue 0');
  assert.equal(count(2), 1n, 'vector 2: TX queue 0');
  assert.equal(r.nic.reg(EICR), 0, 'EIAC cleared the causes that fired');
  r.nic.setReg(ICS, 0x4);
  assert.equal(count(0), 1n, 'vector 0: LSC through IVAR_MISC');
});

test('igb DMA fault: an RX buffer at an unmapped IOVA moves nothing and faults; the descriptor is still written back', async () => {
  const r = rig();
  await up(r);
  put(r, RX_RING, desc(0x900000n, 0, 0));
  send(r, 0, frame(90, 6));
  const faults = r.m.dma(2).faults;
  assert.ok(faults.length > 0 && faults.every((x) => x.write && x.iova >= 0x900000n), 'write faults at the hole');
  assert.equal(u32(get(r, RX_RING, 16), 8), 0x3, 'DD|EOP written back');
  assert.equal(r.nic.reg(RDH), 1);
});

test('two igbs (platforms/two-igb.json) share the wire: a frame igb A sends is DMA\'d into igb B\'s RX ring; each has its own MAC and BARs', async () => {
  const m = new Machine('platforms/two-igb.json');
  const f = m.openIommufd();
  const ioas = f.ioasAlloc();
  const buf = f.proc.mmap(0x20000n);
  f.map({ ioasId: ioas, userVa: buf, length: 0x20000n, iova: IOVA });
  const rigs: Rig[] = [0, 1].map((n) => {
    const nic = f.openVfioDevice(n);
    nic.bind(f);
    nic.attach(ioas);
    nic.enableBusMaster();
    // Each NIC its own 64 KiB of the mapping: B's rings and buffers 64 KiB above A's.
    return { m, f, nic, buf: buf + BigInt(n) * 0x10000n };
  });
  const [a, b] = rigs as [Rig, Rig];
  assert.equal(m.engine.wire.ends.length, 2, 'both igbs plugged into the wire');
  assert.equal(a.nic.reg(RAL0) >>> 0, 0x12005452);
  assert.equal(b.nic.reg(RAL0) >>> 0, 0x12005452);
  assert.equal(a.nic.reg(RAH0) >>> 0, 0x80005834, 'A: 52:54:00:12:34:58');
  assert.equal(b.nic.reg(RAH0) >>> 0, 0x80005934, 'B: 52:54:00:12:34:59');
  const bar = (r: Rig, i: number) => Number(r.nic.regionRead(7, 0x10 + 4 * i, 4)) >>> 0;
  assert.deepEqual([0, 1, 2, 3].map((i) => bar(a, i)), [0xfeba0000, 0xfebc0000, 0xc081, 0xfebe8004], 'A: the firmware measured at 00:03.0');
  assert.deepEqual([0, 1, 2, 3].map((i) => bar(b, i)), [0xfeaa0000, 0xfeac0000, 0xc0a1, 0xfebec004], 'B: its own BARs');
  // Both links up; B's rings live at B's IOVAs (the Rig's buf makes put/get relative to them).
  const link = async (r: Rig, base: bigint) => {
    const n = r.nic;
    n.setReg(MDIC, (1 << 26) | (1 << 21) | 0x1340);
    m.engine.clock.advance(500e6);
    assert.equal(n.reg(STATUS) & 2, 2);
    n.reg(ICR);
    for (let i = 0; i < 8; i++) put(r, RX_RING + BigInt(16 * i), desc(base + (RX_BUF - IOVA) + BigInt(0x800 * i), 0, 0));
    n.setReg(RDBAL, Number(base + (RX_RING - IOVA))); n.setReg(RDLEN, 256); n.setReg(SRRCTL, 0x02000002); n.setReg(RDT, 8);
    n.setReg(TDBAL, Number(base + (TX_RING - IOVA))); n.setReg(TDLEN, 256);
    n.setReg(RCTL, RCTL_EN | RCTL_BAM);
    n.setReg(TCTL, 0x3f0fa);
  };
  await link(a, IOVA);
  await link(b, IOVA + 0x10000n);
  // A frame from A to B's MAC (A's TX descriptor points at A's buffer IOVA).
  const fr = frame(100, 9, [0x52, 0x54, 0x00, 0x12, 0x34, 0x59]);
  put(a, TX_BUF, fr);
  put(a, TX_RING, desc(TX_BUF, DEXT_DATA | EOP | IFCS | RS | fr.length, fr.length << 14));
  a.nic.setReg(TDT, 1);
  assert.equal(a.nic.reg(TDH), 1);
  assert.equal(a.nic.reg(RDH), 0, 'nothing comes back to A');
  assert.equal(b.nic.reg(RDH), 1, 'B took the frame');
  assert.deepEqual(get(b, RX_BUF, 100), fr, 'the frame in B\'s RX buffer, by DMA');
  assert.equal(u32(get(b, RX_RING, 16), 8), 0x3, 'B\'s write-back: DD|EOP');
  assert.equal(a.nic.reg(GPTC), 1);
  assert.equal(b.nic.reg(GPRC), 1);
  // A frame to A's own MAC from B goes the other way.
  const back = frame(64, 10, MAC);
  put(b, TX_BUF, back);
  put(b, TX_RING, desc(IOVA + 0x10000n + (TX_BUF - IOVA), DEXT_DATA | EOP | IFCS | RS | back.length, back.length << 14));
  b.nic.setReg(TDT, 1);
  assert.equal(a.nic.reg(RDH), 1, 'A took B\'s frame');
  assert.deepEqual(get(a, RX_BUF, 64), back);
});

test('qemu-vtd-igb keeps its wire between the two e1000e: the igb (third NIC) is alone', () => {
  const m = new Machine('qemu-vtd-igb');
  const nets = m.engine.vfioDevices.map((d) => (d.pci as unknown as { model: { core: { net?: unknown } } }).model.core.net);
  assert.deepEqual(nets.map((n) => n === undefined), [false, false, true]);
});
