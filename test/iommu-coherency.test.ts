// The coherency contract of each IOMMU, table-driven from the kernel's rules
// (drivers/iommu/iommufd/device.c, hw_pagetable.c; intel/, amd/, arm-smmu-v3/,
// io-pgtable-arm.c, generic_pt/fmt/amdv1.h) on the built-in platforms:
//   bind          iommufd refuses a device without IOMMU_CAP_CACHE_COHERENCY (EINVAL):
//                 only a non-coherent SMMU's devices.
//   GET_HW_INFO   VT-d type 1 (24 bytes), SMMUv3 type 2 (40: flags, __reserved,
//                 idr[6], iidr, aidr), AMD type 4 (16: efr, efr2).
//   sharing       a device that can enforce makes its automatic HWPT enforcing;
//                 one that cannot is refused by an enforcing domain (EINVAL) and
//                 gets a HWPT of its own; it may join a non-enforcing one.
//   PTE bits      VT-d SNP (11) only in enforcing domains; AMD FC (60) always;
//                 SMMU cacheable attributes from IOMMU_CACHE, enforcement changes none.
//   DMA_CC_IOMMU  the compat container answers 1 only when every HWPT enforces.
// The oracle goldens that back each row in the form qemu can show it:
//   VT-d    vfio_cdev, vfio_cdev_sc (legacy); vtd_sm_cdev, vtd_sm_cdev_sc,
//           vtd_sm_nest (scalable mode, PGSNP)
//   AMD     amd_cdev, amd_group (coherent, enforcing, 16 bytes of hw info)
//   SMMUv3  arm_cdev, arm_group (qemu's SMMU is coherent: bind succeeds; its
//           root complex has no CANWBS in IORT: no domain enforces and
//           DMA_CC_IOMMU reads 0; 40 bytes of hw info)
// Non-coherent SMMUs, CANWBS and two VT-d units cannot be shown on qemu: they
// follow from the kernel's code as cited in hw/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, IommufdFile, SimProcess, errno as E, uapi as U, vfio as V } from '../src/lib/index.js';
import { PLATFORMS, parsePlatform, type Platform } from '../src/hw/platform.js';
import { VtdSecondStageDomain, VTD_SS_PTE_SNP } from '../src/hw/intel-vtd.js';
import { AmdV1Domain, AmdVi, AMD_IOMMU_PGSIZES } from '../src/hw/amd-vi.js';
import { ArmSmmuV3, SmmuDomain, smmuV3Idr } from '../src/hw/arm-smmu-v3.js';
import { AMDV1PT_FMT_FC, AMDV1PT_FMT_IR, AMDV1PT_FMT_IW, AMDV1PT_FMT_PR } from '../src/hw/io-pgtable-amdv1.js';
import { lpaeProtToPte } from '../src/hw/io-pgtable-arm.js';
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_READ, IOMMU_WRITE } from '../src/hw/iommu.js';
import { IommuHwInfoArmSmmuv3 } from '../src/uapi/iommufd.js';
import { errnoOf } from './lib/errno-of.js';
import { dmaCc, hwpt } from './lib/hwpt-checks.js';

const PAGE = 4096n;
const IOVA = 0x100000n;
const RW = IOMMU_READ | IOMMU_WRITE;

/** One SMMU with a CANWBS root complex (segment 0, vfio0) and one without (segment 1, vfio1). */
const ARM_MIXED = parsePlatform(JSON.stringify({
  name: 'arm-mixed', iommus: [{ kind: 'smmuv3', coherent: true }],
  rootComplexes: [{ segment: 0, canwbs: true }, { segment: 1, canwbs: false }],
  functions: [{ model: 'e1000e', bdf: '0000:00:01.0' }, { model: 'e1000e', bdf: '0001:00:01.0' }],
}), 'arm-mixed');

function open(platform: string | Platform) {
  const engine = new Engine({ platform: typeof platform === 'string' ? PLATFORMS[platform]! : platform });
  const f = new IommufdFile(new SimProcess(), engine);
  const devs = engine.vfioDevices.map((_, i) => f.openVfioDevice(i));
  return { engine, f, devs };
}

