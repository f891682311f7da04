// A sorted table of fixed-width rows keyed by an unsigned 64-bit key, kept in
// typed arrays: rows of `width` 32-bit words, word 0 = key high half, word 1 =
// key low half, the rest the caller's. Rows live row-major in chunks of at
// most CAP rows; a chunk list sorted by first key is binary searched, then the
// chunk. Lookup is O(log n); insert and remove move at most one chunk's rows
// (never per-row objects), so per-op cost hardly grows with the row count.
//
// A position ("pos") names a row until the next insert or remove
// (`version` changes then): pos = chunk * CAP + index in chunk.

const SHIFT = 9;
export const ROWS_PER_CHUNK = 1 << SHIFT;
const CAP = ROWS_PER_CHUNK;
const MASK = CAP - 1;
/** Rows a new chunk starts with room for (it doubles up to CAP). */
const FIRST_ROOM = 4;
const TWO32 = 0x1_0000_0000;

export class SortedRows {
  private chunks: Uint32Array[] = [];
  private lens: number[] = [];
  /** Rows in the table. */
  size = 0;
  /** Bumped by every insert and remove: older positions are stale. */
  version = 0;

  constructor(readonly width: number) {
    if (width < 2) throw new Error('SortedRows: width below 2');
  }

  // ---- reading -------------------------------------------------------------

  /** The chunk array holding `pos` (read words at offset(pos) + k). */
  arr(pos: number): Uint32Array { return this.chunks[pos >>> SHIFT]!; }
  offset(pos: number): number { return (pos & MASK) * this.width; }
  get(pos: number, k: number): number { return this.chunks[pos >>> SHIFT]![(pos & MASK) * this.width + k]!; }
  set(pos: number, k: number, v: number): void { this.chunks[pos >>> SHIFT]![(pos & MASK) * this.width + k] = v; }
  keyHi(pos: number): number { return this.get(pos, 0); }
  keyLo(pos: number): number { return this.get(pos, 1); }
  /** The key of `pos` as a bigint. */
  key(pos: number): bigint {
    const a = this.chunks[pos >>> SHIFT]!, o = (pos & MASK) * this.width;
    return (BigInt(a[o]!) << 32n) | BigInt(a[o + 1]!);
  }

  first(): number { return this.size ? 0 : -1; }
  last(): number { const c = this.chunks.length - 1; return c >= 0 && this.lens[c]! ? (c << SHIFT) + this.lens[c]! - 1 : -1; }

  next(pos: number): number {
    const c = pos >>> SHIFT, i = (pos & MASK) + 1;
    if (i < this.lens[c]!) return pos + 1;
    return c + 1 < this.chunks.length ? (c + 1) << SHIFT : -1;
  }

  prev(pos: number): number {
    const c = pos >>> SHIFT, i = pos & MASK;
    if (i > 0) return pos - 1;
    return c > 0 ? ((c - 1) << SHIFT) + this.lens[c - 1]! - 1 : -1;
  }

  /** Index of the last chunk whose first key ≤ (hi, lo), or -1. */
  private chunkFloor(hi: number, lo: number): number {
    const ch = this.chunks;
    let l = 0, h = ch.length - 1, ans = -1;
    while (l <= h) {
      const m = (l + h) >> 1;
      const a = ch[m]!;
      const kh = a[0]!;
      if (kh < hi || (kh === hi && a[1]! <= lo)) { ans = m; l = m + 1; } else h = m - 1;
    }
    return ans;
  }

  /** In chunk c, the index of the last row with key ≤ (hi, lo), or -1. */
  private rowFloor(c: number, hi: number, lo: number): number {
    const a = this.chunks[c]!, w = this.width;
    let l = 0, h = this.lens[c]! - 1, ans = -1;
    while (l <= h) {
      const m = (l + h) >> 1;
      const o = m * w;
      const kh = a[o]!;
      if (kh < hi || (kh === hi && a[o + 1]! <= lo)) { ans = m; l = m + 1; } else h = m - 1;
    }
    return ans;
  }

  /** The last row with key ≤ (hi, lo), or -1. */
  floor(hi: number, lo: number): number {
    const c = this.chunkFloor(hi, lo);
    if (c < 0) return -1;
    return (c << SHIFT) + this.rowFloor(c, hi, lo);
  }

  /** The row with exactly this key, or -1. */
  find(hi: number, lo: number): number {
    const p = this.floor(hi, lo);
    if (p < 0) return -1;
    const a = this.arr(p), o = this.offset(p);
    return a[o] === hi && a[o + 1] === lo ? p : -1;
  }

  // ---- changing ------------------------------------------------------------

