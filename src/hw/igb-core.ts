// The 82576's register core as qemu 10's igb (hw/net/igb_core.c) behaves:
// the handler table (igb-regs.ts), the NVM behind EERD, the PHY behind MDIC,
// CTRL.RST and the function reset, and the interrupt logic: ICR/ICS/IMS/IMC
// with INT_ASSERTED and GPIE.NSICR, and the extended causes EICR/EICS/EIMS/
// EIMC/EIAC. Outside MSI-X mode (GPIE.MSIX_MODE clear) an ICR cause sets
// EICR.OTHER and signals MSI-X vector 0, MSI or INTx; in MSI-X mode ICR
// causes map to an EICR bit through IVAR_MISC, queue causes through IVAR,
// and each EICR bit n that becomes pending and enabled fires vector n
// (cleared again when EIAC has it). EITR throttling is not modelled (every
// interrupt is sent at once). The PCI wrapper (igb.ts) routes BAR accesses
// here and says which interrupt mode the function is in.
import {
  STATUS_PHYRA, CTRL_EXT_ASDCHK, CTRL_EXT_EE_RST, EECD_RO, GCR_RO, RCTL_EN, ICR_ASSERTED, ICR_MDAC, ICR_LSC,
  MDIC_INT_EN,
} from './e1000x-regs.js';
import {
  G, Q, IGB_MAC_SIZE, IGB_INTR_NUM, IGB_MSIX_VECTORS, IGB_NUM_QUEUES, IGB_MAC_INIT, RdK, WrK, igbRegTable,
  igbAliasMap, CTRL_EXT_PFRSTD, GPIE_NSICR, GPIE_MSIX_MODE, IVAR_VALID, EICR_OTHER, EICR_MSIX_MASK,
  EICR_LEGACY_MASK, ICR_DRSTA, ICR_VMMB, IMS_VALID, SWSM_SMBI, EITR_CNT_IGNR, V2PMAILBOX_REQ, V2PMAILBOX_ACK,
  V2PMAILBOX_VFU, V2PMAILBOX_PFU, V2PMAILBOX_PFSTS, V2PMAILBOX_PFACK, V2PMAILBOX_RSTI, V2PMAILBOX_RSTD,
  P2VMAILBOX_STS, P2VMAILBOX_ACK, P2VMAILBOX_VFU, P2VMAILBOX_PFU, P2VMAILBOX_RVFU, type IgbRegTable,
} from './igb-regs.js';
import { MachineClock, type Clock, type ClockTimer } from './clock.js';
import { igbNvm } from './igb-nvm.js';
import { IgbTx } from './igb-tx.js';
import { IgbRx } from './igb-rx.js';
import type { E1000eBus, E1000eIrqOut, E1000eNet } from './e1000e-core.js';
import { eerdRead } from './e1000x-eeprom.js';
import { resetMacAddr, readStatus, writeCtrl } from './e1000x-mac.js';
import { mdicWrite, updateRegsOnLinkDown, updateRegsOnAutonegDone, AUTONEG_NS } from './e1000x-phy.js';
import { IgbPhy } from './igb-phy.js';
import { NO_BUS } from './e1000e-tx.js';




const ix = (off: number) => off >> 2;
const bit = (n: number) => (1 << n) >>> 0;

export class IgbCore {
  readonly mac = new Uint32Array(IGB_MAC_SIZE);
  readonly phy = new IgbPhy();
  readonly nvm: Uint16Array;
  private readonly table: IgbRegTable = igbRegTable();
  private readonly alias = igbAliasMap();
  /** What the driver last wrote to each EITR (qemu's eitr_guest_value; no reset clears it). */
  private readonly eitrGuest = new Uint32Array(IGB_INTR_NUM);
  /** When the running autonegotiation completes (ns on `clock`), or undefined. */
  private anDeadline: number | undefined;
  /** Completes the autonegotiation at anDeadline (on the machine's clock). */
  private anTimer: ClockTimer;
  /** SYSTIM's adjustment (qemu's timadj, ns). */
  private timadj = 0n;
  bus: E1000eBus = NO_BUS;
  net: E1000eNet | undefined;
  readonly tx = new IgbTx(this);
  readonly rx = new IgbRx(this);

