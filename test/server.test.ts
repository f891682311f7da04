// The server on its own: /proc parsing, the client-process back end, the wire
// protocol's error answers, and release of a file on the last close.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { EmuServer } from '../src/server/server.js';
import { parseMaps, parseMemlock, parseStatus, ProcessTask, ProcessAddressSpace } from '../src/server/process-memory.js';
import { Frames } from '../src/hw/memory.js';
import {
  KIND_CHANNEL, KIND_FILE, OP_IOCTL, REQ_SIZE, encodeHello, IEMU_MAGIC,
} from '../src/server/protocol.js';
import { RLIM_INFINITY } from '../src/core/task.js';
import { EBADF, EFAULT, ENOENT, ENOSYS } from '../src/uapi/errno.js';
import { SHIM, compileClient, ensureShim, removeTempDir } from './shim/build.js';
import { exchange } from './wire.js';

describe('/proc parsing', () => {
  it('parses maps into sorted ranges with permissions', () => {
    const v = parseMaps('55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0 [heap]\n7ffd1000-7ffd3000 r--p 00000000 00:00 0\n');
    assert.deepEqual(v, [
      { start: 0x55d0c0a00000n, end: 0x55d0c0a21000n, read: true, write: true },
      { start: 0x7ffd1000n, end: 0x7ffd3000n, read: true, write: false },
    ]);
  });
  it('reads the soft RLIMIT_MEMLOCK, unlimited as RLIM_INFINITY', () => {
    const head = 'Limit                     Soft Limit           Hard Limit           Units     \n';
    assert.equal(parseMemlock(head + 'Max locked memory         8388608              8388608              bytes     \n'), 8388608n);
    assert.equal(parseMemlock(head + 'Max locked memory         unlimited            unlimited            bytes     \n'), RLIM_INFINITY);
  });
  it('reads the effective uid and CapEff', () => {
    const s = parseStatus('Name:\tx\nUid:\t1000\t1001\t1000\t1000\nCapEff:\t0000000000004000\n');
    assert.equal(s.uid, 1001);
    assert.equal(s.capEff, 1n << 14n);
  });
  it('builds a Task from a live process', () => {
    const mm = new ProcessAddressSpace(process.pid, new Frames());
    const t = new ProcessTask(process.pid, process.pid, mm);
    const limits = fs.readFileSync('/proc/self/limits', 'utf8');
    assert.equal(t.rlimitMemlock, parseMemlock(limits));
    assert.equal(t.user.uid, process.geteuid!());
    assert.equal(typeof t.capIpcLock, 'boolean');
    mm.close();
  });
  it('reads /proc/<pid>/maps once per request for pins, again on a miss', () => {
    // Attaching a device pins every area of the IOAS: DPDK has thousands.
    const mm = new ProcessAddressSpace(process.pid, new Frames());
    const v = parseMaps(fs.readFileSync('/proc/self/maps', 'latin1')).find((x) => x.read)!;
    mm.beginIoctl();
    for (let i = 0; i < 100; i++) mm.checkPinnable(v.start, 4096n, false);
    assert.equal(mm.mapsReads, 1);
    // Below mmap_min_addr: never mapped; looked up again before EFAULT.
    assert.throws(() => mm.checkPinnable(0x1000n, 4096n, false), (e: { code?: number }) => e.code === EFAULT);
    assert.equal(mm.mapsReads, 2);
    mm.endIoctl();
    // The next request sees the mappings as they are then.
    mm.beginIoctl();
    mm.checkPinnable(v.start, 4096n, false);
    assert.equal(mm.mapsReads, 3);
    mm.endIoctl();
    mm.close();
  });
  it('answers EFAULT for addresses no process can have', () => {
    const mm = new ProcessAddressSpace(process.pid, new Frames());
    assert.throws(() => mm.read(0n, 8), (e: { code?: number }) => e.code === EFAULT);
    assert.throws(() => mm.read(1n << 60n, 8), (e: { code?: number }) => e.code === EFAULT);
    assert.throws(() => mm.write(8n, new Uint8Array(4)), (e: { code?: number }) => e.code === EFAULT);
    assert.throws(() => mm.checkPinnable(0n, 4096n, false), (e: { code?: number }) => e.code === EFAULT);
    mm.close();
  });
});

function req(op: number, request: number, arg: bigint, ino: bigint): Buffer {
  const b = Buffer.alloc(REQ_SIZE);
  b.writeUInt32LE(op, 0);
  b.writeUInt32LE(process.pid, 4);
  b.writeUInt32LE(process.pid, 8);
  b.writeUInt32LE(request, 12);
  b.writeBigUInt64LE(arg, 16);
  b.writeBigUInt64LE(ino, 24);
  return b;
}

describe('server', () => {
  let server: EmuServer;
  before(async () => {
    ensureShim();
    server = await EmuServer.start();
  });
  after(async () => {
    await server.close();
    removeTempDir();
  });

  it('lives in a private directory', () => {
    const dir = server.socketPath.slice(0, server.socketPath.lastIndexOf('/'));
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(server.socketPath).mode & 0o777, 0o600);
  });

  it('answers EBADF for an unknown file and ENOSYS for an unknown op', async () => {
    const hello = encodeHello({ kind: KIND_CHANNEL, pid: process.pid, tid: process.pid, ino: 0n, oflags: 0, pathLen: 0 });
    const r = await exchange(server.socketPath, [hello, req(OP_IOCTL, 0x3b87, 0n, 12345n), req(99, 0, 0n, 0n)], 3);
    assert.deepEqual(r.map((x) => [x.magic, x.result]), [[IEMU_MAGIC, 0], [IEMU_MAGIC, -EBADF], [IEMU_MAGIC, -ENOSYS]]);
  });

  it('answers ENOENT to open of a path it does not emulate', async () => {
    const p = Buffer.from('/dev/not-emulated');
    const [r] = await exchange(server.socketPath, (ino) => [encodeHello({ kind: KIND_FILE, pid: process.pid, tid: process.pid, ino, oflags: 2, pathLen: p.length }), p], 1);
    assert.equal(r!.result, -ENOENT);
  });

  it('faults a copy-out into read-only memory, and releases files on the last close', async () => {
    const ro = compileClient('ro');
    const out = await new Promise<string>((resolve, reject) => {
      const c = spawn(ro, [], { env: server.clientEnv(SHIM), stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      c.stdout.on('data', (d: Buffer) => { s += d.toString(); });
      c.on('error', reject);
      c.on('close', () => resolve(s));
    });
    assert.match(out, /option get into read-only: -1 EFAULT\nval64 unchanged: yes/);
    for (let i = 0; i < 50 && server.openFiles > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.openFiles, 0);
  });
});
