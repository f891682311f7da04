// What --trace shows beyond an ioctl's own struct, as strace decodes it: the
// union member an IOMMU_TEST_CMD op uses, the driver data behind HWPT_ALLOC's
// and GET_HW_INFO's pointers by their type, and arrays behind pointers
// (allowed_iovas, the dirty bitmap) up to `strsize` elements, then `...`.
//
// Only bytes the ioctl itself touches are shown: inputs are read as the
// handler is about to read them (a fault prints `/* unreadable */` and
// changes nothing), outputs are taken from the writes the handler made
// (recordWrites), never read back from the caller's memory.
import * as U from '../uapi/iommufd.js';
import * as T from '../uapi/iommufd-test.js';
import { formatStruct, widthOf, type StructDef } from '../uapi/struct.js';
import type { AddressSpace } from '../hw/memory.js';

/** strace's default -s: the most elements (or bytes) an array shows. */
export const DEFAULT_STRSIZE = 32;

/** One successful write of the traced ioctl to the caller's memory. */
export interface Written { readonly va: bigint; readonly data: Uint8Array }

/**
 * Run `fn` with `mm`'s writes also recorded into `out` (the engine is
 * synchronous: nothing else writes through this mm meanwhile). The mm object
 * stays the same one: other code keys things by it.
 */
export function recordWrites<R>(mm: AddressSpace, out: Written[], fn: () => R): R {
  const own = Object.prototype.hasOwnProperty.call(mm, 'write');
  const orig = mm.write;
  const m = mm as { write: AddressSpace['write'] };
  m.write = function (this: AddressSpace, va: bigint, data: Uint8Array): void {
    orig.call(this, va, data);
    out.push({ va, data: data.slice() });
  };
  try {
    return fn();
  } finally {
    if (own) m.write = orig;
    else delete (m as { write?: unknown }).write;
  }
}

/** [va, va+len) as the recorded writes left it; undefined when a byte of it was not written. */
function written(w: readonly Written[], va: bigint, len: number): Uint8Array | undefined {
  const out = new Uint8Array(len);
  const got = new Uint8Array(len);
  for (const { va: at, data } of w) {
    const from = at > va ? at : va;
    const to = at + BigInt(data.length) < va + BigInt(len) ? at + BigInt(data.length) : va + BigInt(len);
    for (let p = from; p < to; p++) {
      out[Number(p - va)] = data[Number(p - at)]!;
      got[Number(p - va)] = 1;
    }
  }
  return got.every((b) => b) ? out : undefined;
}

/** Bytes the ioctl is about to read, for the trace only: a fault is `undefined`, never an error. */
function peek(mm: AddressSpace, va: bigint, len: number): Uint8Array | undefined {
  try { return mm.read(va, len); } catch { return undefined; }
}

const unreadable = (p: bigint): string => `0x${p.toString(16)} /* unreadable */`;

/** How much a trace shows: strace's -s and -v. */
export interface TraceStyle { readonly strsize: number; readonly verbose: boolean }

/** `{a=1, b=0x2}` from `bytes` (zero-extended to the struct's size). */
function nested(def: StructDef, bytes: Uint8Array, st: TraceStyle, only?: readonly string[]): string {
  const buf = new Uint8Array(def.size);
  buf.set(bytes.subarray(0, def.size));
  return `{${formatStruct(def, def.decode(buf), only, { sep: ', ', verbose: st.verbose })}}`;
}

/** `[{start=0x0, last=0xfff}, ...]`: `count` 16-byte ranges from `bytes`, `more` when there are others. */
function ranges(bytes: Uint8Array, count: number, more: boolean, st: TraceStyle): string {
  const items = Array.from({ length: count }, (_, i) => nested(U.IommuIovaRange, bytes.subarray(16 * i, 16 * i + 16), st));
  if (more) items.push('...');
  return `[${items.join(', ')}]`;
}

