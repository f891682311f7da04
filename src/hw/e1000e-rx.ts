// The 82574L's receive path as qemu 7.2's e1000e_core.c runs it
// (e1000e_can_receive, e1000e_receive_iov, e1000e_write_packet_to_guest):
// a frame from the wire is padded to 60 bytes, dropped when oversized or
// when no filter takes it (our addresses in RA, UPE, broadcast with BAM,
// MPE, the multicast table), then written by DMA into the buffers of the
// descriptors from RDH on, each descriptor written back with its length and
// status (DD, EOP on the last, and on extended descriptors the packet type,
// the IP ID and the checksum results), RDH advanced, the counters updated
// and RXT0 (+RXDMT0 at the threshold; RXQ0/RXQ1 under MSI-X) raised. When
// the ring has no room for the frame, RXO is raised and the frame waits on
// the wire (qemu queues it and retries when RDT or RCTL is written).
//
// Descriptor formats follow RCTL and RFCTL as they were when RCTL was last
// written with EN (qemu computes them there): legacy (RFCTL.EXTEN clear),
// extended, or packet split (RCTL.DTYP); packet split spreads the frame over
// the descriptor's buffers without splitting off the header. With CTRL.VME
// an 802.1Q tag is stripped (status VP; the TCI in an extended descriptor's
// VLAN field, while qemu 7.2 leaves a legacy one's special field 0). RSS
// (MRQC, extended descriptors, PCSD) picks the queue and fills MRQ and RSS.
// DMA errors are qemu's: a descriptor that cannot be read reads as zeros
// (a null buffer address: the descriptor is written back with DD and
// skipped), buffer and write-back writes that fault are lost.
import {
  RCTL_EN, RCTL_SBP, RCTL_UPE, RCTL_MPE, RCTL_LPE, RCTL_BAM, RCTL_SECRC, RXCSUM_IPOFLD, RXCSUM_TUOFLD,
  RXCSUM_PCSD, ICR_RXO, ICR_RXDMT0, RXD_STAT_DD, RXD_STAT_EOP, RXD_STAT_IPIDV, RXD_STAT_IPCS, RXD_STAT_TCPCS,
  RXD_STAT_UDPCS, RXDEXT_STATERR_IPE, RXDEXT_STATERR_TCPE, CTRL_VME, GCR_RXD_NO_SNOOP, GCR_RXDSCR_NO_SNOOP,
  GCR_RXDSCW_NO_SNOOP,
} from './e1000x-regs.js';
import {
  R, RCTL_VFE, RCTL_DTYP_MASK, RCTL_DTYP_PS, RCTL_FLXBUF_MASK, RCTL_FLXBUF_SHIFT, RFCTL_EXTEN, ICR_RXT0,
  ICR_RXQ0, ICR_RXQ1, ICR_SRPD, ICR_ACK, RXD_STAT_ACK, RXD_PKT_MAC, RXD_PKT_IP4, RXD_PKT_IP4_XDP, RXD_PKT_IP6,
  RXD_PKT_IP6_XDP, RXD_STAT_VP,
} from './e1000e-regs.js';
import { EthPktType, FrameInfo, ethPktType, ip4HeaderValid, l4CsumValid } from './e1000e-frame.js';
import { type E1000eBus } from './e1000e-tx.js';
import { inc, updateRxTotalStats } from './e1000x-stats.js';
import { rxBufSize, rxEnabled, raMatch, mtaMatch } from './e1000x-rx.js';

/** What the receive path needs of the core. */
export interface E1000eRxHost {
  readonly mac: Uint32Array;
  readonly bus: E1000eBus;
  msix(): boolean;
  /** The end of a receive: its causes (RDTR/RADV/RAID may delay them). */
  rxDone(causes: number): void;
}

const ix = (off: number) => off >> 2;
const MIN_DESC = 16;
/** Min. octets of a frame without FCS; the FCS. */
const MIN_FRAME = 60, FCS = 4;
const MAX_PS_BUFFERS = 4;
const RFCTL_ACK_DIS = 1 << 12, RFCTL_ACK_DATA_DIS = 1 << 13, RFCTL_IPV6_DIS = 1 << 10, RFCTL_IPV6_XSUM_DIS = 1 << 11;
const PSRCTL_BSIZE0 = 0x7f, PSRCTL_BSIZE1 = 0x3f00, PSRCTL_BSIZE2 = 0x3f0000, PSRCTL_BSIZE3 = 0x3f000000;

