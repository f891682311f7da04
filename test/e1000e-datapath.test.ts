// The e1000e data path through the library: NIC0 transmits from a ring and a
// buffer in a process's memory (DMA through the IOMMU domain), the wire
// carries the frame to NIC1, which writes it into its receive buffer and
// writes the descriptor back; interrupt causes, counters, MSI-X, and what a
// DMA fault does (qemu 7.2: the bytes go nowhere, the descriptor is still
// written back).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, PLATFORMS, SimulatedFile, uapi as U, vfio as V, type VfioDeviceHandle, type IommufdFile } from '../src/lib/index.js';
import { FEATURE_HDSUP } from '../src/hw/amd-vi.js';
import { QEMU_AMDVI_EFR } from '../src/hw/platform.js';
import { hazardSummary, hazardTraceLine } from '../src/server/hazard-report.js';

const TDBAL = 0x3800, TDBAH = 0x3804, TDLEN = 0x3808, TDH = 0x3810, TDT = 0x3818, TCTL = 0x400;
const RDBAL = 0x2800, RDBAH = 0x2804, RDLEN = 0x2808, RDH = 0x2810, RDT = 0x2818, RCTL = 0x100, RFCTL = 0x5008;
const ICR = 0xc0, IMS = 0xd0, IVAR = 0xe4, GPRC = 0x4074, GPTC = 0x4080, GORCL = 0x4088, TPR = 0x40d0, TPT = 0x40d4;
const EOP = 1 << 24, IFCS = 1 << 25, RS = 1 << 27;
const IOVA = 0x100000n, TX_RING = IOVA, TX_BUF = IOVA + 0x1000n, RX_RING = IOVA + 0x2000n, RX_BUF = IOVA + 0x3000n;
const MAC0 = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56], MAC1 = [0x52, 0x54, 0x00, 0x12, 0x34, 0x57];

interface Rig { m: Machine; f: IommufdFile; nic0: VfioDeviceHandle; nic1: VfioDeviceHandle; buf: bigint; ioas: number }

/** Both NICs bound and attached to one IOAS holding 64 KiB of the process's memory at IOVA 0x100000. */
function rig(o: { machine?: Machine; hwptFlags?: number } = {}): Rig & { hwpt: number } {
  const m = o.machine ?? new Machine('qemu-vtd');
  const f = m.openIommufd();
  const nic0 = f.openVfioDevice(0), nic1 = f.openVfioDevice(1);
  nic0.bind(f);
  const dev1 = nic1.bind(f);
  const ioas = f.ioasAlloc();
  const pt = o.hwptFlags !== undefined ? f.hwptAlloc({ devId: dev1, ptId: ioas, flags: o.hwptFlags }) : ioas;
  const hwpt = nic0.attach(pt);
  nic1.attach(pt);
  const buf = f.proc.mmap(0x10000n);
  f.map({ ioasId: ioas, userVa: buf, length: 0x10000n, iova: IOVA });
  for (const n of [nic0, nic1]) { n.enableBusMaster(); n.reg(ICR); }
  return { m, f, nic0, nic1, buf, ioas, hwpt };
}

const va = (r: Rig, iova: bigint) => r.buf + (iova - IOVA);
function put(r: Rig, iova: bigint, bytes: Uint8Array): void { r.f.proc.mm.write(va(r, iova), bytes); }
function get(r: Rig, iova: bigint, len: number): Uint8Array { return r.f.proc.mm.read(va(r, iova), len); }
function desc(addr: bigint, lower: number, upper = 0): Uint8Array {
  const b = new Uint8Array(16), d = new DataView(b.buffer);
  d.setBigUint64(0, addr, true); d.setUint32(8, lower >>> 0, true); d.setUint32(12, upper >>> 0, true);
  return b;
}
const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

function frame(len: number, seq: number, dst = MAC1): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0); f.set(MAC0, 6); f[12] = 0x88; f[13] = 0xb5;
  for (let i = 14; i < len; i++) f[i] = (i * 7 + seq) & 0xff;
  return f;
}

