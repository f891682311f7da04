// The MAC registers and bits the 82574L (qemu's e1000e) and the 82576
// (qemu's igb) share, as qemu keeps them in hw/net/e1000x_regs.h for both:
// the byte offsets that are the same on the two NICs (e1000e-regs.ts and
// igb-regs.ts add each one's own), and the bits of the registers and
// descriptors both models read the same way. Offsets are the datasheets'
// (and Linux's e1000e/hw.h, igb/e1000_regs.h).

/** Byte offsets in BAR0 that both NICs give the same register. */
export const X = {
  CTRL: 0x0000, CTRL_DUP: 0x0004, STATUS: 0x0008, EECD: 0x0010, EERD: 0x0014, CTRL_EXT: 0x0018, FLA: 0x001c,
  MDIC: 0x0020, FCAL: 0x0028, FCAH: 0x002c, FCT: 0x0030, VET: 0x0038, ICR: 0x00c0, ICS: 0x00c8, IMS: 0x00d0,
  IMC: 0x00d8, IAM: 0x00e0, RCTL: 0x0100, FCTTV: 0x0170, TCTL: 0x0400, TIPG: 0x0410, LEDCTL: 0x0e00,
  EEMNGCTL: 0x1010, EEMNGDATA: 0x1014, FLMNGCTL: 0x1018, FLMNGDATA: 0x101c, FLMNGCNT: 0x1020, FLOP: 0x103c,
  FCRTL: 0x2160, FCRTH: 0x2168, RDFH: 0x2410, RDFT: 0x2418, RDFHS: 0x2420, RDFTS: 0x2428, RDFPC: 0x2430,
  TDFH: 0x3410, TDFT: 0x3418, TDFHS: 0x3420, TDFTS: 0x3428, TDFPC: 0x3430,
  CRCERRS: 0x4000, MPC: 0x4010, IAC: 0x4100, PRC64: 0x405c, GPRC: 0x4074, BPRC: 0x4078, MPRC: 0x407c,
  GPTC: 0x4080, GORCL: 0x4088, GORCH: 0x408c, GOTCL: 0x4090, GOTCH: 0x4094, RNBC: 0x40a0, RUC: 0x40a4,
  ROC: 0x40ac, TORL: 0x40c0, TORH: 0x40c4, TOTL: 0x40c8, TOTH: 0x40cc, TPR: 0x40d0, TPT: 0x40d4, PTC64: 0x40d8,
  MPTC: 0x40f0, BPTC: 0x40f4, TSCTC: 0x40f8,
  RXCSUM: 0x5000, RFCTL: 0x5008, MTA: 0x5200, RA: 0x5400, VFTA: 0x5600, WUC: 0x5800, WUFC: 0x5808, WUS: 0x5810,
  MRQC: 0x5818, MANC: 0x5820, MFVAL: 0x5824, IPAV: 0x5838, IP4AT: 0x5840, MANC2H: 0x5860, IP6AT: 0x5880,
  WUPM: 0x5a00, GCR: 0x5b00, GSCL_1: 0x5b10, FACTPS: 0x5b30, FUNCTAG: 0x5b40, SWSM: 0x5b50, PBACLR: 0x5b68,
  RETA: 0x5c00, RSSRK: 0x5c80,
  FFMT: 0x9000,
  SYSTIML: 0xb600, SYSTIMH: 0xb604, TIMINCA: 0xb608, TIMADJL: 0xb60c, TIMADJH: 0xb610, TSYNCTXCTL: 0xb614,
  TXSTMPL: 0xb618, TXSTMPH: 0xb61c, TSYNCRXCTL: 0xb620, RXSTMPL: 0xb624, RXSTMPH: 0xb628, RXSATRL: 0xb62c,
  RXSATRH: 0xb630,
} as const;

export const BIT = (n: number) => (1 << n) >>> 0;

