// The engine: one simulated machine and the files that can be opened on it.
// The server and the library both come in through here.
import { Errno, EINVAL, ENOENT } from '../uapi/errno.js';
import type { EmulatedFile } from './file.js';
import { UserAccounts, type Task } from './task.js';
import { IommufdCtx } from './iommufd.js';
import { PLATFORMS, DEFAULT_PLATFORM, type Platform } from '../hw/platform.js';
import { MockIommu } from '../hw/mock-iommu.js';
// VFIO device cdevs of the platform's PCI functions
import { VfioDevice, VfioDeviceFile, type VfioPciFunction } from './vfio-device.js';
import { VfioGroup } from './vfio-group.js';
import { buildMachine, type IommuUnit } from '../hw/machine.js';
import { IommuGroupIds } from '../hw/iommu.js';
import { SystemMemory } from '../hw/cache.js';
import { Frames } from '../hw/memory.js';
import { DmaEngine } from '../hw/dma.js';
import { Wire } from '../hw/wire.js';
import { E1000e } from '../hw/e1000e.js';
import { MachineClock } from '../hw/clock.js';
import { Igb } from '../hw/igb.js';

/** The VFIO container node (iommufd's compat misc device). */
export const VFIO_CONTAINER_PATH = '/dev/vfio/vfio';

export interface EngineOptions {
  /** The simulated machine (default: the built-in "mock" platform). */
  platform?: Platform;
  /** Answer IOMMU_TEST_CMD (the kernel's CONFIG_IOMMUFD_TEST). Default: the platform's. */
  testAbi?: boolean;
}

/**
 * Something the machine did that an observer (the live view, server/ui-*.ts)
 * may show: a device's DMA, an IOMMU fault, a coherency hazard. Device and
 * DMA code reports it with Engine.notify; nothing in the engine depends on it.
 */
export interface MachineEvent {
  readonly kind: 'dma' | 'fault' | 'hazard';
  /** The device (IommuDevice.name, e.g. "0000:00:01.0"). */
  readonly device: string;
  readonly iova?: bigint;
  readonly length?: number;
  readonly write?: boolean;
  /** Words for humans: "read 64 bytes, snooped", "not-present". */
  readonly detail?: string;
}

/** One DMA request that did not snoop the CPU caches (Engine.hazards). */
export interface DmaHazard {
  /** The cdev index of the device (vfioN) and its name (the BDF). */
  readonly vfio: number;
  readonly device: string;
  readonly iova: bigint;
  readonly length: number;
  readonly write: boolean;
  /** Bytes of the request that went to memory without snooping. */
  readonly bytes: number;
  /** Whether the domain enforces coherency (then only a non-cacheable SMMU entry gets here). */
  readonly enforcing: boolean;
  /** The id of the HWPT the device is attached to in its iommufd (its group's attachment), when it is bound to one. */
  readonly hwpt?: number;
}

/** Whether a domain says it enforces cache coherency (VT-d SNP from now on, AMD always, SMMU CANWBS). */
function domainEnforces(d: unknown): boolean {
  return (d as { enforcing?: boolean } | null)?.enforcing === true;
}

export class Engine {
  readonly platform: Platform;
  /** Whether IOMMU_TEST_CMD is answered. */
  readonly testAbi: boolean;
  /** The mock IOMMU of the test driver (its devices are made by IOMMU_TEST_OP_MOCK_DOMAIN). */
  readonly mock = new MockIommu();
  /** iommufd_test_memory_limit (IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT), bytes: selftest.c's global, this engine's. */
  testMemoryLimit = 65536;
  /** The machine's iommu_group ids (its PCI functions'); the engine's alone. */
  readonly iommuGroupIds = new IommuGroupIds();
  /** The machine's users: per-uid RLIMIT_MEMLOCK accounting (user->locked_vm). */
  readonly users = new UserAccounts();
  /** Names for files the engine cannot read (IOAS_MAP_FILE of an emulated file): opaque:N. */
  nextOpaqueFile = 1;
  /** The platform's IOMMU units (dmar0, smmu3.0, ivhd0, ...). */
  readonly iommuUnits: readonly IommuUnit[];
  /** The machine's page frames: mm and file frame numbers, the page cache (live file spaces). */
  readonly frames = new Frames();
  /** Physical memory: the address spaces of the processes this machine's devices may reach by DMA. */
  readonly memory = new SystemMemory(this.frames);
  /** The cable between the first two NICs. */
  readonly wire = new Wire();
  /**
   * The machine's clock: device timers (interrupt throttling, delays, link
   * negotiation). Virtual until someone calls runRealTime (the server does);
   * the library's users and tests move it with clock.advance(ns).
   */
  readonly clock = new MachineClock();
  /** The DMA engine of each VFIO device's function, by cdev index. */
  readonly dma: DmaEngine[] = [];

  /**
   * DMA requests that did not snoop the CPU caches (a No Snoop request the
   * domain did not force to snoop, or a non-cacheable SMMU entry): what a
   * guest must flush for itself, the coherency hazard iommufd's enforcement
   * exists to rule out. The most recent 1024, and how many in all.
   */
  readonly hazards: DmaHazard[] = [];
  hazardCount = 0;

