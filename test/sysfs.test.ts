// The machine's sysfs and /dev/vfio tree (server/sysfs.ts) as programs under
// the shim see it: the emulated functions and not the host's own PCI devices
// (this machine has a virtio device of its own at 0000:00:01.0), links and
// realpath inside the tree, relative paths after chdir, the prefixes' edges,
// and the environment a --connect client gets.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { EmuServer, queryServer } from '../src/server/server.js';
import { Engine } from '../src/core/engine.js';
import { PLATFORMS } from '../src/hw/platform.js';
import { SYSFS_PREFIXES, machineSysfs } from '../src/server/sysfs.js';
import { SHIM, compileClient, ensureShim, removeTempDir, spawnCollect } from './shim/build.js';

function sh(server: EmuServer, script: string, bin = '/bin/sh'): Promise<{ code: number | null; out: string; err: string }> {
  const env = { ...server.clientEnv(SHIM), LC_ALL: 'C' }; // ls sorts by byte
  return spawnCollect(bin, bin === '/bin/sh' ? ['-c', script] : [], { env });
}

describe('the machine\'s sysfs under the shim', () => {
  let server: EmuServer;
  before(async () => {
    ensureShim();
    server = await EmuServer.start({ engine: new Engine({ platform: PLATFORMS['qemu-vtd']! }) });
  });
  after(async () => { await server.close(); removeTempDir(); });

  it('lists the emulated functions and none of the host\'s', async () => {
    const r = await sh(server, 'ls /sys/bus/pci/devices; for d in /sys/bus/pci/devices/*; do echo "$d $(cat $d/vendor):$(cat $d/device)"; done');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.deepEqual(lines.slice(0, 6), ['0000:00:00.0', '0000:00:01.0', '0000:00:02.0', '0000:00:1f.0', '0000:00:1f.2', '0000:00:1f.3']);
    assert.deepEqual(lines.slice(6), [
      '/sys/bus/pci/devices/0000:00:00.0 0x8086:0x29c0', '/sys/bus/pci/devices/0000:00:01.0 0x8086:0x10d3',
      '/sys/bus/pci/devices/0000:00:02.0 0x8086:0x10d3', '/sys/bus/pci/devices/0000:00:1f.0 0x8086:0x2918',
      '/sys/bus/pci/devices/0000:00:1f.2 0x8086:0x2922', '/sys/bus/pci/devices/0000:00:1f.3 0x8086:0x2930',
    ], 'no virtio (vendor 0x1af4) function of the host shows through');
  });

  it('links, realpath and relative paths resolve inside the tree', async () => {
    const r = await sh(server, [
      'readlink /sys/bus/pci/devices/0000:00:01.0/iommu_group',
      'readlink -f /sys/bus/pci/devices/0000:00:02.0',
      'readlink -f /sys/class/vfio-dev/vfio1/device/driver',
      'cat /sys/bus/pci/devices/0000:00:01.0/vfio-dev/vfio0/dev',
      // ".." is physical, as in the kernel: from the function's real directory
      'cd /sys/bus/pci/devices/0000:00:02.0 && cat vendor device ../../../bus/pci/drivers_autoprobe',
      'ls /sys/kernel/iommu_groups/1/devices',
      'ls /dev/vfio /dev/vfio/devices',
      'cat /sys/class/iommu/dmar0/intel-iommu/cap',
      'test -e /sys/module/vfio_iommu_type1 && echo type1 || echo no type1',
      'test -d /sys/module/vfio && echo vfio',
    ].join('; '));
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.deepEqual(r.out.trim().split('\n'), [
      '../../../kernel/iommu_groups/1',
      '/sys/devices/pci0000:00/0000:00:02.0',
      '/sys/bus/pci/drivers/vfio-pci',
      '250:0',
      '0x8086', '0x10d3', '1',
      '0000:00:01.0',
      '/dev/vfio:', '1', '2', 'devices', 'vfio', '', '/dev/vfio/devices:', 'vfio0', 'vfio1',
      'd2008c22260286',
      'no type1',
      'vfio',
    ]);
  });

  it('readlink(at), their fortified forms, realpath, scandir, fstatat, statx', async () => {
    const bin = compileClient('sysfs_calls', ['-D_FORTIFY_SOURCE=2']);
    const r = await sh(server, '', bin);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n'), [
      'readlink: ../../../kernel/iommu_groups/2',
      'readlinkat dirfd: ../../../bus/pci/drivers/vfio-pci',
      'readlinkat: ../../../bus/pci/drivers/vfio-pci',
      'fstatat dirfd: 0 reg',
      'realpath: /sys/devices/pci0000:00/0000:00:02.0/vfio-dev/vfio1',
      'canonicalize_file_name: /sys/kernel/iommu_groups/2',
      'scandir: 6 0000:00:00.0 0000:00:01.0 0000:00:02.0 0000:00:1f.0 0000:00:1f.2 0000:00:1f.3',
      'faccessat: 0',
      'access missing: -1 No such file or directory',
      'lstat link: 0 link',
      'stat dir: 0 dir',
      'statx: 0 size 131072 mode 600',
      'statx cdev: 0 250:1',
      'realpath from a directory in the tree: /sys/kernel/iommu_groups/1/devices',
    ]);
  });

  it('paths beside the prefixes stay the host\'s', async () => {
    const host = fs.readdirSync('/sys/bus').sort().join(' ');
    const r = await sh(server, 'echo $(ls /sys/bus); ls -d /sys/bus/pci_* 2>/dev/null | wc -l');
    assert.equal(r.code, 0, r.err);
    const [names, others] = r.out.split('\n');
    assert.equal(names!.trim(), host);
    assert.equal(others, String(fs.readdirSync('/sys/bus').filter((n) => n.startsWith('pci_')).length));
  });

  it('a --connect client gets the same tree', async () => {
    const q = await queryServer(server.socketPath);
    assert.equal(q.tree, server.clientEnv(SHIM).IOMMUFD_EMU_TREE);
    const [root, ...prefixes] = q.tree.split('|');
    assert.deepEqual(prefixes.slice(0, SYSFS_PREFIXES.length), SYSFS_PREFIXES);
    assert.deepEqual(prefixes.slice(SYSFS_PREFIXES.length), [
      '/sys/dev/char/250:0', '/sys/dev/char/250:1', '/sys/dev/char/251:0', '/sys/dev/char/251:1',
      '/sys/dev/char/10:196', '/sys/dev/char/10:257',
    ], 'each node\'s own link: the host\'s other char devices stay');
    assert.ok(root!.startsWith(fs.realpathSync(server.stateDir) + '/'));
    assert.equal(fs.statSync(root!).mode & 0o777, 0o755, 'listable by the user a `serve --user` lets in');
    assert.equal(fs.readFileSync(`${root}/sys/bus/pci/devices/0000:00:01.0/device`, 'utf8'), '0x10d3\n');
  });
});