function hwInfo(f: IommufdFile, devId: number, type = 0) {
  const buf = f.proc.mmap(PAGE);
  f.proc.mm.write(buf, new Uint8Array(48).fill(0xee));
  const c = f.call(U.IOMMU_GET_HW_INFO, U.IommuHwInfo, {
    size: 40, flags: type ? 1 : 0, dev_id: devId, data_len: 48, data_uptr: buf, in_data_type: type, out_capabilities: 0n,
  });
  return { type: c.out_data_type, len: c.data_len, caps: c.out_capabilities, bytes: f.proc.mm.read(buf, 48) };
}

const le64 = (v: bigint) => Buffer.from(new BigUint64Array([v]).buffer).toString('hex');

test('bind: refused (EINVAL) exactly for devices of a non-coherent SMMU', () => {
  const table: Array<[string | Platform, number[]]> = [
    ['qemu-vtd', [0, 0]], ['intel-client', [0, 0, 0]], ['amd-vi', [0, 0]], ['arm-smmuv3', [0, E.EINVAL]], [ARM_MIXED, [0, 0]],
  ];
  for (const [p, want] of table) {
    const { f, devs } = open(p);
    assert.deepEqual(devs.map((d) => errnoOf(() => d.bind(f))), want, typeof p === 'string' ? p : p.name);
  }
  // The refusal leaves the group unowned and the device bindable by nobody else either.
  const { f, devs, engine } = open('arm-smmuv3');
  assert.equal(errnoOf(() => devs[1]!.bind(f)), E.EINVAL);
  assert.equal(engine.vfioDevices[1]!.pci.group.dmaOwner, undefined);
});

test('GET_HW_INFO: type and bytes per IOMMU; PCI_ATS_NOT_SUPPORTED for NICs without ATS; other types EOPNOTSUPP', () => {
  // AMD: struct iommu_hw_info_amd, qemu's EFR, no EFR2.
  {
    const { f, devs } = open('amd-vi');
    devs[0]!.bind(f);
    const r = hwInfo(f, 1);
    assert.deepEqual([r.type, r.len, r.caps], [U.IOMMU_HW_INFO_TYPE_AMD, 16, BigInt(U.IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED)]);
    assert.equal(Buffer.from(r.bytes).toString('hex'), le64(0x29d3n) + le64(0n) + '00'.repeat(32), 'zero-filled past 16 bytes');
    assert.equal(hwInfo(f, 1, U.IOMMU_HW_INFO_TYPE_AMD).type, 4);
    assert.equal(errnoOf(() => hwInfo(f, 1, U.IOMMU_HW_INFO_TYPE_INTEL_VTD)), E.EOPNOTSUPP);
  }
  // SMMUv3: IDR0..5, IIDR, AIDR as read.
  {
    const { f, devs } = open('arm-smmuv3');
    devs[0]!.bind(f);
    const r = hwInfo(f, 1);
    assert.deepEqual([r.type, r.len], [U.IOMMU_HW_INFO_TYPE_ARM_SMMUV3, 40]);
    const got = IommuHwInfoArmSmmuv3.decode(r.bytes.slice(0, 40));
    const want = smmuV3Idr({ coherent: true });
    assert.deepEqual({ flags: got.flags, reserved: got.__reserved, idr: [...got.idr], iidr: got.iidr, aidr: got.aidr },
      { flags: 0, reserved: 0, idr: want.idr, iidr: 0, aidr: 1 });
    // qemu smmuv3 (stage=nested): S2P|S1P|TTF=AArch64 (2<<2)|COHACC|ASID16|VMID16|TTENDIAN=LE|STALL_MODEL=1|TERM_MODEL|ST_LEVEL=2lvl
    assert.equal(got.idr[0], 0x0d44101b);
    assert.deepEqual([got.idr[1], got.idr[3], got.idr[5]], [0x02730010, 0x1414, 0x74]);
    assert.equal(Buffer.from(r.bytes.slice(40)).toString('hex'), '00'.repeat(8));
    assert.equal(errnoOf(() => hwInfo(f, 1, U.IOMMU_HW_INFO_TYPE_AMD)), E.EOPNOTSUPP);
    assert.equal(hwInfo(f, 1, U.IOMMU_HW_INFO_TYPE_ARM_SMMUV3).type, 2);
  }
  // Switches show in the registers: a non-coherent SMMU has no COHACC, S2FWB sets IDR3.FWB (and AIDR v3.2), OAS 48 is 5.
  assert.equal(smmuV3Idr({ coherent: false }).idr[0]! & 0x10, 0);
  assert.deepEqual(smmuV3Idr({ coherent: true, s2fwb: true, oas: 48 }), { idr: [0x0d44101b, 0x02730010, 0, 0x1514, 0, 0x75], iidr: 0, aidr: 2 });
  assert.equal(smmuV3Idr({ coherent: true, stage2: false }).idr[0], 0x0d40101a);
  // VT-d on the client machine: dmar0 has SC, dmar1 (the iGPU's) has not.
  {
    const { f, devs } = open('intel-client');
    for (const d of devs) d.bind(f);
    const ecap = (id: number) => new DataView(hwInfo(f, id).bytes.buffer).getBigUint64(16, true);
    assert.deepEqual([ecap(1) & 0x80n, ecap(2) & 0x80n, ecap(3) & 0x80n], [0x80n, 0x80n, 0n]);
    assert.equal(hwInfo(f, 3).type, U.IOMMU_HW_INFO_TYPE_INTEL_VTD);
  }
});

