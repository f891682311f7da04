// The 82574L's transmit path as qemu 7.2's e1000e_core.c runs it
// (e1000e_start_xmit, e1000e_process_tx_desc, e1000e_txdesc_writeback): on a
// TDT or TCTL write with TCTL.EN and the queue's TARC.ENABLE, every
// descriptor from TDH to TDT is read by DMA and processed: a context
// descriptor keeps its offload setup, a data or legacy descriptor adds its
// buffer to the frame, EOP sends it; a descriptor with RS (or every one when
// IVAR bit 31 is set) gets DD written back. TDH advances; TXQE is always
// raised, with TXDW (TXQ0/TXQ1 under MSI-X) when something was written back.
//
// Offloads: the context's IP checksum (POPTS.IXSM) and TCP/UDP checksum
// (POPTS.TXSM) are computed in software as qemu does for a peer without a
// virtio-net header; TSO (TSE) is qemu 7.2's: IPv4 fragments (sendTso).
// VLAN insertion (CTRL.VME and the descriptor's VLE) puts the 802.1Q tag
// with VET and the descriptor's special field after the MAC addresses.
// DMA errors are qemu's: a descriptor that cannot be read reads as zeros
// (a zero-length legacy descriptor, which does nothing), a buffer that cannot
// be translated at all gives zeros when it fits a page (qemu's bounce
// buffer), one only partly translatable (or not contiguous) drops the frame,
// a write-back that cannot be written is lost.
import {
  TCTL_EN, ICR_TXDW, CTRL_VME, TXD_CMD_DEXT, TXD_CMD_EOP, TXD_CMD_RS, TXD_CMD_VLE, TXD_STAT_DD,
  GCR_TXD_NO_SNOOP, GCR_TXDSCW_NO_SNOOP, GCR_TXDSCR_NO_SNOOP,
} from './e1000x-regs.js';
import {
  R, ICR_TXQE, ICR_TXQ0, ICR_TXQ1, IVAR_TX_INT_EVERY_WB, TXD_CMD_IDE, TXD_DTYP_D, TXD_CMD_TSE, TXD_POPTS_IXSM,
  TXD_POPTS_TXSM,
} from './e1000e-regs.js';
import { FrameInfo, csumAdd, ethPktType, fillIp4HeaderCsum, fillL4Csum, ETH_HLEN } from './e1000e-frame.js';
import { inc, onTxDoneUpdateStats } from './e1000x-stats.js';

/** The function's DMA as the core uses it (qemu's pci_dma_read / pci_dma_write). */
export interface E1000eBus {
  /** Fill `out` from `addr`; false when the request faulted or went nowhere (then `out` holds zeros). `cls`: its GCR No Snoop bit. */
  read(addr: bigint, out: Uint8Array, cls?: number): boolean;
  /** Write `data` at `addr`; false when the request faulted or went nowhere (nothing was written). */
  write(addr: bigint, data: Uint8Array, cls?: number): boolean;
  /**
   * Map a transmit buffer and copy it into `out` (qemu's pci_dma_map in
   * net_tx_pkt_add_raw_fragment): 'mapped', 'bounce' (zeros: the buffer is
   * not translatable and fits the one-page bounce buffer) or 'failed'.
   */
  mapRead(addr: bigint, out: Uint8Array, cls?: number): 'mapped' | 'bounce' | 'failed';
  /** PCI_COMMAND_MASTER: whether the function may start DMA. */
  master(): boolean;
}

/** A bus with no DMA behind it: reads zeros, drops writes (no bus master, or not connected). */
export const NO_BUS: E1000eBus = {
  read: (_a, out) => { out.fill(0); return false; },
  write: () => false,
  mapRead: (_a, out) => { out.fill(0); return out.length <= 4096 ? 'bounce' : 'failed'; },
  master: () => false,
};

/** What the transmit path needs of the core. */
export interface E1000eTxHost {
  readonly mac: Uint32Array;
  readonly bus: E1000eBus;
  msix(): boolean;
  /** Hand a frame (bytes [0, len) of `frame`, which the receiver must not keep) to the wire. */
  send(frame: Uint8Array, len: number): void;
  /** The end of a transmit pass: its causes, and IDE of the last descriptor written back (TIDV/TADV may delay them). */
  txDone(causes: number, ide: boolean): void;
}

const ix = (off: number) => off >> 2;
/** qemu's E1000E_MAX_TX_FRAGS. */
const MAX_TX_FRAGS = 64;
const DESC_LEN = 16;

/** The offload setup of the last context descriptor (qemu's e1000x_txd_props). */
interface TxProps { ipcss: number; ipcso: number; tucss: number; tucso: number; tse: boolean; mss: number }

