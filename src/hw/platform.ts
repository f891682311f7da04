// Platforms: the simulated machines, as data. A platform lists its IOMMU
// units (by kind and the capability switches the kernel's drivers read), its
// PCI root complexes and the PCI functions bound to vfio-pci (model, address,
// group, the unit in front of them). hw/machine.ts builds the machine.
//
// Built-in platforms:
//   mock         the oracle's plain machine: iommufd with its mock test driver
//                (IOMMUFD_TEST), no PCI functions for VFIO. The default.
//   qemu-vtd     the oracle's --vfio machine: one VT-d unit without snoop
//                control, two e1000e NICs (00:01.0 group 1, 00:02.0 group 2).
//   qemu-vtd-sc  the same with ECAP.SC (qemu's snoop-control=on).
//   qemu-vtd-sm  the oracle's --vfio --scalable machine: the VT-d unit in
//                scalable mode with first-stage translation and PASIDs
//                (qemu 10's x-scalable-mode, x-flts, x-pasid-mode; 48-bit).
//   qemu-vtd-sm-sc  the same with snoop control.
//   intel-client two VT-d units as on an Intel client part: one with snoop
//                control for a NIC and an NVMe-class function, one dedicated
//                to the integrated GPU, without it.
//   arm-smmuv3   a coherent SMMUv3 in front of a CANWBS root complex with a
//                NIC, and a non-coherent SMMUv3 with one more function.
//   qemu-vtd-igb the oracle's --igb machine: qemu-vtd plus an 82576 (qemu's
//                igb) at 00:03.0, group 3, vfio2; alone on its wire.
//   amd-vi       the oracle's --amd machine: qemu's amd-iommu (its own PCI
//                function at 00:01.0) and two e1000e NICs (00:02.0 group 1,
//                00:03.0 group 2).
//   qemu-smmuv3  the oracle's --arm machine: qemu's arm64 virt, its SMMUv3
//                (stage 1 only, coherent, no CANWBS) and two e1000e NICs
//                (00:01.0 group 1, 00:02.0 group 2).
//
// A platform file is JSON (platforms/platform.schema.json, README "Platform
// files"): {"base": NAME, ...} starts from a built-in one; "iommus",
// "rootComplexes" and "functions" replace the base's lists whole. Every
// unknown key, wrong type or impossible combination is EINVAL with the JSON
// path of the field. parsePlatform checks the text; server/platform-file.ts
// reads the file (hw/ touches no file).
import { Errno, EINVAL } from '../uapi/errno.js';
import type { Bdf } from './pci.js';
import type { VtdScalableOptions } from './intel-vtd.js';

/** An Intel VT-d remapping unit (hw/intel-vtd.ts): qemu's CAP/ECAP, with these switches. */
export interface VtdUnitSpec {
  readonly kind: 'vtd';
  /** ECAP.SC: the unit can force snooping (IOMMU_CAP_ENFORCE_CACHE_COHERENCY). */
  readonly snoopControl: boolean;
  /** CAP.MGAW/SAGAW: 39 (3-level) or 48 (4-level) bit IOVAs. */
  readonly addressWidth: 39 | 48;
  /** Scalable mode (ECAP.SMTS, PASID) with these translation types; absent: legacy mode. */
  readonly scalable?: VtdScalableOptions;
}

/** An ARM SMMUv3 (hw/arm-smmu-v3.ts): its IDR registers follow from these switches. */
export interface SmmuV3UnitSpec {
  readonly kind: 'smmuv3';
  /** Firmware says the SMMU is coherent (dma-coherent / IORT COHACC override): ARM_SMMU_FEAT_COHERENCY. */
  readonly coherent: boolean;
  /** IDR0.S1P and IDR0.S2P. */
  readonly stage1: boolean;
  readonly stage2: boolean;
  /** IDR3.FWB: stage 2 forces write-back (ARM_SMMU_FEAT_S2FWB). */
  readonly s2fwb: boolean;
  /** IDR5.OAS in bits. */
  readonly oas: 32 | 36 | 40 | 42 | 44 | 48 | 52;
}

