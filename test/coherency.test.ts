// DMA cache coherency: the CPU cache model, device DMA through VT-d domains
// with and without No Snoop, and what KVM learns from VFIO. The rules are the
// ones shared/reference/coherency-measured.md records for Linux 7.2 (SC → an
// enforcing HWPT from allocation, SNP on entries written after enforcing, KVM
// asking VFIO for the device's static ENFORCE capability).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  openMachine, Machine, CpuCache, SystemMemory, physAddr, DmaEngine, iommuFaults, KvmVm, errno as E,
  type IommufdFile, type VfioDeviceHandle,
} from '../src/lib/index.js';
import { PLATFORMS } from '../src/hw/platform.js';
import type { HwptPaging } from '../src/core/hw-pagetable.js';
import { IntelVtd, VtdSecondStageDomain, VTD_SS_PTE_SNP } from '../src/hw/intel-vtd.js';
import { E1000e } from '../src/hw/e1000e.js';
import { RunDomain } from '../src/hw/run-domain.js';
import type { IommuDevice, IommuDriver, PagingDomain } from '../src/hw/iommu.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE, IommuGroupIds } from '../src/hw/iommu.js';
import { SimulatedAddressSpace } from '../src/hw/memory.js';
import { errnoOf } from './lib/errno-of.js';

const PAGE = 4096n;
const IOVA = 0x100000n;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const zeros = (n: number) => new Uint8Array(n);


interface Setup { m: Machine; f: IommufdFile; nic: VfioDeviceHandle; buf: bigint; hwpt: number; ioas: number; dma: DmaEngine; }

/** NIC 0 bound and attached to an IOAS; `pages` pages of a buffer mapped at IOVA. */
function setup(platform: 'qemu-vtd' | 'qemu-vtd-sc', pages = 2n, o: { writeable?: boolean } = {}): Setup {
  const m = openMachine(platform);
  const f = m.openIommufd();
  const nic = f.openVfioDevice(0);
  nic.bind(f);
  const ioas = f.ioasAlloc();
  const hwpt = nic.attach(ioas);
  const buf = f.proc.mmap(pages * PAGE);
  f.map({ ioasId: ioas, userVa: buf, length: pages * PAGE, iova: IOVA, writeable: o.writeable ?? true });
  return { m, f, nic, buf, hwpt, ioas, dma: m.dma(nic) };
}

const mustRead = (dma: DmaEngine, iova: bigint, len: number, noSnoop = false): Uint8Array => {
  const r = dma.dmaRead(iova, len, { noSnoop });
  assert.ok(r.ok, 'the DMA read faulted');
  return r.data;
};

const mustWrite = (dma: DmaEngine, iova: bigint, data: Uint8Array, noSnoop = false): void => {
  const r = dma.dmaWrite(iova, data, { noSnoop });
  assert.ok(r.ok, 'the DMA write faulted');
};

// ---- the cache model -------------------------------------------------------

test('cache: a CPU store stays dirty in its line; loads see it, DRAM does not until clflush or wbinvd', () => {
  const mm = new SimulatedAddressSpace();
  const mem = new SystemMemory();
  mem.addAddressSpace(mm);
  const cache = new CpuCache(mem);
  const va = mm.mmap(2n * PAGE);
  mm.write(va, enc('0123456789abcdef'));
  const pa = physAddr(mm, va);
  assert.equal(pa, (BigInt(mm.id) << 52n) + va);
  cache.cpuWrite(pa + 4n, enc('WXYZ'));
  assert.equal(cache.dirtyLines, 1);
  assert.equal(dec(cache.cpuRead(pa, 16)), '0123WXYZ89abcdef', 'write-allocate kept the rest of the line');
  assert.equal(dec(mm.read(va, 16)), '0123456789abcdef', 'memory has the old bytes');
  // a store across a line and a page boundary dirties each line it touches
  cache.cpuWrite(pa + PAGE - 2n, enc('pq'.repeat(2)));
  assert.equal(cache.dirtyLines, 3);
  assert.equal(cache.clflush(pa + 60n, 1), 1, 'clflush of the first line');
  assert.equal(dec(mm.read(va, 16)), '0123WXYZ89abcdef');
  assert.equal(cache.isDirty(pa), false);
  assert.equal(cache.clflush(pa, 16), 0, 'already clean');
  assert.equal(cache.wbinvd(), 2);
  assert.equal(cache.dirtyLines, 0);
  assert.deepEqual(mm.read(va + PAGE - 2n, 4), enc('pqpq'));
  assert.equal(cache.writebacks, 3);
  // no memory behind the address: EFAULT, nothing cached
  assert.equal(errnoOf(() => cache.cpuWrite(physAddr(mm, va + 8n * PAGE), enc('x'))), E.EFAULT);
  assert.equal(cache.dirtyLines, 0);
  // a large range with few dirty lines walks the dirty set, not the range
  cache.cpuWrite(pa + PAGE + 128n, enc('far'));
  assert.equal(dec(cache.cpuRead(pa, 2 * 4096).subarray(4096 + 128, 4096 + 131)), 'far');
});