/** One transmit queue's registers and frame in progress (qemu's struct e1000e_tx). */
class TxQueue {
  frame = new Uint8Array(16384);
  len = 0;
  frags = 0;
  skip = false;
  sumNeeded = 0;
  cptse = false;
  readonly props: TxProps = { ipcss: 0, ipcso: 0, tucss: 0, tucso: 0, tse: false, mss: 0 };
  constructor(readonly bal: number, readonly bah: number, readonly dlen: number, readonly dh: number, readonly dt: number, readonly tarc: number) {}
  reset(): void { this.len = 0; this.frags = 0; this.skip = false; this.sumNeeded = 0; this.cptse = false; }
}

export class E1000eTx {
  readonly queues: readonly TxQueue[] = [
    new TxQueue(ix(R.TDBAL), ix(R.TDBAH), ix(R.TDLEN), ix(R.TDH), ix(R.TDT), ix(R.TARC0)),
    new TxQueue(ix(R.TDBAL1), ix(R.TDBAH1), ix(R.TDLEN1), ix(R.TDH1), ix(R.TDT1), ix(R.TARC1)),
  ];
  private readonly desc = new Uint8Array(DESC_LEN);
  private readonly dv = new DataView(this.desc.buffer);
  private readonly wb = new Uint8Array(4);
  private readonly wbv = new DataView(this.wb.buffer);
  private readonly info = new FrameInfo();
  /** Where TSO fragments are put together. */
  private frag = new Uint8Array(2048);

  constructor(private readonly host: E1000eTxHost) {}

  /** Drop every frame in progress (a reset). */
  reset(): void { for (const q of this.queues) q.reset(); }

  /** e1000e_start_xmit of queue `n`, when its TARC has ENABLE (qemu's set_tdt and set_tctl check that). */
  startXmit(n: number): void {
    const h = this.host, m = h.mac, q = this.queues[n]!;
    if (!(m[q.tarc]! & (1 << 10))) return;
    if (!(m[ix(R.TCTL)]! & TCTL_EN)) return;
    let cause = ICR_TXQE;
    this.ide = false;
    while (m[q.dh] !== m[q.dt] && m[q.dt]! < m[q.dlen]! / DESC_LEN) {
      const base = ((BigInt(m[q.bah]!) << 32n) + BigInt(m[q.bal]!) + BigInt(DESC_LEN * m[q.dh]!)) & 0xffffffffffffffffn;
      h.bus.read(base, this.desc, GCR_TXDSCR_NO_SNOOP);
      this.process(q, n);
      cause |= this.writeback(base, n);
      m[q.dh] = m[q.dh]! + 1;
      if (m[q.dh]! * DESC_LEN >= m[q.dlen]!) m[q.dh] = 0;
    }
    h.txDone(cause, this.ide);
  }

  /** IDE of the last descriptor written back in this pass (qemu's ide in e1000e_start_xmit). */
  private ide = false;

  /** e1000e_process_tx_desc. */
  private process(q: TxQueue, n: number): void {
    void n;
    const d = this.dv, lower = d.getUint32(8, true), upper = d.getUint32(12, true);
    const dtype = lower & (TXD_CMD_DEXT | TXD_DTYP_D);
    if (dtype === TXD_CMD_DEXT) {
      // Context descriptor: IPCSS, IPCSO, IPCSE, TUCSS, TUCSO, TUCSE, then the command and length, STA, HDRLEN, MSS.
      q.props.ipcss = this.desc[0]!;
      q.props.ipcso = this.desc[1]!;
      q.props.tucss = this.desc[4]!;
      q.props.tucso = this.desc[5]!;
      q.props.tse = (lower & TXD_CMD_TSE) !== 0;
      q.props.mss = d.getUint16(14, true);
      return;
    }
    if (dtype === (TXD_CMD_DEXT | TXD_DTYP_D)) {
      q.sumNeeded = (upper >>> 8) & 0xff;
      q.cptse = (lower & TXD_CMD_TSE) !== 0;
    } else {
      q.cptse = false;
    }
    const split = lower & 0xffff;
    if (!q.skip) q.skip = !this.addFragment(q, d.getBigUint64(0, true), split);
    if (!(lower & TXD_CMD_EOP)) return;
    if (!q.skip && q.len >= ETH_HLEN) {
      if ((this.host.mac[ix(R.CTRL)]! & CTRL_VME) && (lower & TXD_CMD_VLE)) this.insertVlan(q, upper >>> 16);
      if (q.props.tse && q.cptse) this.sendTso(q);
      else {
        this.offload(q);
        this.host.send(q.frame, q.len);
      }
      this.countSent(q);
    }
    q.reset();
  }

  /** net_tx_pkt_add_raw_fragment: at most 64 fragments; a zero-length one adds nothing. */
  private addFragment(q: TxQueue, addr: bigint, len: number): boolean {
    if (q.frags >= MAX_TX_FRAGS) return false;
    if (!len) return true;
    if (q.len + len > q.frame.length) {
      const bigger = new Uint8Array(Math.max(q.frame.length * 2, q.len + len));
      bigger.set(q.frame.subarray(0, q.len));
      q.frame = bigger;
    }
    const dst = q.frame.subarray(q.len, q.len + len);
    if (this.host.bus.mapRead(addr, dst, GCR_TXD_NO_SNOOP) === 'failed') return false;
    q.len += len;
    q.frags++;
    return true;
  }