/** An AMD IOMMU (hw/amd-vi.ts): the raw extended feature registers. */
export interface AmdViUnitSpec {
  readonly kind: 'amd-vi';
  readonly efr: bigint;
  readonly efr2: bigint;
}

export type IommuUnitSpec = VtdUnitSpec | SmmuV3UnitSpec | AmdViUnitSpec;
export type IommuKind = IommuUnitSpec['kind'];

/** A PCI root complex (host bridge) by segment. */
export interface RootComplexSpec {
  readonly segment: number;
  /** IORT root-complex memory access flag CANWBS: No Snoop TLPs are made write-back cacheable. */
  readonly canwbs: boolean;
}

/** The device models a function can be. */
export type PciModel = 'e1000e' | 'igb' | 'pci-function';

/** A PCI function bound to vfio-pci. */
export interface PciFunctionSpec {
  readonly model: PciModel;
  readonly bdf: Bdf;
  /** Index into the platform's iommus. */
  readonly iommu: number;
  /** A label: functions with the same label share one iommu_group (default: a group of its own). */
  readonly group?: number;
  /** IDs of a plain 'pci-function' (an e1000e has its own). */
  readonly vendorId?: number;
  readonly deviceId?: number;
  readonly classCode?: number;
}

export interface Platform {
  readonly name: string;
  readonly description: string;
  /** IOMMU_TEST_CMD and the mock driver (CONFIG_IOMMUFD_TEST). */
  readonly testAbi: boolean;
  readonly iommus: readonly IommuUnitSpec[];
  readonly rootComplexes: readonly RootComplexSpec[];
  /** Bound to vfio-pci in this order: vfio0, vfio1, ... */
  readonly functions: readonly PciFunctionSpec[];
}

/**
 * qemu 7.2's amd-iommu EFR: PREFETCH, PPR, GT, IA, GA, HE, HATS=2 (6 levels),
 * GATS=2; no EFR2 register (0). Measured on the oracle's --amd machine
 * (amd_cdev.golden: GET_HW_INFO; amd_sysfs.golden: amd-iommu/features).
 */
export const QEMU_AMDVI_EFR = 0x29d3n;
/**
 * qemu's IVRS IVinfo VAsize: 48, so the v1 table's IOVAs end at 2^48 - 1
 * although HATS allows 64 bits (amd_cdev.golden: the IOVA ranges, a map at
 * 1<<52 is EINVAL).
 */
export const QEMU_AMDVI_IVINFO_VASIZE = 48;

const bdf = (bus: number, device: number, fn = 0, domain = 0): Bdf => ({ domain, bus, device, fn });
const nic = (device: number, iommu = 0, bus = 0, domain = 0): PciFunctionSpec => ({ model: 'e1000e', bdf: bdf(bus, device, 0, domain), iommu });
const vtd = (snoopControl: boolean): VtdUnitSpec => ({ kind: 'vtd', snoopControl, addressWidth: 39 });
const vtdSm = (snoopControl: boolean): VtdUnitSpec => ({
  kind: 'vtd', snoopControl, addressWidth: 48, scalable: { firstStage: true, secondStage: false, nesting: false },
});
const smmu = (coherent: boolean): SmmuV3UnitSpec => ({ kind: 'smmuv3', coherent, stage1: true, stage2: true, s2fwb: false, oas: 44 });

