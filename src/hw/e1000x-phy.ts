// The PHY as the e1000e's and the igb's MACs reach it, the part qemu
// shares between them (e1000x_common.c, and the MII bits of
// include/hw/net/mii.h): MDIC, the MAC's window on the PHY at address 1;
// the control register's write (reserved bits, self-clearing reset and
// restart, a restart with autonegotiation enabled taking the link down);
// and what the link going down or autonegotiation completing sets in the
// MAC's STATUS and the PHY's registers. Each NIC's PHY says which registers
// read and take writes (e1000e-phy.ts: pages; igb-phy.ts: one page).
import {
  X, STATUS_LU, MDIC_DATA_MASK, MDIC_REG_SHIFT, MDIC_PHY_SHIFT, MDIC_OP_READ, MDIC_OP_WRITE, MDIC_READY, MDIC_ERROR,
} from './e1000x-regs.js';

export const MII_BMCR = 0, MII_BMSR = 1, MII_ANLPAR = 5;
export const BMCR_LOOPBACK = 0x4000, BMCR_AUTOEN = 0x1000, BMCR_ANRESTART = 0x0200, BMCR_RESET = 0x8000;
export const BMSR_LINK_ST = 0x0004, BMSR_AN_COMP = 0x0020, ANLPAR_ACK = 0x4000;
/** qemu's autonegotiation timer: a restart completes this long after (ns). */
export const AUTONEG_NS = 500_000_000;

/** A PHY as MDIC reaches it. */
export interface MdicPhy {
  /** The register's value, or undefined (MDIC.ERROR) for one that does not read. */
  read(reg: number): number | undefined;
  /** Take a write; false (MDIC.ERROR) for a register that takes none. */
  write(reg: number, data: number): boolean;
}

/**
 * set_mdic: what MDIC holds after the write `val` (`old`: what it held).
 * A read brings the register's value, a write goes to the PHY; another PHY
 * address or a register the PHY refuses sets ERROR. The caller raises
 * ICR.MDAC when the result has MDIC.INT_EN.
 */
export function mdicWrite(old: number, val: number, phy: MdicPhy): number {
  const data = val & MDIC_DATA_MASK, reg = (val >>> MDIC_REG_SHIFT) & 0x1f;
  if (((val >>> MDIC_PHY_SHIFT) & 0x1f) !== 1) {
    val = old | MDIC_ERROR;
  } else if (val & MDIC_OP_READ) {
    const v = phy.read(reg);
    val = v === undefined ? val | MDIC_ERROR : (val ^ data) | v;
  } else if (val & MDIC_OP_WRITE) {
    if (!phy.write(reg, data)) val |= MDIC_ERROR;
  }
  return (val | MDIC_READY) >>> 0;
}

/**
 * e1000e_set_phy_ctrl / igb_set_phy_ctrl into `phy` (the page-0 registers):
 * bits 0-5 reserved, RESET and RESTART_AUTO_NEG self-clear; a restart with
 * autonegotiation enabled runs `restartAutoneg`.
 */
export function setPhyCtrl(phy: Uint16Array, data: number, restartAutoneg: (() => void) | undefined): void {
  phy[MII_BMCR] = data & ~(0x3f | BMCR_RESET | BMCR_ANRESTART);
  if ((data & BMCR_ANRESTART) && (phy[MII_BMCR]! & BMCR_AUTOEN)) restartAutoneg?.();
}

/** e1000x_update_regs_on_link_down: STATUS.LU, the PHY's link and autonegotiation-complete bits and the partner's ACK clear. */
export function updateRegsOnLinkDown(mac: Uint32Array, phy: Uint16Array): void {
  mac[X.STATUS >> 2] = (mac[X.STATUS >> 2]! & ~STATUS_LU) >>> 0;
  phy[MII_BMSR] = phy[MII_BMSR]! & ~(BMSR_LINK_ST | BMSR_AN_COMP);
  phy[MII_ANLPAR] = phy[MII_ANLPAR]! & ~ANLPAR_ACK;
}

/** e1000x_update_regs_on_autoneg_done: the link up (STATUS.LU, BMSR), autonegotiation complete, the partner's ACK. */
export function updateRegsOnAutonegDone(mac: Uint32Array, phy: Uint16Array): void {
  mac[X.STATUS >> 2] = (mac[X.STATUS >> 2]! | STATUS_LU) >>> 0;
  phy[MII_BMSR] = phy[MII_BMSR]! | BMSR_LINK_ST | BMSR_AN_COMP;
  phy[MII_ANLPAR] = phy[MII_ANLPAR]! | ANLPAR_ACK;
}
