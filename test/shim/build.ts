// Compiles the C clients of test/shim/ with the system compiler into a
// temporary directory (never into the repo), for the tests and benchmarks.
import { execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/test/shim/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SRC = path.join(ROOT, 'test/shim');
export const BIN = path.join(ROOT, 'bin/iommufd-emu');
export const SHIM = path.join(ROOT, 'native/shim/libiommufd-shim.so');

/** Build the shim if it is missing (npm run build normally does). */
export function ensureShim(): void {
  if (!fs.existsSync(SHIM)) execFileSync('make', ['-s', '-C', path.join(ROOT, 'native/shim')], { stdio: 'inherit' });
}

let outDir: string | undefined;

/** A fresh temp dir for this process's binaries. */
export function tempDir(): string {
  if (!outDir) {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-clients-'));
    fs.chmodSync(outDir, 0o755); // `run --user` executes these as another user
  }
  return outDir;
}

/** Compile test/shim/NAME.c; returns the binary's path. */
export function compileClient(name: string, extra: string[] = []): string {
  const out = path.join(tempDir(), name);
  execFileSync('cc', ['-O2', '-g', '-Wall', '-pthread', '-o', out, path.join(SRC, `${name}.c`), ...extra], { stdio: 'inherit' });
  return out;
}

/** Compile examples/NAME.c (the README's examples) into the temp dir; returns the binary's path. */
export function compileExample(name: string): string {
  const out = path.join(tempDir(), name);
  execFileSync('cc', ['-O2', '-Wall', '-Werror', '-I', path.join(ROOT, 'include'), '-o', out, path.join(ROOT, 'examples', `${name}.c`)], { stdio: 'inherit' });
  return out;
}

export function removeTempDir(): void {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  outDir = undefined;
}

/** A client's "step: result" lines as a map. */
export function steps(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 2));
  }
  return m;
}

/**
 * Run `file` without blocking the event loop (an in-process server keeps
 * answering it) and collect its output: resolves at 'close' (every byte
 * read), or at 'exit' for a program whose descendants may keep its pipes.
 */
export function spawnCollect(file: string, args: readonly string[], options: SpawnOptions = {}, until: 'close' | 'exit' = 'close'): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('error', reject);
    c.once(until, (code: number | null) => resolve({ code, out, err }));
  });
}
