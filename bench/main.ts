// npm run bench: the engine's speed and memory figures, as ratios measured in
// one run (never thresholds in tests). Prints a table.
import { performance } from 'node:perf_hooks';
import { IommufdFile, SimProcess, RunDomain, Engine } from '../src/lib/index.js';

const PAGE = 4096n;
const GiB = 1n << 30n;
const MiB = 1n << 20n;

interface Row { name: string; value: string; target?: string }
const rows: Row[] = [];
/** Keeps measured objects reachable until the end (V8 may free what is no longer used). */
const keepAlive: unknown[] = [];
const row = (name: string, value: string, target?: string) => { rows.push({ name, value, target }); };

function fresh(): { f: IommufdFile; ioas: number; proc: SimProcess } {
  const proc = new SimProcess({ uid: 0 });
  const f = new IommufdFile(proc, new Engine());
  return { f, ioas: f.ioasAlloc(), proc };
}

function timeIt(fn: () => void, minMs = 200): number {
  // Returns ms per call.
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= minMs) return dt / n;
    n *= 2;
  }
}

// 1. map+unmap of 1 GiB of contiguous memory, one run, with a domain (pins and page-table runs).
{
  const { f, ioas, proc } = fresh();
  f.addDomain(ioas, new RunDomain());
  const buf = proc.mmap(GiB, { align: 2n * MiB });
  const perRun = timeIt(() => { f.map({ ioasId: ioas, userVa: buf, length: GiB, iova: GiB }); f.unmap(ioas, GiB, GiB); });
  // Per-page baseline of the same engine: the same GiB as 262144 one-page MAPs and their UNMAP.
  const pages = Number(GiB / PAGE);
  const t0 = performance.now();
  for (let i = 0; i < pages; i++) f.map({ ioasId: ioas, userVa: buf + BigInt(i) * PAGE, length: PAGE, iova: GiB + BigInt(i) * PAGE });
  f.unmap(ioas, GiB, GiB);
  const perPage = performance.now() - t0;
  row('1 GiB map+unmap as one run (with a domain)', `${(perRun * 1000).toFixed(1)} µs per run`, '≤ 10 µs');
  row('1 GiB as 262144 page MAPs + UNMAP (baseline)', `${perPage.toFixed(0)} ms`);
  row('run vs per-page speed-up', `${(perPage / perRun).toFixed(0)}×`, '≥ 10×');
}

// 2. per-op cost at 100 and 100 000 areas.
function perOp(nAreas: number): { map: number; unmap: number; lookup: number } {
  const { f, ioas, proc } = fresh();
  const buf = proc.mmap(PAGE * 4n);
  for (let i = 0; i < nAreas; i++) f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: BigInt(i + 1) * 2n * PAGE });
  const iopt = f.ioas(ioas).iopt;
  const free = BigInt(nAreas + 10) * 2n * PAGE;
  const mapUnmap = timeIt(() => { f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: free }); f.unmap(ioas, free, PAGE); });
  let k = 0;
  const lookup = timeIt(() => { iopt.areaAt(BigInt((k++ % nAreas) + 1) * 2n * PAGE); });
  f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: free });
  const unmapOnly = timeIt(() => { f.unmap(ioas, free, PAGE); f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: free }); });
  return { map: mapUnmap, unmap: unmapOnly, lookup };
}
{
  const small = perOp(100), big = perOp(100_000);
  const r = (a: number, b: number) => `${(b / a).toFixed(2)}× (${(a * 1000).toFixed(2)} → ${(b * 1000).toFixed(2)} µs)`;
  row('map+unmap per op, 100k vs 100 areas', r(small.map, big.map), '≤ 2×');
  row('unmap+map per op, 100k vs 100 areas', r(small.unmap, big.unmap), '≤ 2×');
  row('lookup per op, 100k vs 100 areas', r(small.lookup, big.lookup), '≤ 2×');
}

// 3. heap per mapped 4 KiB page.
function heap(): number { (globalThis as { gc?: () => void }).gc?.(); return process.memoryUsage().heapUsed; }
{
  const { f, ioas, proc } = fresh();
  f.addDomain(ioas, new RunDomain());
  const buf = proc.mmap(64n * GiB, { align: 2n * MiB });
  const h0 = heap();
  f.map({ ioasId: ioas, userVa: buf, length: 64n * GiB, iova: GiB });
  const h1 = heap();
  keepAlive.push(f);
  row('heap per page, 64 GiB contiguous (one area, pinned, domain)', `${((h1 - h0) / Number(64n * GiB / PAGE)).toFixed(4)} B`, '≤ 1 B');
}
{
  const { f, ioas, proc } = fresh();
  const n = 100_000;
  const buf = proc.mmap(BigInt(n) * PAGE);
  const h0 = heap();
  for (let i = 0; i < n; i++) f.map({ ioasId: ioas, userVa: buf + BigInt(i) * PAGE, length: PAGE, iova: BigInt(i + 1) * PAGE });
  const h1 = heap();
  keepAlive.push(f);
  row('heap per page, every page its own area (100k areas)', `${((h1 - h0) / n).toFixed(0)} B`, '≤ 24 B');
}

// 4. the shim's figures, when the shim bench is present.
try {
  const shimBench = './shim.js'; // written with the shim; absent until then
  const mod = (await import(shimBench)) as { runShimBench?: () => Promise<Row[]> };
  if (mod.runShimBench) for (const r of await mod.runShimBench()) rows.push(r);
} catch (e) {
  row('shim round trip', `not measured: ${(e as Error).message.split('\n')[0]}`);
}

void keepAlive.length;
const w = Math.max(...rows.map((r) => r.name.length));
const v = Math.max(...rows.map((r) => r.value.length));
console.log(`${'figure'.padEnd(w)}  ${'measured'.padEnd(v)}  target`);
for (const r of rows) console.log(`${r.name.padEnd(w)}  ${r.value.padEnd(v)}  ${r.target ?? ''}`);
