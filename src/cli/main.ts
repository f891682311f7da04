// iommufd-emu's command line: `run` (a server in-process, the command as its
// child with the shim preloaded) and `serve` (a long-lived server that
// `run --connect` joins). Exit codes follow Unix tools: 2 for usage errors,
// 126/127 for a command that cannot run or is not found, the command's own
// status otherwise (128+signal when it was killed).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmuServer, queryServer } from '../server/server.js';
import { removeStaleDirs } from '../server/stale-dirs.js';
import { Engine } from '../core/engine.js';
import { PLATFORMS, type Platform } from '../hw/platform.js';
import { loadPlatform } from '../server/platform-file.js';
import { checkDynamic, resolveCommand } from './elf.js';

const PROG = 'iommufd-emu';

const MAIN_HELP = `Usage: ${PROG} COMMAND [OPTIONS]

Linux's /dev/iommu (iommufd) emulated in userspace for unmodified programs.

Commands:
  run     run a program with /dev/iommu emulated
  serve   run a long-lived server that 'run --connect' joins

'${PROG} COMMAND --help' describes each command.
`;

const RUN_HELP = `Usage: ${PROG} run [OPTIONS] [--] CMD [ARGS...]

Run CMD with the iommufd-emu shim preloaded: its open("/dev/iommu") and the
ioctls on that fd are answered by the emulator. CMD runs as a child of the
server, so the server may read and write its memory. Exits with CMD's status
(128+N when CMD was killed by signal N). SIGTERM and SIGHUP are passed on to
CMD, and SIGINT and SIGQUIT unless they came from the terminal (which sent
them to CMD too); run then waits for CMD and cleans up. If the trace's reader
goes away (--trace | head), the trace stops and CMD goes on. Directories left
by a run that was killed (SIGKILL) are removed when the next one starts.

Options:
  --platform NAME|FILE  the simulated machine: a built-in name (${Object.keys(PLATFORMS).join(', ')};
                    default mock) or a JSON platform file {"base": NAME, ...}
  --trace[=FILE]    log every emulated ioctl (name, decoded arguments, result or
                    errno, time) to stderr, or to FILE
  --root-caps       a root client also holds the capabilities this container
                    withholds (absent from its bounding set, e.g.
                    CAP_SYS_RESOURCE), as root outside a container does; ones
                    the client dropped itself stay dropped
  --connect SOCK    use the server listening on SOCK ('${PROG} serve') instead
                    of starting one
  --user[=USER]     run CMD as USER (a name or uid; default nobody), for
                    RLIMIT_MEMLOCK accounting as an ordinary user (needs root)
  -h, --help        show this help

CMD must be dynamically linked: a static binary cannot take LD_PRELOAD.
`;

const SERVE_HELP = `Usage: ${PROG} serve [OPTIONS]

Run a long-lived iommufd-emu server and print its socket path on stdout.
Clients join it with '${PROG} run --connect SOCK -- CMD'; each names the server
its ptracer (prctl PR_SET_PTRACER) so that the server may access its memory
under Yama. Stops on SIGINT, SIGTERM or SIGHUP.

Options:
  --socket PATH     listen on PATH (default: a new private directory under the
                    temporary directory)
  --trace[=FILE]    log every emulated ioctl to stderr, or to FILE
  --platform NAME|FILE  the simulated machine (see 'run --help')
  --root-caps       root clients hold what the container withholds (see 'run --help')
  -h, --help        show this help
`;

class UsageError extends Error {}

/** The shim library: IOMMUFD_EMU_SHIM, or native/shim beside our dist/. */
export function shimPath(): string {
  if (process.env.IOMMUFD_EMU_SHIM) return path.resolve(process.env.IOMMUFD_EMU_SHIM);
  const here = path.dirname(fileURLToPath(import.meta.url)); // dist/src/cli
  return path.resolve(here, '../../../native/shim/libiommufd-shim.so');
}

