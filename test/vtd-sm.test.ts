// VT-d scalable mode, table-driven from drivers/iommu/intel 7.2 (iommu.c,
// pasid.c, nested.c) and generic_pt's x86_64 format: which HWPT_ALLOC flags a
// unit takes per ECAP, the PASID entry each attach writes (PGSNP iff the
// domain enforces), first-stage leaf bits, the attach refusals, nested
// domains and their invalidation requests. The unit's behaviour as qemu 10
// shows it is in test/conformance/vtd_sm_*.golden (the --vfio --scalable
// oracle machine); rules qemu cannot show (nesting, SLTS with FLTS, a second
// unit without snoop control) follow the kernel's code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IntelVtd, VtdSecondStageDomain, vtdRegisters, QEMU_VTD_SM_CAP, QEMU_VTD_SM_ECAP, ECAP_SC, ECAP_SLTS, ECAP_NEST, ECAP_SLADS, ECAP_SMPWC,
  ECAP_SRS, ECAP_EAFS, ECAP_FLTS, CAP_FL1GP, CAP_FL5LP, VTD_SS_PTE_SNP,
} from '../src/hw/intel-vtd.js';
import {
  VtdFirstStageDomain, VTD_FS_PTE_P, VTD_FS_PTE_RW, VTD_FS_PTE_US, VTD_FS_PTE_A, VTD_FS_PTE_D, VTD_FS_PTE_XD, VTD_FS_PTE_PS, firstStageWidth,
} from '../src/hw/intel-vtd-fs.js';
import { VtdNestedDomain } from '../src/hw/intel-vtd-nested.js';
import {
  PASID_ENTRY_PGTT_FL_ONLY, PASID_ENTRY_PGTT_NESTED, PASID_ENTRY_PGTT_SL_ONLY, PE2_EAFE, PE2_SRE, PE2_WPE, VTD_RID_PASID,
  pasidEntryPgsnp, pasidEntryPgtt, pasidEntryPwsnp, encodePasidEntry,
} from '../src/hw/intel-vtd-pasid.js';
import { IOMMU_READ, IOMMU_WRITE, IommuGroupIds, type IommuDevice, type UserData, type UserDataArray } from '../src/hw/iommu.js';
import { PLATFORMS, parsePlatform } from '../src/hw/platform.js';
import { Engine, IommufdFile, SimProcess, openMachine, errno as E, uapi as U } from '../src/lib/index.js';
import {
  IOMMU_HWPT_ALLOC_DIRTY_TRACKING as DIRTY, IOMMU_HWPT_ALLOC_NEST_PARENT as NP, IOMMU_HWPT_ALLOC_PASID as PASID,
  IOMMU_HWPT_DATA_VTD_S1, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, IOMMU_VTD_S1_EAFE, IOMMU_VTD_S1_SRE, IOMMU_VTD_S1_WPE,
  IommuHwptVtdS1, IommuHwptVtdS1Invalidate,
} from '../src/uapi/iommufd.js';
import { domainPageTable } from '../src/server/ui-pte.js';
import { errnoOf } from './lib/errno-of.js';

const SM = QEMU_VTD_SM_ECAP;
/** The units of the tables: legacy, qemu 10's --scalable (first stage only), and what qemu cannot show. */
const UNITS: Record<string, bigint> = {
  legacy: vtdRegisters(39).ecap,
  'sm fs': SM,
  'sm ss': (SM & ~ECAP_FLTS) | ECAP_SLTS,
  'sm fs+ss': SM | ECAP_SLTS,
  'sm fs+ss+nest': SM | ECAP_SLTS | ECAP_NEST,
  'sm ss+slads (no smpwc)': (SM & ~ECAP_FLTS) | ECAP_SLTS | ECAP_SLADS,
};

function unit(ecap: bigint, o: { sc?: boolean; cap?: bigint; index?: number; groupIds?: IommuGroupIds } = {}): IntelVtd {
  return new IntelVtd({ cap: o.cap ?? QEMU_VTD_SM_CAP, ecap, snoopControl: o.sc ?? false, index: o.index ?? 0, groupIds: o.groupIds });
}

let devs = 0;
function device(u: IntelVtd, maxPasidLog2 = 0): IommuDevice {
  const group = u.groupIds.alloc(true);
  return { name: `0000:00:${(++devs).toString(16).padStart(2, '0')}.0`, driver: u, group, isPci: true, maxPasidLog2, reservedRegions: () => [] } as unknown as IommuDevice;
}