// ---- snooped DMA -------------------------------------------------------------

test('snooped DMA is coherent on both platforms: reads see dirty lines, writes invalidate them', () => {
  for (const platform of ['qemu-vtd', 'qemu-vtd-sc'] as const) {
    const { m, f, buf, dma } = setup(platform);
    m.cpuWrite(f.proc, buf, 'tx frame');
    assert.deepEqual(m.memoryRead(f.proc, buf, 8), zeros(8), `${platform}: the store is only in the cache`);
    assert.equal(dec(mustRead(dma, IOVA, 8)), 'tx frame', `${platform}: snooped read sees the dirty line`);
    assert.equal(m.cache.dirtyLines, 1, 'a snooped read leaves the line to the CPU');
    // the device writes over a dirty line: the CPU sees the device's bytes, and a later flush cannot undo them
    m.cpuWrite(f.proc, buf + 0x800n, 'old rx!!');
    mustWrite(dma, IOVA + 0x802n, enc('NEW'));
    assert.equal(dec(m.cpuRead(f.proc, buf + 0x800n, 8)), 'olNEWx!!', `${platform}: the CPU's other bytes of the line survive`);
    assert.equal(m.cache.isDirty(physAddr(f.proc.mm, buf + 0x800n)), false, 'the line was written back and invalidated');
    m.cache.wbinvd();
    assert.equal(dec(m.memoryRead(f.proc, buf + 0x800n, 8)), 'olNEWx!!');
    assert.deepEqual(dma.faults, []);
  }
});

// ---- No Snoop through a non-enforcing domain -----------------------------------

test('SC=0: a no-snoop read goes around the cache and reads stale memory', () => {
  const { m, f, buf, dma, hwpt } = setup('qemu-vtd');
  const dom = (f.object(hwpt) as HwptPaging).domain as VtdSecondStageDomain;
  assert.equal(dom.pte(IOVA)! & VTD_SS_PTE_SNP, 0n, 'no SNP on this unit');
  f.proc.mm.write(buf, enc('old data'));
  m.cpuWrite(f.proc, buf, 'new data');
  const r = dma.dmaRead(IOVA, 8, { noSnoop: true });
  assert.ok(r.ok);
  assert.equal(dec(r.data), 'old data', 'stale: what DRAM holds');
  assert.deepEqual(r.segments.map((s) => [s.snooped, s.forced]), [[false, false]]);
  // the driver's protocol for no-snoop buffers: flush, then hand the buffer to the device
  assert.equal(m.clflush(f.proc, buf, 8), 1);
  assert.equal(dec(mustRead(dma, IOVA, 8, true)), 'new data');
});

test('SC=0: a no-snoop write lands under a dirty line: the CPU keeps its bytes and a write-back destroys the device\'s', () => {
  const { m, f, buf, dma } = setup('qemu-vtd');
  m.cpuWrite(f.proc, buf, 'cpu line');
  mustWrite(dma, IOVA, enc('dev data'), true);
  assert.equal(dec(m.cpuRead(f.proc, buf, 8)), 'cpu line', 'the CPU does not see the DMA');
  assert.equal(dec(m.memoryRead(f.proc, buf, 8)), 'dev data', 'DRAM has it for now');
  m.cache.wbinvd();
  assert.equal(dec(m.cpuRead(f.proc, buf, 8)), 'cpu line', 'the dirty line overwrote the device\'s bytes');
  // where no line is dirty, a no-snoop write is simply visible
  mustWrite(dma, IOVA + PAGE, enc('clean'), true);
  assert.equal(dec(m.cpuRead(f.proc, buf + PAGE, 5)), 'clean');
});

// ---- an enforcing domain ---------------------------------------------------------

