// The 82574L's interrupt logic as qemu 7.2's e1000e_core.c runs it: the
// causes in ICR and the masks (IMS, IAM, EIAC, the IAME/EIAME/PBA_CLR bits
// of CTRL_EXT), the three ways out (INTx, MSI, the MSI-X vectors IVAR maps
// causes to), and qemu's interrupt manager on the machine's clock:
//
// - throttling: ITR (INTx and MSI) and EITR (one per MSI-X vector), in
//   units of 256 ns. An interrupt sent while the interval's timer runs is
//   postponed and marks the vector pending (qemu never clears that mark);
//   one that is sent arms the timer for the next interval. When the timer
//   expires with the mark set, MSI-X sends the vector again; MSI forgets
//   what it signalled (msi_causes_pending) and re-evaluates; INTx
//   re-evaluates.
// - delays (not under MSI-X): transmit causes of a descriptor with IDE wait
//   TIDV (re-armed by each such batch) or at most TADV; receive causes wait
//   RDTR (re-armed per frame), at most RADV, and RAID for ACK frames; units
//   of 1.024 µs. Any cause raised meanwhile, an expiry, or a write to TIDV or
//   RDTR with FPD (bit 31) while its timer runs, sets them all. An IMS write
//   of every valid cause with CTRL_EXT.INT_TIMERS_CLEAR_ENA fires all timers.
// - msi_causes_pending: under MSI and MSI-X a cause is signalled once; only
//   a cause not yet signalled sends again, and the set empties when no
//   enabled cause is left.
// - EIAME clears the signalled cause from IAM (not IMS: qemu 7.2); EIAC
//   clears it from ICR (and from IMS when IAME is off).
import { ICR_ASSERTED, ICR_TXDW } from './e1000x-regs.js';
import {
  R, E1000E_MSIX_VECTORS, CTRL_EXT_EIAME, CTRL_EXT_IAME, CTRL_EXT_PBA_CLR, ICR_OTHER, ICR_OTHER_CAUSES,
  ICR_RXQ0, ICR_RXQ1, ICR_TXQ0, ICR_TXQ1, ICR_TXQE, ICR_RXT0, ICR_ACK, IMS_VALID, MIN_XITR,
} from './e1000e-regs.js';
import type { Clock, ClockTimer } from './clock.js';

/** The interrupt mode the function is in (its MSI/MSI-X enable bits). */
export type E1000eIrqMode = 'intx' | 'msi' | 'msix';

/** Where the core's interrupts go (the PCI wrapper forwards to the function's irqSink). */
export interface E1000eIrqOut {
  mode(): E1000eIrqMode;
  setIntx(level: boolean): void;
  msi(vector: number, msix: boolean): void;
  /** Clear MSI-X vector `vector`'s pending bit (msix_clr_pending); optional for cores nobody drives. */
  msixClearPending?(vector: number): void;
}

const ix = (off: number) => off >> 2;
/** qemu's E1000_INTR_DELAY_NS_RES and E1000_INTR_THROTTLING_NS_RES. */
export const INTR_DELAY_NS = 1024, INTR_THROTTLING_NS = 256;
/** RDTR and TIDV: flush partial descriptor block (fire the delayed causes now). */
export const RDTR_FPD = 0x80000000, TIDV_FPD = 0x80000000;
/** CTRL_EXT: an IMS write of every cause fires all interrupt timers. */
export const CTRL_EXT_INT_TIMERS_CLEAR_ENA = 0x20000000;
const RFCTL_ACK_DIS = 1 << 12;
/** The causes IVAR routes to MSI-X vectors (qemu's ims_ext_mask). */
const IMS_EXT = ICR_RXQ0 | ICR_RXQ1 | ICR_TXQ0 | ICR_TXQ1 | ICR_OTHER;
const TX_DELAYABLE = ICR_TXQ0 | ICR_TXQ1 | ICR_TXQE | ICR_TXDW;