function s1Data(o: { flags?: bigint; addrWidth?: number; type?: number; pgtbl?: bigint } = {}): UserData {
  const b = IommuHwptVtdS1.encode({ flags: o.flags ?? 0n, pgtbl_addr: o.pgtbl ?? 0x1234000n, addr_width: o.addrWidth ?? 48, __reserved: 0 });
  return { type: o.type ?? IOMMU_HWPT_DATA_VTD_S1, length: b.length, read: (off, n) => b.slice(off, off + n) };
}

function invArray(entries: Array<{ addr: bigint; npages: bigint; flags?: number; rsvd?: number }>, type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1): UserDataArray {
  const S = IommuHwptVtdS1Invalidate;
  const all = new Uint8Array(S.size * entries.length);
  entries.forEach((e, i) => all.set(S.encode({ addr: e.addr, npages: e.npages, flags: e.flags ?? 0, __reserved: e.rsvd ?? 0 }), i * S.size));
  return { type, entryLen: S.size, entryNum: entries.length, read: (off, n) => all.slice(off, off + n) };
}

const kindOf = (d: unknown): string => (d instanceof VtdFirstStageDomain ? 'fs' : d instanceof VtdSecondStageDomain ? (d.nestParent ? 'ss nest-parent' : 'ss') : '?');

test('HWPT_ALLOC flags per ECAP: first stage preferred, second stage for NEST_PARENT and DIRTY_TRACKING', () => {
  const EOP = E.EOPNOTSUPP;
  // flags:         0       PASID   NP                 DIRTY  NP|PASID          NP|DIRTY  1<<4
  const table: Array<[string, Array<string | number>]> = [
    ['legacy', ['ss', 'ss', EOP, EOP, EOP, EOP, EOP]],
    ['sm fs', ['fs', 'fs', EOP, EOP, EOP, EOP, EOP]],
    ['sm ss', ['ss', 'ss', EOP, EOP, EOP, EOP, EOP]],
    ['sm fs+ss', ['fs', 'fs', EOP, EOP, EOP, EOP, EOP]],
    ['sm fs+ss+nest', ['fs', 'fs', 'ss nest-parent', EOP, 'ss nest-parent', EOP, EOP]],
    // ssads_supported needs SMPWC as well as SLADS
    ['sm ss+slads (no smpwc)', ['ss', 'ss', EOP, EOP, EOP, EOP, EOP]],
  ];
  const flags = [0, PASID, NP, DIRTY, NP | PASID, NP | DIRTY, 1 << 4];
  for (const [name, want] of table) {
    const u = unit(UNITS[name]!);
    const d = device(u);
    flags.forEach((f, i) => {
      let got: string | number;
      try { got = kindOf(u.domainAllocPagingFlags(d, f, undefined)); } catch (e) { got = errnoOf(() => { throw e; }); }
      assert.equal(got, want[i], `${name} flags 0x${f.toString(16)}`);
    });
    assert.equal(errnoOf(() => u.domainAllocPagingFlags(d, 0, s1Data())), EOP, `${name}: user data`);
  }
});

test('qemu-vtd-sm registers as the oracle read them; getters follow CAP/ECAP', () => {
  assert.deepEqual(vtdRegisters(48, { firstStage: true, secondStage: false, nesting: false }), { cap: QEMU_VTD_SM_CAP, ecap: QEMU_VTD_SM_ECAP });
  const e = new Engine({ platform: PLATFORMS['qemu-vtd-sm-sc']! });
  const u = e.vfioDevices[0]!.pci.driver as IntelVtd;
  assert.equal(u.ecap, QEMU_VTD_SM_ECAP | ECAP_SC);
  assert.equal(u.scalableMode && u.pasidSupported && u.firstStageSupported, true);
  assert.equal(u.secondStageSupported || u.nestedSupported || u.dirtySupported || u.walkCoherent, false);
  assert.equal(u.agaw, 2, 'SAGAW 39 and 48 bits: agaw 2');
  const p = parsePlatform('{"base":"qemu-vtd","iommus":[{"kind":"vtd","scalableMode":true,"secondStage":true,"nesting":true}]}', 'f');
  const n = new Engine({ platform: p }).vfioDevices[0]!.pci.driver as IntelVtd;
  assert.equal(n.ecap, QEMU_VTD_SM_ECAP | ECAP_SLTS | ECAP_NEST);
  assert.equal(n.nestedSupported, true);
});

