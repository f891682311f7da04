// The shim behaves as libc and the kernel do where a program does something
// unusual with its emulated files: a signal handler that closes one mid-ioctl,
// a thread cancelled between ioctls, a child made by the raw fork syscall,
// dup2/close_range/exec releasing the
// last fd of a file, an ioctl on memory the program unmapped behind libc, the
// ioctls the VFS answers before any driver. Each client in test/shim/ prints
// one line per step; G.golden is what Linux 7.2.13 printed for it, recorded
// and stamped by `npm run oracle -- record shim/G` as the client's
// "// golden: G [FLAGS] [-- ARGS]" header line says (the client, its
// arguments, the oracle machine and so the emulator platform all come from
// that line), and the same client under `iommufd-emu run` must print the same.
// A golden whose bytes are not the stamped ones fails before any comparison.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, SRC, compileClient, ensureShim, removeTempDir } from './build.js';
import { shimGoldenProblem, shimGoldens } from '../lib/conformance.js';

// What each golden of test/shim/ shows, by golden name (vmstat: vmstat.test.ts;
// fuzz_amd, fuzz_arm, fuzz_mock, fuzz_vfio: fuzz-corpus.test.ts).
const what: Record<string, string> = {
  efault: 'an ioctl on memory freed, raw-munmapped or raw-mprotected answers EFAULT, never SIGSEGV',
  signal_close: 'a signal handler that dups and closes the fd while its thread is mid-ioctl neither hangs nor disturbs errno',
  raw_fork: 'children of the raw fork and clone syscalls and of vfork are processes of their own',
  vfs_ioctl: 'FIOCLEX, FIONBIO, FIOASYNC, FIGETBSZ... on /dev/iommu and a fault queue are answered as the VFS does',
  vfs_ioctl_vfio: 'the VFS ioctls on a VFIO cdev (oracle --vfio)',
  release: 'dup2, dup3, close_range, closefrom and close-on-exec release the last fd synchronously; a failed exec keeps it',
  scm_close: 'closing an fd received by SCM_RIGHTS releases the file at once; closing every number spares the channel',
  errno_kept: 'successful calls leave errno alone',
  cancel: 'threads cancelled between ioctls (pthread_testcancel) leave the file usable; ioctl is no cancellation point',
  bar_mmap: 'vfio-pci BAR mmap rules; plain loads and stores of every width on a mapped BAR reach the registers as pread/pwrite do; IOAS_MAP of a mapped BAR (oracle --vfio)',
};
const TESTED_ELSEWHERE = new Set(['vmstat', 'fuzz_amd', 'fuzz_arm', 'fuzz_mock', 'fuzz_vfio']);

const all = shimGoldens(SRC);
const clients = all.filter((g) => !TESTED_ELSEWHERE.has(g.golden));

test('every "// golden:" line of test/shim/ has a test here or in vmstat.test.ts, and every test a golden', () => {
  assert.deepEqual(clients.map((g) => g.golden).sort(), Object.keys(what).sort());
  for (const g of TESTED_ELSEWHERE) assert.ok(all.some((x) => x.golden === g), `no "// golden: ${g}" line in test/shim`);
});

const bins = new Map<string, string>();
before(() => {
  ensureShim();
  for (const c of clients) if (!bins.has(c.client)) bins.set(c.client, compileClient(c.client, ['-I', path.join(ROOT, 'test/conformance/include')]));
});
after(() => removeTempDir());

for (const c of clients) {
  const golden = c.golden;
  test(`${golden}: ${what[golden] ?? '(not described in robust.test.ts)'}, as on Linux`, () => {
    assert.equal(shimGoldenProblem(ROOT, c), undefined);
    const platform = c.platform === 'mock' ? [] : ['--platform', c.platform];
    const args = ['run', ...platform, '--', bins.get(c.client)!, ...c.args];
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, `killed by ${r.signal} (a hang, or a signal in the client); stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.equal(r.status, 0, `exit ${r.status}; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.equal(r.stdout, fs.readFileSync(path.join(SRC, `${golden}.golden`), 'utf8'));
  });
}

test('a handler installed by sigset() (not through sigaction) dups and closes the fd mid-ioctl: no hang, as signal_close.golden', () => {
  const bin = compileClient('sigset_close', ['-I', path.join(ROOT, 'test/conformance/include'), '-I', SRC]);
  const r = spawnSync(process.execPath, [BIN, 'run', '--', bin], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, `killed by ${r.signal} (a hang?); stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.status, 0, `exit ${r.status}; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.stdout, fs.readFileSync(path.join(SRC, 'signal_close.golden'), 'utf8'));
});
