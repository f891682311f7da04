// What the e1000e's and the igb's receive paths share, as qemu's
// e1000x_common.c has it: the buffer size RCTL gives (e1000x_rxbufsize),
// whether receiving is on at all, and the address half of the group filter
// (e1000x_rx_group_filter; igb_receive_assign looks the same way): a
// destination among the valid receive addresses, or its bit in the
// multicast table.
import { X, STATUS_LU, RCTL_EN, RCTL_BSEX, RCTL_SZ_MASK, RCTL_MO_SHIFT, RAH_AV } from './e1000x-regs.js';

const ix = (off: number) => off >> 2;

/** e1000x_rxbufsize: RCTL.BSIZE with BSEX; anything else is 2048 (the igb's legacy size too). */
export function rxBufSize(rctl: number): number {
  const v = rctl & (RCTL_BSEX | RCTL_SZ_MASK);
  switch (v) {
    case RCTL_BSEX | 0x10000: return 16384;
    case RCTL_BSEX | 0x20000: return 8192;
    case RCTL_BSEX | 0x30000: return 4096;
    case 0x10000: return 1024;
    case 0x20000: return 512;
    case 0x30000: return 256;
  }
  return 2048;
}

/** e1000x_hw_rx_enabled with the link: link up (STATUS.LU) and RCTL.EN. */
export function rxEnabled(m: Uint32Array): boolean {
  return (m[ix(X.STATUS)]! & STATUS_LU) !== 0 && (m[ix(X.RCTL)]! & RCTL_EN) !== 0;
}

/** Whether one of the 16 receive address pairs from register index `ra` is valid (RAH.AV) and the frame's destination. */
export function raMatch(m: Uint32Array, ra: number, f: Uint8Array): boolean {
  const lo = (f[0]! | (f[1]! << 8) | (f[2]! << 16) | (f[3]! << 24)) >>> 0, hi = f[4]! | (f[5]! << 8);
  for (let k = 0; k < 32; k += 2) {
    if ((m[ra + k + 1]! & RAH_AV) && m[ra + k] === lo && (m[ra + k + 1]! & 0xffff) === hi) return true;
  }
  return false;
}

/** The multicast table's bit for the frame's destination: 12 bits of it, where RCTL.MO says. */
export function mtaMatch(m: Uint32Array, rctl: number, f: Uint8Array): boolean {
  const shift = [4, 3, 2, 0][(rctl >>> RCTL_MO_SHIFT) & 3]!;
  const h = (((f[5]! << 8) | f[4]!) >>> shift) & 0xfff;
  return (m[ix(X.MTA) + (h >>> 5)]! & (1 << (h & 31))) !== 0;
}
