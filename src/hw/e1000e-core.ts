// The 82574L's register core as qemu 7.2's e1000e (hw/net/e1000e_core.c)
// behaves: one table of register handlers (e1000e-regs.ts), the NVM behind
// EERD, the PHY behind MDIC, and the interrupt causes (ICR, ICS, IMS, IMC,
// IAM, EIAC, IVAR) driving INTx, MSI or the MSI-X vectors. The PCI wrapper
// (e1000e.ts) routes BAR accesses here and says which interrupt mode the
// function is in.
import {
  R, E1000E_MAC_SIZE, E1000E_MSIX_VECTORS, ReadKind, WriteKind, e1000eAliasMap, e1000eRegTable,
  CTRL_RST, CTRL_PHY_RST, CTRL_GIO_MASTER_DISABLE, CTRL_FD, CTRL_FRCSPD, CTRL_FRCDPX, CTRL_SPD_SEL,
  STATUS_FD, STATUS_PHYRA, STATUS_GIO_MASTER_ENABLE, STATUS_SPEED_10, STATUS_SPEED_100,
  STATUS_SPEED_1000, CTRL_EXT_ASDCHK, CTRL_EXT_EE_RST, CTRL_EXT_SPD_BYPS, CTRL_EXT_EIAME, CTRL_EXT_IAME,
  EECD_RO, EERW_START, EERW_DONE, EERW_ADDR_SHIFT, EERW_ADDR_MASK, EERW_DATA_SHIFT, GCR_RO, TARC_READ_MASK,
  MIN_XITR, ICR_ASSERTED, ICR_OTHER, ICR_OTHER_CAUSES, ICR_MDAC, ICR_RXQ0, ICR_RXQ1, ICR_TXQ0, ICR_TXQ1,
  IMS_VALID, RCTL_EN, type E1000eRegTable,
} from './e1000e-regs.js';
import { E1000ePhy } from './e1000e-phy.js';
import { NVM_WORDS, e1000eNvm } from './e1000e-nvm.js';
import { E1000eTx, type E1000eBus } from './e1000e-tx.js';
import { E1000eRx } from './e1000e-rx.js';

export type { E1000eBus } from './e1000e-tx.js';

/** The NIC's network side (its qemu net client): frames out, and "I can take frames again". */
export interface E1000eNet {
  /** A frame leaves: bytes [0, len) of `frame`, valid only during the call. */
  send(frame: Uint8Array, len: number): void;
  /** qemu's e1000e_start_recv: the receive side may take frames now (flush what waits). */
  rxReady(): void;
}

/** A bus with no DMA behind it: reads zeros, drops writes (no bus master, or not connected). */
const NO_BUS: E1000eBus = {
  read: (_a, out) => { out.fill(0); return false; },
  write: () => false,
  mapRead: (_a, out) => { out.fill(0); return out.length <= 4096 ? 'bounce' : 'failed'; },
  master: () => false,
};

/** The interrupt mode the function is in (its MSI/MSI-X enable bits). */
export type E1000eIrqMode = 'intx' | 'msi' | 'msix';

/** Where the core's interrupts go (the PCI wrapper forwards to the function's irqSink). */
export interface E1000eIrqOut {
  mode(): E1000eIrqMode;
  setIntx(level: boolean): void;
  msi(vector: number, msix: boolean): void;
}

const MDIC_DATA_MASK = 0xffff, MDIC_REG_SHIFT = 16, MDIC_REG_MASK = 0x1f << MDIC_REG_SHIFT;
const MDIC_PHY_SHIFT = 21, MDIC_PHY_MASK = 0x1f << MDIC_PHY_SHIFT;
const MDIC_OP_WRITE = 1 << 26, MDIC_OP_READ = 2 << 26, MDIC_READY = 1 << 28, MDIC_INT_EN = 1 << 29;
const MDIC_ERROR = 1 << 30;

/**
 * BAR0 as the oracle's NICs hold it when vfio-pci gets them: qemu's reset
 * values after the guest's own e1000e driver probed the NIC and let it go
 * (flow control thresholds, TIMINCA, GIO master disabled in CTRL, the last
 * MDIC and EERD operations, a pending link change in ICR). Neither CTRL.RST
 * (qemu 7.2 only reloads the MAC address) nor vfio-pci's reset (a PM reset,
 * which qemu 7.2 ignores) brings back anything else, so this is what every
 * client sees. Measured: test/conformance/e1000e_regs.golden. RA comes from
 * the NIC's MAC; STATUS's mode bits are computed on read.
 */