/** iommu_hwpt_alloc.data_type → the driver's struct. */
const HWPT_DATA = new Map<number, StructDef>([
  [U.IOMMU_HWPT_DATA_VTD_S1, U.IommuHwptVtdS1], [U.IOMMU_HWPT_DATA_ARM_SMMUV3, U.IommuHwptArmSmmuv3],
  [U.IOMMU_HWPT_DATA_AMD_GUEST, U.IommuHwptAmdGuest], [T.IOMMU_HWPT_DATA_SELFTEST, T.IommuHwptSelftest],
]);

/** iommu_hw_info.out_data_type → the driver's struct. */
const HW_INFO_DATA = new Map<number, StructDef>([
  [U.IOMMU_HW_INFO_TYPE_INTEL_VTD, U.IommuHwInfoVtd], [U.IOMMU_HW_INFO_TYPE_ARM_SMMUV3, U.IommuHwInfoArmSmmuv3],
  [U.IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, U.IommuHwInfoTegra241Cmdqv], [U.IOMMU_HW_INFO_TYPE_AMD, U.IommuHwInfoAmd],
  [T.IOMMU_HW_INFO_TYPE_SELFTEST, T.IommuTestHwInfo],
]);

/** iommu_viommu_alloc.type → the driver's data (in and out). */
const VIOMMU_DATA = new Map<number, StructDef>([
  [U.IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV, U.IommuViommuTegra241Cmdqv], [T.IOMMU_VIOMMU_TYPE_SELFTEST, T.IommuViommuSelftest],
]);

/**
 * iommu_hwpt_invalidate.data_type → an entry's struct. The selftest's magic
 * is one number for a mock nested HWPT's entries and a mock vIOMMU's; the
 * entry length the caller gives tells them apart (8 and 12 bytes).
 */
function invalidateEntry(type: number, entryLen: number): StructDef | undefined {
  switch (type) {
    case U.IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: return U.IommuHwptVtdS1Invalidate;
    case U.IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3: return U.IommuViommuArmSmmuv3Invalidate;
    case T.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST:
    case T.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID:
      return entryLen >= T.IommuViommuInvalidateSelftest.size ? T.IommuViommuInvalidateSelftest : T.IommuHwptInvalidateSelftest;
  }
  return undefined;
}

/** The mock driver's magics by name (iommufd_test.h's, not in the uAPI header's enums). */
const TEST_ENUMS: ReadonlyMap<string, ReadonlyMap<number, string>> = new Map([
  ['iommu_hwpt_alloc.data_type', new Map([[T.IOMMU_HWPT_DATA_SELFTEST, 'IOMMU_HWPT_DATA_SELFTEST']])],
  ['iommu_hw_info.in_data_type', new Map([[T.IOMMU_HW_INFO_TYPE_SELFTEST, 'IOMMU_HW_INFO_TYPE_SELFTEST']])],
  ['iommu_hw_info.out_data_type', new Map([[T.IOMMU_HW_INFO_TYPE_SELFTEST, 'IOMMU_HW_INFO_TYPE_SELFTEST']])],
  ['iommu_hwpt_invalidate.data_type', new Map([[T.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 'IOMMU_HWPT_INVALIDATE_DATA_SELFTEST'],
    [T.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID, 'IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID']])],
  ['iommu_viommu_alloc.type', new Map([[T.IOMMU_VIOMMU_TYPE_SELFTEST, 'IOMMU_VIOMMU_TYPE_SELFTEST']])],
  ['iommu_veventq_alloc.type', new Map([[T.IOMMU_VEVENTQ_TYPE_SELFTEST, 'IOMMU_VEVENTQ_TYPE_SELFTEST']])],
  ['iommu_hw_queue_alloc.type', new Map([[T.IOMMU_HW_QUEUE_TYPE_SELFTEST, 'IOMMU_HW_QUEUE_TYPE_SELFTEST']])],
]);

/** Fields of `cmd` holding one of the mock driver's magics, by name (for formatStruct's `show`). */
export function testNames(def: StructDef, cmd: Cmd): Record<string, string> {
  const show: Record<string, string> = {};
  for (const k of Object.keys(def.fields)) {
    const name = TEST_ENUMS.get(`${def.name}.${k}`)?.get(cmd[k] as number);
    if (name) show[k] = name;
  }
  return show;
}

