// iommufd-emu's command line: `run` (a server in-process, the command as its
// child with the shim preloaded) and `serve` (a long-lived server that
// `run --connect` joins). Exit codes follow Unix tools: 2 for usage errors,
// 126/127 for a command that cannot run or is not found, the command's own
// status otherwise (128+signal when it was killed).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmuServer, queryServer, type TraceEvent } from '../server/server.js';
import { UiServer } from '../server/ui-server.js';
import { removeStaleDirs } from '../server/stale-dirs.js';
import { Engine } from '../core/engine.js';
import { PLATFORMS, type Platform } from '../hw/platform.js';
import { loadPlatform } from '../server/platform-file.js';
import { platformReport } from '../server/platform-report.js';
import { checkDynamic, findCommand } from './elf.js';
import { TRACE_CLASSES, TraceFilter, Tracer, TraceUsageError, writeAll } from './trace.js';

const PROG = 'iommufd-emu';

const EXIT_STATUS = `Exit status:
  CMD's     CMD ran: its own status (128+N when it was killed by signal N)
  1         the emulator could not start (the server, the trace file, the
            shim) or --user without root
  2         a usage error (an unknown option or combination, no CMD)
  126       CMD cannot run: a directory, not executable, statically linked
  127       CMD not found
`;

const MAIN_HELP = `Usage: ${PROG} COMMAND [OPTIONS]

Linux's /dev/iommu (iommufd) emulated in userspace for unmodified programs.

Commands:
  run       run a program with /dev/iommu emulated
  serve     run a long-lived server that 'run --connect' joins
  platform  list the built-in machines, or show one and its coherency table

Options:
  -h, --help     show this help
  -V, --version  print the version

'${PROG} COMMAND --help' describes each command.
`;

const TRACE_HELP = `Tracing (strace's habits; any of these turns the trace on):
  --trace[=FILE]    log every call on an emulated file (name, decoded
                    arguments, result or errno, time) to stderr, or to FILE.
                    '--trace FILE' works too: the next word is FILE unless it
                    is '--' or starts with '-' (so write '--trace -- CMD')
  -o, --output FILE write the trace (and the -c table) to FILE
  -t, -tt, -ttt     prefix each line with the time of day, with microseconds,
                    or as seconds since the epoch
  -e trace=SET      show only these calls: names (IOMMU_IOAS_MAP, open...) and
                    classes, comma-separated; '!SET' shows all but those.
                    Classes: ${Object.keys(TRACE_CLASSES).join(', ')}
  -s, --string-limit N  show at most N elements of an array behind a pointer
                    (allowed_iovas, eventfds, dirty bitmap words), then '...'
                    (default 32, as strace's string limit)
  -v, --verbose     unabbreviated structs: also the reserved fields that are 0
                    ('-e verbose=all' too; '-e verbose=none' the default)
  -c, --summary-only  count calls, errors and time per call name and print a
                    table at exit, instead of the lines
  -C, --summary     the lines and the table
`;

/** The last options of 'run' and 'serve': --ui (the view lives while `what`), help and version. */
const uiAndHelpOptions = (what: string): string => `  --ui[=PORT]       serve a live view of the machine while ${what} (clients,
                    objects, IOVA maps, page tables, pins, devices, a timeline)
                    on http://127.0.0.1:PORT (default: any free port); the URL
                    with its access token is printed on stderr (docs/ui.md)
  -h, --help        show this help
  -V, --version     print the version`;