interface RxRing { bal: number; bah: number; dlen: number; dh: number; dt: number; idx: number }
const RINGS: readonly RxRing[] = [
  { bal: ix(R.RDBAL0), bah: ix(R.RDBAH0), dlen: ix(R.RDLEN0), dh: ix(R.RDH0), dt: ix(R.RDT0), idx: 0 },
  { bal: ix(R.RDBAL1), bah: ix(R.RDBAH1), dlen: ix(R.RDLEN1), dh: ix(R.RDH1), dt: ix(R.RDT1), idx: 1 },
];

export class E1000eRx {
  /** What RCTL (with EN) last set up: descriptor length, buffer sizes, the RDMTS shift. */
  private descLen = 16;
  private readonly bufSizes = [2048, 0, 0, 0];
  private descBufSize = 2048;
  private minShift = 1 + 4;
  private readonly desc = new Uint8Array(32);
  private readonly dv = new DataView(this.desc.buffer);
  private readonly padded = new Uint8Array(MIN_FRAME);
  /** The frame without its VLAN tag, and the tag's TCI (-1: none stripped). */
  private stripped = new Uint8Array(2048);
  private vlan = -1;
  private readonly zeros = new Uint8Array(FCS);
  private readonly info = new FrameInfo();
  private readonly addrs = new Array<bigint>(MAX_PS_BUFFERS).fill(0n);
  private readonly written = [0, 0, 0, 0];
  private cur = 0;

  constructor(private readonly host: E1000eRxHost) {}

  private get legacy(): boolean { return !(this.host.mac[ix(R.RFCTL)]! & RFCTL_EXTEN); }

  /** e1000e_set_rx_control: with EN, the buffer sizes, the descriptor length and the threshold shift. */
  setRctl(val: number): void {
    const m = this.host.mac;
    m[ix(R.RCTL)] = val >>> 0;
    if (!(val & RCTL_EN)) return;
    const b = this.bufSizes;
    b.fill(0);
    if (val & RCTL_DTYP_MASK) {
      const ps = m[ix(R.PSRCTL)]!;
      b[0] = (ps & PSRCTL_BSIZE0) * 128;
      b[1] = ((ps & PSRCTL_BSIZE1) >>> 8) * 1024;
      b[2] = ((ps & PSRCTL_BSIZE2) >>> 16) * 1024;
      b[3] = ((ps & PSRCTL_BSIZE3) >>> 24) * 1024;
    } else if (val & RCTL_FLXBUF_MASK) {
      b[0] = ((val & RCTL_FLXBUF_MASK) >>> RCTL_FLXBUF_SHIFT) * 1024;
    } else {
      b[0] = rxBufSize(val);
    }
    this.descBufSize = b[0]! + b[1]! + b[2]! + b[3]!;
    this.descLen = this.legacy ? 16 : (val & RCTL_DTYP_PS) ? 32 : 16;
    this.minShift = ((val >>> 8) & 3) + 1 + 4;
  }

  private fcsLen(): number { return (this.host.mac[ix(R.RCTL)]! & RCTL_SECRC) ? 0 : FCS; }

  private freeDescs(r: RxRing): number {
    const m = this.host.mac, h = m[r.dh]!, t = m[r.dt]!;
    return h <= t ? t - h : m[r.dlen]! / MIN_DESC + t - h;
  }

  private hasRxBufs(r: RxRing, total: number): boolean {
    return total <= Math.floor(this.freeDescs(r) / (this.descLen / MIN_DESC)) * this.descBufSize;
  }

  private ringEmpty(r: RxRing): boolean {
    const m = this.host.mac;
    return m[r.dh] === m[r.dt] || m[r.dt]! >= m[r.dlen]! / MIN_DESC;
  }

  /** e1000e_can_receive: link up, RCTL.EN, bus mastering, and a ring with room for something. */
  canReceive(): boolean {
    const m = this.host.mac;
    if (!rxEnabled(m) || !this.host.bus.master()) return false;
    return RINGS.some((r) => m[r.dlen]! > 0 && this.hasRxBufs(r, 1));
  }

