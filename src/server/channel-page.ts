// The channel page (native/shim/proto.h, struct iemu_page): a memfd the shim
// shares with us per channel, through which its requests and our replies
// travel without waking a sleeping process when both sides run. The shim
// writes a request and bumps req_seq; we copy the request out (the client may
// write the page at any time), answer into the reply area, set rep_seq and
// wake the shim if it sleeps on that word. After an answer we poll req_seq a
// short while (server_polling set, so the shim rings no doorbell): the most
// after a poll that found a request, half as long after one in vain, not at
// all below a minimum: a client that thinks between calls, or a machine too
// loaded to run both sides at once, costs (almost) no spinning.
import * as net from 'node:net';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { peerModulePath } from './peer.js';
import {
  PAGE_CLIENT_SLEEPING, PAGE_REP, PAGE_REP_LEN, PAGE_REP_MAX, PAGE_REP_SEQ, PAGE_REQ, PAGE_REQ_LEN, PAGE_REQ_MAX,
  PAGE_REQ_SEQ, PAGE_SERVER_POLLING, PAGE_SIZE, REP_ON_SOCKET, REQ_SIZE, requestExtLen,
} from './protocol.js';

interface ShmModule {
  shmMap(fd: number, len: number): ArrayBuffer | number;
  futexWake(ab: ArrayBuffer, off: number): number;
}

const native = createRequire(import.meta.url)(peerModulePath()) as ShmModule;

/** Longest we poll for a client's next request after answering one (ms). */
const POLL_MAX_MS = 0.08;
/** A window shorter than this is not worth a poll (ms). */
const POLL_MIN_MS = 0.004;
/** With polling off, every PROBE-th doorbell turns it on again. */
const PROBE = 64;
/** Loads of req_seq between two looks at the clock while we poll. */
const SPIN_CHECK = 16;
/** Longest we keep serving one page's requests before we let the event loop run (ms). */
const BURST_MS = 2;

/** A request taken out of the page: its sequence number and a copy of its bytes. */
export interface PageRequest { seq: number; frame: Buffer }

export class ChannelPage {
  private readonly words: Int32Array;
  private readonly bytes: Buffer;
  /** req_seq of the last request we took. */
  private seen = 0;
  /** How long we poll after an answer (ms); 0: not at all. */
  private window = POLL_MAX_MS;
  /** Doorbells since polling went off. */
  private skipped = 0;

  private constructor(private readonly buffer: ArrayBuffer) {
    this.words = new Int32Array(buffer, 0, 16);
    this.bytes = Buffer.from(buffer);
  }

  /**
   * Map the client's page from our copy `fd` of its memfd (the caller closes
   * fd): a page, or -errno (EINVAL: not a memfd sealed against shrinking of
   * PAGE_SIZE bytes or more).
   */
  static map(fd: number): ChannelPage | number {
    const ab = native.shmMap(fd, PAGE_SIZE);
    return typeof ab === 'number' ? ab : new ChannelPage(ab);
  }

  /**
   * The request the client published since the last one we took, copied out
   * of the page; undefined for none; a string saying what is wrong with a
   * malformed one.
   */
  take(): PageRequest | string | undefined {
    const seq = Atomics.load(this.words, PAGE_REQ_SEQ);
    if (seq === this.seen) return undefined;
    this.seen = seq;
    const len = Atomics.load(this.words, PAGE_REQ_LEN) >>> 0;
    if (len < REQ_SIZE || len > PAGE_REQ_MAX) return `a page request of ${len} bytes`;
    const frame = Buffer.from(this.bytes.subarray(PAGE_REQ, PAGE_REQ + len));
    if (REQ_SIZE + requestExtLen(frame) !== len) return `a page request of ${len} bytes announcing ${requestExtLen(frame)} of extension`;
    return { seq, frame };
  }

  /** Answer request `seq` with `reply`: in the page, or on `sock` when it does not fit. */
  answer(seq: number, reply: Buffer, sock: net.Socket): void {
    if (reply.length <= PAGE_REP_MAX) {
      this.bytes.set(reply, PAGE_REP);
      Atomics.store(this.words, PAGE_REP_LEN, reply.length);
    } else {
      sock.write(reply);
      Atomics.store(this.words, PAGE_REP_LEN, REP_ON_SOCKET | 0);
    }
    // A full fence between publishing and looking whether the client sleeps
    // (it sets client_sleeping, then looks at rep_seq): one of us sees the other.
    Atomics.exchange(this.words, PAGE_REP_SEQ, seq);
    if (Atomics.load(this.words, PAGE_CLIENT_SLEEPING) !== 0) native.futexWake(this.buffer, PAGE_REP_SEQ * 4);
  }

  /**
   * A doorbell rang: a request came while we were not polling. With polling
   * off (it found nothing lately), every PROBE-th doorbell turns it on again
   * to see whether it would.
   */
  rang(): void {
    if (this.window === 0 && ++this.skipped >= PROBE) {
      this.window = POLL_MAX_MS;
      this.skipped = 0;
    }
  }

  private shrunk(): number {
    const w = this.window / 2;
    return w < POLL_MIN_MS ? 0 : w;
  }

  /**
   * Serve the client's requests: `handle` takes one from the page and
   * answers it (true), or finds none or leaves its answer for later
   * (false: the client waits for that, so no request comes meanwhile).
   * While we serve and after each answer we poll (server_polling set: the
   * client rings no doorbell) for the next request, for the window; after
   * BURST_MS the event loop gets its turn before we go on.
   */
  serve(handle: () => boolean): void {
    const burstEnd = performance.now() + BURST_MS;
    for (;;) {
      for (;;) {
        if (this.window > 0) Atomics.exchange(this.words, PAGE_SERVER_POLLING, 1);
        if (!handle() || this.window === 0 || performance.now() > burstEnd) break;
        // The clock every SPIN_CHECK loads only (a load is far cheaper than a clock read).
        const end = performance.now() + this.window;
        for (let n = 1; Atomics.load(this.words, PAGE_REQ_SEQ) === this.seen; n++) {
          if (n % SPIN_CHECK === 0 && performance.now() >= end) break;
        }
        if (Atomics.load(this.words, PAGE_REQ_SEQ) === this.seen) {
          this.window = this.shrunk(); // in vain
          break;
        }
        this.window = POLL_MAX_MS; // it pays: as long as we may next time
      }
      // Stop polling, then look again (the client publishes, then looks
      // whether we poll): a request that came meanwhile rang no doorbell.
      Atomics.exchange(this.words, PAGE_SERVER_POLLING, 0);
      if (Atomics.load(this.words, PAGE_REQ_SEQ) === this.seen) return;
      if (performance.now() > burstEnd) {
        setImmediate(() => this.serve(handle));
        return;
      }
    }
  }
}
