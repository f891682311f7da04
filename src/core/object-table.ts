// The per-file object table (drivers/iommu/iommufd/main.c): IDs from 1 up,
// lowest free first; a slot is reserved (invisible) while its object is being
// created, published by finalize, or dropped by abort. `users` is the long-term
// count with the table's own reference as a bias of 1; `shortterm` counts
// transient holds taken by a lookup during an ioctl.
import { Errno, EBUSY, ENOENT, ENOSPC } from '../uapi/errno.js';
import { iommufdShouldFail, slabAlloc, xaStore } from './faults.js';

export type ObjType =
  | 'IOAS' | 'DEVICE' | 'HWPT_PAGING' | 'HWPT_NESTED' | 'ACCESS' | 'FAULT'
  | 'VIOMMU' | 'VDEVICE' | 'VEVENTQ' | 'HW_QUEUE' | 'SELFTEST';

export abstract class IommufdObject {
  abstract readonly type: ObjType;
  id = 0;
  /** Long-term references; 1 means only the table holds it. */
  users = 1;
  /** Transient holds (lookups in flight), with the table's bias of 1. */
  shortterm = 1;
  /** Undo everything the object did since alloc, or tear it down; never fails. */
  abstract destroy(): void;
}

const ID_LIMIT = 0x7fffffff; // xa_limit_31b

/** Lowest-free ID allocation: a free-list heap below `next`. */
class IdAllocator {
  private next = 1;
  private free: number[] = []; // min-heap

  /** The ID alloc() will return. */
  peek(): number {
    return this.free.length ? this.free[0]! : this.next;
  }

  alloc(): number {
    if (this.free.length) {
      const top = this.free[0]!;
      const last = this.free.pop()!;
      if (this.free.length) { this.free[0] = last; this.siftDown(0); }
      return top;
    }
    if (this.next > ID_LIMIT) throw new Errno(ENOSPC, 'object IDs exhausted');
    return this.next++;
  }

  release(id: number): void {
    if (id === this.next - 1) {
      this.next--;
      // Fold any trailing free IDs back into `next` so the heap stays small.
      while (this.free.length && this.maxFree() === this.next - 1) { this.removeValue(this.next - 1); this.next--; }
      return;
    }
    this.free.push(id);
    this.siftUp(this.free.length - 1);
  }

  private maxFree(): number { let m = 0; for (const x of this.free) if (x > m) m = x; return m; }
  private removeValue(v: number): void {
    const i = this.free.indexOf(v);
    const last = this.free.pop()!;
    if (i < this.free.length) { this.free[i] = last; this.siftDown(i); this.siftUp(i); }
  }
  private siftUp(i: number): void {
    const h = this.free;
    while (i > 0) { const p = (i - 1) >> 1; if (h[p]! <= h[i]!) break; [h[p], h[i]] = [h[i]!, h[p]!]; i = p; }
  }
  private siftDown(i: number): void {
    const h = this.free;
    for (;;) {
      const l = 2 * i + 1, r = l + 1; let m = i;
      if (l < h.length && h[l]! < h[m]!) m = l;
      if (r < h.length && h[r]! < h[m]!) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!]; i = m;
    }
  }
}

/** A slot that is reserved (object being created) or a tombstone. */
const ZERO_ENTRY = Symbol('zero-entry');

export class ObjectTable {
  private slots = new Map<number, IommufdObject | typeof ZERO_ENTRY>();
  private ids = new IdAllocator();

  /** True when no slot is in use, reserved ones included (xa_empty). */
  get empty(): boolean { return this.slots.size === 0; }

  /** Reserve the lowest free ID for `obj`; it stays invisible until finalize. */
  alloc<T extends IommufdObject>(obj: T): T {
    // _iommufd_object_alloc: the object's kzalloc, then xa_alloc of the
    // lowest free ID, which allocates the xa_nodes its slot needs.
    slabAlloc('object allocation');
    const id = this.ids.peek();
    xaStore(() => this.slots.keys(), id, 'objects');
    obj.id = this.ids.alloc();
    this.slots.set(obj.id, ZERO_ENTRY);
    return obj;
  }

