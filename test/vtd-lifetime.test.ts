// The iommufd file stays alive while a VFIO device is bound to it (the
// device holds the file, as iommufd_ctx_get does), and goes when it unbinds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IommufdFile, SimProcess, Engine } from '../src/lib/index.js';
import { PLATFORMS } from '../src/hw/platform.js';

test('closing the iommufd while a device is bound keeps every object until the device fd closes', () => {
  const engine = new Engine({ platform: PLATFORMS['qemu-vtd']! });
  const f = new IommufdFile(new SimProcess(), engine);
  const ioas = f.ioasAlloc();
  const dev = f.openVfioDevice(0);
  const devid = dev.bind(f.fd);
  const hwpt = dev.attach(ioas);
  f.close();
  assert.ok(f.object(devid), 'device still there');
  assert.ok(f.object(hwpt), 'HWPT still there');
  assert.equal(f.ctx.objects.empty, false);
  dev.close();
  assert.equal(f.ctx.objects.empty, true, 'the unbind released the closed file');
});
