// IOMMU_TEST_CMD ops meant for the mock driver's devices, given a VFIO
// function's device ID (found by the random generator, qemu-vtd-sc seed 302):
// DEV_CHECK_CACHE answers EINVAL for every cache ID, as for a cache that does
// not match (Linux compares kernel memory past the pci_dev there; see
// test/fuzz/check_cache_real_dev.c), never an internal error; TRIGGER_VEVENT
// finds no vIOMMU (ENOENT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, IommufdFile, SimProcess, testAbi as T } from '../src/lib/index.js';
import { PLATFORMS } from '../src/hw/platform.js';
import { errnoName } from '../src/lib/index.js';
import { errnoOf } from './lib/errno-of.js';

test('DEV_CHECK_CACHE and TRIGGER_VEVENT on a VFIO device', () => {
  const engine = new Engine({ platform: PLATFORMS['qemu-vtd']! });
  const f = new IommufdFile(new SimProcess(), engine);
  const d = f.openVfioDevice(0);
  const devId = d.bind(f);
  assert.ok(devId > 0);
  for (let id = 0; id <= 4; id++) {
    for (const cache of [0, 1, 0xffffffff]) {
      const e = errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_DEV_CHECK_CACHE, devId, T.IommuTestCmdCheckDevCache, { id, cache }));
      assert.equal(errnoName(e), 'EINVAL', `cache id ${id} value ${cache}`);
    }
  }
  const v = errnoOf(() => f.testCmd(T.IOMMU_TEST_OP_TRIGGER_VEVENT, 0, T.IommuTestCmdTriggerVevent, { dev_id: devId }));
  assert.equal(errnoName(v), 'ENOENT');
});
