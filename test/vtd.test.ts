// The qemu-vtd and qemu-vtd-sc platforms through the library: VFIO device
// cdevs of two e1000e NICs behind one VT-d unit, bound to an iommufd. Each
// rule is one the real kernel showed on the oracle's --vfio machine
// (shared/reference/coherency-measured.md, test/conformance/vfio_cdev*.golden).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, IommufdFile, SimProcess, errno as E, uapi as U, vfio as V, type VfioDeviceHandle } from '../src/lib/index.js';
import { PLATFORMS, type Platform } from '../src/hw/platform.js';
import { IntelVtd, VtdSecondStageDomain, QEMU_VTD_CAP, QEMU_VTD_ECAP, ECAP_SC, VTD_SS_PTE_R, VTD_SS_PTE_W, VTD_SS_PTE_SNP } from '../src/hw/intel-vtd.js';
import { E1000e } from '../src/hw/e1000e.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../src/hw/iommu.js';
import { errnoOf } from './lib/errno-of.js';
import { dmaCc, hwpt } from './lib/hwpt-checks.js';

const MiB = 1n << 20n;
const PAGE = 4096n;


interface Machine { f: IommufdFile; d0: VfioDeviceHandle; d1: VfioDeviceHandle; engine: Engine; }

function machine(platform: 'qemu-vtd' | 'qemu-vtd-sc' | Platform, bind = true): Machine {
  const engine = new Engine({ platform: typeof platform === 'string' ? PLATFORMS[platform]! : platform });
  const f = new IommufdFile(new SimProcess(), engine);
  const d0 = f.openVfioDevice(0), d1 = f.openVfioDevice(1);
  if (bind) { d0.bind(f); d1.bind(f); }
  return { f, d0, d1, engine };
}

/** IOMMU_GET_HW_INFO with a 40-byte buffer of 0xee: the answer and the buffer after. */
function hwInfo(f: IommufdFile, devId: number, o: { dataLen?: number; size?: number; flags?: number; type?: number } = {}) {
  const buf = f.proc.mmap(PAGE);
  f.proc.mm.write(buf, new Uint8Array(40).fill(0xee));
  const c = f.call(U.IOMMU_GET_HW_INFO, U.IommuHwInfo, {
    size: o.size ?? 40, flags: o.flags ?? 0, dev_id: devId, data_len: o.dataLen ?? 24, data_uptr: buf, in_data_type: o.type ?? 0,
    out_capabilities: 0x5a5an,
  });
  return { c, bytes: Buffer.from(f.proc.mm.read(buf, 40)).toString('hex') };
}

test('the platforms expose vfio0 and vfio1 (e1000e at 00:01.0 and 00:02.0), the mock platform none', () => {
  const e = new Engine({ platform: PLATFORMS['qemu-vtd']! });
  assert.deepEqual(e.paths(), ['/dev/iommu', '/dev/vfio/devices/vfio0', '/dev/vfio/devices/vfio1', '/dev/vfio/vfio', '/dev/vfio/1', '/dev/vfio/2']);
  assert.deepEqual(e.vfioDevices.map((d) => [d.pci.name, d.pci.vendorId, d.pci.deviceId]), [['0000:00:01.0', 0x8086, 0x10d3], ['0000:00:02.0', 0x8086, 0x10d3]]);
  assert.notEqual(e.vfioDevices[0]!.pci.group, e.vfioDevices[1]!.pci.group, 'each NIC in its own group');
  assert.deepEqual(new Engine().paths(), ['/dev/iommu', '/dev/vfio/vfio']);
  assert.equal(errnoOf(() => new Engine().open('/dev/vfio/devices/vfio0', new SimProcess().task)), E.ENOENT);
});

