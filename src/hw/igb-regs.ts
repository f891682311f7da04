// The 82576's MAC registers as qemu 10's igb models them (hw/net/igb_core.c,
// igb_regs.h): byte offsets in BAR0, the 82575-era alias offsets qemu keeps,
// the reset values (igb_mac_reg_init) and one table saying how each register
// reads and takes a write. Offsets are the datasheet's (and Linux's
// igb/e1000_regs.h); handlers are qemu's, checked on the oracle by
// test/conformance/igb_regs.c. The 82575 interrupt block at 0x1500-0x1510
// is not one qemu decodes: those offsets read 0 and drop writes (measured).
// What the 82574L shares is e1000x-regs.ts's.
import { X, BIT, CTRL_FD, STATUS_PHYRA, RXCSUM_IPOFLD, RXCSUM_TUOFLD } from './e1000x-regs.js';

/** Byte offsets of the registers the model gives behaviour to. */
export const G = {
  ...X,
  TCTL_EXT: 0x0404, VMBMEM: 0x0800, P2VMAILBOX: 0x0c00, V2PMAILBOX: 0x0c40, MBVFICR: 0x0c80, MBVFIMR: 0x0c84,
  VFLRE: 0x0c88, VFRE: 0x0c8c, VFTE: 0x0c90,
  GPIE: 0x1514, EICS: 0x1520, EIMS: 0x1524, EIMC: 0x1528, EIAC: 0x152c, EIAM: 0x1530, EICR: 0x1580,
  EITR0: 0x1680, IVAR0: 0x1700, IVAR_MISC: 0x1740,
  RXPBS: 0x2404, QDE: 0x2408, FCRTV: 0x2460,
  TXPBS: 0x3404, DTXSWC: 0x3500, WVBR: 0x3554, DTXCTL: 0x3590, VMVIR0: 0x3700,
  HTCBDPC: 0x4124,
  RLPML: 0x5004, RA2: 0x54e0, VT_CTL: 0x581c, MDEF: 0x5890, VMOLR0: 0x5ad0, RPLOLR: 0x5af0, FWSM: 0x5b54,
  SW_FW_SYNC: 0x5b5c, ETQF0: 0x5cb0, VLVF0: 0x5d00, TSYNCRXCFG: 0x5f50,
  FTFT: 0x9400,
  UTA: 0xa000,
  /** Queue n's receive registers are at RXQ + 0x40 n, transmit at TXQ + 0x40 n. */
  RXQ: 0xc000, TXQ: 0xe000,
} as const;

/** Offsets inside a queue's 0x40-byte block. */
export const Q = {
  BAL: 0x00, BAH: 0x04, LEN: 0x08, SRRCTL: 0x0c, H: 0x10, DCA: 0x14, T: 0x18, DCTL: 0x28, RQDPC: 0x30,
  WBAL: 0x38, WBAH: 0x3c,
} as const;

export const IGB_NUM_QUEUES = 16;
/** MSI-X vectors of the PF (IGB_MSIX_VEC_NUM) and EICR bits that name a vector (IGB_INTR_NUM). */
export const IGB_MSIX_VECTORS = 10;
export const IGB_INTR_NUM = 25;
/** 32-bit register slots in the 128 KiB BAR. */
export const IGB_MAC_SIZE = 0x8000;

