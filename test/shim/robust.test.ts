// The shim behaves as libc and the kernel do where a program does something
// unusual with its emulated files: a signal handler that closes one mid-ioctl,
// a thread cancelled between ioctls, a child made by the raw fork syscall,
// dup2/close_range/exec releasing the
// last fd of a file, an ioctl on memory the program unmapped behind libc, the
// ioctls the VFS answers before any driver. Each client in test/shim/ prints
// one line per step; NAME.golden is what Linux 7.2.13 printed for it
// (`npm run oracle -- run test/shim/NAME.c`, with the flags named below), and
// the same client under `iommufd-emu run` must print the same.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, SRC, compileClient, ensureShim, removeTempDir } from './build.js';

interface Client {
  name: string;      // test/shim/NAME.c
  golden?: string;   // test/shim/GOLDEN.golden (default NAME)
  args?: string[];   // the client's arguments (the same on the oracle)
  platform?: string; // the emulator platform mirroring the oracle machine
  what: string;
}

const clients: Client[] = [
  { name: 'efault', what: 'an ioctl on memory freed, raw-munmapped or raw-mprotected answers EFAULT, never SIGSEGV' },
  { name: 'signal_close', what: 'a signal handler that dups and closes the fd while its thread is mid-ioctl neither hangs nor disturbs errno' },
  { name: 'raw_fork', what: 'children of the raw fork and clone syscalls and of vfork are processes of their own' },
  { name: 'vfs_ioctl', what: 'FIOCLEX, FIONBIO, FIOASYNC, FIGETBSZ... on /dev/iommu and a fault queue are answered as the VFS does' },
  { name: 'vfs_ioctl', golden: 'vfs_ioctl_vfio', args: ['vfio'], platform: 'qemu-vtd', what: 'the VFS ioctls on a VFIO cdev (oracle --vfio)' },
  { name: 'release', what: 'dup2, dup3, close_range, closefrom and close-on-exec release the last fd synchronously; a failed exec keeps it' },
  { name: 'scm_close', what: 'closing an fd received by SCM_RIGHTS releases the file at once; closing every number spares the channel' },
  { name: 'errno_kept', what: 'successful calls leave errno alone' },
  { name: 'cancel', what: 'threads cancelled between ioctls (pthread_testcancel) leave the file usable; ioctl is no cancellation point' },
];

const bins = new Map<string, string>();
before(() => {
  ensureShim();
  for (const c of clients) if (!bins.has(c.name)) bins.set(c.name, compileClient(c.name, ['-I', path.join(ROOT, 'test/conformance/include')]));
});
after(() => removeTempDir());

for (const c of clients) {
  const golden = c.golden ?? c.name;
  test(`${golden}: ${c.what}, as on Linux`, () => {
    const args = ['run', ...(c.platform ? ['--platform', c.platform] : []), '--', bins.get(c.name)!, ...(c.args ?? [])];
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, `killed by ${r.signal} (a hang, or a signal in the client); stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.equal(r.status, 0, `exit ${r.status}; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.equal(r.stdout, fs.readFileSync(path.join(SRC, `${golden}.golden`), 'utf8'));
  });
}