export const PLATFORMS: Readonly<Record<string, Platform>> = {
  mock: {
    name: 'mock', description: 'iommufd with the mock test driver (the oracle\'s plain machine)', testAbi: true,
    iommus: [], rootComplexes: [], functions: [],
  },
  'qemu-vtd': {
    name: 'qemu-vtd', description: 'qemu q35 with one VT-d unit (no snoop control) and two e1000e NICs for VFIO', testAbi: true,
    iommus: [vtd(false)], rootComplexes: [], functions: [nic(1), nic(2)],
  },
  'qemu-vtd-sc': {
    name: 'qemu-vtd-sc', description: 'as qemu-vtd, the VT-d unit with snoop control', testAbi: true,
    iommus: [vtd(true)], rootComplexes: [], functions: [nic(1), nic(2)],
  },
  'qemu-vtd-sm': {
    name: 'qemu-vtd-sm', description: 'as qemu-vtd, the VT-d unit in scalable mode (first stage, PASIDs; qemu 10, 48-bit)', testAbi: true,
    iommus: [vtdSm(false)], rootComplexes: [], functions: [nic(1), nic(2)],
  },
  'qemu-vtd-sm-sc': {
    name: 'qemu-vtd-sm-sc', description: 'as qemu-vtd-sm, the VT-d unit with snoop control', testAbi: true,
    iommus: [vtdSm(true)], rootComplexes: [], functions: [nic(1), nic(2)],
  },
  'intel-client': {
    name: 'intel-client',
    description: 'an Intel client machine: dmar0 with snoop control for an e1000e NIC and an NVMe-class function, '
      + 'dmar1 dedicated to the integrated GPU, without snoop control',
    testAbi: true,
    iommus: [vtd(true), vtd(false)],
    rootComplexes: [],
    functions: [
      nic(1),
      { model: 'pci-function', bdf: bdf(0, 3), iommu: 0, vendorId: 0x8086, deviceId: 0xf1a8, classCode: 0x010802 },
      { model: 'pci-function', bdf: bdf(0, 2), iommu: 1, vendorId: 0x8086, deviceId: 0x9a49, classCode: 0x030000 },
    ],
  },
  'arm-smmuv3': {
    name: 'arm-smmuv3',
    description: 'an arm64 server: a coherent SMMUv3 in front of a CANWBS root complex (segment 0) with an e1000e NIC, '
      + 'and a non-coherent SMMUv3 in front of segment 1 with an NVMe-class function',
    testAbi: true,
    iommus: [smmu(true), smmu(false)],
    rootComplexes: [{ segment: 0, canwbs: true }, { segment: 1, canwbs: false }],
    functions: [
      nic(1, 0),
      { model: 'pci-function', bdf: bdf(0, 1, 0, 1), iommu: 1, vendorId: 0x144d, deviceId: 0xa808, classCode: 0x010802 },
    ],
  },
  'qemu-vtd-igb': {
    name: 'qemu-vtd-igb', description: 'as qemu-vtd, plus an Intel 82576 (igb) NIC at 00:03.0 for VFIO', testAbi: true,
    // QEMU 10's intel-iommu defaults to aw-bits=48 (igb_sysfs.golden: CAP).
    iommus: [{ kind: 'vtd', snoopControl: false, addressWidth: 48 }], rootComplexes: [],
    functions: [nic(1), nic(2), { model: 'igb', bdf: bdf(0, 3), iommu: 0 }],
  },
  'amd-vi': {
    name: 'amd-vi', description: 'qemu q35 with amd-iommu and two e1000e NICs', testAbi: true,
    iommus: [{ kind: 'amd-vi', efr: QEMU_AMDVI_EFR, efr2: 0n }], rootComplexes: [], functions: [nic(2), nic(3)],
  },
  'qemu-smmuv3': {
    name: 'qemu-smmuv3',
    description: 'the oracle\'s --arm machine: qemu\'s arm64 virt with its SMMUv3 (stage 1 only; coherent by the IORT '
      + 'COHACC override; the root complex without CANWBS) and two e1000e NICs at 00:01.0 and 00:02.0',
    testAbi: true,
    iommus: [{ kind: 'smmuv3', coherent: true, stage1: true, stage2: false, s2fwb: false, oas: 44 }],
    rootComplexes: [{ segment: 0, canwbs: false }],
    functions: [nic(1), nic(2)],
  },
};

export const DEFAULT_PLATFORM = 'mock';

// ---- platform files -----------------------------------------------------------

