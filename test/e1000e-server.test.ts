// The e1000e data path for a real client under the server: DMA into the
// client's own memory through /proc/PID/mem, the wire between vfio0 and
// vfio1, MSI-X to the client's eventfd, DMA faults (unmapped and read-only
// IOVAs) in the trace, a MAP_SHARED memfd page (a file frame) reached
// through the client's mapping, and the --pcap capture of the wire.
// test/shim/nic_dma.c is the client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, compileClient, ensureShim, removeTempDir, spawnCollect, tempDir } from './shim/build.js';

let bin = '';

before(() => {
  ensureShim();
  bin = compileClient('nic_dma', ['-I', path.join(ROOT, 'test/conformance/include')]);
});

after(() => removeTempDir());

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return spawnCollect(process.execPath, [BIN, 'run', ...args], {}, 'exit');
}

test('server: NIC0 to NIC1 by DMA in the client\'s memory, faults traced, frames captured', async () => {
  const dir = tempDir();
  const trace = path.join(dir, 'nic.trace'), pcap = path.join(dir, 'nic.pcap');
  const r = await run(['--platform', 'qemu-vtd', `--trace=${trace}`, '--pcap', pcap, '--', bin]);
  assert.equal(r.code, 0, r.err + r.out);
  assert.equal(r.out, [
    'frame 0: tx TDH=1 status=0x1 ICR=0x80000003 | rx RDH=1 len=104 status=0x3 ICR=0x80100000 bytes match',
    'frame 1: tx TDH=2 status=0x1 ICR=0x80000003 | rx RDH=2 len=104 status=0x3 ICR=0x80100000 hole untouched',
    'frame 2: tx TDH=3 status=0x1 ICR=0x80000003 | rx RDH=3 len=104 status=0x3 ICR=0x80100000 read-only page untouched',
    'frame 3: tx TDH=4 status=0x1 ICR=0x80000003 | rx RDH=4 len=104 status=0x3 ICR=0x80100000 memfd holds the frame',
    'msix vector 0: 1',
    'GPRC=4 GPTC=4',
    '',
  ].join('\n'));
  const faults = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => l.startsWith('--- DMA fault'));
  assert.deepEqual(faults, [
    '--- DMA fault vfio1 iova=0x900000 write not-present ---',
    '--- DMA fault vfio1 iova=0x900064 write not-present ---',
    '--- DMA fault vfio1 iova=0x200000 write write-denied ---',
    '--- DMA fault vfio1 iova=0x200064 write write-denied ---',
  ]);
  const cap = fs.readFileSync(pcap);
  assert.equal(cap.readUInt32LE(0), 0xa1b2c3d4, 'pcap magic');
  assert.equal(cap.readUInt32LE(20), 1, 'LINKTYPE_ETHERNET');
  assert.equal(cap.length, 24 + 4 * (16 + 100), 'four 100-byte frames');
  assert.equal(cap.readUInt32LE(24 + 8), 100);
  assert.deepEqual([...cap.subarray(40, 46)], [0x52, 0x54, 0x00, 0x12, 0x34, 0x57], 'the first frame, to NIC1\'s address');
});

test('server: --pcap refuses a file that exists', async () => {
  const pcap = path.join(tempDir(), 'exists.pcap');
  fs.writeFileSync(pcap, 'x');
  const r = await run(['--platform', 'qemu-vtd', '--pcap', pcap, '--', bin]);
  assert.equal(r.code, 1);
  assert.match(r.err, /EEXIST|exists/);
  assert.equal(fs.readFileSync(pcap, 'utf8'), 'x');
});
