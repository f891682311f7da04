// What the e1000e's offloads need to know about an Ethernet frame, found the
// way qemu's net_tx_pkt / net_rx_pkt parse one (net/eth.c): one optional
// 802.1Q tag, IPv4 (fragments recognised) or IPv6 (the fixed header only),
// then TCP or UDP; and the Internet checksum over byte ranges.

export const ETH_HLEN = 14;
export const ETH_P_IP = 0x0800, ETH_P_IPV6 = 0x86dd, ETH_P_VLAN = 0x8100;
const IPPROTO_TCP = 6, IPPROTO_UDP = 17;

/** How a frame is addressed (qemu's eth_pkt_types_e). */
export const enum EthPktType { Ucast, Bcast, Mcast }

export function ethPktType(f: Uint8Array): EthPktType {
  if (f[0]! === 0xff && f[1]! === 0xff && f[2]! === 0xff && f[3]! === 0xff && f[4]! === 0xff && f[5]! === 0xff) return EthPktType.Bcast;
  return (f[0]! & 1) ? EthPktType.Mcast : EthPktType.Ucast;
}

/** The parse of one frame; reused from frame to frame (no allocation per frame). */
export class FrameInfo {
  isIp4 = false;
  isIp6 = false;
  isTcp = false;
  isUdp = false;
  /** An IPv4 fragment (MF set or a non-zero offset). */
  fragment = false;
  /** Offsets of the L3 and L4 headers (l4 0: none). */
  l3 = 0;
  l4 = 0;
  /** Where the L3 payload ends (the IP total or payload length, bounded by the frame). */
  l3End = 0;
  ipId = 0;
  /** The TCP flags byte and whether the segment carries data: of the last whole TCP segment parsed. */
  tcpFlags = 0;
  tcpHasData = false;

  parse(f: Uint8Array, len: number): this {
    this.isIp4 = this.isIp6 = this.isTcp = this.isUdp = this.fragment = false;
    this.l3 = this.l4 = this.l3End = this.ipId = 0;
    if (len < ETH_HLEN) return this;
    let off = 12;
    let proto = (f[off]! << 8) | f[off + 1]!;
    if (proto === ETH_P_VLAN && len >= ETH_HLEN + 4) { off += 4; proto = (f[off]! << 8) | f[off + 1]!; }
    const l3 = off + 2;
    this.l3 = l3;
    let l4proto = -1;
    if (proto === ETH_P_IP && len >= l3 + 20 && (f[l3]! >> 4) === 4) {
      const ihl = (f[l3]! & 0xf) * 4;
      if (ihl < 20 || len < l3 + ihl) return this;
      this.isIp4 = true;
      this.ipId = (f[l3 + 4]! << 8) | f[l3 + 5]!;
      const fragWord = (f[l3 + 6]! << 8) | f[l3 + 7]!;
      this.fragment = (fragWord & 0x2000) !== 0 || (fragWord & 0x1fff) !== 0;
      this.l3End = Math.min(len, l3 + ((f[l3 + 2]! << 8) | f[l3 + 3]!));
      l4proto = f[l3 + 9]!;
      this.l4 = l3 + ihl;
    } else if (proto === ETH_P_IPV6 && len >= l3 + 40 && (f[l3]! >> 4) === 6) {
      this.isIp6 = true;
      this.l3End = Math.min(len, l3 + 40 + ((f[l3 + 4]! << 8) | f[l3 + 5]!));
      l4proto = f[l3 + 6]!;
      this.l4 = l3 + 40;
    } else {
      return this;
    }
    // As qemu 7.2's eth_get_protocols: an IPv4 fragment is TCP or UDP by
    // its protocol field, and its L4 header is not read: the TCP flags of
    // the last whole segment parsed stay (qemu reuses its parse state).
    if (this.fragment) {
      this.isTcp = l4proto === IPPROTO_TCP;
      this.isUdp = l4proto === IPPROTO_UDP;
      return this;
    }
    if (l4proto === IPPROTO_TCP && len >= this.l4 + 20) {
      this.isTcp = true;
      this.tcpFlags = f[this.l4 + 13]!;
      this.tcpHasData = this.l3End - this.l4 - (f[this.l4 + 12]! >> 4) * 4 > 0;
    } else if (l4proto === IPPROTO_UDP && len >= this.l4 + 8) this.isUdp = true;
    return this;
  }
}

/** The ones'-complement sum of f[start, end), folded to 16 bits, added to `acc`. */
export function csumAdd(f: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc, i = start;
  for (; i + 1 < end; i += 2) s += (f[i]! << 8) | f[i + 1]!;
  if (i < end) s += f[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The IPv4/IPv6 pseudo-header sum of a parsed frame's L4 segment. */
export function pseudoHeaderSum(f: Uint8Array, p: FrameInfo): number {
  const l4len = p.l3End - p.l4;
  const proto = p.isTcp ? IPPROTO_TCP : IPPROTO_UDP;
  const addrs = p.isIp4 ? csumAdd(f, p.l3 + 12, p.l3 + 20) : csumAdd(f, p.l3 + 8, p.l3 + 40);
  return csumAdd(f, 0, 0, addrs + proto + l4len);
}

/** Where the L4 checksum field is (TCP: 16, UDP: 6 bytes into the header). */
export function l4CsumOffset(p: FrameInfo): number {
  return p.l4 + (p.isTcp ? 16 : 6);
}

/** Whether a received frame's IPv4 header checksum is right. */
export function ip4HeaderValid(f: Uint8Array, p: FrameInfo): boolean {
  return csumAdd(f, p.l3, p.l4) === 0xffff;
}

/** Whether a received frame's TCP/UDP checksum is right (a UDP checksum of 0 means none). */
export function l4CsumValid(f: Uint8Array, p: FrameInfo): boolean {
  if (p.isUdp && p.isIp4 && f[p.l4 + 6] === 0 && f[p.l4 + 7] === 0) return true;
  return csumAdd(f, p.l4, p.l3End, pseudoHeaderSum(f, p)) === 0xffff;
}

/** Fill in the IPv4 header checksum. */
export function fillIp4HeaderCsum(f: Uint8Array, p: FrameInfo): void {
  f[p.l3 + 10] = 0; f[p.l3 + 11] = 0;
  const c = ~csumAdd(f, p.l3, p.l4) & 0xffff;
  f[p.l3 + 10] = c >> 8; f[p.l3 + 11] = c & 0xff;
}

/** Fill in the TCP/UDP checksum (a UDP checksum that comes out 0 is sent as 0xffff). */
export function fillL4Csum(f: Uint8Array, p: FrameInfo): void {
  const at = l4CsumOffset(p);
  f[at] = 0; f[at + 1] = 0;
  let c = ~csumAdd(f, p.l4, p.l3End, pseudoHeaderSum(f, p)) & 0xffff;
  if (c === 0 && p.isUdp) c = 0xffff;
  f[at] = c >> 8; f[at + 1] = c & 0xff;
}
