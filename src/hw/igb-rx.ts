// The 82576's receive path as qemu 10's igb runs it (igb_receive_internal,
// igb_receive_assign, igb_write_packet_to_guest) without VMDq: link up and
// RCTL.EN, a frame under 60 bytes padded (RUC counted), the oversize check
// (RCTL.LPE/RLPML), the group filter (broadcast with BAM, UPE/MPE, the 16
// receive addresses of RA and the 16 of RA2, the MTA hash), then queue 0
// (RSS is not modelled). The frame goes into advanced one-buffer
// descriptors (qemu's igb writes no legacy receive descriptor) of 16 bytes:
// packet buffer size from SRRCTL.BSIZEPKT or RCTL, the FCS as four zero
// bytes unless RCTL.SECRC, each descriptor written back with DD, the last
// with EOP, the packet type, the IP ID and the checksum results computed in
// software (RXCSUM.IPOFLD/TUOFLD). Causes: RXDW, RXO when the ring has too
// few buffers, RXDMT0 at the SRRCTL threshold, and the queue's IVAR EICR bit.
// Header split and VLAN stripping are not modelled.
import {
  RCTL_SBP, RCTL_UPE, RCTL_MPE, RCTL_LPE, RCTL_BAM, RCTL_SECRC, RXCSUM_IPOFLD, RXCSUM_TUOFLD, RXCSUM_PCSD,
  ICR_RXO, ICR_RXDMT0, RXD_STAT_DD, RXD_STAT_EOP, RXD_STAT_IPCS, RXD_STAT_TCPCS, RXD_STAT_UDPCS,
  RXD_STAT_IPIDV, RXDEXT_STATERR_IPE, RXDEXT_STATERR_TCPE, GCR_RXD_NO_SNOOP, GCR_RXDSCR_NO_SNOOP,
  GCR_RXDSCW_NO_SNOOP,
} from './e1000x-regs.js';
import {
  G, Q, RXDCTL_QUEUE_ENABLE, SRRCTL_BSIZEPKT_MASK, SRRCTL_BSIZEPKT_SHIFT, ICR_RXDW, ADVRXD_PKT_IP4,
  ADVRXD_PKT_IP6, ADVRXD_PKT_TCP, ADVRXD_PKT_UDP, IGB_NUM_QUEUES,
} from './igb-regs.js';
import { EthPktType, FrameInfo, ethPktType, ip4HeaderValid, l4CsumValid } from './e1000e-frame.js';
import type { IgbCore } from './igb-core.js';
import { inc, updateRxTotalStats } from './e1000x-stats.js';
import { rxBufSize, rxEnabled, raMatch, mtaMatch } from './e1000x-rx.js';

const ix = (off: number) => off >> 2;
const DESC = 16, MIN_FRAME = 60, MTU = 1500;
const RFCTL_IPV6_XSUM_DIS = 1 << 11, RFCTL_IPV6_DIS = 1 << 10;

export class IgbRx {
  private readonly padded = new Uint8Array(MIN_FRAME);
  private readonly desc = new Uint8Array(DESC);
  private readonly info = new FrameInfo();
  private static readonly FCS_PAD = new Uint8Array(4);

  constructor(private readonly core: IgbCore) {}

  private freeDesc(base: number): number {
    const m = this.core.mac, h = m[base + ix(Q.H)]!, t = m[base + ix(Q.T)]!;
    return h <= t ? t - h : m[base + ix(Q.LEN)]! / DESC + t - h;
  }

  private bufSize(base: number): number {
    const m = this.core.mac, pkt = m[base + ix(Q.SRRCTL)]! & SRRCTL_BSIZEPKT_MASK;
    return pkt ? pkt << SRRCTL_BSIZEPKT_SHIFT : rxBufSize(m[ix(G.RCTL)]!);
  }

  private hasBufs(base: number, total: number): boolean {
    return total <= this.freeDesc(base) * this.bufSize(base);
  }

  canReceive(): boolean {
    const m = this.core.mac;
    if (!rxEnabled(m) || !this.core.bus.master()) return false;
    for (let n = 0; n < IGB_NUM_QUEUES; n++) {
      const base = ix(G.RXQ + 0x40 * n);
      if (!(m[base + ix(Q.DCTL)]! & RXDCTL_QUEUE_ENABLE)) continue;
      if (m[base + ix(Q.LEN)]! > 0 && this.hasBufs(base, 1)) return true;
    }
    return false;
  }

  /** A frame arrives (from the wire, or looped back from transmit): its length, or -1 when receive is off. */
  receive(frame: Uint8Array, len: number, _loopback: boolean): number {
    const c = this.core, m = c.mac;
    if (!rxEnabled(m)) return -1;
    const orig = len;
    let f = frame;
    if (len < MIN_FRAME) {
      this.padded.fill(0);
      this.padded.set(frame.subarray(0, len));
      f = this.padded;
      len = MIN_FRAME;
      inc(m, ix(G.RUC));
    }
    if (!this.accept(f, len)) return orig;
    const p = this.info.parse(f, len);
    const fcs = m[ix(G.RCTL)]! & RCTL_SECRC ? 0 : 4;
    let causes = 0, ecauses = 0;
    const n = 0;
    const base = ix(G.RXQ + 0x40 * n);
    if (m[base + ix(Q.DCTL)]! & RXDCTL_QUEUE_ENABLE) {
      if (!this.hasBufs(base, len + fcs)) {
        causes |= ICR_RXO;
      } else {
        causes |= ICR_RXDW;
        this.write(base, f, len, fcs, p);
        if (this.freeDesc(base) === ((m[base + ix(Q.SRRCTL)]! >>> 20) & 31) * 16) causes |= ICR_RXDMT0;
        ecauses |= c.queueEic(n, false);
      }
    }
    c.raise(ix(G.EICR), ecauses);
    c.raise(ix(G.ICR), causes);
    return orig;
  }

