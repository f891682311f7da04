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
  G, Q, IGB_MAC_SIZE, IGB_INTR_NUM, IGB_MSIX_VECTORS, IGB_NUM_QUEUES, IGB_MAC_INIT, RdK, WrK, igbRegTable, igbAliasMap,
  CTRL_RST, CTRL_PHY_RST, CTRL_FD, CTRL_FRCDPX, CTRL_FRCSPD, CTRL_SPD_SEL, CTRL_GIO_MASTER_DISABLE,
  STATUS_FD, STATUS_LU, STATUS_PHYRA, STATUS_SPEED_100, STATUS_SPEED_1000, STATUS_GIO_MASTER_ENABLE,
  CTRL_EXT_ASDCHK, CTRL_EXT_EE_RST, CTRL_EXT_PFRSTD, CTRL_EXT_SPD_BYPS, EECD_RO, EERW_START, EERW_DONE,
  EERW_ADDR_SHIFT, EERW_ADDR_MASK, EERW_DATA_SHIFT, GCR_RO, RCTL_EN, GPIE_NSICR, GPIE_MSIX_MODE, IVAR_VALID,
  EICR_OTHER, EICR_MSIX_MASK, EICR_LEGACY_MASK, ICR_DRSTA, ICR_ASSERTED, ICR_MDAC, ICR_LSC, ICR_VMMB, IMS_VALID,
  SWSM_SMBI, EITR_CNT_IGNR, V2PMAILBOX_REQ, V2PMAILBOX_ACK, V2PMAILBOX_VFU, V2PMAILBOX_PFU, V2PMAILBOX_PFSTS,
  V2PMAILBOX_PFACK, V2PMAILBOX_RSTI, V2PMAILBOX_RSTD, P2VMAILBOX_STS, P2VMAILBOX_ACK, P2VMAILBOX_VFU,
  P2VMAILBOX_PFU, P2VMAILBOX_RVFU, type IgbRegTable,
} from './igb-regs.js';
import { MachineClock, type Clock, type ClockTimer } from './clock.js';
import { IgbPhy, MII_BMCR, MII_BMSR, MII_ANLPAR, BMCR_AUTOEN, BMCR_ANRESTART, BMCR_RESET, BMSR_LINK_ST, BMSR_AN_COMP, ANLPAR_ACK } from './igb-phy.js';
import { IGB_NVM_WORDS, igbNvm } from './igb-nvm.js';
import { IgbTx } from './igb-tx.js';
import { IgbRx } from './igb-rx.js';
import type { E1000eBus, E1000eIrqOut, E1000eNet } from './e1000e-core.js';

const MDIC_DATA_MASK = 0xffff, MDIC_REG_SHIFT = 16, MDIC_PHY_SHIFT = 21;
const MDIC_OP_WRITE = 1 << 26, MDIC_OP_READ = 2 << 26, MDIC_READY = 1 << 28, MDIC_INT_EN = 1 << 29, MDIC_ERROR = 1 << 30;
/** qemu's autonegotiation timer: the link comes up this long after a restart. */
export const IGB_AUTONEG_MS = 500;

