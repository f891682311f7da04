// Everything mutable of a machine belongs to its engine: two engines in one
// process number their devices and groups alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openIommufd, Engine, IommufdFile } from '../src/lib/index.js';
import { PLATFORMS } from '../src/hw/platform.js';
import type { IommufdDevice } from '../src/core/device.js';

function mockDevice(f: IommufdFile): IommufdDevice {
  const ioas = f.ioasAlloc();
  const { idevId } = f.mockDomain(ioas);
  return f.object(idevId) as IommufdDevice;
}

test('two engines share no mock device names or group ids', () => {
  const a = openIommufd(), b = openIommufd();
  const da = mockDevice(a);
  const db = mockDevice(b);
  assert.equal(da.dev.name, db.dev.name, 'each engine names its first mock device alone');
  assert.equal(da.dev.group.id, db.dev.group.id);
  assert.notEqual(da.dev.group, db.dev.group);
  assert.notEqual(mockDevice(a).dev.name, da.dev.name, 'a second device of one engine gets the next name');
});

test('two engines on one platform number their PCI groups alone, as the oracle measured them', () => {
  const platform = PLATFORMS['qemu-vtd']!;
  const groups = () => new Engine({ platform }).vfioDevices.map((d) => d.pci.group.id);
  assert.deepEqual(groups(), [1, 2]);
  assert.deepEqual(groups(), [1, 2], 'a second engine starts again at group 1');
});
