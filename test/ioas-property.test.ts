// Property tests: random ALLOC/MAP/UNMAP/COPY/ALLOW_IOVAS/DESTROY sequences
// against a small reference model, with the engine's invariants checked after
// every step: areas never overlap, pins equal what domains cover, the charge
// equals the pinned pages, and a close leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IommufdFile, SimProcess, RunDomain, Engine, Errno, errno as E } from '../src/lib/index.js';
import type { IoptPages } from '../src/core/pages.js';

const PAGE = 4096n;
const NPAGES = 64; // the user buffer
const IOVA_PAGES = 64; // IOVA window used by fixed maps, in pages
const BASE_IOVA = 0x100000n;

type Op =
  | { k: 'alloc'; domain: boolean }
  | { k: 'destroy'; slot: number }
  | { k: 'map'; slot: number; page: number; n: number; iovaPage: number | null }
  | { k: 'unmap'; slot: number; iovaPage: number; n: number }
  | { k: 'unmapAll'; slot: number }
  | { k: 'copy'; src: number; dst: number; iovaPage: number; n: number; dstPage: number | null }
  | { k: 'allow'; slot: number; ranges: Array<[number, number]> };

const slot = fc.integer({ min: 0, max: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('alloc' as const), domain: fc.boolean() }),
  fc.record({ k: fc.constant('destroy' as const), slot }),
  fc.record({ k: fc.constant('map' as const), slot, page: fc.integer({ min: 0, max: NPAGES - 1 }), n: fc.integer({ min: 1, max: 8 }), iovaPage: fc.option(fc.integer({ min: 0, max: IOVA_PAGES }), { nil: null }) }),
  fc.record({ k: fc.constant('map' as const), slot, page: fc.integer({ min: 0, max: NPAGES - 1 }), n: fc.integer({ min: 1, max: 8 }), iovaPage: fc.integer({ min: 0, max: IOVA_PAGES }) }),
  fc.record({ k: fc.constant('unmap' as const), slot, iovaPage: fc.integer({ min: 0, max: IOVA_PAGES }), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ k: fc.constant('unmapAll' as const), slot }),
  fc.record({ k: fc.constant('copy' as const), src: slot, dst: slot, iovaPage: fc.integer({ min: 0, max: IOVA_PAGES }), n: fc.integer({ min: 1, max: 8 }), dstPage: fc.option(fc.integer({ min: 0, max: IOVA_PAGES }), { nil: null }) }),
  fc.record({ k: fc.constant('allow' as const), slot, ranges: fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 64 })), { maxLength: 3 }) }),
);

interface MArea { iova: bigint; last: bigint; }
interface MIoas { id: number; areas: MArea[]; domain: boolean; }

function code(fn: () => unknown): number {
  try { fn(); return 0; } catch (e) { if (e instanceof Errno) return e.code; throw e; }
}

let uid = 20000;

function checkInvariants(f: IommufdFile, model: Map<number, MIoas>): void {
  const pagesSeen = new Set<IoptPages>();
  const expectPins = new Map<number, number>(); // mm page index → count
  for (const m of model.values()) {
    const iopt = f.ioas(m.id).iopt;
    const areas = [...iopt.areasIn()];
    // Same areas as the model, never overlapping, ascending.
    assert.deepEqual(areas.map((a) => [a.iova, a.last]), [...m.areas].sort((a, b) => (a.iova < b.iova ? -1 : 1)).map((a) => [a.iova, a.last]));
    for (let i = 1; i < areas.length; i++) assert.ok(areas[i - 1]!.last < areas[i]!.iova, 'areas overlap');
    for (const a of areas) {
      assert.equal(a.filled, iopt.domains.length > 0, 'filled iff the IOAS has a domain');
      for (const d of iopt.domains) assert.equal(d.iovaToPhys(a.iova), a.source.paddr(a.startByte));
      pagesSeen.add(a.source);
    }
  }
  // Pins: each mm page is pinned once per distinct pages object holding it.
  let npinned = 0;
  for (const p of pagesSeen) {
    npinned += p.npinned;
    for (const [s, len, c] of p.holders.runs()) {
      assert.ok(c > 0);
      for (let i = s; i < s + len; i++) {
        const mmIdx = Number(p.uptr >> 12n) + i;
        expectPins.set(mmIdx, (expectPins.get(mmIdx) ?? 0) + 1);
      }
    }
    assert.equal(p.npinned, p.holders.covered);
  }
  const got = new Map<number, number>();
  for (const [s, len, c] of f.proc.mm.pins.runs()) for (let i = s; i < s + len; i++) got.set(i, c);
  assert.deepEqual(got, expectPins);
  // The charge equals the pinned pages (USER mode: a non-root process).
  assert.equal(f.proc.task.user.lockedVm, npinned);
  assert.equal(f.proc.mm.pinnedVm, npinned);
}

