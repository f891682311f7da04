// Binary struct layouts as field tables, and the one codec every ioctl uses.
// Layouts are little-endian (every architecture iommufd supports here); u64
// fields are bigint, narrower ones number, byte arrays Uint8Array.

export type FieldKind = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 'bytes' | 'u32[]' | 'u64[]';

export interface FieldSpec<K extends FieldKind = FieldKind> {
  readonly off: number;
  readonly kind: K;
  /** Byte length, for 'bytes' fields only. */
  readonly len?: number;
  /** Element count, for the fixed arrays 'u32[]' and 'u64[]' only. */
  readonly count?: number;
}

export const u8 = (off: number): FieldSpec<'u8'> => ({ off, kind: 'u8' });
export const u16 = (off: number): FieldSpec<'u16'> => ({ off, kind: 'u16' });
export const u32 = (off: number): FieldSpec<'u32'> => ({ off, kind: 'u32' });
export const s32 = (off: number): FieldSpec<'s32'> => ({ off, kind: 's32' });
export const u64 = (off: number): FieldSpec<'u64'> => ({ off, kind: 'u64' });
export const bytes = (off: number, len: number): FieldSpec<'bytes'> => ({ off, kind: 'bytes', len });
/** A fixed array of `count` u32 (e.g. `__u32 idr[6]`), decoded as number[]. */
export const u32s = (off: number, count: number): FieldSpec<'u32[]'> => ({ off, kind: 'u32[]', count });
/** A fixed array of `count` u64/le64 (e.g. `__aligned_le64 ste[2]`), decoded as bigint[]. */
export const u64s = (off: number, count: number): FieldSpec<'u64[]'> => ({ off, kind: 'u64[]', count });

type ValueOf<S> = S extends FieldSpec<'u64'> ? bigint
  : S extends FieldSpec<'bytes'> ? Uint8Array
  : S extends FieldSpec<'u32[]'> ? number[]
  : S extends FieldSpec<'u64[]'> ? bigint[]
  : number;

/** Any value a field decodes to. */
export type FieldValue = number | bigint | Uint8Array | number[] | bigint[];

export type Fields = Record<string, FieldSpec>;
export type Decoded<F extends Fields> = { -readonly [K in keyof F]: ValueOf<F[K]> };

export function widthOf(f: FieldSpec): number {
  switch (f.kind) {
    case 'u8': return 1;
    case 'u16': return 2;
    case 'u32': case 's32': return 4;
    case 'u64': return 8;
    case 'bytes': return f.len ?? 0;
    case 'u32[]': return 4 * (f.count ?? 0);
    case 'u64[]': return 8 * (f.count ?? 0);
  }
}

/**
 * How a trace shows a field's value: the names of its flag bits (joined with
 * '|', unknown bits as hex) or of its enum values, as strace prints them.
 */
export interface Symbolic { readonly kind: 'flags' | 'enum'; readonly names: ReadonlyArray<readonly [number, string]> }

export function flagNames(...names: Array<readonly [number, string]>): Symbolic { return { kind: 'flags', names }; }
export function enumNames(...names: Array<readonly [number, string]>): Symbolic { return { kind: 'enum', names }; }

/** `v` as `sym` names it: FOO|BAR|0x80 for flags (0 as 0), NAME or the number for an enum. */
export function symbolic(sym: Symbolic, v: number): string {
  if (sym.kind === 'enum') return sym.names.find(([n]) => n === v)?.[1] ?? (v > 9 ? `0x${(v >>> 0).toString(16)}` : String(v));
  if (v === 0) return '0';
  const parts: string[] = [];
  let rest = v >>> 0;
  for (const [bit, name] of sym.names) {
    if (bit !== 0 && (rest & bit) === bit) { parts.push(name); rest = (rest & ~bit) >>> 0; }
  }
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.join('|');
}