/** `count` entries of `len` bytes each (the first `def.size` of each shown), `more` when there are others. */
function entries(def: StructDef, bytes: Uint8Array, len: number, count: number, more: boolean, st: TraceStyle): string {
  const items = Array.from({ length: count }, (_, i) => nested(def, bytes.subarray(len * i, len * i + Math.min(len, def.size)), st));
  if (more) items.push('...');
  return `[${items.join(', ')}]`;
}

/** vEVENTQ type → its records' data. */
const VEVENT_DATA = new Map<number, StructDef>([
  [U.IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, U.IommuVeventArmSmmuv3], [U.IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV, U.IommuVeventTegra241Cmdqv],
  [T.IOMMU_VEVENTQ_TYPE_SELFTEST, T.IommuViommuEventSelftest],
]);

/**
 * Records a read() returned or a write() took, for its trace line, up to
 * `strsize` of them: `[{...}, ...]`. A vEVENT record is its header, then its
 * data by the queue's type (none after the lost-events header).
 */
export function traceRecords(def: StructDef, recs: readonly Uint8Array[], st: TraceStyle, veventType?: number): string {
  const shown = recs.slice(0, st.strsize).map((r) => {
    if (veventType === undefined) return nested(def, r, st);
    const head = nested(def, r.subarray(0, def.size), st);
    const data = VEVENT_DATA.get(veventType);
    return r.length > def.size ? `${head} ${data ? nested(data, r.subarray(def.size), st) : `[${r.length - def.size} bytes]`}` : head;
  });
  if (recs.length > shown.length) shown.push('...');
  return `[${shown.join(', ')}]`;
}

/** The member name of a test op's view ('mock_domain'). */
const memberOf = (view: StructDef): string => view.name.slice(view.name.indexOf('.') + 1);

type Cmd = Record<string, unknown>;

/**
 * The ioctl's arguments as the trace shows them on entry: its struct, with
 * nested payloads and input arrays decoded.
 */
export function traceArgs(name: string, def: StructDef, cmd: Cmd, raw: Uint8Array, mm: AddressSpace, st: TraceStyle): string {
  const show: Record<string, string> = testNames(def, cmd);
  /** The vendor data at data_uptr, `len` bytes given: decoded as `d` (its struct's size at most). */
  const showData = (d: StructDef | undefined, len: number, p: bigint): void => {
    if (!d || !len) return;
    const bytes = peek(mm, p, Math.min(len, d.size));
    show.data_uptr = bytes ? nested(d, bytes, st) : unreadable(p);
  };
  let tail = '';
  switch (name) {
    case 'IOMMU_TEST_CMD': {
      const view = T.IOMMU_TEST_OP_VIEWS.get(cmd.op as number);
      if (view) tail = ` ${memberOf(view)}=${nested(view, raw, st)}`;
      break;
    }
    case 'IOMMU_HWPT_ALLOC':
      showData(HWPT_DATA.get(cmd.data_type as number), cmd.data_len as number, cmd.data_uptr as bigint);
      break;
    case 'IOMMU_VIOMMU_ALLOC':
      showData(VIOMMU_DATA.get(cmd.type as number), cmd.data_len as number, cmd.data_uptr as bigint);
      break;
    case 'IOMMU_HWPT_INVALIDATE': {
      const len = cmd.entry_len as number, n = cmd.entry_num as number, p = cmd.data_uptr as bigint;
      const d = invalidateEntry(cmd.data_type as number, len);
      if (d === T.IommuViommuInvalidateSelftest) {
        show.data_type = cmd.data_type === T.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST ? 'IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST' : 'IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID';
      }
      const shown = Math.min(n, st.strsize);
      if (d && len && n) {
        const bytes = peek(mm, p, len * shown);
        show.data_uptr = bytes ? entries(d, bytes, len, shown, n > shown, st) : unreadable(p);
      }
      break;
    }
    case 'IOMMU_IOAS_ALLOW_IOVAS': {
      const n = cmd.num_iovas as number, p = cmd.allowed_iovas as bigint;
      const shown = Math.min(n, st.strsize);
      if (n) {
        const bytes = peek(mm, p, 16 * shown);
        show.allowed_iovas = bytes ? ranges(bytes, shown, n > shown, st) : unreadable(p);
      }
      break;
    }
  }
  return formatStruct(def, cmd, undefined, { show, verbose: st.verbose }) + tail;
}