test('first-stage domain: 48-bit table, 47-bit lower-half aperture, 1 GiB pages with FL1GP, 5 levels only with FL5LP and MGAW > 48', () => {
  const rows: Array<[number, boolean, number, boolean]> = [[48, false, 48, false], [39, false, 39, false], [57, false, 48, false], [57, true, 57, true]];
  for (const [mgaw, fl5, vasz, five] of rows) assert.deepEqual(firstStageWidth(mgaw, fl5), { vaszLg2: vasz, fiveLevel: five }, `mgaw ${mgaw} fl5lp ${fl5}`);
  const u = unit(SM);
  const fs = u.domainAllocPagingFlags(device(u), 0, undefined) as VtdFirstStageDomain;
  assert.equal(fs.apertureEnd, (1n << 47n) - 1n);
  assert.equal(fs.pgsizeBitmap, (1n << 12n) | (1n << 21n) | (1n << 30n));
  assert.equal(fs.dmaIncoherent, true, 'no SMPWC: table writes are flushed');
  const no1g = unit(SM, { cap: QEMU_VTD_SM_CAP & ~CAP_FL1GP });
  assert.equal((no1g.domainAllocPagingFlags(device(no1g), 0, undefined) as VtdFirstStageDomain).pgsizeBitmap, (1n << 12n) | (1n << 21n));
  // a table with 1 GiB pages does not fit a unit without FL1GP
  assert.equal(errnoOf(() => fs.attachDev(device(no1g))), E.EINVAL);
  // nor a unit whose walks snoop while this table's writes are not flushed... the other way round is fine
  const coherent = unit(SM | ECAP_SMPWC);
  const cfs = coherent.domainAllocPagingFlags(device(coherent), 0, undefined) as VtdFirstStageDomain;
  assert.equal(cfs.dmaIncoherent, false);
  assert.equal(errnoOf(() => cfs.attachDev(device(u))), E.EINVAL, 'an unflushed table on a unit without SMPWC');
  assert.doesNotThrow(() => fs.attachDev(device(coherent)));
  assert.equal(errnoOf(() => fs.attachDev(device(unit((SM & ~ECAP_FLTS) | ECAP_SLTS)))), E.EINVAL, 'a unit without FLTS');
  assert.equal(errnoOf(() => fs.attachDev(device(new IntelVtd({ ecap: vtdRegisters(39).ecap })))), E.EINVAL, 'a legacy unit');
  void CAP_FL5LP;
});

test('first-stage leaf entries: P, U/S and A always, R/W and D when writable, never XD or SNP; every present entry is readable', () => {
  const u = unit(SM);
  const fs = u.domainAllocPagingFlags(device(u), 0, undefined) as VtdFirstStageDomain;
  const rows: Array<[number, bigint]> = [
    [IOMMU_READ | IOMMU_WRITE, VTD_FS_PTE_P | VTD_FS_PTE_US | VTD_FS_PTE_A | VTD_FS_PTE_RW | VTD_FS_PTE_D],
    [IOMMU_READ, VTD_FS_PTE_P | VTD_FS_PTE_US | VTD_FS_PTE_A],
    [IOMMU_WRITE, VTD_FS_PTE_P | VTD_FS_PTE_US | VTD_FS_PTE_A | VTD_FS_PTE_RW | VTD_FS_PTE_D],
    [0, VTD_FS_PTE_P | VTD_FS_PTE_US | VTD_FS_PTE_A],
  ];
  rows.forEach(([prot, bits], i) => {
    const iova = BigInt(i) << 21n, pa = 0x40000000n + (BigInt(i) << 12n);
    fs.map(iova, pa, 0x1000n, prot);
    assert.equal(fs.pte(iova), pa | bits, `prot ${prot}`);
    assert.equal(fs.pte(iova)! & (VTD_FS_PTE_XD | VTD_FS_PTE_PS | VTD_SS_PTE_SNP), 0n);
    assert.equal((fs.runAt(iova)!.prot & IOMMU_READ) !== 0, true, 'readable');
  });
  assert.equal(fs.pte(0x10000000n), undefined);
});