test('before bind every device ioctl but BIND is EINVAL', () => {
  const { d0 } = machine('qemu-vtd', false);
  assert.equal(errnoOf(() => d0.info()), E.EINVAL);
  assert.equal(errnoOf(() => d0.attach(1)), E.EINVAL);
  assert.equal(errnoOf(() => d0.detach()), E.EINVAL);
  assert.equal(d0.ioctlRaw(V.VFIO_CHECK_EXTENSION, new Uint8Array(8)).errno, E.EINVAL);
});

test('BIND: argsz, flags, token, fd resolution, E2BIG tail, once per device; devids 1 and 2', () => {
  const { f, d0, d1, engine } = machine('qemu-vtd', false);
  assert.equal(errnoOf(() => d0.bind(f, { argsz: 12 })), E.EINVAL);
  assert.equal(errnoOf(() => d0.bind(f, { flags: 2 })), E.EINVAL);
  assert.equal(errnoOf(() => d0.bind(f, { flags: V.VFIO_DEVICE_BIND_FLAG_TOKEN })), E.EFAULT, 'the token is read first');
  const uuid = f.proc.mmap(PAGE);
  assert.equal(errnoOf(() => d0.bind(f, { flags: V.VFIO_DEVICE_BIND_FLAG_TOKEN, tokenUuidPtr: uuid })), E.EINVAL, 'neither PF nor VF: no token');
  assert.equal(errnoOf(() => d0.bind(-1)), E.EINVAL);
  assert.equal(errnoOf(() => d0.bind(999)), E.EBADF);
  assert.equal(errnoOf(() => d0.bind(d1.fd)), E.EBADFD, 'an emulated file that is not an iommufd');
  const tail = V.VfioDeviceBindIommufd.encode({ argsz: 32, iommufd: f.fd });
  const withTail = new Uint8Array(32);
  withTail.set(tail);
  withTail[24] = 1;
  assert.equal(d0.ioctlRaw(V.VFIO_DEVICE_BIND_IOMMUFD, withTail).errno, E.E2BIG);
  withTail[24] = 0;
  const ok = d0.ioctlRaw(V.VFIO_DEVICE_BIND_IOMMUFD, withTail);
  assert.equal(ok.errno, 0);
  assert.equal(V.VfioDeviceBindIommufd.decode(ok.out).out_devid, 1);
  assert.equal(errnoOf(() => d0.bind(f)), E.EINVAL, 'already bound');
  // A second open of vfio0 cannot bind while the first is bound (the cdev path opens a device once).
  const again = new IommufdFile(f.proc, engine);
  const d0b = again.openVfioDevice(0);
  assert.equal(errnoOf(() => d0b.bind(again)), E.EINVAL);
  assert.equal(d1.bind(f, { argsz: 16 }), 2);
  assert.deepEqual(d0.info(), { flags: V.VFIO_DEVICE_FLAGS_PCI | V.VFIO_DEVICE_FLAGS_RESET, numRegions: 9, numIrqs: 5 });
  assert.equal(errnoOf(() => f.destroy(1)), E.EBUSY, 'a bound device ID');
  // the binding holds DMA ownership of the group
  assert.equal(engine.vfioDevices[0]!.pci.group.dmaOwner, f.ctx);
});

