// The 82574L's register core as qemu 7.2's e1000e (hw/net/e1000e_core.c)
// behaves: one table of register handlers (e1000e-regs.ts), the NVM behind
// EERD, the PHY behind MDIC, and the interrupt causes (ICR, ICS, IMS, IMC,
// IAM, EIAC, IVAR) driving INTx, MSI or the MSI-X vectors. The PCI wrapper
// (e1000e.ts) routes BAR accesses here and says which interrupt mode the
// function is in.
import {
  STATUS_PHYRA, CTRL_EXT_ASDCHK, CTRL_EXT_EE_RST, EECD_RO, EERW_START, EERW_DONE, EERW_ADDR_SHIFT,
  EERW_ADDR_MASK, EERW_DATA_SHIFT, GCR_RO, ICR_MDAC, ICR_LSC, RCTL_EN, MDIC_INT_EN,
} from './e1000x-regs.js';
import {
  R, E1000E_MAC_SIZE, ReadKind, WriteKind, e1000eAliasMap, e1000eRegTable, TARC_READ_MASK, MIN_XITR,
  type E1000eRegTable,
} from './e1000e-regs.js';
import { E1000ePhy } from './e1000e-phy.js';
import { NVM_WORDS, e1000eNvm } from './e1000e-nvm.js';
import { E1000eTx, type E1000eBus, NO_BUS } from './e1000e-tx.js';
import { E1000eRx } from './e1000e-rx.js';
import { E1000eIntr, type E1000eIrqOut } from './e1000e-intr.js';
import { MachineClock, type Clock, type ClockTimer } from './clock.js';
import { eerdRead } from './e1000x-eeprom.js';
import { resetMacAddr, readStatus, writeCtrl } from './e1000x-mac.js';
import { mdicWrite, updateRegsOnLinkDown, updateRegsOnAutonegDone, AUTONEG_NS } from './e1000x-phy.js';

export type { E1000eBus } from './e1000e-tx.js';

/** The NIC's network side (its qemu net client): frames out, and "I can take frames again". */
export interface E1000eNet {
  /** A frame leaves: bytes [0, len) of `frame`, valid only during the call. */
  send(frame: Uint8Array, len: number): void;
  /** qemu's e1000e_start_recv: the receive side may take frames now (flush what waits). */
  rxReady(): void;
}

