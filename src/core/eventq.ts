// Fault queues (drivers/iommu/iommufd/eventq.c): a FAULT object and its fd.
// I/O page faults of devices attached to a HWPT allocated with the fault's ID
// are queued in groups; read() hands them out as struct iommu_hwpt_pgfault
// records with a cookie, write() takes struct iommu_hwpt_page_response.
import { Errno, EEXIST, EINVAL, ENOTTY, EOPNOTSUPP, ESPIPE } from '../uapi/errno.js';
import * as U from '../uapi/iommufd.js';
import { IommufdObject } from './object-table.js';
import type { IommufdCtx } from './iommufd.js';
import type { Ucmd } from './ucmd.js';
import type { Task } from './task.js';
import { POLLIN, POLLOUT, type EmulatedFile, type IoctlTrace } from './file.js';
import { DEFAULT_STRSIZE, traceRecords } from './trace-decode.js';
import type { IommufdDevice } from './device.js';
import { anonInodeGetfile } from './faults.js';

const FAULT_SIZE = U.IommuHwptPgfault.size; // 40
const RESPONSE_SIZE = U.IommuHwptPageResponse.size; // 8
const { IOMMUFD_PAGE_RESP_SUCCESS, IOMMUFD_PAGE_RESP_INVALID } = U;

/** One page request as the IOMMU reported it (struct iommu_fault_page_request). */
export interface PageRequest { flags: number; pasid: number; grpid: number; perm: number; addr: bigint; }

/** An iopf_group: the faults of one page request group from one device. */
export interface IopfGroup {
  readonly idev: IommufdDevice; readonly faults: PageRequest[]; cookie: number; response?: number;
  /** The attach handle the fault came through (group->attach_handle). */
  readonly handle?: object;
}

export class IommufdFault extends IommufdObject {
  readonly type = 'FAULT' as const;
  /** Groups waiting for read(). */
  readonly deliver: IopfGroup[] = [];
  /** Groups read and waiting for a response, by cookie (allocated from 1, lowest free). */
  readonly response = new Map<number, IopfGroup>();
  file: FaultFile | undefined;
  /** Responses sent back to devices, for inspection: [cookie, code]. */
  readonly responded: Array<{ group: IopfGroup; code: number }> = [];

  constructor(readonly ctx: IommufdCtx) { super(); }

  /** iommufd_fault_iopf_handler: queue a group and wake readers. */
  report(g: IopfGroup): void {
    this.deliver.push(g);
    this.file?.onReadable?.();
  }

  private respond(g: IopfGroup, code: number): void {
    g.response = code;
    this.responded.push({ group: g, code });
  }

  /**
   * iommufd_auto_response_faults: an attachment left the HWPT; the pending
   * groups that came through its handle (without one: of the device) get INVALID.
   */
  autoRespond(idev: IommufdDevice, handle?: object): void {
    const mine = (g: IopfGroup) => (handle && g.handle ? g.handle === handle : g.idev === idev);
    for (const g of [...this.deliver]) if (mine(g)) { this.deliver.splice(this.deliver.indexOf(g), 1); this.respond(g, IOMMUFD_PAGE_RESP_INVALID); }
    for (const [c, g] of [...this.response]) if (mine(g)) { this.response.delete(c); this.respond(g, IOMMUFD_PAGE_RESP_INVALID); }
  }

  destroy(): void {
    for (const g of this.deliver.splice(0)) this.respond(g, IOMMUFD_PAGE_RESP_INVALID);
    for (const [c, g] of [...this.response]) { this.response.delete(c); this.respond(g, IOMMUFD_PAGE_RESP_INVALID); }
  }

  allocCookie(): number {
    let c = 1;
    while (this.response.has(c)) c++;
    return c;
  }
}

/** The fault fd ("[iommufd-pgfault]"): holds the FAULT object and the context while open. */
export class FaultFile implements EmulatedFile {
  readonly kind = 'iommufd-pgfault';
  onReadable: (() => void) | undefined;
  private closed = false;
  constructor(readonly fault: IommufdFault) {}

  ioctl(): number { throw new Errno(ENOTTY, 'fault fds have no ioctls'); }