test('GET_HW_INFO: VT-d type 1, 24 bytes (errata flag, qemu CAP, ECAP with SC per platform), caps 0x8, zero-filled tail, 32-byte callers', () => {
  for (const [platform, ecap] of [['qemu-vtd', 0xf00f4an], ['qemu-vtd-sc', 0xf00fcan]] as const) {
    const { f } = machine(platform);
    const le = (v: bigint) => Buffer.from(new BigUint64Array([v]).buffer).toString('hex');
    const payload = '0100000000000000' + le(QEMU_VTD_CAP) + le(ecap);
    let r = hwInfo(f, 1);
    assert.deepEqual([r.c.out_data_type, r.c.data_len, r.c.out_max_pasid_log2, r.c.out_capabilities], [1, 24, 0, 0x8n]);
    assert.equal(r.bytes, payload + 'ee'.repeat(16));
    r = hwInfo(f, 1, { dataLen: 32 });
    assert.equal(r.c.data_len, 24);
    assert.equal(r.bytes, payload + '00'.repeat(8) + 'ee'.repeat(8), 'zero-filled past the 24 bytes');
    r = hwInfo(f, 1, { dataLen: 8 });
    assert.equal(r.bytes, '0100000000000000' + 'ee'.repeat(32));
    r = hwInfo(f, 1, { size: 32 });
    assert.equal(r.c.out_capabilities, 0x5a5an, 'a 32-byte struct has no out_capabilities to write');
    assert.equal(r.bytes, payload + 'ee'.repeat(16));
    r = hwInfo(f, 2, { flags: 1, type: 1 });
    assert.equal(r.c.out_data_type, 1);
    assert.equal(errnoOf(() => hwInfo(f, 1, { flags: 1, type: 2 })), E.EOPNOTSUPP, 'SMMUv3 type');
    assert.equal(errnoOf(() => hwInfo(f, 99)), E.ENOENT);
  }
});

test('attach: the MSI window is reserved (EADDRINUSE over a mapping), one automatic HWPT for both NICs, 39-bit aperture', () => {
  const { f, d0, d1 } = machine('qemu-vtd');
  const ioas = f.ioasAlloc();
  assert.equal(ioas, 3);
  const buf = f.proc.mmap(4n * MiB, { align: 2n * MiB });
  f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: 0xfee00000n });
  assert.equal(errnoOf(() => d0.attach(ioas)), E.EADDRINUSE);
  f.unmap(ioas, 0xfee00000n, PAGE);
  assert.equal(d0.attach(ioas, { argsz: 12 }), 4);
  assert.equal(d1.attach(ioas), 4, 'the second NIC shares the automatic HWPT');
  assert.deepEqual(f.iovaRanges(ioas), {
    ranges: [{ start: 0n, last: 0xfedfffffn }, { start: 0xfef00000n, last: (1n << 39n) - 1n }], alignment: PAGE,
  });
  f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 0x100000n });
  assert.equal(errnoOf(() => f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: 0xfee00000n })), E.EINVAL);
  f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: (1n << 39n) - PAGE });
  assert.equal(errnoOf(() => f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: 1n << 39n })), E.EINVAL);
  const dom = hwpt(f, 4).domain as VtdSecondStageDomain;
  assert.ok(dom instanceof VtdSecondStageDomain);
  assert.equal(dom.pgsizeBitmap, 0x40201000n, '4K, 2M, 1G as VFIO_IOMMU_GET_INFO reports');
  assert.equal(dom.iovaToPhys(0x100000n) !== undefined, true);
  // argument rules
  assert.equal(errnoOf(() => d0.attach(99)), E.ENOENT);
  assert.equal(errnoOf(() => d0.attach(1)), E.EINVAL, 'a device ID');
  assert.equal(errnoOf(() => d0.attach(ioas, { argsz: 8 })), E.EINVAL);
  assert.equal(errnoOf(() => d0.attach(ioas, { flags: 2 })), E.EINVAL);
  assert.equal(errnoOf(() => d0.attach(ioas, { pasid: 0 })), E.EBUSY, 'PASID 0 is the plain attachment, already there');
  assert.equal(errnoOf(() => d0.attach(ioas, { pasid: 0, argsz: 12 })), E.EINVAL, 'argsz must cover pasid');
});