const RUN_HELP = `Usage: ${PROG} run [OPTIONS] [--] CMD [ARGS...]

Run CMD with the iommufd-emu shim preloaded: its open("/dev/iommu") and the
ioctls on that fd are answered by the emulator. CMD runs as a child of the
server, so the server may read and write its memory. Exits with CMD's status
(128+N when CMD was killed by signal N). SIGTERM and SIGHUP are passed on to
CMD, and SIGINT and SIGQUIT unless they came from the terminal (which sent
them to CMD too); run then waits for CMD and cleans up. If the trace's reader
goes away (--trace | head), the trace stops and CMD goes on. Directories left
by a run that was killed (SIGKILL) are removed when the next one starts.
Options take their value as --opt=V or --opt V.

Options:
  --platform NAME|FILE  the simulated machine: a built-in name (default
                    mock; 'iommufd-emu platform list' lists them) or a JSON
                    platform file {"base": NAME, ...}
  --root-caps       a root client also holds the capabilities this container
                    withholds (absent from its bounding set, e.g.
                    CAP_SYS_RESOURCE), as root outside a container does; ones
                    the client dropped itself stay dropped
  --pcap FILE       write every frame on the wire between the first two
                    NICs (the oracle's back-to-back hub) to FILE, a new pcap
                    file (it must not exist)
  --connect SOCK    use the server listening on SOCK ('${PROG} serve') instead
                    of starting one (not with --platform, --root-caps, --ui,
                    --pcap or the trace: they belong to that server)
  --user[=USER]     run CMD as USER (a name or uid; default nobody), for
                    RLIMIT_MEMLOCK accounting as an ordinary user (needs root);
                    '--user USER' as --trace FILE
${uiAndHelpOptions('CMD runs')}

${TRACE_HELP}
CMD must be dynamically linked: a static binary cannot take LD_PRELOAD.

${EXIT_STATUS}`;

const SERVE_HELP = `Usage: ${PROG} serve [OPTIONS]

Run a long-lived iommufd-emu server and print its socket path on stdout.
Clients join it with '${PROG} run --connect SOCK -- CMD'; each names the server
its ptracer (prctl PR_SET_PTRACER) so that the server may access its memory
under Yama. Stops on SIGINT, SIGTERM or SIGHUP (and prints the -c table then).

Options:
  --socket PATH     listen on PATH (default: a new private directory under the
                    temporary directory); its directory must exist and be
                    writable by us only
  --platform NAME|FILE  the simulated machine (see 'run --help')
  --root-caps       root clients hold what the container withholds (see 'run --help')
  --pcap FILE       write every frame on the NICs' wire to FILE (see 'run --help')
  --user USER       also let USER's processes in (a name or uid; needs root):
                    by default only our own user and root may connect. Each
                    connection's user is the kernel's (SO_PEERCRED)
${uiAndHelpOptions('it runs')}

${TRACE_HELP}
Exit status: 0 when stopped by a signal, 1 when it cannot start, 2 for a
usage error.
`;

const PLATFORM_HELP = `Usage: ${PROG} platform list
       ${PROG} platform show NAME|FILE

list    the built-in platforms, one per line: name and description
show    print a platform (a built-in name or a JSON platform file): its IOMMU
        units with their registers, root complexes and the PCI functions
        bound to vfio-pci (vfio0, vfio1, ...), then its coherency table: each
        device bound to one iommufd and attached to one IOAS in order, as
        the emulated kernel answers: whether bind succeeds
        (IOMMU_CAP_CACHE_COHERENCY), whether the device can enforce
        coherency (IOMMU_CAP_ENFORCE_CACHE_COHERENCY), the automatic HWPT it
        gets and whether that enforces, and VFIO_DMA_CC_IOMMU on the compat
        container. Platform files: platforms/platform.schema.json.

Options:
  -h, --help     show this help
  -V, --version  print the version

Exit status: 0 when shown, 2 for a usage error or a platform that cannot be
loaded (no such name or file, a bad file: the message names the field).
`;

class UsageError extends Error {}

/** The package's root: dist/src/cli → ../../.. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The shim library: IOMMUFD_EMU_SHIM, or native/shim beside our dist/. */
export function shimPath(): string {
  if (process.env.IOMMUFD_EMU_SHIM) return path.resolve(process.env.IOMMUFD_EMU_SHIM);
  return path.join(ROOT, 'native/shim/libiommufd-shim.so');
}

/** What builds the native parts here: an installed package is rebuilt by npm, a checkout by its build. */
function buildHint(): string {
  return ROOT.split(path.sep).includes('node_modules')
    ? "run 'npm rebuild iommufd-emu' (it needs cc and make)"
    : `run 'npm run build' in ${ROOT} (it runs make -C native/shim)`;
}

