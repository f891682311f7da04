// vfio-pci's interrupts (drivers/vfio/pci/vfio_pci_intrs.c and the SET_IRQS
// half of vfio_pci_core.c): VFIO_DEVICE_SET_IRQS for INTx, MSI, MSI-X, ERR and
// REQ, each delivered to an eventfd the user gave. The eventfds are held as
// EventfdCtx references (the host's: a real eventfd in the server, a
// simulated one in the library), so the device can signal at any time.
//
// INTx is level-triggered and automasked: when the function asserts its line
// and the interrupt is unmasked, vfio-pci masks it and signals; while masked
// the line stays pending, and an unmask with the line still asserted signals
// again at once (pci_check_and_unmask_intx). INTx disabled in the virtual
// command register (virq_disabled) holds delivery entirely. MSI and MSI-X
// vectors signal their eventfd whenever the function raises them; an MSI-X
// vector without one is masked in the table the host kernel programs, so
// the function's message waits in its PBA until an eventfd is set.
import { Errno, EBADF, EINVAL, ENODEV, ENOTTY, ERANGE } from '../uapi/errno.js';
import * as V from '../uapi/vfio.js';
import type { EventfdCtx, Task } from './task.js';
import type { IoctlTrace } from './file.js';
import { DEFAULT_STRSIZE } from './trace-decode.js';
import type { VfioPciConfig } from './vfio-pci-config.js';

/** vfio_pci_irq_ctx: one INTx or MSI(-X) vector's state. */
interface IrqCtx {
  trigger: EventfdCtx | undefined;
  /** INTx only: masked (by the handler, an ioctl, or virq_disabled at enable). */
  masked: boolean;
  /** INTx only: the unmask eventfd (virqfd) the user registered: its signals unmask. */
  unmask?: EventfdCtx | undefined;
}

/** What vfio-pci knows of the function for interrupts. */
export interface IntrsFunction {
  /** vfio_pci_get_irq_count by index (INTx: the pin; MSI: 1 << QMASK; MSI-X: table size; ERR: PCIe; REQ: 1). */
  irqCount(index: number): number;
  /** pdev->irq is connected (INTx can be requested). */
  readonly hasIrq: boolean;
  /** pci_is_pcie: the ERR index is served. */
  readonly isPcie: boolean;
}

const NONE = V.VFIO_PCI_NUM_IRQS;

/** eventfd_ctx_fdget: EBADF for no such fd, EINVAL for a file that is not an eventfd. */
export function eventfdCtxFdget(task: Task, fd: number): EventfdCtx {
  const r = task.resolveFd?.(fd) ?? { kind: 'bad' as const };
  if (r.kind === 'bad') throw new Errno(EBADF, `fd ${fd} is not open`);
  if (r.kind !== 'other' || !r.eventfd) throw new Errno(EINVAL, `fd ${fd} is not an eventfd`);
  return r.eventfd();
}

/** The interrupt state of an open vfio-pci device (vdev->irq_type, vdev->ctx, err/req triggers). */
export class VfioPciIntrs {
  /** vdev->irq_type: an IRQ index, or NONE. */
  private irqType = NONE;
  /** vdev->ctx: by vector. */
  private readonly ctx = new Map<number, IrqCtx>();
  private errTrigger: EventfdCtx | undefined;
  private reqTrigger: EventfdCtx | undefined;
  /** The function's INTx line (asserted by its model). */
  private intxLine = false;
  /** MSI-X vectors the function raised while masked (no eventfd): its PBA bits. */
  private readonly msixPending = new Set<number>();

  constructor(private readonly fn: IntrsFunction, private readonly config: VfioPciConfig) {}

  /** Whether the function has signalled through vfio-pci's INTx state (tests). */
  get intxMasked(): boolean { return this.ctx.get(0)?.masked ?? false; }
  /** The current vdev->irq_type (NUM_IRQS for none). */
  get type(): number { return this.irqType; }

  // ---- the device side ----

  /** The function's INTx line changed. Asserting it while unmasked masks and signals (vfio_intx_handler). */
  setIntx(level: boolean): void {
    const was = this.intxLine;
    this.intxLine = level;
    if (!level || was) return;
    if (this.irqType !== V.VFIO_PCI_INTX_IRQ_INDEX) return;
    const c = this.ctx.get(0)!;
    if (c.masked) return;
    c.masked = true;
    this.sendIntx();
  }

