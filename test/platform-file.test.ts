// Platform files mean what they say: every built-in platform and example file
// passes the checks; every unknown key, wrong type and impossible combination
// is EINVAL naming the JSON path of the bad field; lists replace the base's
// whole; `{}` is the default platform and an array is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Errno, EINVAL, ENOENT } from '../src/uapi/errno.js';
import { PLATFORMS, checkPlatform, parsePlatform, type Platform } from '../src/hw/platform.js';
import { loadPlatform } from '../src/server/platform-file.js';
import { Engine } from '../src/core/engine.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function refusal(text: string): string {
  try { parsePlatform(text, 'p.json'); } catch (e) {
    assert.ok(e instanceof Errno, String(e));
    assert.equal(e.code, EINVAL);
    return e.message.replace(/^EINVAL: /, '');
  }
  assert.fail(`accepted: ${text}`);
}

test('every built-in platform passes the checks a file gets', () => {
  for (const p of Object.values(PLATFORMS)) assert.doesNotThrow(() => checkPlatform(p), p.name);
  assert.deepEqual(Object.keys(PLATFORMS), ['mock', 'qemu-vtd', 'qemu-vtd-sc', 'qemu-vtd-sm', 'qemu-vtd-sm-sc', 'intel-client', 'arm-smmuv3', 'qemu-vtd-igb', 'amd-vi', 'qemu-smmuv3']);
});

test('the example files under platforms/ load, and the schema lists the same keys the parser knows', () => {
  const dir = path.join(ROOT, 'platforms');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'platform.schema.json');
  assert.ok(files.length >= 2);
  for (const f of files) assert.doesNotThrow(() => loadPlatform(path.join(dir, f)), f);
  const schema = JSON.parse(fs.readFileSync(path.join(dir, 'platform.schema.json'), 'utf8')) as {
    properties: Record<string, unknown>; $defs: Record<string, { properties?: Record<string, unknown> }>; };
  assert.deepEqual(Object.keys(schema.properties).sort(), ['$schema', 'base', 'description', 'functions', 'iommus', 'name', 'rootComplexes', 'testAbi']);
  assert.deepEqual(Object.keys(schema.$defs['vtd']!.properties!), ['kind', 'snoopControl', 'addressWidth', 'scalableMode', 'firstStage', 'secondStage', 'nesting']);
  assert.deepEqual(Object.keys(schema.$defs['smmuv3']!.properties!), ['kind', 'coherent', 'stage1', 'stage2', 's2fwb', 'oas']);
  assert.deepEqual(Object.keys(schema.$defs['amd-vi']!.properties!), ['kind', 'efr', 'efr2']);
  assert.deepEqual(Object.keys(schema.$defs['function']!.properties!), ['model', 'bdf', 'iommu', 'group', 'vendorId', 'deviceId', 'classCode']);
  assert.deepEqual((schema.properties['base'] as { enum: string[] }).enum, Object.keys(PLATFORMS));
});

