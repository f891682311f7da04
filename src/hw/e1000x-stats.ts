// The statistics counters as qemu's e1000x_common.c keeps them for the
// e1000e and the igb alike: 32-bit counters that stop at all ones, 64-bit
// octet counters in two registers, the six frame-size buckets, and what a
// frame received or sent adds (broadcast and multicast counted apart).
import { X } from './e1000x-regs.js';
import { EthPktType } from './e1000e-frame.js';

const ix = (off: number) => off >> 2;

/** qemu's e1000x_inc_reg_if_not_full. */
export function inc(m: Uint32Array, i: number): void {
  if (m[i] !== 0xffffffff) m[i] = m[i]! + 1;
}

/** qemu's e1000x_grow_8reg_if_not_full: a 64-bit counter in two registers, saturating. */
export function grow8(m: Uint32Array, i: number, n: number): void {
  const sum = BigInt(m[i]!) + (BigInt(m[i + 1]!) << 32n) + BigInt(n);
  const v = sum > 0xffffffffffffffffn ? 0xffffffffffffffffn : sum;
  m[i] = Number(v & 0xffffffffn);
  m[i + 1] = Number(v >> 32n);
}

/** e1000x_increase_size_stats: the bucket of a `size`-byte frame (64, 65-127, ..., 1024+) from register index `first`. */
export function increaseSizeStats(m: Uint32Array, first: number, size: number): void {
  const b = size > 1023 ? 5 : size > 511 ? 4 : size > 255 ? 3 : size > 127 ? 2 : size > 64 ? 1 : size === 64 ? 0 : -1;
  if (b >= 0) inc(m, first + b);
}

/** e1000x_update_rx_total_stats: a frame of `size` bytes taken, `octets` counted in TOR and GORC. */
export function updateRxTotalStats(m: Uint32Array, type: EthPktType, size: number, octets: number): void {
  increaseSizeStats(m, ix(X.PRC64), size);
  inc(m, ix(X.TPR));
  inc(m, ix(X.GPRC));
  if (type === EthPktType.Bcast) inc(m, ix(X.BPRC));
  else if (type === EthPktType.Mcast) inc(m, ix(X.MPRC));
  grow8(m, ix(X.TORL), octets);
  grow8(m, ix(X.GORCL), octets);
}

/** e1000e_on_tx_done_update_stats and igb's: a frame of `size` bytes sent (the caller says whether with its FCS). */
export function onTxDoneUpdateStats(m: Uint32Array, type: EthPktType, size: number): void {
  increaseSizeStats(m, ix(X.PTC64), size);
  inc(m, ix(X.TPT));
  grow8(m, ix(X.TOTL), size);
  if (type === EthPktType.Bcast) inc(m, ix(X.BPTC));
  else if (type === EthPktType.Mcast) inc(m, ix(X.MPTC));
  inc(m, ix(X.GPTC));
  grow8(m, ix(X.GOTCL), size);
}