const MAC_BOOT: ReadonlyArray<readonly [number, number]> = [
  [R.CTRL, 0x18140245], [R.STATUS, 0x00000202], [R.EECD, 0x00000300], [R.EERD, 0x00000026],
  [R.CTRL_EXT, 0x00400000], [R.MDIC, 0x14390000], [R.FCAL, 0x00c28001], [R.FCAH, 0x00000100],
  [R.FCT, 0x00008808], [R.VET, 0x00008100], [R.ICR, 0x81000004], [R.ICS, 0x81000004], [R.FCTTV, 0x00000680],
  [R.TIPG, 0x00602008], [R.LEDCTL, 0x00068302], [R.EXTCNF_CTRL, 0x00000008], [R.POEMB, 0x0000030d],
  [R.PBA, 0x00000020], [R.PBS, 0x00000028], [R.EEMNGCTL, 0x80000000], [R.FLASHT, 0x00000002],
  [R.EEWR, 0x00000002], [R.FLSWCTL, 0xc0000000], [R.FLOL, 0x00000001], [R.FCRTL, 0x80007328],
  [R.FCRTH, 0x00007330], [R.PSRCTL, 0x00040402], [R.RXDCTL, 0x00010000], [R.RXDCTL1, 0x00010000],
  [R.TDFH, 0x600], [R.TDFT, 0x600], [R.TDFHS, 0x600], [R.TDFTS, 0x600],
  [R.TXDCTL, 0x01410000], [R.TARC0, 0x00000403], [R.TXDCTL1, 0x00400000], [R.TARC1, 0x00000403],
  [R.RXCSUM, 0x00000300], [R.MANC, 0x10000000], [R.GCR, 0x0ec00200], [R.FACTPS, 0x20000004],
  [R.GCR2, 0x00000001], [R.TIMINCA, 0x01a00000], [R.ITR, MIN_XITR],
  [R.EITR, MIN_XITR], [R.EITR + 4, MIN_XITR], [R.EITR + 8, MIN_XITR], [R.EITR + 12, MIN_XITR], [R.EITR + 16, MIN_XITR],
];

const ix = (off: number) => off >> 2;

export class E1000eCore {
  /** The MAC registers by index (offset / 4). */
  readonly mac = new Uint32Array(E1000E_MAC_SIZE);
  readonly phy = new E1000ePhy();
  readonly nvm: Uint16Array;
  private readonly table: E1000eRegTable = e1000eRegTable();
  private readonly alias = e1000eAliasMap();
  /** What the driver last wrote to ITR and EITR (qemu keeps at least MIN_XITR in the register itself). */
  private itrGuest = 0;
  private readonly eitrGuest = new Uint32Array(E1000E_MSIX_VECTORS);
  /** Causes already signalled by MSI/MSI-X and not yet cleared (qemu's msi_causes_pending). */
  private msiCausesPending = 0;
  private intxLevel = false;

  /** The function's DMA (set by whoever plugs the function into a machine). */
  bus: E1000eBus = NO_BUS;
  /** Where frames go and who is told that receiving may resume. */
  net: E1000eNet | undefined;
  private readonly tx = new E1000eTx(this);
  private readonly rx = new E1000eRx(this);

  constructor(private readonly permanentMac: readonly number[], private readonly irq: E1000eIrqOut) {
    this.nvm = e1000eNvm(permanentMac);
    this.boot();
  }

  /** The state the oracle's NICs are in when a VFIO client first opens them. */
  boot(): void {
    this.mac.fill(0);
    for (const [off, v] of MAC_BOOT) this.mac[ix(off)] = v;
    this.itrGuest = 0;
    this.eitrGuest.fill(0);
    this.msiCausesPending = 0;
    this.phy.boot();
    this.resetMacAddr();
  }

  /** e1000x_reset_mac_addr: receive address 0 is the permanent MAC, address valid. */
  private resetMacAddr(): void {
    const m = this.permanentMac;
    this.mac[ix(R.RA)] = (m[0]! | (m[1]! << 8) | (m[2]! << 16) | (m[3]! << 24)) >>> 0;
    this.mac[ix(R.RA) + 1] = (m[4]! | (m[5]! << 8) | 0x80000000) >>> 0;
  }

  // ---- register access (4 bytes; the PCI wrapper splits and narrows) ----