/**
 * What the ioctl wrote, after success, beyond its struct's changed fields
 * (`changed`, already formatted): the test op's union member, the vendor
 * data, the ranges, the dirty bitmap's words.
 */
export function traceOut(
  name: string, before: Cmd, after: Cmd, raw: Uint8Array, arg: bigint, writes: readonly Written[], st: TraceStyle,
): string {
  switch (name) {
    case 'IOMMU_TEST_CMD': {
      const view = T.IOMMU_TEST_OP_VIEWS.get(before.op as number);
      const back = view && written(writes, arg, Math.min(raw.length, view.size));
      if (!view || !back) return '';
      const was = view.decode(zeroExtend(raw, view.size)), now = view.decode(zeroExtend(back, view.size));
      const changed = Object.keys(view.fields).filter((k) => String(was[k]) !== String(now[k]));
      return changed.length ? `${memberOf(view)}=${nested(view, back, st, changed)}` : '';
    }
    case 'IOMMU_GET_HW_INFO': {
      const d = HW_INFO_DATA.get(after.out_data_type as number);
      const len = Math.min(before.data_len as number, d?.size ?? 0), p = before.data_uptr as bigint;
      if (!d || !len) return '';
      const bytes = written(writes, p, len);
      return `data_uptr=${bytes ? nested(d, bytes, st) : unreadable(p)}`;
    }
    case 'IOMMU_VIOMMU_ALLOC': {
      // What the driver wrote back into its data (the selftest's out_data, the mmap window).
      const d = VIOMMU_DATA.get(before.type as number);
      const len = Math.min(before.data_len as number, d?.size ?? 0), p = before.data_uptr as bigint;
      if (!d || !len) return '';
      const outs = Object.entries(d.fields).filter(([k, f]) => k.startsWith('out_') && f.off < len).map(([k]) => k);
      const got = outs.filter((k) => { const f = d.fields[k]!; return written(writes, p + BigInt(f.off), Math.min(len, f.off + widthOf(f)) - f.off) !== undefined; });
      if (!got.length) return '';
      const bytes = new Uint8Array(d.size);
      for (const k of got) {
        const f = d.fields[k]!;
        bytes.set(written(writes, p + BigInt(f.off), Math.min(len, f.off + widthOf(f)) - f.off)!, f.off);
      }
      return `data_uptr=${nested(d, bytes, st, got)}`;
    }
    case 'IOMMU_IOAS_IOVA_RANGES': {
      const n = Math.min(after.num_iovas as number, before.num_iovas as number), p = before.allowed_iovas as bigint;
      if (!n) return '';
      const shown = Math.min(n, st.strsize);
      const bytes = written(writes, p, 16 * shown);
      return `allowed_iovas=${bytes ? ranges(bytes, shown, n > shown, st) : unreadable(p)}`;
    }
    case 'IOMMU_HWPT_GET_DIRTY_BITMAP': {
      // The kernel sets bits word by word: the words it wrote, by index.
      const p = before.data as bigint;
      const words = writes.filter((w) => w.data.length === 8 && w.va >= p && (w.va - p) % 8n === 0n);
      const shown = words.slice(0, st.strsize).map((w) => `[${(w.va - p) / 8n}]=0x${new DataView(w.data.buffer, w.data.byteOffset, 8).getBigUint64(0, true).toString(16)}`);
      if (words.length > shown.length) shown.push('...');
      return `data=[${shown.join(', ')}]`;
    }
  }
  return '';
}

function zeroExtend(b: Uint8Array, size: number): Uint8Array {
  if (b.length >= size) return b;
  const out = new Uint8Array(size);
  out.set(b);
  return out;
}