  poll(): number { return POLLOUT | (this.fault.deliver.length ? POLLIN : 0); }

  /** iommufd_fault_fops_read: whole groups only; EINVAL when even the first does not fit. */
  read(task: Task, buf: bigint, len: number, pos: bigint, trace?: IoctlTrace): number {
    if (pos || len % FAULT_SIZE) throw new Errno(ESPIPE, 'read at 0 in whole records');
    const f = this.fault;
    const recs: Uint8Array[] | undefined = trace ? [] : undefined;
    let done = 0;
    while (f.deliver.length) {
      const g = f.deliver[0]!;
      if (done >= len || g.faults.length * FAULT_SIZE > len - done) {
        if (done === 0) throw new Errno(EINVAL, 'buffer too small for the next group');
        break;
      }
      f.deliver.shift();
      g.cookie = f.allocCookie();
      f.response.set(g.cookie, g);
      let at = done;
      try {
        for (const p of g.faults) {
          const rec = U.IommuHwptPgfault.encode({
            flags: p.flags, dev_id: g.idev.id, pasid: p.pasid, grpid: p.grpid, perm: p.perm, addr: p.addr, length: 0, cookie: g.cookie,
          });
          task.mm.write(buf + BigInt(at), rec);
          recs?.push(rec);
          at += FAULT_SIZE;
        }
      } catch (e) {
        f.response.delete(g.cookie);
        f.deliver.unshift(g);
        if (done === 0) throw e;
        break;
      }
      done = at;
    }
    if (trace && recs) trace.out = traceRecords(U.IommuHwptPgfault, recs.slice(0, done / FAULT_SIZE), traceStyle(trace));
    return done;
  }

  /** iommufd_fault_fops_write: responses; an unknown cookie or code is EINVAL. */
  write(task: Task, buf: bigint, len: number, pos: bigint, trace?: IoctlTrace): number {
    if (pos || len % RESPONSE_SIZE) throw new Errno(ESPIPE, 'write at 0 in whole records');
    const f = this.fault;
    let done = 0;
    if (trace) {
      // The responses as the call reads them (those it cannot read are left out).
      const recs: Uint8Array[] = [];
      try { for (let at = 0; at < len && recs.length <= (trace.strsize ?? DEFAULT_STRSIZE); at += RESPONSE_SIZE) recs.push(task.mm.read(buf + BigInt(at), RESPONSE_SIZE)); } catch { /* unreadable */ }
      trace.args = `${traceRecords(U.IommuHwptPageResponse, recs, traceStyle(trace))}, ${len}`;
    }
    try {
      while (len > done) {
        const r = U.IommuHwptPageResponse.decode(task.mm.read(buf + BigInt(done), RESPONSE_SIZE));
        if (r.code !== IOMMUFD_PAGE_RESP_SUCCESS && r.code !== IOMMUFD_PAGE_RESP_INVALID) throw new Errno(EINVAL, 'response code');
        const g = f.response.get(r.cookie);
        if (!g) throw new Errno(EINVAL, 'unknown cookie');
        f.response.delete(r.cookie);
        g.response = r.code;
        f.responded.push({ group: g, code: r.code });
        done += RESPONSE_SIZE;
      }
    } catch (e) {
      if (done === 0) throw e;
    }
    return done;
  }

  release(): void {
    if (this.closed) return;
    this.closed = true;
    eventqFileRelease(this.fault);
  }
}

/** IOMMU_FAULT_QUEUE_ALLOC (iommufd_fault_alloc). */
export function faultAllocIoctl(u: Ucmd<typeof U.IommuFaultAlloc.fields>): number {
  const c = u.cmd;
  if (c.flags) throw new Errno(EOPNOTSUPP, 'flags');
  const t = u.ctx.objects;
  const fault = t.alloc(new IommufdFault(u.ctx));
  eventqPublish(u, fault, new FaultFile(fault), 12n, () => {
    c.out_fault_id = fault.id;
    c.out_fault_fd = 0; // the host stores the real fd number
  });
  return 0;
}

