// The live view's HTTP server (docs/ui.md): node:http on 127.0.0.1 only, a
// random token that every request must carry in its query string (403
// otherwise, compared in constant time), and three resources:
//   GET /?token=T             the page (HTML with its CSS and JS inlined)
//   GET /api/state?token=T    the whole current state (ui-state.ts) as JSON
//   GET /api/events?token=T   server-sent events: `state` (a whole state),
//                             `ui-event` (one timeline event, ui-events.ts)
// A request that fails is answered 500 and its error logged once; nothing a
// browser does reaches the emulator's own sockets or stops them.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { UiModel, type SnapshotOptions, type UiClient, type UiSource } from './ui-state.js';
import { UiTimeline, type TracedCall, type UiEvent } from './ui-events.js';
import type { Engine } from '../core/engine.js';

export const UI_HOST = '127.0.0.1';

/** The page's files, next to the sources (the package ships src/). */
const ASSETS = fileURLToPath(new URL('../../../src/server/ui-assets/', import.meta.url));

export interface UiServerOptions {
  readonly source: UiSource;
  /** TCP port on 127.0.0.1 (0 or absent: any free port). */
  readonly port?: number;
  /** One-line diagnostics (default: stderr). */
  readonly log?: (line: string) => void;
  /** Timeline capacity (events kept for late subscribers). */
  readonly capacity?: number;
  /** Milliseconds between periodic whole states on each event stream (default 5000). */
  readonly statePeriodMs?: number;
  /** Least milliseconds between two states sent after changes (default 250). */
  readonly stateThrottleMs?: number;
}

/** BigInt-safe JSON (bigints as decimal strings; the model gives hex strings already). */
function json(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

/** A hex or decimal query value as a bigint, or undefined. */
function bigParam(v: string | null): bigint | undefined {
  if (v === null || v === '') return undefined;
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(v)) throw new BadRequest(`not a number: ${v}`);
  return BigInt(v);
}

class BadRequest extends Error {}

export class UiServer {
  readonly model: UiModel;
  readonly timeline: UiTimeline;
  /** The secret every request must carry (?token=). */
  readonly token: string;
  private readonly http: http.Server;
  private readonly log: (line: string) => void;
  private readonly logged = new Set<string>();
  private readonly streams = new Set<http.ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private page: string | undefined;
  private closed = false;

  private constructor(private readonly o: UiServerOptions) {
    this.model = new UiModel(o.source);
    this.timeline = new UiTimeline(this.model, o.capacity);
    this.token = crypto.randomBytes(24).toString('base64url');
    this.log = o.log ?? ((l) => process.stderr.write(`iommufd-emu: ${l}\n`));
    this.http = http.createServer((req, res) => this.handle(req, res));
    this.http.on('clientError', (_e, sock) => { try { sock.destroy(); } catch { /* gone */ } });
  }

  /** Listen on 127.0.0.1:`port` (any free port by default). */
  static async start(o: UiServerOptions): Promise<UiServer> {
    const s = new UiServer(o);
    await new Promise<void>((resolve, reject) => {
      s.http.once('error', reject);
      s.http.listen(o.port ?? 0, UI_HOST, () => { s.http.off('error', reject); resolve(); });
    });
    s.http.on('error', (e) => s.logOnce(`live view: ${e.message}`));
    s.timer = setInterval(() => s.tick(), o.statePeriodMs ?? 5000);
    s.timer.unref();
    s.timeline.listeners.add((ev) => s.broadcast(ev));
    return s;
  }

  get port(): number { return (this.http.address() as AddressInfo).port; }
  get address(): string { return (this.http.address() as AddressInfo).address; }
  /** The page's URL, token included. */
  get url(): string { return `http://${UI_HOST}:${this.port}/?token=${this.token}`; }