/** Attach each device of `order` to one IOAS: the HWPT each got and whether it enforces. */
function share(p: string | Platform, order: number[]) {
  const { f, devs } = open(p);
  for (const i of order) devs[i]!.bind(f);
  const ioas = f.ioasAlloc();
  const hwpts = order.map((i) => devs[i]!.attach(ioas));
  return { f, devs, ioas, hwpts, enforcing: hwpts.map((h) => hwpt(f, h).enforceCacheCoherency) };
}

test('automatic HWPT sharing and enforcement, per platform', () => {
  const table: Array<[string | Platform, number[], string, boolean[]]> = [
    // platform, attach order, which HWPT each device got (letters), enforcing per device
    ['qemu-vtd', [0, 1], 'aa', [false, false]],
    ['qemu-vtd-sc', [0, 1], 'aa', [true, true]],
    ['amd-vi', [0, 1], 'aa', [true, true]],
    // the iGPU's unit has no SC: the enforcing domain refuses it, it gets its own
    ['intel-client', [0, 1, 2], 'aab', [true, true, false]],
    // the iGPU first: its HWPT does not enforce, and VT-d domains are shared across compatible
    // units, so the SC devices join it (iommufd enforces only at allocation)
    ['intel-client', [2, 0, 1], 'aaa', [false, false, false]],
    ['arm-smmuv3', [0], 'a', [true]],
    // CANWBS master first: enforcing; the other master is refused and gets its own
    [ARM_MIXED, [0, 1], 'ab', [true, false]],
    // the other master first: not enforcing, and the CANWBS master may join it
    [ARM_MIXED, [1, 0], 'aa', [false, false]],
  ];
  for (const [p, order, letters, enforcing] of table) {
    const r = share(p, order);
    const ids = [...new Set(r.hwpts)];
    assert.equal(r.hwpts.map((h) => 'abc'[ids.indexOf(h)]).join(''), letters, `${typeof p === 'string' ? p : p.name} ${order}`);
    assert.deepEqual(r.enforcing, enforcing, `${typeof p === 'string' ? p : p.name} ${order}`);
  }
});

