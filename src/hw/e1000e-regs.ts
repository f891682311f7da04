// The 82574L's MAC registers as qemu 7.2's e1000e models them (the qemu the
// oracle runs): byte offsets in BAR0, the legacy alias offsets, and one table
// saying how each register reads and takes a write. Offsets are the
// datasheet's (and Linux's e1000e/hw.h); the handler of each register is
// qemu's (hw/net/e1000e_core.c), checked on the oracle by
// test/conformance/e1000e_regs.c. What the 82576 shares is e1000x-regs.ts's.
import { X, BIT, ICR_TXDW, ICR_LSC, ICR_RXDMT0, ICR_RXO, ICR_MDAC } from './e1000x-regs.js';

/** Byte offsets of the registers the model gives behaviour to. */
export const R = {
  ...X,
  ITR: 0x00c4, EIAC: 0x00dc, IVAR: 0x00e4, EITR: 0x00e8, AIT: 0x0458, EXTCNF_CTRL: 0x0f00, EXTCNF_SIZE: 0x0f08,
  POEMB: 0x0f10,
  PBA: 0x1000, PBS: 0x1008, FLASHT: 0x1028, EEWR: 0x102c, FLSWCTL: 0x1030, FLSWDATA: 0x1034, FLSWCNT: 0x1038,
  FLOL: 0x1050,
  PSRCTL: 0x2170, RDBAL0: 0x2800, RDBAH0: 0x2804, RDLEN0: 0x2808, RDH0: 0x2810, RDT0: 0x2818, RDTR: 0x2820,
  RXDCTL: 0x2828, RADV: 0x282c, RDBAL1: 0x2900, RDBAH1: 0x2904, RDLEN1: 0x2908, RDH1: 0x2910, RDT1: 0x2918,
  RXDCTL1: 0x2928, RSRPD: 0x2c00, RAID: 0x2c08,
  TDBAL: 0x3800, TDBAH: 0x3804, TDLEN: 0x3808, TDH: 0x3810, TDT: 0x3818, TIDV: 0x3820, TXDCTL: 0x3828,
  TADV: 0x382c, TARC0: 0x3840, TDBAL1: 0x3900, TDBAH1: 0x3904, TDLEN1: 0x3908, TDH1: 0x3910, TDT1: 0x3918,
  TXDCTL1: 0x3928, TARC1: 0x3940,
  MFUTP01: 0x5828, MFUTP23: 0x5830, GSCN_3: 0x5b2c, GCR2: 0x5b64, FFLT: 0x5f00,
  FFVT: 0x9800,
  PBM: 0x10000,
} as const;

/** MSI-X vectors of the 82574L (EITR registers). */
export const E1000E_MSIX_VECTORS = 5;

/** How a register answers a read. */
export const enum ReadKind {
  /** Not a register qemu knows: reads 0. */
  None, Plain,
  /** Statistics counter cleared by the read; Clear8 is a 64-bit counter's high half (clears both). */
  Clear4, Clear8,
  Icr, Status, Tarc, Swsm, Itr, Eitr,
}

/** How a register takes a write (Mask: value & the register's mask). */
export const enum WriteKind {
  /** Read-only or unknown: the write is dropped. */
  None, Plain, Mask,
  Ctrl, Status, CtrlExt, Eecd, Eerd, Eewr, Mdic, Ics, Icr, Ims, Imc, Itr, Eitr, Gcr, Rxdctl,
  /** RDTR and TIDV: 16 bits; FPD (bit 31) flushes the delayed interrupt causes. */
  Rdtr, Tidv,
  /** A ring tail (16 bits) or TCTL: may start transmit. */
  Tdt, Tctl,
  Rdt, Pbaclr,
  /** RCTL: with EN, the receive buffer and descriptor sizes are taken from RCTL, RFCTL and PSRCTL. */
  Rctl,
}

/** Register index (offset / 4) -> read kind, write kind, write mask. */
export interface E1000eRegTable {
  readonly read: Uint8Array;
  readonly write: Uint8Array;
  readonly mask: Uint32Array;
}

/** Number of 32-bit register slots in the 128 KiB BAR. */
export const E1000E_MAC_SIZE = 0x8000;

/**
 * The legacy offsets that alias current registers (82542-era layout kept by
 * the 82574L): [first alias offset, count, target offset].
 */