test('HWPT_ALLOC on VT-d legacy mode: flags 0 and PASID work; NEST_PARENT, DIRTY_TRACKING, user data EOPNOTSUPP; nesting on an automatic HWPT EINVAL', () => {
  const { f, d0, d1 } = machine('qemu-vtd');
  const ioas = f.ioasAlloc();
  const auto = d0.attach(ioas);
  const h = f.hwptAlloc({ devId: 1, ptId: ioas });
  assert.equal(h, 5);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: 1, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT })), E.EOPNOTSUPP);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: 1, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING })), E.EOPNOTSUPP);
  assert.equal(f.hwptAlloc({ devId: 1, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_PASID }), 6);
  const s1 = new Uint8Array(32);
  s1[24] = 48; // addr_width
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: 1, ptId: ioas, dataType: 1, data: s1 })), E.EOPNOTSUPP, 'VTD_S1 data on an IOAS');
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: 1, ptId: auto, dataType: 1, data: s1 })), E.EINVAL, 'nested on an automatic HWPT');
  // both NICs attach to the explicit HWPT; re-attaching to the IOAS makes a new automatic one
  assert.equal(d0.attach(h), h);
  assert.equal(f.object(auto), undefined, 'the automatic HWPT went with its last device');
  assert.equal(d1.attach(h), h);
  assert.equal(d0.attach(ioas), 4, 'automatic choice never takes a user-made HWPT (ID 4 is free again)');
});

test('enforce cache coherency: SC=1 makes every paging HWPT enforcing, SC=0 none; DMA_CC_IOMMU follows', () => {
  for (const [platform, enforcing] of [['qemu-vtd', false], ['qemu-vtd-sc', true]] as const) {
    const { f, d0, d1 } = machine(platform);
    const ioas = f.ioasAlloc();
    assert.equal(dmaCc(f), -E.ENODEV, 'no compat IOAS');
    f.call(U.IOMMU_VFIO_IOAS, U.IommuVfioIoas, { ioas_id: ioas, op: U.IOMMU_VFIO_IOAS_SET });
    assert.equal(dmaCc(f), 1, 'no HWPT yet');
    const auto = d0.attach(ioas);
    d1.attach(ioas);
    const explicit = f.hwptAlloc({ devId: 1, ptId: ioas });
    for (const id of [auto, explicit]) {
      assert.equal(hwpt(f, id).enforceCacheCoherency, enforcing, `${platform} HWPT ${id}`);
      assert.equal((hwpt(f, id).domain as VtdSecondStageDomain).enforcing, enforcing);
    }
    assert.equal(dmaCc(f), enforcing ? 1 : 0);
    d0.detach(); d1.detach();
    assert.equal(dmaCc(f), enforcing ? 1 : 0, 'the explicit HWPT, attached to nothing');
    f.destroy(explicit);
    assert.equal(dmaCc(f), 1, 'the automatic HWPT was freed by the last detach');
  }
});

test('SNP: an enforcing domain sets bit 11 on entries written after enforcing, never on older ones', () => {
  const unit = new IntelVtd({ snoopControl: true });
  const nic = new E1000e({ bdf: { domain: 0, bus: 0, device: 3, fn: 0 }, iommu: unit });
  const d = new VtdSecondStageDomain(unit, false);
  d.attachDev(nic);
  const rwc = IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE;
  d.map(0x1000n, 0x40000n, 2n * PAGE, rwc);
  assert.equal(d.enforceCacheCoherency(), true);
  d.map(0x10000n, 0x80000n, PAGE, IOMMU_READ | IOMMU_CACHE);
  assert.equal(d.pte(0x2000n), 0x41000n | VTD_SS_PTE_R | VTD_SS_PTE_W, 'written before: no SNP');
  assert.equal(d.pte(0x10000n), 0x80000n | VTD_SS_PTE_R | VTD_SS_PTE_SNP, 'written after: SNP');
  assert.equal(d.snoops(0x1000n), false);
  assert.equal(d.snoops(0x10000n), true);
  // a split keeps each piece's attribute
  d.unmap(0x1000n, PAGE);
  assert.equal(d.pte(0x2000n)! & VTD_SS_PTE_SNP, 0n);
  assert.equal(d.pte(0x1000n), undefined);
  assert.equal(errnoOf(() => d.map(0x20000n, 0x90000n, PAGE, IOMMU_CACHE)), E.EINVAL, 'neither R nor W');
  // without SC on some attached unit, the domain cannot enforce
  const plain = new IntelVtd({ index: 1, snoopControl: false });
  const d2 = new VtdSecondStageDomain(plain, false);
  d2.attachDev(new E1000e({ bdf: { domain: 0, bus: 1, device: 0, fn: 0 }, iommu: plain }));
  assert.equal(d2.enforceCacheCoherency(), false);
  d2.map(0n, 0n, PAGE, rwc);
  assert.equal(d2.pte(0n)! & VTD_SS_PTE_SNP, 0n);
});

