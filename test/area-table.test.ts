// The io_pagetable's area table: the sorted typed-array row store against a
// model under random inserts and removes, and the compact row form against the
// object form (the same random io_pagetable sequence on both must give the
// same errnos, areas, pins and charges), plus the views' rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SortedRows, ROWS_PER_CHUNK } from '../src/util/sorted-rows.js';
import { IoPagetable, type IoptAccess } from '../src/core/io-pagetable.js';
import { IoptPages } from '../src/core/pages.js';
import type { IoptArea } from '../src/core/area.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../src/hw/iommu.js';
import { SimProcess, RunDomain, Errno, errno as E } from '../src/lib/index.js';

const PAGE = 4096n;

// ---- SortedRows -------------------------------------------------------------

type RowOp =
  | { k: 'ins'; key: bigint }
  | { k: 'bulk'; from: bigint; n: number; stride: bigint }
  | { k: 'del'; pick: number }
  | { k: 'delRun'; pick: number; n: number };

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const smallKey = fc.bigInt({ min: 0n, max: 5000n });
const rowOp: fc.Arbitrary<RowOp> = fc.oneof(
  fc.record({ k: fc.constant('ins' as const), key: fc.oneof(u64, smallKey, fc.bigInt({ min: 0xffff_ff00n, max: 0x1_0000_0100n })) }),
  fc.record({ k: fc.constant('bulk' as const), from: fc.oneof(smallKey, u64), n: fc.integer({ min: 1, max: 3 * ROWS_PER_CHUNK }), stride: fc.bigInt({ min: 1n, max: 7n }) }),
  fc.record({ k: fc.constant('del' as const), pick: fc.nat() }),
  fc.record({ k: fc.constant('delRun' as const), pick: fc.nat(), n: fc.integer({ min: 1, max: 2 * ROWS_PER_CHUNK }) }),
);

const hi = (x: bigint) => Number(x >> 32n), lo = (x: bigint) => Number(x & 0xffffffffn);

function checkRows(t: SortedRows, model: bigint[], payload: Map<bigint, number>, probes: bigint[]): void {
  t.check();
  assert.equal(t.size, model.length);
  // Forward and backward walks see the model's keys with their payloads.
  const fwd: bigint[] = [];
  for (let p = t.first(); p >= 0; p = t.next(p)) { fwd.push(t.key(p)); assert.equal(t.get(p, 2), payload.get(t.key(p))); }
  assert.deepEqual(fwd, model);
  const back: bigint[] = [];
  for (let p = t.last(); p >= 0; p = t.prev(p)) back.push(t.key(p));
  assert.deepEqual(back.reverse(), model);
  for (const q of probes) {
    // floor: the greatest key ≤ q
    let want: bigint | undefined;
    for (const k of model) if (k <= q) want = k; else break;
    const p = t.floor(hi(q), lo(q));
    assert.equal(p < 0 ? undefined : t.key(p), want);
    assert.equal(t.find(hi(q), lo(q)) >= 0, model.includes(q));
  }
}

test('SortedRows: random inserts and removes against a sorted array', () => {
  fc.assert(fc.property(fc.array(rowOp, { maxLength: 40 }), fc.array(u64, { maxLength: 8 }), (ops, extraProbes) => {
    const t = new SortedRows(3);
    const model: bigint[] = [];
    const payload = new Map<bigint, number>();
    let stamp = 0;
    const insert = (key: bigint) => {
      if (key >= 1n << 64n || payload.has(key)) return;
      const p = t.insert(hi(key), lo(key));
      t.set(p, 2, ++stamp);
      payload.set(key, stamp);
      model.push(key);
    };
    for (const op of ops) {
      if (op.k === 'ins') insert(op.key);
      else if (op.k === 'bulk') for (let i = 0; i < op.n; i++) insert(op.from + BigInt(i) * op.stride);
      else if (model.length) {
        model.sort((a, b) => (a < b ? -1 : 1));
        const n = op.k === 'del' ? 1 : op.n;
        const at = op.pick % model.length;
        for (const key of model.splice(at, n)) {
          const p = t.find(hi(key), lo(key));
          assert.ok(p >= 0);
          t.remove(p);
          payload.delete(key);
        }
      }
      model.sort((a, b) => (a < b ? -1 : 1));
    }
    const probes = [...extraProbes, ...model.slice(0, 5), ...model.slice(0, 5).map((k) => k + 1n), 0n, (1n << 64n) - 1n];
    checkRows(t, model, payload, probes);
  }), { numRuns: 150 });
});