const ALIASES: ReadonlyArray<readonly [number, number, number]> = [
  [0x0040, 32, R.RA], [0x0600, 128, R.VFTA],
  [0x0108, 1, R.RDTR], [0x0110, 3, R.RDBAL0], [0x0120, 1, R.RDH0], [0x0128, 1, R.RDT0],
  [0x0160, 1, R.FCRTH], [0x0168, 1, R.FCRTL],
  [0x0420, 3, R.TDBAL], [0x0430, 1, R.TDH], [0x0438, 1, R.TDT], [0x0440, 1, R.TIDV],
  [0x8000, 1, R.RDFH], [0x8008, 1, R.RDFT], [0x8010, 1, R.TDFH], [0x8018, 1, R.TDFT],
];

/** Alias index -> the index of the register it reaches (identity elsewhere). */
export function e1000eAliasMap(): Uint16Array {
  const m = new Uint16Array(E1000E_MAC_SIZE);
  for (let i = 0; i < m.length; i++) m[i] = i;
  for (const [from, n, to] of ALIASES) for (let k = 0; k < n; k++) m[(from >> 2) + k] = (to >> 2) + k;
  return m;
}

/** Build the handler table (qemu's e1000e_macreg_readops / writeops). */
export function e1000eRegTable(): E1000eRegTable {
  const read = new Uint8Array(E1000E_MAC_SIZE);
  const write = new Uint8Array(E1000E_MAC_SIZE);
  const mask = new Uint32Array(E1000E_MAC_SIZE);
  const rd = (off: number, k: ReadKind, n = 1) => { for (let i = 0; i < n; i++) read[(off >> 2) + i] = k; };
  const wr = (off: number, k: WriteKind, m = 0xffffffff, n = 1) => {
    for (let i = 0; i < n; i++) { write[(off >> 2) + i] = k; mask[(off >> 2) + i] = m >>> 0; }
  };
  const rw = (off: number, n = 1) => { rd(off, ReadKind.Plain, n); wr(off, WriteKind.Plain, 0xffffffff, n); };
  const rwMask = (off: number, m: number) => { rd(off, ReadKind.Plain); wr(off, WriteKind.Mask, m); };

  // Plain read/write registers.
  for (const off of [
    R.PBA, R.WUFC, R.MANC, R.RDBAH0, R.RDBAH1, R.TDBAH, R.TDBAH1, R.TXDCTL, R.TXDCTL1, R.LEDCTL, R.FCAL,
    R.WUC, R.WUS, R.IPAV, R.IAM, R.EIAC, R.IVAR, R.FLSWDATA, R.POEMB, R.MFUTP01, R.MFUTP23, R.MANC2H,
    R.MFVAL, R.EXTCNF_CTRL, R.FACTPS, R.FUNCTAG, R.GCR2, R.MRQC, R.FLOP, R.FLOL, R.FLSWCTL, R.FLSWCNT,
    R.FLA, R.TIPG, R.RXSTMPH, R.RXSTMPL, R.RXSATRL, R.TXSTMPL, R.SYSTIMH, R.TIMADJL, R.TSYNCRXCTL,
    R.TSYNCTXCTL, R.EXTCNF_SIZE, R.EEMNGCTL, R.RCTL, R.PSRCTL, R.RXCSUM, R.RFCTL, R.TIMINCA, R.TIMADJH,
    R.SYSTIML,
  ]) rw(off);
  rw(R.GSCL_1, 8); // GSCL_1..4, GSCN_0..3
  rw(R.SWSM); rd(R.SWSM, ReadKind.Swsm);
  rd(R.RXSATRH, ReadKind.Plain); rd(R.TXSTMPH, ReadKind.Plain);
  // Read-only registers qemu reads back as they are.
  for (const off of [R.EEMNGDATA, R.FLMNGCTL, R.FLMNGDATA, R.FLMNGCNT, R.MDIC, R.EERD, R.EEWR]) rd(off, ReadKind.Plain);
  for (const off of [R.IMS, R.ICS, R.TCTL, R.CTRL_EXT, R.EECD, R.GCR, R.RXDCTL, R.RXDCTL1, R.PBACLR, R.CTRL])
    rd(off, ReadKind.Plain);
  rw(R.RA, 32); rw(R.MTA, 128); rw(R.VFTA, 128); rw(R.WUPM, 32); rw(R.RETA, 32); rw(R.RSSRK, 32);
  rw(R.IP4AT, 7); rw(R.IP6AT, 4); rw(R.FFVT, 255); rw(R.PBM, 10240);
  rd(R.FFMT, ReadKind.Plain, 255); wr(R.FFMT, WriteKind.Mask, 0xf, 255);
  rd(R.FFLT, ReadKind.Plain, 11); wr(R.FFLT, WriteKind.Mask, 0x7ff, 11);

  // Masked writes (qemu's set_16bit/13bit/12bit/6bit, descriptor lengths and bases).
  for (const off of [R.TDH, R.TDH1, R.RDH0, R.RDH1, R.RADV, R.TADV, R.AIT, R.RAID, R.FCAH, R.FCT, R.FCTTV,
    R.FLASHT, R.VET]) rwMask(off, 0xffff);
  rd(R.RDTR, ReadKind.Plain); wr(R.RDTR, WriteKind.Rdtr);
  for (const off of [R.TDFH, R.TDFT, R.TDFHS, R.TDFTS, R.TDFPC, R.RDFH, R.RDFT, R.RDFHS, R.RDFTS, R.RDFPC])
    rwMask(off, 0x1fff);
  rwMask(R.PBS, 0x3f); rwMask(R.RSRPD, 0xfff);
  for (const off of [R.TDLEN, R.TDLEN1, R.RDLEN0, R.RDLEN1]) rwMask(off, 0x000fff80);
  for (const off of [R.TDBAL, R.TDBAL1, R.RDBAL0, R.RDBAL1]) rwMask(off, 0xfffffff0);
  rwMask(R.FCRTH, 0xfff8); rwMask(R.FCRTL, 0x8000fff8);
  // TIDV takes 16 bits but qemu has no read handler for it: it reads 0.
  wr(R.TIDV, WriteKind.Tidv);

  // Registers with their own handlers.
  wr(R.CTRL, WriteKind.Ctrl); wr(R.CTRL_DUP, WriteKind.Ctrl);
  rd(R.STATUS, ReadKind.Status); wr(R.STATUS, WriteKind.Status);
  wr(R.CTRL_EXT, WriteKind.CtrlExt); wr(R.EECD, WriteKind.Eecd); wr(R.EERD, WriteKind.Eerd);
  wr(R.EEWR, WriteKind.Eewr); wr(R.MDIC, WriteKind.Mdic);
  rd(R.ICR, ReadKind.Icr); wr(R.ICR, WriteKind.Icr); wr(R.ICS, WriteKind.Ics);
  wr(R.IMS, WriteKind.Ims); wr(R.IMC, WriteKind.Imc);
  rd(R.ITR, ReadKind.Itr); wr(R.ITR, WriteKind.Itr);
  rd(R.EITR, ReadKind.Eitr, E1000E_MSIX_VECTORS); wr(R.EITR, WriteKind.Eitr, 0xffffffff, E1000E_MSIX_VECTORS);
  wr(R.GCR, WriteKind.Gcr); wr(R.RXDCTL, WriteKind.Rxdctl);
  rd(R.TARC0, ReadKind.Tarc); wr(R.TARC0, WriteKind.Plain);
  rd(R.TARC1, ReadKind.Tarc); wr(R.TARC1, WriteKind.Plain);
  wr(R.TCTL, WriteKind.Tctl);
  rd(R.TDT, ReadKind.Plain); wr(R.TDT, WriteKind.Tdt, 0xffff);
  rd(R.TDT1, ReadKind.Plain); wr(R.TDT1, WriteKind.Tdt, 0xffff);
  rd(R.RDT0, ReadKind.Plain); wr(R.RDT0, WriteKind.Rdt, 0xffff);
  rd(R.RDT1, ReadKind.Plain); wr(R.RDT1, WriteKind.Rdt, 0xffff);
  wr(R.PBACLR, WriteKind.Pbaclr, 0x1f);
  wr(R.RCTL, WriteKind.Rctl);

  // Statistics: qemu keeps some as plain registers, clears the rest on read.
  rd(R.CRCERRS, ReadKind.Plain, (R.MPC - R.CRCERRS) / 4 + 1);
  for (const off of [0x4014, 0x4018, 0x401c, 0x4020, 0x4028, 0x4030, 0x4034, 0x4038, 0x403c, 0x4040, 0x4048,
    0x404c, 0x4050, 0x4054, 0x4058, 0x4088, 0x4090, 0x40a0, 0x40a8, 0x40b0, 0x40b4, 0x40b8, 0x40bc, 0x40c0,
    0x40c8, 0x40fc]) rd(off, ReadKind.Plain);
  for (const off of [0x405c, 0x4060, 0x4064, 0x4068, 0x406c, 0x4070, 0x4074, 0x4078, 0x407c, 0x4080, 0x40a4,
    0x40ac, 0x40d0, 0x40d4, 0x40d8, 0x40dc, 0x40e0, 0x40e4, 0x40e8, 0x40ec, 0x40f0, 0x40f4, 0x40f8, R.IAC])
    rd(off, ReadKind.Clear4);
  for (const off of [0x408c, 0x4094, 0x40c4, 0x40cc]) rd(off, ReadKind.Clear8); // GORCH GOTCH TORH TOTH
  return { read, write, mask };
}