test('SNP through iommufd: the SC platform maps with SNP, the other without', () => {
  for (const [platform, snp] of [['qemu-vtd', 0n], ['qemu-vtd-sc', VTD_SS_PTE_SNP]] as const) {
    const { f, d0 } = machine(platform);
    const ioas = f.ioasAlloc();
    const buf = f.proc.mmap(MiB);
    f.map({ ioasId: ioas, userVa: buf, length: MiB, iova: 0x100000n });
    const h = d0.attach(ioas);
    f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: 0x400000n });
    const dom = hwpt(f, h).domain as VtdSecondStageDomain;
    // the fill at attach and the later map both come after enforcement (made at allocation)
    assert.equal(dom.pte(0x100000n)! & VTD_SS_PTE_SNP, snp);
    assert.equal(dom.pte(0x400000n)! & VTD_SS_PTE_SNP, snp);
    assert.equal(dom.pte(0x100000n)! & (VTD_SS_PTE_R | VTD_SS_PTE_W), VTD_SS_PTE_R | VTD_SS_PTE_W);
  }
});

test('a device on a unit without SC cannot join an enforcing HWPT (EINVAL); automatic attach makes it a new one', () => {
  const base = PLATFORMS['qemu-vtd-sc']!;
  const { f, d0, engine } = machine({ ...base, name: 'two-units', iommus: [{ kind: 'vtd', snoopControl: true, addressWidth: 39 }, { kind: 'vtd', snoopControl: false, addressWidth: 39 }] });
  const plainUnit = new IntelVtd({ index: 1, cap: QEMU_VTD_CAP, ecap: QEMU_VTD_ECAP });
  assert.equal(plainUnit.ecap & ECAP_SC, 0n);
  const nic = engine.plugVfioDevice(new E1000e({ bdf: { domain: 0, bus: 1, device: 0, fn: 0 }, iommu: plainUnit }));
  const d2 = f.openVfioDevice(nic.index);
  const dev2 = d2.bind(f);
  assert.equal(dev2, 3);
  const ioas = f.ioasAlloc();
  const enforcingHwpt = d0.attach(ioas);
  assert.equal(hwpt(f, enforcingHwpt).enforceCacheCoherency, true);
  assert.equal(errnoOf(() => d2.attach(enforcingHwpt)), E.EINVAL);
  const other = d2.attach(ioas);
  assert.notEqual(other, enforcingHwpt, 'the incompatible automatic HWPT is skipped');
  assert.equal(hwpt(f, other).enforceCacheCoherency, false);
  // the reverse is allowed: a capable device may join a non-enforcing HWPT
  assert.equal(d0.attach(other), other);
  f.call(U.IOMMU_VFIO_IOAS, U.IommuVfioIoas, { ioas_id: ioas, op: U.IOMMU_VFIO_IOAS_SET });
  assert.equal(dmaCc(f), 0);
});

