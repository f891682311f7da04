// The live view's timeline: every traced call (ioctls decoded as --trace
// shows them, opens, reads/writes, mmaps), the object changes each call made
// (create, destroy, attach, detach, found by comparing the model's digest
// before and after: O(objects) per call), the machine's own events (DMA,
// IOMMU faults, reported through Engine.notify) and coherency hazards (a
// device whose DMA can now bypass the CPU caches). Each event names the
// objects ("<iommufd>:<id>") and devices ("vfioN") it touched. A bounded
// ring: the oldest events fall off.
import type { MachineEvent } from '../core/engine.js';
import { VfioDeviceFile } from '../core/vfio-device.js';
import type { UiDigest, UiModel } from './ui-state.js';
import { hex } from './ui-pte.js';
import { errnoName } from '../uapi/errno.js';

export type UiEventKind = 'ioctl' | 'call' | 'create' | 'destroy' | 'attach' | 'detach' | 'dma' | 'fault' | 'hazard' | 'coherent';

export interface UiEvent {
  /** Increases by one per event, from 1. */
  readonly seq: number;
  /** Milliseconds since the epoch. */
  readonly t: number;
  readonly kind: UiEventKind;
  /** The call's or event's name: "IOMMU_IOAS_MAP", "HWPT_PAGING", "dma". */
  readonly name: string;
  readonly pid?: number;
  /** One line for humans (an ioctl's trace line). */
  readonly text: string;
  readonly ok: boolean;
  readonly errno?: string;
  /** Objects touched, as "<iommufd>:<id>". */
  readonly objects: readonly string[];
  /** Devices touched ("vfio0", or a mock device's name). */
  readonly devices: readonly string[];
}

/** What the server's trace hook passes (server.ts TraceEvent). */
export interface TracedCall {
  readonly name: string;
  readonly pid: number;
  readonly result: number;
  readonly errno: number;
  /** The open file's socket inode. */
  readonly ino?: bigint;
}

/** "ioas_id=2", "out_hwpt_id=3", "pt_id=3", "id=1": the object IDs a decoded line names. */
const ID_FIELD = /\b([a-z_]*id)=(\d+)/g;
/** The server's trace line for a device's DMA fault. */
const DMA_FAULT_LINE = /^--- DMA fault (\S+) iova=(0x[0-9a-f]+) (read|write) ([\w-]+) ---$/;
/** Fields named like IDs that are not object IDs. */
const NOT_OBJECTS = new Set(['pasid', 'option_id', 'virt_id', 'grpid', 'data_type', 'cookie']);

export class UiTimeline {
  private readonly ring: UiEvent[] = [];
  private seq = 0;
  private last: UiDigest | undefined;
  /** Called with each new event (the SSE streams). */
  readonly listeners = new Set<(ev: UiEvent) => void>();
  private readonly onMachineEvent = (ev: MachineEvent) => this.machine(ev);

  constructor(readonly model: UiModel, readonly capacity = 5000) {
    this.last = model.digest();
    model.engine.observers.add(this.onMachineEvent);
  }

  /** Stop watching the engine. */
  dispose(): void {
    this.model.engine.observers.delete(this.onMachineEvent);
    this.listeners.clear();
  }

  /** The newest seq (0 before any event). */
  get lastSeq(): number { return this.seq; }

  /** Events after `since` still in the ring, oldest first. */
  since(since = 0): UiEvent[] {
    return this.ring.filter((e) => e.seq > since);
  }

  private push(e: Omit<UiEvent, 'seq' | 't'>): UiEvent {
    const ev: UiEvent = { seq: ++this.seq, t: Date.now(), ...e };
    this.ring.push(ev);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
    for (const l of this.listeners) {
      try { l(ev); } catch { /* a listener's trouble is its own */ }
    }
    return ev;
  }