  constructor(readonly permanentMac: readonly number[], private readonly irq: E1000eIrqOut,
    private clock: Clock = new MachineClock()) {
    this.anTimer = clock.timer(() => this.pollAutoneg());
    this.phy.restartAutoneg = () => this.restartAutoneg();
    this.nvm = igbNvm(permanentMac);
    this.reset(false);
  }

  /** Run the NIC's timers on `clock` (the engine's); a pending autonegotiation moves with it. */
  useClock(clock: Clock): void {
    const left = this.anDeadline === undefined ? undefined : this.anDeadline - this.clock.now();
    this.anTimer.del();
    this.clock = clock;
    this.anTimer = clock.timer(() => this.pollAutoneg());
    this.anDeadline = undefined;
    if (left !== undefined) { this.anDeadline = clock.now() + Math.max(0, left); this.anTimer.mod(this.anDeadline); }
  }

  /** igb_reset: sw (CTRL.RST) keeps RXPBS, TXPBS and the EITRs. */
  reset(sw: boolean): void {
    this.stopAutoneg();
    this.phy.reset();
    const keep = sw ? [ix(G.RXPBS), ix(G.TXPBS), ...Array.from({ length: IGB_INTR_NUM }, (_, i) => ix(G.EITR0) + i)] : [];
    const saved = keep.map((i) => this.mac[i]!);
    this.mac.fill(0);
    for (const [off, v] of IGB_MAC_INIT) this.mac[ix(off)] = v;
    keep.forEach((i, k) => { this.mac[i] = saved[k]!; });
    resetMacAddr(this.mac, this.permanentMac);
    this.tx.reset();
  }

  // ---- autonegotiation ----

  private stopAutoneg(): void {
    this.anTimer.del();
    this.anDeadline = undefined;
  }

  /** e1000x_restart_autoneg: link down now, up 500 ms later. */
  private restartAutoneg(): void {
    updateRegsOnLinkDown(this.mac, this.phy.regs);
    this.stopAutoneg();
    this.anDeadline = this.clock.now() + AUTONEG_NS;
    this.anTimer.mod(this.anDeadline);
  }

  /** Complete a due autonegotiation (the timer, or any register access after the deadline). */
  pollAutoneg(): void {
    if (this.anDeadline === undefined || this.clock.now() < this.anDeadline) return;
    this.stopAutoneg();
    updateRegsOnAutonegDone(this.mac, this.phy.regs);
    this.net?.rxReady();
    this.raise(ix(G.ICR), ICR_LSC);
  }

  // ---- register access ----

  read(off: number): number {
    this.pollAutoneg();
    const i = this.alias[(off & 0x1ffff) >> 2]!;
    const m = this.mac;
    switch (this.table.read[i] as RdK) {
      case RdK.None: return 0;
      case RdK.Plain: return m[i]!;
      case RdK.Clear4: { const v = m[i]!; m[i] = 0; return v; }
      case RdK.Clear8: { const v = m[i]!; m[i] = 0; m[i - 1] = 0; return v; }
      case RdK.Icr: return this.readIcr();
      case RdK.Status: return readStatus(m);
      case RdK.Swsm: { const v = m[i]!; m[i] = (v | SWSM_SMBI) >>> 0; return v; }
      case RdK.Eitr: return this.eitrGuest[i - ix(G.EITR0)]!;
      case RdK.Systiml: { this.timestamp(ix(G.SYSTIML)); return m[i]!; }
      case RdK.Vfmailbox: {
        const v = m[i]!;
        m[i] = (v & ~(V2PMAILBOX_PFSTS | V2PMAILBOX_PFACK | V2PMAILBOX_RSTD)) >>> 0;
        return v;
      }
    }
  }

