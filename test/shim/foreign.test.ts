// Foreign ioctls (native/shim/proto.h, IOMMUFD_EMU_FOREIGN): the shim forwards
// KVM_SET_DEVICE_ATTR even on an fd it does not own, the server leaves a
// non-kvm-vfio fd to the kernel, and the kernel's answer comes back
// (test/shim/foreign.c; no /dev/kvm needed: its "kvm" mode is the manual run).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, compileClient, ensureShim, removeTempDir, steps } from './build.js';

test('KVM_SET_DEVICE_ATTR on a foreign fd reaches the server, which leaves it to the kernel; other requests never reach it', () => {
  ensureShim();
  try {
    const bin = compileClient('foreign');
    const r = spawnSync(BIN, ['run', '--platform', 'qemu-vtd', '--trace', '--', bin], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const s = steps(r.stdout);
    assert.equal(s.get('open vfio0'), '3');
    assert.equal(s.get('set attr on a pipe'), '-1 ENOTTY', 'the pipe\'s own answer');
    assert.equal(s.get('set attr on a closed fd'), '-1 EBADF');
    assert.equal(s.get('has attr on a pipe'), '-1 ENOTTY');
    assert.equal(s.get('set attr on vfio0'), '-1 EINVAL', 'on an emulated fd: the emulated device answers');
    assert.equal(s.get('set attr bad pointer'), '-1 ENOTTY');
    assert.equal(s.get('fionread on a pipe'), '0 errno kept');
    const lines = r.stderr.split('\n');
    const forwarded = lines.filter((l) => / KVM_SET_DEVICE_ATTR\(\d+\) → the kernel \(/.test(l));
    assert.deepEqual(forwarded.map((l) => l.replace(/^\[\d+\] /, '').replace(/pipe:\[\d+\]/, 'pipe:[N]')), [
      'KVM_SET_DEVICE_ATTR(4) → the kernel (fd 4 is pipe:[N])',
      'KVM_SET_DEVICE_ATTR(999) → the kernel (fd 999 is not open)',
      'KVM_SET_DEVICE_ATTR(4) → the kernel (fd 4 is pipe:[N])',
    ], 'each forwarded call, and no KVM_HAS_DEVICE_ATTR');
    assert.ok(!lines.some((l) => /HAS_DEVICE_ATTR|0x4018aee3/.test(l)), 'requests not listed stay in the client');
  } finally {
    removeTempDir();
  }
});