/** An object whose fd is an event queue (struct iommufd_eventq). */
interface EventqObject extends IommufdObject {
  readonly ctx: IommufdCtx;
  file: EmulatedFile | undefined;
}

/**
 * iommufd_eventq_init, the reply and fd_install: the new file holds the
 * object and the context; `fillIds` sets the struct's out fields; the fd
 * number lands at `fdOffset` of the struct. A failed reply aborts the object.
 */
function eventqPublish(u: Ucmd, obj: EventqObject, file: EmulatedFile, fdOffset: bigint, fillIds: () => void): void {
  const t = u.ctx.objects;
  if (!u.task.installFile) { t.abortAndDestroy(obj); throw new Errno(EOPNOTSUPP, 'this caller cannot receive files'); }
  try { anonInodeGetfile(); } catch (e) { t.abortAndDestroy(obj); throw e; } // iommufd_eventq_init
  obj.users++;
  u.ctx.hold();
  obj.file = file;
  fillIds();
  try {
    u.respond();
  } catch (e) {
    file.release();
    t.abortAndDestroy(obj);
    throw e;
  }
  t.finalize(obj);
  u.task.installFile(file, u.arg + fdOffset);
}

/** The fd's last close: it lets go of its object and the context. */
function eventqFileRelease(obj: EventqObject): void {
  obj.file = undefined;
  obj.users--;
  obj.ctx.unhold();
}

// ---- vEVENT queues (IOMMUFD_OBJ_VEVENTQ) --------------------------------------
//
// A vIOMMU's driver reports events of a type; the vEVENTQ of that type queues
// them (at most `depth`) for read() on its fd as [struct iommufd_vevent_header]
// [data] records. Sequence numbers count every queued record modulo 2^31. When
// the queue is full one shared "lost events" header (flags LOST_EVENTS, no
// data) sits at the tail, taking a new sequence number each time an event is
// lost; an ordinary event queued behind it replaces it, so a reader may see
// only the gap in the sequence.

const VEVENT_HEADER_SIZE = U.IommufdVeventHeader.size; // 8

/** One queued record (struct iommufd_vevent). */
interface Vevent { readonly flags: number; sequence: number; readonly data: Uint8Array; }

/** What a vEVENTQ needs of its vIOMMU: the long-term reference and its list of queues. */
export interface VeventqOwner { users: number; readonly veventqs: IommufdVeventq[]; }

export class IommufdVeventq extends IommufdObject {
  readonly type = 'VEVENTQ' as const;
  /** Records waiting for read(), oldest first. */
  readonly deliver: Vevent[] = [];
  /** Ordinary events in `deliver` (the lost-events header does not count). */
  numEvents = 0;
  private sequence = 0;
  private readonly lost: Vevent = { flags: U.IOMMU_VEVENTQ_FLAG_LOST_EVENTS, sequence: 0, data: new Uint8Array(0) };
  file: VeventqFile | undefined;

  constructor(readonly ctx: IommufdCtx, readonly viommu: VeventqOwner, readonly vtype: number, readonly depth: number) { super(); }

  /** iommufd_viommu_report_event's queueing: the event, or the lost header when full. */
  report(data: Uint8Array): void {
    let ev: Vevent;
    if (this.numEvents === this.depth) ev = this.lost;
    else {
      ev = { flags: 0, sequence: 0, data: data.slice() };
      this.numEvents++;
    }
    // iommufd_vevent_handler: a lost header at the tail makes way for the new record.
    if (this.deliver[this.deliver.length - 1] === this.lost) this.deliver.pop();
    this.deliver.push(ev);
    ev.sequence = this.sequence;
    this.sequence = (this.sequence + 1) & 0x7fffffff;
    this.file?.onReadable?.();
  }

  isLost(ev: Vevent): boolean { return ev === this.lost; }

  destroy(): void {
    this.deliver.length = 0;
    this.numEvents = 0;
    const i = this.viommu.veventqs.indexOf(this);
    if (i >= 0) this.viommu.veventqs.splice(i, 1);
    this.viommu.users--;
  }
}