  /** Publish a fully built object. */
  finalize(obj: IommufdObject): void {
    this.slots.set(obj.id, obj);
  }

  /** Drop a never-published object's slot (iommufd_object_abort). */
  abort(obj: IommufdObject): void {
    this.slots.delete(obj.id);
    this.ids.release(obj.id);
  }

  /** Undo a fully initialised, unpublished object, then drop its slot. */
  abortAndDestroy(obj: IommufdObject): void {
    obj.destroy();
    this.abort(obj);
  }

  /**
   * iommufd_get_object: look up a published object of `type` (any type when
   * omitted) and take a transient hold. ENOENT for missing, reserved,
   * tombstoned or mistyped IDs.
   */
  get<T extends IommufdObject>(id: number, type?: ObjType | readonly ObjType[]): T {
    if (iommufdShouldFail()) throw new Errno(ENOENT, 'injected: object lookup');
    const o = this.slots.get(id);
    if (!o || o === ZERO_ENTRY) throw new Errno(ENOENT, `no object ${id}`);
    if (type !== undefined && (typeof type === 'string' ? o.type !== type : !type.includes(o.type))) {
      throw new Errno(ENOENT, `object ${id} is ${o.type}`);
    }
    if (o.users === 0 || o.shortterm === 0) throw new Errno(ENOENT, `object ${id} is going away`);
    o.users++;
    o.shortterm++;
    return o as T;
  }

  /**
   * iommufd_lock_obj: take a transient hold on an object the caller already
   * has a pointer to (no lookup, so no injection point); false when it is on
   * its way out.
   */
  lock(o: IommufdObject): boolean {
    if (o.users === 0 || o.shortterm === 0 || this.slots.get(o.id) !== o) return false;
    o.users++;
    o.shortterm++;
    return true;
  }

  /** Release a hold taken by get(). */
  put(obj: IommufdObject): void {
    obj.users--;
    obj.shortterm--;
  }

  /** Peek without a hold (for inspection and tests). */
  peek(id: number): IommufdObject | undefined {
    const o = this.slots.get(id);
    return o === ZERO_ENTRY ? undefined : o;
  }

  /**
   * IOMMU_DESTROY: remove a published object that nothing else references.
   * ENOENT for an empty, reserved or tombstoned slot; EBUSY when any other
   * reference (long-term or transient) exists.
   */
  remove(id: number): void {
    const o = this.slots.get(id);
    if (!o || o === ZERO_ENTRY) throw new Errno(ENOENT, `no object ${id}`);
    if (o.users !== 1) throw new Errno(EBUSY, `object ${id} (${o.type}) has ${o.users - 1} users`);
    o.users = 0;
    this.slots.delete(id);
    this.ids.release(id);
    o.shortterm--;
    o.destroy();
  }

  /**
   * Destroy an object on behalf of the kernel (unbind, access destroy): the
   * caller's reference is dropped with it. Leaves a tombstone if asked.
   */
  destroyUser(obj: IommufdObject, tombstone = false): void {
    obj.users = 0;
    if (tombstone) this.slots.set(obj.id, ZERO_ENTRY);
    else { this.slots.delete(obj.id); this.ids.release(obj.id); }
    obj.destroy();
  }

  /** Every published object, ascending by ID. */
  *objects(): Generator<IommufdObject> {
    const ids = [...this.slots.keys()].sort((a, b) => a - b);
    for (const id of ids) { const o = this.slots.get(id); if (o && o !== ZERO_ENTRY) yield o; }
  }

  /**
   * The file's release: repeated passes in ascending ID order, destroying
   * every object only the table still holds, until nothing is left. Returns
   * the objects that could not be freed (a bookkeeping bug if any).
   */
  releaseAll(): IommufdObject[] {
    for (;;) {
      let progress = false;
      for (const o of this.objects()) {
        if (o.users !== 1) continue;
        o.users = 0;
        this.slots.delete(o.id);
        o.destroy();
        progress = true;
      }
      const left = [...this.objects()];
      if (!left.length) { this.slots.clear(); return []; }
      if (!progress) return left;
    }
  }
}