test('PGSNP is set iff the first-stage domain enforces: at enforce for attached devices, at setup for later ones', () => {
  const u = unit(SM, { sc: true });
  const a = device(u), b = device(u);
  const fs = u.domainAllocPagingFlags(a, 0, undefined) as VtdFirstStageDomain;
  fs.attachDev(a);
  const ea = () => u.pasidTables.entry(a, VTD_RID_PASID)!;
  assert.equal(pasidEntryPgtt(ea()), PASID_ENTRY_PGTT_FL_ONLY);
  assert.equal(pasidEntryPgsnp(ea()), false);
  assert.equal(pasidEntryPwsnp(ea()), false, 'PWSNP only when the table writes are not flushed (SMPWC)');
  assert.equal(fs.enforceCacheCoherency(), true);
  assert.equal(pasidEntryPgsnp(ea()), true);
  assert.equal(fs.enforcing, true);
  fs.attachDev(b);
  assert.equal(pasidEntryPgsnp(u.pasidTables.entry(b, VTD_RID_PASID)!), true);
  // enforcing changes no leaf entry
  fs.map(0n, 0x1000n, 0x1000n, IOMMU_READ | IOMMU_WRITE);
  assert.equal(fs.pte(0n)! & VTD_SS_PTE_SNP, 0n);

  // without snoop control: enforcing is refused and no entry gets PGSNP
  const n = unit(SM, { sc: false });
  const c = device(n);
  const nfs = n.domainAllocPagingFlags(c, 0, undefined) as VtdFirstStageDomain;
  nfs.attachDev(c);
  assert.equal(nfs.enforceCacheCoherency(), false);
  assert.equal(pasidEntryPgsnp(n.pasidTables.entry(c, VTD_RID_PASID)!), false);

  // second stage in scalable mode: SNP in the leaves, never PGSNP
  const s = unit((SM & ~ECAP_FLTS) | ECAP_SLTS, { sc: true });
  const sd = device(s);
  const ss = s.domainAllocPagingFlags(sd, 0, undefined) as VtdSecondStageDomain;
  ss.attachDev(sd);
  assert.equal(ss.enforceCacheCoherency(), true);
  ss.map(0n, 0x1000n, 0x1000n, IOMMU_READ | IOMMU_WRITE);
  const se = s.pasidTables.entry(sd, VTD_RID_PASID)!;
  assert.deepEqual([pasidEntryPgtt(se), pasidEntryPgsnp(se)], [PASID_ENTRY_PGTT_SL_ONLY, false]);
  assert.equal(ss.pte(0n)! & VTD_SS_PTE_SNP, VTD_SS_PTE_SNP);
});

test('a device of a unit without snoop control: EINVAL on an enforcing second-stage domain; a first-stage one takes it (7.2 checks no SC there)', () => {
  const ids = new IommuGroupIds();
  for (const [name, ecap] of [['legacy', vtdRegisters(39).ecap], ['sm ss', (SM & ~ECAP_FLTS) | ECAP_SLTS], ['sm fs', SM]] as const) {
    const sc = unit(ecap, { sc: true, index: 0, groupIds: ids }), gfx = unit(ecap, { sc: false, index: 1, groupIds: ids });
    const a = device(sc), g = device(gfx);
    const d = sc.domainAllocPagingFlags(a, 0, undefined) as VtdFirstStageDomain | VtdSecondStageDomain;
    d.attachDev(a);
    assert.equal(d.enforceCacheCoherency!(), true, name);
    if (d instanceof VtdSecondStageDomain) {
      assert.equal(errnoOf(() => d.attachDev(g)), E.EINVAL, name);
    } else {
      d.attachDev(g);
      assert.equal(pasidEntryPgsnp(gfx.pasidTables.entry(g, VTD_RID_PASID)!), true, `${name}: PGSNP written for the unit without SC`);
    }
    // a domain holding a device of a unit without SC cannot start enforcing
    const d2 = gfx.domainAllocPagingFlags(g, 0, undefined) as VtdFirstStageDomain | VtdSecondStageDomain;
    d2.attachDev(g);
    d2.attachDev(a);
    assert.equal(d2.enforceCacheCoherency!(), false, name);
  }
});