const NO_BUS: E1000eBus = {
  read: (_a, out) => { out.fill(0); return false; },
  write: () => false,
  mapRead: (_a, out) => { out.fill(0); return out.length <= 4096 ? 'bounce' : 'failed'; },
  master: () => false,
};


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
    const m = this.permanentMac;
    this.mac[ix(G.RA)] = (m[0]! | (m[1]! << 8) | (m[2]! << 16) | (m[3]! << 24)) >>> 0;
    this.mac[ix(G.RA) + 1] = (m[4]! | (m[5]! << 8) | 0x80000000) >>> 0;
    this.tx.reset();
  }

  // ---- autonegotiation ----

  private stopAutoneg(): void {
    this.anTimer.del();
    this.anDeadline = undefined;
  }

  /** e1000x_restart_autoneg: link down now, up IGB_AUTONEG_MS later. */
  private restartAutoneg(): void {
    this.linkDown();
    this.stopAutoneg();
    this.anDeadline = this.clock.now() + IGB_AUTONEG_MS * 1e6;
    this.anTimer.mod(this.anDeadline);
  }

  /** Complete a due autonegotiation (the timer, or any register access after the deadline). */
  pollAutoneg(): void {
    if (this.anDeadline === undefined || this.clock.now() < this.anDeadline) return;
    this.stopAutoneg();
    this.mac[ix(G.STATUS)] = (this.mac[ix(G.STATUS)]! | STATUS_LU) >>> 0;
    this.phy.regs[MII_BMSR] |= BMSR_LINK_ST | BMSR_AN_COMP;
    this.phy.regs[MII_ANLPAR] |= ANLPAR_ACK;
    this.net?.rxReady();
    this.raise(ix(G.ICR), ICR_LSC);
  }

  private linkDown(): void {
    this.mac[ix(G.STATUS)] = (this.mac[ix(G.STATUS)]! & ~STATUS_LU) >>> 0;
    this.phy.regs[MII_BMSR] &= ~(BMSR_LINK_ST | BMSR_AN_COMP);
    this.phy.regs[MII_ANLPAR] &= ~ANLPAR_ACK;
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
      case RdK.Status: return this.readStatus();
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
      case WrK.Ctrl: return this.writeCtrl(val);
      case WrK.Status: if (!(val & STATUS_PHYRA)) m[i] = (m[i]! & ~STATUS_PHYRA) >>> 0; return;
      case WrK.CtrlExt: return this.writeCtrlExt(val);
      case WrK.Eecd: m[i] = ((m[i]! & EECD_RO) | (val & ~EECD_RO)) >>> 0; return;
      case WrK.Eerd: return this.writeEerd(val);
      case WrK.Mdic: return this.writeMdic(val);
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

  private readStatus(): number {
    const m = this.mac;
    const ctrl = m[ix(G.CTRL)]!;
    let v = m[ix(G.STATUS)]!;
    if (ctrl & CTRL_FRCDPX) v |= ctrl & CTRL_FD ? STATUS_FD : 0;
    else v |= STATUS_FD;
    if ((ctrl & CTRL_FRCSPD) || (m[ix(G.CTRL_EXT)]! & CTRL_EXT_SPD_BYPS)) {
      const spd = ctrl & CTRL_SPD_SEL;
      v |= spd === 0 ? 0 : spd === 0x100 ? STATUS_SPEED_100 : STATUS_SPEED_1000;
    } else {
      v |= STATUS_SPEED_1000;
    }
    if (!(ctrl & CTRL_GIO_MASTER_DISABLE)) v |= STATUS_GIO_MASTER_ENABLE;
    return v >>> 0;
  }

  private writeCtrl(val: number): void {
    const m = this.mac;
    m[ix(G.CTRL)] = (val & ~CTRL_RST) >>> 0;
    m[ix(G.CTRL_DUP)] = m[ix(G.CTRL)]!;
    if (val & CTRL_RST) this.reset(true);
    if (val & CTRL_PHY_RST) m[ix(G.STATUS)] = (m[ix(G.STATUS)]! | STATUS_PHYRA) >>> 0;
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

  private writeEerd(val: number): void {
    const addr = (val >>> EERW_ADDR_SHIFT) & EERW_ADDR_MASK;
    let flags = 0, data = 0;
    if (addr < IGB_NVM_WORDS && (val & EERW_START)) { data = this.nvm[addr]!; flags = EERW_DONE; }
    this.mac[ix(G.EERD)] = (flags | (addr << EERW_ADDR_SHIFT) | (data << EERW_DATA_SHIFT)) >>> 0;
  }

  private writeMdic(val: number): void {
    const data = val & MDIC_DATA_MASK, reg = (val >>> MDIC_REG_SHIFT) & 0x1f;
    if (((val >>> MDIC_PHY_SHIFT) & 0x1f) !== 1) {
      val = this.mac[ix(G.MDIC)]! | MDIC_ERROR;
    } else if (val & MDIC_OP_READ) {
      if (!this.phy.readable(reg)) val |= MDIC_ERROR;
      else val = (val ^ data) | this.phy.regs[reg]!;
    } else if (val & MDIC_OP_WRITE) {
      if (!this.phy.writable(reg)) val |= MDIC_ERROR;
      else if (reg === MII_BMCR) this.writeBmcr(data);
      else this.phy.regs[reg] = data;
    }
    this.mac[ix(G.MDIC)] = (val | MDIC_READY) >>> 0;
    if (val & MDIC_INT_EN) this.raise(ix(G.ICR), ICR_MDAC);
  }

  /** igb_set_phy_ctrl: bits 0-5, reset and restart clear themselves; a restart with autoneg enabled runs it. */
  private writeBmcr(val: number): void {
    this.phy.regs[MII_BMCR] = val & ~(0x3f | BMCR_RESET | BMCR_ANRESTART);
    if ((val & BMCR_ANRESTART) && (this.phy.regs[MII_BMCR]! & BMCR_AUTOEN)) this.restartAutoneg();
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
