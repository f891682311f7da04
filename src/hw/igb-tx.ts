// The 82576's transmit path as qemu 10's igb runs it (igb_start_xmit,
// igb_process_tx_desc, igb_txdesc_writeback): a TDT write with TCTL.EN and
// the queue's TXDCTL.ENABLE (and VFTE for its pool under VMDq) processes
// every descriptor from TDH to TDT. Advanced context descriptors keep their
// offload setup (two slots, IDX); advanced data descriptors and legacy ones
// (qemu reads both as buffer + length) add their buffer; EOP sends the frame
// with the first data descriptor's offloads (IXSM: IPv4 header checksum;
// TXSM: TCP/UDP checksum, in software as qemu does without a virtio-net
// peer; VLE: the context's VLAN tag inserted with VET). A descriptor with RS
// is written back: the whole descriptor with DD set in its status, or TDH to
// the head write-back address when TDWBAL bit 0 is set; its queue's IVAR
// entry then names the EICR bit to raise, with ICR.TXDW. Frames leave on the
// wire, or come back to the receive side when RCTL.LBM is MAC loopback or
// PHY BMCR has loopback. TSO (TSE) is not modelled: such a frame is sent as
// one frame without segmentation.
import {
  TCTL_EN, TXD_CMD_DEXT, TXD_CMD_EOP, TXD_CMD_RS, TXD_CMD_VLE, TXD_STAT_DD, ICR_TXDW, RCTL_LBM_MAC,
  GCR_TXD_NO_SNOOP, GCR_TXDSCW_NO_SNOOP, GCR_TXDSCR_NO_SNOOP,
} from './e1000x-regs.js';
import {
  G, Q, TXDCTL_QUEUE_ENABLE, ADVTXD_DTYP_CTXT, ADVTXD_DTYP_DATA, ADVTXD_POTS_IXSM, ADVTXD_POTS_TXSM,
  IGB_NUM_QUEUES,
} from './igb-regs.js';
import { FrameInfo, ethPktType, fillIp4HeaderCsum, fillL4Csum, ETH_HLEN } from './e1000e-frame.js';
import type { IgbCore } from './igb-core.js';
import { onTxDoneUpdateStats } from './e1000x-stats.js';
import { BMCR_LOOPBACK, MII_BMCR } from './e1000x-phy.js';

const ix = (off: number) => off >> 2;
const DESC = 16, MAX_FRAGS = 64, MAX_FRAME = 0x10000 + 64;
const le32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/** One queue's frame in the making (qemu's struct igb_tx). */
class TxState {
  readonly ctx = [new Uint32Array(4), new Uint32Array(4)];
  firstCmd = 0;
  firstOlinfo = 0;
  first = true;
  skipCp = false;
  len = 0;
  frags = 0;
}

export class IgbTx {
  private readonly q = Array.from({ length: IGB_NUM_QUEUES }, () => new TxState());
  private readonly desc = new Uint8Array(DESC);
  private readonly frame = new Uint8Array(MAX_FRAME);
  private readonly info = new FrameInfo();

  constructor(private readonly core: IgbCore) {}

  reset(): void {
    for (const t of this.q) {
      t.ctx[0]!.fill(0); t.ctx[1]!.fill(0);
      t.first = true; t.skipCp = false; t.len = 0; t.frags = 0;
    }
  }

  startXmit(n: number): void {
    const c = this.core, m = c.mac, base = ix(G.TXQ + 0x40 * n);
    const vmdq = (m[ix(G.MRQC)]! & 1) !== 0;
    if (!(m[ix(G.TCTL)]! & TCTL_EN) || (vmdq && !(m[ix(G.VFTE)]! & (1 << (n % 8))))
      || !(m[base + ix(Q.DCTL)]! & TXDCTL_QUEUE_ENABLE)) return;
    const H = base + ix(Q.H), T = base + ix(Q.T), LEN = base + ix(Q.LEN);
    const ring = (BigInt(m[base + ix(Q.BAH)]!) << 32n) + BigInt(m[base + ix(Q.BAL)]!);
    let eic = 0;
    while (m[H] !== m[T] && m[T]! < m[LEN]! / DESC) {
      const at = ring + BigInt(DESC * m[H]!);
      c.bus.read(at, this.desc, GCR_TXDSCR_NO_SNOOP);
      this.process(n, this.desc);
      m[H] = m[H]! + 1;
      if (m[H]! * DESC >= m[LEN]!) m[H] = 0;
      eic |= this.writeback(n, at, this.desc);
    }
    if (eic) {
      c.raise(ix(G.EICR), eic);
      c.raise(ix(G.ICR), ICR_TXDW);
    }
    const t = this.q[n]!;
    t.len = 0; t.frags = 0;
  }

