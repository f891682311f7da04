// oracle/selftests tells CI "could not fetch the kernel source" from "ran and
// failed" by its exit code (66 against 1), not by prose. This runs it with an
// empty cache and an apt that cannot reach any archive (a proxy nobody
// listens on): it must exit 66 and say loudly that nothing ran.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRoot } from './lib/conformance.js';

const ROOT = findRoot();

test('oracle/selftests exits 66 when the kernel source cannot be fetched', () => {
  const cache = mkdtempSync(join(tmpdir(), 'iommufd-selftests-nosource-'));
  try {
    const dead = 'http://127.0.0.1:9';
    const r = spawnSync('bash', [join(ROOT, 'oracle', 'selftests'), '--quiet'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, IOMMUFD_EMU_ORACLE_CACHE: cache, http_proxy: dead, https_proxy: dead, HTTP_PROXY: dead, HTTPS_PROXY: dead },
    });
    assert.equal(r.status, 66, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /^selftests: error: COULD NOT FETCH the kernel source .*the selftests did not run/m);
    assert.doesNotMatch(r.stdout, /passed/);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
