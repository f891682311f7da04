// Two e1000e NICs wired back to back, driven from TypeScript: both attached
// to one IOAS over a simulated process's memory, a legacy TX ring on NIC 0
// and an RX ring on NIC 1, one frame across, then an RX buffer at an IOVA
// nothing is mapped at (a DMA fault: the bytes go nowhere, QEMU still writes
// the descriptor back). Run after `npm run build`:  node examples/nic-loop.mjs
import { openMachine } from '../dist/src/lib/index.js';

const hex = (n) => '0x' + (n >>> 0).toString(16);
const m = openMachine('qemu-vtd');
const f = m.openIommufd();
const [nic0, nic1] = [f.openVfioDevice(0), f.openVfioDevice(1)];
const ioas = f.ioasAlloc();
for (const n of [nic0, nic1]) { n.bind(f); n.attach(ioas); n.enableBusMaster(); n.reg(0xc0); }
const IOVA = 0x100000n, buf = f.proc.mmap(0x10000n);
f.map({ ioasId: ioas, userVa: buf, length: 0x10000n, iova: IOVA });
const put = (off, bytes) => f.proc.mm.write(buf + BigInt(off), bytes);
const get = (off, len) => f.proc.mm.read(buf + BigInt(off), len);
const desc = (addr, lower) => {
  const b = new Uint8Array(16), d = new DataView(b.buffer);
  d.setBigUint64(0, addr, true); d.setUint32(8, lower, true);
  return b;
};

// NIC 1: eight 2048-byte receive buffers at 0x3000.., the ring at 0x2000; RCTL = EN | BAM.
for (let i = 0; i < 8; i++) put(0x2000 + 16 * i, desc(IOVA + 0x3000n + BigInt(0x800 * i), 0));
put(0x2010, desc(0x900000n, 0)); // descriptor 1: a buffer at an unmapped IOVA
nic1.setReg(0x2800, Number(IOVA) + 0x2000); nic1.setReg(0x2808, 128); nic1.setReg(0x100, 0x8002); nic1.setReg(0x2818, 7);
// NIC 0: the TX ring at 0x0, TCTL = EN.
nic0.setReg(0x3800, Number(IOVA)); nic0.setReg(0x3808, 128); nic0.setReg(0x400, 0x2);

const frame = new Uint8Array(64);
frame.set([0x52, 0x54, 0x00, 0x12, 0x34, 0x57, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x88, 0xb5]);
new TextEncoder().encodeInto('hello over the wire', frame.subarray(14));
for (let i = 0; i < 2; i++) {
  put(0x1000, frame);
  put(16 * i, desc(IOVA + 0x1000n, frame.length | (0xb << 24))); // EOP | IFCS | RS
  nic0.setReg(0x3818, i + 1);
  const rx = get(0x2000 + 16 * i, 16);
  console.log(`frame ${i}: NIC0 TDH ${nic0.reg(0x3810)} DD ${get(16 * i + 12, 1)[0] & 1}, ICR ${hex(nic0.reg(0xc0))};`
    + ` NIC1 RDH ${nic1.reg(0x2810)} length ${rx[8] | (rx[9] << 8)} status ${hex(rx[12])}, ICR ${hex(nic1.reg(0xc0))}`);
}
console.log('received:', JSON.stringify(new TextDecoder().decode(get(0x3000 + 14, 19))));
for (const x of m.dma(1).faults) console.log(`DMA fault: ${x.device} iova ${hex(Number(x.iova))} ${x.write ? 'write' : 'read'} ${x.reason}`);
