// Unmodified C programs under `iommufd-emu run`: the shim, the server and the
// CLI end to end. The clients (test/shim/*.c) are compiled into a temp dir.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { BIN, compileClient, ensureShim, removeTempDir, steps, tempDir } from './shim/build.js';

const bins: Record<string, string> = {};

function run(args: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 30_000, env: opts.env ?? process.env });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}


before(() => {
  ensureShim();
  for (const name of ['basic', 'fork', 'threads', 'loop', 'status', 'exec', 'fd_reuse']) bins[name] = compileClient(name);
});
after(() => removeTempDir());

describe('iommufd-emu run', () => {
  it('answers open, fstat, unknown ioctls, bad pointers and writes results back', () => {
    const r = run(['run', '--', bins.basic!]);
    assert.equal(r.status, 0, r.stderr);
    const s = steps(r.stdout);
    assert.equal(s.get('open'), 'ok');
    assert.equal(s.get('stat mode'), 'chr');
    assert.equal(s.get('fstat mode'), 'chr major 10');
    assert.equal(s.get('unknown ioctl'), '-1 ENOTTY');
    assert.equal(s.get('option bad pointer'), '-1 EFAULT');
    assert.equal(s.get('option get'), '0');
    // The client set val64 to 0xdeadbeef; the server wrote the real value (RLIMIT_MODE 0) over it.
    assert.equal(s.get('option val64'), '0');
    assert.equal(s.get('dup option get'), '0');
    assert.equal(s.get('close'), '0');
    assert.equal(s.get('closed ioctl'), '-1 EBADF');
    assert.equal(s.get('tty ioctl passes through'), '0');
    assert.equal(r.stderr, '', 'quiet by default');
  });

  it('sends no ioctl of a file that reuses the number of a closed emulated fd to the server (close, fclose)', () => {
    const r = run(['run', '--', bins.fd_reuse!]);
    assert.equal(r.status, 0, r.stderr);
    const s = steps(r.stdout);
    assert.equal(s.get('option get'), '0');
    assert.equal(s.get('fclose'), '0');
    assert.equal(s.get('fclose same number'), 'yes');
    assert.equal(s.get('fclose ioctl on the pipe'), '-1 ENOTTY');
    assert.equal(s.get('close same number'), 'yes');
    assert.equal(s.get('close ioctl on the pipe'), '-1 ENOTTY');
    assert.equal(s.get('kept option get'), '0');
  });

  it('shares the open file with a forked child, which uses its own memory', () => {
    const r = run(['run', '--', bins.fork!]);
    assert.equal(r.status, 0, r.stderr);
    const s = steps(r.stdout);
    assert.equal(s.get('parent alloc'), '0');
    assert.equal(s.get('parent map'), '0');
    assert.equal(s.get('child option get'), '0');
    assert.equal(s.get('child alloc'), '0');
    assert.notEqual(s.get('child ioas'), s.get('parent ioas'));
    assert.equal(s.get('child map'), '0');
    assert.equal(s.get('child map same iova'), '-1 EEXIST');
    assert.equal(s.get('child exit'), '0');
    // The child's close() did not release the file: its mapping is still there.
    assert.equal(s.get("parent unmap child's"), '0');
    assert.equal(s.get('parent option get'), '0');
  });

  it('keeps an fd open across exec, and the new image still reaches it', () => {
    const r = run(['run', '--', bins.exec!]);
    assert.equal(r.status, 0, r.stderr);
    const s = steps(r.stdout);
    assert.equal(s.get('before exec alloc'), '0');
    assert.equal(s.get('cloexec alloc'), '0');
    assert.equal(s.get('after exec option get'), '0');
    assert.equal(s.get('after exec val64'), '0');
    assert.equal(s.get('after exec fstat mode'), 'chr major 10');
  });

  it('serves threads issuing ioctls concurrently on one fd', () => {
    const r = run(['run', '--', bins.threads!]);
    assert.equal(r.status, 0, r.stderr);
    const s = steps(r.stdout);
    assert.equal(s.get('failures'), '0');
    assert.equal(s.get('ids'), '80 duplicate: 0');
  });

  it('--trace prints each ioctl decoded, with its result or errno', () => {
    const file = path.join(tempDir(), 'trace.log');
    const r = run(['run', `--trace=${file}`, '--', bins.basic!]);
    assert.equal(r.status, 0, r.stderr);
    const t = fs.readFileSync(file, 'utf8');
    assert.match(t, /open\("\/dev\/iommu"\) = \d+/);
    assert.match(t, /IOMMU_OPTION\(.*option_id=IOMMU_OPTION_RLIMIT_MODE op=IOMMU_OPTION_OP_GET.*\) = 0 .*<[0-9.]+(us|ms)>/);
    assert.match(t, /= -1 ENOTTY/);
    assert.match(t, /IOMMU_OPTION\(.*\) = -1 EFAULT/);
    assert.match(t, /release\("\/dev\/iommu"\) \(last close\)/);
    const toStderr = run(['run', '--trace', '--', bins.basic!]);
    assert.match(toStderr.stderr, /IOMMU_OPTION\(/);
  });

  it("exits with the command's status, 128+N when it is killed by signal N", () => {
    assert.equal(run(['run', '--', bins.status!, 'status', '7']).status, 7);
    assert.equal(run(['run', '--', bins.status!, 'status', '0']).status, 0);
    assert.equal(run(['run', '--', bins.status!, 'signal', '15']).status, 128 + 15);
  });

  it('refuses a statically linked command with one clear line', () => {
    const out = path.join(tempDir(), 'static');
    try {
      execFileSync('cc', ['-static', '-o', out, path.join(path.dirname(BIN), '../test/shim/status.c')], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      assert.fail(`missing prerequisite: cc -static cannot link a program (a static libc: apt-get install libc6-dev): ${(e as Error).message}`);
    }
    const r = run(['run', '--', out]);
    assert.equal(r.status, 126);
    assert.match(r.stderr, /statically linked/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('usage errors exit 2; --help exits 0; a missing command 127', () => {
    assert.equal(run([]).status, 2);
    assert.equal(run(['frobnicate']).status, 2);
    assert.equal(run(['run']).status, 2);
    assert.equal(run(['run', '--bogus', '--', 'true']).status, 2);
    for (const args of [['--help'], ['run', '--help'], ['serve', '--help']]) {
      const r = run(args);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /Usage: iommufd-emu/);
    }
    assert.equal(run(['run', '--', 'no-such-command-iommufd-emu']).status, 127);
  });

  it('survives libraries that call open/stat before the shim initialises (id, ls)', () => {
    const r = run(['run', '--', 'id', '-u']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(process.geteuid!()));
  });

  it('--user runs the command as an ordinary user that still reaches the server', () => {
    assert.equal(process.geteuid!(), 0, 'missing prerequisite: this test runs as root (run --user switches to another user)');
    const r = run(['run', '--user', '--', bins.basic!]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(steps(r.stdout).get('option get'), '0');
    assert.equal(run(['run', '--user=nobody', '--', 'id', '-u']).stdout.trim(), '65534');
  });

  it('leaves programs that never touch /dev/iommu alone', () => {
    const r = run(['run', '--', 'sh', '-c', 'echo hello; ls / >/dev/null; exit 3']);
    assert.equal(r.status, 3);
    assert.equal(r.stdout, 'hello\n');
  });
});

describe('iommufd-emu serve and run --connect', () => {
  let serve: ChildProcess;
  let sock = '';

  before(async () => {
    sock = path.join(tempDir(), 'serve.sock');
    serve = spawn(process.execPath, [BIN, 'serve', '--socket', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    sock = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      serve.once('exit', (c) => reject(new Error(`serve exited ${c}`)));
    });
  });
  after(() => { serve.kill('SIGTERM'); });

  it('listens on a 0600 socket', () => {
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
  });

  it('survives a client killed mid-run and serves the next one', async () => {
    const victim = spawn(process.execPath, [BIN, 'run', '--connect', sock, '--', bins.loop!], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      victim.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) resolve(); });
      victim.once('exit', (c) => reject(new Error(`client exited ${c} early: ${out}`)));
    });
    assert.match(out, /alloc: 0\nmap: 0\n/);
    await new Promise((r) => setTimeout(r, 50)); // mid-ioctl-loop
    // Kill the C client itself (the run process's child), not just the wrapper.
    const pids = execFileSync('pgrep', ['-P', String(victim.pid)], { encoding: 'utf8' }).trim().split('\n');
    for (const p of pids) process.kill(Number(p), 'SIGKILL');
    const status = await new Promise<number | null>((r) => victim.once('exit', (c) => r(c)));
    assert.equal(status, 128 + 9);

    const r = run(['run', '--connect', sock, '--', bins.basic!]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(steps(r.stdout).get('option get'), '0');
  });

  it('drops a connection that sends garbage, and nothing else', async () => {
    await new Promise<void>((resolve) => {
      const c = net.connect(sock, () => c.write(Buffer.alloc(64, 0xab)));
      c.on('error', () => resolve());
      c.on('close', () => resolve());
    });
    const r = run(['run', '--connect', sock, '--', bins.threads!]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(steps(r.stdout).get('failures'), '0');
    assert.equal(serve.exitCode, null, 'server still running');
  });

  it('fails clearly when no server listens there', () => {
    const r = run(['run', '--connect', path.join(tempDir(), 'nobody.sock'), '--', 'true']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot reach the server/);
  });
});
