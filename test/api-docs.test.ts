// The library's API reference: `npm run docs:api` (TypeDoc, fetched by npx
// with the TypeScript 6 it needs; the project builds with TypeScript 7, which
// has no compiler API for it) renders src/lib/index.ts's exports with their
// doc comments. Here into a temporary directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './shim/build.js';

test('npm run docs:api renders the library API with its doc comments', { timeout: 240_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-api-'));
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const p = spawn('npm', ['run', '-s', 'docs:api', '--', '--out', out, '--logLevel', 'Error'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
      p.on('error', reject);
      p.on('exit', resolve);
    });
    assert.equal(code, 0, 'typedoc ran');
    for (const page of ['index.html', 'classes/Machine.html', 'classes/IommufdFile.html', 'classes/SimProcess.html', 'classes/DmaEngine.html', 'interfaces/Platform.html']) {
      assert.ok(fs.existsSync(path.join(out, page)), `${page} is rendered`);
    }
    const machine = fs.readFileSync(path.join(out, 'classes/Machine.html'), 'utf8');
    assert.match(machine, /One simulated machine/, "the class's doc comment is on its page");
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
