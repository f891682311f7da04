// NIC 0 of the qemu-vtd machine as the NIC tests take it: a new engine, a
// process with /dev/iommu open, the VFIO device opened and bound, a page of
// the process's memory to pass register values through, and 32-bit reads
// and writes of BAR0 (region 0) through the device file.
import assert from 'node:assert/strict';
import { Engine, IommufdFile, SimProcess, type VfioDeviceHandle } from '../../src/lib/index.js';
import { PLATFORMS } from '../../src/hw/platform.js';

export interface Nic0 { engine: Engine; p: SimProcess; f: IommufdFile; d: VfioDeviceHandle; buf: bigint }

export function openNic0(): Nic0 {
  const engine = new Engine({ platform: PLATFORMS['qemu-vtd']! });
  const p = new SimProcess();
  const f = new IommufdFile(p, engine);
  const d = f.openVfioDevice(0);
  d.bind(f);
  return { engine, p, f, d, buf: p.mm.mmap(4096) };
}

/** Write `v` to the register at `off` (a pwrite of 4 bytes that must succeed). */
export function wr(m: Nic0, off: number, v: number): void {
  m.p.mm.write(m.buf, Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24));
  assert.equal(m.d.file.write!(m.p.task, m.buf, 4, BigInt(off)), 4);
}

/** The register at `off` (a pread of 4 bytes that must succeed). */
export function rd(m: Nic0, off: number): number {
  assert.equal(m.d.file.read!(m.p.task, m.buf, 4, BigInt(off)), 4);
  const b = m.p.mm.read(m.buf, 4);
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}
