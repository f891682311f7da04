// The trace of every ioctl family against expected text: test/shim/
// trace_families.c makes one call or two of each (and one failure each) and
// the reads, writes and mmaps of emulated fds; its trace under `run -o`,
// without pids, durations and user addresses, must equal
// test/shim/trace_families.MODE.expected line for line. The decoding shown
// there: flags and enums by name, the test op's union member, HWPT data,
// GET_HW_INFO's vendor data (the mock, VT-d, SMMUv3, AMD), vIOMMU data in
// and out, arrays behind pointers (allowed_iovas, invalidation entries,
// eventfds, group fds), the fd numbers of new files.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, compileClient, ensureShim, removeTempDir, spawnCollect, tempDir } from './shim/build.js';

let client = '';
before(() => {
  ensureShim();
  client = compileClient('trace_families', ['-I', path.join(ROOT, 'test/conformance/include')]);
});
after(() => removeTempDir());

/** A trace line as the expected files hold it: no pid, no duration, user addresses (0x55..., 0x7f...) as ADDR. */
export function normalize(line: string): string {
  return line
    .replace(/^\[\d+(\/\d+)?\] /, '')
    .replace(/ <[\d.]+[mun]?s>$/, '')
    .replace(/\b0x[5-7][0-9a-f]{11}\b/g, 'ADDR');
}

const CASES: Array<[mode: string, platform: string, expected: string]> = [
  ['iommufd', 'mock', 'iommufd'],
  ['vfio', 'qemu-vtd', 'vfio'],
  ['hwinfo', 'qemu-vtd', 'hwinfo-vtd'],
  ['hwinfo', 'arm-smmuv3', 'hwinfo-smmuv3'],
  ['hwinfo', 'amd-vi', 'hwinfo-amd'],
];

describe('the trace of each ioctl family is the expected text', () => {
  for (const [mode, platform, expected] of CASES) {
    it(`${mode} on ${platform} (trace_families.${expected}.expected)`, { timeout: 30_000 }, async () => {
      const file = path.join(tempDir(), `families-${expected}.log`);
      const r = await spawnCollect(process.execPath, [BIN, 'run', '--platform', platform, '-o', file, '--', client, mode]);
      assert.equal(r.code, 0, r.out + r.err);
      assert.match(r.out, /^done$/m);
      const got = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map(normalize);
      const want = fs.readFileSync(path.join(ROOT, 'test/shim', `trace_families.${expected}.expected`), 'utf8').split('\n').filter((l) => l !== '');
      assert.deepEqual(got, want);
    });
  }
});

describe('the fds of new files with a filter', () => {
  it('-e trace=NAMES: the ioctl lines carry the fds without the new-fd notes', { timeout: 30_000 }, async () => {
    const file = path.join(tempDir(), 'families-filtered.log');
    const r = await spawnCollect(process.execPath, [BIN, 'run', '-e', 'trace=IOMMU_FAULT_QUEUE_ALLOC,IOMMU_VEVENTQ_ALLOC', '-o', file, '--', client, 'iommufd']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map(normalize), [
      'IOMMU_VEVENTQ_ALLOC(flags=0 viommu_id=9 type=IOMMU_VEVENTQ_TYPE_SELFTEST veventq_depth=4 out_veventq_id=0 out_veventq_fd=0) = 0 {out_veventq_id=5 out_veventq_fd=4}',
      'IOMMU_FAULT_QUEUE_ALLOC(flags=0 out_fault_id=0 out_fault_fd=0) = 0 {out_fault_id=0xe out_fault_fd=4}',
    ]);
  });
});
