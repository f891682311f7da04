// The library's view of DMA cache coherency: a simulated machine with its
// physical memory, the CPU cache in front of it, the DMA engines of its PCI
// functions and KVM VMs, so a script can make the CPU store into a buffer,
// let a NIC read or write it with or without No Snoop, and see what each
// side ends up seeing.
import { Engine } from '../core/engine.js';
import { PLATFORMS, type Platform } from '../hw/platform.js';
import { loadPlatform } from '../server/platform-file.js';
import { CpuCache, SystemMemory, physAddr } from '../hw/cache.js';
import { DmaEngine } from '../hw/dma.js';
import { KvmVm } from '../kvm/kvm.js';
import { IommufdFile, SimProcess, type ProcessOptions } from './index.js';
import { VfioDeviceHandle } from './vfio.js';

/** A process whose memory the machine reaches: a SimProcess or anything with an mm. */
type HasMm = { readonly mm: SimProcess['mm'] };

/** One simulated machine: the engine (its iommufd and VFIO devices), memory, the CPU cache, DMA, KVM. */
export class Machine {
  readonly engine: Engine;
  /** DRAM: the bytes of every process this machine made. */
  readonly memory = new SystemMemory();
  /** The CPUs' write-back cache in front of memory. */
  readonly cache: CpuCache;
  private readonly engines = new Map<number, DmaEngine>();

  constructor(platform: string | Platform = 'qemu-vtd') {
    this.engine = new Engine({ platform: typeof platform === 'string' ? (PLATFORMS[platform] ?? loadPlatform(platform)) : platform });
    this.cache = new CpuCache(this.memory);
  }

  /** A new simulated process on this machine, its memory reachable by DMA. */
  process(o?: ProcessOptions): SimProcess {
    const p = new SimProcess(o);
    this.memory.addAddressSpace(p.mm);
    return p;
  }

  /** open("/dev/iommu") from `proc` (a new process by default). */
  openIommufd(proc: SimProcess = this.process()): IommufdFile {
    this.memory.addAddressSpace(proc.mm);
    return new IommufdFile(proc, this.engine);
  }

  /** open("/dev/vfio/devices/vfio<n>") from `f`'s process. */
  openVfioDevice(f: IommufdFile, n: number): VfioDeviceHandle {
    return f.openVfioDevice(n);
  }

  /** The DMA engine of the PCI function behind vfio<n> (or behind an open handle). */
  dma(device: number | VfioDeviceHandle): DmaEngine {
    const n = typeof device === 'number' ? device : device.index;
    let e = this.engines.get(n);
    if (!e) {
      const vdev = this.engine.vfioDevices[n];
      if (!vdev) throw new RangeError(`no vfio${n} on ${this.engine.platform.name}`);
      e = new DmaEngine(vdev.pci, this.cache);
      this.engines.set(n, e);
    }
    return e;
  }

  /** A CPU store of `data` at `va` of `proc`: it stays in the cache, dirty. */
  cpuWrite(proc: HasMm, va: bigint, data: Uint8Array | string): void {
    this.memory.addAddressSpace(proc.mm);
    this.cache.cpuWrite(physAddr(proc.mm, va), typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }

  /** A CPU load of `len` bytes at `va` of `proc` (cache first). */
  cpuRead(proc: HasMm, va: bigint, len: number): Uint8Array {
    this.memory.addAddressSpace(proc.mm);
    return this.cache.cpuRead(physAddr(proc.mm, va), len);
  }

  /** clflush over [va, va+len) of `proc`; returns the lines written back. */
  clflush(proc: HasMm, va: bigint, len: number): number {
    return this.cache.clflush(physAddr(proc.mm, va), len);
  }

  /** What DRAM holds at `va` of `proc`, bypassing the cache. */
  memoryRead(proc: HasMm, va: bigint, len: number): Uint8Array {
    return this.memory.read(physAddr(proc.mm, va), len);
  }

  /** A KVM VM on this machine's CPUs. */
  createVm(): KvmVm {
    return new KvmVm(this.cache);
  }
}

/** A machine on a built-in platform (qemu-vtd, qemu-vtd-sc, mock) or a platform file. */
export function openMachine(platform: string | Platform = 'qemu-vtd'): Machine {
  return new Machine(platform);
}
