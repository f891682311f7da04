// vfio-pci's device file regions: config space as vfio_pci_config.c
// virtualises it and the BAR regions through read/write. The qemu-vtd
// e1000e cases are rules test/conformance/vfio_config.golden shows; the
// synthetic functions exercise rules read in drivers/vfio/pci/ that the
// e1000e cannot show (64-bit and prefetchable BARs, a ROM, hidden
// capabilities).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, IommufdFile, SimProcess, Errno, errno as E, vfio as V, type VfioDeviceHandle } from '../src/lib/index.js';
import { PLATFORMS } from '../src/hw/platform.js';
import { PciConfigSpace, PCI_CFG_SPACE_EXP_SIZE, type PciBarResource, type PciFunctionModel } from '../src/hw/pci.js';
import { VfioPciConfig } from '../src/core/vfio-pci-config.js';
import type { E1000e } from '../src/hw/e1000e.js';

const CFG = 7n << 40n;

interface Dev { f: IommufdFile; d0: VfioDeviceHandle; d1: VfioDeviceHandle; engine: Engine; nic: E1000e }

function machine(): Dev {
  const engine = new Engine({ platform: PLATFORMS['qemu-vtd']! });
  const f = new IommufdFile(new SimProcess(), engine);
  const d0 = f.openVfioDevice(0), d1 = f.openVfioDevice(1);
  d0.bind(f);
  d1.bind(f);
  return { f, d0, d1, engine, nic: engine.vfioDevices[0]!.pci as E1000e };
}

/** pread: the bytes, or the errno. */
function pread(h: VfioDeviceHandle, pos: bigint, len: number): Uint8Array | number {
  const buf = h.proc.mm.mmap(4096);
  try {
    const n = h.file.read!(h.proc.task, buf, len, pos);
    return h.proc.mm.read(buf, n);
  } catch (e) {
    if (e instanceof Errno) return e.code;
    throw e;
  }
}

/** pwrite: the count written, or -errno. */
function pwrite(h: VfioDeviceHandle, pos: bigint, bytes: Uint8Array): number {
  const buf = h.proc.mm.mmap(4096);
  h.proc.mm.write(buf, bytes);
  try {
    return h.file.write!(h.proc.task, buf, bytes.length, pos);
  } catch (e) {
    if (e instanceof Errno) return -e.code;
    throw e;
  }
}

const le = (v: number, size: number) => Uint8Array.from({ length: size }, (_, i) => (v >>> (8 * i)) & 0xff);
const val = (b: Uint8Array) => b.reduceRight((a, x) => a * 256 + x, 0);

function rd(h: VfioDeviceHandle, off: number, size = 4): number {
  const r = pread(h, CFG + BigInt(off), size);
  assert.ok(r instanceof Uint8Array, `config read at 0x${off.toString(16)}: errno ${String(r)}`);
  return val(r);
}

function wr(h: VfioDeviceHandle, off: number, size: number, v: number): void {
  assert.equal(pwrite(h, CFG + BigInt(off), le(v, size)), size);
}

test('BAR sizing on the e1000e: all-ones reads the size mask with the flag bits; a restore reads the address again', () => {
  const { d0 } = machine();
  const sized = [0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x30].map((off) => {
    const orig = rd(d0, off);
    wr(d0, off, 4, 0xffffffff);
    const mask = rd(d0, off);
    wr(d0, off, 4, orig);
    assert.equal(rd(d0, off), orig, `BAR at 0x${off.toString(16)} restored`);
    return mask;
  });
  assert.deepEqual(sized, [0xfffe0000, 0xfffe0000, 0xffffffe1, 0xffffc000, 0, 0, 0]);
});