/** NIC1 receives into 8 descriptors of 2048-byte buffers; `rfctl` picks the descriptor format. */
function setupRx(r: Rig, o: { rfctl?: number; secrc?: boolean } = {}): void {
  const n = r.nic1;
  for (let i = 0; i < 8; i++) put(r, RX_RING + BigInt(16 * i), desc(RX_BUF + BigInt(0x800 * i), 0));
  n.setReg(RDBAL, Number(RX_RING & 0xffffffffn)); n.setReg(RDBAH, 0); n.setReg(RDLEN, 128);
  n.setReg(RDH, 0);
  if (o.rfctl !== undefined) n.setReg(RFCTL, o.rfctl);
  n.setReg(RCTL, 0x2 | (1 << 15) | (o.secrc ? 1 << 26 : 0)); // EN, BAM, 2048-byte buffers
  n.setReg(RDT, 7);
}

function setupTx(r: Rig): void {
  const n = r.nic0;
  n.setReg(TDBAL, Number(TX_RING & 0xffffffffn)); n.setReg(TDBAH, 0); n.setReg(TDLEN, 128);
  n.setReg(TDH, 0); n.setReg(TDT, 0);
  n.setReg(TCTL, 0x2);
}

/** Put `f` in TX descriptor `i` (legacy, EOP|IFCS|RS) and ring the doorbell. */
function send(r: Rig, f: Uint8Array, i: number): void {
  put(r, TX_BUF + BigInt(0x800 * (i % 2)), f);
  put(r, TX_RING + BigInt(16 * i), desc(TX_BUF + BigInt(0x800 * (i % 2)), f.length | EOP | IFCS | RS));
  r.nic0.setReg(TDT, i + 1);
}

test('e1000e: a frame NIC0 sends arrives in the buffer NIC1 gave, descriptors written back (legacy)', () => {
  const r = rig();
  setupRx(r);
  setupTx(r);
  const f = frame(100, 1);
  send(r, f, 0);
  assert.equal(r.nic0.reg(TDH), 1, 'TDH advanced past the sent descriptor');
  assert.equal(get(r, TX_RING + 12n, 1)[0], 1, 'TX descriptor: DD written back (RS set)');
  assert.equal(r.nic0.reg(ICR) >>> 0, 0x80000003, 'NIC0 ICR: TXDW | TXQE | INT_ASSERTED');
  assert.deepEqual(get(r, RX_BUF, 100), f, 'the frame is in NIC1 receive buffer 0');
  const d = get(r, RX_RING, 16);
  assert.equal(u16(d, 8), 104, 'legacy RX length: the frame and the FCS (SECRC clear)');
  assert.equal(d[12], 0x03, 'legacy RX status: DD | EOP');
  assert.equal(d[13], 0, 'no errors');
  assert.equal(r.nic1.reg(RDH), 1);
  assert.equal(r.nic1.reg(ICR) >>> 0, 0x80000080, 'NIC1 ICR: RXT0 | INT_ASSERTED');
  assert.equal(r.nic1.reg(TPR), 1); assert.equal(r.nic1.reg(GPRC), 1); assert.equal(r.nic1.reg(GORCL), 104);
  assert.equal(r.nic1.reg(TPR), 0, 'TPR is cleared by its read');
  assert.equal(r.nic0.reg(TPT), 1); assert.equal(r.nic0.reg(GPTC), 1);
  assert.ok(r.m.dma(1).faults.length === 0 && r.m.dma(0).faults.length === 0);
});

test('e1000e: a short frame is padded to 60 bytes; extended RX descriptors (RFCTL.EXTEN) with SECRC', () => {
  const r = rig();
  setupRx(r, { rfctl: 1 << 15, secrc: true });
  setupTx(r);
  const f = frame(42, 2);
  send(r, f, 0);
  const d = get(r, RX_RING, 16);
  assert.equal(u32(d, 8), 0x03, 'extended status_error: DD | EOP, packet type MAC');
  assert.equal(u16(d, 12), 60, 'length: padded to 60, no FCS');
  assert.equal(u32(d, 0), 0, 'the buffer address is overwritten by the write-back');
  const got = get(r, RX_BUF, 60);
  assert.deepEqual(got.subarray(0, 42), f);
  assert.ok(got.subarray(42).every((b) => b === 0), 'padding is zeros');
});