/** The version in our package.json. */
export function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** One line on stderr; nothing when stderr is gone (a closed pipe): we never die of our output. */
function say(line: string): void {
  try { writeAll(2, `${PROG}: ${line}\n`); } catch { /* nobody is listening */ }
}

const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory', EACCES: 'Permission denied', EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory', ENOTDIR: 'Not a directory', EROFS: 'Read-only file system', EEXIST: 'File exists',
  ENOSPC: 'No space left on device', ELOOP: 'Too many levels of symbolic links', ENAMETOOLONG: 'File name too long',
  ECONNREFUSED: 'Connection refused', ENOTSOCK: 'Socket operation on non-socket', EADDRINUSE: 'Address already in use',
};

/** An error in a shell's words: "No such file or directory", not Node's "ENOENT: no such file..., open 'x'". */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.syscall && err.code && STRERROR[err.code]) return STRERROR[err.code]!;
  // The engine's and server's errors read "EACCES: why": the why is the cause.
  return String(err?.message ?? e).replace(/^E[A-Z0-9]+: (?=.)/, '');
}

interface OptionSpec {
  /** Where its value is kept. */
  key: string;
  long?: string;
  short?: string;
  /**
   * 'optional': --opt=V, or --opt V when V is not '--' and does not start with '-'.
   * 'attached': --opt=V only ('--ui PROG' leaves PROG alone).
   */
  value: 'none' | 'required' | 'optional' | 'attached';
}

interface Parsed {
  /** Each option's values in order (true for one without a value). */
  opts: Map<string, Array<string | true>>;
  /** Options whose optional value was the next word (--trace FILE). */
  spaced: Set<string>;
  rest: string[];
}

const COMMON: OptionSpec[] = [
  { key: 'help', long: 'help', short: 'h', value: 'none' },
  { key: 'version', long: 'version', short: 'V', value: 'none' },
];
const TRACE_OPTS: OptionSpec[] = [
  { key: 'trace', long: 'trace', value: 'optional' },
  { key: 'output', long: 'output', short: 'o', value: 'required' },
  { key: 'timestamps', short: 't', value: 'none' },
  { key: 'filter', short: 'e', value: 'required' },
  { key: 'summary-only', long: 'summary-only', short: 'c', value: 'none' },
  { key: 'summary', long: 'summary', short: 'C', value: 'none' },
  { key: 'strsize', long: 'string-limit', short: 's', value: 'required' },
  { key: 'verbose', long: 'verbose', short: 'v', value: 'none' },
];
const SERVER_OPTS: OptionSpec[] = [
  { key: 'platform', long: 'platform', value: 'required' },
  { key: 'root-caps', long: 'root-caps', value: 'none' },
  { key: 'ui', long: 'ui', value: 'attached' },
  { key: 'pcap', long: 'pcap', value: 'required' },
];
const RUN_OPTS: OptionSpec[] = [...COMMON, ...TRACE_OPTS, ...SERVER_OPTS,
  { key: 'connect', long: 'connect', value: 'required' },
  { key: 'user', long: 'user', value: 'optional' },
];
const SERVE_OPTS: OptionSpec[] = [...COMMON, ...TRACE_OPTS, ...SERVER_OPTS,
  { key: 'socket', long: 'socket', value: 'required' },
  { key: 'user', long: 'user', value: 'required' },
];

/**
 * Options before the command, as getopt_long reads them: `--name`,
 * `--name=V`, `--name V`; `-x`, clustered `-ctt`, `-o FILE`, `-oFILE`. `--`
 * or the first word that is not an option ends them.
 */
