// The machine's clock as device models see it (qemu's QEMU_CLOCK_VIRTUAL and
// its timers): now() in nanoseconds and one-shot timers a model arms for a
// deadline. The engine owns one MachineClock per machine and hands it to its
// devices; a model keeps no time of its own.
//
// Two ways to run it:
// - virtual (the default, the library's): time stands still until
//   advance(ns) moves it; the timers due on the way fire in deadline order,
//   each seeing now() equal to its deadline. Tests are deterministic.
// - real (the server's, runRealTime): now() follows the host's monotonic
//   clock; one host timeout (setTimeout, unref'd) waits for the earliest
//   deadline, fires what is due, then calls the afterFire hook (the server
//   wakes pollers and flushes its records there). Host timeouts have
//   millisecond granularity, so a 128 µs deadline fires after ~1 ms.
//
// Usage by a model:
//   const t = clock.timer(() => this.onExpiry());
//   t.mod(clock.now() + delayNs);   // arm or re-arm (timer_mod)
//   t.del();                        // disarm (timer_del)
//   t.pending                       // armed and not yet fired

/** What a device model gets: the time and timers. */
export interface Clock {
  /** Nanoseconds since the clock started (monotonic; a double, exact below 2^53 ns = 104 days). */
  now(): number;
  /** A timer that calls `fire` when it expires; not armed yet. */
  timer(fire: () => void): ClockTimer;
}

export interface ClockTimer {
  /** Arm, or move, the timer to expire at `deadlineNs` (a deadline already past fires at the next chance). */
  mod(deadlineNs: number): void;
  /** Disarm it (nothing happens when it is not armed). */
  del(): void;
  /** Whether it is armed. */
  readonly pending: boolean;
}

class Timer implements ClockTimer {
  deadline = 0;
  pending = false;
  constructor(private readonly clock: MachineClock, readonly fire: () => void) {}
  mod(deadlineNs: number): void { this.clock.arm(this, deadlineNs); }
  del(): void { this.clock.disarm(this); }
}

export interface RealTimeHooks {
  /** Called after one or more timers fired from a host timeout. */
  afterFire?: () => void;
  /** Called with what a timer callback threw (the clock keeps running). Default: rethrown. */
  onError?: (e: unknown) => void;
}

export class MachineClock implements Clock {
  private readonly armed = new Set<Timer>();
  private virtualNow = 0;
  /** Real mode: host hrtime (ns) at virtual time 0. */
  private origin: bigint | undefined;
  private hooks: RealTimeHooks = {};
  private host: ReturnType<typeof setTimeout> | undefined;
  /** The deadline the host timeout was set for. */
  private hostAt = Infinity;
  private firing = false;

  now(): number {
    if (this.origin === undefined) return this.virtualNow;
    return Number(process.hrtime.bigint() - this.origin);
  }

  timer(fire: () => void): ClockTimer { return new Timer(this, fire); }

  /** Whether now() follows the host's clock. */
  get realTime(): boolean { return this.origin !== undefined; }

  /** Timers armed now. */
  get pendingTimers(): number { return this.armed.size; }

  /** The earliest armed deadline (Infinity: none). */
  nextDeadline(): number {
    let d = Infinity;
    for (const t of this.armed) if (t.deadline < d) d = t.deadline;
    return d;
  }

  /**
   * Virtual mode: move time forward by `ns`, firing every timer due on the
   * way (also those armed by the callbacks) in deadline order.
   */
  advance(ns: number): void {
    if (this.origin !== undefined) throw new Error('advance() on a clock that runs in real time');
    if (!(ns >= 0)) throw new RangeError(`advance(${ns})`);
    const end = this.virtualNow + ns;
    for (;;) {
      const t = this.earliest();
      if (!t || t.deadline > end) break;
      if (t.deadline > this.virtualNow) this.virtualNow = t.deadline;
      this.fireOne(t);
    }
    this.virtualNow = end;
  }

  /** Follow the host's clock from now on, continuing from the current time. */
  runRealTime(hooks: RealTimeHooks = {}): void {
    if (this.origin !== undefined) return;
    this.hooks = hooks;
    this.origin = process.hrtime.bigint() - BigInt(Math.round(this.virtualNow));
    this.schedule();
  }

  /** Stop the host timeout (the server closes); armed timers stay armed but never fire. */
  stop(): void {
    if (this.host) clearTimeout(this.host);
    this.host = undefined;
    this.hostAt = Infinity;
    this.origin = undefined;
  }

  // ---- the timers' side ----

  arm(t: Timer, deadline: number): void {
    t.deadline = deadline;
    t.pending = true;
    this.armed.add(t);
    if (this.origin !== undefined && !this.firing && deadline < this.hostAt) this.schedule();
  }

  disarm(t: Timer): void {
    t.pending = false;
    this.armed.delete(t);
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.armed) if (!best || t.deadline < best.deadline) best = t;
    return best;
  }

  private fireOne(t: Timer): void {
    this.armed.delete(t);
    t.pending = false;
    t.fire();
  }

  /** Real mode: (re)set the host timeout for the earliest deadline. */
  private schedule(): void {
    if (this.host) clearTimeout(this.host);
    this.host = undefined;
    this.hostAt = Infinity;
    const d = this.nextDeadline();
    if (d === Infinity || this.origin === undefined) return;
    const ms = Math.max(0, Math.ceil((d - this.now()) / 1e6));
    this.hostAt = d;
    this.host = setTimeout(() => this.onHost(), ms);
    this.host.unref?.();
  }

  private onHost(): void {
    this.host = undefined;
    this.hostAt = Infinity;
    this.firing = true;
    let fired = false;
    // Timers armed by the callbacks for "now" wait for the next host timeout.
    const upTo = this.now();
    try {
      for (;;) {
        const t = this.earliest();
        if (!t || t.deadline > upTo) break;
        fired = true;
        try {
          this.fireOne(t);
        } catch (e) {
          if (!this.hooks.onError) throw e;
          this.hooks.onError(e);
        }
      }
    } finally {
      this.firing = false;
      if (this.origin !== undefined) this.schedule();
    }
    if (fired) this.hooks.afterFire?.();
  }
}