test('e1000e: frames sent before NIC1 has buffers wait on the wire and go in at RDT', () => {
  const r = rig();
  setupTx(r);
  send(r, frame(80, 3), 0);
  assert.equal(r.nic1.reg(GPRC), 0, 'nothing received yet');
  setupRx(r);
  assert.equal(r.nic1.reg(RDH), 1, 'the waiting frame went in when receive was enabled');
  assert.deepEqual(get(r, RX_BUF, 80), frame(80, 3));
});

test('e1000e MSI-X: RXQ0 through IVAR to the vector\'s eventfd', () => {
  const r = rig();
  const efd = r.f.proc.eventfdCreate();
  r.nic1.setIrqEventfds(V.VFIO_PCI_MSIX_IRQ_INDEX, [efd]);
  r.nic1.setReg(IVAR, 0x8); // RXQ0 -> vector 0, valid
  r.nic1.setReg(IMS, 1 << 20);
  setupRx(r);
  setupTx(r);
  send(r, frame(64, 4), 0);
  assert.equal(r.f.proc.eventfds.get(efd)!.read(), 1n, 'vector 0 fired once');
  assert.equal(r.nic1.reg(ICR) >>> 0, 0x80100000, 'ICR: RXQ0 (RXT0 is not raised under MSI-X)');
});

test('e1000e DMA fault: an RX buffer at an unmapped IOVA moves nothing; the descriptor is still written back', () => {
  const r = rig();
  setupRx(r);
  const hole = 0x900000n;
  put(r, RX_RING, desc(hole, 0));
  setupTx(r);
  const before = get(r, RX_BUF, 256);
  send(r, frame(100, 5), 0);
  const faults = r.m.dma(1).faults.map((x) => ({ iova: x.iova, write: x.write, reason: x.reason }));
  assert.deepEqual(faults, [
    { iova: hole, write: true, reason: 'not-present' },
    { iova: hole + 100n, write: true, reason: 'not-present' },
  ], 'the frame\'s write and the FCS write (qemu writes them apart) both fault');
  assert.deepEqual(get(r, RX_BUF, 256), before, 'no byte moved');
  const d = get(r, RX_RING, 16);
  assert.equal(d[12], 0x03, 'qemu ignores the failed write: DD | EOP');
  assert.equal(u16(d, 8), 104);
});

test('e1000e DMA fault: a read-only IOVA as RX buffer faults write-denied', () => {
  const r = rig();
  const ro = r.f.proc.mmap(4096n);
  r.f.proc.mm.write(ro, new Uint8Array(64).fill(0xee));
  r.f.map({ ioasId: r.ioas, userVa: ro, length: 4096n, iova: 0x200000n, writeable: false });
  setupRx(r);
  put(r, RX_RING, desc(0x200000n, 0));
  setupTx(r);
  send(r, frame(100, 6), 0);
  const f = r.m.dma(1).faults;
  assert.deepEqual(f.map((x) => x.reason), ['write-denied', 'write-denied']);
  assert.ok(r.f.proc.mm.read(ro, 64).every((b) => b === 0xee), 'the read-only page is untouched');
});

test('e1000e: without bus mastering nothing is received and the frame waits', () => {
  const r = rig();
  r.nic1.regionWrite(V.VFIO_PCI_CONFIG_REGION_INDEX, 4, 2, 0x2);
  setupRx(r);
  setupTx(r);
  send(r, frame(64, 7), 0);
  assert.equal(r.nic1.reg(RDH), 0);
  assert.equal(r.m.engine.wire.ends[1]!.waiting.length, 1);
});