  /** The function raised MSI or MSI-X vector `vector` (vfio_msihandler): its eventfd, if it has one. */
  raiseMsi(vector: number, msix: boolean): void {
    if (this.irqType !== (msix ? V.VFIO_PCI_MSIX_IRQ_INDEX : V.VFIO_PCI_MSI_IRQ_INDEX)) return;
    const trigger = this.ctx.get(vector)?.trigger;
    if (trigger) trigger.signal();
    else if (msix && vector < this.fn.irqCount(V.VFIO_PCI_MSIX_IRQ_INDEX)) this.msixPending.add(vector);
  }

  /** MSI-X entry `vector` waits in the function's PBA (raised while its table entry was masked). */
  msixIsPending(vector: number): boolean { return this.msixPending.has(vector); }

  /** The function cleared entry `vector`'s PBA bit itself (msix_clr_pending): nothing is sent for it later. */
  msixClearPending(vector: number): void { this.msixPending.delete(vector); }

  // ---- INTx ----

  /** vfio_send_intx_eventfd: nothing while INTx is disabled in the command register. */
  private sendIntx(): void {
    if (this.irqType !== V.VFIO_PCI_INTX_IRQ_INDEX || this.config.virqDisabled) return;
    this.ctx.get(0)?.trigger?.signal();
  }

  /** __vfio_pci_intx_mask (an ioctl, or INTx disable set in the command register). */
  intxMask(): void {
    if (this.irqType !== V.VFIO_PCI_INTX_IRQ_INDEX) return;
    const c = this.ctx.get(0)!;
    c.masked = true;
  }

  /** __vfio_pci_intx_unmask: a line still asserted is delivered at once and stays masked. */
  intxUnmask(): void {
    if (this.irqType !== V.VFIO_PCI_INTX_IRQ_INDEX) return;
    const c = this.ctx.get(0)!;
    if (!c.masked || this.config.virqDisabled) return;
    if (this.intxLine) this.sendIntx();
    else c.masked = false;
  }

  private intxEnable(trigger: EventfdCtx | undefined): void {
    if (this.irqType !== NONE) throw new Errno(EINVAL, 'another interrupt type is enabled');
    if (!this.fn.hasIrq) { trigger?.release(); throw new Errno(ENODEV, 'no IRQ'); }
    const c: IrqCtx = { trigger, masked: this.config.virqDisabled };
    this.ctx.set(0, c);
    this.irqType = V.VFIO_PCI_INTX_IRQ_INDEX;
    // A line already asserted is taken by the handler as soon as it is requested.
    if (this.intxLine && !c.masked) { c.masked = true; this.sendIntx(); }
  }

  private intxDisable(): void {
    const c = this.ctx.get(0);
    if (c) {
      c.unmask?.release();
      c.trigger?.release();
      this.ctx.delete(0);
    }
    this.irqType = NONE;
  }

  // ---- MSI / MSI-X ----

  private msiEnable(nvec: number, msix: boolean): void {
    if (this.irqType !== NONE) throw new Errno(EINVAL, 'another interrupt type is enabled');
    // pci_alloc_irq_vectors(pdev, 1, nvec): fewer than the minimum of one is a bad range.
    if (nvec < 1) throw new Errno(ERANGE, 'no vectors to enable');
    this.irqType = msix ? V.VFIO_PCI_MSIX_IRQ_INDEX : V.VFIO_PCI_MSI_IRQ_INDEX;
    this.config.setHwIrqEnable(msix, true);
    if (!msix) {
      // The virtual QSIZE: log2 of the vectors (fls(nvec * 2 - 1) - 1).
      this.config.msiQmax = 31 - Math.clz32(nvec * 2 - 1);
      this.config.msiEnabled = true;
    }
  }

  /** vfio_msi_set_vector_signal: drop the vector's eventfd, then take the new one (fd >= 0). */
  private setVectorSignal(task: Task, vector: number, fd: number): void {
    const old = this.ctx.get(vector);
    if (old) {
      old.trigger?.release();
      this.ctx.delete(vector);
    }
    if (fd < 0) return;
    const trigger = eventfdCtxFdget(task, fd);
    this.ctx.set(vector, { trigger, masked: false });
    // request_irq unmasks the table entry: a pending message is sent at once.
    if (this.msixPending.delete(vector)) trigger.signal();
  }