/** A synthetic function: BAR0 64-bit prefetchable 1 MiB, BAR2 32-bit 4 KiB, a 64 KiB ROM; caps PM, a debug cap (hidden), MSI, PCIe; ecaps: an unknown one first, then DSN. */
function synthetic(o: { rom?: boolean } = {}): PciFunctionModel {
  const c = new PciConfigSpace(PCI_CFG_SPACE_EXP_SIZE);
  c.wmask.fill(0xff, 0x40);
  c.set(0, 4, 0x12341af4);
  c.set(0x04, 2, 0x0002);
  c.setMasks(0x04, 2, 0x0507);
  c.set(0x06, 2, 0x0010);
  c.set(0x10, 4, 0xe000000c);
  c.set(0x14, 4, 0x00000001);
  c.set(0x18, 4, 0xfe000000);
  if (o.rom) c.set(0x30, 4, 0xfd000000);
  c.set(0x34, 1, 0x40);
  c.set(0x40, 4, 0x00035001); // PM, next 0x50
  c.setMasks(0x40, 8, 0);
  c.set(0x50, 4, 0x0000600a); // debug port (vfio hides it), next 0x60
  c.set(0x60, 4, 0x00807005); // MSI, 64-bit, next 0x70
  c.setMasks(0x60, 14, 0);
  c.set(0x70, 4, 0x00020010); // PCI Express v2 endpoint, last: extended capabilities follow
  c.setMasks(0x70, 0x34, 0);
  c.set(0x100, 4, 0x1401002a); // ID 0x2a (past vfio's table), next 0x140
  c.set(0x140, 4, 0x00010003); // DSN, last
  c.set(0x144, 4, 0x11223344);
  c.setMasks(0x100, 0x4c, 0);
  const mem = (start: bigint, length: bigint, mem64 = false, prefetch = false): PciBarResource => ({ start, length, io: false, mem64, prefetch });
  const resources: Array<PciBarResource | undefined> = [mem(0x1e0000000n, 0x100000n, true, true), undefined, mem(0xfe000000n, 0x1000n)];
  resources[6] = o.rom ? mem(0xfd000000n, 0x10000n) : undefined;
  return {
    config: c, resources,
    barRead: () => 0n, barWrite: () => {}, resetFunction: () => {},
  };
}

function cfgRd(v: VfioPciConfig, off: number, size = 4): number { return val(v.rw(off, size)); }
function cfgWr(v: VfioPciConfig, off: number, size: number, x: number): void { v.rw(off, size, le(x, size)); }

test('BAR sizing (vfio_bar_fixup): a 64-bit pair sizes across both dwords, prefetch and type bits kept; a ROM keeps its enable bit', () => {
  const v = new VfioPciConfig(synthetic({ rom: true }));
  for (const off of [0x10, 0x14, 0x18, 0x30]) cfgWr(v, off, 4, 0xffffffff);
  assert.equal(cfgRd(v, 0x10), 0xfff0000c, 'low dword: 1 MiB, 64-bit, prefetchable');
  assert.equal(cfgRd(v, 0x14), 0xffffffff, 'high dword of a 1 MiB BAR');
  assert.equal(cfgRd(v, 0x18), 0xfffff000, '32-bit 4 KiB');
  assert.equal(cfgRd(v, 0x30), 0xffff0001, 'ROM: size mask and the enable bit');
  cfgWr(v, 0x30, 4, 0xfffff800);
  assert.equal(cfgRd(v, 0x30), 0xffff0000, 'ROM sizing without the enable bit');
  cfgWr(v, 0x14, 4, 0x1);
  assert.equal(cfgRd(v, 0x14), 0x1, 'the high dword takes an address');
  const noRom = new VfioPciConfig(synthetic());
  cfgWr(noRom, 0x30, 4, 0xffffffff);
  assert.equal(cfgRd(noRom, 0x30), 0, 'no ROM: the ROM BAR reads 0');
  cfgWr(noRom, 0x1c, 4, 0xffffffff);
  assert.equal(cfgRd(noRom, 0x1c), 0, 'an unimplemented BAR reads 0');
});

test('capability chain: a capability vfio cannot size is skipped; the first extended capability stays as an anchor with ID 0', () => {
  const v = new VfioPciConfig(synthetic());
  assert.equal(cfgRd(v, 0x40, 2), 0x6001, 'PM now points past the hidden debug capability to MSI');
  assert.equal(cfgRd(v, 0x100), 0x14000000, 'the unknown first ecap: ID and version hidden, next kept');
  assert.equal(cfgRd(v, 0x140), 0x00010003, 'DSN as the hardware has it');
  assert.equal(cfgRd(v, 0x144), 0x11223344);
  assert.equal(cfgRd(v, 0x50), 0x0000600a, 'the hidden capability\'s bytes stay readable (raw access)');
});