export const CTRL_LRST = BIT(3), CTRL_SPD_1000 = 0x200, CTRL_ADVD3WUC = BIT(20), CTRL_EXT_PFRSTD = BIT(14);
export const TXDCTL_QUEUE_ENABLE = BIT(25), RXDCTL_QUEUE_ENABLE = BIT(25);
export const SRRCTL_BSIZEPKT_MASK = 0x7f, SRRCTL_BSIZEPKT_SHIFT = 10;
export const GPIE_NSICR = BIT(0), GPIE_MSIX_MODE = BIT(4);
export const IVAR_VALID = 0x80;
export const EICR_OTHER = BIT(31), EICR_MSIX_MASK = 0x01ffffff, EICR_LEGACY_MASK = 0x4000ffff;
export const ICR_RXDW = BIT(7), ICR_VMMB = BIT(8), ICR_DRSTA = BIT(30);
/** IMS bits that exist (igb_set_ims). */
export const IMS_VALID = 0x77d4fbfd;
export const SWSM_SMBI = 1;
export const EITR_CNT_IGNR = BIT(31);
export const V2PMAILBOX_REQ = 1, V2PMAILBOX_ACK = 2, V2PMAILBOX_VFU = 4, V2PMAILBOX_PFU = 8;
export const V2PMAILBOX_PFSTS = 0x10, V2PMAILBOX_PFACK = 0x20, V2PMAILBOX_RSTI = 0x40, V2PMAILBOX_RSTD = 0x80;
export const P2VMAILBOX_STS = 1, P2VMAILBOX_ACK = 2, P2VMAILBOX_VFU = 4, P2VMAILBOX_PFU = 8, P2VMAILBOX_RVFU = 0x10;

/** How a register answers a read. */
export const enum RdK { None, Plain, Clear4, Clear8, Icr, Status, Swsm, Eitr, Systiml, Vfmailbox }

/** How a register takes a write. */
export const enum WrK {
  None, Plain, Mask,
  Ctrl, Status, CtrlExt, Eecd, Eerd, Mdic, Ics, Icr, Ims, Imc, Eitr, Gcr, Rctl, Tdt, Rdt, Pbaclr,
  Eics, Eims, Eimc, Eiac, Eiam, Eicr, W1c, Pfmailbox, Vfmailbox, Timinca, Timadjh,
}

export interface IgbRegTable {
  readonly read: Uint8Array;
  readonly write: Uint8Array;
  readonly mask: Uint32Array;
}

const ix = (off: number) => off >> 2;

