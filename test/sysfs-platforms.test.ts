// The sysfs and /dev/vfio trees of the platforms beyond the oracle's q35
// (server/sysfs.ts): intel-client (two VT-d units), amd-vi and arm-smmuv3,
// as programs under the shim see them. The oracle has no AMD or arm64
// machine: names, link targets and formats are read from Linux 7.2
// (drivers/iommu/iommu-sysfs.c: the class device hangs under its parent,
// the function's "iommu" link; amd/init.c: ivhd%d, amd-iommu/cap "%x" and
// features "%llx:%llx"; arm-smmu-v3.c: "smmu3.%pa", no attributes; IORT:
// platform devices arm-smmu-v3.N.auto). This host has a virtio function of
// its own at 0000:00:01.0: it must not show through.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { EmuServer } from '../src/server/server.js';
import { Engine } from '../src/core/engine.js';
import { PLATFORMS, parsePlatform } from '../src/hw/platform.js';
import { machineSysfs } from '../src/server/sysfs.js';
import { SHIM, ensureShim, removeTempDir, spawnCollect } from './shim/build.js';

function sh(server: EmuServer, script: string): Promise<{ code: number | null; out: string; err: string }> {
  return spawnCollect('/bin/sh', ['-c', script], { env: { ...server.clientEnv(SHIM), LC_ALL: 'C' } });
}

/** For each PCI function: realpath, vendor:device, class, group, realpath of its iommu link. */
const LIST = 'for d in /sys/bus/pci/devices/*; do echo "$(readlink -f $d) $(cat $d/vendor):$(cat $d/device) $(cat $d/class) ' +
  'g=$(basename "$(readlink $d/iommu_group)") $(readlink -f $d/iommu)"; done';

function platformServer(name: string): { get: () => EmuServer } {
  let server: EmuServer | undefined;
  before(async () => {
    ensureShim();
    server = await EmuServer.start({ engine: new Engine({ platform: PLATFORMS[name]! }) });
  });
  after(async () => { await server?.close(); });
  return { get: () => server! };
}

after(() => removeTempDir());

describe('sysfs of intel-client: two VT-d units', () => {
  const s = platformServer('intel-client');

  it('lists its functions behind dmar0 and dmar1, none of the host\'s', async () => {
    const r = await sh(s.get(), LIST);
    assert.equal(r.code, 0, r.err);
    const v = '/sys/devices/virtual/iommu';
    assert.deepEqual(r.out.trim().split('\n'), [
      `/sys/devices/pci0000:00/0000:00:00.0 0x8086:0x29c0 0x060000 g=0 ${v}/dmar0`,
      `/sys/devices/pci0000:00/0000:00:01.0 0x8086:0x10d3 0x020000 g=1 ${v}/dmar0`,
      `/sys/devices/pci0000:00/0000:00:02.0 0x8086:0x9a49 0x030000 g=3 ${v}/dmar1`,
      `/sys/devices/pci0000:00/0000:00:03.0 0x8086:0xf1a8 0x010802 g=2 ${v}/dmar0`,
      `/sys/devices/pci0000:00/0000:00:1f.0 0x8086:0x2918 0x060100 g=4 ${v}/dmar0`,
      `/sys/devices/pci0000:00/0000:00:1f.2 0x8086:0x2922 0x010601 g=4 ${v}/dmar0`,
      `/sys/devices/pci0000:00/0000:00:1f.3 0x8086:0x2930 0x0c0500 g=4 ${v}/dmar0`,
    ]);
  });

  it('each unit has its intel-iommu attributes and its own devices', async () => {
    const r = await sh(s.get(), [
      'ls /sys/class/iommu', 'ls /sys/class/iommu/dmar1/devices',
      'cd /sys/class/iommu/dmar0/intel-iommu && cat address ecap domains_used version',
      'cd /sys/class/iommu/dmar1/intel-iommu && cat address ecap domains_used domains_supported',
      'readlink /sys/class/iommu/dmar1',
      'cat /sys/bus/pci/devices/0000:00:02.0/vfio-dev/vfio2/dev /sys/bus/pci/devices/0000:00:02.0/irq',
      'readlink -f /sys/dev/char/250:2', 'ls /dev/vfio', 'ls /dev/vfio/devices',
    ].join('; '));
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n'), [
      'dmar0', 'dmar1', '0000:00:02.0',
      'fed90000', 'f00fca', '4', '1:0',
      'fed91000', 'f00f4a', '1', '65536',
      '../../devices/virtual/iommu/dmar1',
      '250:2', '0',
      '/sys/devices/pci0000:00/0000:00:02.0/vfio-dev/vfio2',
      '1', '2', '3', 'devices', 'vfio', 'vfio0', 'vfio1', 'vfio2',
    ]);
  });
});

