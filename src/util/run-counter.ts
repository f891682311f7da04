// A count per index, kept as runs: [start, end) → count, non-zero counts only,
// neighbours with equal counts merged. Adding over a range costs
// O(log n + runs touched), never per index.

export type Run = readonly [start: number, count: number];

export class RunCounter {
  // Parallel arrays, sorted by start; runs never overlap.
  private starts: number[] = [];
  private ends: number[] = [];
  private counts: number[] = [];
  /** Number of indexes whose count is non-zero. */
  covered = 0;

  get runCount(): number { return this.starts.length; }

  /** Count at `index` (0 when not covered). */
  get(index: number): number {
    const i = this.find(index);
    return i >= 0 && index < this.ends[i]! ? this.counts[i]! : 0;
  }

  /** Index of the last run whose start ≤ index, or -1. */
  private find(index: number): number {
    let lo = 0, hi = this.starts.length - 1, ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= index) { ans = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return ans;
  }

  /**
   * Add `delta` (±) to every index of [start, start+len). Returns the runs that
   * went from 0 to non-zero (delta > 0) or from non-zero to 0 (delta < 0).
   * A count that would drop below 0 throws: that is a bookkeeping bug.
   */
  add(start: number, len: number, delta: number): Run[] {
    const changed: Run[] = [];
    if (len <= 0 || delta === 0) return changed;
    const end = start + len;
    // Collect the pieces of [start, end): existing runs and holes.
    let i = this.find(start);
    if (i < 0 || this.ends[i]! <= start) i++;
    const ns: number[] = [], ne: number[] = [], nc: number[] = [];
    const first = i;
    // Keep the head of a run that begins before `start`.
    if (i < this.starts.length && this.starts[i]! < start) {
      ns.push(this.starts[i]!); ne.push(start); nc.push(this.counts[i]!);
    }
    let cur = start;
    while (cur < end) {
      if (i < this.starts.length && this.starts[i]! <= cur) {
        const segEnd = Math.min(this.ends[i]!, end);
        const c = this.counts[i]! + delta;
        if (c < 0) throw new Error(`RunCounter: count below zero at ${cur}`);
        if (c === 0) changed.push([cur, segEnd - cur]);
        else { ns.push(cur); ne.push(segEnd); nc.push(c); }
        cur = segEnd;
        if (cur === this.ends[i]) i++;
      } else {
        const segEnd = i < this.starts.length ? Math.min(this.starts[i]!, end) : end;
        if (delta < 0) throw new Error(`RunCounter: count below zero at ${cur}`);
        ns.push(cur); ne.push(segEnd); nc.push(delta);
        changed.push([cur, segEnd - cur]);
        cur = segEnd;
      }
    }
    // Keep the tail of a run that ends after `end`.
    let last = i; // runs [first, last) are replaced
    if (i < this.starts.length && this.starts[i]! < end) {
      ns.push(end); ne.push(this.ends[i]!); nc.push(this.counts[i]!);
      last = i + 1;
    }
    // Merge equal neighbours, including the runs just outside the window.
    let from = first, to = last;
    if (from > 0 && ns.length && this.ends[from - 1] === ns[0] && this.counts[from - 1] === nc[0]) {
      from--; ns.unshift(this.starts[from]!); ne.unshift(this.ends[from]!); nc.unshift(this.counts[from]!);
    }
    if (to < this.starts.length && ns.length && ne[ne.length - 1] === this.starts[to] && nc[nc.length - 1] === this.counts[to]) {
      ns.push(this.starts[to]!); ne.push(this.ends[to]!); nc.push(this.counts[to]!); to++;
    }
    const ms: number[] = [], me: number[] = [], mc: number[] = [];
    for (let k = 0; k < ns.length; k++) {
      const j = ms.length - 1;
      if (j >= 0 && me[j] === ns[k] && mc[j] === nc[k]) me[j] = ne[k]!;
      else { ms.push(ns[k]!); me.push(ne[k]!); mc.push(nc[k]!); }
    }
    this.starts.splice(from, to - from, ...ms);
    this.ends.splice(from, to - from, ...me);
    this.counts.splice(from, to - from, ...mc);
    for (const [, n] of changed) this.covered += delta > 0 ? n : -n;
    return mergeRuns(changed);
  }

  /** Every run as [start, len, count], in order. */
  *runs(): Generator<readonly [number, number, number]> {
    for (let k = 0; k < this.starts.length; k++) yield [this.starts[k]!, this.ends[k]! - this.starts[k]!, this.counts[k]!];
  }

  /** The runs of [start, start+len) with their counts; holes have count 0. */
  slice(start: number, len: number): Array<readonly [number, number, number]> {
    const out: Array<readonly [number, number, number]> = [];
    const end = start + len;
    let i = this.find(start);
    if (i < 0 || this.ends[i]! <= start) i++;
    let cur = start;
    while (cur < end) {
      if (i < this.starts.length && this.starts[i]! <= cur) {
        const e = Math.min(this.ends[i]!, end);
        out.push([cur, e - cur, this.counts[i]!]);
        cur = e; i++;
      } else {
        const e = i < this.starts.length ? Math.min(this.starts[i]!, end) : end;
        out.push([cur, e - cur, 0]);
        cur = e;
      }
    }
    return out;
  }
}

function mergeRuns(runs: Run[]): Run[] {
  const out: Array<[number, number]> = [];
  for (const [s, n] of runs) {
    const l = out[out.length - 1];
    if (l && l[0] + l[1] === s) l[1] += n; else out.push([s, n]);
  }
  return out;
}
