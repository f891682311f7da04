// `iommufd-emu run` never dies of its output and always ends like its
// program: a trace reader that goes away (| head, a closed stderr) stops the
// trace and nothing else; SIGINT/SIGTERM reach the program and run exits with
// its status; no directory is left behind, and those of a killed run are
// removed at the next start.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, compileClient, ensureShim, removeTempDir, steps, tempDir } from './shim/build.js';

const bins: Record<string, string> = {};
const started = new Set<ChildProcess>();
/** Programs that may outlive a failed test (killed in after()); removed once known to be gone, pids are reused. */
const orphans = new Set<number>();

before(() => {
  ensureShim();
  for (const name of ['tracepipe', 'sigwait', 'status']) bins[name] = compileClient(name);
});
after(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of orphans) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  removeTempDir();
});

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  /** Exited and its output is all read. */
  closed: Promise<void>;
  /** Resolves once stdout holds `text`. */
  waitFor: (text: string) => Promise<void>;
}

function launch(file: string, args: string[], detached = false): Proc {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached });
  started.add(child);
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; for (const w of waiters) w(); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  // 'exit', not 'close': an orphaned program may hold the pipes open.
  const exit = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (status, signal) => resolve({ status, signal }));
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child, exit, closed, stdout: () => out, stderr: () => err,
    waitFor: (text) => new Promise<void>((resolve, reject) => {
      const check = () => { if (out.includes(text)) resolve(); };
      waiters.push(check);
      check();
      void exit.then(() => { check(); reject(new Error(`exited before printing ${JSON.stringify(text)}; stderr: ${err}`)); });
    }),
  };
}

/** `iommufd-emu run ARGS` from bash (for pipelines); the script sees $RUN. */
function bash(script: string): Proc {
  return launch('bash', ['-c', `RUN="${process.execPath} ${BIN} run"; ${script}`]);
}

let outSeq = 0;
function outFile(): string {
  return path.join(tempDir(), `cli-run-${process.pid}-${outSeq++}.out`);
}

/** The server directories a client saw (its socket's directory and the state directory). */
function serverDirs(report: Map<string, string>): string[] {
  const sock = report.get('socket');
  const state = report.get('state');
  assert.ok(sock && state, 'the client reports the server it used');
  return [path.dirname(sock), state];
}

function assertGone(dirs: string[]): void {
  for (const d of dirs) assert.equal(fs.existsSync(d), false, `${d} is left behind`);
}

describe('run --trace: a reader that goes away', () => {
  it('`run --trace=/dev/stdout -- PROG | head -1`: the trace stops, PROG\'s ioctls and status are its own', { timeout: 20_000 }, async () => {
    const out = outFile();
    // The client waits until head has exited (its stdout, the same pipe, has no reader) before its ioctls.
    const p = bash(`$RUN --trace=/dev/stdout -- ${bins.tracepipe} ${out} 1 | head -1; exit \${PIPESTATUS[0]}`);
    const { status } = await p.exit;
    await p.closed;
    const r = steps(fs.readFileSync(out, 'utf8'));
    assert.equal(status, 7, `run exits with the program's status; stderr: ${p.stderr()}`);
    assert.match(p.stdout(), /^\[\d+\] open\("\/dev\/iommu"\) = \d+\n$/, 'head printed the first trace line');
    assert.equal(r.get('reader gone'), 'yes');
    assert.equal(r.get('ioctls'), '250');
    assert.equal(r.get('failures'), '0', `first failure: ${r.get('first failure')}; stderr: ${p.stderr()}`);
    assert.equal(r.get('close'), '0');
    assert.equal(r.get('done'), 'yes');
    assert.doesNotMatch(p.stderr(), /internal error|bug/);
    const stopped = p.stderr().split('\n').filter((l) => l.includes('--trace stopped'));
    assert.equal(stopped.length, 1, p.stderr());
    assert.match(stopped[0]!, /\/dev\/stdout.*EPIPE/);
    assertGone(serverDirs(r));
  });

  it('`run --trace` with stderr a pipe nobody reads: the program runs untraced, its status is run\'s', { timeout: 20_000 }, async () => {
    const out = outFile();
    const p = bash(`$RUN --trace -- ${bins.tracepipe} ${out} 2 2>&1 >/dev/null | true; exit \${PIPESTATUS[0]}`);
    const { status } = await p.exit;
    await p.closed;
    const r = steps(fs.readFileSync(out, 'utf8'));
    assert.equal(status, 7, p.stderr());
    assert.equal(r.get('open'), '0');
    assert.equal(r.get('reader gone'), 'yes');
    assert.equal(r.get('failures'), '0', `first failure: ${r.get('first failure')}`);
    assert.equal(r.get('done'), 'yes');
    assertGone(serverDirs(r));
  });
});