test('explicit attach of a device that cannot enforce to an enforcing HWPT is EINVAL (VT-d without SC, SMMU master without CANWBS)', () => {
  for (const [p, enforcer, other] of [['intel-client', 0, 2], [ARM_MIXED, 0, 1]] as const) {
    const { f, devs } = open(p);
    devs[enforcer]!.bind(f);
    devs[other]!.bind(f);
    const ioas = f.ioasAlloc();
    const h = f.hwptAlloc({ devId: 1, ptId: ioas });
    assert.equal(hwpt(f, h).enforceCacheCoherency, true, 'enforced at allocation for a capable device');
    assert.equal(errnoOf(() => devs[other]!.attach(h)), E.EINVAL);
    assert.equal(devs[enforcer]!.attach(h), h);
  }
});

test('PTE bits through iommufd: VT-d SNP only when enforcing, AMD FC always, SMMU S1 write-back inner-shareable either way', () => {
  const pte = (p: string | Platform, order: number[]) => {
    const r = share(p, order);
    const buf = r.f.proc.mmap(PAGE);
    r.f.map({ ioasId: r.ioas, userVa: buf, length: PAGE, iova: IOVA });
    return r.hwpts.map((h) => {
      const d = hwpt(r.f, h).domain as unknown as { pte(iova: bigint): bigint | undefined; iovaToPhys(iova: bigint): bigint | undefined };
      // The simulated frames are numbered past any format's address width (hw/memory.ts): the
      // entry holds what the format can.
      return { pte: d.pte(IOVA)!, pa: d.iovaToPhys(IOVA)! };
    });
  };
  for (const [p, snp] of [['qemu-vtd', 0n], ['qemu-vtd-sc', VTD_SS_PTE_SNP]] as const) {
    assert.equal(pte(p, [0])[0]!.pte & VTD_SS_PTE_SNP, snp, p);
  }
  const [amd] = pte('amd-vi', [0]);
  assert.equal(amd!.pte, (amd!.pa & ((1n << 52n) - 1n)) | AMDV1PT_FMT_PR | AMDV1PT_FMT_FC | AMDV1PT_FMT_IR | AMDV1PT_FMT_IW);
  // ARM: the enforcing HWPT (CANWBS master) and the non-enforcing one have the same attributes:
  // nG | AF | SH=IS | AP unprivileged | AttrIndx 1 (write-back) | page.
  const arm = pte(ARM_MIXED, [0, 1]);
  for (const e of arm) assert.equal(e.pte, (e.pa & ((1n << 48n) - 1n)) | 0xf47n);
});

test('io-pgtable-arm: IOMMU_CACHE selects AttrIndx 1 / MEMATTR write-back and inner shareability; S2FWB its own encoding', () => {
  const table: Array<[{ fmt: 'ARM_64_LPAE_S1' | 'ARM_64_LPAE_S2'; s2fwb?: boolean }, number, bigint]> = [
    [{ fmt: 'ARM_64_LPAE_S1' }, RW | IOMMU_CACHE, 0xf44n], // nG AF SH_IS UNPRIV AttrIndx=1
    [{ fmt: 'ARM_64_LPAE_S1' }, IOMMU_READ | IOMMU_CACHE, 0xfc4n], // + AP_RDONLY
    [{ fmt: 'ARM_64_LPAE_S1' }, RW, 0xe40n], // AttrIndx 0 (non-cacheable), SH_OS
    [{ fmt: 'ARM_64_LPAE_S1' }, RW | IOMMU_MMIO, 0xe48n], // AttrIndx 2 (device)
    [{ fmt: 'ARM_64_LPAE_S2' }, RW | IOMMU_CACHE, 0x7fcn], // AF SH_IS HAP=RW MEMATTR=0xf
    [{ fmt: 'ARM_64_LPAE_S2', s2fwb: true }, RW | IOMMU_CACHE, 0x7d8n], // MEMATTR=0x6 (FWB write-back)
    [{ fmt: 'ARM_64_LPAE_S2' }, IOMMU_READ, 0x654n], // SH_OS HAP=R MEMATTR=0x5 (non-cacheable)
    [{ fmt: 'ARM_64_LPAE_S2' }, RW | IOMMU_MMIO, 0x6c4n], // MEMATTR=0x1 (device)
  ];
  for (const [cfg, prot, want] of table) assert.equal(lpaeProtToPte(cfg, prot), want, `${cfg.fmt} ${cfg.s2fwb ?? ''} ${prot}`);
});