/** One line on stderr; nothing when stderr is gone (a closed pipe): we never die of our output. */
function say(line: string): void {
  try { writeAll(2, `${PROG}: ${line}\n`); } catch { /* nobody is listening */ }
}

const waitCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Write all of `text` to `fd`, as a blocking write would: a non-blocking fd
 * that is full (EAGAIN; a pipe another process set O_NONBLOCK on) is waited
 * for, a partial write is continued. Throws the other errors (EPIPE...).
 */
function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text, 'utf8');
  while (buf.length) {
    try {
      buf = buf.subarray(fs.writeSync(fd, buf));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(waitCell, 0, 0, 1);
    }
  }
}

interface Parsed {
  opts: Map<string, string | true>;
  rest: string[];
}

/**
 * Options before the command: `--name`, `--name=value`, `--name value` for
 * those in `takesValue`; `--` or the first non-option ends them.
 */
function parseOptions(args: string[], known: Set<string>, takesValue: Set<string>, optionalValue: Set<string>): Parsed {
  const opts = new Map<string, string | true>();
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') { i++; break; }
    if (a === '-h') { opts.set('help', true); continue; }
    if (!a.startsWith('--') || a === '-') break;
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (!known.has(name)) throw new UsageError(`unknown option '${a}'`);
    if (eq >= 0) {
      if (!takesValue.has(name) && !optionalValue.has(name)) throw new UsageError(`option '--${name}' takes no value`);
      opts.set(name, a.slice(eq + 1));
    } else if (takesValue.has(name)) {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`option '--${name}' needs a value`);
      opts.set(name, v);
    } else {
      opts.set(name, true);
    }
  }
  return { opts, rest: args.slice(i) };
}

/**
 * A line sink for --trace: stderr, or a file written synchronously (lines
 * stay in order with the client's output). It never throws: the server calls
 * it inside a client's request. When the reader goes away (`| head`: EPIPE)
 * or the sink fails in any other way, the trace stops with one line on
 * stderr and the program goes on untraced.
 */
function traceSink(v: string | true | undefined): ((line: string) => void) | undefined {
  if (v === undefined) return undefined;
  const fd = v === true ? 2 : fs.openSync(v, 'w');
  let stopped = false;
  return (line) => {
    if (stopped) return;
    try {
      writeAll(fd, line + '\n');
    } catch (e) {
      stopped = true;
      if (fd !== 2) try { fs.closeSync(fd); } catch { /* closed */ }
      say(`--trace stopped: cannot write to ${v === true ? 'stderr' : v} (${(e as Error).message}); the program goes on untraced`);
    }
  };
}