  private process(n: number, d: Uint8Array): void {
    const t = this.q[n]!;
    const cmd = le32(d, 8);
    if (cmd & TXD_CMD_DEXT) {
      if ((cmd & ADVTXD_DTYP_DATA) === ADVTXD_DTYP_DATA) {
        if (t.first) { t.firstCmd = cmd; t.firstOlinfo = le32(d, 12); t.first = false; }
      } else if ((cmd & ADVTXD_DTYP_CTXT) === ADVTXD_DTYP_CTXT) {
        const ctx = t.ctx[(le32(d, 12) >>> 4) & 1]!;
        for (let k = 0; k < 4; k++) ctx[k] = le32(d, 4 * k);
        return;
      } else {
        return;
      }
    }
    const addr = BigInt(le32(d, 0)) | (BigInt(le32(d, 4)) << 32n);
    const length = cmd & 0xffff;
    if (!t.skipCp && length) {
      if (t.frags >= MAX_FRAGS || t.len + length > MAX_FRAME) t.skipCp = true;
      else {
        const r = this.core.bus.mapRead(addr, this.frame.subarray(t.len, t.len + length), GCR_TXD_NO_SNOOP);
        if (r === 'failed') t.skipCp = true;
        else { t.len += length; t.frags++; }
      }
    }
    if (cmd & TXD_CMD_EOP) {
      if (!t.skipCp && t.len >= ETH_HLEN) this.send(n, t);
      t.first = true; t.skipCp = false; t.len = 0; t.frags = 0;
    }
  }

  private send(n: number, t: TxState): void {
    const c = this.core, m = c.mac;
    let f = this.frame, len = t.len;
    const ctx = t.ctx[(t.firstOlinfo >>> 4) & 1]!;
    if (t.firstCmd & TXD_CMD_VLE) {
      // Insert the 802.1Q tag after the addresses.
      f.copyWithin(16, 12, len);
      const tpid = m[ix(G.VET)]! & 0xffff, tci = ctx[0]! >>> 16;
      f[12] = tpid >> 8; f[13] = tpid & 0xff; f[14] = tci >> 8; f[15] = tci & 0xff;
      len += 4;
    }
    const p = this.info.parse(f, len);
    if ((t.firstOlinfo & ADVTXD_POTS_TXSM) && (p.isTcp || p.isUdp) && !p.fragment) fillL4Csum(f, p);
    if ((t.firstOlinfo & ADVTXD_POTS_IXSM) && p.isIp4) fillIp4HeaderCsum(f, p);
    const loop = (c.phy.regs[MII_BMCR]! & BMCR_LOOPBACK) !== 0 || (m[ix(G.RCTL)]! & 0xc0) === RCTL_LBM_MAC;
    const type = ethPktType(f);
    c.send(f, len, loop);
    // igb_on_tx_done_update_stats: sizes count the FCS.
    onTxDoneUpdateStats(m, type, len + 4);
  }

  private writeback(n: number, at: bigint, d: Uint8Array): number {
    const c = this.core, m = c.mac, base = ix(G.TXQ + 0x40 * n);
    if (!(le32(d, 8) & TXD_CMD_RS)) return 0;
    const wb = (BigInt(m[base + ix(Q.WBAH)]!) << 32n) | BigInt(m[base + ix(Q.WBAL)]!);
    if (wb & 1n) {
      const h = m[base + ix(Q.H)]!;
      c.bus.write(wb & ~3n, Uint8Array.of(h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, h >>> 24), GCR_TXDSCW_NO_SNOOP);
    } else {
      d[12] = d[12]! | TXD_STAT_DD;
      c.bus.write(at, d, GCR_TXDSCW_NO_SNOOP);
    }
    return c.queueEic(n, true);
  }
}