/** igb_macreg_readops / igb_macreg_writeops, by register index. */
export function igbRegTable(): IgbRegTable {
  const read = new Uint8Array(IGB_MAC_SIZE), write = new Uint8Array(IGB_MAC_SIZE), mask = new Uint32Array(IGB_MAC_SIZE);
  const rd = (off: number, k: RdK, n = 1, stride = 4) => { for (let i = 0; i < n; i++) read[ix(off + i * stride)] = k; };
  const wr = (off: number, k: WrK, n = 1, stride = 4, m = 0) => {
    for (let i = 0; i < n; i++) { write[ix(off + i * stride)] = k; mask[ix(off + i * stride)] = m; }
  };
  const rw = (off: number, n = 1, stride = 4) => { rd(off, RdK.Plain, n, stride); wr(off, WrK.Plain, n, stride); };
  const wm = (off: number, m: number, n = 1, stride = 4) => { rd(off, RdK.Plain, n, stride); wr(off, WrK.Mask, n, stride, m); };

  // Registers that read plain and take plain writes.
  for (const off of [G.WUFC, G.LEDCTL, G.TCTL, G.TCTL_EXT, G.DTXCTL, G.RXPBS, G.FCAL, G.WUC, G.WUS, G.IPAV,
    G.IAM, G.MANC, G.MANC2H, G.MFVAL, G.FACTPS, G.FUNCTAG, G.MRQC, G.FLOP, G.TIPG, G.RXSTMPH, G.RXSTMPL,
    G.RXSATRL, G.TXSTMPL, G.SYSTIMH, G.TIMADJL, G.TSYNCRXCTL, G.TSYNCTXCTL, G.EEMNGCTL, G.GPIE, G.TXPBS,
    G.RLPML, G.VET, G.FWSM, G.SW_FW_SYNC, G.IVAR_MISC, G.TSYNCRXCFG, G.VT_CTL, G.MBVFIMR, G.VFRE, G.VFTE,
    G.QDE, G.DTXSWC, G.RPLOLR, G.RXSTMPH]) rw(off);
  rw(G.GSCL_1, 8); // GSCL_1..4, GSCN_0..3
  wr(G.SWSM, WrK.Plain); rd(G.SWSM, RdK.Swsm);
  // Plain reads only (statistics that do not clear, read-only state).
  for (const off of [G.TOTL, G.GORCL, G.GOTCL, G.TORL, G.RNBC, G.EEMNGDATA, G.FLMNGCTL, G.FLMNGDATA, G.FLMNGCNT,
    G.CTRL_EXT, G.EECD, G.RCTL, G.MDIC, G.EERD, G.EIAC, G.EIMS, G.EIAM, G.RXCSUM, G.FCAH, G.FCRTH, G.FCT,
    G.FLA, G.FCRTL, G.FCTTV, G.FCRTV, G.TIMINCA, G.TIMADJH, G.RFCTL, G.GCR, G.PBACLR, G.MBVFICR, G.VFLRE,
    G.TXSTMPH, G.RXSATRH, G.SYSTIML, G.CTRL, G.STATUS, G.ICR, G.ICS, G.IMS, G.IMC, G.SWSM,
    G.TDFH, G.TDFT, G.TDFHS, G.TDFTS, G.TDFPC, G.RDFH, G.RDFT, G.RDFHS, G.RDFTS, G.RDFPC]) if (!read[ix(off)]) rd(off, RdK.Plain);
  // Statistics: the counters the table names (0x4000-0x4124).
  rd(G.CRCERRS, RdK.Plain, 5); // CRCERRS .. MPC
  for (const off of [0x4014, 0x4018, 0x401c, 0x4020, 0x4028, 0x4030, 0x4034, 0x4040, 0x4048, 0x404c,
    0x4050, 0x4054, 0x4058, 0x40a8, 0x40b0, 0x40b4, 0x40b8, 0x40bc]) rd(off, RdK.Plain);
  for (const off of [0x405c, 0x4060, 0x4064, 0x4068, 0x406c, 0x4070, G.GPRC, G.BPRC, G.MPRC, G.GPTC, G.RUC,
    G.ROC, G.TPR, G.TPT, 0x40d8, 0x40dc, 0x40e0, 0x40e4, 0x40e8, 0x40ec, G.MPTC, G.BPTC, G.TSCTC, G.IAC,
    G.HTCBDPC, G.EICR, G.WVBR]) rd(off, RdK.Clear4);
  for (const off of [G.GORCH, G.GOTCH, G.TORH, G.TOTH]) rd(off, RdK.Clear8);
  rd(G.ICR, RdK.Icr); rd(G.STATUS, RdK.Status); rd(G.SYSTIML, RdK.Systiml);
  rd(G.EITR0, RdK.Eitr, IGB_INTR_NUM);
  // Tables.
  rw(G.IP6AT, 4); rw(G.IP4AT, 7); rw(G.RA, 32); rw(G.RA2, 32); rw(G.WUPM, 32); rw(G.MTA, 128);
  rw(G.VFTA, 128); rw(G.MDEF, 8); rw(G.FTFT, 255); rw(G.RETA, 32); rw(G.RSSRK, 10); rw(0x5010, 4); // MAVTV0..3
  wm(G.FFMT, 0xf, 255);
  rw(G.IVAR0, 8); rw(G.ETQF0, 8); rw(G.VLVF0, 32); rw(G.VMVIR0, 8); rw(G.VMOLR0, 8); rw(G.VMBMEM, 128);
  wr(G.UTA, WrK.Plain, 128);
  rd(G.P2VMAILBOX, RdK.Plain, 8); wr(G.P2VMAILBOX, WrK.Pfmailbox, 8);
  rd(G.V2PMAILBOX, RdK.Vfmailbox, 8); wr(G.V2PMAILBOX, WrK.Vfmailbox, 8);
  // Queues.
  for (let n = 0; n < IGB_NUM_QUEUES; n++) {
    const r = G.RXQ + 0x40 * n, t = G.TXQ + 0x40 * n;
    rw(r + Q.BAH); rw(r + Q.SRRCTL); rw(r + Q.DCTL); rw(t + Q.BAH); rw(t + Q.DCTL); rw(t + Q.DCA);
    rw(t + Q.WBAL); rw(t + Q.WBAH);
    rd(r + Q.LEN, RdK.Plain); wr(r + Q.LEN, WrK.Mask, 1, 4, 0xffff0);
    rd(t + Q.LEN, RdK.Plain); wr(t + Q.LEN, WrK.Mask, 1, 4, 0xffff0);
    rd(r + Q.BAL, RdK.Plain); wr(r + Q.BAL, WrK.Mask, 1, 4, 0xffffffe0);
    rd(t + Q.BAL, RdK.Plain); wr(t + Q.BAL, WrK.Mask, 1, 4, 0xffffffe0);
    rd(r + Q.H, RdK.Plain); wr(r + Q.H, WrK.Mask, 1, 4, 0xffff);
    rd(t + Q.H, RdK.Plain); wr(t + Q.H, WrK.Mask, 1, 4, 0xffff);
    rd(r + Q.T, RdK.Plain); wr(r + Q.T, WrK.Rdt);
    rd(t + Q.T, RdK.Plain); wr(t + Q.T, WrK.Tdt);
    rd(r + Q.RQDPC, RdK.Clear4);
  }
  wr(G.RXQ + Q.RQDPC, WrK.Plain);
  // Registers with handlers.
  wr(G.CTRL, WrK.Ctrl); wr(G.CTRL_DUP, WrK.Ctrl); wr(G.STATUS, WrK.Status); wr(G.CTRL_EXT, WrK.CtrlExt);
  wr(G.EECD, WrK.Eecd); wr(G.EERD, WrK.Eerd); wr(G.MDIC, WrK.Mdic); wr(G.ICS, WrK.Ics); wr(G.ICR, WrK.Icr);
  wr(G.IMS, WrK.Ims); wr(G.IMC, WrK.Imc); wr(G.GCR, WrK.Gcr); wr(G.RCTL, WrK.Rctl); wr(G.PBACLR, WrK.Pbaclr);
  wr(G.RXCSUM, WrK.Plain); wr(G.RFCTL, WrK.Plain);
  wr(G.EITR0, WrK.Eitr, IGB_INTR_NUM);
  wr(G.EICS, WrK.Eics); wr(G.EIMS, WrK.Eims); wr(G.EIMC, WrK.Eimc); wr(G.EIAC, WrK.Eiac); wr(G.EIAM, WrK.Eiam);
  wr(G.EICR, WrK.Eicr); wr(G.MBVFICR, WrK.W1c); wr(G.VFLRE, WrK.W1c);
  wr(G.TIMINCA, WrK.Timinca); wr(G.TIMADJH, WrK.Timadjh);
  for (const off of [G.TXSTMPH, G.RXSATRH, G.SYSTIML, G.RXSATRL]) wr(off, WrK.Plain);
  wr(G.FCAH, WrK.Mask, 1, 4, 0xffff); wr(G.FCT, WrK.Mask, 1, 4, 0xffff); wr(G.FCTTV, WrK.Mask, 1, 4, 0xffff);
  wr(G.FCRTV, WrK.Mask, 1, 4, 0xffff); wr(G.FCRTH, WrK.Mask, 1, 4, 0xfff8); wr(G.FCRTL, WrK.Mask, 1, 4, 0x8000fff8);
  for (const off of [G.TDFH, G.TDFT, G.TDFHS, G.TDFTS, G.TDFPC, G.RDFH, G.RDFT, G.RDFHS, G.RDFTS, G.RDFPC]) {
    wr(off, WrK.Mask, 1, 4, 0x1fff);
  }
  wr(0x4058, WrK.Plain); // FCRUC
  return { read, write, mask };
}

