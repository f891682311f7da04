// The channel page (native/shim/proto.h): requests and replies through shared
// memory instead of the channel's socket. By hand (test/shim/page_proto.c,
// no shim): the server takes only a sealed memfd of the page's size, answers
// through the page what it answers on the socket (also a reply it makes
// later), and drops a client whose page request is malformed or states
// another pid. Through the
// shim: programs see the same results with the page as without it
// (IOMMUFD_EMU_NO_SHM=1), forks, threads and signal handlers included.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { EmuServer } from '../src/server/server.js';
import * as path from 'node:path';
import { BIN, ROOT, compileClient, ensureShim, removeTempDir, spawnCollect } from './shim/build.js';

function runClient(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return spawnCollect(file, args, { env });
}

describe('channel page', () => {
  let server: EmuServer;
  const logs: string[] = [];
  let proto: string;
  /** Clients run under `iommufd-emu run` (argv after the binary), each with and without the page. */
  const clients: Array<{ name: string; bin?: string; args: string[]; platform?: string; inc?: boolean }> = [
    { name: 'basic', args: [] }, { name: 'fork', args: [] }, { name: 'threads', args: [] },
    { name: 'raw_fork', args: [], inc: true }, { name: 'signal_close', args: [], inc: true },
    { name: 'trap', args: ['signals'], platform: 'qemu-vtd', inc: true },
  ];

  before(async () => {
    ensureShim();
    server = await EmuServer.start({ log: (l) => logs.push(l) });
    proto = compileClient('page_proto');
    for (const c of clients) c.bin = compileClient(c.name, c.inc ? ['-I', path.join(ROOT, 'test/conformance/include')] : []);
  });
  after(async () => {
    await server.close();
    removeTempDir();
  });

  const noShim = (): NodeJS.ProcessEnv => {
    const env = { ...process.env };
    delete env.LD_PRELOAD;
    return env;
  };

  it('takes a sealed memfd and answers through it as on the socket, later replies too; drops an oversized request', async () => {
    const r = await runClient(proto, [server.socketPath, 'sealed'], noShim());
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, [
      'hello: 0 page 1',
      'socket file info: -9',
      'socket resolve: -2',
      'page file info: -9',
      'page resolve: -2',
      'socket again: -9',
      'open: 0',
      'page closed (answered later): 0',
      'page file info of it: 0',
      'oversized dropped: yes',
      '',
    ].join('\n'));
    assert.ok(logs.some((l) => /a page request of 32712 bytes/.test(l)), logs.join('\n'));
  });

  it('drops a client whose page request disagrees with its frame about its length', async () => {
    const r = await runClient(proto, [server.socketPath, 'badlen'], noShim());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^page resolve: -2$/m);
    assert.match(r.out, /^bad length dropped: yes$/m);
    assert.ok(logs.some((l) => /announcing 8 of extension/.test(l)), logs.join('\n'));
  });

  it('drops a client whose page request states another pid', async () => {
    const r = await runClient(proto, [server.socketPath, 'liar'], noShim());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^page file info: -9$/m);
    assert.match(r.out, /^liar dropped: yes$/m);
    assert.ok(logs.some((l) => l.includes(`request states pid ${process.pid} on the channel of pid`)), logs.join('\n'));
  });

  for (const mode of ['unsealed', 'notmemfd', 'short']) {
    it(`refuses a page that is not a sealed memfd of the page's size (${mode}); the socket serves`, async () => {
      logs.length = 0;
      const r = await runClient(proto, [server.socketPath, mode], noShim());
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, 'hello: 0 page 0\nsocket file info: -9\nsocket resolve: -2\n');
      assert.ok(logs.some((l) => /not a sealed memfd/.test(l)), logs.join('\n'));
    });
  }

  it('gives programs the same results through the page as through the socket (forks, threads, handlers, traps)', async () => {
    for (const c of clients) {
      const argv = [BIN, 'run', ...(c.platform ? ['--platform', c.platform] : []), '--', c.bin!, ...c.args];
      const page = await runClient(process.execPath, argv, process.env);
      const sock = await runClient(process.execPath, argv, { ...process.env, IOMMUFD_EMU_NO_SHM: '1' });
      assert.equal(page.code, 0, `${c.name}: ${page.err}`);
      assert.equal(sock.code, 0, `${c.name}: ${sock.err}`);
      assert.ok(page.out.length > 0, c.name);
      assert.equal(page.out, sock.out, c.name);
    }
  });
});
