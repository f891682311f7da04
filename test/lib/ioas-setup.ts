// A fresh /dev/iommu with one IOAS and 16 MiB of 2 MiB-aligned memory.
import { openIommufd, type IommufdFile } from '../../src/lib/index.js';

export function setup(): { f: IommufdFile; ioas: number; buf: bigint } {
  const f = openIommufd();
  const ioas = f.ioasAlloc();
  const buf = f.proc.mmap(16n << 20n, { align: 2n << 20n });
  return { f, ioas, buf };
}
