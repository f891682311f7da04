// The command line as a user meets it: both forms of each option, a shell's
// exit statuses (2 usage, 126 cannot run, 127 not found; bash is the
// reference), --version, combinations that are refused rather than ignored,
// and failures said once, with their cause.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, compileExample, ensureShim, removeTempDir, spawnCollect, tempDir } from './shim/build.js';

let hello = '';
before(() => {
  ensureShim();
  hello = compileExample('hello-iommufd');
});
after(() => removeTempDir());

function cli(args: string[], o: { cwd?: string; bin?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [o.bin ?? BIN, ...args], { encoding: 'utf8', cwd: o.cwd, timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** stderr's lines from iommufd-emu. */
function said(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('iommufd-emu: '));
}

const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('--version', () => {
  for (const args of [['--version'], ['-V'], ['run', '--version'], ['run', '-V'], ['serve', '--version']]) {
    it(`'${args.join(' ')}' prints the package's version and exits 0`, () => {
      const r = cli(args);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `iommufd-emu ${VERSION}\n`);
    });
  }
});

describe('option forms: --opt=V and --opt V', () => {
  for (const form of [['--trace=F'], ['--trace', 'F'], ['-o', 'F'], ['-oF'], ['--output=F'], ['--output', 'F']]) {
    it(`'run ${form.join(' ')} -- CMD' writes the trace to F`, () => {
      const file = path.join(tempDir(), `trace-${form.join('_').replace(/[^\w]/g, '')}.log`);
      const r = cli(['run', ...form.map((w) => w.replace(/F$/, file)), '--', hello]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(fs.readFileSync(file, 'utf8'), /IOMMU_IOAS_MAP\(/);
      assert.doesNotMatch(r.stderr, /IOMMU_IOAS_MAP\(/);
      assert.match(r.stdout, /^IOAS 1$/m);
    });
  }

  it("'--trace -- CMD' and '--trace -c ...': a word that is '--' or an option is not the trace's FILE", () => {
    const r = cli(['run', '--trace', '--', hello]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /IOMMU_IOAS_MAP\(/);
    const tt = cli(['run', '--trace', '-tt', '--', hello]);
    assert.equal(tt.status, 0, tt.stderr);
    assert.match(tt.stderr, /^\[\d+\] \d\d:\d\d:\d\d\.\d{6} IOMMU_IOAS_MAP\(/m);
  });

  it("'--trace PROG ARGS' does not truncate PROG: a program is refused as the trace file (usage, 2)", () => {
    const before = fs.readFileSync(hello);
    const r = cli(['run', '--trace', hello, 'x']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(said(r.stderr)[0]!, /--trace .*hello-iommufd: that is a program, not a trace file/);
    assert.deepEqual(fs.readFileSync(hello), before);
  });

  it("'--platform NAME' and '--platform=NAME'", () => {
    // The mock machine has no VFIO device; qemu-vtd has vfio0.
    assert.equal(cli(['run', '--', 'test', '-c', '/dev/vfio/devices/vfio0']).status, 1);
    for (const form of [['--platform', 'qemu-vtd'], ['--platform=qemu-vtd']]) {
      const r = cli(['run', ...form, '--', 'test', '-c', '/dev/vfio/devices/vfio0']);
      assert.equal(r.status, 0, `${form.join(' ')} chose the machine: ${r.stderr}`);
    }
  });

  it("'--user NAME' takes NAME as the user, not as the command (both forms)", () => {
    for (const form of [['--user', 'no-such-user-here'], ['--user=no-such-user-here']]) {
      const r = cli(['run', ...form, '--', 'true']);
      assert.equal(r.status, 2, r.stderr);
      assert.deepEqual(said(r.stderr), ["iommufd-emu: run: no such user 'no-such-user-here'"]);
    }
  });

  it('short options cluster and take values joined or apart (-ctt, -eX, -e X)', () => {
    const file = path.join(tempDir(), 'cluster.log');
    const r = cli(['run', '-Cttt', `-o${file}`, '-etrace=ioas', '--', hello]);
    assert.equal(r.status, 0, r.stderr);
    const t = fs.readFileSync(file, 'utf8');
    assert.match(t, /^\[\d+\] \d+\.\d{6} IOMMU_IOAS_ALLOC\(/m);
    assert.match(t, /^% time +seconds/m);
  });
});

describe('--help of each command', () => {
  for (const args of [['--help'], ['-h'], ['run', '--help'], ['run', '-h'], ['serve', '--help'], ['serve', '-h'], ['platform', '--help'], ['platform', '-h']]) {
    it(`'${args.join(' ')}': the manual on stdout, nothing on stderr, status 0`, () => {
      const r = cli(args);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, new RegExp(`^Usage: iommufd-emu ${args.length > 1 ? args[0] : 'COMMAND'}`));
    });
  }

  it('an unknown command: one line, where to look, status 2', () => {
    const r = cli(['frob']);
    assert.equal(r.status, 2);
    assert.deepEqual(said(r.stderr), ["iommufd-emu: unknown command 'frob'"]);
    assert.match(r.stderr, /Try 'iommufd-emu --help'/);
  });

  it("run --help names every option run takes, serve --help serve's", () => {
    const run = cli(['run', '--help']).stdout, serve = cli(['serve', '--help']).stdout;
    for (const o of ['--platform', '--root-caps', '--pcap', '--connect', '--user', '--ui', '--trace', '-o, --output', '-t, -tt, -ttt', '-e trace=',
      '-s, --string-limit', '-v, --verbose', '-c, --summary-only', '-C, --summary', '-h, --help', '-V, --version']) assert.ok(run.includes(o), `run --help: ${o}`);
    for (const o of ['--socket', '--platform', '--root-caps', '--pcap', '--user', '--ui', '--trace', '-o, --output', '-c, --summary-only', '-h, --help']) {
      assert.ok(serve.includes(o), `serve --help: ${o}`);
    }
  });
});

describe('option forms of the other values', () => {
  it('--pcap FILE and --pcap=FILE make FILE', () => {
    for (const [i, form] of [['--pcap', 'F'], ['--pcap=F']].entries()) {
      const file = path.join(tempDir(), `wire-${i}.pcap`);
      const r = cli(['run', '--platform', 'qemu-vtd', ...form.map((w) => w.replace(/F$/, file)), '--', 'true']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(file).readUInt32LE(0), 0xa1b2c3d4, `${form.join(' ')}: a pcap file`);
    }
  });

  it('-s N, -sN, --string-limit N, --string-limit=N', () => {
    for (const form of [['-s', '0'], ['-s0'], ['--string-limit', '0'], ['--string-limit=0']]) {
      const file = path.join(tempDir(), `strsize-${form.join('')}.log`);
      const r = cli(['run', ...form, '-o', file, '--', hello]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(fs.readFileSync(file, 'utf8'), /IOMMU_IOAS_IOVA_RANGES\(.*allowed_iovas=\[\.\.\.\]\}/, form.join(' '));
    }
  });

  it('serve --socket PATH and --socket=PATH; run --connect SOCK and --connect=SOCK', { timeout: 30_000 }, async () => {
    for (const [i, form] of [['--socket', 'P'], ['--socket=P']].entries()) {
      const dir = fs.mkdtempSync(path.join(tempDir(), `serve-${i}-`));
      fs.chmodSync(dir, 0o700);
      const sock = path.join(dir, 'sock');
      const server = spawn(process.execPath, [BIN, 'serve', ...form.map((w) => w.replace(/P$/, sock))], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const said = await new Promise<string>((resolve, reject) => {
          let out = '';
          server.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.includes('\n')) resolve(out.trim()); });
          server.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
        });
        assert.equal(said, sock);
        for (const c of [['--connect', sock], [`--connect=${sock}`]]) {
          const r = await spawnCollect(process.execPath, [BIN, 'run', ...c, '--', hello]);
          assert.equal(r.code, 0, r.err);
          assert.match(r.out, /^IOAS 1$/m, c.join(' '));
        }
      } finally {
        server.kill('SIGTERM');
      }
    }
  });
});

describe('exit statuses as a shell gives them', () => {
  /** bash's status and words for running `cmd` (its message ends with the reason). */
  function bash(cmd: string): { status: number | null; reason: string } {
    const r = spawnSync('bash', ['-c', `${cmd}`], { encoding: 'utf8', cwd: tempDir() });
    return { status: r.status, reason: r.stderr.trim().split(': ').pop()! };
  }
  function cases(): Array<[string, string]> {
    const dir = path.join(tempDir(), 'a-directory');
    fs.mkdirSync(dir, { recursive: true });
    const plain = path.join(tempDir(), 'not-executable');
    fs.writeFileSync(plain, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    fs.chmodSync(plain, 0o644);
    return [
      ['a directory', dir],
      ['a file without execute permission', plain],
      ['a name not in PATH', 'no-such-command-here'],
      ['a path that does not exist', './no-such-file-here'],
    ];
  }
  it('126 for a directory or a non-executable, 127 for not found; the words are bash\'s', () => {
    const expected = [126, 126, 127, 127];
    cases().forEach(([what, cmd], i) => {
      const sh = bash(cmd);
      assert.equal(sh.status, expected[i], `bash's status for ${what}`);
      const r = cli(['run', '--', cmd], { cwd: tempDir() });
      assert.equal(r.status, sh.status, `${what}: ${r.stderr}`);
      assert.deepEqual(said(r.stderr), [`iommufd-emu: ${cmd}: ${sh.reason}`], what);
    });
  });

  it('--help documents the statuses; so does the README', () => {
    const h = cli(['run', '--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /126 +CMD cannot run: a directory, not executable/);
    assert.match(h.stdout, /127 +CMD not found/);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /126/);
    assert.match(readme, /127/);
  });
});

describe('usage errors (2)', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['--connect with --platform', ['run', '--connect', '/nonexistent/sock', '--platform', 'qemu-vtd', '--', 'true'], /--connect and --platform cannot be used together/],
    ['--connect with --root-caps', ['run', '--connect=/nonexistent/sock', '--root-caps', '--', 'true'], /--connect and --root-caps cannot be used together/],
    ['--connect with -c', ['run', '--connect', '/nonexistent/sock', '-c', '--', 'true'], /--connect and tracing/],
    ['an unknown option', ['run', '--frobnicate', '--', 'true'], /unknown option '--frobnicate'/],
    ['an unknown short option', ['run', '-q', '--', 'true'], /unknown option '-q'/],
    ['-o without its FILE', ['run', '-o'], /option '-o' needs a value/],
    ['no CMD', ['run', '--trace'], /run: missing CMD/],
    ['--trace FILE and -o OTHER', ['run', '--trace=/tmp/a', '-o', '/tmp/b', '--', 'true'], /two trace files/],
    ['an unknown -e name', ['run', '-e', 'trace=IOMMU_IOAS_MAP,frob', '--', 'true'], /'frob' is neither a call name/],
    ['an -e qualifier other than trace=', ['run', '-e', 'signal=none', '--', 'true'], /only 'trace=' is supported/],
    ['a value given to a flag', ['run', '--root-caps=yes', '--', 'true'], /'--root-caps' takes no value/],
  ];
  for (const [what, args, re] of cases) {
    it(`${what}: refused, one line naming it, exit 2`, () => {
      const r = cli(args);
      assert.equal(r.status, 2, r.stderr);
      const lines = said(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, re);
      assert.match(r.stderr, /Try 'iommufd-emu run --help'/);
    });
  }
});

describe('failures said once, with their cause (1)', () => {
  it('a trace file that cannot be opened', () => {
    const r = cli(['run', '--trace=/nonexistent-dir/t.log', '--', hello]);
    assert.equal(r.status, 1);
    assert.deepEqual(said(r.stderr), ['iommufd-emu: cannot open trace file /nonexistent-dir/t.log: No such file or directory']);
    assert.doesNotMatch(r.stderr, /cannot start the server/);
    assert.equal(r.stdout, '', 'CMD did not run');
  });

  it("serve --socket in a directory that does not exist", () => {
    const r = cli(['serve', '--socket', '/nonexistent-dir/sock']);
    assert.equal(r.status, 1);
    assert.deepEqual(said(r.stderr), ['iommufd-emu: cannot listen on /nonexistent-dir/sock: its directory /nonexistent-dir: No such file or directory']);
  });

  it('serve --socket in a directory others can write, or on a file that is not a socket', () => {
    const r = cli(['serve', '--socket', '/tmp/iommufd-emu-test.sock']);
    assert.equal(r.status, 1);
    assert.deepEqual(said(r.stderr), ['iommufd-emu: cannot listen on /tmp/iommufd-emu-test.sock: /tmp: others can write this directory (or it is not ours); put the socket in a directory only we can write']);
    const own = fs.mkdtempSync(path.join(tempDir(), 'sockdir-'));
    fs.chmodSync(own, 0o700);
    fs.writeFileSync(path.join(own, 'file'), '');
    const f = cli(['serve', '--socket', path.join(own, 'file')]);
    assert.equal(f.status, 1);
    assert.deepEqual(said(f.stderr), [`iommufd-emu: cannot listen on ${path.join(own, 'file')}: ${path.join(own, 'file')} exists and is not a socket`]);
  });

  it('run --connect to a socket that is not there', () => {
    const r = cli(['run', '--connect', '/nonexistent-dir/sock', '--', hello]);
    assert.equal(r.status, 1);
    assert.deepEqual(said(r.stderr), ['iommufd-emu: cannot reach the server at /nonexistent-dir/sock: No such file or directory']);
  });

  it('a checkout that was never built: one line saying what to run, no stack trace', () => {
    const fresh = fs.mkdtempSync(path.join(tempDir(), 'unbuilt-'));
    fs.cpSync(path.join(ROOT, 'bin'), path.join(fresh, 'bin'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(fresh, 'package.json'));
    const r = cli(['run', '--', 'true'], { bin: path.join(fresh, 'bin/iommufd-emu') });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `iommufd-emu: not built: dist/src/cli/main.js is missing; run 'npm ci' in ${fresh} (it installs the dependencies and builds dist/ and native/)\n`);
    // Built, but the native peer module is missing.
    fs.cpSync(path.join(ROOT, 'dist'), path.join(fresh, 'dist'), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(fresh, 'node_modules'));
    const r2 = cli(['run', '--', 'true'], { bin: path.join(fresh, 'bin/iommufd-emu') });
    assert.equal(r2.status, 1);
    assert.equal(r2.stderr, `iommufd-emu: not built: native/peer/peer.node is missing; run 'npm ci' in ${fresh} (it installs the dependencies and builds dist/ and native/)\n`);
  });
});