  /** vfio_msi_set_block: on a failure the vectors already set in this call are torn down again. */
  private setBlock(task: Task, start: number, count: number, fds: Int32Array | undefined): void {
    let j = start;
    try {
      for (let i = 0; i < count; i++, j++) this.setVectorSignal(task, j, fds ? fds[i]! : -1);
    } catch (e) {
      for (let i = start; i < j; i++) this.setVectorSignal(task, i, -1);
      throw e;
    }
  }

  private msiDisable(): void {
    for (const c of this.ctx.values()) c.trigger?.release();
    this.ctx.clear();
    // The PBA is the function's: disabling MSI-X leaves what waits there
    // (measured: test/conformance/nic_pba.golden), sent once re-enabled and unmasked.
    if (this.irqType === V.VFIO_PCI_MSI_IRQ_INDEX) this.config.msiEnabled = false;
    if (this.irqType !== NONE) this.config.setHwIrqEnable(this.irqType === V.VFIO_PCI_MSIX_IRQ_INDEX, false);
    this.irqType = NONE;
  }

  // ---- the ioctl ----

  /**
   * vfio_pci_ioctl_set_irqs: the header (vfio_set_irqs_validate_and_prepare
   * with this function's count for the index), the data, then the index's
   * action handler; a combination without one is ENOTTY.
   */
  setIrqs(task: Task, arg: bigint, trace?: IoctlTrace): number {
    const S = V.VfioIrqSet;
    const minsz = S.size;
    const h = S.decode(task.mm.read(arg, minsz));
    if (trace) trace.args = formatIrqSet(h);
    const max = h.index < V.VFIO_PCI_NUM_IRQS ? this.fn.irqCount(h.index) : 0;
    const dataType = h.flags & V.VFIO_IRQ_SET_DATA_TYPE_MASK;
    if (h.argsz < minsz || h.index >= V.VFIO_PCI_NUM_IRQS || h.count >= 0xffffffff - h.start ||
        (h.flags & ~(V.VFIO_IRQ_SET_DATA_TYPE_MASK | V.VFIO_IRQ_SET_ACTION_TYPE_MASK))) {
      throw new Errno(EINVAL, 'argsz, index, count or flags');
    }
    if (h.start >= max || h.start + h.count > max) throw new Errno(EINVAL, `vectors ${h.start}+${h.count} of ${max}`);
    const size = dataType === V.VFIO_IRQ_SET_DATA_NONE ? 0 : dataType === V.VFIO_IRQ_SET_DATA_BOOL ? 1
      : dataType === V.VFIO_IRQ_SET_DATA_EVENTFD ? 4 : -1;
    if (size < 0) throw new Errno(EINVAL, 'data type');
    let data: Uint8Array | undefined;
    if (size) {
      if (h.argsz - minsz < h.count * size) throw new Errno(EINVAL, 'argsz too small for the data');
      data = h.count ? task.mm.read(arg + BigInt(minsz), h.count * size) : new Uint8Array(0);
      if (trace) {
        // strace -s: the first strsize elements, then `...`.
        const all = dataList(data, size), n = trace.strsize ?? DEFAULT_STRSIZE;
        trace.args += ` data=[${[...all.slice(0, n), ...(all.length > n ? ['...'] : [])].join(',')}]`;
      }
    }
    const action = h.flags & V.VFIO_IRQ_SET_ACTION_TYPE_MASK;
    const { index, start, count } = h;
    const flags = h.flags;
    switch (index) {
      case V.VFIO_PCI_INTX_IRQ_INDEX:
        if (action === V.VFIO_IRQ_SET_ACTION_MASK) return this.setIntxMask(start, count, flags, data);
        if (action === V.VFIO_IRQ_SET_ACTION_UNMASK) return this.setIntxUnmask(task, start, count, flags, data);
        if (action === V.VFIO_IRQ_SET_ACTION_TRIGGER) return this.setIntxTrigger(task, start, count, flags, data);
        break;
      case V.VFIO_PCI_MSI_IRQ_INDEX:
      case V.VFIO_PCI_MSIX_IRQ_INDEX:
        if (action === V.VFIO_IRQ_SET_ACTION_TRIGGER) return this.setMsiTrigger(task, index, start, count, flags, data);
        break;
      case V.VFIO_PCI_ERR_IRQ_INDEX:
        if (action === V.VFIO_IRQ_SET_ACTION_TRIGGER && this.fn.isPcie) return this.setSingle(task, 'err', start, count, flags, data);
        break;
      case V.VFIO_PCI_REQ_IRQ_INDEX:
        if (action === V.VFIO_IRQ_SET_ACTION_TRIGGER) return this.setSingle(task, 'req', start, count, flags, data);
        break;
    }
    throw new Errno(ENOTTY, 'no handler for this index and action');
  }

