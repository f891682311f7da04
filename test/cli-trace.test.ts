// strace's habits in `run`'s trace: -o FILE, -t/-tt/-ttt timestamps, -e
// trace=NAME|CLASS filters, -c/-C summary tables, and the fd number an open
// returned. The program is the README's example (examples/hello-iommufd.c):
// open, IOAS_ALLOC, IOAS_MAP, IOVA_RANGES, IOAS_UNMAP, a second UNMAP that
// fails with ENOENT, close.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, compileClient, compileExample, ensureShim, removeTempDir, tempDir } from './shim/build.js';

let hello = '';
let decode = '';
before(() => {
  ensureShim();
  hello = compileExample('hello-iommufd');
  decode = compileClient('trace_decode', ['-I', path.join(ROOT, 'test/conformance/include')]);
});
after(() => removeTempDir());

let seq = 0;
/** Run hello under `run ARGS -o FILE`; returns the trace file's lines and the run's stderr. */
function traced(args: string[]): { lines: string[]; stderr: string } {
  const file = path.join(tempDir(), `trace-${seq++}.log`);
  const r = spawnSync(process.execPath, [BIN, 'run', ...args, '-o', file, '--', hello], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^second unmap: No such file or directory$/m, 'the program ran to its end');
  return { lines: fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== ''), stderr: r.stderr };
}

/** The call name of a trace line. */
function callOf(line: string): string {
  return /^\[\d+\] (?:[\d:.]+ )?([A-Za-z_|]+)/.exec(line)?.[1] ?? `?${line}`;
}

const ALL = ['open', 'IOMMU_IOAS_ALLOC', 'IOMMU_IOAS_MAP', 'IOMMU_IOAS_IOVA_RANGES', 'IOMMU_IOAS_UNMAP', 'IOMMU_IOAS_UNMAP', 'release'];

describe('run -o FILE', () => {
  it('writes every call to FILE and nothing to stderr; open shows its fd number', () => {
    const { lines, stderr } = traced([]);
    assert.deepEqual(lines.map(callOf), ALL);
    assert.doesNotMatch(stderr, /IOMMU_/);
    assert.match(lines[0]!, /^\[\d+\] open\("\/dev\/iommu"\) = 3$/, 'the program\'s first fd is 3');
    assert.match(lines[5]!, /IOMMU_IOAS_UNMAP\(.*\) = -1 ENOENT/);
  });
});

describe('run -t, -tt, -ttt', () => {
  const forms: Array<[string, RegExp]> = [
    ['-t', /^\[\d+\] \d\d:\d\d:\d\d [A-Za-z]/],
    ['-tt', /^\[\d+\] \d\d:\d\d:\d\d\.\d{6} [A-Za-z]/],
    ['-ttt', /^\[\d+\] \d{10}\.\d{6} [A-Za-z]/],
  ];
  for (const [flag, re] of forms) {
    it(`${flag}: every line carries the time after its pid`, () => {
      const { lines } = traced([flag]);
      assert.deepEqual(lines.map(callOf), ALL);
      for (const l of lines) assert.match(l, re);
    });
  }

  it('-ttt: the times are now, and do not go backwards', () => {
    const t0 = Date.now() / 1000;
    const { lines } = traced(['-ttt']);
    const ts = lines.map((l) => Number(/^\[\d+\] (\d+\.\d+) /.exec(l)![1]));
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! >= ts[i - 1]!, `${lines[i - 1]}\n${lines[i]}`);
    assert.ok(ts[0]! >= t0 - 1 && ts[ts.length - 1]! <= Date.now() / 1000 + 1);
  });
});

describe('run -e trace=SET', () => {
  const cases: Array<[string, string[]]> = [
    ['trace=IOMMU_IOAS_UNMAP', ['IOMMU_IOAS_UNMAP', 'IOMMU_IOAS_UNMAP']],
    ['IOMMU_IOAS_MAP,open', ['open', 'IOMMU_IOAS_MAP']],
    ['trace=iommu_ioas_alloc', ['IOMMU_IOAS_ALLOC']],
    ['trace=ioas', ALL.filter((n) => n.startsWith('IOMMU_IOAS_'))],
    ['trace=%file', ['open', 'release']],
    ['trace=!ioas', ['open', 'release']],
    ['trace=!IOMMU_IOAS_UNMAP,open', ['IOMMU_IOAS_ALLOC', 'IOMMU_IOAS_MAP', 'IOMMU_IOAS_IOVA_RANGES', 'release']],
    ['trace=hwpt', []],
    ['trace=all', ALL],
  ];
  for (const [set, expected] of cases) {
    it(`-e ${set}`, () => {
      assert.deepEqual(traced(['-e', set]).lines.map(callOf), expected);
    });
  }

  it('-e without --trace, -o or -c traces to stderr', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', '-e', 'trace=IOMMU_IOAS_MAP', '--', hello], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stderr.split('\n').filter((l) => l).map(callOf), ['IOMMU_IOAS_MAP']);
  });
});