test('read-only and virtualised header fields: writes leave vendor, device, pin, capability pointer and MSI-X control alone', () => {
  const { d0, nic } = machine();
  for (const [off, size] of [[0x00, 2], [0x02, 2], [0x08, 4], [0x2c, 4], [0x34, 1], [0x3d, 1], [0xa2, 2], [0xa4, 4], [0x100, 4]] as const) {
    const before = rd(d0, off, size);
    wr(d0, off, size, before ^ 0xffffffff);
    assert.equal(rd(d0, off, size), before, `offset 0x${off.toString(16)}`);
  }
  wr(d0, 0x3c, 1, 0x5a);
  assert.equal(rd(d0, 0x3c, 1), 0x5a, 'interrupt line is virtualised and writable');
  assert.equal(nic.model.config.read(0x3c, 1), 0x0a, 'the hardware\'s interrupt line is untouched');
});

test('RW1C bits behind vfio: AER status bits the hardware set clear on a write of 1, not of 0; the status register drops writes', () => {
  const { d0, nic } = machine();
  nic.model.config.set(0x104, 4, 0x00001010); // poisoned TLP, data link protocol error
  wr(d0, 0x104, 4, 0);
  assert.equal(rd(d0, 0x104), 0x00001010);
  wr(d0, 0x104, 4, 0x00001000);
  assert.equal(rd(d0, 0x104), 0x00000010, 'the bit written as 1 cleared');
  nic.model.config.set(0x06, 2, 0x8010); // detected parity error
  wr(d0, 0x06, 2, 0x8000);
  assert.equal(rd(d0, 0x06, 2), 0x8010, 'PCI_STATUS has no writable bits for the user');
});

test('command register: INTx disable is virtual, memory enable gates the memory BARs (EIO), I/O BARs do not care', () => {
  const { d0, nic, engine } = machine();
  wr(d0, 0x04, 2, 0x0407);
  assert.equal(rd(d0, 0x04, 2), 0x0407);
  assert.equal(nic.model.config.read(0x04, 2) & 0x400, 0, 'the hardware never sees INTx disable');
  assert.equal(engine.vfioDevices[0]!.config!.virqDisabled, true);
  wr(d0, 0x04, 2, 0x0001);
  assert.equal(engine.vfioDevices[0]!.config!.virqDisabled, false);
  assert.equal(pread(d0, 0n, 4), E.EIO, 'memory decoding off');
  assert.ok(pread(d0, 2n << 40n, 4) instanceof Uint8Array, 'I/O ports still answer');
  wr(d0, 0x04, 2, 0x0002);
  assert.ok(pread(d0, 0n, 4) instanceof Uint8Array);
});

test('PM: D3hot through PMCSR turns the memory BARs off (EIO) until D0', () => {
  const { d0 } = machine();
  wr(d0, 0xcc, 2, 0x0003);
  assert.equal(rd(d0, 0xcc, 2), 0x0003);
  assert.equal(pread(d0, 0n, 4), E.EIO);
  wr(d0, 0xcc, 2, 0x0000);
  assert.ok(pread(d0, 0n, 4) instanceof Uint8Array);
});

test('MSI: the enable bit does not stick without SET_IRQS; it does once MSI is the IRQ type', () => {
  const { d0, engine } = machine();
  wr(d0, 0xd2, 2, 0x0081);
  assert.equal(rd(d0, 0xd2, 2), 0x0080);
  engine.vfioDevices[0]!.config!.msiEnabled = true;
  wr(d0, 0xd2, 2, 0x0081);
  assert.equal(rd(d0, 0xd2, 2), 0x0081);
});