test('PASID entries: attach replaces the RID_PASID entry, the blocking domain tears it down, set_dev_pasid needs ECAP.PASID', () => {
  const u = unit(SM | ECAP_SLTS | ECAP_NEST, { sc: true });
  const a = device(u, 8);
  const fs = u.domainAllocPagingFlags(a, 0, undefined) as VtdFirstStageDomain;
  const ss = u.domainAllocPagingFlags(a, NP, undefined) as VtdSecondStageDomain;
  fs.attachDev(a);
  ss.attachDev(a);
  fs.detachDev(a); // the core detaches the old domain after the new attach
  assert.equal(pasidEntryPgtt(u.pasidTables.entry(a, VTD_RID_PASID)!), PASID_ENTRY_PGTT_SL_ONLY);
  u.blockedDomain.attachDev(a);
  assert.equal(u.pasidTables.entry(a, VTD_RID_PASID), undefined);
  fs.setDevPasid(a, 5, undefined);
  assert.equal(pasidEntryPgtt(u.pasidTables.entry(a, 5)!), PASID_ENTRY_PGTT_FL_ONLY);
  ss.setDevPasid(a, 5, fs);
  assert.equal(pasidEntryPgtt(u.pasidTables.entry(a, 5)!), PASID_ENTRY_PGTT_SL_ONLY);
  assert.equal(fs.devPasids.size, 0);
  assert.deepEqual([...ss.devPasids.get(a)!], [5]);
  u.blockedDomain.setDevPasid!(a, 5, ss);
  assert.equal(u.pasidTables.entry(a, 5), undefined);
  assert.equal(ss.devPasids.size, 0);
  // legacy mode and scalable mode without ECAP.PASID: EOPNOTSUPP
  for (const ecap of [vtdRegisters(39).ecap, SM & ~(1n << 40n)]) {
    const v = new IntelVtd({ ecap, cap: QEMU_VTD_SM_CAP });
    const d = device(v, 8);
    const dom = v.domainAllocPagingFlags(d, 0, undefined);
    assert.equal(errnoOf(() => dom.setDevPasid!(d, 1, undefined)), E.EOPNOTSUPP);
  }
});

test('nest parent: only with ECAP.NEST (and SLTS); its entries must be writable (erratum 772415_SPR17)', () => {
  const u = unit(SM | ECAP_SLTS | ECAP_NEST);
  const a = device(u);
  const np = u.domainAllocPagingFlags(a, NP, undefined) as VtdSecondStageDomain;
  assert.equal(errnoOf(() => np.map(0n, 0x1000n, 0x1000n, IOMMU_READ)), E.EINVAL);
  assert.doesNotThrow(() => np.map(0n, 0x1000n, 0x1000n, IOMMU_READ | IOMMU_WRITE));
  const plain = unit((SM & ~ECAP_FLTS) | ECAP_SLTS).domainAllocPagingFlags(a, 0, undefined) as VtdSecondStageDomain;
  assert.doesNotThrow(() => plain.map(0n, 0x1000n, 0x1000n, IOMMU_READ));
  // a nest parent does not fit a unit without nesting
  assert.equal(errnoOf(() => np.attachDev(device(unit((SM & ~ECAP_FLTS) | ECAP_SLTS)))), E.EINVAL);
});

