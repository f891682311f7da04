// The qemu-smmuv3 platform mirrors the oracle's --arm machine (qemu-system-
// aarch64 virt, iommu=smmuv3, booted through UEFI/ACPI; oracle/README.md):
// one SMMUv3 with QEMU 7.2's ID registers as measured by the bare-metal
// probe oracle/guest/arm-smmu-idr.c (GET_HW_INFO copies them out raw:
// arm_smmu_hw_info), coherent by IORT's COHACC override, a root complex
// without CANWBS (qemu's IORT sets CCA, CPM and DACS only, as the probe
// oracle/guest/arm-iort.c printed it), and two e1000e at 00:01.0 and
// 00:02.0. The client-visible side is in the goldens arm_cdev, arm_group
// and arm_sysfs (test/conformance/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, IommufdFile, SimProcess, errno as E, uapi as U } from '../src/lib/index.js';
import { PLATFORMS } from '../src/hw/platform.js';
import { ArmSmmuV3, SmmuDomain } from '../src/hw/arm-smmu-v3.js';
import { IommuHwInfoArmSmmuv3 } from '../src/uapi/iommufd.js';
import { errnoOf } from './lib/errno-of.js';
import { dmaCc, hwpt } from './lib/hwpt-checks.js';

function open() {
  const engine = new Engine({ platform: PLATFORMS['qemu-smmuv3']! });
  const f = new IommufdFile(new SimProcess(), engine);
  return { engine, f, devs: engine.vfioDevices.map((_, i) => f.openVfioDevice(i)) };
}

test('qemu-smmuv3: two e1000e at 00:01.0 and 00:02.0, groups 1 and 2, behind one coherent SMMU without CANWBS', () => {
  const { engine } = open();
  assert.deepEqual(engine.vfioDevices.map((d) => [d.path, d.pci.name, d.pci.vendorId.toString(16), d.pci.deviceId.toString(16), d.pci.group.id]), [
    ['/dev/vfio/devices/vfio0', '0000:00:01.0', '8086', '10d3', 1],
    ['/dev/vfio/devices/vfio1', '0000:00:02.0', '8086', '10d3', 2],
  ]);
  for (const d of engine.vfioDevices) {
    assert.ok(d.pci.driver instanceof ArmSmmuV3);
    assert.equal(d.pci.driver.capable(d.pci, 'CACHE_COHERENCY'), true);
    assert.equal(d.pci.driver.capable(d.pci, 'ENFORCE_CACHE_COHERENCY'), false);
  }
});

test('qemu-smmuv3: GET_HW_INFO is QEMU 7.2\'s SMMUv3 registers (type 2, 40 bytes)', () => {
  const { f, devs } = open();
  const id = devs[0]!.bind(f);
  const buf = f.proc.mmap(4096n);
  f.proc.mm.write(buf, new Uint8Array(48).fill(0xee));
  const c = f.call(U.IOMMU_GET_HW_INFO, U.IommuHwInfo, {
    size: 40, flags: 0, dev_id: id, data_len: 48, data_uptr: buf, in_data_type: 0, out_capabilities: 0n,
  });
  assert.deepEqual([c.out_data_type, c.data_len], [U.IOMMU_HW_INFO_TYPE_ARM_SMMUV3, 40]);
  const got = IommuHwInfoArmSmmuv3.decode(f.proc.mm.read(buf, 40));
  // measured: IDR0 S1P only (no S2P, no VMID16), IDR3 HAD|RIL|BBML=2 (no XNX without stage 2), IDR5 OAS 44 + 4K/16K/64K
  assert.deepEqual([...got.idr], [0x0d40101a, 0x02730010, 0, 0x00001404, 0, 0x00000074]);
  assert.deepEqual([got.flags, got.__reserved, got.iidr, got.aidr], [0, 0, 0, 1]);
  assert.equal(Buffer.from(f.proc.mm.read(buf + 40n, 8)).toString('hex'), '00'.repeat(8), 'zero-filled up to data_len');
});

test('qemu-smmuv3: stage-1 domains only, shared by both NICs, never enforcing (DMA_CC_IOMMU 0)', () => {
  const { f, devs } = open();
  const id0 = devs[0]!.bind(f);
  devs[1]!.bind(f);
  const ioas = f.ioasAlloc();
  const h = devs[0]!.attach(ioas);
  assert.equal(devs[1]!.attach(ioas), h, 'the second NIC joins the first one\'s automatic HWPT');
  const dom = hwpt(f, h).domain;
  assert.ok(dom instanceof SmmuDomain && dom.stage === 1 && !dom.enforcing);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: id0, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT })), E.EOPNOTSUPP, 'no stage 2: no nest parent');
  f.call(U.IOMMU_VFIO_IOAS, U.IommuVfioIoas, { ioas_id: ioas, op: U.IOMMU_VFIO_IOAS_SET });
  assert.equal(dmaCc(f), 0);
});