async function cmdRun(args: string[]): Promise<number> {
  const { opts, rest } = parseOptions(args, new Set(['platform', 'trace', 'connect', 'user', 'root-caps', 'help']),
    new Set(['platform', 'connect']), new Set(['trace', 'user']));
  if (opts.has('help')) { process.stdout.write(RUN_HELP); return 0; }
  if (rest.length === 0) throw new UsageError('run: missing CMD');
  const connect = opts.get('connect') as string | undefined;
  if (connect !== undefined && opts.has('trace')) {
    throw new UsageError(`run: --trace needs the in-process server; trace a shared one with '${PROG} serve --trace'`);
  }
  const platformArg = opts.get('platform') as string | undefined;
  let platform: Platform | undefined;
  if (platformArg !== undefined) {
    try { platform = loadPlatform(platformArg); } catch (e) { say((e as Error).message.replace(/^E[A-Z0-9]+: /, '')); return 2; }
  }

  let user: { uid: number; gid: number } | undefined;
  if (opts.has('user')) {
    const u = opts.get('user');
    user = lookupUser(u === true ? 'nobody' : u!);
    if (!user) throw new UsageError(`run: no such user '${u === true ? 'nobody' : u}'`);
    if (process.geteuid?.() !== 0) { say('--user needs root'); return 1; }
  }

  const shim = shimPath();
  if (!fs.existsSync(shim)) {
    say(`the shim ${shim} is not built; run 'npm run build' (it runs make -C native/shim)`);
    return 1;
  }
  const cmd = rest[0]!;
  const exe = resolveCommand(cmd);
  if (!exe) { say(`${cmd}: command not found`); return 127; }
  const dyn = checkDynamic(exe);
  if (dyn === 'static') {
    say(`${cmd} is statically linked: the shim cannot be preloaded into it (LD_PRELOAD needs the dynamic loader), so /dev/iommu cannot be emulated for it; link it dynamically`);
    return 126;
  }

  // From here on the status is the program's: signals are forwarded to it
  // (or, before it runs, end the run), the server's troubles are logged, and
  // whatever happens the server's directories are removed before we exit.
  const signals = new RunSignals();
  const onBug = (e: unknown) => { say(`internal error (bug), the program goes on: ${(e as Error)?.stack ?? e}`); };
  process.on('uncaughtException', onBug);
  process.on('unhandledRejection', onBug);
  let server: EmuServer | undefined;
  try {
    let env: NodeJS.ProcessEnv;
    try {
      if (connect !== undefined) {
        const q = await queryServer(connect);
        const preload = process.env.LD_PRELOAD ? `${shim} ${process.env.LD_PRELOAD}` : shim;
        env = {
          ...process.env, LD_PRELOAD: preload, IOMMUFD_EMU_SOCKET: path.resolve(connect),
          IOMMUFD_EMU_PATHS: q.paths, IOMMUFD_EMU_REDIRECT: q.redirect, IOMMUFD_EMU_STATE: q.stateDir,
          IOMMUFD_EMU_TRACER: String(q.pid),
        };
      } else {
        removeStaleDirs();
        server = await EmuServer.start({
          trace: traceSink(opts.get('trace')), log: say, engine: new Engine({ platform }), rootCaps: opts.has('root-caps'),
        });
        if (user) {
          server.allowUser(user.uid, user.gid);
          // The user may not reach the checkout's shim (a 0700 clone, a home
          // directory): preload a copy from the server's directory it owns.
          env = server.clientEnv(server.shareWithUser(shim));
        } else {
          env = server.clientEnv(shim);
        }
      }
    } catch (e) {
      say(`${connect !== undefined ? `cannot reach the server at ${connect}` : 'cannot start the server'}: ${(e as Error).message}`);
      return 1;
    }
    // Stopped before the program ran: report it as a shell reports a kill.
    if (signals.first) return 128 + (osSignal(signals.first) ?? 0);

    let child: ChildProcess;
    try {
      child = spawn(exe, rest.slice(1), { stdio: 'inherit', env, argv0: cmd, ...(user ?? {}) });
    } catch (e) {
      say(`${cmd}: ${(e as Error).message}`);
      return 126;
    }
    const status = new Promise<number>((resolve) => {
      child.once('error', (e) => { say(`${cmd}: ${e.message}`); resolve(126); });
      child.once('exit', (code, signal) => {
        resolve(signal ? 128 + (osSignal(signal) ?? 0) : code ?? 0);
      });
    });
    signals.forwardTo(child);
    return await status;
  } finally {
    try { await server?.close(); } catch (e) { say(`closing the server: ${(e as Error)?.stack ?? e}`); }
    signals.remove();
    process.off('uncaughtException', onBug);
    process.off('unhandledRejection', onBug);
  }
}

/**
 * The signals `run` passes on to its program, as a terminal or timeout(1)
 * would: SIGTERM and SIGHUP always; SIGINT and SIGQUIT unless we are in the
 * terminal's foreground process group, where the terminal delivered them to
 * the program itself (it is in our group) and a second one would be a
 * second ^C. Before the program runs, the first signal is remembered and
 * the run ends without starting it.
 */
class RunSignals {
  first: NodeJS.Signals | undefined;
  private child: ChildProcess | undefined;
  private readonly handlers: Array<[NodeJS.Signals, () => void]> = [];