test('SMMU domains: stage 1 by default, stage 2 for nest parents (FWB with S2FWB), blocks and pages, enforcing changes no entry', () => {
  const smmu = new ArmSmmuV3({ coherent: true, s2fwb: true, oas: 48 });
  const dev = { name: 'd', driver: smmu, group: smmu.groupIds.alloc(true), isPci: true, maxPasidLog2: 0, reservedRegions: () => [] };
  const s1 = smmu.domainAllocPaging(dev) as SmmuDomain;
  assert.deepEqual([s1.stage, s1.apertureEnd, s1.pgsizeBitmap], [1, (1n << 48n) - 1n, (1n << 12n) | (1n << 21n) | (1n << 30n)]);
  s1.map(0x200000n, 0x40200000n, 0x201000n, RW | IOMMU_CACHE);
  assert.equal(s1.pte(0x300000n), 0x40200000n | 0xf45n, 'a 2 MiB block: type 1');
  assert.equal(s1.pte(0x400000n), 0x40400000n | 0xf47n, 'the 4 KiB tail: a page');
  smmu.probeMaster(dev, false);
  s1.attachDev(dev);
  assert.equal(s1.enforceCacheCoherency(), false);
  smmu.probeMaster(dev, true);
  const before = s1.pte(0x400000n);
  assert.equal(s1.enforceCacheCoherency(), true);
  assert.equal(s1.pte(0x400000n), before, 'enforcement writes nothing');
  const s2 = smmu.domainAllocPagingFlags!(dev, U.IOMMU_HWPT_ALLOC_NEST_PARENT, undefined) as SmmuDomain;
  s2.map(0n, 0x80000000n, PAGE, RW | IOMMU_CACHE);
  assert.deepEqual([s2.stage, s2.apertureEnd, s2.pte(0n)], [2, (1n << 48n) - 1n, 0x80000000n | 0x7dbn]);
  // An SMMU without S2FWB, or a plain stage-2 domain, uses MEMATTR 0xf.
  const s1only = new ArmSmmuV3({ coherent: true, stage1: false });
  const s2plain = s1only.domainAllocPaging({ ...dev, driver: s1only }) as SmmuDomain;
  s2plain.map(0n, 0x80000000n, PAGE, RW | IOMMU_CACHE);
  assert.deepEqual([s2plain.stage, s2plain.apertureEnd, s2plain.pte(0n)], [2, (1n << 44n) - 1n, 0x80000000n | 0x7ffn]);
  // Flags the kernel refuses.
  assert.equal(errnoOf(() => s1only.domainAllocPagingFlags(dev, U.IOMMU_HWPT_ALLOC_NEST_PARENT, undefined)), E.EOPNOTSUPP);
  assert.equal(errnoOf(() => s1only.domainAllocPagingFlags(dev, U.IOMMU_HWPT_ALLOC_PASID, undefined)), E.EOPNOTSUPP);
  assert.equal(errnoOf(() => smmu.domainAllocPagingFlags(dev, U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, undefined)), 0, 'S1 domain; the core checks DIRTY_TRACKING first');
  assert.equal(smmu.capable(dev, 'DIRTY_TRACKING'), false, 'no HTTU');
  // A domain of another SMMU is EINVAL.
  const other = new ArmSmmuV3({ coherent: true });
  assert.equal(errnoOf(() => s1.attachDev({ ...dev, driver: other })), E.EINVAL);
  assert.deepEqual(smmu.reservedRegionsOf(dev as never), [{ start: 0x8000000n, length: 0x100000n, type: 'SW_MSI' }]);
});