test('DESTROY: device, attached HWPT and IOAS in use are EBUSY; the automatic HWPT is gone after the last detach; an unattached explicit HWPT keeps its IOAS', () => {
  const { f, d0, d1 } = machine('qemu-vtd');
  const ioas = f.ioasAlloc();
  const auto = d0.attach(ioas);
  d1.attach(ioas);
  assert.equal(errnoOf(() => f.destroy(1)), E.EBUSY);
  assert.equal(errnoOf(() => f.destroy(auto)), E.EBUSY);
  assert.equal(errnoOf(() => f.destroy(ioas)), E.EBUSY);
  d0.detach();
  assert.equal(errnoOf(() => f.destroy(auto)), E.EBUSY, 'vfio1 still on it');
  d1.detach({ argsz: 8 });
  d1.detach(); // detaching again is fine
  assert.equal(errnoOf(() => f.destroy(auto)), E.ENOENT, 'the detach freed it');
  const h = f.hwptAlloc({ devId: 1, ptId: ioas });
  assert.equal(errnoOf(() => f.destroy(ioas)), E.EBUSY, 'an explicit HWPT holds the IOAS');
  assert.equal(errnoOf(() => d0.detach({ argsz: 4 })), E.EINVAL);
  assert.equal(errnoOf(() => d0.detach({ flags: 2 })), E.EINVAL);
  d0.detach({ pasid: 0 });
  f.destroy(h);
  f.destroy(ioas);
});

test('replace: across HWPTs and IOASes; the old automatic HWPT goes', () => {
  const { f, d0 } = machine('qemu-vtd');
  const ioas = f.ioasAlloc();
  const auto = d0.attach(ioas);
  const ioas2 = f.ioasAlloc();
  const auto2 = d0.attach(ioas2);
  assert.notEqual(auto2, auto);
  assert.equal(f.object(auto), undefined);
  assert.deepEqual(f.iovaRanges(ioas).ranges, [{ start: 0n, last: (1n << 64n) - 1n }], 'the old IOAS lost the reservations');
  assert.equal(f.iovaRanges(ioas2).ranges.length, 2);
});

test('close unbinds: attachments go, the device ID is freed, the device can be bound again', () => {
  const { f, d0, d1 } = machine('qemu-vtd');
  const ioas = f.ioasAlloc();
  const auto = d0.attach(ioas);
  d0.close();
  assert.equal(errnoOf(() => f.destroy(1)), E.ENOENT);
  assert.equal(f.object(auto), undefined, 'its automatic HWPT went with it');
  d1.attach(ioas);
  d1.close();
  assert.equal([...f.ctx.objects.objects()].map((o) => o.type).join(), 'IOAS');
  const again = f.openVfioDevice(0);
  assert.equal(again.bind(f), 1, 'lowest free ID');
});

test('region and IRQ info as vfio-pci reports them for the e1000e', () => {
  const { d0 } = machine('qemu-vtd');
  const R = V.VfioRegionInfo;
  const region = (index: number, argsz = 64) => {
    const r = d0.ioctlRaw(V.VFIO_DEVICE_GET_REGION_INFO, R.encode({ argsz, index }).subarray(0, 32));
    if (r.errno) return r.errno;
    const c = R.decode(r.out);
    return [c.flags, c.size, c.offset, c.cap_offset, c.argsz];
  };
  assert.deepEqual(region(0), [0x7, 0x20000n, 0n, 0, 64]);
  assert.deepEqual(region(2), [0x3, 0x20n, 2n << 40n, 0, 64]);
  assert.deepEqual(region(3), [0xf, 0x4000n, 3n << 40n, 32, 64], 'the MSI-X BAR has the MSIX_MAPPABLE capability');
  assert.deepEqual(region(3, 32), [0xf, 0x4000n, 3n << 40n, 0, 40], 'no room: argsz says how much');
  assert.deepEqual(region(7), [0x3, 0x1000n, 7n << 40n, 0, 64]);
  assert.equal(region(8), E.EINVAL, 'no VGA');
  assert.equal(region(0, 16), E.EINVAL);
  const irqs = [0, 1, 2, 3, 4].map((index) => V.VfioIrqInfo.decode(d0.ioctlRaw(V.VFIO_DEVICE_GET_IRQ_INFO, V.VfioIrqInfo.encode({ argsz: 16, index })).out));
  assert.deepEqual(irqs.map((q) => [q.flags, q.count]), [[0x7, 1], [0x9, 1], [0x1, 5], [0x9, 1], [0x9, 1]]);
  assert.equal(d0.ioctlRaw(V.VFIO_DEVICE_GET_IRQ_INFO, V.VfioIrqInfo.encode({ argsz: 16, index: 5 })).errno, E.EINVAL);
  assert.equal(d0.ioctlRaw(V.VFIO_DEVICE_RESET, new Uint8Array(8)).rc, 0);
  assert.equal(d0.ioctlRaw(V.VFIO_CHECK_EXTENSION, new Uint8Array(8)).errno, E.ENOTTY, 'not a device ioctl once bound');
});