  /** A line of the server's trace (with its event for ioctls and opens). */
  traced(line: string, call?: TracedCall): void {
    // A device's DMA fault as the server traces it: "--- DMA fault vfio0 iova=0x1000 read not-present ---".
    const fault = call ? null : DMA_FAULT_LINE.exec(line);
    if (fault) {
      const dev = fault[1]!;
      this.push({
        kind: 'fault', name: 'fault', text: `${dev}: DMA ${fault[3]} fault at IOVA ${fault[2]} (${fault[4]})`, ok: false,
        objects: this.objectsOfDevice(dev), devices: [dev],
      });
      return;
    }
    const objects: string[] = [];
    const devices: string[] = [];
    let ctxN: number | undefined;
    if (call?.ino !== undefined) {
      const f = this.findFile(call.ino);
      if (f) {
        const ctx = this.model.ctxOfFile(f);
        if (ctx) ctxN = this.model.ctxNumber(ctx);
        if (f instanceof VfioDeviceFile) devices.push(`vfio${f.device.index}`);
      }
    }
    if (ctxN !== undefined && call && call.name !== 'open') {
      for (const m of line.matchAll(ID_FIELD)) {
        const field = m[1]!;
        if (NOT_OBJECTS.has(field)) continue;
        const id = Number(m[2]);
        if (id > 0) objects.push(`${ctxN}:${id}`);
      }
    }
    const isIoctl = call !== undefined && call.name !== 'open';
    const ev = this.push({
      kind: isIoctl ? 'ioctl' : 'call', name: call?.name ?? (/\] (\w+)/.exec(line)?.[1] ?? 'call'),
      ...(call ? { pid: call.pid } : pidOf(line)), text: line, ok: call ? call.result >= 0 : !/ = -1 /.test(line),
      ...(call && call.errno ? { errno: errnoName(call.errno) } : {}), objects: uniq(objects), devices,
    });
    // What the call changed, each change its own event; the call's event names them too.
    const changed = this.settle(ev.pid);
    if (changed.length) (ev.objects as string[]).push(...changed.filter((k) => !ev.objects.includes(k)));
  }

  /** A machine event (Engine.notify): DMA, IOMMU faults, hazards. */
  machine(m: MachineEvent): void {
    const dev = this.deviceName(m.device);
    const where = m.iova !== undefined ? ` at IOVA ${hex(m.iova)}` : '';
    const len = m.length !== undefined ? ` ${m.length} bytes` : '';
    const dir = m.write === undefined ? '' : m.write ? ' write' : ' read';
    this.push({
      kind: m.kind, name: m.kind, text: `${dev}: ${m.kind}${dir}${len}${where}${m.detail ? ` (${m.detail})` : ''}`,
      ok: m.kind === 'dma', objects: this.objectsOfDevice(dev), devices: [dev],
    });
    if (m.kind !== 'hazard') this.settle();
  }

  /** The vfioN name of an IOMMU device name (its BDF), or the name itself. */
  private deviceName(name: string): string {
    const d = this.model.engine.vfioDevices.find((v) => v.pci.name === name);
    return d ? `vfio${d.index}` : name;
  }

  private objectsOfDevice(dev: string): string[] {
    const d = this.model.engine.vfioDevices.find((v) => `vfio${v.index}` === dev);
    if (!d?.idev) return [];
    const key = this.model.key(d.idev.ctx, d.idev.id);
    const hwpt = this.last?.attach.get(key);
    return hwpt ? [key, hwpt] : [key];
  }

  private findFile(ino: bigint): import('../core/file.js').EmulatedFile | undefined {
    for (const c of this.model.source.clients()) for (const f of c.files) if (f.ino === ino) return f.file;
    return undefined;
  }

  /**
   * Compare the model now with the last digest and record what changed:
   * created and destroyed objects, attachments, coherency. Returns the keys
   * of the objects involved.
   */
  settle(pid?: number): string[] {
    const now = this.model.digest();
    const was = this.last;
    this.last = now;
    if (!was) return [];
    const touched: string[] = [];
    const p = pid !== undefined ? { pid } : {};
    for (const [k, type] of now.objects) {
      if (was.objects.get(k) === type) continue;
      touched.push(k);
      this.push({ kind: 'create', name: type, ...p, text: `created ${type} ${k}`, ok: true, objects: [k], devices: [] });
    }
    for (const [k, type] of was.objects) {
      if (now.objects.get(k) === type) continue;
      touched.push(k);
      this.push({ kind: 'destroy', name: type, ...p, text: `destroyed ${type} ${k}`, ok: true, objects: [k], devices: [] });
    }
    for (const [dev, hwpt] of now.attach) {
      const old = was.attach.get(dev);
      if (old === hwpt) continue;
      touched.push(dev, hwpt);
      this.push({
        kind: 'attach', name: old ? 'replace' : 'attach', ...p, text: `${dev.split('/')[0]} ${old ? `replaced ${old} with` : 'attached to'} HWPT ${hwpt}${dev.includes('/') ? ` (${dev.split('/')[1]})` : ''}`,
        ok: true, objects: uniq([dev.split('/')[0]!, hwpt, ...(old ? [old] : [])]), devices: [],
      });
    }
    for (const [dev, hwpt] of was.attach) {
      if (now.attach.has(dev)) continue;
      touched.push(dev, hwpt);
      this.push({ kind: 'detach', name: 'detach', ...p, text: `${dev.split('/')[0]} detached from HWPT ${hwpt}`, ok: true, objects: uniq([dev.split('/')[0]!, hwpt]), devices: [] });
    }
    for (const [dev, c] of now.coherency) {
      const old = was.coherency.get(dev);
      if (old?.status === c.status) continue;
      if (c.status === 'hazard') {
        this.push({ kind: 'hazard', name: 'hazard', ...p, text: `${dev}: coherency hazard: ${c.detail}`, ok: false, objects: this.objectsOfDevice(dev), devices: [dev] });
      } else if (old?.status === 'hazard') {
        this.push({ kind: 'coherent', name: c.status, ...p, text: `${dev}: no longer a hazard (${c.status}: ${c.detail})`, ok: true, objects: this.objectsOfDevice(dev), devices: [dev] });
      }
    }
    return uniq(touched);
  }
}

function uniq(a: string[]): string[] { return [...new Set(a)]; }

function pidOf(line: string): { pid?: number } {
  const m = /^\[(\d+)/.exec(line);
  return m ? { pid: Number(m[1]) } : {};
}