  /**
   * e1000e_receive_iov: take bytes [0, len) of `frame`. Returns qemu's
   * answer: the length (taken or dropped), 0 (no room: keep it and retry
   * later) or -1 (receive disabled: dropped).
   */
  receive(frame: Uint8Array, len: number): number {
    const m = this.host.mac;
    if (!rxEnabled(m)) return -1;
    let f = frame, size = len;
    if (size < MIN_FRAME) {
      this.padded.fill(0);
      this.padded.set(frame.subarray(0, size));
      inc(m, ix(R.RUC));
      f = this.padded;
      size = MIN_FRAME;
    }
    const rctl = m[ix(R.RCTL)]!;
    if ((size > 16384 - FCS || (size > 14 + 4 + 1500 && !(rctl & RCTL_LPE))) && !(rctl & RCTL_SBP)) {
      inc(m, ix(R.ROC));
      return len;
    }
    const type = ethPktType(f);
    if (!this.filter(f, type)) return len;
    // net_rx_pkt_attach_iovec_ex: with CTRL.VME an 802.1Q tag (VET) is taken out of the frame.
    this.vlan = -1;
    if ((m[ix(R.CTRL)]! & CTRL_VME) && size >= 18 && ((f[12]! << 8) | f[13]!) === (m[ix(R.VET)]! & 0xffff)) {
      if (this.stripped.length < size - 4) this.stripped = new Uint8Array(size);
      this.vlan = (f[14]! << 8) | f[15]!;
      this.stripped.set(f.subarray(0, 12));
      this.stripped.set(f.subarray(16, size), 12);
      f = this.stripped;
      size -= 4;
    }
    const p = this.info.parse(f, size);
    this.rss(f, p);
    const ring = RINGS[this.rssQueue]!;
    const total = size + this.fcsLen();
    let n = 0, ret: number;
    if (this.hasRxBufs(ring, total)) {
      this.writeToGuest(f, size, total, type, p, ring);
      ret = len;
      if (total < m[ix(R.RSRPD)]!) n |= ICR_SRPD;
      if (!(m[ix(R.RFCTL)]! & RFCTL_ACK_DIS) && this.isTcpAck(f, p)) n |= ICR_ACK;
      const hit = this.freeDescs(ring) === m[ring.dlen]! >>> this.minShift;
      n |= this.host.msix() ? (ring.idx === 0 ? ICR_RXQ0 : ICR_RXQ1) : ICR_RXT0 | (hit ? ICR_RXDMT0 : 0);
    } else {
      n |= ICR_RXO;
      ret = 0;
    }
    this.host.rxDone(n);
    return ret;
  }

  /** e1000e_receive_filter with e1000x_rx_group_filter. */
  private filter(f: Uint8Array, type: EthPktType): boolean {
    const m = this.host.mac, rctl = m[ix(R.RCTL)]!;
    if (((f[12]! << 8) | f[13]!) === (m[ix(R.VET)]! & 0xffff) && (m[ix(R.CTRL)]! & CTRL_VME) && (rctl & RCTL_VFE)) {
      const vid = ((f[14]! << 8) | f[15]!) & 0xfff;
      if (!(m[ix(R.VFTA) + (vid >>> 5)]! & (1 << (vid & 0x1f)))) return false;
    }
    if (type === EthPktType.Ucast && (rctl & RCTL_UPE)) return true;
    if (type === EthPktType.Bcast && (rctl & RCTL_BAM)) return true;
    if (type === EthPktType.Mcast && (rctl & RCTL_MPE)) return true;
    return raMatch(m, ix(R.RA), f) || mtaMatch(m, rctl, f);
  }

  private isTcpAck(f: Uint8Array, p: FrameInfo): boolean {
    void f;
    if (!p.isTcp || !(p.tcpFlags & 0x10)) return false;
    if (this.host.mac[ix(R.RFCTL)]! & RFCTL_ACK_DATA_DIS) return !p.tcpHasData;
    return true;
  }