test('nested (VTD_S1) domains: allocation rules, then the stage-1 configuration checked against the unit at attach', () => {
  const u = unit(SM | ECAP_SLTS | ECAP_NEST, { sc: true });
  const a = device(u);
  const np = u.domainAllocPagingFlags(a, NP, undefined) as VtdSecondStageDomain;
  const plain = u.domainAllocPagingFlags(a, 0, undefined);
  const alloc: Array<[string, () => unknown, number]> = [
    ['no ECAP.NEST', () => unit(SM | ECAP_SLTS).domainAllocNested(a, np, 0, s1Data()), E.EOPNOTSUPP],
    ['flag NEST_PARENT', () => u.domainAllocNested(a, np, NP, s1Data()), E.EOPNOTSUPP],
    ['data type 2', () => u.domainAllocNested(a, np, 0, s1Data({ type: 2 })), E.EOPNOTSUPP],
    ['first-stage parent', () => u.domainAllocNested(a, plain, 0, s1Data()), E.EINVAL],
    ['second stage, not a nest parent', () => u.domainAllocNested(a, new VtdSecondStageDomain(u, false), 0, s1Data()), E.EINVAL],
  ];
  for (const [name, f, errno] of alloc) assert.equal(errnoOf(f), errno, name);

  // attach: address width, SRE needs ECAP.SRS, EAFE needs ECAP.EAFS
  const attach: Array<[string, IntelVtd, UserData, number]> = [
    ['aw 48', u, s1Data(), 0],
    ['aw 57 without FL5LP', u, s1Data({ addrWidth: 57 }), E.EINVAL],
    ['aw 57 with FL5LP', unit(SM | ECAP_SLTS | ECAP_NEST, { cap: QEMU_VTD_SM_CAP | CAP_FL5LP }), s1Data({ addrWidth: 57 }), 0],
    ['aw 39', u, s1Data({ addrWidth: 39 }), E.EINVAL],
    ['SRE without SRS', u, s1Data({ flags: BigInt(IOMMU_VTD_S1_SRE) }), E.EINVAL],
    ['SRE with SRS', unit(SM | ECAP_SLTS | ECAP_NEST | ECAP_SRS), s1Data({ flags: BigInt(IOMMU_VTD_S1_SRE | IOMMU_VTD_S1_WPE) }), 0],
    ['EAFE without EAFS', u, s1Data({ flags: BigInt(IOMMU_VTD_S1_EAFE) }), E.EINVAL],
    ['EAFE with EAFS', unit(SM | ECAP_SLTS | ECAP_NEST | ECAP_EAFS), s1Data({ flags: BigInt(IOMMU_VTD_S1_EAFE) }), 0],
  ];
  for (const [name, v, data, errno] of attach) {
    const d = device(v);
    const parent = v.domainAllocPagingFlags(d, NP, undefined) as VtdSecondStageDomain;
    const n = v.domainAllocNested(d, parent, 0, data) as VtdNestedDomain;
    assert.equal(errnoOf(() => n.attachDev(d)), errno, name);
    if (errno !== 0) { assert.equal(v.pasidTables.entry(d, VTD_RID_PASID), undefined, name); continue; }
    const e = v.pasidTables.entry(d, VTD_RID_PASID)!;
    assert.equal(pasidEntryPgtt(e), PASID_ENTRY_PGTT_NESTED, name);
    assert.equal(e.val[2] & ~0xfffn, 0x1234000n, `${name}: FLPTR is the user's table`);
    const f = n.s1.flags;
    assert.equal((e.val[2] & PE2_SRE) !== 0n, (f & BigInt(IOMMU_VTD_S1_SRE)) !== 0n, name);
    assert.equal((e.val[2] & PE2_WPE) !== 0n, (f & BigInt(IOMMU_VTD_S1_WPE)) !== 0n, name);
    assert.equal((e.val[2] & PE2_EAFE) !== 0n, (f & BigInt(IOMMU_VTD_S1_EAFE)) !== 0n, name);
    assert.equal(Number((e.val[2] >> 2n) & 3n), n.s1.addrWidth === 57 ? 1 : 0, `${name}: FLPM`);
  }

  // PGSNP iff the parent enforces, at the nested attach
  for (const enforce of [false, true]) {
    const d = device(u);
    const parent = u.domainAllocPagingFlags(d, NP, undefined) as VtdSecondStageDomain;
    parent.attachDev(d);
    if (enforce) assert.equal(parent.enforceCacheCoherency(), true);
    const n = u.domainAllocNested(d, parent, 0, s1Data());
    n.attachDev(d);
    parent.detachDev(d);
    assert.equal(pasidEntryPgsnp(u.pasidTables.entry(d, VTD_RID_PASID)!), enforce, `parent enforcing: ${enforce}`);
    assert.equal(parent.s1Domains.size, 1);
    n.detachDev!(d);
    n.free();
    assert.equal(parent.s1Domains.size, 0);
  }
});

test('HWPT_INVALIDATE on a VTD_S1 domain: the request format, entry_num the entries handled', () => {
  const u = unit(SM | ECAP_SLTS | ECAP_NEST);
  const a = device(u);
  const n = u.domainAllocNested(a, u.domainAllocPagingFlags(a, NP, undefined), 0, s1Data()) as VtdNestedDomain;
  const U64_MAX = (1n << 64n) - 1n;
  const rows: Array<[string, UserDataArray, number, number]> = [
    ['two good', invArray([{ addr: 0x1000n, npages: 1n }, { addr: 0n, npages: U64_MAX, flags: 1 }]), 0, 2],
    ['unaligned third', invArray([{ addr: 0x1000n, npages: 1n }, { addr: 0n, npages: 2n }, { addr: 0x1234n, npages: 1n }]), E.EINVAL, 2],
    ['flag 2', invArray([{ addr: 0x2000n, npages: 1n, flags: 2 }]), E.EOPNOTSUPP, 0],
    ['__reserved', invArray([{ addr: 0n, npages: 1n, rsvd: 1 }]), E.EOPNOTSUPP, 0],
    ['all pages from 0x1000', invArray([{ addr: 0x1000n, npages: U64_MAX }]), E.EINVAL, 0],
    ['data type 1', invArray([{ addr: 0n, npages: 1n }], 1), E.EINVAL, 0],
  ];
  for (const [name, arr, errno, done] of rows) {
    assert.equal(errnoOf(() => n.cacheInvalidateUser(arr)), errno, name);
    assert.equal(arr.entryNum, done, `${name}: entry_num`);
  }
  assert.deepEqual(n.flushes.slice(0, 2), [{ start: 0x1000n, last: 0x1fffn, leaf: false }, { start: 0n, last: U64_MAX, leaf: true }]);
});