function parseOptions(args: string[], specs: OptionSpec[]): Parsed {
  const opts = new Map<string, Array<string | true>>();
  const spaced = new Set<string>();
  const put = (s: OptionSpec, v: string | true) => { const a = opts.get(s.key) ?? []; a.push(v); opts.set(s.key, a); };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const s = specs.find((x) => x.long === name);
      if (!s) throw new UsageError(`unknown option '${eq < 0 ? a : a.slice(0, eq)}'`);
      if (eq >= 0) {
        if (s.value === 'none') throw new UsageError(`option '--${name}' takes no value`);
        put(s, a.slice(eq + 1));
      } else if (s.value === 'required') {
        const v = args[++i];
        if (v === undefined) throw new UsageError(`option '--${name}' needs a value`);
        put(s, v);
      } else if (s.value === 'optional' && args[i + 1] !== undefined && args[i + 1] !== '--' && !args[i + 1]!.startsWith('-')) {
        put(s, args[++i]!);
        spaced.add(s.key);
      } else {
        put(s, true);
      }
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const s = specs.find((x) => x.short === a[j]);
      if (!s) throw new UsageError(`unknown option '-${a[j]}'`);
      if (s.value === 'none') { put(s, true); continue; }
      const v = j + 1 < a.length ? a.slice(j + 1) : args[++i];
      if (v === undefined) throw new UsageError(`option '-${a[j]}' needs a value`);
      put(s, v);
      break;
    }
  }
  return { opts, spaced, rest: args.slice(i) };
}

/** The last value of an option (a later one wins, as in getopt programs). */
function last(p: Parsed, key: string): string | true | undefined {
  const a = p.opts.get(key);
  return a?.[a.length - 1];
}

/** The tracer the trace options ask for, or undefined when none is given. */
function tracerFor(p: Parsed): Tracer | undefined {
  const traceOpt = last(p, 'trace');
  const output = last(p, 'output') as string | undefined;
  // -e verbose=all|none (strace's -v for every call, or the default): not a filter.
  let verboseE: boolean | undefined;
  const filters = ((p.opts.get('filter') ?? []) as string[]).filter((e) => {
    const m = /^(?:verbose|v)=(.*)$/.exec(e);
    if (!m) return true;
    if (m[1] !== 'all' && m[1] !== 'none') throw new UsageError(`-e ${e}: only 'verbose=all' and 'verbose=none' are supported`);
    verboseE = m[1] === 'all';
    return false;
  });
  const timestamps = Math.min(3, p.opts.get('timestamps')?.length ?? 0);
  const summaryOnly = p.opts.has('summary-only');
  const summary = summaryOnly || p.opts.has('summary');
  const strsizeOpt = last(p, 'strsize') as string | undefined;
  const verbose = verboseE ?? p.opts.has('verbose');
  if (traceOpt === undefined && output === undefined && !filters.length && !timestamps && !summary &&
      strsizeOpt === undefined && !p.opts.has('verbose') && verboseE === undefined) return undefined;
  let strsize: number | undefined;
  if (strsizeOpt !== undefined) {
    if (!/^\d+$/.test(strsizeOpt) || Number(strsizeOpt) > 0x7fffffff) {
      throw new UsageError(`-s ${strsizeOpt}: the string limit is a number of elements (0 or more)`);
    }
    strsize = Number(strsizeOpt);
  }
  if (typeof traceOpt === 'string' && output !== undefined && traceOpt !== output) {
    throw new UsageError(`--trace ${traceOpt} and -o ${output} name two trace files; give one`);
  }
  const file = typeof traceOpt === 'string' ? traceOpt : output;
  if (file === '') throw new UsageError('the trace file name is empty');
  if (typeof traceOpt === 'string' && p.spaced.has('trace')) {
    // '--trace PROG ARGS' would truncate PROG: a word that names a program is not a trace file.
    try {
      const st = fs.statSync(traceOpt);
      if (st.isFile() && st.mode & 0o111) {
        throw new UsageError(`--trace ${traceOpt}: that is a program, not a trace file; write '--trace -- CMD' to trace to stderr or '--trace=FILE'`);
      }
    } catch (e) { if (e instanceof UsageError) throw e; }
  }
  let filter: TraceFilter | undefined;
  try {
    for (const f of filters) (filter ??= new TraceFilter()).add(f);
  } catch (e) {
    if (e instanceof TraceUsageError) throw new UsageError(e.message);
    throw e;
  }
  return new Tracer({ file, lines: !summaryOnly, summary, filter, timestamps, say, ...(strsize !== undefined ? { strsize } : {}), verbose });
}