  /** e1000e_write_packet_to_guest (without packet-split header splitting). */
  private writeToGuest(f: Uint8Array, size: number, total: number, type: EthPktType, p: FrameInfo, r: RxRing): void {
    const h = this.host, m = h.mac, fcs = total - size;
    let offset = 0;
    do {
      const descSize = Math.min(total - offset, this.descBufSize);
      if (this.ringEmpty(r)) return;
      const base = ((BigInt(m[r.bah]!) << 32n) + BigInt(m[r.bal]!) + BigInt(MIN_DESC * m[r.dh]!)) & 0xffffffffffffffffn;
      const desc = this.desc.subarray(0, this.descLen);
      h.bus.read(base, desc, GCR_RXDSCR_NO_SNOOP);
      this.readAddrs();
      this.written.fill(0);
      this.cur = 0;
      let last = false;
      if (this.addrs[0]) {
        if (offset < size) {
          const copy = Math.min(size - offset, this.descBufSize);
          this.toBuffers(f.subarray(offset, offset + copy));
          if (offset + descSize >= total) this.toBuffers(this.zeros.subarray(0, fcs));
        }
        offset += descSize;
        if (offset >= total) last = true;
      }
      this.writeDesc(last ? p : undefined, f);
      h.bus.write(base, desc, GCR_RXDSCW_NO_SNOOP);
      m[r.dh] = m[r.dh]! + this.descLen / MIN_DESC;
      if (m[r.dh]! * MIN_DESC >= m[r.dlen]!) m[r.dh] = 0;
    } while (offset < total);
    // e1000e_update_rx_stats: octets counted with the FCS whether or not it was stripped.
    updateRxTotalStats(m, type, total, size + FCS);
  }

  private readAddrs(): void {
    const d = this.dv;
    this.addrs[0] = d.getBigUint64(0, true);
    const ps = !this.legacy && (this.host.mac[ix(R.RCTL)]! & RCTL_DTYP_PS);
    for (let i = 1; i < MAX_PS_BUFFERS; i++) this.addrs[i] = ps ? d.getBigUint64(8 * i, true) : 0n;
  }

  /** e1000e_write_to_rx_buffers: fill the descriptor's buffers in order. */
  private toBuffers(data: Uint8Array): void {
    let off = 0;
    while (off < data.length && this.cur < MAX_PS_BUFFERS) {
      const room = this.bufSizes[this.cur]! - this.written[this.cur]!;
      const n = Math.min(data.length - off, room);
      if (n > 0) this.host.bus.write(this.addrs[this.cur]! + BigInt(this.written[this.cur]!), data.subarray(off, off + n), GCR_RXD_NO_SNOOP);
      this.written[this.cur] = this.written[this.cur]! + n;
      off += n;
      if (this.written[this.cur] === this.bufSizes[this.cur]) this.cur++;
    }
  }

  /** e1000e_write_rx_descr: the write-back format of the descriptor type in use. */
  private writeDesc(p: FrameInfo | undefined, f: Uint8Array): void {
    const d = this.dv;
    const { status, ipId } = this.metadata(p, f);
    if (this.legacy) {
      d.setUint16(8, this.written[0]!, true);
      d.setUint16(10, 0, true);
      d.setUint8(12, status & 0xff);
      d.setUint8(13, status >>> 24);
      d.setUint16(14, 0, true);
      return;
    }
    this.desc.fill(0, 0, this.descLen);
    d.setUint16(4, ipId, true);
    if (p && this.rssOn) { d.setUint32(0, this.rssType | (this.rssQueue << 8), true); d.setUint32(4, this.rssHash, true); }
    d.setUint32(8, status, true);
    if (p && this.vlan >= 0) d.setUint16(14, this.vlan, true);
    if (this.descLen === 16) {
      d.setUint16(12, this.written[0]!, true);
    } else {
      d.setUint16(12, this.written[0]!, true);
      for (let i = 0; i < 3; i++) d.setUint16(18 + 2 * i, this.written[i + 1]!, true);
    }
  }

  /** What e1000e_rss_parse_packet decided for the frame being received. */
  private rssOn = false;
  private rssType = 0;
  private rssHash = 0;
  private rssQueue = 0;
  private readonly rssIn = new Uint8Array(36);
  private readonly key = new Uint8Array(40);