  read(off: number): number {
    const i = this.alias[ix(off) & (E1000E_MAC_SIZE - 1)]!;
    const m = this.mac;
    switch (this.table.read[i] as ReadKind) {
      case ReadKind.None: return 0;
      case ReadKind.Plain: return m[i]!;
      case ReadKind.Clear4: { const v = m[i]!; m[i] = 0; return v; }
      case ReadKind.Clear8: { const v = m[i]!; m[i] = 0; m[i - 1] = 0; return v; }
      case ReadKind.Icr: return this.readIcr();
      case ReadKind.Status: return this.readStatus();
      case ReadKind.Tarc: return (m[i]! & TARC_READ_MASK) >>> 0;
      case ReadKind.Swsm: { const v = m[i]!; m[i] = (v | 1) >>> 0; return v; }
      case ReadKind.Itr: return this.itrGuest;
      case ReadKind.Eitr: return this.eitrGuest[i - ix(R.EITR)]!;
    }
  }

  write(off: number, val: number): void {
    const i = this.alias[ix(off) & (E1000E_MAC_SIZE - 1)]!;
    const m = this.mac;
    val >>>= 0;
    switch (this.table.write[i] as WriteKind) {
      case WriteKind.None: return;
      case WriteKind.Plain: m[i] = val; return;
      case WriteKind.Mask: m[i] = (val & this.table.mask[i]!) >>> 0; return;
      case WriteKind.Ctrl: return this.writeCtrl(val);
      case WriteKind.Status: if (!(val & STATUS_PHYRA)) m[i] = (m[i]! & ~STATUS_PHYRA) >>> 0; return;
      case WriteKind.CtrlExt: m[i] = (val & ~(CTRL_EXT_ASDCHK | CTRL_EXT_EE_RST)) >>> 0; return;
      case WriteKind.Eecd: m[i] = ((m[i]! & EECD_RO) | (val & ~EECD_RO)) >>> 0; return;
      case WriteKind.Eerd: return this.writeEerd(val);
      case WriteKind.Eewr: return this.writeEewr(val);
      case WriteKind.Mdic: return this.writeMdic(val);
      case WriteKind.Ics: return this.setInterruptCause(val);
      case WriteKind.Icr: return this.writeIcr(val);
      case WriteKind.Ims: m[ix(R.IMS)] = (m[ix(R.IMS)]! | (val & IMS_VALID)) >>> 0; return this.updateInterruptState();
      case WriteKind.Imc: m[ix(R.IMS)] = (m[ix(R.IMS)]! & ~val) >>> 0; return this.updateInterruptState();
      case WriteKind.Itr: this.itrGuest = val & 0xffff; m[i] = Math.max(this.itrGuest, MIN_XITR); return;
      case WriteKind.Eitr: {
        const g = val & 0xffff;
        this.eitrGuest[i - ix(R.EITR)] = g;
        m[i] = Math.max(g, MIN_XITR);
        return;
      }
      case WriteKind.Gcr: m[i] = ((val & ~GCR_RO) | (m[i]! & GCR_RO)) >>> 0; return;
      case WriteKind.Rxdctl: m[ix(R.RXDCTL)] = val; m[ix(R.RXDCTL1)] = val; return;
      case WriteKind.Tctl:
        m[i] = val;
        this.tx.startXmit(0);
        this.tx.startXmit(1);
        return;
      case WriteKind.Tdt:
        m[i] = val & 0xffff;
        this.tx.startXmit(i === ix(R.TDT) ? 0 : 1);
        return;
      case WriteKind.Rdt: m[i] = val & 0xffff; this.net?.rxReady(); return;
      case WriteKind.Rctl:
        this.rx.setRctl(val);
        if (val & RCTL_EN) this.net?.rxReady();
        return;
      case WriteKind.Pbaclr: m[i] = val & this.table.mask[i]!; return;
    }
  }

  // ---- handlers ----

  private readStatus(): number {
    const m = this.mac, ctrl = m[ix(R.CTRL)]!;
    let v = m[ix(R.STATUS)]!;
    if (!(ctrl & CTRL_GIO_MASTER_DISABLE)) v |= STATUS_GIO_MASTER_ENABLE;
    if (ctrl & CTRL_FRCDPX) v |= (ctrl & CTRL_FD) ? STATUS_FD : 0;
    else v |= STATUS_FD;
    if ((ctrl & CTRL_FRCSPD) || (m[ix(R.CTRL_EXT)]! & CTRL_EXT_SPD_BYPS)) {
      const spd = ctrl & CTRL_SPD_SEL;
      v |= spd === 0 ? STATUS_SPEED_10 : spd === 0x100 ? STATUS_SPEED_100 : STATUS_SPEED_1000;
    } else {
      v |= STATUS_SPEED_1000;
    }
    return v >>> 0;
  }