/** The JSON path of a field, for messages: `iommus[0].snoopControl`. */
type Path = string;
const at = (p: Path, k: string | number): Path => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${k}` : k);
const bad = (p: Path, what: string): Errno => new Errno(EINVAL, `${p || '(top level)'}: ${what}`);

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function object(v: unknown, p: Path, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(p, `expected an object, got ${typeName(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(at(p, k), `unknown key (known: ${keys.join(', ')})`);
  return o;
}

function array(v: unknown, p: Path): unknown[] {
  if (!Array.isArray(v)) throw bad(p, `expected an array, got ${typeName(v)}`);
  return v;
}

function bool(v: unknown, p: Path, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw bad(p, `expected true or false, got ${typeName(v)}`);
  return v;
}

function str(v: unknown, p: Path): string {
  if (typeof v !== 'string') throw bad(p, `expected a string, got ${typeName(v)}`);
  return v;
}

/** A non-negative integer up to `max`: a JSON number, or a "0x..." string. */
function uint(v: unknown, p: Path, max: number): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) n = Number.parseInt(v.slice(2), 16);
  else throw bad(p, `expected an integer or a "0x..." string, got ${typeName(v)}`);
  if (!Number.isInteger(n) || n < 0 || n > max) throw bad(p, `${String(v)} is out of range 0..${max}`);
  return n;
}

/** A 64-bit register value: a "0x..." string (JSON numbers cannot hold 64 bits) or a small integer. */
function reg64(v: unknown, p: Path): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^0x[0-9a-f]{1,16}$/i.test(v)) return BigInt(v);
  throw bad(p, `expected a 64-bit value as a "0x..." string, got ${typeof v === 'string' ? JSON.stringify(v) : typeName(v)}`);
}

