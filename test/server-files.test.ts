// The shim's and server's generic file features, driven by C clients against
// a test-only engine file (/dev/emu-test): ioctls that make fds, read/write/
// poll on those fds, mmap of an emulated fd, and the fault-injection control
// files (fail-nth, debugfs).
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EmuServer } from '../src/server/server.js';
import { TestEngine } from './shim/test-engine.js';
import { SHIM, compileClient, ensureShim, removeTempDir, steps } from './shim/build.js';


describe('emulated files beyond ioctl', () => {
  let server: EmuServer;
  let engine: TestEngine;
  const bins: Record<string, string> = {};

  before(async () => {
    ensureShim();
    for (const n of ['newfd', 'mmap', 'failnth']) bins[n] = compileClient(n);
  });
  after(() => removeTempDir());

  async function runClient(name: string): Promise<{ code: number | null; out: Map<string, string>; raw: string; err: string }> {
    engine = new TestEngine();
    server = await EmuServer.start({ engine });
    try {
      return await new Promise((resolve, reject) => {
        if (process.env.SHOW_CLIENT) process.stderr.write('');
        const c = spawn(bins[name]!, [], { env: server.clientEnv(SHIM), stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
        c.on('error', reject);
        c.on('close', (code) => { if (process.env.SHOW_CLIENT) process.stderr.write(out + err); resolve({ code, out: steps(out), raw: out, err }); });
      });
    } finally {
      await server.close();
    }
  }

  it('an ioctl makes an fd that is read, written and polled like a queue file', async () => {
    const r = await runClient('newfd');
    assert.equal(r.code, 0, r.raw + r.err);
    const s = r.out;
    assert.equal(s.get('newfd'), '0');
    assert.equal(s.get('fd valid'), 'yes');
    assert.equal(s.get('cloexec'), '1');
    assert.equal(s.get('poll empty'), '0');
    assert.equal(s.get('read empty'), '0');
    assert.equal(s.get('poll after push'), '1');
    assert.equal(s.get('read'), '8 value 0x1234');
    assert.equal(s.get('poll after read'), '0', 'the wake byte is drained once the queue is empty');
    assert.equal(s.get('read short'), '-1 EINVAL');
    assert.equal(s.get('pread at 8'), '-1 ESPIPE');
    assert.equal(s.get('write response'), '8');
    assert.equal(s.get('poll waits for the timer'), '1', 'onReadable wakes a poller outside any request');
    assert.equal(s.get('readv'), '8 value 0x777');
    assert.equal(s.get('read into read-only memory'), '-1 EFAULT');
    assert.equal(s.get('the record stayed'), '8 value 0x4444');
    assert.equal(s.get('writev response'), '8');
    assert.equal(s.get('responses'), '2 last 0x6262 released 0');
    assert.equal(s.get('read via dup'), '8 value 0x99');
    assert.equal(s.get('released after close'), '1');
    assert.equal(s.get('newfd then fail'), '-1 EINVAL');
    assert.equal(s.get('fd untouched'), '-1');
    assert.equal(s.get('released after failed ioctl'), '2');
    assert.equal(s.get('newfd into read-only memory'), '-1 EFAULT');
    assert.equal(s.get('no fd leaked'), 'yes');
    assert.equal(s.get('released after EFAULT'), '3');
  });

  it('mmap of an emulated fd: shared with the engine, with the kernel rules', async () => {
    const r = await runClient('mmap');
    assert.equal(r.code, 0, r.raw + r.err);
    const s = r.out;
    assert.equal(s.get('private'), '-1 EINVAL');
    assert.equal(s.get('exec'), '-1 EPERM');
    assert.equal(s.get('unknown offset'), '-1 ENXIO');
    assert.equal(s.get('wrong length'), '-1 ENXIO');
    assert.equal(s.get('unaligned offset'), '-1 EINVAL');
    assert.equal(s.get('zero length'), '-1 EINVAL');
    assert.equal(s.get('destroy unmapped'), '0');
    assert.equal(s.get("engine's value"), '0xabcd');
    assert.equal(s.get('engine reads ours'), '0x5678');
    assert.equal(s.get("we read engine's"), '0x1111');
    assert.equal(s.get('destroy while mapped'), '-1 EBUSY');
    assert.equal(s.get('second mapping sees it'), '0x5678');
    assert.equal(s.get('destroy with one mapping left'), '-1 EBUSY');
    assert.equal(s.get('destroy while the child maps it'), '-1 EBUSY');
    assert.equal(s.get('destroy after the child exited'), '0');
    assert.equal(s.get('released while mapped'), '0');
    assert.equal(s.get('released after munmap'), '1');
  });

  it('fail-nth and debugfs are plain files the engine reads at each ioctl', async () => {
    const r = await runClient('failnth');
    assert.equal(r.code, 0, r.raw + r.err);
    const s = r.out;
    assert.equal(s.get('fail* entries'), '4');
    assert.equal(s.get('ignore-gfp-wait'), '2 "N$"');
    assert.equal(s.get('verbose'), '2 "0$"');
    assert.equal(s.get('stat debugfs dir'), 'dir');
    assert.equal(s.get('statx debugfs dir'), 'dir');
    assert.equal(s.get('fresh'), '2 "0$"');
    assert.equal(s.get('arm 3'), '1');
    assert.equal(s.get('fails point'), '3');
    assert.equal(s.get('after firing'), '2 "0$"');
    assert.equal(s.get('disarmed fails point'), '0');
    assert.equal(s.get('too few points'), '0');
    assert.equal(s.get('not fired'), '2 "7$"');
    assert.equal(s.get('disarmed'), '2 "0$"');
    assert.equal(s.get('thread fails point'), '2');
    assert.equal(s.get('thread fail-nth after'), '2 "0$"');
    assert.equal(s.get('main fail-nth untouched'), '2 "0$"');
    assert.equal(s.get('filtered'), '0');
    assert.equal(s.get('filtered leaves it armed'), '2 "1$"');
    assert.equal(s.get('unfiltered'), '1');
    assert.equal(s.get('other task'), 'ENOENT');
    assert.equal(s.get('thread-self of main'), '2 "0$"');
  });
});