  /** CTRL.RST self-clears and, in qemu 7.2, only reloads the MAC address; PHY_RST sets STATUS.PHYRA. */
  private writeCtrl(val: number): void {
    this.mac[ix(R.CTRL)] = (val & ~CTRL_RST) >>> 0;
    this.mac[ix(R.CTRL_DUP)] = this.mac[ix(R.CTRL)]!;
    if (val & CTRL_RST) this.resetMacAddr();
    if (val & CTRL_PHY_RST) this.mac[ix(R.STATUS)] = (this.mac[ix(R.STATUS)]! | STATUS_PHYRA) >>> 0;
  }

  private writeEerd(val: number): void {
    const addr = (val >>> EERW_ADDR_SHIFT) & EERW_ADDR_MASK;
    let flags = 0, data = 0;
    if (addr < NVM_WORDS && (val & EERW_START)) { data = this.nvm[addr]!; flags = EERW_DONE; }
    this.mac[ix(R.EERD)] = (flags | (addr << EERW_ADDR_SHIFT) | (data << EERW_DATA_SHIFT)) >>> 0;
  }

  /** EEWR writes the word and reports through EERD, as qemu does. */
  private writeEewr(val: number): void {
    const addr = (val >>> EERW_ADDR_SHIFT) & EERW_ADDR_MASK;
    const data = (val >>> EERW_DATA_SHIFT) & 0xffff;
    let flags = 0;
    if (addr < NVM_WORDS && (val & EERW_START)) { this.nvm[addr] = data; flags = EERW_DONE; }
    this.mac[ix(R.EERD)] = (flags | (addr << EERW_ADDR_SHIFT) | (data << EERW_DATA_SHIFT)) >>> 0;
  }

  private writeMdic(val: number): void {
    const data = val & MDIC_DATA_MASK;
    const reg = (val & MDIC_REG_MASK) >>> MDIC_REG_SHIFT;
    if (((val & MDIC_PHY_MASK) >>> MDIC_PHY_SHIFT) !== 1) {
      val = this.mac[ix(R.MDIC)]! | MDIC_ERROR;
    } else if (val & MDIC_OP_READ) {
      const v = this.phy.read(reg);
      val = v === undefined ? val | MDIC_ERROR : (val ^ data) | v;
    } else if (val & MDIC_OP_WRITE) {
      if (!this.phy.write(reg, data)) val |= MDIC_ERROR;
    }
    this.mac[ix(R.MDIC)] = (val | MDIC_READY) >>> 0;
    if (val & MDIC_INT_EN) this.setInterruptCause(ICR_MDAC);
  }

  // ---- interrupts (e1000e_set_interrupt_cause, e1000e_update_interrupt_state) ----

  /** Raise causes `val` (an ICS write, or the device itself). */
  setInterruptCause(val: number): void {
    this.mac[ix(R.ICR)] = (this.mac[ix(R.ICR)]! | val) >>> 0;
    this.updateInterruptState();
  }

  /**
   * ICR read: clear-on-read when no cause is enabled or outside MSI-X mode;
   * with IAME an asserted read also clears the IAM bits of IMS.
   */
  private readIcr(): number {
    const m = this.mac, v = m[ix(R.ICR)]!;
    if (m[ix(R.IMS)] === 0) m[ix(R.ICR)] = 0;
    if (this.irq.mode() !== 'msix') m[ix(R.ICR)] = 0;
    if ((m[ix(R.ICR)]! & ICR_ASSERTED) && (m[ix(R.CTRL_EXT)]! & CTRL_EXT_IAME)) {
      m[ix(R.ICR)] = 0;
      m[ix(R.IMS)] = (m[ix(R.IMS)]! & ~m[ix(R.IAM)]!) >>> 0;
    }
    this.updateInterruptState();
    return v;
  }

  /** ICR write: write 1 to clear; clearing OTHER clears the causes it stands for. */
  private writeIcr(val: number): void {
    const m = this.mac;
    if ((m[ix(R.ICR)]! & ICR_ASSERTED) && (m[ix(R.CTRL_EXT)]! & CTRL_EXT_IAME))
      m[ix(R.IMS)] = (m[ix(R.IMS)]! & ~m[ix(R.IAM)]!) >>> 0;
    let icr = m[ix(R.ICR)]! & ~val;
    if (val & ICR_OTHER) icr &= ~ICR_OTHER_CAUSES;
    m[ix(R.ICR)] = icr >>> 0;
    this.updateInterruptState();
  }

