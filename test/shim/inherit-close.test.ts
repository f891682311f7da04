// The last close of an inherited emulated fd, made by a child that never used
// it, releases the file before the child's close() returns (test/shim/inherit_close.c).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BIN, ROOT, compileClient, ensureShim, removeTempDir } from './build.js';

test("a child's last close of an inherited fd releases the file synchronously", () => {
  ensureShim();
  try {
    const bin = compileClient('inherit_close', ['-I', path.join(ROOT, 'test/conformance/include')]);
    const r = spawnSync(BIN, ['run', '--', bin], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'pinned while mapped: 1024 kB\nrounds with pins left after the child\'s last close: 0 of 20\n');
  } finally {
    removeTempDir();
  }
});