  /** Who watches MachineEvents (the live view); empty unless one does. */
  readonly observers = new Set<(ev: MachineEvent) => void>();
  /** Who wants each DmaHazard as it happens (the server's trace). */
  readonly hazardWatchers = new Set<(h: DmaHazard) => void>();

  /** Report a MachineEvent to the observers (nothing to do without any). */
  notify(ev: MachineEvent): void {
    for (const o of this.observers) o(ev);
  }

  constructor(readonly options: EngineOptions = {}) {
    this.platform = options.platform ?? PLATFORMS[DEFAULT_PLATFORM]!;
    this.testAbi = options.testAbi ?? this.platform.testAbi;
    const m = buildMachine(this.platform, this.iommuGroupIds);
    this.iommuUnits = m.units;
    for (const fn of m.vfioFunctions) this.plugVfioDevice(fn);
    // The machine's first two NICs, whatever their models, share the wire.
    for (const d of this.vfioDevices) if ((d.pci instanceof E1000e || d.pci instanceof Igb) && this.wire.ends.length < 2) d.pci.model.plugInto(this.wire);
  }

  /** Give vfio<n>'s function another DMA engine (the library's, in front of its CPU cache). */
  setDma(n: number, e: DmaEngine): void {
    this.dma[n] = e;
    e.onTransfer = (write, iova, length, segments) => {
      let bytes = 0;
      for (const s of segments) if (!s.snooped) bytes += s.length;
      if (bytes) {
        const hwpt = this.vfioDevices[n]?.idev?.igroup.attach?.hwpt?.id;
        const h: DmaHazard = { vfio: n, device: e.device.name, iova, length, write, bytes, enforcing: domainEnforces(e.device.group.domain), ...(hwpt === undefined ? {} : { hwpt }) };
        this.hazardCount++;
        this.hazards.push(h);
        if (this.hazards.length > 1024) this.hazards.splice(0, this.hazards.length - 1024);
        for (const w of this.hazardWatchers) w(h);
        if (this.observers.size) this.notify({ kind: 'hazard', device: h.device, iova, length, write, detail: `${bytes} of ${length} bytes did not snoop the CPU caches` });
      }
      if (this.observers.size) this.notify({ kind: 'dma', device: e.device.name, iova, length, write, detail: `${write ? 'wrote' : 'read'} ${length} bytes${bytes ? ', not snooped' : ''}` });
    };
    const pci = this.vfioDevices[n]!.pci;
    if (pci instanceof E1000e || pci instanceof Igb) pci.model.attachDma(e);
  }

  // ---- VFIO device cdevs ----
  /** The functions bound to vfio-pci, by cdev index (/dev/vfio/devices/vfioN). */
  readonly vfioDevices: VfioDevice[] = [];
  /** The VFIO groups (/dev/vfio/N), in the order vfio made them (their minor numbers). */
  readonly vfioGroups: VfioGroup[] = [];

  /** Bind another PCI function to vfio-pci (hotplug): it gets the next vfioN. Its path exists for later opens. */
  plugVfioDevice(fn: VfioPciFunction): VfioDevice {
    const d = new VfioDevice(fn, this.vfioDevices.length);
    this.vfioDevices.push(d);
    if (fn instanceof E1000e) fn.model.useClock(this.clock);
    if (fn instanceof Igb) fn.model.core.useClock(this.clock);
    this.setDma(d.index, new DmaEngine(fn, this.memory));
    // vfio_group_find_or_alloc: one VFIO group per iommu_group.
    let g = this.vfioGroups.find((x) => x.iommuGroup === fn.group);
    if (!g) { g = new VfioGroup(fn.group, this.vfioGroups.length); this.vfioGroups.push(g); }
    g.devices.push(d);
    d.group = g;
    return d;
  }

  /** Paths whose open() this engine answers (the shim intercepts these). */
  paths(): string[] {
    return ['/dev/iommu', ...this.vfioDevices.map((d) => d.path), VFIO_CONTAINER_PATH, ...this.vfioGroups.map((g) => g.path)];
  }

  /** open(2) of an emulated path. ENOENT for a path we do not emulate. */
  open(path: string, task: Task): EmulatedFile {
    // The opener lives on this machine: its frames are numbered in ours (EINVAL for another's).
    if (task.mm.place) task.mm.place(this.frames);
    else if (task.mm.frames !== this.frames) throw new Errno(EINVAL, "the opener's memory is another machine's");
    if (path === '/dev/iommu') return new IommufdCtx(this);
    // CONFIG_IOMMUFD_VFIO_CONTAINER: iommufd answers the VFIO container node.
    if (path === VFIO_CONTAINER_PATH) return new IommufdCtx(this, { vfioContainer: true });
    const group = this.vfioGroups.find((g) => g.path === path);
    if (group) return group.open();
    const vdev = this.vfioDevices.find((d) => d.path === path);
    if (vdev) return new VfioDeviceFile(vdev);
    throw new Errno(ENOENT, `${path} is not emulated`);
  }
}