test('random IOAS sequences keep the invariants and match the model', () => {
  fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
    const proc = new SimProcess({ uid: uid++, capIpcLock: false });
    const f = new IommufdFile(proc, new Engine());
    const buf = proc.mmap(BigInt(NPAGES) * PAGE, { align: 1n << 21n });
    proc.mmap(PAGE * 16n); // not adjacent: the simulated mmap leaves a guard page
    const model = new Map<number, MIoas>();
    const slots: number[] = []; // live IOAS ids by slot
    const pick = (s: number) => slots.length ? slots[s % slots.length]! : 999;

    for (const op of ops) {
      switch (op.k) {
        case 'alloc': {
          const live = new Set([...model.keys()].concat(/* the file's scratch does not own IDs */));
          let want = 1; while (live.has(want)) want++;
          const id = f.ioasAlloc();
          assert.equal(id, want, 'lowest free ID');
          model.set(id, { id, areas: [], domain: op.domain });
          slots.push(id);
          if (op.domain) f.addDomain(id, new RunDomain());
          break;
        }
        case 'destroy': {
          const id = pick(op.slot);
          const rc = code(() => f.destroy(id));
          if (!model.has(id)) assert.equal(rc, E.ENOENT);
          else { assert.equal(rc, 0); model.delete(id); slots.splice(slots.indexOf(id), 1); }
          break;
        }
        case 'map': {
          const id = pick(op.slot);
          const m = model.get(id);
          const len = BigInt(op.n) * PAGE;
          const va = buf + BigInt(op.page) * PAGE;
          let got: bigint | undefined;
          const rc = code(() => { got = f.map({ ioasId: id, userVa: va, length: len, iova: op.iovaPage === null ? undefined : BASE_IOVA + BigInt(op.iovaPage) * PAGE }); });
          if (!m) { assert.equal(rc, E.ENOENT); break; }
          if (m.domain && op.page + op.n > NPAGES) {
            // Past the end of the buffer: lazy without a domain, EFAULT when a domain must pin.
            const overlap = op.iovaPage !== null && m.areas.some((a) => a.iova <= BASE_IOVA + BigInt(op.iovaPage!) * PAGE + len - 1n && a.last >= BASE_IOVA + BigInt(op.iovaPage!) * PAGE);
            assert.equal(rc, overlap ? E.EEXIST : E.EFAULT);
            break;
          }
          if (op.iovaPage !== null) {
            const iova = BASE_IOVA + BigInt(op.iovaPage) * PAGE;
            const overlap = m.areas.some((a) => a.iova <= iova + len - 1n && a.last >= iova);
            assert.equal(rc, overlap ? E.EEXIST : 0);
          } else if (rc !== 0) {
            assert.equal(rc, E.ENOSPC, 'auto map fails only for lack of space');
            break;
          }
          if (rc === 0) m.areas.push({ iova: got!, last: got! + len - 1n });
          break;
        }
        case 'unmap': case 'unmapAll': {
          const id = pick(op.slot);
          const m = model.get(id);
          const iova = op.k === 'unmap' ? BASE_IOVA + BigInt(op.iovaPage) * PAGE : 0n;
          const len = op.k === 'unmap' ? BigInt(op.n) * PAGE : (1n << 64n) - 1n;
          let got = 0n;
          const rc = code(() => { got = f.unmap(id, iova, len); });
          if (!m) { assert.equal(rc, E.ENOENT); break; }
          const last = op.k === 'unmap' ? iova + len - 1n : (1n << 64n) - 1n;
          const hit = m.areas.filter((a) => a.iova <= last && a.last >= iova).sort((a, b) => (a.iova < b.iova ? -1 : 1));
          let want = 0; let bytes = 0n;
          for (const a of hit) {
            if (a.iova < iova || a.last > last) { want = E.ENOENT; break; }
            m.areas.splice(m.areas.indexOf(a), 1);
            bytes += a.last - a.iova + 1n;
          }
          if (!want && !hit.length && op.k === 'unmap') want = E.ENOENT;
          assert.equal(rc, want);
          if (!rc) assert.equal(got, bytes);
          break;
        }
        case 'copy': {
          const src = pick(op.src), dst = pick(op.dst);
          const ms = model.get(src), md = model.get(dst);
          const sIova = BASE_IOVA + BigInt(op.iovaPage) * PAGE;
          const len = BigInt(op.n) * PAGE;
          let got: bigint | undefined;
          const dIova = op.dstPage === null ? undefined : BASE_IOVA + BigInt(op.dstPage) * PAGE;
          const rc = code(() => { got = f.copy({ srcIoasId: src, dstIoasId: dst, srcIova: sIova, length: len, dstIova: dIova }); });
          if (!ms) { assert.equal(rc, E.ENOENT); break; }
          // The source must be covered by contiguous areas.
          let cur = sIova; const last = sIova + len - 1n; const pieces: bigint[] = [];
          for (;;) {
            const a = ms.areas.find((x) => x.iova <= cur && x.last >= cur);
            if (!a) break;
            if (pieces.length && a.iova !== cur) break;
            pieces.push((a.last < last ? a.last : last) - cur + 1n);
            if (a.last >= last) { cur = last + 1n; break; }
            cur = a.last + 1n;
          }
          if (cur <= last) { assert.equal(rc, E.ENOENT); break; }
          if (!md) { assert.equal(rc, E.ENOENT); break; }
          if (dIova !== undefined) {
            const overlap = md.areas.some((a) => a.iova <= dIova + len - 1n && a.last >= dIova);
            if (overlap) assert.equal(rc, E.EEXIST);
            else if (rc === E.EFAULT) { assert.ok(md.domain, 'EFAULT only when a domain must pin'); break; }
            else assert.equal(rc, 0);
          } else if (rc === E.EFAULT) { assert.ok(md.domain); break; }
          else if (rc) { assert.equal(rc, E.ENOSPC); break; }
          if (!rc) { let at = got!; for (const n of pieces) { md.areas.push({ iova: at, last: at + n - 1n }); at += n; } }
          break;
        }
        case 'allow': {
          const id = pick(op.slot);
          const ranges: Array<{ start: bigint; last: bigint }> = [];
          let at = 0n;
          for (const [gap, n] of op.ranges) { const s = at + BigInt(gap) * PAGE * 16n + PAGE; ranges.push({ start: s, last: s + BigInt(n) * PAGE * 16n - 1n }); at = s + BigInt(n) * PAGE * 16n; }
          const rc = code(() => f.allowIovas(id, ranges));
          assert.equal(rc, model.has(id) ? 0 : E.ENOENT);
          break;
        }
      }
      checkInvariants(f, model);
    }
    f.close();
    assert.equal(f.ctx.objects.empty, true);
    assert.equal(proc.mm.pins.covered, 0, 'close drops every pin');
    assert.equal(proc.task.user.lockedVm, 0, 'close drops every charge');
    assert.equal(proc.mm.pinnedVm, 0);
  }), { numRuns: 300 });
});
