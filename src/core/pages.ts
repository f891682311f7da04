// iopt_pages: a slice of a process's memory that areas map, shared by every
// area (in any IOAS) made from one MAP, with its pins and their charge.
//
// A page index is pinned exactly once while anything holds it: an area that
// has a storage domain, or an access interval (drivers/iommu/iommufd/pages.c).
// `holders` counts those holders per index as runs, so pinning 1 GiB of
// contiguous memory is one run, not 262144 pages.
import { Errno, ENOMEM } from '../uapi/errno.js';
import { PAGE_SHIFT, PAGE_SIZE_N, type AddressSpace } from '../hw/memory.js';
import type { Task, UserAccount } from './task.js';
import { RunCounter } from '../util/run-counter.js';

export type AccountMode = 'NONE' | 'USER' | 'MM';

export class IoptPages {
  /** kref: one per area that maps these pages, plus transient list references. */
  refs = 1;
  readonly mm: AddressSpace;
  readonly user: UserAccount;
  /** The task whose RLIMIT_MEMLOCK limits the charge (the mapper's group leader). */
  readonly sourceTask: Task;
  accountMode: AccountMode;
  /** Pages that were never pinned keep no per-index state at all. */
  readonly holders = new RunCounter();
  npinned = 0;
  lastNpinned = 0;
  /** Access intervals by "first:last" index → users (access_itree); an exact repeat only counts a user. */
  readonly accessIntervals = new Map<string, number>();

  constructor(
    task: Task,
    /** Page-aligned user address of index 0. */
    readonly uptr: bigint,
    readonly npages: number,
    readonly writable: boolean,
  ) {
    this.mm = task.mm;
    this.user = task.user;
    this.sourceTask = task;
    this.accountMode = task.capIpcLock ? 'NONE' : 'USER';
  }

  /** mm page index of pages index `i`. */
  private mmIndex(i: number): number {
    return Number(this.uptr >> BigInt(PAGE_SHIFT)) + i;
  }

  /**
   * Add one holder to indexes [start, start+n): pin whatever was not pinned
   * yet (EFAULT if the memory is not there), then charge the change in
   * npinned (ENOMEM over RLIMIT_MEMLOCK). On failure nothing has changed.
   */
  hold(start: number, n: number): void {
    const fresh = this.holders.add(start, n, +1);
    const pinned: Array<readonly [number, number]> = [];
    try {
      for (const [s, len] of fresh) {
        const va = this.uptr + (BigInt(s) << BigInt(PAGE_SHIFT));
        this.mm.checkPinnable(va, BigInt(len) * PAGE_SIZE_N, this.writable);
        this.mm.pins.add(this.mmIndex(s), len, +1);
        this.npinned += len;
        pinned.push([s, len]);
      }
      this.updatePinned();
    } catch (e) {
      for (const [s, len] of pinned) {
        this.mm.pins.add(this.mmIndex(s), len, -1);
        this.npinned -= len;
      }
      this.holders.add(start, n, -1);
      throw e;
    }
  }

  /** Drop one holder from [start, start+n); unpin and uncharge what is left unheld. Never fails. */
  release(start: number, n: number): void {
    for (const [s, len] of this.holders.add(start, n, -1)) {
      this.mm.pins.add(this.mmIndex(s), len, -1);
      this.npinned -= len;
    }
    if (this.npinned < this.lastNpinned) this.charge(this.lastNpinned - this.npinned, false);
  }

  /** iopt_area_add_access: hold [first, last] for an access, once per distinct interval. */
  accessHold(first: number, last: number): void {
    const key = `${first}:${last}`;
    const users = this.accessIntervals.get(key);
    if (users) { this.accessIntervals.set(key, users + 1); return; }
    this.hold(first, last - first + 1);
    this.accessIntervals.set(key, 1);
  }

  /** iopt_area_remove_access: the interval must match an earlier hold exactly. */
  accessRelease(first: number, last: number): boolean {
    const key = `${first}:${last}`;
    const users = this.accessIntervals.get(key);
    if (!users) return false;
    if (users > 1) { this.accessIntervals.set(key, users - 1); return true; }
    this.accessIntervals.delete(key);
    this.release(first, last - first + 1);
    return true;
  }

  /** Charge the growth of npinned since the last update (pfn_reader_update_pinned). */
  private updatePinned(): void {
    if (this.npinned > this.lastNpinned) this.charge(this.npinned - this.lastNpinned, true);
    else if (this.npinned < this.lastNpinned) this.charge(this.lastNpinned - this.npinned, false);
  }

  /** iopt_pages_update_pinned: apply a charge of `n` pages in this pages' mode. */
  private charge(n: number, inc: boolean): void {
    const limit = this.sourceTask.rlimitMemlock >> BigInt(PAGE_SHIFT);
    switch (this.accountMode) {
      case 'NONE': break;
      case 'USER':
        if (inc) {
          if (BigInt(this.user.lockedVm + n) > limit) throw new Errno(ENOMEM, 'RLIMIT_MEMLOCK (user)');
          this.user.lockedVm += n;
        } else this.user.lockedVm -= Math.min(n, this.user.lockedVm);
        break;
      case 'MM':
        if (inc) {
          if (BigInt(this.mm.lockedVm + n) > limit) throw new Errno(ENOMEM, 'RLIMIT_MEMLOCK (mm)');
          this.mm.lockedVm += n;
        } else this.mm.lockedVm -= Math.min(n, this.mm.lockedVm);
        break;
    }
    this.lastNpinned = this.npinned;
    this.mm.pinnedVm += inc ? n : -n;
  }

  /** Physical address of byte `byte` of these pages (frames follow the VA; see hw/memory). */
  paddr(byte: bigint): bigint {
    return (BigInt(this.mm.id) << 52n) + this.uptr + byte;
  }
}