  write(off: number, val: number): void {
    this.pollAutoneg();
    const i = this.alias[(off & 0x1ffff) >> 2]!;
    const m = this.mac;
    val >>>= 0;
    switch (this.table.write[i] as WrK) {
      case WrK.None: return;
      case WrK.Plain: m[i] = val; return;
      case WrK.Mask: m[i] = (val & this.table.mask[i]!) >>> 0; return;
      case WrK.Ctrl: return writeCtrl(m, val, () => this.reset(true));
      case WrK.Status: if (!(val & STATUS_PHYRA)) m[i] = (m[i]! & ~STATUS_PHYRA) >>> 0; return;
      case WrK.CtrlExt: return this.writeCtrlExt(val);
      case WrK.Eecd: m[i] = ((m[i]! & EECD_RO) | (val & ~EECD_RO)) >>> 0; return;
      case WrK.Eerd: m[i] = eerdRead(this.nvm, val); return;
      case WrK.Mdic:
        m[i] = mdicWrite(m[i]!, val, this.phy);
        if (m[i]! & MDIC_INT_EN) this.raise(ix(G.ICR), ICR_MDAC);
        return;
      case WrK.Ics: return this.raise(ix(G.ICR), val);
      case WrK.Icr: this.nsicr(); return this.lower(ix(G.ICR), val);
      case WrK.Ims: return this.raise(ix(G.IMS), val & IMS_VALID);
      case WrK.Imc: return this.lower(ix(G.IMS), val);
      case WrK.Eitr: this.eitrGuest[i - ix(G.EITR0)] = (val & ~EITR_CNT_IGNR) >>> 0; m[i] = val & 0x7ffe; return;
      case WrK.Gcr: m[i] = ((val & ~GCR_RO) | (m[i]! & GCR_RO)) >>> 0; return;
      case WrK.Rctl:
        m[i] = val;
        if (val & RCTL_EN) this.net?.rxReady();
        return;
      case WrK.Tdt: m[i] = val & 0xffff; this.tx.startXmit((i - ix(G.TXQ + Q.T)) >> 4); return;
      case WrK.Rdt: m[i] = val & 0xffff; this.net?.rxReady(); return;
      case WrK.Pbaclr: m[i] = val & 0x3ff; return;
      case WrK.Eics: return this.raise(ix(G.EICR), val & this.eicrMask());
      case WrK.Eims: return this.raise(ix(G.EIMS), val & this.eicrMask());
      case WrK.Eimc: return this.lower(ix(G.EIMS), val & this.eicrMask());
      case WrK.Eiac: if (this.msixMode()) m[i] = (m[i]! | (val & EICR_MSIX_MASK)) >>> 0; return;
      case WrK.Eiam: m[i] = (m[i]! | ~(val & this.eicrMask())) >>> 0; return;
      case WrK.Eicr: return this.lower(ix(G.EICR), val & this.eicrMask());
      case WrK.W1c: m[i] = (m[i]! & ~val) >>> 0; return;
      case WrK.Pfmailbox: return this.writePfMailbox(i, val);
      case WrK.Vfmailbox: return this.writeVfMailbox(i, val);
      case WrK.Timinca: this.setTiminca(val); return;
      case WrK.Timadjh:
        m[i] = val;
        this.timadj += BigInt.asIntN(64, BigInt(m[ix(G.TIMADJL)]!) | (BigInt(val) << 32n));
        return;
    }
  }

  private writeCtrlExt(val: number): void {
    const m = this.mac;
    m[ix(G.CTRL_EXT)] = (val & ~(CTRL_EXT_ASDCHK | CTRL_EXT_EE_RST)) >>> 0;
    if (val & CTRL_EXT_PFRSTD) {
      for (let n = 0; n < 8; n++) {
        const j = ix(G.V2PMAILBOX) + n;
        m[j] = ((m[j]! & ~V2PMAILBOX_RSTI) | V2PMAILBOX_RSTD) >>> 0;
      }
    }
  }