test('SortedRows: sequential fills keep chunks full; removals merge thin chunks', () => {
  const t = new SortedRows(5);
  const n = 10 * ROWS_PER_CHUNK;
  for (let i = 0; i < n; i++) t.insert(0, i * 2);
  assert.ok(t.bytes() <= (n + ROWS_PER_CHUNK) * 5 * 4, `ascending: ${t.bytes()} bytes`);
  const d = new SortedRows(5);
  for (let i = n; i > 0; i--) d.insert(0, i * 2);
  assert.ok(d.bytes() <= (n + ROWS_PER_CHUNK) * 5 * 4, `descending: ${d.bytes()} bytes`);
  // Remove 7 rows in 8: what is left packs into few chunks again.
  for (let i = 0; i < n; i++) if (i % 8) t.remove(t.find(0, i * 2));
  t.check();
  assert.equal(t.size, n / 8);
  assert.ok(t.bytes() <= 4 * (n / 8) * 5 * 4 + 2 * ROWS_PER_CHUNK * 5 * 4, `after removals: ${t.bytes()} bytes`);
});

// ---- compact rows vs object form ------------------------------------------------

type Op =
  | { k: 'map'; t: number; page: number; n: number; iovaPage: number | null; write: boolean; off: number }
  | { k: 'unmap'; t: number; iovaPage: number; n: number }
  | { k: 'unmapArea'; t: number; pick: number }
  | { k: 'unmapAll'; t: number }
  | { k: 'copy'; src: number; dst: number; iovaPage: number; n: number; dstPage: number | null }
  | { k: 'copyArea'; src: number; dst: number; pick: number; dstPage: number | null }
  | { k: 'domain'; t: number; add: boolean }
  | { k: 'pin'; t: number; iovaPage: number; n: number; write: boolean }
  | { k: 'pinArea'; t: number; pick: number; write: boolean }
  | { k: 'unpin'; pick: number }
  | { k: 'cut'; t: number; iovaPage: number; large: boolean }
  | { k: 'poke'; t: number; pick: number; lock: boolean };