  /**
   * e1000e_rss_parse_packet: with MRQC's RSS on, RXCSUM.PCSD and extended
   * descriptors, the type (TCP/IPv4, IPv4, TCP/IPv6, IPv6; IPv6 extension
   * headers are not parsed), the Toeplitz hash with RSSRK over the addresses
   * (and ports), and the queue from RETA.
   */
  private rss(f: Uint8Array, p: FrameInfo): void {
    const m = this.host.mac, mrqc = m[ix(R.MRQC)]!;
    this.rssOn = (mrqc & 3) === 1 && (m[ix(R.RXCSUM)]! & RXCSUM_PCSD) !== 0 && !this.legacy;
    this.rssType = this.rssHash = this.rssQueue = 0;
    if (!this.rssOn) return;
    let type = 0;
    if (p.isIp4) {
      if (!p.fragment && p.isTcp && (mrqc & (1 << 16))) type = 1;
      else if (mrqc & (1 << 17)) type = 2;
    } else if (p.isIp6) {
      if (p.isTcp && (mrqc & (1 << 18))) type = 3;
      else if (mrqc & (1 << 19)) type = 4;
      else if (mrqc & (1 << 20)) type = 5;
    }
    this.rssType = type;
    if (!type) return;
    const inp = this.rssIn;
    let n: number;
    if (p.isIp4) { inp.set(f.subarray(p.l3 + 12, p.l3 + 20)); n = 8; } else { inp.set(f.subarray(p.l3 + 8, p.l3 + 40)); n = 32; }
    if (type === 1 || type === 3) { inp.set(f.subarray(p.l4, p.l4 + 4), n); n += 4; }
    for (let i = 0; i < 10; i++) {
      const k = m[ix(R.RSSRK) + i]!;
      this.key[4 * i] = k & 0xff; this.key[4 * i + 1] = (k >>> 8) & 0xff; this.key[4 * i + 2] = (k >>> 16) & 0xff; this.key[4 * i + 3] = k >>> 24;
    }
    this.rssHash = toeplitz(inp, n, this.key);
    const reta = m[ix(R.RETA) + ((this.rssHash & 0x7f) >>> 2)]!;
    this.rssQueue = ((reta >>> (8 * (this.rssHash & 3))) & 0x80) >>> 7;
  }

  /** e1000e_build_rx_metadata: DD, and for the last descriptor EOP and what the frame's parse gives. */
  private readonly meta = { status: 0, ipId: 0 };
  private metadata(p: FrameInfo | undefined, f: Uint8Array): { status: number; ipId: number } {
    const out = this.meta, m = this.host.mac;
    out.status = RXD_STAT_DD;
    out.ipId = 0;
    if (!p) return out;
    let s = RXD_STAT_DD | RXD_STAT_EOP | (this.vlan >= 0 ? RXD_STAT_VP : 0);
    const rxcsum = m[ix(R.RXCSUM)]!, rfctl = m[ix(R.RFCTL)]!;
    if (!(rxcsum & RXCSUM_PCSD) && p.isIp4) { s |= RXD_STAT_IPIDV; out.ipId = p.ipId; }
    if (p.isTcp && this.isTcpAck(f, p)) s |= RXD_STAT_ACK;
    let type = RXD_PKT_MAC;
    if (p.isIp6 && (rfctl & RFCTL_IPV6_DIS)) type = RXD_PKT_MAC;
    else if (p.isTcp || p.isUdp) type = p.isIp4 ? RXD_PKT_IP4_XDP : RXD_PKT_IP6_XDP;
    else if (p.isIp4 || p.isIp6) type = p.isIp4 ? RXD_PKT_IP4 : RXD_PKT_IP6;
    s |= type << 16;
    if (!(p.isIp6 && (rfctl & RFCTL_IPV6_XSUM_DIS))) {
      if ((rxcsum & RXCSUM_IPOFLD) && p.isIp4) s |= RXD_STAT_IPCS | (ip4HeaderValid(f, p) ? 0 : RXDEXT_STATERR_IPE);
      const udpNoSum = p.isUdp && f[p.l4 + 6] === 0 && f[p.l4 + 7] === 0;
      if ((rxcsum & RXCSUM_TUOFLD) && (p.isTcp || p.isUdp) && !udpNoSum && !p.fragment) {
        const err = l4CsumValid(f, p) ? 0 : RXDEXT_STATERR_TCPE;
        s |= p.isTcp ? RXD_STAT_TCPCS | err : RXD_STAT_TCPCS | RXD_STAT_UDPCS | err;
      }
    }
    out.status = s >>> 0;
    return out;
  }
}

/** The Toeplitz hash of input[0, n) with `key` (qemu's net_toeplitz_add). */
function toeplitz(input: Uint8Array, n: number, key: Uint8Array): number {
  let result = 0;
  let v = ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
  for (let i = 0; i < n; i++) {
    for (let b = 7; b >= 0; b--) {
      if ((input[i]! >> b) & 1) result = (result ^ v) >>> 0;
      v = ((v << 1) | ((key[i + 4]! >> b) & 1)) >>> 0;
    }
  }
  return result;
}