  private writePfMailbox(i: number, val: number): void {
    const m = this.mac, vfn = i - ix(G.P2VMAILBOX), v2p = ix(G.V2PMAILBOX) + vfn;
    if (val & P2VMAILBOX_STS) m[v2p] = (m[v2p]! | V2PMAILBOX_PFSTS) >>> 0;
    if (val & P2VMAILBOX_ACK) m[v2p] = (m[v2p]! | V2PMAILBOX_PFACK) >>> 0;
    if (val & P2VMAILBOX_PFU) {
      if (!(m[i]! & P2VMAILBOX_VFU)) { m[i] = (m[i]! | P2VMAILBOX_PFU) >>> 0; m[v2p] = (m[v2p]! | V2PMAILBOX_PFU) >>> 0; }
    } else {
      m[i] = (m[i]! & ~P2VMAILBOX_PFU) >>> 0;
      m[v2p] = (m[v2p]! & ~V2PMAILBOX_PFU) >>> 0;
    }
    if (val & P2VMAILBOX_RVFU) {
      m[v2p] = (m[v2p]! & ~V2PMAILBOX_VFU) >>> 0;
      m[ix(G.MBVFICR)] = (m[ix(G.MBVFICR)]! & ~((0x10000 << vfn) | (1 << vfn))) >>> 0;
    }
  }

  private writeVfMailbox(i: number, val: number): void {
    const m = this.mac, vfn = i - ix(G.V2PMAILBOX), p2v = ix(G.P2VMAILBOX) + vfn;
    if (val & V2PMAILBOX_REQ) { m[ix(G.MBVFICR)] = (m[ix(G.MBVFICR)]! | (1 << vfn)) >>> 0; this.raise(ix(G.ICR), ICR_VMMB); }
    if (val & V2PMAILBOX_ACK) { m[ix(G.MBVFICR)] = (m[ix(G.MBVFICR)]! | (0x10000 << vfn)) >>> 0; this.raise(ix(G.ICR), ICR_VMMB); }
    if (val & V2PMAILBOX_VFU) {
      if (!(m[i]! & V2PMAILBOX_PFU)) { m[i] = (m[i]! | V2PMAILBOX_VFU) >>> 0; m[p2v] = (m[p2v]! | P2VMAILBOX_VFU) >>> 0; }
    } else {
      m[i] = (m[i]! & ~V2PMAILBOX_VFU) >>> 0;
      m[p2v] = (m[p2v]! & ~P2VMAILBOX_VFU) >>> 0;
    }
  }

  // ---- time sync ----

  private setTiminca(val: number): void {
    this.mac[ix(G.TIMINCA)] = val;
  }

  /** e1000x_timestamp into the register pair at index `lo`. */
  timestamp(lo: number): void {
    const t = this.mac[ix(G.TIMINCA)]!;
    const inc = BigInt(t & 0xffffff), period = BigInt(Math.max(t >>> 24, 1));
    const ns = BigInt(Math.floor(this.clock.now()));
    const ts = BigInt.asUintN(64, this.timadj + (ns * inc) / (period * 16n));
    this.mac[lo] = Number(ts & 0xffffffffn);
    this.mac[lo + 1] = Number(ts >> 32n);
  }

  // ---- interrupts ----

  msixMode(): boolean { return (this.mac[ix(G.GPIE)]! & GPIE_MSIX_MODE) !== 0; }
  private eicrMask(): number { return this.msixMode() ? EICR_MSIX_MASK : EICR_LEGACY_MASK; }

  /** igb_mac_icr_read. */
  private readIcr(): number {
    const m = this.mac, icr = ix(G.ICR);
    const v = m[icr]!;
    if ((m[ix(G.GPIE)]! & GPIE_NSICR) || m[ix(G.IMS)] === 0 || (m[icr]! & ICR_ASSERTED) || this.irq.mode() !== 'msix') {
      this.lower(icr, 0xffffffff);
    }
    this.nsicr();
    return v;
  }

  /** igb_nsicr: IAM clears IMS bits when NSICR is set or a real interrupt is pending. */
  private nsicr(): void {
    const m = this.mac;
    if ((m[ix(G.GPIE)]! & GPIE_NSICR) || (m[ix(G.IMS)] && (m[ix(G.ICR)]! & ICR_ASSERTED))) this.lower(ix(G.IMS), m[ix(G.IAM)]!);
  }