const NP = 48; // user buffer pages
const IP = 48; // IOVA window, pages
const tIdx = fc.integer({ min: 0, max: 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('map' as const), t: tIdx, page: fc.integer({ min: 0, max: NP - 1 }), n: fc.integer({ min: 1, max: 6 }), iovaPage: fc.option(fc.integer({ min: 1, max: IP }), { nil: null }), write: fc.boolean(), off: fc.constantFrom(0, 0, 0, 0x10, 0xff0) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('unmap' as const), t: tIdx, iovaPage: fc.integer({ min: 0, max: IP }), n: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('unmapAll' as const), t: tIdx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('copy' as const), src: tIdx, dst: tIdx, iovaPage: fc.integer({ min: 1, max: IP }), n: fc.integer({ min: 1, max: 6 }), dstPage: fc.option(fc.integer({ min: 1, max: IP }), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('domain' as const), t: tIdx, add: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('pin' as const), t: tIdx, iovaPage: fc.integer({ min: 1, max: IP }), n: fc.integer({ min: 1, max: 4 }), write: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('unpin' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cut' as const), t: tIdx, iovaPage: fc.integer({ min: 1, max: IP }), large: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('poke' as const), t: tIdx, pick: fc.nat(), lock: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('unmapArea' as const), t: tIdx, pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('copyArea' as const), src: tIdx, dst: tIdx, pick: fc.nat(), dstPage: fc.option(fc.integer({ min: 1, max: IP }), { nil: null }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('pinArea' as const), t: tIdx, pick: fc.nat(), write: fc.boolean() }) },
);

let uidNext = 41000;

class World {
  readonly proc: SimProcess;
  readonly iopts: IoPagetable[];
  readonly domains: Array<RunDomain | null> = [null, null];
  readonly buf: bigint;
  readonly pins: Array<{ t: number; iova: bigint; length: bigint }> = [];
  readonly accesses: IoptAccess[];

  constructor(compact: boolean) {
    this.proc = new SimProcess({ uid: uidNext++, rlimitMemlock: 40n * PAGE });
    this.iopts = [new IoPagetable(), new IoPagetable()];
    for (const i of this.iopts) i.compactRows = compact;
    this.buf = this.proc.mmap(BigInt(NP) * PAGE);
    this.proc.mm.mprotect(this.buf + 40n * PAGE, 8n * PAGE, false); // the top pages are read-only
    this.accesses = this.iopts.map((iopt, t) => ({
      iovaAlignment: 1n,
      internal: false,
      unmap: (iova: bigint, length: bigint) => {
        for (const p of [...this.pins]) {
          if (p.t === t && p.iova < iova + length && p.iova + p.length > iova) {
            iopt.accessUnpin(p.iova, p.length);
            this.pins.splice(this.pins.indexOf(p), 1);
          }
        }
      },
    }));
    this.iopts.forEach((iopt, t) => iopt.addAccess(this.accesses[t]!));
  }

  run(op: Op): number {
    try { this.step(op); return 0; } catch (e) { if (e instanceof Errno) return e.code; throw e; }
  }

  private step(op: Op): void {
    switch (op.k) {
      case 'map': {
        const uptr = this.buf + BigInt(op.page) * PAGE + BigInt(op.off);
        const length = BigInt(op.n) * PAGE - (op.off ? 0x20n : 0n);
        const down = uptr & ~(PAGE - 1n);
        const startByte = uptr - down;
        const npages = Number((length + startByte + PAGE - 1n) / PAGE);
        const pages = new IoptPages(this.proc.task, down, npages, op.write);
        const prot = IOMMU_CACHE | IOMMU_READ | (op.write ? IOMMU_WRITE : 0);
        this.iopts[op.t]!.mapPages([{ pages, startByte, length }], length, op.iovaPage === null ? undefined : BigInt(op.iovaPage) * PAGE, prot);
        return;
      }
      case 'unmap': this.iopts[op.t]!.unmapIova(BigInt(op.iovaPage) * PAGE, BigInt(op.n) * PAGE); return;
      case 'unmapAll': this.iopts[op.t]!.unmapAll(); return;
      case 'copy': {
        const list = this.iopts[op.src]!.getPages(BigInt(op.iovaPage) * PAGE, BigInt(op.n) * PAGE);
        try {
          this.iopts[op.dst]!.mapPages(list, BigInt(op.n) * PAGE, op.dstPage === null ? undefined : BigInt(op.dstPage) * PAGE, IOMMU_CACHE | IOMMU_READ);
        } finally { for (const s of list) s.pages.refs--; }
        return;
      }
      case 'domain': {
        const iopt = this.iopts[op.t]!;
        const d = this.domains[op.t];
        if (op.add && !d) { const nd = new RunDomain(); iopt.addDomain(nd); this.domains[op.t] = nd; }
        if (!op.add && d) { iopt.removeDomain(d); this.domains[op.t] = null; }
        return;
      }
      case 'pin': {
        const iova = BigInt(op.iovaPage) * PAGE, length = BigInt(op.n) * PAGE;
        this.iopts[op.t]!.accessPin(iova, length, op.write);
        this.pins.push({ t: op.t, iova, length });
        return;
      }
      case 'unpin': {
        if (!this.pins.length) return;
        const p = this.pins.splice(op.pick % this.pins.length, 1)[0]!;
        this.iopts[p.t]!.accessUnpin(p.iova, p.length);
        return;
      }
      case 'cut': {
        const iopt = this.iopts[op.t]!;
        if (!op.large) { try { iopt.disableLarge(); } catch { /* domains hold mappings */ } } else iopt.enableLarge();
        iopt.cutIova([BigInt(op.iovaPage) * PAGE - 1n]);
        return;
      }
      case 'unmapArea': {
        const a = this.pick(op.t, op.pick);
        if (a) this.iopts[op.t]!.unmapIova(a.iova, a.length);
        return;
      }
      case 'copyArea': {
        const a = this.pick(op.src, op.pick);
        if (!a) return;
        const list = this.iopts[op.src]!.getPages(a.iova, a.length);
        try {
          this.iopts[op.dst]!.mapPages(list, a.length, op.dstPage === null ? undefined : BigInt(op.dstPage) * PAGE, IOMMU_CACHE | IOMMU_READ);
        } finally { for (const s of list) s.pages.refs--; }
        return;
      }
      case 'pinArea': {
        const a = this.pick(op.t, op.pick);
        if (!a) return;
        this.iopts[op.t]!.accessPin(a.iova, a.length, op.write);
        this.pins.push({ t: op.t, iova: a.iova, length: a.length });
        return;
      }
      case 'poke': {
        // Read every field through a view, then lock and unlock it (a field write).
        const a = this.pick(op.t, op.pick);
        if (!a) return;
        void [a.iova, a.last, a.filled, a.numAccesses, a.preventAccess, a.pages?.npinned, a.source.holders.covered];
        if (op.lock) {
          a.numLocks++;
          try { this.iopts[op.t]!.unmapIova(a.iova, a.length); } finally { a.numLocks--; }
        }
        return;
      }
    }
  }

  /** The area `pick` (modulo the count) of IOAS t, if any: both worlds hold the same areas. */
  private pick(t: number, pick: number): IoptArea | undefined {
    const areas = [...this.iopts[t]!.areasIn()];
    return areas.length ? areas[pick % areas.length] : undefined;
  }

  state(): unknown {
    const mm = this.proc.mm;
    return {
      iopts: this.iopts.map((iopt, t) => ({
        count: iopt.areaCount,
        align: iopt.iovaAlignment,
        areas: [...iopt.areasIn()].map((a) => ({
          iova: a.iova, last: a.last, startByte: a.startByte, prot: a.prot, filled: a.filled,
          numAccesses: a.numAccesses, numLocks: a.numLocks, preventAccess: a.preventAccess, published: a.pages !== null,
          uptr: a.source.uptr, npages: a.source.npages, writable: a.source.writable, mode: a.source.accountMode,
          npinned: a.source.npinned, holders: [...a.source.holders.runs()],
          phys: this.domains[t]?.iovaToPhys(a.iova),
        })),
      })),
      pins: [...mm.pins.runs()].map(([s, n, c]) => [s - Number(this.buf >> 12n), n, c]),
      lockedVm: this.proc.task.user.lockedVm,
      pinnedVm: mm.pinnedVm,
    };
  }
}

/** Strip what differs by construction between the worlds (process addresses) before comparing. */
function norm(w: World, s: unknown): unknown {
  const base = w.buf;
  const mmBase = BigInt(w.proc.mm.id) << 52n;
  return JSON.parse(JSON.stringify(s, (_k, v) => {
    if (typeof v !== 'bigint') return v;
    if (v >= mmBase && v < mmBase + (1n << 52n)) return `phys+${v - mmBase - base}`;
    if (v >= base && v < base + (1n << 32n)) return `va+${v - base}`;
    return v.toString();
  }));
}

test('compact rows behave exactly as the object form (random io_pagetable sequences)', () => {
  fc.assert(fc.property(fc.array(opArb, { minLength: 10, maxLength: 80, size: 'medium' }), (ops) => {
    const a = new World(true), b = new World(false);
    for (const op of ops) {
      const ea = a.run(op), eb = b.run(op);
      assert.equal(ea, eb, `errno of ${JSON.stringify(op)}`);
      assert.deepEqual(norm(a, a.state()), norm(b, b.state()), `state after ${JSON.stringify(op)}`);
    }
    // Tear down: unpin, unmap, detach; nothing stays pinned or charged.
    for (const w of [a, b]) {
      for (const p of w.pins.splice(0)) w.iopts[p.t]!.accessUnpin(p.iova, p.length);
      w.iopts.forEach((iopt, t) => { iopt.unmapAll(); const d = w.domains[t]; if (d) iopt.removeDomain(d); });
      assert.equal(w.proc.mm.pins.runCount, 0);
      assert.equal(w.proc.task.user.lockedVm, 0);
      assert.equal(w.proc.mm.pinnedVm, 0);
    }
  }), { numRuns: 300 });
});

// ---- views ------------------------------------------------------------------------

function oneIopt(): { iopt: IoPagetable; proc: SimProcess; buf: bigint; map: (page: number, n: number, iova: bigint) => bigint } {
  const proc = new SimProcess({ uid: uidNext++ });
  const iopt = new IoPagetable();
  const buf = proc.mmap(64n * PAGE);
  const map = (page: number, n: number, iova: bigint) => {
    const pages = new IoptPages(proc.task, buf + BigInt(page) * PAGE, n, true);
    return iopt.mapPages([{ pages, startByte: 0n, length: BigInt(n) * PAGE }], BigInt(n) * PAGE, iova, IOMMU_READ | IOMMU_WRITE);
  };
  return { iopt, proc, buf, map };
}

test('views of compact rows: live fields, one pages identity, unmapped reads as unmapped', () => {
  const { iopt, proc, map } = oneIopt();
  map(0, 2, 0x10000n);
  const a = iopt.areaAt(0x10000n)!;
  const p = a.pages!;
  assert.equal(p, iopt.areaAt(0x11000n)!.pages, 'one pages object per row while it is alive');
  assert.equal(a.filled, false);
  assert.equal(p.npinned, 0);
  const d = new RunDomain();
  iopt.addDomain(d);
  assert.equal(a.filled, true, 'the view reads the row, not a snapshot');
  assert.equal(p.npinned, 2);
  assert.deepEqual([...p.holders.runs()], [[0, 2, 1]]);
  assert.equal(proc.mm.pins.runCount, 1);
  assert.equal(iopt.unmapIova(0x10000n, 2n * PAGE), 2n * PAGE);
  assert.equal(a.pages, null);
  assert.equal(a.filled, false);
  assert.equal(p.npinned, 0);
  assert.equal(p.refs, 0);
  assert.equal(proc.mm.pins.runCount, 0);
  iopt.removeDomain(d);
});

test('a field write on a view turns the row into object form; COPY and access pins share one pages object', () => {
  const { iopt, map } = oneIopt();
  map(0, 4, 0x10000n);
  const v = iopt.areaAt(0x10000n)!;
  v.numLocks++;
  assert.equal(iopt.areaAt(0x10000n)!.numLocks, 1);
  assert.throws(() => iopt.unmapIova(0x10000n, 4n * PAGE), (e: Errno) => e.code === E.EBUSY);
  v.numLocks--;
  // COPY: both areas map the same pages object.
  map(8, 1, 0x20000n);
  const list = iopt.getPages(0x20000n, PAGE);
  iopt.mapPages(list, PAGE, 0x30000n, IOMMU_READ);
  for (const s of list) s.pages.refs--;
  assert.equal(iopt.areaAt(0x20000n)!.pages, iopt.areaAt(0x30000n)!.pages);
  assert.equal(iopt.areaAt(0x20000n)!.pages!.refs, 1);
  // Access pins on a compact row: the pages object seen before the pin is the one pinned.
  map(12, 2, 0x40000n);
  const before = iopt.areaAt(0x40000n)!.pages!;
  iopt.accessPin(0x40000n, 2n * PAGE, true);
  assert.equal(iopt.areaAt(0x40000n)!.pages, before);
  assert.equal(before.npinned, 2);
  assert.equal(iopt.areaAt(0x40000n)!.numAccesses, 1);
  iopt.accessUnpin(0x40000n, 2n * PAGE);
  assert.equal(before.npinned, 0);
  assert.equal(iopt.unmapAll(), 8n * PAGE);
  assert.equal(iopt.areaCount, 0);
});

test('areas that do not fit a compact row: 4 GiB and longer, addresses past 2^48, many tasks', () => {
  const iopt = new IoPagetable();
  const proc = new SimProcess({ uid: uidNext++ });
  // 8 GiB (never pinned here) and a high user address: object form, same lookups.
  const big = new IoptPages(proc.task, 0x10000000n, 2 * 1024 * 1024, true);
  iopt.mapPages([{ pages: big, startByte: 0n, length: 8n << 30n }], 8n << 30n, 1n << 40n, IOMMU_READ);
  const high = new IoptPages(proc.task, 0xfff0_0000_0000_0000n, 1, true);
  iopt.mapPages([{ pages: high, startByte: 0n, length: PAGE }], PAGE, (1n << 64n) - 2n * PAGE, IOMMU_READ);
  assert.equal(iopt.areaAt((1n << 40n) + (5n << 30n))!.last, (1n << 40n) + (8n << 30n) - 1n);
  assert.equal(iopt.areaAt((1n << 64n) - PAGE - 1n)!.source.uptr, 0xfff0_0000_0000_0000n);
  assert.equal(iopt.firstArea(0n, (1n << 64n) - 1n)!.iova, 1n << 40n);
  assert.throws(() => iopt.checkIova((1n << 40n) + (8n << 30n) - PAGE, 2n * PAGE), (e: Errno) => e.code === E.EEXIST);
  // 300 mapping tasks: the first 255 fit the compact rows' task table, the rest go to object form.
  const procs = Array.from({ length: 300 }, () => new SimProcess({ uid: 0 }));
  procs.forEach((p, i) => {
    const pages = new IoptPages(p.task, 0x7f0000000000n, 1, true);
    iopt.mapPages([{ pages, startByte: 0n, length: PAGE }], PAGE, BigInt(i + 1) * PAGE, IOMMU_READ);
  });
  procs.forEach((p, i) => assert.equal(iopt.areaAt(BigInt(i + 1) * PAGE)!.source.sourceTask, p.task));
  assert.equal(iopt.unmapIova(PAGE, 300n * PAGE), 300n * PAGE);
  // Task slots are reused once their rows are gone.
  const again = new SimProcess({ uid: 0 });
  iopt.mapPages([{ pages: new IoptPages(again.task, 0x7f0000000000n, 1, true), startByte: 0n, length: PAGE }], PAGE, PAGE, IOMMU_READ);
  assert.equal(iopt.areaAt(PAGE)!.source.sourceTask, again.task);
  assert.equal(iopt.unmapAll(), (8n << 30n) + 2n * PAGE);
});

test('100k one-page areas: the area table stays at 20 bytes an area', () => {
  const { iopt, proc } = oneIopt();
  const n = 100_000;
  const buf = proc.mmap(BigInt(n) * PAGE);
  for (let i = 0; i < n; i++) {
    const pages = new IoptPages(proc.task, buf + BigInt(i) * PAGE, 1, true);
    iopt.mapPages([{ pages, startByte: 0n, length: PAGE }], PAGE, BigInt(i + 1) * PAGE, IOMMU_READ);
  }
  assert.ok(iopt.tableBytes() / n <= 21, `${iopt.tableBytes() / n} bytes an area`);
  assert.equal(iopt.areaAt(BigInt(n / 2) * PAGE + 5n)!.source.uptr, buf + BigInt(n / 2 - 1) * PAGE);
  assert.equal(iopt.unmapAll(), BigInt(n) * PAGE);
});

test('a stale view does not see a newer area at the same IOVA (compact or object form)', () => {
  const { iopt, map } = oneIopt();
  const d = new RunDomain();
  iopt.addDomain(d);
  map(0, 2, 0x10000n);
  const stale = iopt.areaAt(0x10000n)!;
  assert.equal(stale.filled, true);
  assert.equal(iopt.unmapIova(0x10000n, 2n * PAGE), 2n * PAGE);
  // A new area with the same IOVA, length and page offset, from other memory.
  map(8, 2, 0x10000n);
  assert.equal(stale.pages, null, 'the stale view reads as unmapped');
  assert.equal(stale.filled, false);
  assert.notEqual(stale.source, iopt.areaAt(0x10000n)!.source);
  // The same once the new row is in object form.
  const fresh = iopt.areaAt(0x10000n)!;
  fresh.numLocks++;
  assert.equal(stale.numLocks, 0, 'the stale view sees no lock of the new area');
  assert.equal(stale.pages, null);
  fresh.numLocks--;
  // A write through the stale view stays on the stale view.
  stale.numLocks++;
  assert.equal(iopt.areaAt(0x10000n)!.numLocks, 0);
  // Above 2^53 too (generations are keyed differently there).
  const high = 1n << 60n;
  map(16, 1, high);
  const staleHigh = iopt.areaAt(high)!;
  assert.equal(iopt.unmapIova(high, PAGE), PAGE);
  map(20, 1, high);
  assert.equal(staleHigh.pages, null);
  assert.equal(iopt.areaAt(high)!.filled, true);
  assert.equal(staleHigh.filled, false);
  assert.equal(iopt.unmapAll(), 3n * PAGE);
  iopt.removeDomain(d);
});