test('PASID attach (measured on e1000e): PASID 0 is the plain attachment; other PASIDs need a PASID HWPT', () => {
  const { f, d0 } = machine('qemu-vtd');
  const ioas = f.ioasAlloc();
  const plain = f.hwptAlloc({ devId: 1, ptId: ioas });
  const pasidHwpt = f.hwptAlloc({ devId: 1, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_PASID });
  assert.equal(errnoOf(() => d0.attach(ioas, { pasid: 1 })), E.EINVAL, 'an IOAS');
  assert.equal(errnoOf(() => d0.attach(plain, { pasid: 1 })), E.EINVAL, 'a HWPT without ALLOC_PASID');
  assert.equal(errnoOf(() => d0.attach(99, { pasid: 1 })), E.ENOENT);
  // The e1000e has no PASIDs (max_pasids 0): the core skips its range check and set_dev_pasid.
  assert.equal(d0.attach(pasidHwpt, { pasid: 1 }), pasidHwpt, 'a PASID-capable HWPT attaches');
  assert.equal(d0.attach(pasidHwpt, { pasid: 1 }), pasidHwpt, 'again: VFIO replaces a PASID it attached');
  assert.equal(errnoOf(() => d0.attach(ioas, { pasid: 0 })), E.EINVAL, 'with a PASID attached the device itself needs a PASID-capable HWPT');
  assert.equal(errnoOf(() => f.destroy(pasidHwpt)), E.EBUSY);
  d0.detach({ pasid: 1 });
  assert.equal(f.ctx.objects.peek(ioas)!.type, 'IOAS', 'nothing left behind');
  // PASID 0 through the PASID form: attach, replace, detach (the plain form then has nothing to detach)
  const auto = d0.attach(ioas, { pasid: 0 });
  assert.equal(d0.attach(plain, { pasid: 0 }), plain);
  assert.equal(f.object(auto), undefined);
  assert.equal(errnoOf(() => d0.attach(ioas)), E.EBUSY, 'the plain form sees the device attached');
  d0.detach();
  assert.equal(errnoOf(() => f.destroy(plain)), E.EBUSY, 'the plain detach left the PASID 0 attachment');
  d0.detach({ pasid: 5 });
  d0.detach({ pasid: 0 });
  f.destroy(plain);
});

test('VFIO_DEVICE_FEATURE: header rules, then ENOTTY (no migration or logging ops)', () => {
  const { d0 } = machine('qemu-vtd');
  const feat = (argsz: number, flags: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, argsz, true);
    new DataView(b.buffer).setUint32(4, flags, true);
    return d0.ioctlRaw(V.VFIO_DEVICE_FEATURE, b).errno;
  };
  assert.equal(feat(4, 1 << 17), E.EINVAL);
  assert.equal(feat(8, 1 << 19), E.EINVAL, 'unknown flag');
  assert.equal(feat(8, (1 << 16) | (1 << 17)), E.EINVAL, 'GET and SET without PROBE');
  assert.equal(feat(8, 1 << 17), E.ENOTTY, 'measured: GET of feature 0');
  assert.equal(feat(8, (1 << 18) | 1), E.ENOTTY, 'PROBE of migration');
});