test('SC=1: the HWPT enforces from allocation, every entry has SNP, and no-snoop DMA snoops anyway', () => {
  const m = openMachine('qemu-vtd-sc');
  const f = m.openIommufd();
  const nic = f.openVfioDevice(0);
  nic.bind(f);
  const ioas = f.ioasAlloc();
  const buf = f.proc.mmap(2n * PAGE);
  // mapped before the attach: the automatic HWPT is made enforcing before its fill
  f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: IOVA });
  const hwpt = nic.attach(ioas);
  f.map({ ioasId: ioas, userVa: buf + PAGE, length: PAGE, iova: IOVA + PAGE });
  const h = f.object(hwpt) as HwptPaging;
  assert.equal(h.enforceCacheCoherency, true);
  const dom = h.domain as VtdSecondStageDomain;
  assert.equal(dom.pte(IOVA)! & VTD_SS_PTE_SNP, VTD_SS_PTE_SNP);
  assert.equal(dom.pte(IOVA + PAGE)! & VTD_SS_PTE_SNP, VTD_SS_PTE_SNP);
  const dma = m.dma(0);
  m.cpuWrite(f.proc, buf + PAGE - 4n, 'spans pages');
  const r = dma.dmaRead(IOVA + PAGE - 4n, 11, { noSnoop: true });
  assert.ok(r.ok);
  assert.equal(dec(r.data), 'spans pages', 'fresh across both entries');
  assert.deepEqual(r.segments.map((s) => [s.snooped, s.forced]), [[true, true], [true, true]]);
  m.cpuWrite(f.proc, buf, 'cpu line');
  mustWrite(dma, IOVA, enc('dev'), true);
  assert.equal(dec(m.cpuRead(f.proc, buf, 8)), 'dev line', 'the no-snoop write was snooped: the CPU sees it');
});

test('PTEs written before enforce_cache_coherency keep no SNP (reachable only below iommufd): DMA through them bypasses the cache', () => {
  // iommufd enforces before the first map, so only a domain driven directly shows this.
  const m = openMachine('qemu-vtd');
  const proc = m.process();
  const unit = new IntelVtd({ snoopControl: true });
  const nic = new E1000e({ bdf: { domain: 0, bus: 0, device: 3, fn: 0 }, iommu: unit });
  const d = new VtdSecondStageDomain(unit, false);
  d.attachDev(nic);
  nic.group.domain = d;
  const buf = proc.mmap(2n * PAGE);
  const rw = IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE;
  d.map(IOVA, physAddr(proc.mm, buf), PAGE, rw);
  assert.equal(d.enforceCacheCoherency(), true);
  d.map(IOVA + PAGE, physAddr(proc.mm, buf + PAGE), PAGE, rw);
  assert.equal(d.pte(IOVA)! & VTD_SS_PTE_SNP, 0n);
  assert.equal(d.pte(IOVA + PAGE)! & VTD_SS_PTE_SNP, VTD_SS_PTE_SNP);
  m.cpuWrite(proc, buf + PAGE - 3n, 'abcdef');
  const dma = new DmaEngine(nic, m.cache);
  const r = dma.dmaRead(IOVA + PAGE - 3n, 6, { noSnoop: true });
  assert.ok(r.ok);
  assert.deepEqual([...r.data], [0, 0, 0, ...enc('def')], 'the old entry reads stale memory, the new one snoops');
  assert.deepEqual(r.segments.map((s) => [s.length, s.snooped, s.forced]), [[3, false, false], [3, true, true]]);
  assert.equal(dec(mustRead(dma, IOVA + PAGE - 3n, 6)), 'abcdef', 'a snooped request is coherent through both');
});

test('other drivers: snooping is forced by a domain attribute (enforcing), per domain', () => {
  const m = openMachine('mock');
  const proc = m.process();
  const buf = proc.mmap(PAGE);
  const group = new IommuGroupIds().alloc(true);
  class AttrDomain extends RunDomain implements PagingDomain {
    readonly kind = 'paging' as const;
    enforcing = false;
    constructor(readonly driver: IommuDriver) { super(); }
    attachDev(): void {}
    free(): void {}
  }
  const dev = { name: 'attr-dev', group, isPci: false, maxPasidLog2: 0, reservedRegions: () => [] } as unknown as IommuDevice;
  const d = new AttrDomain({} as IommuDriver);
  (dev as { driver: IommuDriver }).driver = d.driver;
  d.map(0n, physAddr(proc.mm, buf), PAGE, IOMMU_READ | IOMMU_WRITE);
  group.domain = d;
  m.cpuWrite(proc, buf, 'dirty');
  const dma = new DmaEngine(dev, m.cache);
  assert.deepEqual(mustRead(dma, 0n, 5, true), zeros(5));
  d.enforcing = true;
  assert.equal(dec(mustRead(dma, 0n, 5, true)), 'dirty');
});

// ---- KVM -----------------------------------------------------------------------------