/**
 * qemu's mac_reg_access alias offsets: [first alias byte offset, count,
 * target byte offset]. RA and VFTA at their 82542 places, the flow control
 * and FIFO registers, and queues 0-3 at their 82575 places (TXCTL3's alias
 * lands on TXCTL9, as qemu's table has it).
 */
const ALIASES: ReadonlyArray<readonly [number, number, number]> = [
  [0x0168, 1, G.FCRTL], [0x8000, 1, G.RDFH], [0x8008, 1, G.RDFT], [0x8010, 1, G.TDFH], [0x8018, 1, G.TDFT],
  [0x0040, 32, G.RA], [0x0600, 128, G.VFTA],
];

/** Register index -> the index it aliases (itself when none). */
export function igbAliasMap(): Uint16Array {
  const m = new Uint16Array(IGB_MAC_SIZE);
  for (let i = 0; i < m.length; i++) m[i] = i;
  for (const [from, n, to] of ALIASES) for (let i = 0; i < n; i++) m[ix(from) + i] = ix(to) + i;
  for (let n = 0; n < 4; n++) {
    for (const o of [Q.BAL, Q.BAH, Q.LEN, Q.SRRCTL, Q.H, Q.DCA, Q.T, Q.DCTL, Q.RQDPC]) m[ix(0x2800 + 0x100 * n + o)] = ix(G.RXQ + 0x40 * n + o);
    for (const o of [Q.BAL, Q.BAH, Q.LEN, Q.H, Q.DCA, Q.T, Q.DCTL, Q.WBAL, Q.WBAH]) m[ix(0x3800 + 0x100 * n + o)] = ix(G.TXQ + 0x40 * n + o);
  }
  m[ix(0x3800 + 0x300 + Q.DCA)] = ix(G.TXQ + 0x40 * 9 + Q.DCA);
  return m;
}

