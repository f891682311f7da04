// The shim knows nothing of iommufd: without the server's word on which paths
// are emulated (IOMMUFD_EMU_PATHS) it emulates nothing, even with a socket.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { EmuServer } from '../src/server/server.js';
import { SHIM, compileClient, ensureShim, removeTempDir } from './shim/build.js';

test('without IOMMUFD_EMU_PATHS the shim is inert: /dev/iommu is the host\'s', async () => {
  ensureShim();
  assert.ok(!fs.existsSync('/dev/iommu'), 'this test needs a host without /dev/iommu');
  const server = await EmuServer.start({ log: () => {} });
  try {
    const bin = compileClient('basic');
    const env = { ...server.clientEnv(SHIM) };
    // Asynchronously: the server answers from this very event loop.
    const run = (e: NodeJS.ProcessEnv) => new Promise<string>((resolve) => {
      const c = spawn(bin, [], { env: e, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      c.on('close', () => resolve(out));
    });
    assert.match(await run(env), /^open: ok$/m);
    delete env.IOMMUFD_EMU_PATHS;
    assert.equal(await run(env), 'open: -1 ENOENT\n');
    assert.equal(server.openFiles, 0);
  } finally {
    await server.close();
    removeTempDir();
  }
});