test('e1000e dirty tracking: GET_DIRTY_BITMAP reports the pages NIC1 wrote a frame and a descriptor into', () => {
  const amd = PLATFORMS['amd-vi']!;
  const platform = { ...amd, iommus: [{ kind: 'amd-vi' as const, efr: QEMU_AMDVI_EFR | FEATURE_HDSUP, efr2: 0n }] };
  const r = rig({ machine: new Machine(platform), hwptFlags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
  const set = U.IommuHwptSetDirtyTracking;
  const on = r.f.ioctlRaw(U.IOMMU_HWPT_SET_DIRTY_TRACKING, set.encode({ size: set.size, flags: U.IOMMU_HWPT_DIRTY_TRACKING_ENABLE, hwpt_id: r.hwpt }));
  assert.equal(on.errno, 0);
  setupRx(r);
  setupTx(r);
  send(r, frame(100, 8), 0);
  const bitmap = r.f.proc.mmap(4096n);
  const get = U.IommuHwptGetDirtyBitmap;
  const res = r.f.ioctlRaw(U.IOMMU_HWPT_GET_DIRTY_BITMAP, get.encode({
    size: get.size, hwpt_id: r.hwpt, flags: 0, iova: IOVA, length: 0x10000n, page_size: 4096n, data: bitmap,
  }));
  assert.equal(res.errno, 0);
  const word = new DataView(r.f.proc.mm.read(bitmap, 8).buffer).getBigUint64(0, true);
  // Device writes: the TX descriptor's DD (page 0), the RX descriptor (page 2), the RX buffer (page 3).
  assert.equal(word, (1n << 0n) | (1n << 2n) | (1n << 3n), 'pages 0, 2 and 3 dirty; the TX buffer page (1), only read, is clean');
  r.f.proc.mm.write(bitmap, new Uint8Array(8));
  assert.equal(r.f.ioctlRaw(U.IOMMU_HWPT_GET_DIRTY_BITMAP, get.encode({
    size: get.size, hwpt_id: r.hwpt, flags: 0, iova: IOVA, length: 0x10000n, page_size: 4096n, data: bitmap,
  })).errno, 0);
  assert.equal(new DataView(r.f.proc.mm.read(bitmap, 8).buffer).getBigUint64(0, true), 0n, 'the first read cleared them');
});

test('e1000e: a frame received into MAP_SHARED file pages (guest RAM in a memfd) lands in the file', () => {
  const r = rig();
  const file = new SimulatedFile(0x10000);
  const va = r.f.proc.mm.mmap(0x10000n, { file, shared: true });
  r.f.map({ ioasId: r.ioas, userVa: va, length: 0x10000n, iova: 0x400000n });
  setupRx(r);
  put(r, RX_RING, desc(0x400000n + 0x1800n, 0));
  setupTx(r);
  const f = frame(300, 9);
  send(r, f, 0);
  assert.equal(r.m.dma(1).faults.length, 0);
  assert.deepEqual(file.read(0x1800n, 300), f, 'the file holds the frame (its frames are the file\'s)');
  assert.deepEqual(r.f.proc.mm.read(va + 0x1800n, 300), f, 'and the process sees it through its mapping');
});

test('e1000e TSO as qemu 7.2: a TCP/IPv4 segment leaves as IPv4 fragments of the MSS, the TCP checksum over the whole', () => {
  const r = rig();
  setupRx(r);
  setupTx(r);
  const len = 3014, f = new Uint8Array(len);
  f.set(MAC1, 0); f.set(MAC0, 6); f[12] = 0x08; f[13] = 0x00;
  f.set([0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f.set([0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0], 34);
  for (let i = 54; i < len; i++) f[i] = i & 0xff;
  put(r, TX_BUF, f);
  const DEXT = 1 << 29, DTYP_D = 1 << 20, TSE = 1 << 26, IP = 1 << 25, TCP = 1 << 24;
  put(r, TX_RING, desc(0n, DEXT | TSE | IP | TCP | (len - 54), 1000 << 16 | 54 << 8)); // context: MSS 1000, HDRLEN 54
  put(r, TX_RING + 16n, desc(TX_BUF, len | DEXT | DTYP_D | TSE | EOP | IFCS | RS, 3 << 8)); // data: TXSM | IXSM
  r.nic0.setReg(TDT, 2);
  assert.equal(r.nic1.reg(RDH), 3, 'three fragments received');
  const l3 = new Uint8Array(len - 34);
  const fragOffs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const d = get(r, RX_RING + BigInt(16 * i), 16), n = u16(d, 8) - 4;
    const b = get(r, RX_BUF + BigInt(0x800 * i), n);
    const off = ((b[20]! << 8) | b[21]!);
    fragOffs.push(off);
    assert.equal((b[16]! << 8) | b[17]!, n - 14, 'IP total length of the fragment');
    let s = 0;
    for (let k = 14; k < 34; k += 2) s += (b[k]! << 8) | b[k + 1]!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    assert.equal(s, 0xffff, 'each fragment\'s IP header checksum is right');
    l3.set(b.subarray(34), (off & 0x1fff) * 8);
  }
  assert.deepEqual(fragOffs, [0x4000 | 0x2000 | 0, 0x4000 | 0x2000 | 125, 0x4000 | 250], 'DF kept, MF on all but the last, offsets 0, 1000, 2000');
  assert.deepEqual(l3.subarray(20), f.subarray(54), 'the payload, reassembled');
  // The TCP checksum over the reassembled segment, with the pseudo header.
  let s = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + l3.length;
  for (let k = 0; k < l3.length; k += 2) s += (l3[k]! << 8) | (l3[k + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  assert.equal(s, 0xffff, 'the TCP checksum is right');
  assert.equal(r.nic0.reg(0x40f8), 1, 'TSCTC: one TSO context used');
  assert.equal(r.nic0.reg(TPT), 1, 'one packet counted');
});

test('e1000e: with CTRL.VME an 802.1Q tag is stripped; the TCI in the extended descriptor, VP in the status', () => {
  const r = rig();
  r.nic1.setReg(0x0, r.nic1.reg(0x0) | (1 << 30)); // CTRL.VME
  setupRx(r, { rfctl: 1 << 15 });
  setupTx(r);
  const f = frame(100, 10);
  f[12] = 0x81; f[13] = 0x00; f[14] = 0x01; f[15] = 0x23; // VET 0x8100, TCI 0x0123
  send(r, f, 0);
  const d = get(r, RX_RING, 16);
  assert.equal(u32(d, 8), 0x0b, 'DD | EOP | VP');
  assert.equal(u16(d, 12), 100, 'length: 96 bytes without the tag, and the FCS');
  assert.equal(u16(d, 14), 0x0123, 'the VLAN field holds the TCI');
  const got = get(r, RX_BUF, 96);
  assert.deepEqual(got.subarray(0, 12), f.subarray(0, 12));
  assert.deepEqual(got.subarray(12), f.subarray(16), 'the tag is gone from the frame');
});

// ---- No Snoop: GCR's per-class enables, PCIe DevCtl's Enable No Snoop, the engine's hazard watch ----

const GCR = 0x5b00, GCR_RXD_NO_SNOOP = 1, GCR_ALL_NO_SNOOP = 0x3f;
/** PCIe capability at 0xe0: Device Control's Enable No Snoop is bit 11 (byte 0xe9, bit 3). */
const DEVCTL_HI = 0xe0 + 8 + 1, NOSNOOP_EN_HI = 0x08;

function allowNoSnoop(r: Rig, n: number): void {
  const fn = r.m.engine.vfioDevices[n]!.pci as unknown as { model: { config: { bytes: Uint8Array } } };
  fn.model.config.bytes[DEVCTL_HI] = fn.model.config.bytes[DEVCTL_HI]! | NOSNOOP_EN_HI;
}

test("No Snoop: GCR asks for it, but qemu's e1000e keeps DevCtl's Enable No Snoop 0: every request snoops", () => {
  const r = rig();
  for (const n of [r.nic0, r.nic1]) n.setReg(GCR, n.reg(GCR) | GCR_ALL_NO_SNOOP);
  setupRx(r);
  setupTx(r);
  send(r, frame(100, 7), 0);
  assert.deepEqual(get(r, RX_BUF, 100), frame(100, 7));
  assert.equal(r.m.engine.hazardCount, 0, 'no request went unsnooped');
});

test('No Snoop through a domain that does not enforce coherency: receive data goes unsnooped, a hazard per request', () => {
  const r = rig();
  const events: string[] = [];
  r.m.engine.observers.add((e) => events.push(`${e.kind} ${e.device} ${e.write ? 'w' : 'r'} ${e.length}`));
  allowNoSnoop(r, 1);
  r.nic1.setReg(GCR, r.nic1.reg(GCR) | GCR_RXD_NO_SNOOP);
  setupRx(r);
  setupTx(r);
  send(r, frame(100, 8), 0);
  assert.deepEqual(get(r, RX_BUF, 100), frame(100, 8), 'the bytes land (in memory, past the CPU cache)');
  // The frame and then its FCS, two writes of receive data (as qemu writes them); descriptors snoop.
  const seen = r.m.engine.hazards.map((h) => ({ vfio: h.vfio, device: h.device, iova: h.iova, length: h.length, write: h.write, bytes: h.bytes, enforcing: h.enforcing, hwpt: h.hwpt }));
  assert.deepEqual(seen, [
    { vfio: 1, device: '0000:00:02.0', iova: RX_BUF, length: 100, write: true, bytes: 100, enforcing: false, hwpt: r.hwpt },
    { vfio: 1, device: '0000:00:02.0', iova: RX_BUF + 100n, length: 4, write: true, bytes: 4, enforcing: false, hwpt: r.hwpt },
  ], 'each names the HWPT the device is attached to');
  assert.equal(r.m.engine.hazardCount, 2);
  assert.ok(events.includes('hazard 0000:00:02.0 w 100'), events.join('; '));
  assert.ok(events.includes('dma 0000:00:01.0 r 100'), 'transfers are events too: the TX buffer read');
  // What the server writes for them: the trace line per request, the line at exit; KVM never heard of the device.
  assert.equal(hazardTraceLine(r.m.engine.hazards[0]!), `--- DMA no snoop vfio1 iova=0x${RX_BUF.toString(16)}-0x${(RX_BUF + 99n).toString(16)} write ` +
    `100 of 100 bytes not snooped (hwpt ${r.hwpt}, domain does not enforce coherency; kvm-vfio: not told (no KVM VM was handed this device\'s file: KVM_DEV_VFIO_FILE_ADD)) ---`);
  assert.equal(hazardSummary(r.m.engine.hazardCount, r.m.engine.hazards[0]!), '2 DMA request(s) did not snoop the CPU caches: the program must flush them itself ' +
    `(the earliest kept: vfio1 0000:00:02.0 through hwpt ${r.hwpt} write at IOVA 0x${RX_BUF.toString(16)}-0x${(RX_BUF + 99n).toString(16)}; ` +
    'kvm-vfio: not told (no KVM VM was handed this device\'s file: KVM_DEV_VFIO_FILE_ADD); --trace shows each)');
});

test('No Snoop through an enforcing VT-d domain (snoop control, SNP): forced to snoop, no hazard', () => {
  const r = rig({ machine: new Machine('qemu-vtd-sc') });
  allowNoSnoop(r, 1);
  r.nic1.setReg(GCR, r.nic1.reg(GCR) | GCR_ALL_NO_SNOOP);
  setupRx(r);
  setupTx(r);
  send(r, frame(100, 9), 0);
  assert.deepEqual(get(r, RX_BUF, 100), frame(100, 9));
  assert.equal(r.m.engine.hazardCount, 0);
});
