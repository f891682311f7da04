// The random generator's corpus (test/shim/fuzz_corpus.c, test/fuzz/gen.c):
// seeded sequences of valid and invalid iommufd, IOMMU_TEST_CMD and VFIO
// cdev calls, with bad pointers, holes, read-only and straddling memory,
// fd closes and reopens (version 2 also: FIO* ioctls, the VFIO container
// and group files, fork, dup, freed and reallocated memory); every line
// (result, bytes written back, digest of the output area and, in version 2,
// of the data pages) is what Linux 7.2.13 printed for the same seed, recorded
// by `npm run oracle -- record shim/fuzz_mock shim/fuzz_vfio shim/fuzz_amd
// shim/fuzz_arm` (the AMD machine: its NICs at 00:02.0 and 00:03.0; the arm64
// one: gen cross-built, the SMMUv3 platform). The live, unbounded
// comparison is `npm run oracle -- fuzz [--vfio|--amd|--arm|...] SEEDS STEPS`; its
// running count is test/fuzz/tally.md.
// Run with --root-caps: the oracle's client is root with every capability
// (OPTION RLIMIT_MODE needs CAP_SYS_RESOURCE), which a container may withhold.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, SRC, compileClient, ensureShim, removeTempDir } from './shim/build.js';
import { shimGoldenProblem, shimGoldens } from './lib/conformance.js';

const corpus = shimGoldens(SRC).filter((g) => g.client === 'fuzz_corpus');
let bin = '';
before(() => {
  ensureShim();
  bin = compileClient('fuzz_corpus', ['-I', path.join(ROOT, 'test/conformance/include')]);
});
after(() => removeTempDir());

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the corpus has a golden per machine', () => {
  assert.deepEqual(corpus.map((g) => `${g.golden}:${g.platform}`).sort(), ['fuzz_amd:amd-vi', 'fuzz_arm:qemu-smmuv3', 'fuzz_mock:mock', 'fuzz_vfio:qemu-vtd']);
});

for (const g of corpus) {
  test(`${g.golden}: ${g.args.filter((a) => a === '--').length + 1} seeds on ${g.platform}, every line as on Linux`, { timeout: 300_000 }, async () => {
    assert.equal(shimGoldenProblem(ROOT, g), undefined);
    const r = await run(['run', '--root-caps', '--platform', g.platform, '--', bin, ...g.args]);
    assert.equal(r.code, 0, r.stderr);
    const want = fs.readFileSync(path.join(SRC, `${g.golden}.golden`), 'utf8').split('\n');
    const got = r.stdout.split('\n');
    // the first differing line names the seed's step: a reproducer is `gen [v2] SEED STEP+1`
    const i = want.findIndex((l, k) => l !== got[k]);
    assert.equal(i, -1, `line ${i + 1} differs:\n  linux: ${want[i]}\n  emu:   ${got[i]}`);
    assert.equal(got.length, want.length);
  });
}
