// `iommufd-emu platform list|show`: the machine and its coherency table as the
// engine answers, the habits of the other commands (--help on stdout with
// status 0, usage errors on stderr with status 2 and a pointer to --help),
// and a bad platform file refused with the path of its field.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, removeTempDir, tempDir } from './shim/build.js';

after(() => removeTempDir());

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('iommufd-emu platform', () => {
  it('--help: the manual on stdout, status 0; the main help lists the command', () => {
    for (const args of [['platform', '--help'], ['platform', '-h'], ['platform', 'show', '--help']]) {
      const r = cli(args);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /^Usage: iommufd-emu platform list\n {7}iommufd-emu platform show NAME\|FILE\n/);
      assert.equal(r.stderr, '');
    }
    assert.match(cli(['--help']).stdout, /\n {2}platform {2}list the built-in machines, or show one and its coherency table\n/);
  });

  it('usage errors: status 2, the reason, and where to look', () => {
    const table: Array<[string[], string]> = [
      [['platform'], 'platform: missing subcommand (list or show)'],
      [['platform', 'frob'], "platform: unknown subcommand 'frob'"],
      [['platform', 'show'], 'platform show: missing NAME|FILE'],
      [['platform', 'show', 'a', 'b'], 'platform show: one platform at a time (got 2)'],
      [['platform', 'list', 'x'], "platform list: unexpected argument 'x'"],
      [['platform', '--frob'], "unknown option '--frob'"],
    ];
    for (const [args, msg] of table) {
      const r = cli(args);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr, `iommufd-emu: ${msg}\nTry 'iommufd-emu platform --help'.\n`);
      assert.equal(r.stdout, '');
    }
  });

  it('a platform that cannot be loaded: status 2, the reason with the field\'s path', () => {
    const dir = tempDir();
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"base":"qemu-vtd","iommus":[{"kind":"vtd","snoopcontrol":true}]}');
    let r = cli(['platform', 'show', bad]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `iommufd-emu: ${bad}: iommus[0].snoopcontrol: unknown key (known: kind, snoopControl, addressWidth, scalableMode, firstStage, secondStage, nesting)\n`);
    r = cli(['platform', 'show', '/nonexistent.json']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^iommufd-emu: \/nonexistent\.json: no such platform \(built-in: mock, .*\) or file\n$/);
  });

  it('list: every built-in, one per line', () => {
    const r = cli(['platform', 'list']);
    assert.equal(r.status, 0);
    assert.deepEqual(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0]), ['mock', 'qemu-vtd', 'qemu-vtd-sc', 'qemu-vtd-sm', 'qemu-vtd-sm-sc', 'intel-client', 'arm-smmuv3', 'qemu-vtd-igb', 'amd-vi', 'qemu-smmuv3']);
  });

  it('show: units with registers, functions, and the coherency table per platform', () => {
    const arm = cli(['platform', 'show', 'arm-smmuv3']);
    assert.equal(arm.status, 0, arm.stderr);
    for (const line of [
      '  smmu3.1  SMMUv3, non-coherent, stage 1+2, OAS 44; IDR0-5 0x0d44100b 0x02730010 0x00000000 0x00001414 0x00000000 0x00000074 IIDR 0x00000000 AIDR 0x00000001',
      '  segment 0x0000  CANWBS',
      '  vfio1  0001:00:01.0  144d:a808 class 010802  pci-function  group 2  smmu3.1',
      '  vfio0   ok      yes      new HWPT 3, enforcing',
      '  vfio1   EINVAL  no       - (bind refused: the IOMMU is not coherent)',
      '  VFIO_DMA_CC_IOMMU on the compat container: 1',
    ]) assert.ok(arm.stdout.split('\n').includes(line), `arm-smmuv3: ${line}`);
    const ic = cli(['platform', 'show', 'intel-client']);
    for (const line of [
      '  dmar1    VT-d, no snoop control, 39-bit IOVA; CAP 0x00d2008c22260286 ECAP 0x0000000000f00f4a',
      '  vfio1   ok      yes      joins HWPT 3, enforcing',
      '  vfio2   ok      no       new HWPT 6, not enforcing (no earlier HWPT took it)',
      '  VFIO_DMA_CC_IOMMU on the compat container: 0',
    ]) assert.ok(ic.stdout.split('\n').includes(line), `intel-client: ${line}`);
    const amd = cli(['platform', 'show', 'amd-vi']);
    assert.ok(amd.stdout.includes('  ivhd0    AMD-Vi, v1 page table (FC), 48-bit IOVA; EFR 0x00000000000029d3 EFR2 0x0000000000000000\n'));
    assert.ok(amd.stdout.includes('  vfio1   ok      yes      joins HWPT 3, enforcing\n'));
    const mock = cli(['platform', 'show', 'mock']);
    assert.equal(mock.status, 0);
    assert.match(mock.stdout, /\nIOMMU units:\n {2}none\n\nPCI functions bound to vfio-pci:\n {2}none\n$/);
  });
});
