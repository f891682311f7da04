// The coherency model per architecture: what a CPU store that is still in a
// dirty cache line looks like to a device's DMA, with and without No Snoop,
// and what KVM makes of the device, on each platform. The rules:
//   VT-d     SNP in the entries of an enforcing domain forces snooping; a unit
//            without SC cannot, so No Snoop reads memory's stale bytes.
//   AMD-Vi   FC in every entry: always snooped.
//   SMMUv3   IOMMU_CACHE makes entries write-back cacheable (snooped); No Snoop
//            gets around that unless the root complex has CANWBS; a
//            non-cacheable entry is never snooped.
//   KVM      only x86 tracks non-coherent DMA (guest WBINVD honoured then);
//            arm64 has no WBINVD and no tracking (kvm_arch_* no-op stubs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dmaOutcomes, openMachine, KvmVm, CpuCache, SystemMemory, DmaEngine, physAddr, type DmaOutcome } from '../src/lib/index.js';
import { parsePlatform } from '../src/hw/platform.js';
import { ArmSmmuV3, SmmuDomain } from '../src/hw/arm-smmu-v3.js';
import { E1000e } from '../src/hw/e1000e.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../src/hw/iommu.js';
import { SimulatedAddressSpace } from '../src/hw/memory.js';

const ARM_MIXED = parsePlatform(JSON.stringify({
  name: 'arm-mixed', iommus: [{ kind: 'smmuv3', coherent: true }],
  rootComplexes: [{ segment: 0, canwbs: true }, { segment: 1, canwbs: false }],
  functions: [{ model: 'e1000e', bdf: '0000:00:01.0' }, { model: 'e1000e', bdf: '0001:00:01.0' }],
}), 'arm-mixed');

type Row = [bind: number, snooped: DmaOutcome['snoopedRead'], noSnoop: DmaOutcome['noSnoopRead'], kvm: boolean, wbinvd: DmaOutcome['wbinvd']];
const row = (o: DmaOutcome): Row => [o.bind, o.snoopedRead, o.noSnoopRead, o.kvmNoncoherent, o.wbinvd];

test('stale-data outcomes and KVM, device by device, per platform', () => {
  const EINVAL = 22;
  const table: Array<[string | typeof ARM_MIXED, Row[]]> = [
    ['qemu-vtd', [[0, 'fresh', 'stale', true, 'honoured'], [0, 'fresh', 'stale', true, 'honoured']]],
    ['qemu-vtd-sc', [[0, 'fresh', 'fresh', false, 'no-op'], [0, 'fresh', 'fresh', false, 'no-op']]],
    // the iGPU's unit has no SC: its No Snoop reads are stale and KVM honours WBINVD for it
    ['intel-client', [[0, 'fresh', 'fresh', false, 'no-op'], [0, 'fresh', 'fresh', false, 'no-op'], [0, 'fresh', 'stale', true, 'honoured']]],
    ['amd-vi', [[0, 'fresh', 'fresh', false, 'no-op'], [0, 'fresh', 'fresh', false, 'no-op']]],
    // a non-coherent SMMU's device cannot bind; arm64 KVM tracks nothing even for it
    ['arm-smmuv3', [[0, 'fresh', 'fresh', false, 'n/a'], [EINVAL, '-', '-', false, 'n/a']]],
    // a master without CANWBS: cacheable entries snoop, No Snoop gets around them
    [ARM_MIXED, [[0, 'fresh', 'fresh', false, 'n/a'], [0, 'fresh', 'stale', false, 'n/a']]],
  ];
  for (const [p, want] of table) assert.deepEqual(dmaOutcomes(p).map(row), want, typeof p === 'string' ? p : p.name);
});

test('SMMU: a non-cacheable entry (no IOMMU_CACHE) is never snooped, CANWBS or not', () => {
  const mem = new SystemMemory();
  const cache = new CpuCache(mem);
  const mm = new SimulatedAddressSpace();
  mem.addAddressSpace(mm);
  const smmu = new ArmSmmuV3({ coherent: true });
  for (const canwbs of [false, true]) {
    const va = mm.mmap(4096n);
    const nic = new E1000e({ bdf: { domain: 0, bus: 0, device: canwbs ? 2 : 1, fn: 0 }, iommu: smmu });
    smmu.probeMaster(nic, canwbs);
    const d = smmu.domainAllocPaging(nic) as SmmuDomain;
    d.attachDev(nic);
    nic.group.domain = d;
    d.map(0x1000n, physAddr(mm, va), 4096n, IOMMU_READ | IOMMU_WRITE); // as a dma-buf of MMIO is mapped
    d.map(0x2000n, physAddr(mm, va), 4096n, IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE);
    cache.cpuWrite(physAddr(mm, va), new Uint8Array([1, 2, 3, 4]));
    const dma = new DmaEngine(nic, cache);
    const r1 = dma.dmaRead(0x1000n, 4);
    const r2 = dma.dmaRead(0x2000n, 4, { noSnoop: true });
    assert.ok(r1.ok && r2.ok);
    assert.deepEqual([...r1.data], [0, 0, 0, 0], 'non-cacheable: memory, under the dirty line');
    assert.deepEqual([r1.segments[0]!.snooped, r1.segments[0]!.forced], [false, false]);
    assert.deepEqual([...r2.data], canwbs ? [1, 2, 3, 4] : [0, 0, 0, 0], `cacheable + No Snoop, CANWBS ${canwbs}`);
    assert.equal(r2.segments[0]!.forced, canwbs);
  }
});

test('KVM per architecture: x86 counts non-coherent DMA, arm64 has the no-op stubs and no WBINVD', () => {
  const x86 = new KvmVm(new CpuCache(new SystemMemory()));
  assert.equal(x86.arch, 'x86');
  x86.registerNoncoherentDma();
  assert.equal(x86.hasNoncoherentDma, true);
  const arm = new KvmVm(new CpuCache(new SystemMemory()), 'arm64');
  arm.registerNoncoherentDma();
  assert.deepEqual([arm.noncoherentDmaCount, arm.hasNoncoherentDma], [0, false]);
  arm.unregisterNoncoherentDma();
  assert.equal(arm.noncoherentDmaCount, 0);
  assert.throws(() => arm.guestWbinvd(), RangeError);
  assert.deepEqual(['qemu-vtd', 'amd-vi', 'intel-client', 'arm-smmuv3', 'mock'].map((p) => openMachine(p).createVm().arch), ['x86', 'x86', 'x86', 'arm64', 'x86']);
});