// ---- bits ----

export const CTRL_EXT_EIAME = BIT(24), CTRL_EXT_IAME = BIT(27), CTRL_EXT_PBA_CLR = BIT(31);
export const TARC_READ_MASK = 0x7ff | BIT(27) | BIT(28) | BIT(29) | BIT(30);
export const TARC_ENABLE = BIT(10);
/** qemu's E1000E_MIN_XITR: the smallest interval ITR/EITR keep. */
export const MIN_XITR = 500;

export const ICR_TXQE = BIT(1), ICR_RXT0 = BIT(7), ICR_SRPD = BIT(16), ICR_ACK = BIT(17), ICR_MNG = BIT(18);
export const ICR_RXQ0 = BIT(20), ICR_RXQ1 = BIT(21), ICR_TXQ0 = BIT(22), ICR_TXQ1 = BIT(23), ICR_OTHER = BIT(24);
/** The causes ICR.OTHER stands for under MSI-X. */
export const ICR_OTHER_CAUSES = ICR_LSC | ICR_RXO | ICR_MDAC | ICR_SRPD | ICR_ACK | ICR_MNG;
/** The causes IMS can enable. */
export const IMS_VALID = (ICR_TXDW | ICR_TXQE | ICR_LSC | ICR_RXDMT0 | ICR_RXO | ICR_RXT0 | ICR_MDAC | BIT(15)
  | ICR_SRPD | ICR_ACK | ICR_MNG | ICR_RXQ0 | ICR_RXQ1 | ICR_TXQ0 | ICR_TXQ1 | ICR_OTHER) >>> 0;