  private updateInterruptState(): void {
    const m = this.mac, mode = this.irq.mode();
    if (mode === 'msix' && (m[ix(R.ICR)]! & ICR_OTHER_CAUSES)) m[ix(R.ICR)] = (m[ix(R.ICR)]! | ICR_OTHER) >>> 0;
    // INT_ASSERTED reflects whether any cause is set; ICS reads as ICR.
    let icr = m[ix(R.ICR)]! & ~ICR_ASSERTED;
    if (icr) icr |= ICR_ASSERTED;
    m[ix(R.ICR)] = icr >>> 0;
    m[ix(R.ICS)] = icr >>> 0;
    const pending = (m[ix(R.IMS)]! & icr) !== 0;
    if (mode !== 'intx') {
      if (pending) this.sendMsi(mode === 'msix');
    } else {
      this.setIntx(pending);
    }
  }

  private setIntx(level: boolean): void {
    if (level) m32inc(this.mac, ix(R.IAC));
    if (level === this.intxLevel) return;
    this.intxLevel = level;
    this.irq.setIntx(level);
  }

  /** Signal only causes not already signalled (qemu's msi_causes_pending). */
  private sendMsi(msix: boolean): void {
    let causes = this.mac[ix(R.ICR)]! & this.mac[ix(R.IMS)]! & ~ICR_ASSERTED;
    this.msiCausesPending &= causes;
    causes = (causes ^ this.msiCausesPending) >>> 0;
    if (!causes) return;
    this.msiCausesPending |= causes;
    if (!msix) { this.irq.msi(0, false); return; }
    const ivar = this.mac[ix(R.IVAR)]!;
    if (causes & ICR_RXQ0) this.msixNotifyOne(ICR_RXQ0, ivar & 0xf);
    if (causes & ICR_RXQ1) this.msixNotifyOne(ICR_RXQ1, (ivar >>> 4) & 0xf);
    if (causes & ICR_TXQ0) this.msixNotifyOne(ICR_TXQ0, (ivar >>> 8) & 0xf);
    if (causes & ICR_TXQ1) this.msixNotifyOne(ICR_TXQ1, (ivar >>> 12) & 0xf);
    if (causes & ICR_OTHER) this.msixNotifyOne(ICR_OTHER, (ivar >>> 16) & 0xf);
  }

  /** One cause through its IVAR entry (bit 3 valid, bits 0-2 the vector), then EIAC/EIAME auto-clear. */
  private msixNotifyOne(cause: number, entry: number): void {
    const m = this.mac;
    if (entry & 8) {
      const vec = entry & 7;
      if (vec < E1000E_MSIX_VECTORS) this.irq.msi(vec, true);
    }
    if (m[ix(R.CTRL_EXT)]! & CTRL_EXT_EIAME) m[ix(R.IMS)] = (m[ix(R.IMS)]! & ~(m[ix(R.IAM)]! & cause)) >>> 0;
    const eiac = m[ix(R.EIAC)]! & cause;
    m[ix(R.ICR)] = (m[ix(R.ICR)]! & ~eiac) >>> 0;
    this.msiCausesPending &= ~eiac;
    if (!(m[ix(R.CTRL_EXT)]! & CTRL_EXT_IAME)) m[ix(R.IMS)] = (m[ix(R.IMS)]! & ~eiac) >>> 0;
  }

  // ---- the data path (e1000e-tx.ts, e1000e-rx.ts) ----

  /** Whether MSI-X is enabled (the write-back causes are per queue then). */
  msix(): boolean { return this.irq.mode() === 'msix'; }

  /** Put a transmitted frame on the wire. */
  send(frame: Uint8Array, len: number): void { this.net?.send(frame, len); }

  /** e1000e_can_receive. */
  canReceive(): boolean { return this.rx.canReceive(); }

  /** e1000e_receive: the length taken or dropped, 0 to keep the frame for later, -1 when receive is off. */
  receive(frame: Uint8Array, len = frame.length): number { return this.rx.receive(frame, len); }
}

/** qemu's e1000x_inc_reg_if_not_full. */
function m32inc(m: Uint32Array, i: number): void {
  if (m[i] !== 0xffffffff) m[i] = m[i]! + 1;
}