/** One of qemu's E1000IntrDelayTimer: a register giving the interval and its unit. */
class DelayTimer {
  running = false;
  readonly timer: ClockTimer;
  constructor(clock: Clock, readonly reg: number, readonly resNs: number, fire: (t: DelayTimer) => void) {
    this.timer = clock.timer(() => fire(this));
  }
}

export class E1000eIntr {
  /** Causes held back by TIDV/TADV/RDTR/RADV/RAID (qemu's delayed_causes). */
  private delayedCauses = 0;
  /** Causes already signalled by MSI/MSI-X and not yet cleared (qemu's msi_causes_pending). */
  msiCausesPending = 0;
  private itrPending = false;
  private readonly eitrPending = new Array<boolean>(E1000E_MSIX_VECTORS).fill(false);
  /** What the driver last wrote to ITR and EITR (the registers keep at least MIN_XITR). */
  itrGuest = 0;
  readonly eitrGuest = new Uint32Array(E1000E_MSIX_VECTORS);
  private intxLevel = false;
  private radv!: DelayTimer; private rdtr!: DelayTimer; private raid!: DelayTimer;
  private tadv!: DelayTimer; private tidv!: DelayTimer;
  private itr!: DelayTimer;
  private eitr: DelayTimer[] = [];
  private clock!: Clock;

  constructor(private readonly mac: Uint32Array, private readonly irq: E1000eIrqOut, clock: Clock) {
    this.useClock(clock);
  }

  /** Put the timers on `clock` (the machine's); timers running on the old one are dropped. */
  useClock(clock: Clock): void {
    if (this.itr) this.stopAll();
    this.clock = clock;
    const delay = (reg: number) => new DelayTimer(clock, ix(reg), INTR_DELAY_NS, (t) => this.onDelayTimer(t));
    this.radv = delay(R.RADV); this.rdtr = delay(R.RDTR); this.raid = delay(R.RAID);
    this.tadv = delay(R.TADV); this.tidv = delay(R.TIDV);
    this.itr = new DelayTimer(clock, ix(R.ITR), INTR_THROTTLING_NS, () => this.onItrTimer());
    this.eitr = Array.from({ length: E1000E_MSIX_VECTORS },
      (_, i) => new DelayTimer(clock, ix(R.EITR) + i, INTR_THROTTLING_NS, () => this.onEitrTimer(i)));
  }

  /** e1000e_intrmgr_reset, and the register state the interrupt logic keeps. */
  reset(): void {
    this.stopAll();
    this.msiCausesPending = 0;
    this.itrPending = false;
    this.eitrPending.fill(false);
    this.itrGuest = 0;
    this.eitrGuest.fill(0);
  }

  private stopAll(): void {
    this.delayedCauses = 0;
    this.stopDelayTimers();
    stop(this.itr);
    for (const t of this.eitr) stop(t);
  }

  // ---- timers (e1000e_intrmgr_*) ----

  private rearm(t: DelayTimer): void {
    t.timer.mod(this.clock.now() + this.mac[t.reg]! * t.resNs);
    t.running = true;
  }

  private stopDelayTimers(): void {
    stop(this.radv); stop(this.rdtr); stop(this.raid); stop(this.tidv); stop(this.tadv);
  }

  private onDelayTimer(t: DelayTimer): void {
    t.running = false;
    this.setInterruptCause(0);
  }

  private onItrTimer(): void {
    this.itr.running = false;
    if (!this.itrPending) return;
    if (this.irq.mode() === 'msi') this.msiCausesPending = 0;
    this.setInterruptCause(0);
  }

  private onEitrTimer(i: number): void {
    this.eitr[i]!.running = false;
    if (!this.eitrPending[i]) return;
    this.irq.msi(i, true);
  }

  /** e1000e_postpone_interrupt: hold it while the interval runs, else start the next interval. */
  private postpone(t: DelayTimer, mark: () => void): boolean {
    if (t.running) { mark(); return true; }
    if (this.mac[t.reg] !== 0) this.rearm(t);
    return false;
  }

