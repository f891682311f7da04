// npm run bench: the engine's speed and memory figures, as ratios measured in
// one run (never thresholds in tests). Prints a table.
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { IommufdFile, SimProcess, RunDomain, Engine, Machine, PLATFORMS, physAddr } from '../src/lib/index.js';
import { ProcessAddressSpace } from '../src/server/process-memory.js';
import { spawnCollect } from '../test/shim/build.js';

const PAGE = 4096n;
const GiB = 1n << 30n;
const MiB = 1n << 20n;

/** A figure; `met` is the verdict when it has a target. */
interface Row { name: string; value: string; target?: string; met?: boolean }
const rows: Row[] = [];
/** Keeps measured objects reachable until the end (V8 may free what is no longer used). */
const keepAlive: unknown[] = [];
const row = (name: string, value: string, target?: string, met?: boolean) => { rows.push({ name, value, target, met }); };

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
  // A ratio against the same engine's per-page path, not an absolute time: a
  // busy or slower machine moves both sides alike.
  row('1 GiB map+unmap as one run (with a domain)', `${(perRun * 1000).toFixed(1)} µs per run`);
  row('1 GiB as 262144 page MAPs + UNMAP (baseline)', `${perPage.toFixed(0)} ms`);
  row('run vs per-page speed-up', `${(perPage / perRun).toFixed(0)}×`, '≥ 10000×', perPage / perRun >= 10_000);
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
/** Median of three perOp runs, figure by figure (a shared machine has spikes). */
function perOpMedian(nAreas: number): { map: number; unmap: number; lookup: number } {
  const r = [perOp(nAreas), perOp(nAreas), perOp(nAreas)];
  const med = (k: 'map' | 'unmap' | 'lookup') => r.map((x) => x[k]).sort((a, b) => a - b)[1]!;
  return { map: med('map'), unmap: med('unmap'), lookup: med('lookup') };
}
{
  const small = perOpMedian(100), big = perOpMedian(100_000);
  const r = (a: number, b: number) => `${(b / a).toFixed(2)}× (${(a * 1000).toFixed(2)} → ${(b * 1000).toFixed(2)} µs)`;
  row('map+unmap per op, 100k vs 100 areas', r(small.map, big.map), '≤ 2×', big.map / small.map <= 2);
  row('unmap+map per op, 100k vs 100 areas', r(small.unmap, big.unmap), '≤ 2×', big.unmap / small.unmap <= 2);
  row('lookup per op, 100k vs 100 areas', r(small.lookup, big.lookup), '≤ 2×', big.lookup / small.lookup <= 2);
}

// 3. heap per mapped 4 KiB page. The area table lives in typed arrays, whose
// backing stores V8 keeps outside heapUsed: count them too (arrayBuffers).
// ArrayBuffer stores are released by a concurrent sweeper after GC: settle first.
async function heap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) { gc?.(); await new Promise((r) => setTimeout(r, 20)); }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
{
  const { f, ioas, proc } = fresh();
  f.addDomain(ioas, new RunDomain());
  const buf = proc.mmap(64n * GiB, { align: 2n * MiB });
  const h0 = await heap();
  f.map({ ioasId: ioas, userVa: buf, length: 64n * GiB, iova: GiB });
  const h1 = await heap();
  keepAlive.push(f);
  const perPage = (h1 - h0) / Number(64n * GiB / PAGE);
  row('heap per page, 64 GiB contiguous (one area, pinned, domain)', `${perPage.toFixed(4)} B`, '≤ 1 B', perPage <= 1);
}
/** Map and unmap one page far away first: the code the loop runs is compiled before h0, not billed per page. */
function warmUp(f: IommufdFile, ioas: number, buf: bigint): void {
  for (let i = 0; i < 1000; i++) { f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: 1n << 40n }); f.unmap(ioas, 1n << 40n, PAGE); }
}
/** Bytes per area of 100k one-page MAPs (median of 3 fresh runs: heap deltas jitter by a few hundred KB). */
async function perAreaHeap(withDomain: boolean): Promise<{ total: number; table: number; domain: number }> {
  const n = 100_000;
  const runs: Array<{ total: number; table: number; domain: number }> = [];
  for (let r = 0; r < 3; r++) {
    const { f, ioas, proc } = fresh();
    const buf = proc.mmap(BigInt(n) * PAGE);
    const d = new RunDomain();
    if (withDomain) f.addDomain(ioas, d);
    warmUp(f, ioas, buf);
    const h0 = await heap();
    for (let i = 0; i < n; i++) f.map({ ioasId: ioas, userVa: buf + BigInt(i) * PAGE, length: PAGE, iova: BigInt(i + 1) * PAGE });
    const h1 = await heap();
    runs.push({ total: (h1 - h0) / n, table: f.ioas(ioas).iopt.tableBytes() / n, domain: d.tableBytes() / n });
    f.close();
  }
  runs.sort((a, b) => a.total - b.total);
  return runs[1]!;
}
{
  const plain = await perAreaHeap(false);
  row('heap per page, every page its own area (100k areas)', `${plain.total.toFixed(1)} B`, '≤ 24 B', plain.total <= 24);
  row("  of which the io_pagetable's area table", `${plain.table.toFixed(1)} B`);
  // With a domain every area is filled (pinned, charged, mapped); the domain's
  // own page table (hw/run-domain) is the IOMMU's memory, not the io_pagetable's.
  const dom = await perAreaHeap(true);
  row("heap per area with a domain attached (incl. the domain's page table)", `${dom.total.toFixed(1)} B`, '≤ 48 B', dom.total <= 48);
  row("  of which the io_pagetable's area table", `${dom.table.toFixed(1)} B`);
  row("  of which the domain's run rows", `${dom.domain.toFixed(1)} B`);
}