  /** igb_raise_interrupts: set `causes` in register `index` (ICR, EICR, IMS or EIMS) and signal what became pending. */
  raise(index: number, causes: number): void {
    const m = this.mac, ICR = ix(G.ICR), IMS = ix(G.IMS), EICR = ix(G.EICR), EIMS = ix(G.EIMS);
    const old = m[ICR]! & m[IMS]!, oldE = m[EICR]! & m[EIMS]!;
    m[index] = (m[index]! | causes) >>> 0;
    if (this.msixMode()) {
      const raised = m[ICR]! & m[IMS]! & ~old;
      const misc = m[ix(G.IVAR_MISC)]!;
      if ((raised & ICR_DRSTA) && (misc & IVAR_VALID)) m[EICR] = (m[EICR]! | bit(misc & 0x1f)) >>> 0;
      if ((raised & ~ICR_DRSTA) && ((misc >>> 8) & IVAR_VALID)) m[EICR] = (m[EICR]! | bit((misc >>> 8) & 0x1f)) >>> 0;
      const raisedE = (m[EICR]! & m[EIMS]! & ~oldE) >>> 0;
      for (let v = 0; v < IGB_INTR_NUM; v++) if (raisedE & bit(v)) this.msixNotify(v);
      return;
    }
    this.fixIcrAsserted();
    const raised = m[ICR]! & m[IMS]! & ~old;
    if (!raised) return;
    m[EICR] = (m[EICR]! | (raised & ICR_DRSTA) | EICR_OTHER) >>> 0;
    const mode = this.irq.mode();
    if (mode === 'msix') this.irq.msi(0, true);
    else if (mode === 'msi') this.irq.msi(0, false);
    else {
      const iac = ix(G.IAC);
      if (m[iac] !== 0xffffffff) m[iac] = m[iac]! + 1;
      this.irq.setIntx(true);
    }
  }

  /** igb_lower_interrupts. */
  lower(index: number, causes: number): void {
    const m = this.mac;
    m[index] = (m[index]! & ~causes) >>> 0;
    if (!(m[ix(G.ICR)]! & m[ix(G.IMS)]!) && !this.msixMode()) {
      m[ix(G.EICR)] = (m[ix(G.EICR)]! & ~EICR_OTHER) >>> 0;
      if (this.irq.mode() === 'intx') this.irq.setIntx(false);
    }
  }

  private fixIcrAsserted(): void {
    const i = ix(G.ICR);
    this.mac[i] = (this.mac[i]! & ~ICR_ASSERTED) >>> 0;
    if (this.mac[i]) this.mac[i] = (this.mac[i]! | ICR_ASSERTED) >>> 0;
  }

  /** igb_msix_notify (no VFs enabled): vectors past the PF's ten are dropped; EIAC clears the cause. */
  private msixNotify(cause: number): void {
    if (cause >= IGB_MSIX_VECTORS) return;
    this.irq.msi(cause, true);
    const m = this.mac, EICR = ix(G.EICR);
    m[EICR] = (m[EICR]! & ~(m[ix(G.EIAC)]! & bit(cause))) >>> 0;
  }

  /** The EICR bit IVAR maps queue `n`'s receive (tx false) or transmit write-backs to, or 0. */
  queueEic(n: number, tx: boolean): number {
    const e = n < 8 ? n * 4 + (tx ? 1 : 0) : (n - 8) * 4 + (tx ? 3 : 2);
    const ent = (this.mac[ix(G.IVAR0) + (e >> 2)]! >>> (8 * (e & 3))) & 0xff;
    return ent & IVAR_VALID ? bit(ent & 0x1f) : 0;
  }

  // ---- the network side ----

  /** igb_can_receive: link up, receive enabled, bus master, and some enabled queue with a free descriptor. */
  canReceive(): boolean {
    this.pollAutoneg();
    return this.rx.canReceive();
  }

  receive(frame: Uint8Array, len: number): number {
    this.pollAutoneg();
    return this.rx.receive(frame, len, false);
  }

  /** A frame leaves through the wire (or comes straight back in MAC or PHY loopback). */
  send(frame: Uint8Array, len: number, loopback: boolean): void {
    if (loopback) this.rx.receive(frame, len, true);
    else this.net?.send(frame, len);
  }
}

export { IGB_NUM_QUEUES };
