// The layers point one way (docs/layers.md): cli, lib → server → kvm → core
// → hw → uapi → util. This reads every import of src/**/*.ts (static, type,
// re-export and dynamic) and fails on an edge against that order, and on a
// file, socket or process module imported below server/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../src');

/** Rank of each folder of src/: an import may only go to a lower rank (or stay in its folder). */
const RANK: Readonly<Record<string, number>> = {
  util: 0, uapi: 1, hw: 2, core: 3, kvm: 4, server: 5, lib: 6, cli: 6,
};

/** Folders that may not touch files, sockets or processes: everything below server/. */
const NO_IO = new Set(['util', 'uapi', 'hw', 'core', 'kvm']);
const IO_MODULES = new Set(['fs', 'fs/promises', 'net', 'child_process', 'dgram', 'http', 'https', 'http2', 'tls', 'worker_threads', 'cluster']);

/**
 * Node modules a folder in NO_IO really needs, as `folder/file.ts → module`,
 * each with the reason. Empty: hw/ and core/ need none.
 */
const IO_ALLOWED = new Set<string>([]);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier a file imports, with its line. */
function importsOf(text: string): Array<{ spec: string; line: number }> {
  const out: Array<{ spec: string; line: number }> = [];
  // Comments would give false edges; strings stay (specifiers are strings).
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const re = /\b(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m; (m = re.exec(code));) {
    out.push({ spec: (m[1] ?? m[2] ?? m[3])!, line: code.slice(0, m.index).split('\n').length });
  }
  return out;
}

function layerOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!;
}

test('imports follow the layer order, and nothing below server/ touches files, sockets or processes', () => {
  const bad: string[] = [];
  const files = sources(SRC);
  assert.ok(files.length > 50, `found the sources (${SRC})`);
  for (const file of files) {
    const from = layerOf(file);
    const rel = path.relative(SRC, file);
    assert.ok(from in RANK, `${rel}: folder ${from}/ has no rank in the layer order (add it to RANK and docs/layers.md)`);
    for (const { spec, line } of importsOf(fs.readFileSync(file, 'utf8'))) {
      const where = `src/${rel}:${line} imports '${spec}'`;
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        const to = layerOf(target);
        if (!(to in RANK)) { bad.push(`${where}: outside src/`); continue; }
        if (to !== from && !(RANK[to]! < RANK[from]!)) bad.push(`${where}: ${from}/ may not import ${to}/`);
        continue;
      }
      const mod = spec.replace(/^node:/, '');
      if (NO_IO.has(from) && IO_MODULES.has(mod) && !IO_ALLOWED.has(`${rel} → ${mod}`)) {
        bad.push(`${where}: ${from}/ touches no file, socket or process`);
      }
    }
  }
  assert.deepEqual(bad, [], `imports against the layer order:\n  ${bad.join('\n  ')}`);
});

test('the import reader sees every form of import', () => {
  const specs = importsOf([
    "import * as fs from 'node:fs';",
    "import type { A } from '../core/a.js';",
    "import {\n  B,\n  C,\n} from './b.js';",
    "export { D } from '../hw/d.js';",
    "export * as e from '../uapi/e.js';",
    "import './side-effect.js';",
    "const { f } = await import('./f.js');",
    "// import { g } from './comment.js';",
    "/* import { h } from './block.js'; */",
  ].join('\n')).map((i) => i.spec);
  assert.deepEqual(specs, ['node:fs', '../core/a.js', './b.js', '../hw/d.js', '../uapi/e.js', './side-effect.js', './f.js']);
});

/**
 * Module-level mutable state below the fronts (docs/layers.md: it belongs to
 * the engine), as `file: name`, each with its reason. A top-level `let`, a
 * top-level const made empty with `new Map()`, `new Set()`, `new WeakMap()`,
 * `new WeakSet()` or `[]`, or a class's static field that is not readonly, is
 * state; a const table built from its initializer (`new Map([...])`) is not.
 */
const STATE_RE = /^(?:export\s+)?(?:let\s+(\w+)|var\s+(\w+)|const\s+(\w+)(?:\s*:[^=]+)?\s*=\s*(?:new\s+(?:Map|Set|WeakMap|WeakSet)\s*(?:<[^>]*>)?\s*\(\s*\)|\[\s*\]))|^\s+(?:(?:private|protected|public)\s+)?static\s+(?!readonly\s|get\s|set\s|async\s)(\w+)\s*[:=]/gm;
const stateName = (m: RegExpMatchArray): string => (m[1] ?? m[2] ?? m[3] ?? m[4])!;

const STATE_ALLOWED: ReadonlyMap<string, string> = new Map([
  // The kernel's `current`: set around each (synchronous) ioctl, never held across two.
  ['core/faults.ts: current', 'the task of the ioctl running now, as the kernel has it'],
]);

test('no new module-level mutable state below the fronts', () => {
  const found: string[] = [];
  for (const file of sources(SRC)) {
    const layer = layerOf(file);
    if (layer === 'lib' || layer === 'cli' || layer === 'server') continue;
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(SRC, file).split(path.sep).join('/');
    for (const m of text.matchAll(STATE_RE)) {
      const key = `${rel}: ${stateName(m)}`;
      if (!STATE_ALLOWED.has(key)) found.push(`${key} (line ${text.slice(0, m.index).split('\n').length})`);
    }
  }
  assert.deepEqual(found, [], 'module-level state belongs to the engine (or to STATE_ALLOWED, with its reason)');
});

test('the state reader sees lets, empty collections and arrays, static fields, not tables', () => {
  const text = 'let a = 1;\nconst b = new Map<string, number>();\nconst c: number[] = [];\nconst d = new Map([[1, 2]]);\nexport const e = new WeakMap<object, number>();\n  let inner = 0;\n' +
    'class K {\n  static f = 0;\n  private static g: number[] = [];\n  static readonly h = 1;\n  static get i() { return 1; }\n  static j(): void {}\n}\n';
  const names = [...text.matchAll(STATE_RE)].map(stateName);
  assert.deepEqual(names, ['a', 'b', 'c', 'e', 'f', 'g']);
});
