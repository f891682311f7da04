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
import { KvmVm, kvmArchOf, type KvmArch } from '../kvm/kvm.js';
import { IommufdFile, SimProcess, type ProcessOptions } from './index.js';
import { Errno } from '../uapi/errno.js';
import { VfioDeviceHandle } from './vfio.js';

/** A process whose memory the machine reaches: a SimProcess or anything with an mm. */
type HasMm = { readonly mm: SimProcess['mm'] };

/** One simulated machine: the engine (its iommufd and VFIO devices), memory, the CPU cache, DMA, KVM. */
export class Machine {
  readonly engine: Engine;
  /** DRAM: the bytes of every process this machine made (the engine's physical memory). */
  readonly memory: SystemMemory;
  /** The CPUs' write-back cache in front of memory. */
  readonly cache: CpuCache;

  constructor(platform: string | Platform = 'qemu-vtd') {
    this.engine = new Engine({ platform: typeof platform === 'string' ? (PLATFORMS[platform] ?? loadPlatform(platform)) : platform });
    this.memory = this.engine.memory;
    this.cache = new CpuCache(this.memory);
    // Device DMA (the NICs' included) meets this machine's CPU cache.
    this.engine.vfioDevices.forEach((d, n) => this.engine.setDma(n, new DmaEngine(d.pci, this.cache)));
  }

  /** A new simulated process on this machine, its memory reachable by DMA. */
  process(o?: ProcessOptions): SimProcess {
    const p = new SimProcess({ users: this.engine.users, ...o });
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
    const e = this.engine.dma[n];
    if (!e) throw new RangeError(`no vfio${n} on ${this.engine.platform.name}`);
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

  /** The machine's architecture as KVM sees it: arm64 with SMMUs, x86 otherwise. */
  get arch(): KvmArch {
    return kvmArchOf(this.engine.platform);
  }

  /** A KVM VM on this machine's CPUs (of the machine's architecture). */
  createVm(): KvmVm {
    return new KvmVm(this.cache, this.arch);
  }
}

/** A machine on a built-in platform (qemu-vtd, intel-client, arm-smmuv3, amd-vi, ...) or a platform file. */
export function openMachine(platform: string | Platform = 'qemu-vtd'): Machine {
  return new Machine(platform);
}

/** What a CPU store meets when device `vfioN` reads it back by DMA, and what KVM makes of the device. */
export interface DmaOutcome {
  readonly device: string;
  /** VFIO_DEVICE_BIND_IOMMUFD's errno (0: bound). Without a binding there is no DMA to look at. */
  readonly bind: number;
  /** A read that snoops: 'fresh' (sees the dirty line), 'stale' (memory's old bytes); '-' when not bound. */
  readonly snoopedRead: 'fresh' | 'stale' | '-';
  /** A read with No Snoop set. */
  readonly noSnoopRead: 'fresh' | 'stale' | '-';
  /** kvm-vfio registered non-coherent DMA for the device's file (x86 only: arm64 tracks nothing). */
  readonly kvmNoncoherent: boolean;
  /** A guest WBINVD afterwards: flushed, skipped, or no such instruction (arm64). */
  readonly wbinvd: 'honoured' | 'no-op' | 'n/a';
}

/**
 * The stale-data outcomes of a platform, device by device, each on a machine
 * of its own: bind, attach to a fresh IOAS (the automatic HWPT), map a page,
 * let the CPU store into it (the line stays dirty), read it back by DMA with
 * and without No Snoop, then hand the device's file to a KVM VM.
 */
export function dmaOutcomes(platform: string | Platform): DmaOutcome[] {
  const probe = new Machine(platform);
  return probe.engine.vfioDevices.map((_, n): DmaOutcome => {
    const m = new Machine(probe.engine.platform);
    const f = m.openIommufd();
    const dev = f.openVfioDevice(n);
    let bind = 0;
    try { dev.bind(f); } catch (e) { if (!(e instanceof Errno)) throw e; bind = e.code; }
    let snoopedRead: DmaOutcome['snoopedRead'] = '-', noSnoopRead: DmaOutcome['noSnoopRead'] = '-';
    if (!bind) {
      const ioas = f.ioasAlloc();
      dev.attach(ioas);
      const buf = f.proc.mmap(4096n);
      const iova = 0x100000n;
      f.map({ ioasId: ioas, userVa: buf, length: 4096n, iova });
      const data = new TextEncoder().encode('the CPU wrote this');
      m.cpuWrite(f.proc, buf, data);
      const look = (noSnoop: boolean) => {
        const r = m.dma(dev).dmaRead(iova, data.length, { noSnoop });
        if (!r.ok) throw new Errno(r.errno, `DMA read faulted: ${r.fault.reason}`);
        return r.data.every((b, i) => b === data[i]) ? 'fresh' as const : 'stale' as const;
      };
      snoopedRead = look(false);
      noSnoopRead = look(true);
    }
    const vm = m.createVm();
    vm.addVfioFile(dev.file);
    const wbinvd = vm.arch !== 'x86' ? 'n/a' : vm.guestWbinvd().honoured ? 'honoured' : 'no-op';
    return { device: `vfio${n}`, bind, snoopedRead, noSnoopRead, kvmNoncoherent: vm.hasNoncoherentDma, wbinvd };
  });
}
