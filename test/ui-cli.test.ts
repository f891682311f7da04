// --ui on the command line: `serve --ui` prints the view's URL on stderr and
// answers it while it serves; a bad port and `run --connect --ui` are usage
// errors; --help documents it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { BIN, ensureShim, spawnCollect } from './shim/build.js';

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await spawnCollect(BIN, args, {}, 'exit');
  return { code: r.code, stdout: r.out, stderr: r.err };
}

function status(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (r) => {
      let body = '';
      r.on('data', (d) => { body += d; });
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

test('serve --ui: the URL on stderr, the view answers while it serves, SIGTERM ends both', { timeout: 60000 }, async () => {
  ensureShim();
  const c = spawn(BIN, ['serve', '--platform', 'qemu-vtd-sc', '--ui'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  c.stdout.on('data', (d) => { stdout += d; });
  c.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
  try {
    const end = Date.now() + 20000;
    let m: RegExpExecArray | null = null;
    while (!(m = /live view: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=(\S+))/.exec(stderr)) || !stdout.includes('\n')) {
      if (Date.now() > end) throw new Error(`no URL: ${stderr} / ${stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(stdout, /sock\n$/, 'the socket path is still what stdout says');
    const s = await status(`http://127.0.0.1:${m[2]}/api/state?token=${m[3]}`);
    assert.equal(s.status, 200);
    const state = JSON.parse(s.body);
    assert.equal(state.platform.name, 'qemu-vtd-sc');
    assert.deepEqual(state.devices.map((d: { name: string }) => d.name), ['vfio0', 'vfio1']);
    assert.equal((await status(`http://127.0.0.1:${m[2]}/api/state`)).status, 403);
  } finally {
    c.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});

test('--ui: a port only as --ui=PORT, refused with run --connect, in --help', async () => {
  const bad = await cli(['run', '--ui=http', '--', 'true']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--ui=http: not a TCP port/);
  const big = await cli(['serve', '--ui=70000']);
  assert.equal(big.code, 2);
  const conn = await cli(['run', '--connect', '/nonexistent/sock', '--ui', '--', 'true']);
  assert.equal(conn.code, 2);
  assert.match(conn.stderr, /--connect and --ui cannot be used together/);
  const runs = await cli(['run', '--ui', 'true']);
  assert.equal(runs.code, 0, `'--ui PROG' runs PROG: ${runs.stderr}`);
  assert.match(runs.stderr, /live view: http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  for (const cmd of ['run', 'serve']) {
    const h = await cli([cmd, '--help']);
    assert.match(h.stdout, /--ui\[=PORT\]\s+serve a live view/);
  }
});