  private collectDelayed(): number {
    const res = this.delayedCauses;
    this.delayedCauses = 0;
    this.stopDelayTimers();
    return res;
  }

  /** e1000e_intrmgr_fire_all_timers. */
  private fireAllTimers(): void {
    const m = this.mac;
    m[ix(R.ICR)] = (m[ix(R.ICR)]! | this.collectDelayed()) >>> 0;
    if (this.itr.running) { this.itr.timer.del(); this.onItrTimer(); }
    for (let i = 0; i < E1000E_MSIX_VECTORS; i++) {
      const t = this.eitr[i]!;
      if (t.running) { t.timer.del(); this.onEitrTimer(i); }
    }
  }

  /**
   * e1000e_intrmgr_delay_tx_causes after a transmit pass whose last
   * written-back descriptor had IDE: the causes to raise now, or -1 when
   * all of them wait for TIDV/TADV.
   */
  private delayTx(causes: number): number {
    if (this.irq.mode() === 'msix') return causes;
    this.delayedCauses |= causes & TX_DELAYABLE;
    causes &= ~TX_DELAYABLE;
    if (causes) return causes;
    this.rearm(this.tidv);
    if (!this.tadv.running && this.mac[ix(R.TADV)] !== 0) this.rearm(this.tadv);
    return -1;
  }

  /** e1000e_intrmgr_delay_rx_causes: the causes to raise now, or -1 when all wait. */
  private delayRx(causes: number): number {
    const m = this.mac;
    if (this.irq.mode() === 'msix') return causes;
    let delayable = ICR_RXQ0 | ICR_RXQ1 | ICR_RXT0;
    if (!(m[ix(R.RFCTL)]! & RFCTL_ACK_DIS)) delayable |= ICR_ACK;
    this.delayedCauses |= causes & delayable;
    causes &= ~delayable;
    if (m[ix(R.RDTR)] === 0 || causes) return causes;
    if (m[ix(R.RAID)] === 0 && (this.delayedCauses & ICR_ACK)) return causes;
    this.rearm(this.rdtr);
    if (!this.radv.running && m[ix(R.RADV)] !== 0) this.rearm(this.radv);
    if (!this.raid.running && (this.delayedCauses & ICR_ACK)) this.rearm(this.raid);
    return -1;
  }

  /** The end of a transmit pass (e1000e_start_xmit): `ide` of the last descriptor written back. */
  txDone(causes: number, ide: boolean): void {
    const now = ide ? this.delayTx(causes) : causes;
    if (now >= 0) this.setInterruptCause(now);
  }

  /** The end of a receive (e1000e_receive_iov). */
  rxDone(causes: number): void {
    const now = this.delayRx(causes);
    if (now >= 0) this.setInterruptCause(now);
  }

  // ---- causes and masks ----

  /** e1000e_set_interrupt_cause: an ICS write, the device itself, or a timer (0). */
  setInterruptCause(val: number): void {
    const m = this.mac;
    m[ix(R.ICR)] = (m[ix(R.ICR)]! | val | this.collectDelayed()) >>> 0;
    this.update();
  }

  /** ICR read: cleared when nothing is enabled or outside MSI-X; IAME clears IMS's IAM bits. */
  readIcr(): number {
    const m = this.mac, v = m[ix(R.ICR)]!;
    if (m[ix(R.IMS)] === 0) m[ix(R.ICR)] = 0;
    if (this.irq.mode() !== 'msix') m[ix(R.ICR)] = 0;
    if ((m[ix(R.ICR)]! & ICR_ASSERTED) && (m[ix(R.CTRL_EXT)]! & CTRL_EXT_IAME)) {
      m[ix(R.ICR)] = 0;
      m[ix(R.IMS)] = (m[ix(R.IMS)]! & ~m[ix(R.IAM)]!) >>> 0;
    }
    this.update();
    return v;
  }

