// `serve --user USER`: a root server lets that user's processes in, and only
// them (besides root and its own user); the kernel says who connected.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { queryServer } from '../src/server/server.js';
import { BIN, SHIM, compileClient, ensureShim, removeTempDir } from './shim/build.js';

const NOBODY = 65534;

/** Start `serve ARGS`; resolves with its socket path and the process. */
function serve(args: string[]): Promise<{ sock: string; stop: () => Promise<void>; log: () => string }> {
  return new Promise((resolve, reject) => {
    const s = spawn(BIN, ['serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    s.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ sock: out.trim(), stop: async () => { s.kill('SIGTERM'); await closed; }, log: () => err });
    });
    s.on('error', reject);
    s.on('close', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

/** Run the basic client as `uid` against the server at `sock`; its stdout. */
async function clientAs(uid: number, sock: string, shim: string, bin: string): Promise<string> {
  const q = await queryServer(sock);
  const env = {
    PATH: process.env.PATH, LD_PRELOAD: shim, IOMMUFD_EMU_SOCKET: sock, IOMMUFD_EMU_PATHS: q.paths,
    IOMMUFD_EMU_REDIRECT: q.redirect, IOMMUFD_EMU_STATE: q.stateDir, IOMMUFD_EMU_TRACER: String(q.pid),
  };
  return new Promise((resolve) => {
    const c = spawn(bin, [], { env, uid, gid: uid, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('close', () => resolve(out));
  });
}

test('serve --user lets that user in; without it the user is refused at connect', async () => {
  ensureShim();
  const bin = compileClient('basic');
  // A copy of the shim the other user can read (the checkout may be private).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-shimcopy-'));
  fs.chmodSync(dir, 0o755);
  const shim = path.join(dir, 'libiommufd-shim.so');
  fs.copyFileSync(SHIM, shim);
  fs.chmodSync(shim, 0o755);
  try {
    const open = await serve(['--user', 'nobody']);
    try {
      assert.match(await clientAs(NOBODY, open.sock, shim, bin), /^open: ok\n[\s\S]*^option get: 0$/m);
    } finally {
      await open.stop();
    }
    const closed = await serve([]);
    try {
      // The socket is ours alone without --user: nobody cannot even reach it.
      assert.doesNotMatch(await clientAs(NOBODY, closed.sock, shim, bin), /^open: ok$/m);
    } finally {
      await closed.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    removeTempDir();
  }
});
