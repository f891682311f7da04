// Binary struct layouts as field tables, and the one codec every ioctl uses.
// Layouts are little-endian (every architecture iommufd supports here); u64
// fields are bigint, narrower ones number, byte arrays Uint8Array.

export type FieldKind = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 'bytes';

export interface FieldSpec<K extends FieldKind = FieldKind> {
  readonly off: number;
  readonly kind: K;
  /** Byte length, for 'bytes' fields only. */
  readonly len?: number;
}

export const u8 = (off: number): FieldSpec<'u8'> => ({ off, kind: 'u8' });
export const u16 = (off: number): FieldSpec<'u16'> => ({ off, kind: 'u16' });
export const u32 = (off: number): FieldSpec<'u32'> => ({ off, kind: 'u32' });
export const s32 = (off: number): FieldSpec<'s32'> => ({ off, kind: 's32' });
export const u64 = (off: number): FieldSpec<'u64'> => ({ off, kind: 'u64' });
export const bytes = (off: number, len: number): FieldSpec<'bytes'> => ({ off, kind: 'bytes', len });

type ValueOf<S> = S extends FieldSpec<'u64'> ? bigint : S extends FieldSpec<'bytes'> ? Uint8Array : number;

export type Fields = Record<string, FieldSpec>;
export type Decoded<F extends Fields> = { -readonly [K in keyof F]: ValueOf<F[K]> };

export function widthOf(f: FieldSpec): number {
  switch (f.kind) {
    case 'u8': return 1;
    case 'u16': return 2;
    case 'u32': case 's32': return 4;
    case 'u64': return 8;
    case 'bytes': return f.len ?? 0;
  }
}

export interface StructDef<F extends Fields = Fields> {
  readonly name: string;
  /** sizeof(struct) in the newest header we know. */
  readonly size: number;
  readonly fields: F;
  /** Decode from `buf` (at least `size` bytes; shorter callers are zero-extended first). */
  decode(buf: Uint8Array): Decoded<F>;
  /** Encode `v` into a fresh `size`-byte buffer. */
  encode(v: Partial<Decoded<F>>): Uint8Array;
  /** offsetofend(struct, field). */
  end(field: keyof F & string): number;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function readField(dv: DataView, f: FieldSpec): number | bigint | Uint8Array {
  switch (f.kind) {
    case 'u8': return dv.getUint8(f.off);
    case 'u16': return dv.getUint16(f.off, true);
    case 'u32': return dv.getUint32(f.off, true);
    case 's32': return dv.getInt32(f.off, true);
    case 'u64': return dv.getBigUint64(f.off, true);
    case 'bytes': return new Uint8Array(dv.buffer.slice(dv.byteOffset + f.off, dv.byteOffset + f.off + (f.len ?? 0)));
  }
}

export function writeField(dv: DataView, f: FieldSpec, v: number | bigint | Uint8Array): void {
  switch (f.kind) {
    case 'u8': dv.setUint8(f.off, Number(v)); return;
    case 'u16': dv.setUint16(f.off, Number(v), true); return;
    case 'u32': dv.setUint32(f.off, Number(v) >>> 0, true); return;
    case 's32': dv.setInt32(f.off, Number(v) | 0, true); return;
    case 'u64': dv.setBigUint64(f.off, BigInt.asUintN(64, BigInt(v as number | bigint)), true); return;
    case 'bytes': new Uint8Array(dv.buffer, dv.byteOffset + f.off, f.len ?? 0).set(v as Uint8Array); return;
  }
}

export function defineStruct<F extends Fields>(name: string, size: number, fields: F): StructDef<F> {
  for (const [k, f] of Object.entries(fields)) {
    if (f.off + widthOf(f) > size) throw new Error(`${name}.${k} lies past sizeof ${size}`);
  }
  const entries = Object.entries(fields);
  return {
    name, size, fields,
    decode(buf) {
      const dv = view(buf);
      const out: Record<string, unknown> = {};
      for (const [k, f] of entries) out[k] = readField(dv, f);
      return out as Decoded<F>;
    },
    encode(v) {
      const buf = new Uint8Array(size);
      const dv = view(buf);
      for (const [k, f] of entries) {
        const x = (v as Record<string, number | bigint | Uint8Array | undefined>)[k];
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

/** Render a decoded struct for a trace line: `a=1 b=0x1000 ...`. */
export function formatStruct(def: StructDef, v: Record<string, unknown>, only?: readonly string[]): string {
  const parts: string[] = [];
  for (const k of Object.keys(def.fields)) {
    if (only && !only.includes(k)) continue;
    if (k === 'size' || k === 'argsz') continue;
    const x = v[k];
    if (typeof x === 'bigint') parts.push(`${k}=0x${x.toString(16)}`);
    else if (typeof x === 'number') parts.push(`${k}=${x > 9 ? '0x' + (x >>> 0).toString(16) : x}`);
    else if (x instanceof Uint8Array) { if (x.some((b) => b !== 0)) parts.push(`${k}=[${Array.from(x).join(',')}]`); }
  }
  return parts.join(' ');
}