  /** net_tx_pkt_setup_vlan_header_ex: an 802.1Q tag (VET, then the TCI) after the addresses. */
  private insertVlan(q: TxQueue, tci: number): void {
    if (q.len + 4 > q.frame.length) {
      const bigger = new Uint8Array(q.frame.length + 4);
      bigger.set(q.frame.subarray(0, q.len));
      q.frame = bigger;
    }
    q.frame.copyWithin(16, 12, q.len);
    const vet = this.host.mac[ix(R.VET)]! & 0xffff;
    q.frame[12] = vet >> 8; q.frame[13] = vet & 0xff;
    q.frame[14] = (tci >> 8) & 0xff; q.frame[15] = tci & 0xff;
    q.len += 4;
  }

  /** e1000e_setup_tx_offloads with a peer that takes no virtio-net header: checksums in software, no segmentation. */
  private offload(q: TxQueue): void {
    if (!(q.sumNeeded & (TXD_POPTS_IXSM | TXD_POPTS_TXSM))) return;
    const p = this.info.parse(q.frame, q.len);
    if ((q.sumNeeded & TXD_POPTS_TXSM) && (p.isTcp || p.isUdp) && !p.fragment) fillL4Csum(q.frame, p);
    if ((q.sumNeeded & TXD_POPTS_IXSM) && p.isIp4) fillIp4HeaderCsum(q.frame, p);
  }

  /**
   * TSO as qemu 7.2 does it for a peer without a virtio-net header
   * (net_tx_pkt_do_sw_fragmentation): the TCP checksum over the whole
   * segment, then IPv4 fragments of the MSS rounded down to 8 bytes (DF
   * kept, MF and the offset set, the IP checksum redone), which the
   * receiver reassembles. Anything but TCP over IPv4 goes out whole.
   */
  private sendTso(q: TxQueue): void {
    const f = q.frame;
    let p = this.info.parse(f, q.len);
    inc(this.host.mac, ix(R.TSCTC));
    // The driver leaves the IP total length 0 (Linux does): it is the frame's.
    if (p.isIp4) {
      const total = q.len - p.l3;
      f[p.l3 + 2] = total >> 8; f[p.l3 + 3] = total & 0xff;
      p = this.info.parse(f, q.len);
    }
    if (!p.isIp4 || !p.isTcp || p.fragment) { this.host.send(f, q.len); return; }
    const l3 = p.l3, hl = p.l4 - l3;
    fillL4Csum(f, p);
    fillIp4HeaderCsum(f, p);
    const unit = q.props.mss & ~7, payload = q.len - p.l4;
    if (!unit || payload <= unit) { this.host.send(f, q.len); return; }
    const flags = ((f[l3 + 6]! << 8) | f[l3 + 7]!) & 0x4000;
    if (this.frag.length < p.l4 + unit) this.frag = new Uint8Array(p.l4 + unit);
    const out = this.frag;
    out.set(f.subarray(0, p.l4));
    for (let off = 0; off < payload; off += unit) {
      const n = Math.min(unit, payload - off), more = off + n < payload;
      out.set(f.subarray(p.l4 + off, p.l4 + off + n), p.l4);
      const len = hl + n, ipOff = flags | (more ? 0x2000 : 0) | (off >> 3);
      out[l3 + 2] = len >> 8; out[l3 + 3] = len & 0xff;
      out[l3 + 6] = ipOff >> 8; out[l3 + 7] = ipOff & 0xff;
      out[l3 + 10] = 0; out[l3 + 11] = 0;
      const c = ~csumAdd(out, l3, p.l4) & 0xffff;
      out[l3 + 10] = c >> 8; out[l3 + 11] = c & 0xff;
      this.host.send(out, p.l4 + n);
    }
  }

  /** e1000e_on_tx_done_update_stats: the good-octets counter grows on its own (its reads clear it, TOT's do not). */
  private countSent(q: TxQueue): void {
    onTxDoneUpdateStats(this.host.mac, ethPktType(q.frame), q.len);
  }

  /** e1000e_txdesc_writeback: DD into the upper dword, by DMA; the cause it raises. */
  private writeback(base: bigint, n: number): number {
    const lower = this.dv.getUint32(8, true);
    if (!(lower & TXD_CMD_RS) && !(this.host.mac[ix(R.IVAR)]! & IVAR_TX_INT_EVERY_WB)) return 0;
    this.ide = (lower & TXD_CMD_IDE) !== 0;
    const upper = (this.dv.getUint32(12, true) | TXD_STAT_DD) >>> 0;
    this.wbv.setUint32(0, upper, true);
    this.host.bus.write(base + 12n, this.wb, GCR_TXDSCW_NO_SNOOP);
    if (!this.host.msix()) return ICR_TXDW;
    return n === 0 ? ICR_TXQ0 : ICR_TXQ1;
  }
}