  /**
   * Insert a row with key (hi, lo); its other words are zero. The key must not
   * be present. Returns the new row's position.
   */
  insert(hi: number, lo: number): number {
    this.version++;
    this.size++;
    const w = this.width;
    if (!this.chunks.length) {
      const a = new Uint32Array(FIRST_ROOM * w);
      a[0] = hi; a[1] = lo;
      this.chunks.push(a); this.lens.push(1);
      return 0;
    }
    let c = this.chunkFloor(hi, lo);
    let i: number;
    if (c < 0) { c = 0; i = 0; } else i = this.rowFloor(c, hi, lo) + 1;
    let len = this.lens[c]!;
    if (len === CAP) {
      // Full: appends and prepends go to a neighbour with room or a new chunk
      // (sequential fills keep chunks full); other inserts split the chunk.
      if (i === len) {
        if (c + 1 < this.chunks.length && this.lens[c + 1]! < CAP) { c++; i = 0; }
        else { this.newChunk(c + 1); c++; i = 0; }
      } else if (i === 0) {
        if (c > 0 && this.lens[c - 1]! < CAP) { c--; i = this.lens[c]!; }
        else { this.newChunk(c); i = 0; }
      } else {
        this.split(c);
        if (i > CAP >> 1) { i -= CAP >> 1; c++; }
      }
      len = this.lens[c]!;
    }
    let a = this.chunks[c]!;
    if ((len + 1) * w > a.length) {
      const b = new Uint32Array(Math.min(CAP, Math.max(FIRST_ROOM, (a.length / w) * 2)) * w);
      b.set(a.subarray(0, len * w));
      this.chunks[c] = a = b;
    }
    if (i < len) a.copyWithin((i + 1) * w, i * w, len * w);
    const o = i * w;
    a.fill(0, o, o + w);
    a[o] = hi; a[o + 1] = lo;
    this.lens[c] = len + 1;
    return (c << SHIFT) + i;
  }

  private newChunk(at: number): void {
    this.chunks.splice(at, 0, new Uint32Array(FIRST_ROOM * this.width));
    this.lens.splice(at, 0, 0);
  }

  /** Move the upper half of full chunk c into a new chunk after it. */
  private split(c: number): void {
    const w = this.width, half = CAP >> 1;
    const a = this.chunks[c]!;
    const b = new Uint32Array(CAP * w);
    b.set(a.subarray(half * w, CAP * w));
    this.chunks.splice(c + 1, 0, b);
    this.lens.splice(c + 1, 0, CAP - half);
    this.lens[c] = half;
  }

  /** Remove the row at `pos`. */
  remove(pos: number): void {
    this.version++;
    this.size--;
    const w = this.width;
    const c = pos >>> SHIFT, i = pos & MASK;
    const a = this.chunks[c]!;
    const len = this.lens[c]! - 1;
    if (i < len) a.copyWithin(i * w, (i + 1) * w, (len + 1) * w);
    this.lens[c] = len;
    if (len === 0) {
      this.chunks.splice(c, 1); this.lens.splice(c, 1);
      return;
    }
    // Keep chunks from thinning out: merge a quarter-full chunk into a neighbour that has room.
    if (len < CAP >> 2) {
      if (c > 0 && this.lens[c - 1]! + len <= CAP >> 1) this.merge(c - 1);
      else if (c + 1 < this.chunks.length && this.lens[c + 1]! + len <= CAP >> 1) this.merge(c);
      else if (a.length >= 4 * len * w && a.length > FIRST_ROOM * w) {
        // Shrink the room of a thin chunk that has no neighbour to join.
        const b = new Uint32Array(Math.max(FIRST_ROOM, 2 * len) * w);
        b.set(a.subarray(0, len * w));
        this.chunks[c] = b;
      }
    }
  }

  /** Append chunk c+1 to chunk c and drop c+1. */
  private merge(c: number): void {
    const w = this.width;
    const la = this.lens[c]!, lb = this.lens[c + 1]!;
    let a = this.chunks[c]!;
    if ((la + lb) * w > a.length) {
      const n = new Uint32Array(Math.min(CAP, Math.max(FIRST_ROOM, 2 * (la + lb))) * w);
      n.set(a.subarray(0, la * w));
      this.chunks[c] = a = n;
    }
    a.set(this.chunks[c + 1]!.subarray(0, lb * w), la * w);
    this.lens[c] = la + lb;
    this.chunks.splice(c + 1, 1); this.lens.splice(c + 1, 1);
  }

  /** Bytes held by the rows' arrays (for the bench and tests). */
  bytes(): number {
    let n = 0;
    for (const a of this.chunks) n += a.byteLength;
    return n;
  }

  /** Internal consistency (tests): chunks non-empty, keys strictly ascending. */
  check(): void {
    let prevHi = -1, prevLo = -1, total = 0;
    for (let c = 0; c < this.chunks.length; c++) {
      const len = this.lens[c]!;
      if (len <= 0 || len > CAP) throw new Error(`chunk ${c} has ${len} rows`);
      total += len;
      const a = this.chunks[c]!;
      for (let i = 0; i < len; i++) {
        const hi = a[i * this.width]!, lo = a[i * this.width + 1]!;
        if (hi < prevHi || (hi === prevHi && lo <= prevLo)) throw new Error('keys out of order');
        prevHi = hi; prevLo = lo;
      }
    }
    if (total !== this.size) throw new Error(`size ${this.size}, rows ${total}`);
  }
}

/** High and low 32-bit halves of a u64 bigint. */
export function hi32(x: bigint): number { return Number(x >> 32n); }
export function lo32(x: bigint): number { return Number(x & 0xffffffffn); }
export { TWO32 };