  /** igb_receive_assign without VMDq: the oversize check and the group filter. */
  private accept(f: Uint8Array, len: number): boolean {
    const m = this.core.mac, rctl = m[ix(G.RCTL)]!;
    const vlan = ((f[12]! << 8) | f[13]!) === (m[ix(G.VET)]! & 0xffff) ? 1 : 0;
    const lpe = (rctl & RCTL_LPE) !== 0, rlpml = m[ix(G.RLPML)]!;
    if (!(rctl & RCTL_SBP) && (lpe ? len + 4 > rlpml : len > 14 + 4 * vlan + MTU)) return false;
    const type = ethPktType(f);
    if (type === EthPktType.Bcast) { if (rctl & RCTL_BAM) return true; }
    else if (type === EthPktType.Mcast) { if (rctl & RCTL_MPE) return true; }
    else if (rctl & RCTL_UPE) return true;
    return raMatch(m, ix(G.RA), f) || raMatch(m, ix(G.RA2), f) || mtaMatch(m, rctl, f);
  }

  /** igb_write_packet_to_guest: one-buffer advanced descriptors. */
  private write(base: number, f: Uint8Array, size: number, fcs: number, p: FrameInfo): void {
    const c = this.core, m = c.mac, d = this.desc;
    const bufsize = this.bufSize(base), total = size + fcs;
    const ring = (BigInt(m[base + ix(Q.BAH)]!) << 32n) + BigInt(m[base + ix(Q.BAL)]!);
    let offset = 0, descSize = 0;
    do {
      const H = base + ix(Q.H);
      if (m[H] === m[base + ix(Q.T)] || m[base + ix(Q.T)]! >= m[base + ix(Q.LEN)]! / DESC) return;
      const at = ring + BigInt(DESC * m[H]!);
      c.bus.read(at, d, GCR_RXDSCR_NO_SNOOP);
      const ba = BigInt((d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24)) >>> 0)
        | (BigInt((d[4]! | (d[5]! << 8) | (d[6]! << 16) | (d[7]! << 24)) >>> 0) << 32n);
      let written = 0;
      if (ba && offset < size) {
        descSize = Math.min(total - offset, bufsize);
        const copy = Math.min(size - offset, bufsize);
        c.bus.write(ba, f.subarray(offset, offset + copy), GCR_RXD_NO_SNOOP);
        written = copy;
        if (offset + descSize >= total && fcs) {
          const pad = Math.min(fcs, bufsize - copy);
          if (pad > 0) c.bus.write(ba + BigInt(copy), IgbRx.FCS_PAD.subarray(0, pad), GCR_RXD_NO_SNOOP);
          written += Math.max(pad, 0);
        }
      }
      offset += descSize;
      const last = offset >= total;
      this.writeback(d, written, last ? p : undefined, f);
      c.bus.write(at, d, GCR_RXDSCW_NO_SNOOP);
      m[H] = m[H]! + 1;
      if (m[H]! * DESC >= m[base + ix(Q.LEN)]!) m[H] = 0;
    } while (offset < total);
    updateRxTotalStats(m, ethPktType(f), total, size + 4);
  }

  /** igb_write_adv_rx_descr: `p` is the parse on the last descriptor, undefined before. */
  private writeback(d: Uint8Array, length: number, p: FrameInfo | undefined, f: Uint8Array): void {
    const m = this.core.mac;
    d.fill(0);
    d[12] = length & 0xff; d[13] = length >> 8;
    let status = RXD_STAT_DD;
    if (p) {
      status |= RXD_STAT_EOP;
      const rxcsum = m[ix(G.RXCSUM)]!, rfctl = m[ix(G.RFCTL)]!;
      if (!(p.isIp6 && (rfctl & RFCTL_IPV6_XSUM_DIS))) {
        if ((rxcsum & RXCSUM_IPOFLD) && p.isIp4) status |= RXD_STAT_IPCS | (ip4HeaderValid(f, p) ? 0 : RXDEXT_STATERR_IPE);
        const udpNoSum = p.isUdp && p.isIp4 && f[p.l4 + 6] === 0 && f[p.l4 + 7] === 0;
        if ((rxcsum & RXCSUM_TUOFLD) && (p.isTcp || p.isUdp) && !p.fragment && !udpNoSum) {
          status |= RXD_STAT_TCPCS | (l4CsumValid(f, p) ? 0 : RXDEXT_STATERR_TCPE);
          if (p.isUdp) status |= RXD_STAT_UDPCS;
        }
      }
      if (!(rxcsum & RXCSUM_PCSD) && p.isIp4) {
        status |= RXD_STAT_IPIDV;
        d[4] = p.ipId & 0xff; d[5] = p.ipId >> 8;
      }
      let type = p.isIp6 && !(rfctl & RFCTL_IPV6_DIS) ? ADVRXD_PKT_IP6 : p.isIp4 ? ADVRXD_PKT_IP4 : 0;
      if (p.isTcp) type |= ADVRXD_PKT_TCP;
      else if (p.isUdp) type |= ADVRXD_PKT_UDP;
      const info = type << 4;
      d[0] = info & 0xff; d[1] = info >> 8;
    }
    d[8] = status & 0xff; d[9] = (status >>> 8) & 0xff; d[10] = (status >>> 16) & 0xff; d[11] = status >>> 24;
  }
}