test('KVM: WBINVD is honoured exactly while a non-coherent device is registered; removing it restores the no-op', () => {
  const { m, f, nic, buf, dma } = setup('qemu-vtd');
  const vm = m.createVm();
  m.cpuWrite(f.proc, buf, 'guest tx');
  assert.deepEqual(vm.guestWbinvd(), { honoured: false, linesWrittenBack: 0 });
  assert.equal(m.cache.dirtyLines, 1, 'the no-op flushed nothing');
  vm.addVfioFile(nic.file);
  assert.equal(vm.noncoherentDmaCount, 1);
  assert.deepEqual(vm.guestWbinvd(), { honoured: true, linesWrittenBack: 1 });
  assert.equal(dec(mustRead(dma, IOVA, 8, true)), 'guest tx', 'after the flush the no-snoop read is fresh');
  // a second non-coherent file: still one registration (kv->noncoherent is a flag)
  const nic1 = f.openVfioDevice(1);
  vm.addVfioFile(nic1.file);
  assert.equal(vm.noncoherentDmaCount, 1);
  vm.removeVfioFile(nic.file);
  assert.equal(vm.hasNoncoherentDma, true, 'vfio1 is still there');
  vm.removeVfioFile(nic1.file);
  assert.equal(vm.noncoherentDmaCount, 0);
  m.cpuWrite(f.proc, buf, 'again');
  assert.deepEqual(vm.guestWbinvd(), { honoured: false, linesWrittenBack: 0 });
  assert.equal(m.cache.dirtyLines, 1);
  assert.deepEqual([vm.wbinvdExits, vm.wbinvdFlushes], [3, 1]);
});

test('KVM on SC=1: the device is enforced-coherent, WBINVD stays a no-op, and no-snoop DMA is fresh without it', () => {
  const { m, f, nic, buf, dma } = setup('qemu-vtd-sc');
  const vm = m.createVm();
  vm.addVfioFile(nic.file);
  assert.equal(vm.noncoherentDmaCount, 0);
  m.cpuWrite(f.proc, buf, 'guest tx');
  assert.equal(vm.guestWbinvd().honoured, false);
  assert.equal(m.cache.dirtyLines, 1);
  assert.equal(dec(mustRead(dma, IOVA, 8, true)), 'guest tx');
});

test('KVM asks for the device\'s static capability: unbound counts too; an SC device in a non-enforcing HWPT counts as coherent', () => {
  // SC=0, never bound: still non-coherent
  const m0 = openMachine('qemu-vtd');
  const f0 = m0.openIommufd();
  const vm0 = m0.createVm();
  vm0.addVfioFile(f0.openVfioDevice(0).file);
  assert.equal(vm0.hasNoncoherentDma, true);

  // An SC NIC joins a non-enforcing HWPT made for a NIC behind a unit without SC (iommufd allows it).
  const base = PLATFORMS['qemu-vtd-sc']!;
  const m = openMachine({ ...base, name: 'two-units', iommus: [{ kind: 'vtd', snoopControl: true, addressWidth: 39 }, { kind: 'vtd', snoopControl: false, addressWidth: 39 }] });
  const f = m.openIommufd();
  const plainUnit = new IntelVtd({ index: 1, snoopControl: false });
  const plug = m.engine.plugVfioDevice(new E1000e({ bdf: { domain: 0, bus: 1, device: 0, fn: 0 }, iommu: plainUnit }));
  const scNic = f.openVfioDevice(0), plainNic = f.openVfioDevice(plug.index);
  scNic.bind(f); plainNic.bind(f);
  const ioas = f.ioasAlloc();
  const nonEnforcing = plainNic.attach(ioas);
  assert.equal(scNic.attach(nonEnforcing), nonEnforcing);
  assert.equal((f.object(nonEnforcing) as HwptPaging).enforceCacheCoherency, false);
  const buf = f.proc.mmap(PAGE);
  f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: IOVA });
  m.cpuWrite(f.proc, buf, 'dirty');
  assert.deepEqual(mustRead(m.dma(scNic), IOVA, 5, true), zeros(5), 'its no-snoop DMA is not coherent');
  const vm = m.createVm();
  vm.addVfioFile(scNic.file);
  assert.equal(vm.hasNoncoherentDma, false, 'yet KVM is told it is enforced-coherent');
  assert.equal(vm.guestWbinvd().honoured, false);
  vm.addVfioFile(plainNic.file);
  assert.equal(vm.guestWbinvd().honoured, true, 'only the device without SC makes WBINVD real');
});