  /** ICR write: write 1 to clear; clearing OTHER clears the causes it stands for. */
  writeIcr(val: number): void {
    const m = this.mac;
    if ((m[ix(R.ICR)]! & ICR_ASSERTED) && (m[ix(R.CTRL_EXT)]! & CTRL_EXT_IAME))
      m[ix(R.IMS)] = (m[ix(R.IMS)]! & ~m[ix(R.IAM)]!) >>> 0;
    let icr = m[ix(R.ICR)]! & ~val;
    if (val & ICR_OTHER) icr &= ~ICR_OTHER_CAUSES;
    m[ix(R.ICR)] = icr >>> 0;
    this.update();
  }

  /** e1000e_set_ims. */
  writeIms(val: number): void {
    const m = this.mac, valid = (val & IMS_VALID) >>> 0;
    m[ix(R.IMS)] = (m[ix(R.IMS)]! | valid) >>> 0;
    // With CTRL_EXT.PBA_CLR under MSI-X, enabling a queue cause or OTHER
    // clears the pending bit of the vector IVAR maps it to (e1000e_msix_clear).
    if ((valid & IMS_EXT) && (m[ix(R.CTRL_EXT)]! & CTRL_EXT_PBA_CLR) && this.irq.mode() === 'msix') {
      const ivar = m[ix(R.IVAR)]!;
      if (valid & ICR_RXQ0) this.msixClearOne(ivar & 0xf);
      if (valid & ICR_RXQ1) this.msixClearOne((ivar >>> 4) & 0xf);
      if (valid & ICR_TXQ0) this.msixClearOne((ivar >>> 8) & 0xf);
      if (valid & ICR_TXQ1) this.msixClearOne((ivar >>> 12) & 0xf);
      if (valid & ICR_OTHER) this.msixClearOne((ivar >>> 16) & 0xf);
    }
    if (valid === IMS_VALID && (m[ix(R.CTRL_EXT)]! & CTRL_EXT_INT_TIMERS_CLEAR_ENA)) this.fireAllTimers();
    this.update();
  }

  /** A PBACLR write: under MSI-X each set bit clears that vector's pending bit (e1000e_set_pbaclr). */
  writePbaclr(bits: number): void {
    if (this.irq.mode() !== 'msix') return;
    for (let v = 0; v < E1000E_MSIX_VECTORS; v++) if (bits & (1 << v)) this.irq.msixClearPending?.(v);
  }

  /** e1000e_msix_clear_one: an IVAR entry (bit 3 valid, bits 0-2 the vector). */
  private msixClearOne(entry: number): void {
    const vec = entry & 7;
    if ((entry & 8) && vec < E1000E_MSIX_VECTORS) this.irq.msixClearPending?.(vec);
  }

  writeImc(val: number): void {
    const m = this.mac;
    m[ix(R.IMS)] = (m[ix(R.IMS)]! & ~val) >>> 0;
    this.update();
  }

  writeItr(val: number): void {
    this.itrGuest = val & 0xffff;
    this.mac[ix(R.ITR)] = Math.max(this.itrGuest, MIN_XITR);
  }

  writeEitr(n: number, val: number): void {
    this.eitrGuest[n] = val & 0xffff;
    this.mac[ix(R.EITR) + n] = Math.max(val & 0xffff, MIN_XITR);
  }

  /** RDTR write (16 bits kept); FPD while RDTR runs fires the delayed causes. */
  writeRdtr(val: number): void {
    this.mac[ix(R.RDTR)] = val & 0xffff;
    if ((val & RDTR_FPD) && this.rdtr.running) this.setInterruptCause(0);
  }

  /** TIDV write (16 bits kept); FPD while TIDV runs fires the delayed causes. */
  writeTidv(val: number): void {
    this.mac[ix(R.TIDV)] = val & 0xffff;
    if ((val & TIDV_FPD) && this.tidv.running) this.setInterruptCause(0);
  }