export const CTRL_FD = BIT(0), CTRL_GIO_MASTER_DISABLE = BIT(2), CTRL_SPD_SEL = 0x300;
export const CTRL_FRCSPD = BIT(11), CTRL_FRCDPX = BIT(12), CTRL_RST = BIT(26), CTRL_VME = BIT(30), CTRL_PHY_RST = BIT(31);
export const STATUS_FD = BIT(0), STATUS_LU = BIT(1), STATUS_SPEED_10 = 0, STATUS_SPEED_100 = 0x40, STATUS_SPEED_1000 = 0x80;
export const STATUS_PHYRA = BIT(10), STATUS_GIO_MASTER_ENABLE = BIT(19);
export const CTRL_EXT_ASDCHK = BIT(12), CTRL_EXT_EE_RST = BIT(13), CTRL_EXT_SPD_BYPS = BIT(15);
/** EECD bits software cannot change: PRES, AUTO_RD, SIZE_EX. */
export const EECD_RO = BIT(8) | BIT(9) | 0x7800;
export const EERW_START = 1, EERW_DONE = 2, EERW_ADDR_SHIFT = 2, EERW_ADDR_MASK = 0x3fff, EERW_DATA_SHIFT = 16;
export const GCR_RO = BIT(23) | BIT(25) | BIT(26);
/**
 * What a DMA request of the NIC carries: the GCR No Snoop enable bit of its
 * class (receive data, receive descriptor write/read, transmit data,
 * transmit descriptor write/read: E1000_GCR_*_NO_SNOOP, bits 0-5).
 */
export const GCR_RXD_NO_SNOOP = BIT(0), GCR_RXDSCW_NO_SNOOP = BIT(1), GCR_RXDSCR_NO_SNOOP = BIT(2);
export const GCR_TXD_NO_SNOOP = BIT(3), GCR_TXDSCW_NO_SNOOP = BIT(4), GCR_TXDSCR_NO_SNOOP = BIT(5);
export const MDIC_DATA_MASK = 0xffff, MDIC_REG_SHIFT = 16, MDIC_PHY_SHIFT = 21;
export const MDIC_OP_WRITE = BIT(26), MDIC_OP_READ = BIT(27), MDIC_READY = BIT(28), MDIC_INT_EN = BIT(29), MDIC_ERROR = BIT(30);
export const TCTL_EN = BIT(1);
export const RCTL_EN = BIT(1), RCTL_SBP = BIT(2), RCTL_UPE = BIT(3), RCTL_MPE = BIT(4), RCTL_LPE = BIT(5);
export const RCTL_LBM_MAC = BIT(6), RCTL_MO_SHIFT = 12, RCTL_BAM = BIT(15), RCTL_SZ_MASK = 0x30000;
export const RCTL_BSEX = BIT(25), RCTL_SECRC = BIT(26);
export const RXCSUM_IPOFLD = BIT(8), RXCSUM_TUOFLD = BIT(9), RXCSUM_PCSD = BIT(13);
export const RAH_AV = BIT(31);
export const ICR_TXDW = BIT(0), ICR_LSC = BIT(2), ICR_RXDMT0 = BIT(4), ICR_RXO = BIT(6), ICR_MDAC = BIT(9);
export const ICR_ASSERTED = BIT(31);

// Transmit descriptors: the command bits of the lower dword, the status bits of the upper one.
export const TXD_CMD_EOP = BIT(24), TXD_CMD_RS = BIT(27), TXD_CMD_DEXT = BIT(29), TXD_CMD_VLE = BIT(30);
export const TXD_STAT_DD = BIT(0);
// Receive descriptors' status and error bits (the extended descriptor's status_error).
export const RXD_STAT_DD = 0x01, RXD_STAT_EOP = 0x02, RXD_STAT_UDPCS = 0x10, RXD_STAT_TCPCS = 0x20;
export const RXD_STAT_IPCS = 0x40, RXD_STAT_IPIDV = 0x200;
export const RXDEXT_STATERR_TCPE = 0x20000000, RXDEXT_STATERR_IPE = 0x40000000;
