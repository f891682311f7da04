// The MAC registers the e1000e's and the igb's cores handle alike (qemu's
// e1000x_common.c and the two cores' identical handlers): receive address 0
// from the permanent MAC, STATUS as a read computes it from CTRL, and a
// CTRL write (RST and PHY_RST).
import {
  X, CTRL_FD, CTRL_FRCDPX, CTRL_FRCSPD, CTRL_SPD_SEL, CTRL_GIO_MASTER_DISABLE, CTRL_RST, CTRL_PHY_RST,
  CTRL_EXT_SPD_BYPS, STATUS_FD, STATUS_PHYRA, STATUS_SPEED_10, STATUS_SPEED_100, STATUS_SPEED_1000,
  STATUS_GIO_MASTER_ENABLE, RAH_AV,
} from './e1000x-regs.js';

const ix = (off: number) => off >> 2;

/** e1000x_reset_mac_addr: receive address 0 is the permanent MAC, address valid. */
export function resetMacAddr(m: Uint32Array, mac: readonly number[]): void {
  m[ix(X.RA)] = (mac[0]! | (mac[1]! << 8) | (mac[2]! << 16) | (mac[3]! << 24)) >>> 0;
  m[ix(X.RA) + 1] = (mac[4]! | (mac[5]! << 8) | RAH_AV) >>> 0;
}

/** mac_read_status: STATUS with duplex and speed as CTRL forces them (or full, 1000), and GIO master enable. */
export function readStatus(m: Uint32Array): number {
  const ctrl = m[ix(X.CTRL)]!;
  let v = m[ix(X.STATUS)]!;
  if (!(ctrl & CTRL_GIO_MASTER_DISABLE)) v |= STATUS_GIO_MASTER_ENABLE;
  if (ctrl & CTRL_FRCDPX) v |= (ctrl & CTRL_FD) ? STATUS_FD : 0;
  else v |= STATUS_FD;
  if ((ctrl & CTRL_FRCSPD) || (m[ix(X.CTRL_EXT)]! & CTRL_EXT_SPD_BYPS)) {
    const spd = ctrl & CTRL_SPD_SEL;
    v |= spd === 0 ? STATUS_SPEED_10 : spd === 0x100 ? STATUS_SPEED_100 : STATUS_SPEED_1000;
  } else {
    v |= STATUS_SPEED_1000;
  }
  return v >>> 0;
}

/** set_ctrl: CTRL and CTRL_DUP take the value, RST self-clearing after `reset`; PHY_RST sets STATUS.PHYRA. */
export function writeCtrl(m: Uint32Array, val: number, reset: () => void): void {
  m[ix(X.CTRL)] = (val & ~CTRL_RST) >>> 0;
  m[ix(X.CTRL_DUP)] = m[ix(X.CTRL)]!;
  if (val & CTRL_RST) reset();
  if (val & CTRL_PHY_RST) m[ix(X.STATUS)] = (m[ix(X.STATUS)]! | STATUS_PHYRA) >>> 0;
}