/** --ui[=PORT]: undefined without it, 0 (any free port) without a PORT. */
function uiPort(p: Parsed): number | undefined {
  const v = last(p, 'ui');
  if (v === undefined) return undefined;
  if (v === true) return 0;
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new UsageError(`--ui=${v}: not a TCP port (0-65535)`);
  return Number(v);
}

/** The server's trace hook: the tracer's lines and the live view's timeline; undefined when neither wants them. */
function traceHook(tracer: Tracer | undefined, uiAt: number | undefined, view: { ui?: UiServer }): ((line: string, ev?: TraceEvent) => void) | undefined {
  if (uiAt === undefined) return tracer?.line;
  const line = tracer?.line;
  return (l, ev) => { line?.(l, ev); view.ui?.traced(l, ev); };
}

/** Start the live view of `server` and say where it is. */
async function startLiveView(server: EmuServer, port: number, log: (line: string) => void): Promise<UiServer> {
  const ui = await UiServer.start({ source: { engine: server.engine, clients: () => server.uiClients(), kvmNote: (n) => server.kvm.noteFor(n) }, port, log });
  log(`live view: ${ui.url}`);
  return ui;
}

/** Open the tracer's file; false (after saying why) when it cannot be. */
function openTracer(t: Tracer | undefined, p: Parsed): boolean {
  if (!t) return true;
  try {
    t.open();
    return true;
  } catch (e) {
    const file = typeof last(p, 'trace') === 'string' ? last(p, 'trace') : last(p, 'output');
    say(`cannot open trace file ${file}: ${reason(e)}`);
    return false;
  }
}

/** The temporary directory the server makes its own under: say so once when it is not there. */
function checkTmpdir(): boolean {
  const dir = os.tmpdir();
  try {
    if (fs.statSync(dir).isDirectory()) return true;
    say(`cannot start the server: the temporary directory ${dir} is not a directory (set TMPDIR)`);
  } catch (e) {
    say(`cannot start the server: the temporary directory ${dir}: ${reason(e)} (set TMPDIR)`);
  }
  return false;
}