test('PASID entry encoding: PGTT, DID, AW, PWSNP (bit 87), PGSNP (bit 88), FLPM, pointers', () => {
  const [v0, v1, v2] = encodePasidEntry({ pgtt: PASID_ENTRY_PGTT_NESTED, did: 0x1234, aw: 2, pwsnp: true, pgsnp: true, fl5lp: true, flptr: 0xabc000n, slptr: 0xdef000n, ssade: true });
  assert.equal(v0, 1n | (2n << 2n) | (3n << 6n) | (1n << 9n) | 0xdef000n);
  assert.equal(v1, 0x1234n | (1n << 23n) | (1n << 24n));
  assert.equal(v2, 0xabc000n | (1n << 2n));
  assert.equal(encodePasidEntry({ pgtt: 1, did: 2, aw: 2, pwsnp: false, wpe: true })[2] & PE2_WPE, 0n, 'WPE only with SRE');
});

test('library: qemu-vtd-sm-sc auto domains are first stage; enforcing, DMA_CC_IOMMU and PGSNP through the engine', () => {
  const engine = new Engine({ platform: PLATFORMS['qemu-vtd-sm-sc']! });
  const f = new IommufdFile(new SimProcess(), engine);
  const d0 = f.openVfioDevice(0), d1 = f.openVfioDevice(1);
  d0.bind(f); d1.bind(f);
  const ioas = f.ioasAlloc();
  const pt = d0.attach(ioas);
  assert.equal(d1.attach(ioas), pt, 'one domain for both');
  const dev0 = engine.vfioDevices[0]!.pci;
  const u = dev0.driver as IntelVtd;
  const e = u.pasidTables.entry(dev0, VTD_RID_PASID)!;
  assert.equal(pasidEntryPgtt(e), PASID_ENTRY_PGTT_FL_ONLY);
  assert.equal(pasidEntryPgsnp(e), true, 'the auto domain of a unit with SC enforces');
  assert.ok(e.domain instanceof VtdFirstStageDomain);
  assert.equal((e.domain as VtdFirstStageDomain).apertureEnd, (1n << 47n) - 1n);
  d0.detach();
  assert.equal(u.pasidTables.entry(dev0, VTD_RID_PASID), undefined, 'detached: blocked, no entry');
});

test('DMA through a first-stage domain: a No Snoop request snoops iff the domain enforces (PGSNP); read-only maps stay unwritable', () => {
  const enc = (t: string) => new TextEncoder().encode(t);
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  const IOVA = 0x100000n, PAGE = 4096n;
  for (const [platform, forced] of [['qemu-vtd-sm', false], ['qemu-vtd-sm-sc', true]] as const) {
    const m = openMachine(platform);
    const f = m.openIommufd();
    const nic = f.openVfioDevice(0);
    nic.bind(f);
    const ioas = f.ioasAlloc();
    nic.attach(ioas);
    const buf = f.proc.mmap(2n * PAGE);
    f.map({ ioasId: ioas, userVa: buf, length: PAGE, iova: IOVA, writeable: true });
    f.map({ ioasId: ioas, userVa: buf + PAGE, length: PAGE, iova: IOVA + PAGE, writeable: false });
    f.proc.mm.write(buf, enc('old data'));
    m.cpuWrite(f.proc, buf, 'new data');
    const dma = m.dma(nic);
    const r = dma.dmaRead(IOVA, 8, { noSnoop: true });
    assert.ok(r.ok, platform);
    assert.equal(dec(r.data), forced ? 'new data' : 'old data', `${platform}: ${forced ? 'forced to snoop' : 'stale memory'}`);
    assert.deepEqual(r.segments.map((x) => x.forced), [forced], platform);
    const w = dma.dmaWrite(IOVA + PAGE, enc('x'));
    assert.equal(w.ok, false, `${platform}: write through a read-only first-stage entry`);
    assert.equal(dma.dmaRead(IOVA + PAGE, 1).ok, true);
  }
});

