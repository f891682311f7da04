// The worked examples of docs/ (examples/*.c), built against the installed
// header with the system's <linux/vfio.h> and run under `iommufd-emu run` on
// the platforms their pages name: what each page says the program prints.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, compileExample, ensureShim, removeTempDir } from './shim/build.js';

const bins = new Map<string, string>();
before(() => {
  ensureShim();
  for (const n of ['vmm-attach', 'nic-irq', 'hw-info']) bins.set(n, compileExample(n));
});
after(() => removeTempDir());

function run(name: string, platform: string): string {
  const r = spawnSync(process.execPath, [BIN, 'run', '--platform', platform, '--', bins.get(name)!], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `${name} on ${platform}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe('docs/vmm-developers.md: examples/vmm-attach.c', () => {
  it('binds, attaches (a HWPT made for the IOAS), maps guest RAM, reads the device, unmaps', () => {
    const out = run('vmm-attach', 'qemu-vtd');
    assert.match(out, /^bound: dev_id 1$/m);
    assert.match(out, /^iommu: type 1 \(1 = Intel VT-d\), cap 0x[0-9a-f]+ ecap 0x[0-9a-f]+, snoop control no$/m);
    assert.match(out, /^attached: ioas 2, the kernel made hwpt 3 for it$/m);
    assert.match(out, /^mapped: 2048 KiB of guest RAM at IOVA 0x0$/m);
    assert.match(out, /^device: flags 0x3 \(PCI, reset\), 9 regions, 5 irqs$/m);
    assert.match(out, /^ {2}BAR0: 131072 bytes, mmap$/m);
    assert.match(out, /^ {2}BAR3: 16384 bytes, mmap, caps$/m);
    assert.match(out, /^ {2}MSI-X: 5 vectors$/m);
    assert.match(out, /^unmapped 2097152 bytes$/m);
  });
});

describe('docs/driver-developers.md: examples/nic-irq.c', () => {
  it('reads link and MAC through the mmapped BAR0 and takes an MSI-X interrupt raised with ICS', () => {
    const out = run('nic-irq', 'qemu-vtd');
    assert.match(out, /^STATUS 0x[0-9a-f]{8}: link up$/m);
    assert.match(out, /^MAC 52:54:00:12:34:56 \(EEPROM words 0-2\)$/m);
    assert.match(out, /^MSI-X vector 0 fired \(1\), ICR 0x81000004$/m);
  });
});

describe('docs/uapi-explorers.md: examples/hw-info.c', () => {
  it('VT-d without and with snoop control, the SMMU refusing a non-coherent master, AMD always coherent', () => {
    assert.match(run('hw-info', 'qemu-vtd'), /^vfio0: dev_id 1, 24 bytes of hw info[^\n]*\n {2}Intel VT-d[^\n]*\n {2}IOMMU_CACHE: no snoop control/m);
    const client = run('hw-info', 'intel-client');
    assert.match(client, /^vfio0:[^\n]*\n[^\n]*\n {2}IOMMU_CACHE: the unit can force snooping \(ECAP\.SC\): enforceable$/m);
    assert.match(client, /^vfio2:[^\n]*\n[^\n]*\n {2}IOMMU_CACHE: no snoop control/m, 'the graphics unit lacks SC');
    const arm = run('hw-info', 'arm-smmuv3');
    assert.match(arm, /^vfio0: dev_id 1, 40 bytes of hw info/m);
    assert.match(arm, /SMMU coherent \(COHACC\)$/m);
    assert.match(arm, /^vfio1: bind refused: Invalid argument$/m);
    const amd = run('hw-info', 'amd-vi');
    assert.match(amd, /^vfio0: dev_id 1, 16 bytes of hw info[^\n]*\n {2}AMD-Vi: EFR 0x[0-9a-f]+ EFR2 0x[0-9a-f]+\n {2}IOMMU_CACHE: always coherent/m);
  });
});