test('bad files: each refusal names the path of the field', () => {
  const cases: Array<[string, RegExp]> = [
    ['[1,2,3]', /^p\.json: \(top level\): expected an object, got an array$/],
    ['"mock"', /^p\.json: \(top level\): expected an object, got a string$/],
    ['null', /^p\.json: \(top level\): expected an object, got null$/],
    ['{"base":"qemu-vtd","vtd":[{"snoopControl":true}]}', /^p\.json: vtd: unknown key: units go in "iommus", e\.g\. "iommus": \[\{"kind": "vtd", \.\.\.\}\]$/],
    ['{"nmae":"x"}', /^p\.json: nmae: unknown key \(known: \$schema, base, name, description, testAbi, iommus, rootComplexes, functions\)$/],
    ['{"base":"nope"}', /^p\.json: base: no built-in platform "nope"/],
    ['{"base":3}', /^p\.json: base: expected a string, got a number$/],
    ['{"testAbi":"yes"}', /^p\.json: testAbi: expected true or false, got a string$/],
    ['{"iommus":{}}', /^p\.json: iommus: expected an array, got an object$/],
    ['{"iommus":[{"kind":"vtd","snoopcontrol":true}]}', /^p\.json: iommus\[0\]\.snoopcontrol: unknown key \(known: kind, snoopControl, addressWidth, scalableMode, firstStage, secondStage, nesting\)$/],
    ['{"iommus":[{"kind":"vtd","nesting":true}]}', /^p\.json: iommus\[0\]\.nesting: a scalable-mode switch: set scalableMode$/],
    ['{"iommus":[{"kind":"vtd","scalableMode":true,"firstStage":false}]}', /^p\.json: iommus\[0\]\.secondStage: scalable mode needs a first or a second stage$/],
    ['{"iommus":[{"kind":"vtd","scalableMode":true,"nesting":true}]}', /^p\.json: iommus\[0\]\.nesting: nesting needs firstStage and secondStage$/],
    ['{"iommus":[{"kind":"vtd","scalableMode":"on"}]}', /^p\.json: iommus\[0\]\.scalableMode: expected true or false, got a string$/],
    ['{"iommus":[{"snoopControl":true}]}', /^p\.json: iommus\[0\]\.kind: expected one of "vtd", "smmuv3", "amd-vi", got nothing$/],
    ['{"iommus":[{"kind":"vtd","snoopControl":1}]}', /^p\.json: iommus\[0\]\.snoopControl: expected true or false, got a number$/],
    ['{"iommus":[{"kind":"vtd","addressWidth":57}]}', /^p\.json: iommus\[0\]\.addressWidth: expected one of 39, 48, got 57$/],
    ['{"iommus":[{"kind":"smmuv3","stage1":false,"stage2":false}]}', /^p\.json: iommus\[0\]\.stage2: an SMMU needs stage 1 or stage 2/],
    ['{"iommus":[{"kind":"smmuv3","stage2":false,"s2fwb":true}]}', /^p\.json: iommus\[0\]\.s2fwb: S2FWB is a stage-2 feature/],
    ['{"iommus":[{"kind":"smmuv3","oas":47}]}', /^p\.json: iommus\[0\]\.oas: expected one of 32, 36, 40, 42, 44, 48, 52, got 47$/],
    ['{"iommus":[{"kind":"amd-vi","efr":11731}]}', /^p\.json: iommus\[0\]\.efr: HATS \(bits 11:10\) = 3 is reserved/],
    ['{"iommus":[{"kind":"amd-vi","efr":"0x29d3z"}]}', /^p\.json: iommus\[0\]\.efr: expected a 64-bit value as a "0x\.\.\." string, got "0x29d3z"$/],
    ['{"iommus":[{"kind":"amd-vi","efr":"0x100000000000000000"}]}', /^p\.json: iommus\[0\]\.efr: expected a 64-bit value/],
    ['{"iommus":[{"kind":"vtd"},{"kind":"smmuv3"}]}', /^p\.json: iommus\[1\]\.kind: smmuv3 \(arm64\) cannot share a machine with vtd/],
    ['{"iommus":[{"kind":"amd-vi"},{"kind":"vtd"}]}', /^p\.json: iommus\[1\]\.kind: vtd \(x86 \(Intel\)\) cannot share a machine with amd-vi/],
    ['{"base":"qemu-vtd","functions":[{"model":"e1000e","bdf":"00:01.0","iommu":1}]}', /^p\.json: functions\[0\]\.iommu: no such unit \(the platform has 1\)$/],
    ['{"base":"qemu-vtd","functions":[{"model":"e1000e","bdf":"00:01.0"},{"model":"pci-function","bdf":"0000:00:01.0"}]}', /^p\.json: functions\[1\]\.bdf: the same address as functions\[0\]$/],
    ['{"base":"qemu-vtd","functions":[{"model":"e1000e","bdf":"00:20.0"}]}', /^p\.json: functions\[0\]\.bdf: expected a PCI address|device 32 is out of range/],
    ['{"base":"qemu-vtd","functions":[{"model":"e1000e","bdf":"1:2.3"}]}', /^p\.json: functions\[0\]\.bdf: expected a PCI address "dddd:bb:dd\.f", got "1:2\.3"$/],
    ['{"base":"qemu-vtd","functions":[{"model":"e1000e"}]}', /^p\.json: functions\[0\]\.bdf: required$/],
    ['{"base":"qemu-vtd","functions":[{"model":"nvme","bdf":"00:03.0"}]}', /^p\.json: functions\[0\]\.model: expected one of "e1000e", "igb", "pci-function", got "nvme"$/],
    ['{"base":"qemu-vtd","functions":[{"model":"e1000e","bdf":"00:03.0","vendorId":1}]}', /^p\.json: functions\[0\]\.vendorId: an e1000e has its own IDs/],
    ['{"base":"qemu-vtd","functions":[{"model":"pci-function","bdf":"00:03.0","classCode":"0x1000000"}]}', /^p\.json: functions\[0\]\.classCode: 0x1000000 is out of range 0\.\.16777215$/],
    ['{"base":"qemu-vtd","functions":[{"model":"pci-function","bdf":"00:03.0","group":-1}]}', /^p\.json: functions\[0\]\.group: -1 is out of range/],
    ['{"base":"intel-client","functions":[{"model":"e1000e","bdf":"00:01.0","group":1},{"model":"e1000e","bdf":"00:02.0","iommu":1,"group":1}]}',
      /^p\.json: functions\[1\]\.group: group 1 is behind iommus\[0\]; a group cannot span two units$/],
    ['{"base":"qemu-vtd","rootComplexes":[{"segment":0,"canwbs":true}]}', /^p\.json: rootComplexes\[0\]\.canwbs: CANWBS is an ACPI IORT flag of arm64 machines; this one has vtd$/],
    ['{"base":"arm-smmuv3","rootComplexes":[{"segment":0},{"segment":0}]}', /^p\.json: rootComplexes\[1\]\.segment: segment 0 has two root complexes$/],
    ['{"base":"arm-smmuv3","rootComplexes":[{"canwbs":true}]}', /^p\.json: rootComplexes\[0\]\.segment: required$/],
    ['{"base":"arm-smmuv3","rootComplexes":[{"segment":0,"cohacc":true}]}', /^p\.json: rootComplexes\[0\]\.cohacc: unknown key/],
    ['{"name":5}', /^p\.json: name: expected a string, got a number$/],
    ['{', /^p\.json: not JSON: /],
  ];
  for (const [text, want] of cases) assert.match(refusal(text), want, text);
});

