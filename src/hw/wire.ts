// The cable between the machine's first two NICs, as the oracle's machine
// wires them (qemu hubport netdevs on one hub): a frame one NIC sends
// arrives at the other. What qemu's net queues do is kept: a frame the
// receiver cannot take now (no room in its ring, receive off at the moment)
// waits, in order, and goes in when the receiver says it can take frames
// again (qemu's qemu_flush_queued_packets from e1000e_start_recv: RDT or
// RCTL written); a receiver that answers 0 stops taking frames until then;
// at most 10000 frames wait per direction (qemu's queue length), later ones
// are dropped. Every frame put on the wire can also go to a sink (the
// server's pcap file).

/** A NIC as the wire sees it (qemu's NetClientInfo can_receive / receive). */
export interface WirePort {
  canReceive(): boolean;
  /** Take bytes [0, len) of `frame`: the length (taken or dropped), 0 (keep it for later) or -1 (dropped). */
  receive(frame: Uint8Array, len: number): number;
}

/** Where every frame put on the wire goes as well: bytes of the frame and the number of the end that sent it. */
export type FrameSink = (frame: Uint8Array, from: number) => void;

/** qemu's NET_QUEUE_LEN-like bound on the frames waiting for one receiver. */
export const WIRE_QUEUE_MAX = 10000;

/** One end of the wire, plugged into a NIC: the NIC's net client (E1000eNet). */
export class WireEnd {
  /** Frames waiting for this end's NIC, oldest first. */
  readonly waiting: Uint8Array[] = [];
  /** qemu's receive_disabled: the NIC answered 0; nothing goes in until it flushes. */
  disabled = false;
  /** Frames sent from / delivered to this end, and frames dropped because its queue was full. */
  sent = 0;
  delivered = 0;
  dropped = 0;

  constructor(private readonly wire: Wire, readonly index: number, readonly port: WirePort) {}

  send(frame: Uint8Array, len: number): void { this.wire.carry(this, frame, len); }

  rxReady(): void { this.wire.flush(this); }
}

export class Wire {
  readonly ends: WireEnd[] = [];
  /** Told of every frame put on the wire. */
  sink: FrameSink | undefined;

  /** Plug a NIC into the next free end (two at most: back to back). */
  plug(port: WirePort): WireEnd {
    if (this.ends.length >= 2) throw new RangeError('a back-to-back wire has two ends');
    const e = new WireEnd(this, this.ends.length, port);
    this.ends.push(e);
    return e;
  }

  private peer(e: WireEnd): WireEnd | undefined {
    return this.ends[e.index ^ 1];
  }

  /** A frame leaves `from`: straight into the other NIC when it can take it, else it waits. */
  carry(from: WireEnd, frame: Uint8Array, len: number): void {
    from.sent++;
    this.sink?.(frame.subarray(0, len), from.index);
    const to = this.peer(from);
    if (!to) return;
    if (to.waiting.length || to.disabled || !to.port.canReceive()) return this.wait(to, frame, len);
    const r = to.port.receive(frame, len);
    if (r === 0) { to.disabled = true; this.wait(to, frame, len); return; }
    if (r > 0) to.delivered++;
  }

  private wait(to: WireEnd, frame: Uint8Array, len: number): void {
    if (to.waiting.length >= WIRE_QUEUE_MAX) { to.dropped++; return; }
    to.waiting.push(frame.slice(0, len));
  }

  /** The NIC at `to` can take frames again: hand it what waits, until it answers 0. */
  flush(to: WireEnd): void {
    to.disabled = false;
    while (to.waiting.length) {
      const f = to.waiting[0]!;
      const r = to.port.receive(f, f.length);
      if (r === 0) { to.disabled = true; return; }
      to.waiting.shift();
      if (r > 0) to.delivered++;
    }
  }
}