// 4. the e1000e loop in the library: NIC0 sends 1514-byte frames from a TX
// ring, NIC1 takes them into its RX ring (DMA through the domain both ways,
// write-backs, counters, interrupts); against copying the same bytes with
// the process's own memory writes.
{
  const m = new Machine('qemu-vtd');
  const f = m.openIommufd();
  const [n0, n1] = [f.openVfioDevice(0), f.openVfioDevice(1)];
  const ioas = f.ioasAlloc();
  for (const n of [n0, n1]) { n.bind(f); n.attach(ioas); n.enableBusMaster(); }
  const IOVA = 0x100000n, buf = f.proc.mmap(0x40000n);
  f.map({ ioasId: ioas, userVa: buf, length: 0x40000n, iova: IOVA });
  const NDESC = 256, LEN = 1514;
  const ring = new Uint8Array(16 * NDESC), dv = new DataView(ring.buffer);
  for (let i = 0; i < NDESC; i++) {
    dv.setBigUint64(16 * i, IOVA + 0x2000n + BigInt(0x800 * (i % 64)), true);
    dv.setUint32(16 * i + 8, LEN | (0xb << 24), true);
  }
  f.proc.mm.write(buf, ring); // the TX ring at 0; RX descriptors are the same shape (buffer, then status)
  f.proc.mm.write(buf + 0x1000n + 0n, ring); // the RX ring at 0x1000 (only the first 0x1000 bytes: 256 descriptors need 4 KiB)
  f.proc.mm.write(buf + 0x2000n, new Uint8Array(LEN).fill(0xff)); // broadcast frames
  n1.setReg(0x2800, Number(IOVA) + 0x1000); n1.setReg(0x2808, 16 * NDESC); n1.setReg(0x100, 0x8002);
  n0.setReg(0x3800, Number(IOVA)); n0.setReg(0x3808, 16 * NDESC); n0.setReg(0x400, 0x2);
  let tail = 0;
  const perFrame = timeIt(() => {
    tail = (tail + 1) % NDESC;
    n1.setReg(0x2818, (tail + NDESC - 1) % NDESC);
    n0.setReg(0x3818, tail);
  });
  const frame = new Uint8Array(LEN);
  const perCopy = timeIt(() => { f.proc.mm.write(buf + 0x2000n, frame); f.proc.mm.write(buf + 0x2800n, frame); });
  row('e1000e loop, 1514-byte frames through the wire', `${Math.round(1000 / perFrame)} frames/s`);
  row('  the same bytes as plain memory writes (read + write)', `${(perCopy / perFrame).toFixed(2)}× the loop's time per frame`);
}