const TXCTL_RESET = BIT(9) | BIT(11) | BIT(13);

/** igb_mac_reg_init: [byte offset, value]. */
export const IGB_MAC_INIT: ReadonlyArray<readonly [number, number]> = [
  [G.LEDCTL, 0x07068302], [G.EEMNGCTL, 0x80000000], [G.TXQ + Q.DCTL, TXDCTL_QUEUE_ENABLE],
  ...Array.from({ length: IGB_NUM_QUEUES }, (_, n) => [G.RXQ + 0x40 * n + Q.DCTL, (n === 0 ? RXDCTL_QUEUE_ENABLE : 0) | 0x10000] as const),
  [G.TIPG, 0x00601008], [G.CTRL, CTRL_FD | CTRL_LRST | CTRL_SPD_1000 | CTRL_ADVD3WUC],
  [G.STATUS, STATUS_PHYRA | BIT(31)], [G.EECD, 0x1110], [G.GCR, 0x06850200], [G.RXCSUM, RXCSUM_IPOFLD | RXCSUM_TUOFLD],
  [G.TXPBS, 0x28], [G.RXPBS, 0x40], [G.TCTL, 0xa40400f8], [G.TCTL_EXT, 0x10840], [G.DTXCTL, 0x44],
  [G.VET, 0x81008100],
  ...Array.from({ length: 8 }, (_, n) => [G.V2PMAILBOX + 4 * n, V2PMAILBOX_RSTI] as const),
  [G.MBVFIMR, 0xff], [G.VFRE, 0xff], [G.VFTE, 0xff],
  ...Array.from({ length: 8 }, (_, n) => [G.VMOLR0 + 4 * n, 0x80002600] as const),
  [G.RPLOLR, 0x80000000], [G.RLPML, 0x2600],
  ...Array.from({ length: IGB_NUM_QUEUES }, (_, n) => [G.TXQ + 0x40 * n + Q.DCA, TXCTL_RESET] as const),
];

// Advanced descriptor bits (the bits both NICs share are e1000x-regs.ts's).
export const ADVTXD_DTYP_CTXT = 0x00200000, ADVTXD_DTYP_DATA = 0x00300000, ADVTXD_DCMD_TSE = BIT(31);
export const ADVTXD_POTS_IXSM = 0x100, ADVTXD_POTS_TXSM = 0x200;
export const ADVRXD_PKT_IP4 = BIT(0), ADVRXD_PKT_IP6 = BIT(2), ADVRXD_PKT_TCP = BIT(4), ADVRXD_PKT_UDP = BIT(5);