test('AMD v1: FC in every leaf, natural leaves NL=0, contiguous ones NL=7 with the size in the address; 64-bit aperture; flags', () => {
  const amd = new AmdVi({ efr: 0x29d3n });
  const dev = { name: 'd', driver: amd, group: amd.groupIds.alloc(true), isPci: true, maxPasidLog2: 0, reservedRegions: () => [] };
  const d = amd.domainAllocPaging(dev) as AmdV1Domain;
  assert.deepEqual([d.apertureEnd, d.pgsizeBitmap, amd.hptVasize], [(1n << 64n) - 1n, AMD_IOMMU_PGSIZES, 64]);
  assert.equal(d.pgsizeBitmap & (1n << 39n), 0n, 'no 512 GiB pages');
  const FLAGS = AMDV1PT_FMT_PR | AMDV1PT_FMT_FC | AMDV1PT_FMT_IR | AMDV1PT_FMT_IW;
  d.map(0x200000n, 0x40200000n, 0x200000n, RW | IOMMU_CACHE); // one 2 MiB leaf
  d.map(0x10000n, 0x50010000n, 0x2000n, IOMMU_READ | IOMMU_CACHE); // an 8 KiB contiguous leaf
  assert.equal(d.pte(0x2ff000n), 0x40200000n | FLAGS);
  assert.equal(d.pte(0x11000n), 0x50010000n | (7n << 9n) | AMDV1PT_FMT_PR | AMDV1PT_FMT_FC | AMDV1PT_FMT_IR);
  d.map(0x40000000n, 0x60000000n, 0x10000n, RW); // 64 KiB: address bits 12..14 set
  assert.equal(d.pte(0x40000000n), 0x60007000n | (7n << 9n) | FLAGS);
  assert.equal(d.enforceCacheCoherency(), true);
  assert.equal(d.enforcing, true);
  for (const fl of [U.IOMMU_HWPT_ALLOC_NEST_PARENT, U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, U.IOMMU_HWPT_ALLOC_PASID, 1 << 9]) {
    assert.equal(errnoOf(() => amd.domainAllocPagingFlags(dev, fl, undefined)), E.EOPNOTSUPP, `flags ${fl}`);
  }
  assert.deepEqual(amd.reservedRegionsOf(dev as never).map((r) => [r.start, r.length, r.type]),
    [[0xfee00000n, 0x100000n, 'MSI'], [0xfd00000000n, 0x300000000n, 'RESERVED']]);
  assert.equal(new AmdVi({ efr: 0x29d3n, efr2: 1n << 11n }).reservedRegionsOf(dev as never).length, 1, 'EFR2 HT_RANGE_IGNORE');
  assert.equal(new AmdVi({ efr: 0x1d3n }).hptVasize, 48, 'HATS 0: four levels');
});

test('VFIO_DMA_CC_IOMMU on the compat container: 1 only when every HWPT of the IOAS enforces', () => {
  const table: Array<[string | Platform, number[], number]> = [
    ['qemu-vtd', [0, 1], 0], ['qemu-vtd-sc', [0, 1], 1], ['amd-vi', [0, 1], 1],
    ['intel-client', [0, 1], 1], ['intel-client', [0, 1, 2], 0], ['arm-smmuv3', [0], 1],
    [ARM_MIXED, [0], 1], [ARM_MIXED, [0, 1], 0], [ARM_MIXED, [1, 0], 0],
  ];
  for (const [p, order, want] of table) {
    const r = share(p, order);
    r.f.call(U.IOMMU_VFIO_IOAS, U.IommuVfioIoas, { ioas_id: r.ioas, op: U.IOMMU_VFIO_IOAS_SET });
    assert.equal(dmaCc(r.f), want, `${typeof p === 'string' ? p : p.name} ${order}`);
  }
});

