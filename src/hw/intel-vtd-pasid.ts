// VT-d scalable-mode PASID table entries (drivers/iommu/intel/pasid.[ch]):
// in scalable mode a device's context entry points at a PASID table, and the
// entry for each PASID (RID_PASID, 0, for requests without one) says how its
// requests translate: first stage only, second stage only, nested or pass-
// through (PGTT), with the table pointers, the domain id, the address width
// and the snoop bits: PWSNP (bit 87) makes the unit snoop its own table walks,
// PGSNP (bit 88) makes every request of the PASID snoop, which is how a
// first-stage domain enforces cache coherency (IA-32e entries have no SNP).
//
// Entries are 512 bits; the driver writes the first three quadwords (val[0]
// to val[2]), kept here as bigints. The table pointers are not modelled (the
// domains keep their translations as runs): FLPTR/SLPTR hold the nested
// configuration's guest pointer or 0, and each entry remembers its domain.
import { Errno, EBUSY } from '../uapi/errno.js';
import type { HwDomain, IommuDevice } from './iommu.js';

/** IOMMU_NO_PASID: the PASID of requests without one (RID_PASID). */
export const VTD_RID_PASID = 0;

/** PGTT: PASID-granular translation type (val[0] bits 8:6). */
export const PASID_ENTRY_PGTT_FL_ONLY = 1;
export const PASID_ENTRY_PGTT_SL_ONLY = 2;
export const PASID_ENTRY_PGTT_NESTED = 3;
export const PASID_ENTRY_PGTT_PT = 4;

const bit = (n: number): bigint => 1n << BigInt(n);
const PAGE_MASK = ~0xfffn & ((1n << 64n) - 1n);

/** val[0]: present, fault processing disable, AW (4:2), PGTT (8:6), SSADE (9), SLPTR (63:12). */
export const PE0_P = bit(0);
export const PE0_FPD = bit(1);
export const PE0_SSADE = bit(9);
/** val[1]: DID (15:0), PWSNP (bit 23: 87 of the entry), PGSNP (bit 24: 88). */
export const PE1_PWSNP = bit(23);
export const PE1_PGSNP = bit(24);
/** val[2]: SRE (0), FLPM (3:2), WPE (4), EAFE (7), FLPTR (63:12). */
export const PE2_SRE = bit(0);
export const PE2_WPE = bit(4);
export const PE2_EAFE = bit(7);

/** What a PASID entry is made of, before encoding. */
export interface PasidEntryConfig {
  readonly pgtt: number;
  readonly did: number;
  /** AW: the second stage's levels (pt_info.aw) or the unit's agaw. */
  readonly aw: number;
  readonly pwsnp: boolean;
  readonly pgsnp?: boolean;
  /** First-stage paging mode: 5-level (FLPM = 1). */
  readonly fl5lp?: boolean;
  readonly flptr?: bigint;
  readonly slptr?: bigint;
  readonly sre?: boolean;
  readonly wpe?: boolean;
  readonly eafe?: boolean;
  readonly ssade?: boolean;
}

/** The three quadwords the driver writes (pasid_pte_config_*), present. */
export function encodePasidEntry(c: PasidEntryConfig): [bigint, bigint, bigint] {
  let v0 = PE0_P | (BigInt(c.aw & 7) << 2n) | (BigInt(c.pgtt & 7) << 6n) | ((c.slptr ?? 0n) & PAGE_MASK);
  if (c.ssade) v0 |= PE0_SSADE;
  let v1 = BigInt(c.did & 0xffff);
  if (c.pwsnp) v1 |= PE1_PWSNP;
  if (c.pgsnp) v1 |= PE1_PGSNP;
  let v2 = ((c.flptr ?? 0n) & PAGE_MASK) | (c.fl5lp ? 1n << 2n : 0n);
  if (c.sre) v2 |= PE2_SRE;
  if (c.sre && c.wpe) v2 |= PE2_WPE;
  if (c.eafe) v2 |= PE2_EAFE;
  return [v0, v1, v2];
}

/** One present entry and the domain it translates through. */
export interface PasidEntry {
  val: [bigint, bigint, bigint];
  readonly domain: HwDomain;
}

export const pasidEntryPgtt = (e: PasidEntry): number => Number((e.val[0] >> 6n) & 7n);
export const pasidEntryPgsnp = (e: PasidEntry): boolean => (e.val[1] & PE1_PGSNP) !== 0n;
export const pasidEntryPwsnp = (e: PasidEntry): boolean => (e.val[1] & PE1_PWSNP) !== 0n;
export const pasidEntryDid = (e: PasidEntry): number => Number(e.val[1] & 0xffffn);

/** The PASID tables of one unit's devices (one per device, made when it is probed in scalable mode). */
export class VtdPasidTables {
  private readonly tables = new Map<IommuDevice, Map<number, PasidEntry>>();

  entry(dev: IommuDevice, pasid: number): PasidEntry | undefined {
    return this.tables.get(dev)?.get(pasid);
  }

  /** intel_pasid_setup_*: EBUSY when the entry is already present. */
  setup(dev: IommuDevice, pasid: number, domain: HwDomain, c: PasidEntryConfig): void {
    let t = this.tables.get(dev);
    if (!t) this.tables.set(dev, t = new Map());
    if (t.has(pasid)) throw new Errno(EBUSY, `PASID ${pasid} entry present`);
    t.set(pasid, { val: encodePasidEntry(c), domain });
  }

  /** intel_pasid_tear_down_entry; with `owner`, only an entry of that domain. */
  tearDown(dev: IommuDevice, pasid: number, owner?: HwDomain): void {
    const t = this.tables.get(dev);
    const e = t?.get(pasid);
    if (!e || (owner && e.domain !== owner)) return;
    t!.delete(pasid);
  }

  /** intel_pasid_setup_page_snoop_control: set PGSNP in a present entry. */
  setPageSnoop(dev: IommuDevice, pasid: number): void {
    const e = this.entry(dev, pasid);
    if (e) e.val[1] |= PE1_PGSNP;
  }
}