export type { E1000eIrqMode, E1000eIrqOut } from './e1000e-intr.js';

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
  /** Causes, masks, throttling and delays (qemu's interrupt manager). */
  readonly intr: E1000eIntr;
  private clock: Clock;
  /** qemu's autoneg_timer: a restarted autonegotiation completes 500 ms later. */
  private autoneg: ClockTimer;

  /** The function's DMA (set by whoever plugs the function into a machine). */
  bus: E1000eBus = NO_BUS;
  /** Where frames go and who is told that receiving may resume. */
  net: E1000eNet | undefined;
  private readonly tx = new E1000eTx(this);
  private readonly rx = new E1000eRx(this);

  /** `clock`: the machine's (a standalone core gets one of its own, which stands still). */
  constructor(private readonly permanentMac: readonly number[], private readonly irq: E1000eIrqOut, clock: Clock = new MachineClock()) {
    this.nvm = e1000eNvm(permanentMac);
    this.clock = clock;
    this.intr = new E1000eIntr(this.mac, irq, clock);
    this.autoneg = clock.timer(() => this.autonegDone());
    this.phy.restartAutoneg = () => this.restartAutoneg();
    this.boot();
  }

  /** Run the NIC's timers on `clock` (the engine's); timers armed on the old clock are dropped. */
  useClock(clock: Clock): void {
    this.autoneg.del();
    this.clock = clock;
    this.intr.useClock(clock);
    this.autoneg = clock.timer(() => this.autonegDone());
  }

  /** The state the oracle's NICs are in when a VFIO client first opens them. */
  boot(): void {
    this.mac.fill(0);
    for (const [off, v] of MAC_BOOT) this.mac[ix(off)] = v;
    this.intr.reset();
    this.autoneg.del();
    this.phy.boot();
    resetMacAddr(this.mac, this.permanentMac);
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
      case ReadKind.Icr: return this.intr.readIcr();
      case ReadKind.Status: return readStatus(m);
      case ReadKind.Tarc: return (m[i]! & TARC_READ_MASK) >>> 0;
      case ReadKind.Swsm: { const v = m[i]!; m[i] = (v | 1) >>> 0; return v; }
      case ReadKind.Itr: return this.intr.itrGuest;
      case ReadKind.Eitr: return this.intr.eitrGuest[i - ix(R.EITR)]!;
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
      // CTRL.RST self-clears and, in qemu 7.2, only reloads the MAC address.
      case WriteKind.Ctrl: return writeCtrl(m, val, () => resetMacAddr(m, this.permanentMac));
      case WriteKind.Status: if (!(val & STATUS_PHYRA)) m[i] = (m[i]! & ~STATUS_PHYRA) >>> 0; return;
      case WriteKind.CtrlExt: m[i] = (val & ~(CTRL_EXT_ASDCHK | CTRL_EXT_EE_RST)) >>> 0; return;
      case WriteKind.Eecd: m[i] = ((m[i]! & EECD_RO) | (val & ~EECD_RO)) >>> 0; return;
      case WriteKind.Eerd: m[i] = eerdRead(this.nvm, val); return;
      case WriteKind.Eewr: return this.writeEewr(val);
      case WriteKind.Mdic:
        m[i] = mdicWrite(m[i]!, val, this.phy);
        if (m[i]! & MDIC_INT_EN) this.setInterruptCause(ICR_MDAC);
        return;
      case WriteKind.Ics: return this.intr.setInterruptCause(val);
      case WriteKind.Icr: return this.intr.writeIcr(val);
      case WriteKind.Ims: return this.intr.writeIms(val);
      case WriteKind.Imc: return this.intr.writeImc(val);
      case WriteKind.Itr: return this.intr.writeItr(val);
      case WriteKind.Eitr: return this.intr.writeEitr(i - ix(R.EITR), val);
      case WriteKind.Rdtr: return this.intr.writeRdtr(val);
      case WriteKind.Tidv: return this.intr.writeTidv(val);
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
      case WriteKind.Pbaclr: m[i] = val & this.table.mask[i]!; this.intr.writePbaclr(m[i]!); return;
    }
  }

  // ---- handlers ----

  /** EEWR writes the word and reports through EERD, as qemu does. */
  private writeEewr(val: number): void {
    const addr = (val >>> EERW_ADDR_SHIFT) & EERW_ADDR_MASK;
    const data = (val >>> EERW_DATA_SHIFT) & 0xffff;
    let flags = 0;
    if (addr < NVM_WORDS && (val & EERW_START)) { this.nvm[addr] = data; flags = EERW_DONE; }
    this.mac[ix(R.EERD)] = (flags | (addr << EERW_ADDR_SHIFT) | (data << EERW_DATA_SHIFT)) >>> 0;
  }

  // ---- interrupts (e1000e-intr.ts) and the link ----

  /** Raise causes `val` (the device itself). */
  setInterruptCause(val: number): void { this.intr.setInterruptCause(val); }

  /** The end of a transmit pass: its causes, and IDE of the last descriptor written back. */
  txDone(causes: number, ide: boolean): void { this.intr.txDone(causes, ide); }

  /** The end of a receive: its causes (RDTR/RADV/RAID may hold them back). */
  rxDone(causes: number): void { this.intr.rxDone(causes); }

  /**
   * e1000x_restart_autoneg (a PHY control write with RESTART_AUTO_NEG and
   * autonegotiation enabled, or the OEM bits' restart): the link goes down
   * and comes back 500 ms later.
   */
  private restartAutoneg(): void {
    updateRegsOnLinkDown(this.mac, this.phy.regs[0]!);
    this.autoneg.mod(this.clock.now() + AUTONEG_NS);
  }

  /**
   * e1000e_autoneg_timer: link up, autonegotiation complete, flow control
   * on (TFCE, RFCE), receiving may resume, and a link status change.
   */
  private autonegDone(): void {
    updateRegsOnAutonegDone(this.mac, this.phy.regs[0]!);
    this.net?.rxReady();
    if (this.phy.autonegComplete()) this.mac[ix(R.CTRL)] = (this.mac[ix(R.CTRL)]! | CTRL_TFCE | CTRL_RFCE) >>> 0;
    this.setInterruptCause(ICR_LSC);
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

const CTRL_RFCE = 1 << 27, CTRL_TFCE = 1 << 28;