test('kvm-vfio: EINVAL for a non-VFIO file, EEXIST twice, ENOENT to remove an absent file, one device per VM, release unregisters', () => {
  const { m, f, nic } = setup('qemu-vtd');
  const vm = new KvmVm(m.cache);
  assert.equal(errnoOf(() => vm.addVfioFile(f.ctx)), E.EINVAL);
  assert.equal(errnoOf(() => vm.removeVfioFile(nic.file)), E.ENOENT);
  vm.addVfioFile(nic.file);
  assert.equal(errnoOf(() => vm.addVfioFile(nic.file)), E.EEXIST);
  assert.equal(errnoOf(() => vm.createVfioDevice()), E.EBUSY);
  assert.deepEqual(vm.vfioDevice.fileList, [nic.file]);
  vm.release();
  assert.equal(vm.noncoherentDmaCount, 0);
  assert.deepEqual(vm.vfioDevice.fileList, []);
});

// ---- faults ---------------------------------------------------------------------------

test('DMA faults: unmapped, read-only, blocked and partly-mapped requests fault, are recorded, and change nothing', () => {
  const { m, f, nic, buf, dma, ioas } = setup('qemu-vtd');
  const unit = m.engine.vfioDevices[0]!.pci.driver;
  const before = iommuFaults(unit).length;
  m.cpuWrite(f.proc, buf + PAGE - 8n, 'dirtyend');
  const snapshot = () => [dec(m.cpuRead(f.proc, buf, 2 * 4096)), dec(m.memoryRead(f.proc, buf, 2 * 4096)), m.cache.dirtyLines];
  const s0 = snapshot();

  const r = dma.dmaWrite(IOVA + 16n * PAGE, enc('x'));
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.equal(r.errno, E.EFAULT);
  assert.deepEqual(r.fault, { device: '0000:00:01.0', iova: IOVA + 16n * PAGE, write: true, reason: 'not-present' });
  // a request that starts mapped and runs off the end: the whole request faults, no byte lands
  const spill = dma.dmaWrite(IOVA + 2n * PAGE - 4n, enc('12345678'));
  assert.ok(!spill.ok);
  assert.equal(spill.fault.iova, IOVA + 2n * PAGE);
  assert.ok(!dma.dmaRead(IOVA - 1n, 2).ok);
  assert.deepEqual(snapshot(), s0);

  // unmap, then the same IOVA faults
  assert.ok(dma.dmaRead(IOVA, 4).ok);
  f.unmap(ioas, IOVA, 2n * PAGE);
  assert.equal((dma.dmaRead(IOVA, 4) as { fault: { reason: string } }).fault.reason, 'not-present');
  // detached: the group is blocked
  nic.detach();
  const b = dma.dmaRead(IOVA, 4);
  assert.ok(!b.ok);
  assert.equal(b.fault.reason, 'blocked');
  assert.deepEqual(snapshot(), s0);
  assert.equal(dma.faults.length, 5);
  assert.deepEqual(iommuFaults(unit).slice(before), dma.faults, 'the unit recorded them too');

  // a read-only mapping: reads work, writes are denied
  const ro = setup('qemu-vtd', 1n, { writeable: false });
  ro.f.proc.mm.write(ro.buf, enc('ro'));
  assert.equal(dec(mustRead(ro.dma, IOVA, 2)), 'ro');
  const w = ro.dma.dmaWrite(IOVA, enc('no'));
  assert.ok(!w.ok);
  assert.equal(w.fault.reason, 'write-denied');
  assert.equal(dec(ro.f.proc.mm.read(ro.buf, 2)), 'ro');
});

test('a request crosses translation runs: two buffers mapped back to back read as one', () => {
  const m = openMachine('qemu-vtd');
  const f = m.openIommufd();
  const nic = f.openVfioDevice(0);
  nic.bind(f);
  const ioas = f.ioasAlloc();
  nic.attach(ioas);
  const a = f.proc.mmap(PAGE), b = f.proc.mmap(PAGE);
  f.map({ ioasId: ioas, userVa: a, length: PAGE, iova: IOVA });
  f.map({ ioasId: ioas, userVa: b, length: PAGE, iova: IOVA + PAGE });
  m.cpuWrite(f.proc, a + PAGE - 3n, 'abc');
  m.cpuWrite(f.proc, b, 'def');
  const r = m.dma(0).dmaRead(IOVA + PAGE - 3n, 6);
  assert.ok(r.ok);
  assert.equal(dec(r.data), 'abcdef');
  assert.deepEqual(r.segments.map((s) => s.paddr), [physAddr(f.proc.mm, a + PAGE - 3n), physAddr(f.proc.mm, b)]);
});