  private setIntxMask(start: number, count: number, flags: number, data: Uint8Array | undefined): number {
    if (this.irqType !== V.VFIO_PCI_INTX_IRQ_INDEX || start !== 0 || count !== 1) throw new Errno(EINVAL, 'INTx is not enabled, or not vector 0');
    if (flags & V.VFIO_IRQ_SET_DATA_NONE) this.intxMask();
    else if (flags & V.VFIO_IRQ_SET_DATA_BOOL) { if (data![0]) this.intxMask(); }
    else throw new Errno(ENOTTY, 'mask through an eventfd is not implemented (as in Linux)');
    return 0;
  }

  private setIntxUnmask(task: Task, start: number, count: number, flags: number, data: Uint8Array | undefined): number {
    if (this.irqType !== V.VFIO_PCI_INTX_IRQ_INDEX || start !== 0 || count !== 1) throw new Errno(EINVAL, 'INTx is not enabled, or not vector 0');
    if (flags & V.VFIO_IRQ_SET_DATA_NONE) this.intxUnmask();
    else if (flags & V.VFIO_IRQ_SET_DATA_BOOL) { if (data![0]) this.intxUnmask(); }
    else {
      const c = this.ctx.get(0)!;
      const fd = s32(data!, 0);
      c.unmask?.release();
      c.unmask = undefined;
      if (fd >= 0) {
        // vfio_virqfd_enable: each signal from the user unmasks INTx.
        c.unmask = eventfdCtxFdget(task, fd);
        c.unmask.watch?.(() => this.intxUnmask());
      }
    }
    return 0;
  }

  private setIntxTrigger(task: Task, start: number, count: number, flags: number, data: Uint8Array | undefined): number {
    const isIntx = this.irqType === V.VFIO_PCI_INTX_IRQ_INDEX;
    if (isIntx && !count && (flags & V.VFIO_IRQ_SET_DATA_NONE)) {
      this.intxDisable();
      return 0;
    }
    if (!(isIntx || this.irqType === NONE) || start !== 0 || count !== 1) throw new Errno(EINVAL, 'INTx: another type is enabled, or not vector 0');
    if (flags & V.VFIO_IRQ_SET_DATA_EVENTFD) {
      const fd = s32(data!, 0);
      const trigger = fd >= 0 ? eventfdCtxFdget(task, fd) : undefined;
      if (isIntx) {
        // vfio_intx_set_signal: the new eventfd replaces the old.
        const c = this.ctx.get(0)!;
        c.trigger?.release();
        c.trigger = trigger;
      } else {
        this.intxEnable(trigger);
      }
      return 0;
    }
    if (!isIntx) throw new Errno(EINVAL, 'INTx is not enabled');
    // Loopback: signal whatever the mask says.
    if ((flags & V.VFIO_IRQ_SET_DATA_NONE) || data![0]) this.sendIntx();
    return 0;
  }

  private setMsiTrigger(task: Task, index: number, start: number, count: number, flags: number, data: Uint8Array | undefined): number {
    const msix = index === V.VFIO_PCI_MSIX_IRQ_INDEX;
    const isIt = this.irqType === index;
    if (isIt && !count && (flags & V.VFIO_IRQ_SET_DATA_NONE)) {
      this.msiDisable();
      return 0;
    }
    if (!(isIt || this.irqType === NONE)) throw new Errno(EINVAL, 'another interrupt type is enabled');
    if (flags & V.VFIO_IRQ_SET_DATA_EVENTFD) {
      const fds = new Int32Array(count);
      for (let i = 0; i < count; i++) fds[i] = s32(data!, 4 * i);
      if (isIt) { this.setBlock(task, start, count, fds); return 0; }
      this.msiEnable(start + count, msix);
      try {
        this.setBlock(task, start, count, fds);
      } catch (e) {
        this.msiDisable();
        throw e;
      }
      return 0;
    }
    if (!isIt) throw new Errno(EINVAL, `${msix ? 'MSI-X' : 'MSI'} is not enabled`);
    for (let i = start; i < start + count; i++) {
      const c = this.ctx.get(i);
      if (!c) continue;
      if ((flags & V.VFIO_IRQ_SET_DATA_NONE) || data![i - start]) c.trigger?.signal();
    }
    return 0;
  }