export interface StructDef<F extends Fields = Fields> {
  readonly name: string;
  /** Fields a trace shows by name (flags, enums). */
  readonly symbols?: { readonly [field: string]: Symbolic };
  /** sizeof(struct) in the newest header we know. */
  readonly size: number;
  readonly fields: F;
  /** Decode from `buf` (at least `size` bytes; shorter callers are zero-extended first). */
  decode(buf: Uint8Array): Decoded<F>;
  /** Encode `v` into a fresh `size`-byte buffer. */
  encode(v: Partial<Decoded<F>>): Uint8Array;
  /** Write the fields of `v` that are set over `buf` (bytes no field covers stay as they are). */
  encodeInto(v: Partial<Decoded<F>>, buf: Uint8Array): Uint8Array;
  /** offsetofend(struct, field). */
  end(field: keyof F & string): number;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function readField(dv: DataView, f: FieldSpec): FieldValue {
  switch (f.kind) {
    case 'u8': return dv.getUint8(f.off);
    case 'u16': return dv.getUint16(f.off, true);
    case 'u32': return dv.getUint32(f.off, true);
    case 's32': return dv.getInt32(f.off, true);
    case 'u64': return dv.getBigUint64(f.off, true);
    case 'bytes': return new Uint8Array(dv.buffer.slice(dv.byteOffset + f.off, dv.byteOffset + f.off + (f.len ?? 0)));
    case 'u32[]': return Array.from({ length: f.count ?? 0 }, (_, i) => dv.getUint32(f.off + 4 * i, true));
    case 'u64[]': return Array.from({ length: f.count ?? 0 }, (_, i) => dv.getBigUint64(f.off + 8 * i, true));
  }
}

export function writeField(dv: DataView, f: FieldSpec, v: FieldValue): void {
  switch (f.kind) {
    case 'u8': dv.setUint8(f.off, Number(v)); return;
    case 'u16': dv.setUint16(f.off, Number(v), true); return;
    case 'u32': dv.setUint32(f.off, Number(v) >>> 0, true); return;
    case 's32': dv.setInt32(f.off, Number(v) | 0, true); return;
    case 'u64': dv.setBigUint64(f.off, BigInt.asUintN(64, BigInt(v as number | bigint)), true); return;
    case 'bytes': new Uint8Array(dv.buffer, dv.byteOffset + f.off, f.len ?? 0).set(v as Uint8Array); return;
    case 'u32[]': {
      const a = v as number[];
      for (let i = 0; i < Math.min(a.length, f.count ?? 0); i++) dv.setUint32(f.off + 4 * i, Number(a[i]) >>> 0, true);
      return;
    }
    case 'u64[]': {
      const a = v as bigint[];
      for (let i = 0; i < Math.min(a.length, f.count ?? 0); i++) {
        dv.setBigUint64(f.off + 8 * i, BigInt.asUintN(64, BigInt(a[i] as bigint)), true);
      }
      return;
    }
  }
}

export function defineStruct<F extends Fields>(
  name: string, size: number, fields: F, symbols?: { readonly [K in keyof F]?: Symbolic },
): StructDef<F> {
  for (const [k, f] of Object.entries(fields)) {
    if (f.off + widthOf(f) > size) throw new Error(`${name}.${k} lies past sizeof ${size}`);
  }
  const entries = Object.entries(fields);
  return {
    name, size, fields, ...(symbols ? { symbols: symbols as { readonly [field: string]: Symbolic } } : {}),
    decode(buf) {
      const dv = view(buf);
      const out: Record<string, unknown> = {};
      for (const [k, f] of entries) out[k] = readField(dv, f);
      return out as Decoded<F>;
    },
    encode(v) {
      // Backed by an explicit ArrayBuffer: asking a small on-heap typed array
      // for its .buffer makes V8 move it off-heap, which costs more than the codec.
      const ab = new ArrayBuffer(size);
      const buf = new Uint8Array(ab);
      const dv = new DataView(ab);
      for (const [k, f] of entries) {
        const x = (v as Record<string, FieldValue | undefined>)[k];
        if (x !== undefined) writeField(dv, f, x);
      }
      return buf;
    },
    encodeInto(v, buf) {
      const dv = view(buf);
      for (const [k, f] of entries) {
        const x = (v as Record<string, FieldValue | undefined>)[k];
        if (x !== undefined) writeField(dv, f, x);
      }
      return buf;
    },
    end(field) {
      const f = fields[field];
      if (!f) throw new Error(`${name} has no field ${field}`);
      return f.off + widthOf(f);
    },
  };
}

/** How formatStruct renders: the separator, and fields shown as given (a pointer as what it points to). */
export interface FormatOptions {
  /** Between fields: ' ' at a line's top level (the default), ', ' inside braces. */
  readonly sep?: string;
  /** Text to show for these fields instead of their value (an array behind a pointer...). */
  readonly show?: { readonly [field: string]: string };
  /** strace -v: also reserved fields that are 0 (abbreviated, they are left out). */
  readonly verbose?: boolean;
}

/** One field's value as a trace line shows it (its symbols when it has them): for hand-made lines. */
export function showField(def: StructDef, k: string, x: number | bigint): string {
  const sym = def.symbols?.[k];
  if (sym && (typeof x === 'number' || x <= 0xffffffffn)) return symbolic(sym, Number(x));
  if (typeof x === 'bigint') return `0x${x.toString(16)}`;
  return x > 9 ? `0x${(x >>> 0).toString(16)}` : String(x);
}

/** Render a decoded struct for a trace line: `a=1 b=0x1000 ...`. */
export function formatStruct(def: StructDef, v: Record<string, unknown>, only?: readonly string[], o: FormatOptions = {}): string {
  const parts: string[] = [];
  for (const k of Object.keys(def.fields)) {
    if (only && !only.includes(k)) continue;
    // The leading size/argsz (the struct's length, not data); vfio_region_info's size is data.
    if ((k === 'size' || k === 'argsz') && def.fields[k]!.off === 0) continue;
    const x = v[k];
    if (!o.verbose && k.startsWith('__reserved') && (x === 0 || x === 0n || (x instanceof Uint8Array && x.every((b) => b === 0)))) continue;
    const sym = def.symbols?.[k];
    const shown = o.show?.[k];
    if (shown !== undefined) parts.push(`${k}=${shown}`);
    else if (sym && typeof x === 'number') parts.push(`${k}=${symbolic(sym, x)}`);
    // A u64 of flags whose bits all fit 32 (out_capabilities, the VT-d S1 flags).
    else if (sym && typeof x === 'bigint' && x <= 0xffffffffn) parts.push(`${k}=${symbolic(sym, Number(x))}`);
    else if (typeof x === 'bigint') parts.push(`${k}=0x${x.toString(16)}`);
    else if (typeof x === 'number') parts.push(`${k}=${x > 9 ? '0x' + (x >>> 0).toString(16) : x}`);
    else if (x instanceof Uint8Array) { if (x.some((b) => b !== 0)) parts.push(`${k}=[${Array.from(x).join(',')}]`); }
    else if (Array.isArray(x)) {
      // Data arrays in full (ste, idr...); reserved ones (caught above when 0) only when not 0.
      parts.push(`${k}=[${x.map((e) => '0x' + e.toString(16)).join(',')}]`);
    }
  }
  return parts.join(o.sep ?? ' ');
}