async function cmdRun(args: string[]): Promise<number> {
  const p = parseOptions(args, RUN_OPTS);
  const { opts, rest } = p;
  if (opts.has('help')) { process.stdout.write(RUN_HELP); return 0; }
  if (opts.has('version')) { process.stdout.write(`${PROG} ${version()}\n`); return 0; }
  if (rest.length === 0) throw new UsageError('run: missing CMD');
  const connect = last(p, 'connect') as string | undefined;
  const tracer = tracerFor(p);
  const uiAt = uiPort(p);
  if (connect !== undefined) {
    // What a server is made with belongs to the server we join: refuse rather than ignore.
    for (const [key, what] of [['platform', '--platform'], ['root-caps', '--root-caps'], ['ui', '--ui'], ['pcap', '--pcap']] as const) {
      if (opts.has(key)) throw new UsageError(`run: --connect and ${what} cannot be used together: the server at ${connect} has its own; give ${what} to '${PROG} serve'`);
    }
    if (tracer) throw new UsageError(`run: --connect and tracing (--trace, -o, -t, -e, -c, -s, -v) cannot be used together: trace the shared server with '${PROG} serve --trace'`);
  }
  const platformArg = last(p, 'platform') as string | undefined;
  let platform: Platform | undefined;
  if (platformArg !== undefined) {
    try { platform = loadPlatform(platformArg); } catch (e) { say((e as Error).message.replace(/^E[A-Z0-9]+: /, '')); return 2; }
  }

  let user: { uid: number; gid: number } | undefined;
  if (opts.has('user')) {
    const u = last(p, 'user');
    const name = u === true ? 'nobody' : u!;
    user = lookupUser(name);
    if (!user) throw new UsageError(`run: no such user '${name}'`);
    if (process.geteuid?.() !== 0) { say('--user needs root'); return 1; }
  }

  const shim = shimPath();
  if (!fs.existsSync(shim)) {
    say(`the shim ${shim} is not built; ${buildHint()}`);
    return 1;
  }
  const cmd = rest[0]!;
  const found = findCommand(cmd);
  if (!('path' in found)) { say(`${cmd}: ${found.reason}`); return found.status; }
  const exe = found.path;
  const dyn = checkDynamic(exe);
  if (dyn === 'static') {
    say(`${cmd} is statically linked: the shim cannot be preloaded into it (LD_PRELOAD needs the dynamic loader), so /dev/iommu cannot be emulated for it; link it dynamically`);
    return 126;
  }
  if (connect === undefined && !checkTmpdir()) return 1;
  if (!openTracer(tracer, p)) return 1;

  // From here on the status is the program's: signals are forwarded to it
  // (or, before it runs, end the run), the server's troubles are logged, and
  // whatever happens the server's directories are removed before we exit.
  const signals = new RunSignals();
  const onBug = (e: unknown) => { say(`internal error (bug), the program goes on: ${(e as Error)?.stack ?? e}`); };
  process.on('uncaughtException', onBug);
  process.on('unhandledRejection', onBug);
  let server: EmuServer | undefined;
  const view: { ui?: UiServer } = {};
  try {
    let env: NodeJS.ProcessEnv;
    try {
      if (connect !== undefined) {
        const q = await queryServer(connect);
        const preload = process.env.LD_PRELOAD ? `${shim} ${process.env.LD_PRELOAD}` : shim;
        env = {
          ...process.env, LD_PRELOAD: preload, IOMMUFD_EMU_SOCKET: path.resolve(connect),
          IOMMUFD_EMU_PATHS: q.paths, IOMMUFD_EMU_REDIRECT: q.redirect, IOMMUFD_EMU_STATE: q.stateDir,
          IOMMUFD_EMU_TRACER: String(q.pid), ...(q.tree ? { IOMMUFD_EMU_TREE: q.tree } : {}),
          ...(q.foreign ? { IOMMUFD_EMU_FOREIGN: q.foreign } : {}),
        };
      } else {
        removeStaleDirs();
        const pcap = last(p, 'pcap') as string | undefined;
        server = await EmuServer.start({
          trace: traceHook(tracer, uiAt, view), log: say, engine: new Engine({ platform }), rootCaps: opts.has('root-caps'),
          traceStrsize: tracer?.strsize, traceVerbose: tracer?.verbose,
          ...(pcap !== undefined ? { pcap: { path: path.resolve(pcap), ...(user ? { owner: user } : {}) } } : {}),
        });
        if (uiAt !== undefined) view.ui = await startLiveView(server, uiAt, say);
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
      say(`${connect !== undefined ? `cannot reach the server at ${connect}` : 'cannot start the server'}: ${reason(e)}`);
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
    try { await view.ui?.close(); } catch (e) { say(`closing the live view: ${(e as Error)?.stack ?? e}`); }
    try { await server?.close(); } catch (e) { say(`closing the server: ${(e as Error)?.stack ?? e}`); }
    tracer?.finish();
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
  const p = parseOptions(args, SERVE_OPTS);
  const { opts, rest } = p;
  if (opts.has('help')) { process.stdout.write(SERVE_HELP); return 0; }
  if (opts.has('version')) { process.stdout.write(`${PROG} ${version()}\n`); return 0; }
  if (rest.length) throw new UsageError(`serve: unexpected argument '${rest[0]}'`);
  const tracer = tracerFor(p);
  const uiAt = uiPort(p);
  let platform: Platform | undefined;
  const platformArg = last(p, 'platform') as string | undefined;
  if (platformArg !== undefined) {
    try { platform = loadPlatform(platformArg); } catch (e) { say((e as Error).message.replace(/^E[A-Z0-9]+: /, '')); return 2; }
  }
  let user: { uid: number; gid: number } | undefined;
  if (opts.has('user')) {
    const name = last(p, 'user') as string;
    user = lookupUser(name);
    if (!user) throw new UsageError(`serve: no such user '${name}'`);
    if (process.geteuid?.() !== 0) { say('--user needs root'); return 1; }
  }
  const socketPath = last(p, 'socket') as string | undefined;
  if (socketPath !== undefined) {
    const dir = path.dirname(path.resolve(socketPath));
    try {
      if (!fs.statSync(dir).isDirectory()) { say(`cannot listen on ${socketPath}: ${dir}: Not a directory`); return 1; }
    } catch (e) {
      say(`cannot listen on ${socketPath}: its directory ${dir}: ${reason(e)}`);
      return 1;
    }
  } else if (!checkTmpdir()) {
    return 1;
  }
  if (!openTracer(tracer, p)) return 1;
  let server: EmuServer;
  const view: { ui?: UiServer } = {};
  try {
    removeStaleDirs();
    const pcap = last(p, 'pcap') as string | undefined;
    server = await EmuServer.start({
      socketPath, trace: traceHook(tracer, uiAt, view), log: say, engine: new Engine({ platform }), rootCaps: opts.has('root-caps'),
      traceStrsize: tracer?.strsize, traceVerbose: tracer?.verbose,
      ...(pcap !== undefined ? { pcap: { path: path.resolve(pcap) } } : {}),
    });
  } catch (e) {
    say(`${socketPath !== undefined ? `cannot listen on ${socketPath}` : 'cannot start the server'}: ${reason(e)}`);
    tracer?.finish();
    return 1;
  }
  if (uiAt !== undefined) {
    try {
      view.ui = await startLiveView(server, uiAt, say);
    } catch (e) {
      say(`cannot start the live view: ${reason(e)}`);
      try { await server.close(); } catch { /* */ }
      tracer?.finish();
      return 1;
    }
  }
  if (user) server.allowUser(user.uid, user.gid);
  try { writeAll(1, server.socketPath + '\n'); } catch { /* nobody reads it */ }
  const stops: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let stop = () => {};
  await new Promise<void>((resolve) => {
    stop = resolve;
    for (const sig of stops) process.on(sig, stop);
  });
  try { await view.ui?.close(); } catch (e) { say(`closing the live view: ${(e as Error)?.stack ?? e}`); }
  try { await server.close(); } catch (e) { say(`closing the server: ${(e as Error)?.stack ?? e}`); }
  tracer?.finish();
  for (const sig of stops) process.off(sig, stop);
  return 0;
}

/** `platform list` and `platform show NAME|FILE`. */
function cmdPlatform(args: string[]): number {
  const p = parseOptions(args, COMMON);
  if (p.opts.has('help')) { process.stdout.write(PLATFORM_HELP); return 0; }
  if (p.opts.has('version')) { process.stdout.write(`${PROG} ${version()}\n`); return 0; }
  const [sub, ...rest] = p.rest;
  switch (sub) {
    case 'list':
      if (rest.length) throw new UsageError(`platform list: unexpected argument '${rest[0]}'`);
      for (const [name, pl] of Object.entries(PLATFORMS)) writeAll(1, `${name.padEnd(13)} ${pl.description}\n`);
      return 0;
    case 'show': {
      const q = parseOptions(rest, COMMON);
      if (q.opts.has('help')) { process.stdout.write(PLATFORM_HELP); return 0; }
      if (q.rest.length !== 1) throw new UsageError(q.rest.length ? `platform show: one platform at a time (got ${q.rest.length})` : 'platform show: missing NAME|FILE');
      let platform: Platform;
      try { platform = loadPlatform(q.rest[0]!); } catch (e) { say(reason(e)); return 2; }
      writeAll(1, platformReport(platform));
      return 0;
    }
    case undefined:
      throw new UsageError('platform: missing subcommand (list or show)');
    default:
      throw new UsageError(`platform: unknown subcommand '${sub}'`);
  }
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
      case '-V': case '--version':
        process.stdout.write(`${PROG} ${version()}\n`);
        return 0;
      case 'run': return await cmdRun(args);
      case 'serve': return await cmdServe(args);
      case 'platform': return cmdPlatform(args);
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      say(e.message);
      process.stderr.write(`Try '${PROG} ${cmd === 'run' || cmd === 'serve' || cmd === 'platform' ? `${cmd} ` : ''}--help'.\n`);
      return 2;
    }
    throw e;
  }
}
