// The server's own references to a client's eventfds (SET_IRQS): it holds a
// copy of each (pidfd_getfd), so interrupts reach the client after the client
// closed its own, and watches an ioeventfd's; closing the device file, or the
// client dying, closes every copy (no descriptor leaks in the server).
// test/shim/irq_hold.c.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, compileClient, ensureShim, removeTempDir, tempDir } from './shim/build.js';

let serve: ChildProcess;
let sock = '';
let bin = '';

before(async () => {
  ensureShim();
  bin = compileClient('irq_hold', ['-I', path.join(ROOT, 'test/conformance/include')]);
  sock = path.join(tempDir(), 'irqs.sock');
  serve = spawn(process.execPath, [BIN, 'serve', '--socket', sock, '--platform', 'qemu-vtd'], { stdio: ['ignore', 'pipe', 'pipe'] });
  sock = await new Promise<string>((resolve, reject) => {
    let out = '';
    serve.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out.trim()); });
    serve.once('exit', (c) => reject(new Error(`serve exited ${c}`)));
  });
});

after(() => {
  serve.kill('SIGTERM');
  removeTempDir();
});

/** The eventfds open in the server process. */
function serverEventfds(): number {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${serve.pid}/fd`)) {
    try { if (fs.readlinkSync(`/proc/${serve.pid}/fd/${fd}`) === 'anon_inode:[eventfd]') n++; } catch { /* closed meanwhile */ }
  }
  return n;
}

/** Start the client; resolves at each word it prints. */
function client(): { next(word: string): Promise<void>; go(): void; child: ChildProcess; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'run', '--connect', sock, '--', bin], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let waiter: (() => void) | undefined;
  let want = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (waiter && out.includes(`${want}\n`)) { const w = waiter; waiter = undefined; w(); } });
  const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return {
    child, exit,
    next: (word) => new Promise<void>((resolve, reject) => {
      want = word;
      if (out.includes(`${word}\n`)) return resolve();
      waiter = resolve;
      void exit.then((c) => reject(new Error(`client exited ${c} before "${word}": ${out}`)));
    }),
    go: () => { child.stdin!.write('\n'); },
  };
}

test('eight eventfds held while armed, none after the device file closes', async () => {
  const base = serverEventfds();
  const c = client();
  await c.next('armed');
  assert.equal(serverEventfds() - base, 8, 'five MSI-X vectors, ERR, REQ and an ioeventfd');
  c.go();
  await c.next('closed');
  assert.equal(serverEventfds(), base);
  c.go();
  assert.equal(await c.exit, 0);
});

test('a client killed while armed leaves no eventfd behind', async () => {
  const base = serverEventfds();
  const c = client();
  await c.next('armed');
  assert.equal(serverEventfds() - base, 8);
  // The C client is the run process's child: kill it first, then the wrapper.
  for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === c.child.pid) process.kill(Number(p), 'SIGKILL');
    } catch { /* gone */ }
  }
  c.child.kill('SIGKILL');
  await c.exit;
  for (let i = 0; i < 100 && serverEventfds() !== base; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(serverEventfds(), base);
});