describe('sysfs of amd-vi: one AMD IOMMU', () => {
  const s = platformServer('amd-vi');

  it('hangs ivhd0 under the IOMMU\'s own PCI function at 00:01.0, which has no group (amd_sysfs.golden)', async () => {
    const r = await sh(s.get(), LIST);
    assert.equal(r.code, 0, r.err);
    const u = '/sys/devices/pci0000:00/0000:00:01.0/iommu/ivhd0';
    assert.deepEqual(r.out.trim().split('\n'), [
      `/sys/devices/pci0000:00/0000:00:00.0 0x8086:0x29c0 0x060000 g=0 ${u}`,
      // its "iommu" is the class directory (iommu_device_link fails with EEXIST)
      '/sys/devices/pci0000:00/0000:00:01.0 0x1022:0x0008 0x080600 g= /sys/devices/pci0000:00/0000:00:01.0/iommu',
      `/sys/devices/pci0000:00/0000:00:02.0 0x8086:0x10d3 0x020000 g=1 ${u}`,
      `/sys/devices/pci0000:00/0000:00:03.0 0x8086:0x10d3 0x020000 g=2 ${u}`,
      `/sys/devices/pci0000:00/0000:00:1f.0 0x8086:0x2918 0x060100 g=3 ${u}`,
      `/sys/devices/pci0000:00/0000:00:1f.2 0x8086:0x2922 0x010601 g=3 ${u}`,
      `/sys/devices/pci0000:00/0000:00:1f.3 0x8086:0x2930 0x0c0500 g=3 ${u}`,
    ]);
  });

  it('shows amd-iommu/cap and features in init.c\'s formats, kernfs link targets, the unit\'s reserved regions', async () => {
    const r = await sh(s.get(), [
      'ls /sys/class/iommu', 'readlink /sys/class/iommu/ivhd0', 'ls /sys/class/iommu/ivhd0/amd-iommu',
      'cat /sys/class/iommu/ivhd0/amd-iommu/cap /sys/class/iommu/ivhd0/amd-iommu/features',
      'test -e /sys/class/iommu/ivhd0/intel-iommu || echo no intel-iommu',
      'readlink /sys/class/iommu/ivhd0/device /sys/class/iommu/ivhd0/devices/0000:00:00.0',
      'readlink /sys/bus/pci/devices/0000:00:02.0/iommu',
      'cat /sys/kernel/iommu_groups/2/reserved_regions', 'ls /sys/kernel/iommu_groups',
      'readlink -f /sys/class/vfio-dev/vfio1/device/iommu_group',
    ].join('; '));
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n'), [
      'ivhd0', '../../devices/pci0000:00/0000:00:01.0/iommu/ivhd0', 'cap', 'features',
      '1f03000f', '29d3:0', 'no intel-iommu',
      '../../../0000:00:01.0', '../../../../0000:00:00.0', '../0000:00:01.0/iommu/ivhd0',
      '0x00000000fee00000 0x00000000feefffff msi', '0x000000fd00000000 0x000000ffffffffff reserved',
      '0', '1', '2', '3',
      '/sys/kernel/iommu_groups/2',
    ]);
  });
});