describe('the machine\'s sysfs for a user `serve --user` lets in', () => {
  it('reads the tree as the kernel lets a user read sysfs', async () => {
    ensureShim();
    const server = await EmuServer.start({ engine: new Engine({ platform: PLATFORMS['qemu-vtd']! }) });
    try {
      server.allowUser(65534, 65534);
      const env = server.clientEnv(server.shareWithUser(SHIM), { PATH: process.env.PATH, LC_ALL: 'C' });
      const script = 'ls /sys/bus/pci/devices | wc -l; cat /sys/bus/pci/devices/0000:00:01.0/vfio-dev/vfio0/dev; ' +
        'readlink -f /sys/bus/pci/devices/0000:00:01.0/iommu_group; ls /dev/vfio/devices; ' +
        'cat /sys/bus/pci/devices/0000:00:01.0/resource0 2>&1 >/dev/null | grep -c "Permission denied"; ' +
        'echo x 2>/dev/null > /sys/bus/pci/devices/0000:00:01.0/driver_override || echo refused';
      const r = await spawnCollect('/bin/sh', ['-c', script], { env, uid: 65534, gid: 65534, cwd: '/' });
      assert.deepEqual(r.out.trim().split('\n'), [
        '6', '250:0', '/sys/kernel/iommu_groups/1', 'vfio0', 'vfio1', '1', 'refused',
      ], r.err);
    } finally {
      await server.close();
    }
  });
});

describe('the machine\'s sysfs tree', () => {
  it('only machines with PCI functions for VFIO have one', async () => {
    assert.equal(machineSysfs(new Engine({ platform: PLATFORMS['mock']! })), undefined);
    const s = await EmuServer.start({ engine: new Engine({ platform: PLATFORMS['mock']! }) });
    try {
      assert.equal(s.clientEnv(SHIM).IOMMUFD_EMU_TREE, undefined, 'the host\'s view stays on the mock platform');
      assert.equal((await queryServer(s.socketPath)).tree, '');
    } finally {
      await s.close();
    }
  });

  it('follows the engine\'s functions: groups, cdev numbers, BARs', () => {
    const t = machineSysfs(new Engine({ platform: PLATFORMS['qemu-vtd-sc']! }))!.entries;
    const file = (p: string) => { const e = t.get(p); assert.equal(e?.kind, 'file', p); return e.kind === 'file' ? String(e.data) : ''; };
    const link = (p: string) => { const e = t.get(p); assert.equal(e?.kind, 'link', p); return e.kind === 'link' ? e.target : ''; };
    assert.equal(file('/sys/class/iommu/dmar0/intel-iommu/ecap'.replace('/sys/class/iommu', '/sys/devices/virtual/iommu')), 'f00fca\n', 'ECAP.SC of qemu-vtd-sc');
    assert.equal(link('/sys/devices/pci0000:00/0000:00:02.0/iommu_group'), '../../../kernel/iommu_groups/2');
    assert.equal(file('/sys/devices/pci0000:00/0000:00:02.0/vfio-dev/vfio1/dev'), '250:1\n');
    assert.equal(file('/sys/devices/virtual/vfio/2/dev'), '251:1\n');
    const r1 = t.get('/sys/devices/pci0000:00/0000:00:01.0/resource1');
    assert.ok(r1?.kind === 'file' && r1.size === 0x20000n && r1.mode === 0o600);
    assert.equal(t.get('/sys/devices/pci0000:00/0000:00:1f.2/driver'), undefined, 'no driver binds the chipset');
    assert.equal(link('/sys/kernel/iommu_groups/3/devices/0000:00:1f.3'), '../../../../devices/pci0000:00/0000:00:1f.3');
  });
});