test('the devices appear as vfioN with their IDs and groups; hw domains are the driver\'s own', () => {
  const ic = new Engine({ platform: PLATFORMS['intel-client']! });
  assert.deepEqual(ic.vfioDevices.map((d) => [d.path, d.pci.name, d.pci.vendorId.toString(16), d.pci.classCode.toString(16), d.pci.group.id, d.pci.driver.name]), [
    ['/dev/vfio/devices/vfio0', '0000:00:01.0', '8086', '20000', 1, 'dmar0'],
    ['/dev/vfio/devices/vfio1', '0000:00:03.0', '8086', '10802', 2, 'dmar0'],
    ['/dev/vfio/devices/vfio2', '0000:00:02.0', '8086', '30000', 3, 'dmar1'],
  ]);
  const arm = new Engine({ platform: PLATFORMS['arm-smmuv3']! });
  assert.deepEqual(arm.vfioDevices.map((d) => [d.pci.name, d.pci.driver.name, d.pci.driver.capable(d.pci, 'CACHE_COHERENCY'), d.pci.driver.capable(d.pci, 'ENFORCE_CACHE_COHERENCY')]), [
    ['0000:00:01.0', 'smmu3.0', true, true], ['0001:00:01.0', 'smmu3.1', false, false],
  ]);
  const { f, devs } = open('amd-vi');
  devs[0]!.bind(f);
  const h = devs[0]!.attach(f.ioasAlloc());
  assert.ok(hwpt(f, h).domain instanceof AmdV1Domain);
  const vtd = open('intel-client');
  vtd.devs[2]!.bind(vtd.f);
  assert.ok(hwpt(vtd.f, vtd.devs[2]!.attach(vtd.f.ioasAlloc())).domain instanceof VtdSecondStageDomain);
  // the plain function: what vfio-pci reports
  const ep = vtd.devs[2]!;
  assert.deepEqual(ep.info(), { flags: V.VFIO_DEVICE_FLAGS_PCI, numRegions: 9, numIrqs: 5 });
});

test('vSMMU: offered only with nesting and a CANWBS master or S2FWB; the parent must be a nest parent of the same SMMU', () => {
  const viommu = (f: IommufdFile, devId: number, hwptId: number) =>
    f.call(U.IOMMU_VIOMMU_ALLOC, U.IommuViommuAlloc, { type: U.IOMMU_VIOMMU_TYPE_ARM_SMMUV3, dev_id: devId, hwpt_id: hwptId, data_len: 0, data_uptr: 0n }).out_viommu_id;
  const S2FWB = parsePlatform(JSON.stringify({
    iommus: [{ kind: 'smmuv3', s2fwb: true }], functions: [{ model: 'e1000e', bdf: '00:01.0' }],
  }), 's2fwb');
  const NO_STAGE1 = parsePlatform(JSON.stringify({
    iommus: [{ kind: 'smmuv3', stage1: false, s2fwb: true }], rootComplexes: [{ segment: 0, canwbs: true }], functions: [{ model: 'e1000e', bdf: '00:01.0' }],
  }), 'no-s1');
  // platform, device, errno of VIOMMU_ALLOC on a nest parent
  const table: Array<[Platform, number, number]> = [
    [ARM_MIXED, 0, 0], // CANWBS master
    [ARM_MIXED, 1, E.EOPNOTSUPP], // neither CANWBS nor S2FWB
    [S2FWB, 0, 0], // S2FWB, no CANWBS
  ];
  for (const [p, n, want] of table) {
    const { f, devs } = open(p);
    const devId = devs[n]!.bind(f);
    const parent = f.hwptAlloc({ devId, ptId: f.ioasAlloc(), flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    assert.equal(errnoOf(() => viommu(f, devId, parent)), want, `${p.name} vfio${n}`);
  }
  // Without stage 1 there is no nesting: no nest parent at all, and no vSMMU.
  const { f, devs } = open(NO_STAGE1);
  const devId = devs[0]!.bind(f);
  assert.equal(errnoOf(() => f.hwptAlloc({ devId, ptId: f.ioasAlloc(), flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT })), E.EOPNOTSUPP);
  // A plain (stage-1) HWPT is no parent: EINVAL from the core.
  const m = open(ARM_MIXED);
  const d0 = m.devs[0]!.bind(m.f);
  assert.equal(errnoOf(() => viommu(m.f, d0, m.f.hwptAlloc({ devId: d0, ptId: m.f.ioasAlloc() }))), E.EINVAL);
});