describe('run: signals', () => {
  // detached: a new session without a terminal, as under a supervisor or timeout(1).
  const cases: Array<[NodeJS.Signals, 'die' | 'catch', number]> = [
    ['SIGINT', 'catch', 100 + 2],
    ['SIGINT', 'die', 128 + 2],
    ['SIGTERM', 'catch', 100 + 15],
    ['SIGTERM', 'die', 128 + 15],
  ];
  for (const [sig, mode, expected] of cases) {
    it(`${sig} to run reaches the program (${mode === 'catch' ? 'it handles it and exits' : 'it dies of it'}); run exits ${expected}`, { timeout: 20_000 }, async () => {
      const out = outFile();
      const p = launch(process.execPath, [BIN, 'run', '--', bins.sigwait!, out, mode], true);
      await p.waitFor('ready\n');
      const r0 = steps(fs.readFileSync(out, 'utf8'));
      const progPid = Number(r0.get('pid'));
      orphans.add(progPid);
      assert.equal(r0.get('option get'), '0');
      const dirs = serverDirs(r0);
      for (const d of dirs) assert.ok(fs.existsSync(d), `${d} exists while the program runs`);
      p.child.kill(sig);
      const { status } = await p.exit;
      assert.equal(status, expected, p.stderr());
      orphans.delete(progPid); // run waited for it
      if (mode === 'catch') assert.match(fs.readFileSync(out, 'utf8'), new RegExp(`^caught ${os.constants.signals[sig]}$`, 'm'));
      assertGone(dirs);
    });
  }
});

describe('run: a killed run', () => {
  it("SIGKILL leaves the directories; the next start removes them (the owner is dead) and keeps a live run's", { timeout: 20_000 }, async () => {
    const out = outFile();
    const killed = launch(process.execPath, [BIN, 'run', '--', bins.sigwait!, out, 'die'], true);
    await killed.waitFor('ready\n');
    const out2 = outFile();
    const live = launch(process.execPath, [BIN, 'run', '--', bins.sigwait!, out2, 'die'], true);
    await live.waitFor('ready\n');
    const r = steps(fs.readFileSync(out, 'utf8'));
    const pid = Number(r.get('pid'));
    const livePid = Number(steps(fs.readFileSync(out2, 'utf8')).get('pid'));
    orphans.add(pid).add(livePid);
    const dirs = serverDirs(r);
    const liveDirs = serverDirs(steps(fs.readFileSync(out2, 'utf8')));
    for (const d of dirs) assert.ok(fs.existsSync(d), `${d} exists while the program runs`);
    killed.child.kill('SIGKILL');
    assert.equal((await killed.exit).signal, 'SIGKILL'); // reaped: its pid is gone
    process.kill(pid, 'SIGKILL'); // the orphaned program
    orphans.delete(pid);
    // (Not checked here that they are still there: another test's run may
    // start, and clean them up, at any moment now.)

    const next = launch(process.execPath, [BIN, 'run', '--', bins.status!, 'status', '3']);
    assert.equal((await next.exit).status, 3, next.stderr());
    assertGone(dirs);
    for (const d of liveDirs) assert.ok(fs.existsSync(d), `${d} of the live run is kept`);

    live.child.kill('SIGTERM');
    const liveExit = await live.exit;
    assert.equal(liveExit.status, 128 + 15, live.stderr());
    orphans.delete(livePid); // run waited for it
    assertGone(liveDirs);
  });
});