/** The summary table's rows: name → [calls, errors, usecs/call, seconds]. */
function table(lines: string[]): Map<string, { calls: number; errors: number; usecs: number; seconds: number; pct: number }> {
  const i = lines.findIndex((l) => /^% time +seconds +usecs\/call +calls +errors +call$/.test(l));
  assert.ok(i >= 0, `a table header in\n${lines.join('\n')}`);
  assert.match(lines[i + 1]!, /^-{6} -{11} -{11} -{9} -{9} -{16}$/);
  const rows = new Map<string, { calls: number; errors: number; usecs: number; seconds: number; pct: number }>();
  for (const l of lines.slice(i + 2)) {
    if (l.startsWith('---')) continue;
    const m = /^ *([\d.]+) +([\d.]+) +(\d+) +(\d+) +(\d*) (\S+)$/.exec(l);
    assert.ok(m, `a table row: ${l}`);
    rows.set(m[6]!, { pct: Number(m[1]), seconds: Number(m[2]), usecs: Number(m[3]), calls: Number(m[4]), errors: Number(m[5] || 0) });
  }
  return rows;
}

describe('run -c, -C', () => {
  it('-c: a table of calls, errors and time per call name, instead of the lines', () => {
    const { lines } = traced(['-c']);
    assert.equal(lines.filter((l) => l.startsWith('[')).length, 0, 'no trace lines');
    const t = table(lines);
    assert.deepEqual([...t.keys()].sort(), ['IOMMU_IOAS_ALLOC', 'IOMMU_IOAS_IOVA_RANGES', 'IOMMU_IOAS_MAP', 'IOMMU_IOAS_UNMAP', 'open', 'release', 'total']);
    assert.deepEqual({ calls: t.get('IOMMU_IOAS_UNMAP')!.calls, errors: t.get('IOMMU_IOAS_UNMAP')!.errors }, { calls: 2, errors: 1 });
    assert.deepEqual({ calls: t.get('IOMMU_IOAS_MAP')!.calls, errors: t.get('IOMMU_IOAS_MAP')!.errors }, { calls: 1, errors: 0 });
    assert.deepEqual({ calls: t.get('total')!.calls, errors: t.get('total')!.errors }, { calls: 7, errors: 1 });
    assert.equal(t.get('total')!.pct, 100);
    const names = [...t.keys()].filter((n) => n !== 'total');
    const sum = names.reduce((s, n) => s + t.get(n)!.seconds, 0);
    assert.ok(Math.abs(sum - t.get('total')!.seconds) < 1e-5, 'the total is the sum');
    assert.ok(t.get('IOMMU_IOAS_MAP')!.seconds > 0, 'ioctls are timed');
    for (let i = 1; i < names.length; i++) assert.ok(t.get(names[i - 1]!)!.seconds >= t.get(names[i]!)!.seconds, 'most time first');
  });

  it('-C: the lines and the table; -e narrows both', () => {
    const { lines } = traced(['-C', '-e', 'trace=IOMMU_IOAS_UNMAP']);
    assert.deepEqual(lines.filter((l) => l.startsWith('[')).map(callOf), ['IOMMU_IOAS_UNMAP', 'IOMMU_IOAS_UNMAP']);
    assert.deepEqual([...table(lines).keys()], ['IOMMU_IOAS_UNMAP', 'total']);
  });

  it('-c without -o: the table goes to stderr at exit', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', '-c', '--', hello], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(table(r.stderr.split('\n').filter((l) => l)).get('total')!.calls, 7);
  });
});

