// ProcTexts: /proc/<pid>/ files kept open give the text as it is at each
// read, stop reading once their process is gone (never another's), and are
// not kept when the pid no longer names the process they were opened for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { ProcTexts } from '../src/server/proc-texts.js';

const threads = (t: string | undefined): number => Number(/^Threads:\s*(\d+)$/m.exec(t ?? '')?.[1]);

test('a kept file is read afresh: a thread started since shows', async () => {
  const texts = new ProcTexts(process.pid);
  const before = threads(texts.read('status'));
  const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
  await new Promise((r) => w.once('online', r));
  try {
    assert.equal(threads(texts.read('status')), before + 1);
  } finally {
    await w.terminate();
    texts.close();
  }
  assert.equal(texts.read('status'), undefined, 'closed');
});

test('a kept file of a process that exited reads nothing', async () => {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const texts = new ProcTexts(child.pid!, () => child.exitCode === null && child.signalCode === null);
  try {
    assert.match(texts.read('status') ?? '', /^State:/m);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // A zombie until reaped; reaped by now (the exit event), so its pid names nothing.
    assert.equal(texts.read('status'), undefined);
  } finally {
    texts.close();
  }
});

test('a file opened after the pid stopped naming our process is not kept or read', () => {
  const texts = new ProcTexts(process.pid, () => false);
  assert.equal(texts.read('status'), undefined);
  texts.close();
});