describe('sysfs of arm-smmuv3: two SMMUv3 units, two segments', () => {
  const s = platformServer('arm-smmuv3');

  it('lists a gpex host bridge per segment and no q35 chipset', async () => {
    const r = await sh(s.get(), LIST);
    assert.equal(r.code, 0, r.err);
    const p = '/sys/devices/platform';
    assert.deepEqual(r.out.trim().split('\n'), [
      `/sys/devices/pci0000:00/0000:00:00.0 0x1b36:0x0008 0x060000 g=0 ${p}/arm-smmu-v3.0.auto/iommu/smmu3.0x0000000009050000`,
      `/sys/devices/pci0000:00/0000:00:01.0 0x8086:0x10d3 0x020000 g=1 ${p}/arm-smmu-v3.0.auto/iommu/smmu3.0x0000000009050000`,
      `/sys/devices/pci0001:00/0001:00:00.0 0x1b36:0x0008 0x060000 g=3 ${p}/arm-smmu-v3.1.auto/iommu/smmu3.0x0000000009070000`,
      `/sys/devices/pci0001:00/0001:00:01.0 0x144d:0xa808 0x010802 g=2 ${p}/arm-smmu-v3.1.auto/iommu/smmu3.0x0000000009070000`,
    ]);
  });

  it('registers smmu3.0x<base> class devices under the platform devices', async () => {
    const r = await sh(s.get(), [
      'ls /sys/class/iommu', 'readlink /sys/class/iommu/smmu3.0x0000000009070000',
      'ls /sys/class/iommu/smmu3.0x0000000009070000', 'ls /sys/class/iommu/smmu3.0x0000000009070000/devices',
      'readlink /sys/bus/pci/devices/0001:00:01.0/iommu',
      'readlink -f /sys/devices/platform/arm-smmu-v3.1.auto/driver',
      'cat /sys/devices/platform/arm-smmu-v3.0.auto/modalias',
      'readlink -f /sys/bus/pci/devices/0001:00:01.0/vfio-dev/vfio1/device',
      'readlink -f /sys/dev/char/250:1', 'ls /sys/class/pci_bus',
      'cat /sys/kernel/iommu_groups/2/reserved_regions',
      'ls /dev/vfio',
    ].join('; '));
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n'), [
      'smmu3.0x0000000009050000', 'smmu3.0x0000000009070000',
      '../../devices/platform/arm-smmu-v3.1.auto/iommu/smmu3.0x0000000009070000',
      'device', 'devices', 'subsystem', 'uevent', '0001:00:00.0', '0001:00:01.0',
      '../../platform/arm-smmu-v3.1.auto/iommu/smmu3.0x0000000009070000',
      '/sys/bus/platform/drivers/arm-smmu-v3',
      'platform:arm-smmu-v3',
      '/sys/devices/pci0001:00/0001:00:01.0',
      '/sys/devices/pci0001:00/0001:00:01.0/vfio-dev/vfio1',
      '0000:00', '0001:00',
      '0x0000000008000000 0x00000000080fffff msi',
      '1', '2', 'devices', 'vfio',
    ]);
  });

  it('has no q35 functions or VT-d attributes in its tree', () => {
    const t = machineSysfs(new Engine({ platform: PLATFORMS['arm-smmuv3']! }))!;
    for (const p of t.entries.keys()) assert.ok(!/0000:00:1f\.|intel-iommu|virtual\/iommu/.test(p), p);
    assert.ok(t.prefixes.includes('/sys/devices/pci0001:00'));
    assert.ok(t.prefixes.includes('/sys/devices/platform/arm-smmu-v3.0.auto'));
  });
});

describe('sysfs of a platform file', () => {
  it('roots other segments and buses as pciDDDD:BB; a function at a chipset address replaces it', () => {
    const pl = parsePlatform(JSON.stringify({
      base: 'qemu-vtd', functions: [
        { model: 'e1000e', bdf: '0000:00:1f.0' },
        { model: 'pci-function', bdf: '0002:03:00.0', group: 5 },
        { model: 'pci-function', bdf: '0002:03:00.1', group: 5 },
      ],
    }), 'test');
    const t = machineSysfs(new Engine({ platform: pl }))!;
    const target = (p: string) => { const e = t.entries.get(p); return e?.kind === 'link' ? e.target : e?.kind; };
    assert.equal(target('/sys/bus/pci/devices/0002:03:00.1'), '../../../devices/pci0002:03/0002:03:00.1');
    assert.equal(target('/sys/class/pci_bus/0002:03'), '../../devices/pci0002:03/pci_bus/0002:03');
    assert.equal(target('/sys/kernel/iommu_groups/2/devices/0002:03:00.0'), '../../../../devices/pci0002:03/0002:03:00.0');
    assert.equal(target('/sys/devices/virtual/iommu/dmar0/devices/0002:03:00.1'), '../../../../pci0002:03/0002:03:00.1');
    assert.equal(target('/sys/dev/char/250:2'), '../../devices/pci0002:03/0002:03:00.1/vfio-dev/vfio2');
    assert.equal(target('/sys/devices/pci0000:00/0000:00:1f.0/driver'), '../../../bus/pci/drivers/vfio-pci', 'the e1000e, not the LPC bridge');
    const dev = t.entries.get('/sys/devices/pci0000:00/0000:00:1f.0/device');
    assert.ok(dev?.kind === 'file' && dev.data === '0x10d3\n');
    assert.ok(t.prefixes.includes('/sys/devices/pci0002:03'));
  });
});