describe('serve -c', () => {
  it('counts the calls of the clients that join it and prints the table when stopped', { timeout: 30_000 }, async () => {
    const file = path.join(tempDir(), `serve-${seq++}.log`);
    const server = spawn(process.execPath, [BIN, 'serve', '-c', '-o', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    server.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    try {
      const sock = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.includes('\n')) resolve(out.trim()); });
        void exited.then(() => reject(new Error(`serve exited: ${err}`)));
      });
      for (let i = 0; i < 2; i++) {
        const r = spawnSync(process.execPath, [BIN, 'run', '--connect', sock, '--', hello], { encoding: 'utf8', timeout: 20_000 });
        assert.equal(r.status, 0, r.stderr);
      }
    } finally {
      server.kill('SIGTERM');
    }
    assert.equal(await exited, 0, err);
    const t = table(fs.readFileSync(file, 'utf8').split('\n').filter((l) => l));
    assert.deepEqual({ calls: t.get('total')!.calls, errors: t.get('total')!.errors }, { calls: 14, errors: 2 });
    assert.equal(t.get('IOMMU_IOAS_UNMAP')!.calls, 4);
  });
});

describe('run -f (always on): children', () => {
  it("a forked child's calls are traced under its own pid", () => {
    const fork = compileClient('fork');
    const file = path.join(tempDir(), `fork-${seq++}.log`);
    const r = spawnSync(process.execPath, [BIN, 'run', '-o', file, '--', fork], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l);
    const parent = /^\[(\d+)\] open\("\/dev\/iommu"\) = 3$/.exec(lines[0]!)?.[1];
    assert.ok(parent, lines[0]);
    const child = lines.map((l) => /^\[(\d+)\]/.exec(l)?.[1]).find((p) => p !== parent);
    assert.ok(child, 'a second pid');
    const ofChild = lines.filter((l) => l.startsWith(`[${child}] `)).map(callOf);
    assert.deepEqual(ofChild, [`[${child}] IOMMU_OPTION`, `[${child}] IOMMU_IOAS_ALLOC`, `[${child}] IOMMU_IOAS_MAP`, `[${child}] IOMMU_IOAS_MAP`].map((x) => x.split(' ')[1]));
    assert.match(lines.find((l) => l.startsWith(`[${child}] IOMMU_IOAS_ALLOC`))!, /= 0 \{out_ioas_id=2\}/);
    assert.match(lines.filter((l) => l.startsWith(`[${child}] IOMMU_IOAS_MAP`))[1]!, /= -1 EEXIST/);
  });
});

