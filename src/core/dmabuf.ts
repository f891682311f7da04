// dma-bufs: the selftest's exporter (IOMMU_TEST_OP_DMABUF_GET/REVOKE in
// drivers/iommu/iommufd/selftest.c) and iommufd as their importer
// (IOMMU_IOAS_MAP_FILE of a dma-buf fd: iopt_alloc_dmabuf_pages and the revoke
// notifier in pages.c).
//
// A test dma-buf is round_up(length, PAGE_SIZE) bytes of zeroed, physically
// contiguous kernel memory (kzalloc). Here that memory is a space of its own
// (a FileSpace over a SimulatedFile, so its frames are nobody else's and
// device DMA reaches its bytes). Its fd is the DMABUF_GET ioctl's result.
//
// MAP_FILE of the fd attaches to the buffer (dma_buf_dynamic_attach) and asks
// the exporter for the physical range at once (iommufd_test_dma_buf_iommufd_map:
// ENODEV while the buffer is revoked). The pages are never pinned or charged.
// DMABUF_REVOKE sets or clears the exporter's `revoked` flag and then, either
// way, invalidates every attachment (dma_buf_invalidate_mappings): each
// attachment not yet revoked is unmapped from every domain and marked revoked
// (phys.len = 0) for good. Its areas stay: IOAS_UNMAP removes them as usual,
// new domains get nothing of them. Only a new MAP_FILE after a restore maps
// the buffer again.
import { Errno, EBADF, EINVAL, ENODEV, ENOTTY } from '../uapi/errno.js';
import { PAGE_SIZE_N, SimulatedFile, type FileSpace, type Frames } from '../hw/memory.js';
import * as T from '../uapi/iommufd-test.js';
import type { EmulatedFile } from './file.js';
import { IoptPages, type DmabufAttachment, type DmabufImporter } from './pages.js';
import type { Task } from './task.js';
import type { Ucmd } from './ucmd.js';

/** O_CLOEXEC, the one open flag dma_buf_fd looks at (get_unused_fd_flags). */
const O_CLOEXEC = 0o2000000;
/** The selftest exporter's limit: 512 pages. */
const MAX_TEST_DMABUF = 512n * PAGE_SIZE_N;

/** One iommufd attachment of a buffer (pages->dmabuf). */
class Attachment implements DmabufAttachment {
  revoked = false;
  readonly tables = new Set<DmabufImporter>();
  pages: IoptPages | null = null;
  constructor(readonly buf: DmaBuf) {}
  get space(): FileSpace { return this.buf.space; }

  /** iopt_revoke_notify: unmap from every domain once; later calls find it revoked. */
  invalidate(): void {
    if (this.revoked) return;
    const pages = this.pages;
    if (pages) for (const t of this.tables) t.revokeDmabuf(pages);
    this.revoked = true;
  }

  detach(): void {
    this.tables.clear();
    this.pages = null;
    this.buf.attachments.delete(this);
    this.buf.put();
  }
}

/** A dma-buf exported by the selftest: its memory, the exporter's revoked flag, its importers. */
export class DmaBuf {
  /** The exporter's priv->revoked. */
  revoked = false;
  readonly attachments = new Set<Attachment>();
  readonly space: FileSpace;
  /** References: the open file (until its release) and each attachment. */
  private refs = 1;

  /** Its memory is a file of `frames`' page cache (the exporting engine's). */
  constructor(readonly size: bigint, frames: Frames) {
    this.space = frames.fileSpace(new SimulatedFile(size, true, frames.nameFile('dmabuf')));
  }

  get(): this { this.refs++; return this; }

  /** dma_buf_put; the last reference frees the memory (iommufd_test_dma_buf_release). */
  put(): void {
    if (--this.refs === 0) this.space.put();
  }

  /** Whether the memory is still there (tests). */
  get live(): boolean { return this.refs > 0; }

  /** IOMMU_TEST_OP_DMABUF_REVOKE: set the flag, then invalidate every attachment. */
  setRevoked(revoked: boolean): void {
    this.revoked = revoked;
    for (const a of [...this.attachments]) a.invalidate();
  }

  /**
   * dma_buf_dynamic_attach + dma_buf_pin + the exporter's iommufd_map:
   * ENODEV while revoked (nothing attached then).
   */
  attach(): Attachment {
    if (this.revoked) throw new Errno(ENODEV, 'the dma-buf is revoked');
    const a = new Attachment(this.get());
    this.attachments.add(a);
    return a;
  }
}

/** The open dma-buf file (dma_buf_fops): no read, write or mmap; ioctls other than the dma-buf ones are ENOTTY. */
export class DmaBufFile implements EmulatedFile {
  readonly kind = 'dmabuf';
  private released = false;
  constructor(readonly buf: DmaBuf) {}

  ioctl(_task: Task, request: number): number {
    // DMA_BUF_IOCTL_SYNC and friends are not modelled.
    throw new Errno(ENOTTY, `dma-buf ioctl 0x${request.toString(16)}`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.buf.put();
  }
}

/**
 * iopt_alloc_dmabuf_pages: the pages of bytes [start, start+length) of the
 * buffer behind `file`. EINVAL when the range does not fit in the buffer,
 * ENODEV when it is revoked. `startByte` is start's offset in its page.
 */
export function dmabufPages(task: Task, file: DmaBufFile, start: bigint, startByte: bigint, length: bigint, writable: boolean): IoptPages {
  const buf = file.buf;
  if (buf.size <= start + length - 1n) throw new Errno(EINVAL, 'range past the end of the dma-buf');
  const npages = Number((length + startByte + PAGE_SIZE_N - 1n) / PAGE_SIZE_N);
  const att = buf.attach();
  const pages = new IoptPages(task, start - startByte, npages, writable, undefined, att);
  att.pages = pages;
  return pages;
}

/** dma_buf_get's answer for a resolved fd: the dma-buf file, or EBADF / EINVAL (not a dma-buf). */
export function dmabufFile(task: Task, fd: number): DmaBufFile {
  const r = task.resolveFd?.(fd) ?? { kind: 'bad' as const };
  if (r.kind === 'bad') throw new Errno(EBADF, `fd ${fd}`);
  if (!(r.file instanceof DmaBufFile)) throw new Errno(EINVAL, `fd ${fd} is not a dma-buf`);
  return r.file;
}

type TestCmd = Ucmd<typeof T.IommuTestCmd.fields>;

/** IOMMU_TEST_OP_DMABUF_GET: a new test dma-buf; the ioctl returns its fd. */
export function testDmabufGet(u: TestCmd): number {
  const p = T.IommuTestCmdDmabufGet.decode(u.raw);
  const len = (BigInt(p.length) + PAGE_SIZE_N - 1n) & ~(PAGE_SIZE_N - 1n);
  if (len === 0n || len > MAX_TEST_DMABUF) throw new Errno(EINVAL, 'dma-buf length');
  if (!u.task.installFileResult) throw new Errno(EINVAL, 'this caller cannot receive files');
  const file = new DmaBufFile(new DmaBuf(len, u.ctx.engine.frames));
  return u.task.installFileResult(file, (p.open_flags & O_CLOEXEC) !== 0);
}

/** IOMMU_TEST_OP_DMABUF_REVOKE: revoke (or restore) a test dma-buf. */
export function testDmabufRevoke(u: TestCmd): number {
  const p = T.IommuTestCmdDmabufRevoke.decode(u.raw);
  dmabufFile(u.task, p.dmabuf_fd).buf.setRevoked(p.revoked !== 0);
  return 0;
}