/** The vEVENTQ fd ("[iommufd-viommu-event]"): read and poll; holds the object and the context while open. */
export class VeventqFile implements EmulatedFile {
  readonly kind = 'iommufd-viommu-event';
  onReadable: (() => void) | undefined;
  private closed = false;
  constructor(readonly veventq: IommufdVeventq) {}

  ioctl(): number { throw new Errno(ENOTTY, 'vEVENTQ fds have no ioctls'); }

  /** Readable while anything is queued; never writable (the fd has no write). */
  poll(): number { return this.veventq.deliver.length ? POLLIN : 0; }

  /**
   * iommufd_veventq_fops_read: position 0 only (ESPIPE); at least a header
   * (EINVAL); whole records only, EINVAL when not even the first fits.
   */
  read(task: Task, buf: bigint, len: number, pos: bigint, trace?: IoctlTrace): number {
    if (pos) throw new Errno(ESPIPE, 'read at position 0 only');
    if (len < VEVENT_HEADER_SIZE) throw new Errno(EINVAL, 'shorter than a header');
    const q = this.veventq;
    const recs: Uint8Array[] | undefined = trace ? [] : undefined;
    let done = 0;
    while (q.deliver.length) {
      const cur = q.deliver[0]!;
      if (done >= len || VEVENT_HEADER_SIZE > len - done) break;
      const lost = q.isLost(cur);
      if (!lost && VEVENT_HEADER_SIZE + cur.data.length > len - done) {
        if (done === 0) throw new Errno(EINVAL, 'buffer too small for the next event');
        break;
      }
      const rec = new Uint8Array(new ArrayBuffer(VEVENT_HEADER_SIZE + cur.data.length));
      U.IommufdVeventHeader.encodeInto({ flags: cur.flags, sequence: cur.sequence }, rec);
      rec.set(cur.data, VEVENT_HEADER_SIZE);
      try {
        task.mm.write(buf + BigInt(done), rec);
      } catch (e) {
        if (done === 0) throw e;
        break;
      }
      q.deliver.shift();
      if (!lost) q.numEvents--;
      done += rec.length;
      recs?.push(rec);
    }
    if (trace && recs) trace.out = traceRecords(U.IommufdVeventHeader, recs, traceStyle(trace), q.vtype);
    return done;
  }

  release(): void {
    if (this.closed) return;
    this.closed = true;
    eventqFileRelease(this.veventq);
  }
}

/** An arbitrary upper bound of veventq_depth (VEVENTQ_MAX_DEPTH). */
const VEVENTQ_MAX_DEPTH = 1 << 19;

/**
 * IOMMU_VEVENTQ_ALLOC (iommufd_veventq_alloc): one queue per type per vIOMMU
 * (EEXIST); the type itself is not checked against the driver.
 */
export function veventqAllocIoctl(u: Ucmd<typeof U.IommuVeventqAlloc.fields>): number {
  const c = u.cmd;
  if (c.flags || c.__reserved || c.type === U.IOMMU_VEVENTQ_TYPE_DEFAULT) throw new Errno(EOPNOTSUPP, 'flags, __reserved or type');
  if (!c.veventq_depth || c.veventq_depth > VEVENTQ_MAX_DEPTH) throw new Errno(EINVAL, 'veventq_depth');
  const t = u.ctx.objects;
  const viommu = t.get<VeventqOwner & IommufdObject>(c.viommu_id, 'VIOMMU');
  try {
    if (viommu.veventqs.some((q) => q.vtype === c.type)) throw new Errno(EEXIST, 'a vEVENTQ of this type exists');
    const q = t.alloc(new IommufdVeventq(u.ctx, viommu, c.type, c.veventq_depth));
    viommu.users++;
    viommu.veventqs.push(q);
    eventqPublish(u, q, new VeventqFile(q), 24n, () => {
      c.out_veventq_id = q.id;
      c.out_veventq_fd = 0; // the host stores the real fd number
    });
    return 0;
  } finally {
    t.put(viommu);
  }
}

/** -s and -v of a traced read or write. */
function traceStyle(t: IoctlTrace): { strsize: number; verbose: boolean } {
  return { strsize: t.strsize ?? DEFAULT_STRSIZE, verbose: t.verbose ?? false };
}