  /** e1000e_update_interrupt_state. */
  private update(): void {
    const m = this.mac, mode = this.irq.mode();
    if (mode === 'msix' && (m[ix(R.ICR)]! & ICR_OTHER_CAUSES)) m[ix(R.ICR)] = (m[ix(R.ICR)]! | ICR_OTHER) >>> 0;
    // ASSERTED reflects whether any cause is set; ICS reads as ICR.
    let icr = m[ix(R.ICR)]! & ~ICR_ASSERTED;
    if (icr) icr |= ICR_ASSERTED;
    m[ix(R.ICR)] = icr >>> 0;
    m[ix(R.ICS)] = icr >>> 0;
    const pending = (m[ix(R.IMS)]! & icr) !== 0;
    if (!pending) this.msiCausesPending = 0;
    if (mode !== 'intx') {
      if (pending) this.sendMsi(mode === 'msix');
    } else if (pending) {
      if (!this.postpone(this.itr, () => { this.itrPending = true; })) this.setIntx(true);
    } else {
      this.setIntx(false);
    }
  }

  /** qemu's raise/lower_legacy_irq: every raise counts in IAC. */
  private setIntx(level: boolean): void {
    if (level && this.mac[ix(R.IAC)] !== 0xffffffff) this.mac[ix(R.IAC)] = this.mac[ix(R.IAC)]! + 1;
    if (level === this.intxLevel) return;
    this.intxLevel = level;
    this.irq.setIntx(level);
  }

  /** e1000e_send_msi: only causes not already signalled. */
  private sendMsi(msix: boolean): void {
    const m = this.mac;
    let causes = m[ix(R.ICR)]! & m[ix(R.IMS)]! & ~ICR_ASSERTED;
    this.msiCausesPending &= causes;
    causes = (causes ^ this.msiCausesPending) >>> 0;
    if (!causes) return;
    this.msiCausesPending = (this.msiCausesPending | causes) >>> 0;
    if (!msix) {
      if (!this.postpone(this.itr, () => { this.itrPending = true; })) this.irq.msi(0, false);
      return;
    }
    const ivar = m[ix(R.IVAR)]!;
    if (causes & ICR_RXQ0) this.msixNotifyOne(ICR_RXQ0, ivar & 0xf);
    if (causes & ICR_RXQ1) this.msixNotifyOne(ICR_RXQ1, (ivar >>> 4) & 0xf);
    if (causes & ICR_TXQ0) this.msixNotifyOne(ICR_TXQ0, (ivar >>> 8) & 0xf);
    if (causes & ICR_TXQ1) this.msixNotifyOne(ICR_TXQ1, (ivar >>> 12) & 0xf);
    if (causes & ICR_OTHER) this.msixNotifyOne(ICR_OTHER, (ivar >>> 16) & 0xf);
  }

  /** One cause through its IVAR entry (bit 3 valid, bits 0-2 the vector), EITR-throttled; then EIAME/EIAC. */
  private msixNotifyOne(cause: number, entry: number): void {
    const m = this.mac;
    if (entry & 8) {
      const vec = entry & 7;
      if (vec < E1000E_MSIX_VECTORS && !this.postpone(this.eitr[vec]!, () => { this.eitrPending[vec] = true; })) {
        this.irq.msi(vec, true);
      }
    }
    if (m[ix(R.CTRL_EXT)]! & CTRL_EXT_EIAME) m[ix(R.IAM)] = (m[ix(R.IAM)]! & ~cause) >>> 0;
    const eiac = m[ix(R.EIAC)]! & cause;
    m[ix(R.ICR)] = (m[ix(R.ICR)]! & ~eiac) >>> 0;
    this.msiCausesPending = (this.msiCausesPending & ~eiac) >>> 0;
    if (!(m[ix(R.CTRL_EXT)]! & CTRL_EXT_IAME)) m[ix(R.IMS)] = (m[ix(R.IMS)]! & ~eiac) >>> 0;
  }
}

function stop(t: DelayTimer): void {
  if (!t.running) return;
  t.timer.del();
  t.running = false;
}