// 5. device DMA into a real process's memory (the server's path: the
// function's DmaEngine through a warm domain, /proc/PID/mem behind it)
// against raw /proc/PID/mem writes of the same sizes, in the same run.
{
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 100));
    const engine = new Engine({ platform: PLATFORMS['qemu-vtd']! });
    const mm = new ProcessAddressSpace(child.pid!, engine.frames);
    const maps = fs.readFileSync(`/proc/${child.pid}/maps`, 'utf8').split('\n');
    const stack = maps.find((l) => l.endsWith('[stack]'))!;
    const [lo, hi] = stack.split(' ')[0]!.split('-').map((x) => BigInt('0x' + x)) as [bigint, bigint];
    const span = 0x10000n, va = hi - span - 0x1000n;
    if (va < lo) throw new Error('stack too small');
    engine.memory.addAddressSpace(mm);
    const fn = engine.vfioDevices[0]!.pci;
    const domain = Object.assign(new RunDomain(), { kind: 'paging' as const });
    domain.map(0x100000n, physAddr(mm, va), span, 3);
    fn.group.domain = domain as unknown as typeof fn.group.domain;
    const dma = engine.dma[0]!;
    const memFd = fs.openSync(`/proc/${child.pid}/mem`, 'r+');
    for (const size of [64, 1514, 65536]) {
      const data = new Uint8Array(size).fill(0x5a);
      const viaDma = timeIt(() => { if (!dma.writeFrom(0x100000n, data)) throw new Error('DMA faulted'); });
      const raw = timeIt(() => { fs.writeSync(memFd, data, 0, size, Number(va)); });
      const mbps = (ms: number) => (size / ms / 1000).toFixed(1);
      row(`device DMA write ${size} B into a process (vs /proc/PID/mem)`, `${mbps(viaDma)} MB/s vs ${mbps(raw)} MB/s: ${(raw / viaDma).toFixed(2)}×`, '≥ 0.5×', raw / viaDma >= 0.5);
    }
    fs.closeSync(memFd);
    mm.close();
  } catch (e) {
    row('device DMA into a process', `not measured: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    child.kill();
  }
}

// 7. the kernel's iommufd selftest (246 cases): under the emulator (wall time
// of oracle/selftests, which reserves huge pages as the guest has them)
// against the program's own time on the oracle's real kernel in qemu (boot
// excluded), when the oracle has built both. BENCH_SELFTESTS=0 skips it.
async function selftestRatio(): Promise<void> {
  const cache = process.env.IOMMUFD_EMU_ORACLE_CACHE ?? `${os.homedir()}/.cache/iommufd-emu/oracle`;
  const dir = fs.existsSync(`${cache}/selftests`) ? fs.readdirSync(`${cache}/selftests`).filter((d) => d.startsWith('linux-source')).sort().pop() : undefined;
  const bin = dir ? `${cache}/selftests/${dir}` : '';
  if (process.env.BENCH_SELFTESTS === '0' || !dir || !fs.existsSync(`${bin}/iommufd.static`) || !fs.existsSync(`${cache}/kernel`)) {
    row('iommufd selftest, emulator vs kernel in qemu', `not measured: ${process.env.BENCH_SELFTESTS === '0' ? 'BENCH_SELFTESTS=0' : "the oracle's selftests and kernel are not built (npm run oracle -- selftests --kernel)"}`);
    return;
  }
  const out = fs.mkdtempSync(`${os.tmpdir()}/iommufd-emu-bench-`);
  try {
    const t0 = performance.now();
    const emu = await spawnCollect('bash', ['oracle/selftests', '--prog', 'iommufd', '--quiet', '--hugepages', '--out', out]);
    const emuMs = performance.now() - t0;
    const kern = await spawnCollect('bash', ['oracle/oracle', 'run', '--timeout=900', `${bin}/iommufd.static`]);
    const ms = /iommufd\.static: exit=(\d+) ms=(\d+)/.exec(kern.err);
    if (emu.code !== 0 || !ms) {
      row('iommufd selftest, emulator vs kernel in qemu', `not measured: ${emu.code !== 0 ? `the emulator run exited ${emu.code}` : 'no time from the oracle run'}`);
      return;
    }
    const kernMs = Number(ms[2]);
    row('iommufd selftest under the emulator (wall)', `${(emuMs / 1000).toFixed(1)} s`);
    row("iommufd selftest on the oracle's kernel (in-guest, qemu TCG)", `${(kernMs / 1000).toFixed(1)} s`);
    row('  emulator / kernel', `${(emuMs / kernMs).toFixed(2)}×`, '≤ 1.0×', emuMs / kernMs <= 1.0);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
await selftestRatio();

// 6. the shim's figures, when the shim bench is present.
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
const t = Math.max(6, ...rows.map((r) => (r.target ?? '').length));
const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`machine: ${os.cpus().length} CPUs, load average ${load} (figures from a busy machine are noisy; the ratios less so)`);
console.log(`${'figure'.padEnd(w)}  ${'measured'.padEnd(v)}  ${'target'.padEnd(t)}  verdict`);
for (const r of rows) {
  const verdict = r.met === undefined ? '' : r.met ? 'meets' : 'misses';
  console.log(`${r.name.padEnd(w)}  ${r.value.padEnd(v)}  ${(r.target ?? '').padEnd(t)}  ${verdict}`.trimEnd());
}
const judged = rows.filter((r) => r.met !== undefined);
console.log(`bench: ${judged.filter((r) => r.met).length} of ${judged.length} targets met`);