  /** vfio_pci_set_ctx_trigger_single: ERR and REQ, one eventfd each; DATA_NONE/BOOL signal it (loopback). */
  private setSingle(task: Task, which: 'err' | 'req', start: number, count: number, flags: number, data: Uint8Array | undefined): number {
    if (start !== 0 || count > 1) throw new Errno(EINVAL, 'only vector 0');
    const cur = which === 'err' ? this.errTrigger : this.reqTrigger;
    const replace = (t: EventfdCtx | undefined) => {
      cur?.release();
      if (which === 'err') this.errTrigger = t; else this.reqTrigger = t;
    };
    if (flags & V.VFIO_IRQ_SET_DATA_NONE) {
      if (!cur) throw new Errno(EINVAL, 'no eventfd');
      if (count) cur.signal();
      else replace(undefined);
      return 0;
    }
    if (flags & V.VFIO_IRQ_SET_DATA_BOOL) {
      if (!count) throw new Errno(EINVAL, 'count 0');
      if (data![0]) cur?.signal();
      return 0;
    }
    if (!count) throw new Errno(EINVAL, 'count 0');
    const fd = s32(data!, 0);
    if (fd === -1) { replace(undefined); return 0; }
    if (fd < 0) throw new Errno(EINVAL, `fd ${fd}`);
    replace(eventfdCtxFdget(task, fd));
    return 0;
  }

  /** The device is closing (vfio_pci_core_close_device): every interrupt off, every eventfd released. */
  teardown(): void {
    if (this.irqType === V.VFIO_PCI_INTX_IRQ_INDEX) this.intxDisable();
    else if (this.irqType !== NONE) this.msiDisable();
    this.errTrigger?.release();
    this.errTrigger = undefined;
    this.reqTrigger?.release();
    this.reqTrigger = undefined;
  }

  /** vfio_pci_core_request: the REQ eventfd is signalled when the host wants the device back. */
  request(): boolean {
    if (!this.reqTrigger) return false;
    this.reqTrigger.signal();
    return true;
  }

  /** An AER error was reported for the function: the ERR eventfd is signalled. */
  error(): boolean {
    if (!this.errTrigger) return false;
    this.errTrigger.signal();
    return true;
  }
}

function s32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(off, true);
}

function dataList(b: Uint8Array, size: number): number[] {
  const out: number[] = [];
  for (let o = 0; o + size <= b.length; o += size) out.push(size === 4 ? s32(b, o) : b[o]!);
  return out;
}

const INDEX_NAMES = ['INTX', 'MSI', 'MSIX', 'ERR', 'REQ'];
const FLAG_NAMES: Array<[number, string]> = [
  [V.VFIO_IRQ_SET_DATA_NONE, 'DATA_NONE'], [V.VFIO_IRQ_SET_DATA_BOOL, 'DATA_BOOL'], [V.VFIO_IRQ_SET_DATA_EVENTFD, 'DATA_EVENTFD'],
  [V.VFIO_IRQ_SET_ACTION_MASK, 'ACTION_MASK'], [V.VFIO_IRQ_SET_ACTION_UNMASK, 'ACTION_UNMASK'], [V.VFIO_IRQ_SET_ACTION_TRIGGER, 'ACTION_TRIGGER'],
];

/** "argsz=24 flags=DATA_EVENTFD|ACTION_TRIGGER index=MSIX start=0 count=1" for --trace. */
function formatIrqSet(h: { argsz: number; flags: number; index: number; start: number; count: number }): string {
  const names = FLAG_NAMES.filter(([b]) => h.flags & b).map(([, n]) => n);
  const rest = h.flags & ~0x3f;
  if (rest) names.push(`0x${rest.toString(16)}`);
  return `argsz=${h.argsz} flags=${names.join('|') || '0'} index=${INDEX_NAMES[h.index] ?? h.index} start=${h.start} count=${h.count}`;
}