  constructor() {
    for (const sig of ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]) {
      const h = () => this.got(sig);
      this.handlers.push([sig, h]);
      process.on(sig, h);
    }
  }

  forwardTo(child: ChildProcess): void {
    this.child = child;
  }

  private got(sig: NodeJS.Signals): void {
    this.first ??= sig;
    if (!this.child) return;
    if ((sig === 'SIGINT' || sig === 'SIGQUIT') && inForegroundOfTerminal()) return;
    try { this.child.kill(sig); } catch { /* gone */ }
  }

  remove(): void {
    for (const [s, h] of this.handlers) process.off(s, h);
  }
}

/** Whether our process group is the foreground group of our controlling terminal (so it sends ^C to us all). */
function inForegroundOfTerminal(): boolean {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // pid (comm) state ppid pgrp session tty_nr tpgid ...; comm may hold spaces and parentheses.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(f[2]), ttyNr = Number(f[4]), tpgid = Number(f[5]);
    return ttyNr !== 0 && tpgid > 0 && tpgid === pgrp;
  } catch {
    return false;
  }
}

/** A user by name or number, from /etc/passwd. */
function lookupUser(u: string): { uid: number; gid: number } | undefined {
  let lines: string[] = [];
  try { lines = fs.readFileSync('/etc/passwd', 'utf8').split('\n'); } catch { /* none */ }
  for (const l of lines) {
    const f = l.split(':');
    if (f.length >= 4 && (f[0] === u || f[2] === u)) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return /^\d+$/.test(u) ? { uid: Number(u), gid: Number(u) } : undefined;
}

function osSignal(name: NodeJS.Signals): number | undefined {
  return (osConstants.signals as Record<string, number>)[name];
}

async function cmdServe(args: string[]): Promise<number> {
  const { opts, rest } = parseOptions(args, new Set(['socket', 'trace', 'platform', 'root-caps', 'help']), new Set(['socket', 'platform']), new Set(['trace']));
  if (opts.has('help')) { process.stdout.write(SERVE_HELP); return 0; }
  if (rest.length) throw new UsageError(`serve: unexpected argument '${rest[0]}'`);
  let platform: Platform | undefined;
  const platformArg = opts.get('platform') as string | undefined;
  if (platformArg !== undefined) {
    try { platform = loadPlatform(platformArg); } catch (e) { say((e as Error).message.replace(/^E[A-Z0-9]+: /, '')); return 2; }
  }
  let server: EmuServer;
  try {
    removeStaleDirs();
    server = await EmuServer.start({
      socketPath: opts.get('socket') as string | undefined, trace: traceSink(opts.get('trace')), log: say,
      engine: new Engine({ platform }), rootCaps: opts.has('root-caps'),
    });
  } catch (e) {
    say(`cannot start the server: ${(e as Error).message}`);
    return 1;
  }
  try { writeAll(1, server.socketPath + '\n'); } catch { /* nobody reads it */ }
  const stops: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let stop = () => {};
  await new Promise<void>((resolve) => {
    stop = resolve;
    for (const sig of stops) process.on(sig, stop);
  });
  try { await server.close(); } catch (e) { say(`closing the server: ${(e as Error)?.stack ?? e}`); }
  for (const sig of stops) process.off(sig, stop);
  return 0;
}

/** Run the CLI; resolves to the process exit status. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  try {
    switch (cmd) {
      case undefined:
        process.stderr.write(MAIN_HELP);
        return 2;
      case '-h': case '--help': case 'help':
        process.stdout.write(MAIN_HELP);
        return 0;
      case 'run': return await cmdRun(args);
      case 'serve': return await cmdServe(args);
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      say(e.message);
      process.stderr.write(`Try '${PROG} ${cmd === 'run' || cmd === 'serve' ? `${cmd} ` : ''}--help'.\n`);
      return 2;
    }
    throw e;
  }
}
