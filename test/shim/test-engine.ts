// A test-only engine for the shim's generic file features: the engine of
// test/server-files.test.ts, serving /dev/emu-test (see emu_test.h).
import { Engine } from '../../src/core/engine.js';
import { POLLIN, POLLOUT, type EmulatedFile, type MmapRegion, type RegionMemory } from '../../src/core/file.js';
import type { Task } from '../../src/core/task.js';
import { Errno, EBUSY, EINVAL, ENOTTY, ENXIO, EPERM, ESPIPE } from '../../src/uapi/errno.js';

const E = (n: number) => (0x45 << 8) | n; // _IO('E', n)
const MAP_SHARED = 1;
const PROT_EXEC = 4;

/** A queue file like a fault queue's: 8-byte records read, 8-byte responses written. */
class QueueFile implements EmulatedFile {
  readonly kind = 'test-queue';
  readonly records: bigint[] = [];
  onReadable?: (() => void) | undefined;
  constructor(private readonly owner: TestCtl) {}
  ioctl(): number { throw new Errno(ENOTTY); }
  read(task: Task, buf: bigint, len: number, pos: bigint): number {
    if (pos) throw new Errno(ESPIPE);
    if (len < 8) throw new Errno(EINVAL);
    let done = 0;
    while (this.records.length && done + 8 <= len) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, this.records[0]!, true);
      task.mm.write(buf + BigInt(done), b); // faults before the record is taken
      this.records.shift();
      done += 8;
    }
    return done;
  }
  write(task: Task, buf: bigint, len: number, pos: bigint): number {
    if (pos) throw new Errno(ESPIPE);
    let done = 0;
    for (; done + 8 <= len; done += 8) {
      const b = task.mm.read(buf + BigInt(done), 8);
      this.owner.responses++;
      this.owner.lastResponse = new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
    }
    return done;
  }
  poll(): number { return POLLOUT | (this.records.length ? POLLIN : 0); }
  push(v: bigint): void { this.records.push(v); this.onReadable?.(); }
  release(): void { this.owner.released++; }
}

/** One mmap region of 4 KiB at offset 0x10000 (like a vIOMMU's). */
class Region implements MmapRegion {
  readonly length = 4096;
  mapped = 0;
  private mem: RegionMemory | undefined;
  private early = new Uint8Array(this.length);
  attach(mem: RegionMemory): void { mem.write(0, this.early); this.mem = mem; }
  unmapped(): void { this.mapped--; }
  duplicated(): void { this.mapped++; }
  write32(off: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    if (this.mem) this.mem.write(off, b); else this.early.set(b, off);
  }
  read32(off: number): number {
    const b = this.mem ? this.mem.read(off, 4) : this.early.subarray(off, off + 4);
    return new DataView(b.buffer, b.byteOffset).getUint32(0, true);
  }
}

class TestCtl implements EmulatedFile {
  readonly kind = 'emu-test';
  released = 0;
  ctlReleased = 0;
  responses = 0;
  lastResponse = 0n;
  private last: QueueFile | undefined;
  readonly region = new Region();

  ioctl(task: Task, request: number, arg: bigint): number {
    switch (request) {
      case E(1): { // T_NEWFD
        const b = task.mm.read(arg, 4);
        const failAfter = new DataView(b.buffer, b.byteOffset).getUint32(0, true);
        const q = new QueueFile(this);
        this.last = q;
        task.installFile!(q, arg + 4n);
        if (failAfter) throw new Errno(EINVAL, 'failing after installFile');
        return 0;
      }
      case E(2): this.last!.push(arg); return 0;
      case E(3): { // T_STATS
        const b = new Uint8Array(24);
        const dv = new DataView(b.buffer);
        dv.setUint32(0, this.released, true);
        dv.setUint32(4, this.responses, true);
        dv.setBigUint64(8, this.lastResponse, true);
        dv.setUint32(16, this.ctlReleased, true);
        task.mm.write(arg, b);
        return 0;
      }
      case E(4): case E(5): { // T_FAILNTH, T_FAILNTH_SLAB
        for (let i = 1; i <= Number(arg); i++) {
          const fail = request === E(4)
            ? task.faultInjector?.shouldFail('fail_iommufd')
            : task.faultInjector?.shouldFail('failslab', { mayWait: true });
          if (fail) return i;
        }
        return 0;
      }
      case E(6): { const q = this.last!; setTimeout(() => q.push(arg), 100); return 0; }
      case E(7): this.region.write32(0, Number(arg)); return 0;
      case E(8): return this.region.read32(8);
      case E(9): if (this.region.mapped > 0) throw new Errno(EBUSY, 'mapped'); return 0;
      default: throw new Errno(ENOTTY);
    }
  }

  mmap(_task: Task, offset: bigint, length: bigint, prot: number, flags: number): MmapRegion {
    // iommufd_fops_mmap's rules
    if (!(flags & MAP_SHARED)) throw new Errno(EINVAL, 'not MAP_SHARED');
    if (prot & PROT_EXEC) throw new Errno(EPERM, 'PROT_EXEC');
    if (offset !== 0x10000n || length !== BigInt(this.region.length)) throw new Errno(ENXIO, 'no such region');
    this.region.mapped++;
    return this.region;
  }

  release(): void { this.ctlReleased++; }
}

/** The engine plus /dev/emu-test; every open shares one TestCtl's counters. */
export class TestEngine extends Engine {
  readonly ctl = new TestCtl();
  override paths(): string[] { return [...super.paths(), '/dev/emu-test']; }
  override open(path: string, task: Task): EmulatedFile {
    if (path === '/dev/emu-test') return this.ctl;
    return super.open(path, task);
  }
}