describe('decoded payloads and arrays (test/shim/trace_decode.c on qemu-vtd)', () => {
  /** Run the client with `args`; its printed IDs and the trace's call lines without pid and time. */
  function decoded(args: string[]): { ids: Record<string, number>; calls: Map<string, string[]> } {
    const file = path.join(tempDir(), `decode-${seq++}.log`);
    const r = spawnSync(process.execPath, [BIN, 'run', '--platform', 'qemu-vtd', ...args, '-o', file, '--', decode], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const ids: Record<string, number> = {};
    for (const m of r.stdout.matchAll(/(\w+) (\d+)/g)) ids[m[1]!] = Number(m[2]);
    const [e0, e1] = /eventfds (\d+) (\d+)/.exec(r.stdout)!.slice(1).map(Number);
    Object.assign(ids, { e0, e1 });
    const calls = new Map<string, string[]>();
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^\[\d+\] ([A-Z_]+)\((.*) <[\d.]+[mun]?s>$/.exec(line);
      if (m) calls.set(m[1]!, [...(calls.get(m[1]!) ?? []), `${m[1]}(${m[2]}`]);
    }
    return { ids, calls };
  }
  /** An id as the trace prints a number: decimal up to 9, hex above. */
  const n = (v: number | undefined) => (v! > 9 ? `0x${v!.toString(16)}` : String(v));

  it('shows the test op by name with its union member, the HWPT data, the ranges, the VT-d data and the eventfds', () => {
    const { ids, calls } = decoded([]);
    assert.deepEqual(calls.get('IOMMU_TEST_CMD'), [
      `IOMMU_TEST_CMD(op=IOMMU_TEST_OP_MOCK_DOMAIN id=${n(ids.ioas)} last=0 mock_domain={out_stdev_id=0, out_hwpt_id=0, out_idev_id=0}) = 0 {mock_domain={out_stdev_id=${n(ids.stdev)}, out_hwpt_id=${n(ids.hwpt)}, out_idev_id=${n(ids.idev)}}}`,
      `IOMMU_TEST_CMD(op=IOMMU_TEST_OP_ADD_RESERVED id=${n(ids.ioas)} last=0 add_reserved={start=0x2000000, length=0x1000000}) = 0`,
    ]);
    assert.equal(calls.get('IOMMU_HWPT_ALLOC')![1],
      `IOMMU_HWPT_ALLOC(flags=0 dev_id=${n(ids.idev)} pt_id=${n(ids.parent)} out_hwpt_id=0 data_type=IOMMU_HWPT_DATA_SELFTEST data_len=8 data_uptr={iotlb=0xbadbeef, pagetable_type=0} fault_id=0) = 0 {out_hwpt_id=${n(ids.nested)}}`);
    assert.match(calls.get('IOMMU_IOAS_IOVA_RANGES')![0]!, new RegExp(`^IOMMU_IOAS_IOVA_RANGES\\(ioas_id=${n(ids.ioas)} num_iovas=8 allowed_iovas=0x[0-9a-f]+ out_iova_alignment=0x0\\) = 0 ` +
      '\\{num_iovas=2 out_iova_alignment=0x800 allowed_iovas=\\[\\{start=0x1000000, last=0x1ffffff\\}, \\{start=0x3000000, last=0x7fffffff\\}\\]\\}$'));
    assert.match(calls.get('IOMMU_GET_HW_INFO')![0]!, new RegExp(`^IOMMU_GET_HW_INFO\\(flags=0 dev_id=${n(ids.devid)} data_len=0x18 data_uptr=0x[0-9a-f]+ .*\\) = 0 ` +
      '\\{out_data_type=IOMMU_HW_INFO_TYPE_INTEL_VTD out_capabilities=IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED data_uptr=\\{flags=IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, cap_reg=0xd2008c22260286, ecap_reg=0xf00f4a\\}\\}$'));
    assert.deepEqual(calls.get('VFIO_DEVICE_SET_IRQS'),
      [`VFIO_DEVICE_SET_IRQS(argsz=28 flags=DATA_EVENTFD|ACTION_TRIGGER index=MSIX start=0 count=2 data=[${ids.e0},${ids.e1}]) = 0`]);
    // The VFIO info structs, flags by name.
    assert.deepEqual([calls.get('VFIO_DEVICE_GET_INFO'), calls.get('VFIO_DEVICE_GET_REGION_INFO'), calls.get('VFIO_DEVICE_GET_IRQ_INFO')], [
      ['VFIO_DEVICE_GET_INFO(argsz=24) = 0 {flags=VFIO_DEVICE_FLAGS_RESET|VFIO_DEVICE_FLAGS_PCI num_regions=9 num_irqs=5}'],
      ['VFIO_DEVICE_GET_REGION_INFO(argsz=32 index=7) = 0 {flags=VFIO_REGION_INFO_FLAG_READ|VFIO_REGION_INFO_FLAG_WRITE cap_offset=0 size=0x1000 offset=0x70000000000}'],
      ['VFIO_DEVICE_GET_IRQ_INFO(argsz=16 index=2) = 0 {flags=VFIO_IRQ_INFO_EVENTFD count=5}'],
    ]);
  });

  it('-s 1 shows one element of each array, then ...; -v the reserved fields', () => {
    const { ids, calls } = decoded(['-s', '1', '-v']);
    assert.match(calls.get('IOMMU_IOAS_IOVA_RANGES')![0]!, / = 0 \{num_iovas=2 out_iova_alignment=0x800 allowed_iovas=\[\{start=0x1000000, last=0x1ffffff\}, \.\.\.\]\}$/);
    assert.match(calls.get('IOMMU_IOAS_IOVA_RANGES')![0]!, / num_iovas=8 __reserved=0 allowed_iovas=/);
    assert.deepEqual(calls.get('VFIO_DEVICE_SET_IRQS'),
      [`VFIO_DEVICE_SET_IRQS(argsz=28 flags=DATA_EVENTFD|ACTION_TRIGGER index=MSIX start=0 count=2 data=[${ids.e0},...]) = 0`]);
  });

  it('-e verbose=all is -v; -e verbose=none the abbreviated default', () => {
    assert.match(decoded(['-e', 'verbose=all']).calls.get('IOMMU_IOAS_IOVA_RANGES')![0]!, / num_iovas=8 __reserved=0 allowed_iovas=/);
    assert.match(decoded(['-v', '-e', 'verbose=none']).calls.get('IOMMU_IOAS_IOVA_RANGES')![0]!, / num_iovas=8 allowed_iovas=/);
  });

  it('-s takes a count; -e verbose takes all or none', () => {
    for (const [args, msg] of [[['-s', 'x'], /-s x: the string limit is a number/], [['-e', 'verbose=open'], /-e verbose=open: only 'verbose=all'/]] as const) {
      const r = spawnSync(process.execPath, [BIN, 'run', ...args, '--', decode], { encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, msg);
    }
  });
});