test('{} is the default platform under the file\'s name; given lists replace the base\'s, the rest is inherited', () => {
  const empty = parsePlatform('{}', 'empty.json');
  assert.deepEqual({ ...empty, name: 'mock' }, PLATFORMS['mock']);
  assert.equal(empty.name, 'empty.json');
  const p = parsePlatform('{"base":"qemu-vtd","name":"sc","iommus":[{"kind":"vtd","snoopControl":true}]}', 'f');
  assert.deepEqual(p.iommus, [{ kind: 'vtd', snoopControl: true, addressWidth: 39 }]);
  assert.deepEqual(p.functions, PLATFORMS['qemu-vtd']!.functions);
  assert.equal(p.description, PLATFORMS['qemu-vtd']!.description);
  const amd = parsePlatform('{"base":"amd-vi","iommus":[{"kind":"amd-vi","efr":"0x800","efr2":"0x800"}]}', 'f');
  assert.deepEqual(amd.iommus, [{ kind: 'amd-vi', efr: 0x800n, efr2: 0x800n }]);
  const arm = parsePlatform(fs.readFileSync(path.join(ROOT, 'platforms/arm-s2fwb.json'), 'utf8'), 'f');
  assert.deepEqual(arm.iommus, [{ kind: 'smmuv3', coherent: true, stage1: true, stage2: true, s2fwb: true, oas: 48 }]);
  assert.deepEqual(arm.functions[2], { model: 'pci-function', bdf: { domain: 0, bus: 0, device: 2, fn: 1 }, iommu: 0, group: 7, vendorId: 0x1b36, deviceId: 0x10, classCode: 0x010802 });
});