test('BAR regions: a register file round trip, the MSI-X table reads all-ones and drops writes, a count past the end is cut', () => {
  const { d0, d1 } = machine();
  assert.equal(pwrite(d0, 0x100n, le(0xdeadbeef, 4)), 4);
  assert.deepEqual(pread(d0, 0x100n, 4), le(0xdeadbeef, 4));
  assert.deepEqual(pread(d1, 0x100n, 4), le(0, 4), 'each function has its own registers');
  assert.equal(pwrite(d0, 3n << 40n, le(0x12345678, 4)), 4);
  assert.deepEqual(pread(d0, 3n << 40n, 4), le(0xffffffff, 4), 'MSI-X table');
  assert.equal(pwrite(d0, (3n << 40n) + 0x50n, le(0x12345678, 4)), 4, 'past the 5-vector table');
  assert.deepEqual(pread(d0, (3n << 40n) + 0x50n, 4), le(0x12345678, 4));
  const cut = pread(d0, 0x1fffcn, 16);
  assert.ok(cut instanceof Uint8Array && cut.length === 4);
  assert.equal(pread(d0, 0x20000n, 4), E.EINVAL);
  assert.equal(pwrite(d0, 6n << 40n, le(0, 4)), -E.EINVAL, 'the ROM region is never written');
  assert.equal(pread(d0, 9n << 40n, 4), E.EINVAL, 'past num_regions');
  assert.equal(pread(d0, CFG + 0xffcn, 8), E.EFAULT, 'config read across the end');
});

test('VFIO_DEVICE_RESET: the config space the user sees survives, so do the NIC registers (qemu 7.2 ignores the PM reset); closing restores the saved header', () => {
  const { d0, f, engine, nic } = machine();
  wr(d0, 0x04, 2, 0x0006);
  wr(d0, 0x10, 4, 0xffffffff);
  assert.equal(pwrite(d0, 0x2800n, le(0x12345678, 4)), 4);
  assert.equal(d0.ioctlRaw(V.VFIO_DEVICE_RESET, new Uint8Array(8)).rc, 0);
  assert.equal(rd(d0, 0x04, 2), 0x0006);
  assert.equal(rd(d0, 0x10), 0xfffe0000);
  assert.deepEqual(pread(d0, 0x2800n, 4), le(0x12345670, 4), 'RDBAL0 keeps its value (e1000e_regs.golden)');
  assert.equal(nic.model.config.read(0x04, 2), 0x0006);
  engine.vfioDevices[0]!.unbindIommufd();
  assert.equal(nic.model.config.read(0x04, 2), 0x0103, 'the header saved at open is back');
  void f;
});

test('VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: argsz below the header is EINVAL, then ENODEV (root bus: no slot or bus reset)', () => {
  const { d0 } = machine();
  const S = V.VfioPciHotResetInfo;
  assert.equal(d0.ioctlRaw(V.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, S.encode({ argsz: 8 })).errno, E.EINVAL);
  assert.equal(d0.ioctlRaw(V.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, S.encode({ argsz: 12 })).errno, E.ENODEV);
  assert.equal(d0.ioctlRaw(V.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, new Uint8Array(76).fill(0, 0).map((_, i) => (i === 0 ? 76 : 0))).errno, E.ENODEV);
});

test('trace: a region access names its region and offset', () => {
  const { d0 } = machine();
  const buf = d0.proc.mm.mmap(4096);
  const t = { name: '', args: '' };
  d0.file.read!(d0.proc.task, buf, 4, CFG + 0x10n, t);
  assert.deepEqual(t, { name: 'read', args: 'region=CONFIG off=0x10 len=4' });
  d0.file.write!(d0.proc.task, buf, 2, (3n << 40n) + 0x2000n, t);
  assert.deepEqual(t, { name: 'write', args: 'region=BAR3 off=0x2000 len=2' });
});

test('a huge count is refused (config: EFAULT) or cut to the BAR before anything is copied', () => {
  const { d0 } = machine();
  const buf = d0.proc.mm.mmap(4096);
  const t = d0.proc.task;
  assert.throws(() => d0.file.read!(t, buf, 0x7ffff000, CFG), (e: unknown) => e instanceof Errno && e.code === E.EFAULT);
  assert.throws(() => d0.file.write!(t, buf, 0x7ffff000, CFG), (e: unknown) => e instanceof Errno && e.code === E.EFAULT);
  assert.equal(d0.file.write!(t, buf, 0x7ffff000, (2n << 40n) + 0x1cn), 4, 'the I/O BAR takes its last 4 bytes; only they are read');
});
