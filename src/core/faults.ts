// Fault injection (the kernel's fail_nth protocol, drivers/iommu/iommufd's
// iommufd_should_fail): the task running the current ioctl may ask for its
// Nth injection point to fail. The engine is synchronous like the kernel's
// ioctl path, so "the current task" is a module-level slot set around each
// ioctl, as `current` is in the kernel.
import { Errno, ENOMEM } from '../uapi/errno.js';
import type { FaultInjector, Task } from './task.js';

export type { FaultInjector } from './task.js';

let current: FaultInjector | undefined;

/** Run `fn` with `task`'s injector as the current one. */
export function withTask<R>(task: Task, fn: () => R): R {
  const prev = current;
  current = task.faultInjector;
  try { return fn(); } finally { current = prev; }
}

/** iommufd_should_fail(): an injection point of fail_iommufd. */
export function iommufdShouldFail(): boolean {
  return current?.shouldFail('fail_iommufd') ?? false;
}

/** A slab allocation point (failslab). */
export function slabShouldFail(): boolean {
  return current?.shouldFail('failslab', { mayWait: true }) ?? false;
}

/** A page allocation of `order` that may sleep (fail_page_alloc; min-order filters it). */
export function pageAllocShouldFail(order: number): boolean {
  return current?.shouldFail('fail_page_alloc', { mayWait: true, order }) ?? false;
}

/**
 * anon_inode_getfile's slab points: alloc_file_pseudo's dentry
 * (d_alloc_pseudo; the names iommufd uses fit DNAME_INLINE_LEN, so no
 * external name) and the struct file (alloc_empty_file), ENOMEM each. The
 * inode is the shared anon inode: nothing to allocate.
 */
export function anonInodeGetfile(): void {
  slabAlloc('anon_inode_getfile dentry');
  slabAlloc('anon_inode_getfile file');
}

/**
 * kmalloc's allocation of `size` bytes: a slab allocation up to
 * KMALLOC_MAX_CACHE_SIZE (8 KiB on x86-64 SLUB), a page allocation of its
 * order above. True when it must fail.
 */
function kmallocShouldFail(size: number): boolean {
  if (size <= 8192) return slabShouldFail();
  let order = 0;
  while ((4096 << order) < size) order++;
  return pageAllocShouldFail(order);
}

/** kmalloc/kzalloc(size): its failure is an ENOMEM. */
export function kmalloc(size: number, what: string): void {
  if (current && kmallocShouldFail(size)) throw new Errno(ENOMEM, `injected: ${what}`);
}

/**
 * kvzalloc(size): kmalloc first; up to PAGE_SIZE its failure is the
 * ENOMEM, above it kvmalloc falls back to vmalloc (whose own allocations
 * are not modelled: the fallback succeeds).
 */
export function kvzalloc(size: number, what: string): void {
  if (current && kmallocShouldFail(size) && size <= 4096) throw new Errno(ENOMEM, `injected: ${what}`);
}

/** True while a task's injector is current: the only time slab points are counted. */
export function faultsArmed(): boolean {
  return current !== undefined;
}

/** A slab allocation whose failure is an ENOMEM (kmalloc/kzalloc/kvzalloc and the like). */
export function slabAlloc(what: string): void {
  if (slabShouldFail()) throw new Errno(ENOMEM, `injected: ${what}`);
}

const XA_CHUNK = 64;

/**
 * The node shape of an xarray (a 64-ary radix tree), to count the xa_nodes
 * a store allocates. A normal entry at index 0 alone lives in the head;
 * anything else (another index, or an internal entry such as xa_reserve's
 * XA_ZERO_ENTRY, which xas_store never puts in the head) needs the nodes
 * on its path from a root tall enough for it, a taller root being added
 * above the old one (xas_expand). Built by replaying the present indexes,
 * so the count depends only on the xarray's contents, which a fixed setup
 * makes deterministic. (Shrinking back to a head entry after erases is
 * not modelled: a replayed index 0 is taken as `zeroInNode` says.)
 */
export class XaShape {
  private readonly nodes = new Set<number>();
  private height = 0;
  private headEntry = false;

  constructor(present: Iterable<number>, zeroInNode = false) {
    for (const i of present) this.store(i, zeroInNode);
  }

  private static key(level: number, prefix: number): number {
    return prefix * 16 + level;
  }

  /** Store at `index` (`internal`: a reserved/zero entry); returns the nodes allocated. */
  store(index: number, internal = false): number {
    let want = 0;
    while (XA_CHUNK ** want <= index) want++;
    if (internal && want === 0) want = 1;
    const h = Math.max(want, this.height);
    if (h === 0) { this.headEntry = true; return 0; }
    let n = 0;
    const add = (k: number): void => { if (!this.nodes.has(k)) { this.nodes.add(k); n++; } };
    if (h > this.height) {
      if (this.height > 0 || this.headEntry) for (let j = this.height; j < h; j++) add(XaShape.key(j, 0));
      this.height = h;
      this.headEntry = false;
    }
    for (let j = 0; j < h; j++) add(XaShape.key(j, Math.floor(index / XA_CHUNK ** (j + 1))));
    return n;
  }
}

/**
 * The slab points of an xarray store that needs `nodes` new xa_nodes
 * (xas_store under the lock, then xas_nomem): each node is first tried
 * with GFP_NOWAIT; when that fails the lock is dropped and one node is
 * allocated with the caller's gfp (GFP_KERNEL) and the store retried: a
 * failure there is the store's ENOMEM.
 */
export function xaNodeAllocs(nodes: number, what: string): void {
  for (let i = 0; i < nodes; i++) {
    if (slabShouldFail() && slabShouldFail()) throw new Errno(ENOMEM, `injected: ${what} xa_node`);
  }
}

/** xaNodeAllocs for storing at `index` among `present` (computed only while a fault can fire). */
export function xaStore(present: () => Iterable<number>, index: number, what: string, internal = false): void {
  if (current) xaNodeAllocs(new XaShape(present(), internal).store(index, internal), what);
}