test('library, a platform file with nesting: NEST_PARENT, a VTD_S1 HWPT attached (PGSNP from the enforcing parent), HWPT_INVALIDATE through the ioctl', () => {
  const p = parsePlatform('{"base":"qemu-vtd","iommus":[{"kind":"vtd","snoopControl":true,"scalableMode":true,"secondStage":true,"nesting":true}]}', 'nest.json');
  const engine = new Engine({ platform: p });
  const f = new IommufdFile(new SimProcess(), engine);
  const d0 = f.openVfioDevice(0);
  const dev = d0.bind(f);
  const ioas = f.ioasAlloc();
  const parent = f.hwptAlloc({ devId: dev, ptId: ioas, flags: NP });
  const s1 = IommuHwptVtdS1.encode({ flags: 0n, pgtbl_addr: 0x5000n, addr_width: 48, __reserved: 0 });
  const nested = f.hwptAlloc({ devId: dev, ptId: parent, dataType: IOMMU_HWPT_DATA_VTD_S1, data: s1 });
  assert.equal(errnoOf(() => f.hwptAlloc({ devId: dev, ptId: ioas, dataType: IOMMU_HWPT_DATA_VTD_S1, data: s1 })), E.EOPNOTSUPP, 'VTD_S1 on an IOAS');
  assert.equal(d0.attach(nested), nested);
  const pci = engine.vfioDevices[0]!.pci;
  const e = (pci.driver as IntelVtd).pasidTables.entry(pci, VTD_RID_PASID)!;
  assert.equal(pasidEntryPgtt(e), PASID_ENTRY_PGTT_NESTED);
  assert.equal(pasidEntryPgsnp(e), true, 'a nest parent allocated for a device with SC enforces');
  const S = IommuHwptVtdS1Invalidate;
  const buf = f.proc.mmap(4096n);
  const ents = [{ addr: 0x1000n, npages: 2n, flags: 0, __reserved: 0 }, { addr: 0x1001n, npages: 1n, flags: 0, __reserved: 0 }];
  ents.forEach((x, i) => f.proc.mm.write(buf + BigInt(i * S.size), S.encode(x)));
  const inv = (num: number) => {
    try {
      const c = f.call(U.IOMMU_HWPT_INVALIDATE, U.IommuHwptInvalidate, { hwpt_id: nested, data_uptr: buf, data_type: IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, entry_len: S.size, entry_num: num, __reserved: 0 });
      return [0, c.entry_num];
    } catch (err) { return [errnoOf(() => { throw err; }), -1]; }
  };
  assert.deepEqual(inv(1), [0, 1]);
  assert.deepEqual(inv(2)[0], E.EINVAL);
  assert.equal(errnoOf(() => f.call(U.IOMMU_HWPT_INVALIDATE, U.IommuHwptInvalidate, { hwpt_id: parent, data_uptr: buf, data_type: 0, entry_len: S.size, entry_num: 1, __reserved: 0 })), E.EINVAL, 'on the paging parent');
});

test('live view: a first-stage domain\'s entries explained (P, R/W, U/S, A, D and the PASID entry\'s PGSNP)', () => {
  const u = unit(SM, { sc: true });
  const a = device(u);
  const fs = u.domainAllocPagingFlags(a, 0, undefined) as VtdFirstStageDomain;
  fs.attachDev(a);
  fs.map(0x1000n, 0x40000000n, 0x1000n, IOMMU_READ);
  const bitsOf = () => domainPageTable(fs)!.runs[0]!.leaves[0]!.bits.map((b) => `${b.name}=${b.value}`);
  assert.equal(domainPageTable(fs)!.format, 'VT-d first stage (IA-32e, 48-bit)');
  assert.deepEqual(bitsOf().slice(0, 6), ['P=1', 'R/W=0', 'U/S=1', 'A=1', 'D=0', 'PGSNP=0']);
  assert.equal(fs.enforceCacheCoherency(), true);
  assert.equal(bitsOf()[5], 'PGSNP=1');
  assert.equal(domainPageTable(fs)!.runs[0]!.leaves[0]!.pte, '0x40000025');
});