test('what the file says is what the machine is: units, vfioN order, shared groups, e1000e firmware per NIC', () => {
  const pl: Platform = loadPlatform(path.join(ROOT, 'platforms/arm-s2fwb.json'));
  const e = new Engine({ platform: pl });
  assert.deepEqual(e.iommuUnits.map((u) => u.name), ['smmu3.0']);
  assert.deepEqual(e.paths(), ['/dev/iommu', '/dev/vfio/devices/vfio0', '/dev/vfio/devices/vfio1', '/dev/vfio/devices/vfio2',
    // the container and one node per IOMMU group (the labelled pair shares group 2)
    '/dev/vfio/vfio', '/dev/vfio/1', '/dev/vfio/2']);
  const [nic, a, b] = e.vfioDevices.map((d) => d.pci);
  assert.deepEqual([nic!.group.id, a!.group.id, b!.group.id], [1, 2, 2], 'the labelled pair shares one group');
  assert.deepEqual([a!.vendorId, a!.deviceId, a!.classCode, a!.name], [0x1b36, 0x10, 0x010802, '0000:00:02.0']);
  // Three NICs: the first two keep the oracle's measured BARs, the third gets its own.
  const three = new Engine({ platform: parsePlatform('{"base":"amd-vi","functions":[{"model":"e1000e","bdf":"00:01.0"},{"model":"e1000e","bdf":"00:02.0"},{"model":"e1000e","bdf":"00:03.0"}]}', 'f') });
  const bar0 = three.vfioDevices.map((d) => d.pci.model.config.read(0x10, 4));
  assert.deepEqual(bar0, [0xfeb60000, 0xfeba0000, 0xfebe0000]);
});

test('loadPlatform: a built-in name, a file, or ENOENT naming both', () => {
  assert.equal(loadPlatform('amd-vi'), PLATFORMS['amd-vi']);
  try { loadPlatform('/nonexistent/p.json'); assert.fail(); } catch (e) {
    assert.ok(e instanceof Errno && e.code === ENOENT);
    assert.match(e.message, /no such platform \(built-in: mock, qemu-vtd, qemu-vtd-sc, qemu-vtd-sm, qemu-vtd-sm-sc, intel-client, arm-smmuv3, qemu-vtd-igb, amd-vi, qemu-smmuv3\) or file/);
  }
});

test('switches reach the hardware: VT-d addressWidth 48 (MGAW 47, 4-level SAGAW), the plain function\'s config space', () => {
  const e = new Engine({ platform: parsePlatform('{"base":"qemu-vtd","iommus":[{"kind":"vtd","addressWidth":48}]}', 'f') });
  const u = e.iommuUnits[0]!;
  assert.ok('secondStageWidth' in u);
  assert.deepEqual(u.secondStageWidth(), { vaszLg2: 48, aw: 2 });
  assert.equal((u.cap >> 16n) & 0x3fn, 47n);
  assert.deepEqual(new Engine({ platform: PLATFORMS['qemu-vtd']! }).iommuUnits.map((x) => (x as typeof u).secondStageWidth()), [{ vaszLg2: 39, aw: 1 }]);
  const ic = new Engine({ platform: PLATFORMS['intel-client']! });
  const igpu = ic.vfioDevices[2]!.pci;
  const cfg = igpu.model.config;
  // vendor:device, class 030000, capability list -> PCI Express v2 root-complex integrated endpoint at 0x40
  assert.deepEqual([cfg.read(0, 4), cfg.read(8, 4), cfg.read(6, 2) & 0x10, cfg.read(0x34, 1), cfg.read(0x40, 4)], [0x9a498086, 0x03000000, 0x10, 0x40, 0x00920010]);
  assert.deepEqual(igpu.model.resources, []);
});