  /** The server's trace hook: feed it every traced line (ServerOptions.trace). */
  traced(line: string, call?: TracedCall): void {
    try { this.timeline.traced(line, call); } catch (e) { this.logOnce(`live view: timeline: ${(e as Error)?.stack ?? e}`); }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.throttle) clearTimeout(this.throttle);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const r of this.streams) { try { r.end(); } catch { /* gone */ } }
    this.streams.clear();
    this.timeline.dispose();
    this.http.closeAllConnections?.();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private logOnce(msg: string): void {
    const first = msg.split('\n')[0]!;
    if (this.logged.has(first)) return;
    this.logged.add(first);
    try { this.log(msg); } catch { /* nowhere to say it */ }
  }

  /** token from the query string, compared in constant time. */
  private authorized(url: URL): boolean {
    const given = Buffer.from(url.searchParams.get('token') ?? '');
    const want = Buffer.from(this.token);
    // timingSafeEqual needs equal lengths: compare against ourselves when they differ.
    const same = given.length === want.length;
    return crypto.timingSafeEqual(same ? given : want, want) && same;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    try {
      const url = new URL(req.url ?? '/', `http://${UI_HOST}`);
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (!this.authorized(url)) return this.send(res, 403, 'text/plain', 'forbidden: the URL needs the token iommufd-emu printed\n');
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.send(res, 405, 'text/plain', 'GET only\n');
      switch (url.pathname) {
        case '/': case '/index.html':
          res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:");
          return this.send(res, 200, 'text/html; charset=utf-8', this.pageText());
        case '/api/state':
          return this.send(res, 200, 'application/json', json(this.state(url)));
        case '/api/events':
          return this.events(url, req, res);
        default:
          return this.send(res, 404, 'text/plain', 'not found\n');
      }
    } catch (e) {
      if (e instanceof BadRequest) return this.send(res, 400, 'text/plain', `${e.message}\n`);
      this.logOnce(`live view: ${req.method} ${(req.url ?? '').replace(/token=[^&]*/, 'token=…')}: ${(e as Error)?.stack ?? e}`);
      try {
        if (!res.headersSent) this.send(res, 500, 'text/plain', 'internal error\n');
        else res.end();
      } catch { /* gone */ }
    }
  }

  private send(res: http.ServerResponse, status: number, type: string, body: string): void {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  private state(url?: URL): unknown {
    const o: SnapshotOptions = url ? {
      ...(bigParam(url.searchParams.get('ptStart')) !== undefined ? { ptStart: bigParam(url.searchParams.get('ptStart'))! } : {}),
      ...(bigParam(url.searchParams.get('ptLast')) !== undefined ? { ptLast: bigParam(url.searchParams.get('ptLast'))! } : {}),
    } : {};
    // Catch up with what happened without a traced call (a file closed, a process gone).
    this.timeline.settle();
    return { ...this.model.snapshot(o), lastEvent: this.timeline.lastSeq };
  }

  /** The page: index.html with style.css and app.js put inline (one request, no build step). */
  private pageText(): string {
    if (this.page) return this.page;
    const read = (n: string) => fs.readFileSync(ASSETS + n, 'utf8');
    this.page = read('index.html')
      .replace('/*STYLE*/', () => read('style.css'))
      .replace('/*SCRIPT*/', () => read('app.js'));
    return this.page;
  }

  // ---- server-sent events ----

  private events(url: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
    const sinceParam = url.searchParams.get('since');
    const since = sinceParam !== null && /^\d+$/.test(sinceParam) ? Number(sinceParam) : Math.max(0, this.timeline.lastSeq - 500);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    // Events still waiting go to the streams that were there; this one gets them in its replay.
    if (this.pending.length) { if (this.flushTimer) clearTimeout(this.flushTimer); this.flush(); }
    this.streams.add(res);
    const drop = () => this.streams.delete(res);
    req.on('close', drop);
    res.on('error', drop);
    this.write(res, 'state', json(this.state()));
    for (const ev of this.timeline.since(since)) this.write(res, 'ui-event', json(ev), ev.seq);
  }

  private write(res: http.ServerResponse, event: string, data: string, id?: number): void {
    try {
      res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${data}\n\n`);
    } catch {
      this.streams.delete(res);
    }
  }

  private throttle: NodeJS.Timeout | undefined;
  private lastState = 0;

  /** Events waiting for the next flush (one write per stream per flush, however busy the program). */
  private pending: string[] = [];
  private flushTimer: NodeJS.Timeout | undefined;

  private broadcast(ev: UiEvent): void {
    if (!this.streams.size || this.closed) return;
    this.pending.push(`id: ${ev.seq}\nevent: ui-event\ndata: ${json(ev)}\n\n`);
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), 20);
      this.flushTimer.unref();
    }
    this.stateSoon();
  }

  private flush(): void {
    this.flushTimer = undefined;
    const chunk = this.pending.join('');
    this.pending = [];
    for (const r of this.streams) {
      try { r.write(chunk); } catch { this.streams.delete(r); }
    }
  }

  /** A whole state to every stream, at most every stateThrottleMs after changes. */
  private stateSoon(): void {
    if (this.throttle || this.closed) return;
    const gap = this.o.stateThrottleMs ?? 250;
    const wait = Math.max(0, this.lastState + gap - Date.now());
    this.throttle = setTimeout(() => {
      this.throttle = undefined;
      this.pushState();
    }, wait);
    this.throttle.unref();
  }

  private pushState(): void {
    if (!this.streams.size || this.closed) return;
    if (this.pending.length) { if (this.flushTimer) clearTimeout(this.flushTimer); this.flush(); }
    this.lastState = Date.now();
    try {
      const data = json(this.state());
      for (const r of this.streams) this.write(r, 'state', data);
    } catch (e) {
      this.logOnce(`live view: state: ${(e as Error)?.stack ?? e}`);
    }
  }

  private tick(): void {
    try { this.timeline.settle(); } catch (e) { this.logOnce(`live view: ${(e as Error)?.stack ?? e}`); }
    this.pushState();
  }
}

/** A UiSource over an engine and a function listing clients. */
export function uiSource(engine: Engine, clients: () => UiClient[]): UiSource {
  return { engine, clients };
}