export const RCTL_RDMTS_SHIFT = 8, RCTL_VFE = BIT(18), RCTL_DTYP_MASK = 0xc00, RCTL_DTYP_PS = 0x400;
export const RCTL_FLXBUF_MASK = 0x78000000, RCTL_FLXBUF_SHIFT = 27;
export const RFCTL_EXTEN = BIT(15);
/** IVAR bit 31: write back (and interrupt) every transmit descriptor, RS or not. */
export const IVAR_TX_INT_EVERY_WB = BIT(31);

// Transmit descriptors (the bits both NICs share are e1000x-regs.ts's).
export const TXD_CMD_IFCS = BIT(25), TXD_CMD_IC = BIT(26), TXD_CMD_IDE = BIT(31), TXD_DTYP_D = BIT(20);
export const TXD_CMD_TCP = BIT(24), TXD_CMD_IP = BIT(25), TXD_CMD_TSE = BIT(26);
/** The POPTS of a data descriptor (upper dword >> 8): insert the IP and the TCP/UDP checksums. */
export const TXD_POPTS_IXSM = 1, TXD_POPTS_TXSM = 2;

// Receive descriptors' status bits, and the packet types of the extended descriptor.
export const RXD_STAT_VP = 0x08, RXD_STAT_ACK = 0x8000;
export const RXD_PKT_MAC = 0, RXD_PKT_IP4 = 1, RXD_PKT_IP4_XDP = 2, RXD_PKT_IP6 = 5, RXD_PKT_IP6_XDP = 6;
