// The live view's HTTP server (src/server/ui-server.ts): bound to 127.0.0.1,
// every request needs the token (403 otherwise), /api/state is the model's
// snapshot, /api/events streams state and timeline events, and a failing
// request is a 500 logged once that leaves the server answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { openMachine, type IommufdFile, type Machine } from '../src/lib/index.js';
import { UiServer } from '../src/server/ui-server.js';
import type { UiClient } from '../src/server/ui-state.js';

function clientsOf(f: IommufdFile): () => UiClient[] {
  return () => [{ pid: f.proc.task.pid, uid: 0, mm: f.proc.mm, files: [...f.proc.files].map(([fd, file]) => ({ ino: BigInt(fd), path: `fd ${fd}`, file })) }];
}

function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function started(o: { clients?: () => UiClient[]; log?: (l: string) => void } = {}): Promise<{ m: Machine; f: IommufdFile; ui: UiServer; base: string }> {
  const m = openMachine('qemu-vtd');
  const f = m.openIommufd();
  const ui = await UiServer.start({ source: { engine: m.engine, clients: o.clients ?? clientsOf(f) }, log: o.log ?? (() => {}) });
  return { m, f, ui, base: `http://127.0.0.1:${ui.port}` };
}

test('ui server: 127.0.0.1 only, and nothing without the token', async () => {
  const { ui, base } = await started();
  try {
    assert.equal(ui.address, '127.0.0.1');
    assert.match(ui.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
    const wrongSameLength = ui.token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    for (const path of ['/', '/api/state', '/api/events', '/nothing']) {
      assert.equal((await get(`${base}${path}`)).status, 403, `${path} without a token`);
      assert.equal((await get(`${base}${path}?token=${wrongSameLength}`)).status, 403, `${path} with a wrong token`);
      assert.equal((await get(`${base}${path}?token=${ui.token}x`)).status, 403, `${path} with a longer token`);
      assert.equal((await get(`${base}${path}?token=`)).status, 403, `${path} with an empty token`);
    }
    const page = await get(ui.url);
    assert.equal(page.status, 200);
    assert.match(page.type, /^text\/html/);
    assert.match(page.body, /IOVA map/);
    assert.ok(!page.body.includes('/*SCRIPT*/') && page.body.includes('EventSource'), 'the script is inlined');
    assert.equal((await get(`${base}/nothing?token=${ui.token}`)).status, 404);
    assert.equal((await get(`${base}/api/state?token=${ui.token}`, 'POST')).status, 405);
  } finally {
    await ui.close();
  }
});

test('ui server: /api/state is the current snapshot, with a page-table range', async () => {
  const { f, ui, base } = await started();
  try {
    const nic = f.openVfioDevice(0);
    nic.bind(f);
    const ioas = f.ioasAlloc();
    const hwpt = nic.attach(ioas);
    const buf = f.proc.mmap(0x3000n);
    f.map({ ioasId: ioas, userVa: buf, length: 0x1000n, iova: 0x10000n });
    f.map({ ioasId: ioas, userVa: buf + 0x2000n, length: 0x1000n, iova: 0x40000n });
    const r = await get(`${base}/api/state?token=${ui.token}`);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/json');
    const s = JSON.parse(r.body);
    assert.deepEqual(s.ioas[0].areas.map((a: { iova: string }) => a.iova), ['0x10000', '0x40000']);
    assert.equal(s.devices[0].attached, `1:${hwpt}`);
    const ranged = JSON.parse((await get(`${base}/api/state?token=${ui.token}&ptStart=0x20000&ptLast=0x7ffff`)).body);
    assert.deepEqual(ranged.domains[0].runs.map((x: { iova: string }) => x.iova), ['0x40000'], 'only the runs in the range');
    assert.equal((await get(`${base}/api/state?token=${ui.token}&ptStart=zzz`)).status, 400);
  } finally {
    await ui.close();
  }
});

test('ui server: /api/events sends the state, then each event as it happens', async () => {
  const { m, ui } = await started();
  try {
    const got: string[] = [];
    let res: http.IncomingMessage | undefined;
    const waitFor = (re: RegExp) => new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${re} in ${got.join('').slice(0, 400)}`)), 5000);
      const check = () => { const all = got.join(''); const hit = re.exec(all); if (hit) { clearTimeout(t); resolve(hit[0]); } else setTimeout(check, 20); };
      check();
    });
    const req = http.get(`http://127.0.0.1:${ui.port}/api/events?token=${ui.token}`, (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (d: string) => got.push(d));
    });
    req.on('error', () => {});
    await waitFor(/event: state\ndata: \{"version":1/);
    assert.equal(res?.headers['content-type'], 'text/event-stream');
    m.engine.notify({ kind: 'fault', device: '0000:00:02.0', iova: 0x5000n, write: false, detail: 'blocked' });
    const line = await waitFor(/event: ui-event\ndata: [^\n]*\n/);
    const ev = JSON.parse(line.split('data: ')[1]!);
    assert.equal(ev.kind, 'fault');
    assert.deepEqual(ev.devices, ['vfio1']);
    assert.match(ev.text, /read at IOVA 0x5000 \(blocked\)/);
    // A late subscriber gets the events it missed.
    const late = await new Promise<string>((resolve) => {
      let buf = '';
      const r2 = http.get(`http://127.0.0.1:${ui.port}/api/events?token=${ui.token}&since=0`, (r) => {
        r.setEncoding('utf8');
        r.on('data', (d: string) => { buf += d; if (buf.includes('event: ui-event')) { r2.destroy(); resolve(buf); } });
      });
      r2.on('error', () => {});
    });
    assert.match(late, /id: 1\nevent: ui-event\ndata: \{"seq":1,[^\n]*"kind":"fault"/);
    req.destroy();
  } finally {
    await ui.close();
  }
});

test('ui server: a request that fails is a 500, logged once; the server goes on', async () => {
  const logs: string[] = [];
  let broken = false;
  const m0 = openMachine('qemu-vtd');
  const f0 = m0.openIommufd();
  const ok = clientsOf(f0);
  const { ui, base } = await started({ clients: () => { if (broken) throw new Error('the source broke'); return ok(); }, log: (l) => logs.push(l) });
  try {
    broken = true;
    assert.equal((await get(`${base}/api/state?token=${ui.token}`)).status, 500);
    assert.equal((await get(`${base}/api/state?token=${ui.token}`)).status, 500);
    assert.equal(logs.filter((l) => l.includes('the source broke')).length, 1, `logged once: ${logs.join(' | ')}`);
    assert.ok(!logs.join('').includes(ui.token), 'the token is not logged');
    broken = false;
    assert.equal((await get(`${base}/api/state?token=${ui.token}`)).status, 200, 'answering again');
  } finally {
    await ui.close();
  }
});