function oneOf<T extends string | number>(v: unknown, p: Path, allowed: readonly T[], dflt?: T): T {
  if (v === undefined && dflt !== undefined) return dflt;
  if (!allowed.includes(v as T)) throw bad(p, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v) ?? 'nothing'}`);
  return v as T;
}

/** "dddd:bb:dd.f" (sysfs's form) or "bb:dd.f" (segment 0). */
function parseBdf(v: unknown, p: Path): Bdf {
  const s = str(v, p);
  const m = /^(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(s);
  if (!m) throw bad(p, `expected a PCI address "dddd:bb:dd.f", got ${JSON.stringify(s)}`);
  const device = Number.parseInt(m[3]!, 16);
  if (device > 31) throw bad(p, `device ${device} is out of range 0..31`);
  return { domain: m[1] ? Number.parseInt(m[1], 16) : 0, bus: Number.parseInt(m[2]!, 16), device, fn: Number(m[4]) };
}

const UNIT_KEYS: Readonly<Record<IommuKind, readonly string[]>> = {
  vtd: ['kind', 'snoopControl', 'addressWidth', 'scalableMode', 'firstStage', 'secondStage', 'nesting'],
  smmuv3: ['kind', 'coherent', 'stage1', 'stage2', 's2fwb', 'oas'],
  'amd-vi': ['kind', 'efr', 'efr2'],
};
const KINDS = Object.keys(UNIT_KEYS) as IommuKind[];
/** The architecture a kind of IOMMU belongs to: one machine has one. */
const ARCH: Readonly<Record<IommuKind, string>> = { vtd: 'x86 (Intel)', 'amd-vi': 'x86 (AMD)', smmuv3: 'arm64' };

function parseUnit(v: unknown, p: Path): IommuUnitSpec {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(p, `expected an object, got ${typeName(v)}`);
  const kind = oneOf((v as Record<string, unknown>)['kind'], at(p, 'kind'), KINDS);
  const o = object(v, p, UNIT_KEYS[kind]);
  switch (kind) {
    case 'vtd': {
      const sm = bool(o['scalableMode'], at(p, 'scalableMode'), false);
      const u = { kind, snoopControl: bool(o['snoopControl'], at(p, 'snoopControl'), false), addressWidth: oneOf(o['addressWidth'], at(p, 'addressWidth'), [39, 48] as const, sm ? 48 : 39) };
      if (!sm) {
        for (const k of ['firstStage', 'secondStage', 'nesting']) if (o[k] !== undefined) throw bad(at(p, k), 'a scalable-mode switch: set scalableMode');
        return u;
      }
      const scalable = {
        firstStage: bool(o['firstStage'], at(p, 'firstStage'), true),
        secondStage: bool(o['secondStage'], at(p, 'secondStage'), false),
        nesting: bool(o['nesting'], at(p, 'nesting'), false),
      };
      if (!scalable.firstStage && !scalable.secondStage) throw bad(at(p, 'secondStage'), 'scalable mode needs a first or a second stage');
      if (scalable.nesting && !(scalable.firstStage && scalable.secondStage)) throw bad(at(p, 'nesting'), 'nesting needs firstStage and secondStage');
      return { ...u, scalable };
    }
    case 'smmuv3': {
      const u: SmmuV3UnitSpec = {
        kind,
        coherent: bool(o['coherent'], at(p, 'coherent'), true),
        stage1: bool(o['stage1'], at(p, 'stage1'), true),
        stage2: bool(o['stage2'], at(p, 'stage2'), true),
        s2fwb: bool(o['s2fwb'], at(p, 's2fwb'), false),
        oas: oneOf(o['oas'], at(p, 'oas'), [32, 36, 40, 42, 44, 48, 52] as const, 44),
      };
      if (!u.stage1 && !u.stage2) throw bad(at(p, 'stage2'), 'an SMMU needs stage 1 or stage 2 (the driver refuses IDR0 with neither)');
      if (u.s2fwb && !u.stage2) throw bad(at(p, 's2fwb'), 'S2FWB is a stage-2 feature: set stage2');
      return u;
    }
    case 'amd-vi': {
      const efr = o['efr'] === undefined ? QEMU_AMDVI_EFR : reg64(o['efr'], at(p, 'efr'));
      // EFR.HATS = 3 is reserved: the driver disables host translation and has no paging domains.
      if (((efr >> 10n) & 3n) === 3n) throw bad(at(p, 'efr'), 'HATS (bits 11:10) = 3 is reserved: no host page table');
      return { kind, efr, efr2: o['efr2'] === undefined ? 0n : reg64(o['efr2'], at(p, 'efr2')) };
    }
  }
}

function parseRootComplex(v: unknown, p: Path): RootComplexSpec {
  const o = object(v, p, ['segment', 'canwbs']);
  if (o['segment'] === undefined) throw bad(at(p, 'segment'), 'required');
  return { segment: uint(o['segment'], at(p, 'segment'), 0xffff), canwbs: bool(o['canwbs'], at(p, 'canwbs'), false) };
}

function parseFunction(v: unknown, p: Path): PciFunctionSpec {
  const o = object(v, p, ['model', 'bdf', 'iommu', 'group', 'vendorId', 'deviceId', 'classCode']);
  const model = oneOf(o['model'], at(p, 'model'), ['e1000e', 'igb', 'pci-function'] as const);
  if (o['bdf'] === undefined) throw bad(at(p, 'bdf'), 'required');
  const f: { -readonly [K in keyof PciFunctionSpec]: PciFunctionSpec[K] } = {
    model, bdf: parseBdf(o['bdf'], at(p, 'bdf')), iommu: o['iommu'] === undefined ? 0 : uint(o['iommu'], at(p, 'iommu'), 255),
  };
  if (o['group'] !== undefined) f.group = uint(o['group'], at(p, 'group'), 0xffff);
  for (const [k, max] of [['vendorId', 0xffff], ['deviceId', 0xffff], ['classCode', 0xffffff]] as const) {
    if (o[k] === undefined) continue;
    if (model !== 'pci-function') throw bad(at(p, k), `an ${model} has its own IDs (only a "pci-function" takes them)`);
    f[k] = uint(o[k], at(p, k), max);
  }
  return f;
}

/**
 * The combinations no machine has: IOMMU kinds of two architectures, a
 * function behind a unit that does not exist, two functions at one address,
 * a group spanning units, CANWBS (an IORT flag) on a root complex of an x86
 * machine, two root complexes for one segment. Used for built-in platforms too.
 */
export function checkPlatform(pl: Platform): void {
  const first = pl.iommus[0];
  pl.iommus.forEach((u, i) => {
    if (first && ARCH[u.kind] !== ARCH[first.kind]) throw bad(`iommus[${i}].kind`, `${u.kind} (${ARCH[u.kind]}) cannot share a machine with ${first.kind} (${ARCH[first.kind]})`);
  });
  const seen = new Map<string, number>();
  const groupUnit = new Map<number, number>();
  pl.functions.forEach((f, i) => {
    const p = `functions[${i}]`;
    if (f.iommu >= pl.iommus.length) throw bad(`${p}.iommu`, `no such unit (the platform has ${pl.iommus.length})`);
    const key = `${f.bdf.domain}:${f.bdf.bus}:${f.bdf.device}.${f.bdf.fn}`;
    if (seen.has(key)) throw bad(`${p}.bdf`, `the same address as functions[${seen.get(key)}]`);
    seen.set(key, i);
    if (f.group !== undefined) {
      const u = groupUnit.get(f.group);
      if (u !== undefined && u !== f.iommu) throw bad(`${p}.group`, `group ${f.group} is behind iommus[${u}]; a group cannot span two units`);
      groupUnit.set(f.group, f.iommu);
    }
  });
  const segs = new Set<number>();
  pl.rootComplexes.forEach((rc, i) => {
    if (segs.has(rc.segment)) throw bad(`rootComplexes[${i}].segment`, `segment ${rc.segment} has two root complexes`);
    segs.add(rc.segment);
    if (rc.canwbs && first && first.kind !== 'smmuv3') throw bad(`rootComplexes[${i}].canwbs`, `CANWBS is an ACPI IORT flag of arm64 machines; this one has ${first.kind}`);
  });
}

/**
 * The platform a platform file's text describes; `source` names the file in
 * messages. `{}` is the default platform (mock) under the file's name.
 */
export function parsePlatform(text: string, source: string): Platform {
  let j: unknown;
  try { j = JSON.parse(text); } catch (e) {
    throw new Errno(EINVAL, `${source}: not JSON: ${(e as Error).message}`);
  }
  try {
    if (typeof j === 'object' && j !== null && !Array.isArray(j)) {
      const kind = Object.keys(j).find((k) => (KINDS as string[]).includes(k));
      if (kind) throw bad(kind, `unknown key: units go in "iommus", e.g. "iommus": [{"kind": "${kind}", ...}]`);
    }
    const o = object(j, '', ['$schema', 'base', 'name', 'description', 'testAbi', 'iommus', 'rootComplexes', 'functions']);
    const baseName = o['base'] === undefined ? DEFAULT_PLATFORM : str(o['base'], 'base');
    const base = PLATFORMS[baseName];
    if (!base) throw bad('base', `no built-in platform ${JSON.stringify(baseName)} (built-in: ${Object.keys(PLATFORMS).join(', ')})`);
    if (o['$schema'] !== undefined) str(o['$schema'], '$schema');
    const pl: Platform = {
      name: o['name'] === undefined ? source : str(o['name'], 'name'),
      description: o['description'] === undefined ? base.description : str(o['description'], 'description'),
      testAbi: bool(o['testAbi'], 'testAbi', base.testAbi),
      iommus: o['iommus'] === undefined ? base.iommus : array(o['iommus'], 'iommus').map((u, i) => parseUnit(u, at('iommus', i))),
      rootComplexes: o['rootComplexes'] === undefined ? base.rootComplexes
        : array(o['rootComplexes'], 'rootComplexes').map((r, i) => parseRootComplex(r, at('rootComplexes', i))),
      functions: o['functions'] === undefined ? base.functions
        : array(o['functions'], 'functions').map((f, i) => parseFunction(f, at('functions', i))),
    };
    checkPlatform(pl);
    return pl;
  } catch (e) {
    if (e instanceof Errno) throw new Errno(e.code, `${source}: ${e.message.replace(/^E[A-Z0-9]+: /, '')}`);
    throw e;
  }
}
