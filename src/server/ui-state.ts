// The live view's state model: a JSON snapshot of one engine and the clients
// that use it. Clients and their open files come from the host (the server,
// or a library script) through UiSource; everything else is read from the
// engine: each iommufd's object table (IDs, users, links between objects),
// each IOAS's areas, reserved and allowed ranges and alignment, each paging
// domain's translations (ui-pte.ts), pinned pages and RLIMIT_MEMLOCK
// accounting, the machine's devices and groups with their attachments and
// coherency. Nothing here changes the engine, and nothing costs per page:
// areas, runs and objects are walked, pages never.
//
// 64-bit values are hex strings ("0x1000"); object references are keys
// "<iommufd>:<id>" where <iommufd> numbers the open /dev/iommu files in the
// order this model first saw them.
import type { Engine } from '../core/engine.js';
import type { EmulatedFile } from '../core/file.js';
import { IommufdCtx } from '../core/iommufd.js';
import { IommufdObject } from '../core/object-table.js';
import type { IommufdIoas } from '../core/ioas.js';
import type { HwptNested, HwptPaging } from '../core/hw-pagetable.js';
import type { IommufdDevice } from '../core/device.js';
import type { IommufdFault, IommufdVeventq } from '../core/eventq.js';
import type { IommufdVdevice, IommufdViommu } from '../core/viommu.js';
import type { IommufdAccess } from '../core/access.js';
import { VfioDeviceFile } from '../core/vfio-device.js';
import { formatBdf } from '../hw/pci.js';
import { IntelVtd, VtdSecondStageDomain } from '../hw/intel-vtd.js';
import { ArmSmmuV3, SmmuDomain } from '../hw/arm-smmu-v3.js';
import { AmdVi } from '../hw/amd-vi.js';
import type { HwDomain, IommuDevice } from '../hw/iommu.js';
import { coherencyTable, type CoherencyTable } from './platform-report.js';
import { KVM_VFIO_NOT_TOLD } from './kvm-vfio.js';
import { domainPageTable, hex, protNames, type DomainPageTable } from './ui-pte.js';
import { errnoName } from '../uapi/errno.js';

// ---- what the host tells us ----------------------------------------------------

/** One open emulated file of a client. */
export interface UiClientFile {
  /** The server's name for the open file (its socket inode), when it has one. */
  readonly ino?: bigint;
  readonly path: string;
  readonly file: EmulatedFile;
}

/** A client process. */
export interface UiClient {
  readonly pid: number;
  readonly uid: number;
  /** Its mm's accounting, in pages (mm->locked_vm, mm->pinned_vm). */
  readonly mm: { readonly lockedVm: number; readonly pinnedVm: number };
  /** RLIMIT_MEMLOCK in bytes, when known. */
  readonly rlimitMemlock?: bigint;
  readonly files: readonly UiClientFile[];
}

/** What the host (server or script) shows of its clients. */
export interface UiSource {
  readonly engine: Engine;
  clients(): UiClient[];
  /** What KVM knows of device vfio<n> (the server's kvm-vfio models); "not told" without it. */
  kvmNote?(vfio: number): string;
}

// ---- the snapshot ----------------------------------------------------------------

export interface UiLink { readonly rel: string; readonly key: string }

export interface UiObject {
  readonly key: string;
  readonly id: number;
  readonly type: string;
  /** The kernel's users count (1 = only the table holds it). */
  readonly users: number;
  /** Other objects it holds (its refcounted pointers). */
  readonly links: readonly UiLink[];
  /** A one-line summary. */
  readonly summary: string;
}

export interface UiArea {
  readonly iova: string;
  readonly last: string;
  readonly length: string;
  readonly prot: string;
  /** 'user' (a user VA), 'file' (a memfd/file offset) or 'dmabuf'. */
  readonly backing: string;
  /** The user VA (or file offset) of the area's first byte. */
  readonly va: string;
  /** Pages of the area's iopt_pages pinned now, and how they are charged. */
  readonly pinnedPages: number;
  readonly accountMode: string;
  readonly filled: boolean;
  readonly accesses: number;
  readonly locks: number;
}

export interface UiIoas {
  readonly key: string;
  readonly iovaAlignment: string;
  readonly disableLargePages: boolean;
  readonly areas: readonly UiArea[];
  readonly areaCount: number;
  readonly truncated: boolean;
  readonly reserved: ReadonlyArray<{ readonly start: string; readonly last: string; readonly owner: string }>;
  readonly allowed: ReadonlyArray<{ readonly start: string; readonly last: string }>;
  /** IOMMU_IOAS_IOVA_RANGES: the usable holes between reserved ranges. */
  readonly usable: ReadonlyArray<{ readonly start: string; readonly last: string }>;
  /** The HWPTs whose domains it fills. */
  readonly hwpts: readonly string[];
  readonly domainCount: number;
  readonly accessCount: number;
}

export interface UiDomain extends DomainPageTable {
  /** The HWPT that owns it. */
  readonly key: string;
  readonly ioas: string;
  readonly driver: string;
  /** The HWPT was made enforcing (IOMMU_HWPT_ALLOC with the device's ENFORCE_CACHE_COHERENCY). */
  readonly hwptEnforcing: boolean;
  readonly devices: readonly string[];
}

export interface UiAttachment {
  readonly iommufd: number;
  readonly hwpt: string | null;
  readonly pasid: number;
  readonly devices: readonly string[];
  readonly group: number;
}

export interface UiIommufd {
  readonly n: number;
  readonly accountMode: string;
  readonly vfioCompat: boolean;
  readonly holders: readonly number[];
  readonly objects: readonly UiObject[];
  readonly attachments: readonly UiAttachment[];
}

export interface UiCoherency {
  /** 'unbound', 'blocked' (bound, no domain: no DMA), 'coherent', 'hazard', 'n/a'. */
  readonly status: string;
  readonly detail: string;
}

export interface UiDevice {
  readonly name: string;
  readonly bdf?: string;
  readonly path?: string;
  readonly group: number;
  readonly unit: string;
  readonly mock: boolean;
  /** IOMMU_CAP_ENFORCE_CACHE_COHERENCY. */
  readonly canEnforce: boolean;
  readonly opens: number;
  /** The DEVICE object it is bound as. */
  readonly bound: string | null;
  /** The HWPT its group's domain belongs to. */
  readonly attached: string | null;
  readonly coherency: UiCoherency;
}

export interface UiGroup {
  readonly id: number;
  readonly path?: string;
  readonly devices: readonly string[];
  /** The iommufd that owns its DMA (n), if any. */
  readonly owner: number | null;
  readonly domain: string | null;
}

export interface UiProcess {
  readonly pid: number;
  readonly uid: number;
  readonly lockedVmPages: number;
  readonly pinnedVmPages: number;
  readonly rlimitMemlock: string | null;
  readonly files: ReadonlyArray<{ readonly ino: string | null; readonly path: string; readonly kind: string; readonly iommufd: number | null }>;
}

export interface UiUser {
  readonly uid: number;
  /** user->locked_vm in pages: what IOPT_PAGES_ACCOUNT_USER charged. */
  readonly lockedVmPages: number;
  readonly processes: readonly number[];
}

export interface UiState {
  readonly version: 1;
  /** Bumps with every snapshot. */
  readonly seq: number;
  readonly time: string;
  readonly platform: {
    readonly name: string;
    readonly description: string;
    readonly units: ReadonlyArray<{ readonly name: string; readonly kind: string; readonly detail: string }>;
    /** The platform's coherency table (platform show): each device bound and attached in turn on a fresh machine. */
    readonly coherency: ReadonlyArray<{ readonly device: string; readonly bind: string; readonly canEnforce: boolean; readonly hwpt: number | null; readonly enforcing: boolean; readonly attach: string }>;
    readonly dmaCcIommu: number;
  };
  readonly processes: readonly UiProcess[];
  readonly users: readonly UiUser[];
  readonly iommufds: readonly UiIommufd[];
  readonly ioas: readonly UiIoas[];
  readonly domains: readonly UiDomain[];
  readonly devices: readonly UiDevice[];
  readonly groups: readonly UiGroup[];
}

/** See UiModel.digest. */
export interface UiDigest {
  readonly objects: ReadonlyMap<string, string>;
  readonly attach: ReadonlyMap<string, string>;
  readonly coherency: ReadonlyMap<string, UiCoherency>;
}

export interface SnapshotOptions {
  /** The IOVA range of page-table entries to show (default: all). */
  readonly ptStart?: bigint;
  readonly ptLast?: bigint;
  /** The most runs shown per domain (default 256). */
  readonly runLimit?: number;
  /** The most areas shown per IOAS (default 1024). */
  readonly areaLimit?: number;
}

const ENFORCE_NOTE = 'the domain forces snooping';

/** What the model remembers between snapshots: the numbering of iommufds. */
export class UiModel {
  private readonly ctxNumbers = new WeakMap<IommufdCtx, number>();
  private nextCtx = 1;
  private seq = 0;
  private coherency: CoherencyTable | undefined;

  constructor(readonly source: UiSource) {}

  get engine(): Engine { return this.source.engine; }

  /** What KVM knows of device vfio<n>. */
  private kvmNote(vfio: number): string {
    return this.source.kvmNote?.(vfio) ?? KVM_VFIO_NOT_TOLD;
  }

  /** The number this model gives `ctx` (stable for the ctx's life). */
  ctxNumber(ctx: IommufdCtx): number {
    let n = this.ctxNumbers.get(ctx);
    if (n === undefined) { n = this.nextCtx++; this.ctxNumbers.set(ctx, n); }
    return n;
  }

  key(ctx: IommufdCtx, id: number): string { return `${this.ctxNumber(ctx)}:${id}`; }

  /** The iommufd an open file belongs to: itself, or the one a VFIO device file is bound to. */
  ctxOfFile(file: EmulatedFile): IommufdCtx | undefined {
    if (file instanceof IommufdCtx) return file;
    if (file instanceof VfioDeviceFile) return file.iommufd;
    return undefined;
  }

  /** Every live iommufd: the clients' files, and contexts bound devices keep alive after their files closed. */
  contexts(clients: readonly UiClient[]): Array<{ ctx: IommufdCtx; holders: number[] }> {
    const seen = new Map<IommufdCtx, number[]>();
    const add = (c: IommufdCtx | undefined, pid?: number) => {
      if (!c) return;
      let h = seen.get(c);
      if (!h) { h = []; seen.set(c, h); }
      if (pid !== undefined && !h.includes(pid)) h.push(pid);
    };
    for (const cl of clients) for (const f of cl.files) if (f.file instanceof IommufdCtx) add(f.file, cl.pid);
    for (const cl of clients) for (const f of cl.files) add(this.ctxOfFile(f.file));
    for (const d of this.engine.vfioDevices) add(d.idev?.ctx);
    for (const g of this.engine.vfioGroups) add(g.iommufd);
    const out = [...seen].map(([ctx, holders]) => ({ ctx, holders }));
    out.sort((a, b) => this.ctxNumber(a.ctx) - this.ctxNumber(b.ctx));
    return out;
  }

  private platformInfo(): UiState['platform'] {
    const p = this.engine.platform;
    this.coherency ??= this.engine.vfioDevices.length ? coherencyTable(p) : { rows: [], dmaCcIommu: 1 };
    return {
      name: p.name, description: p.description,
      units: this.engine.iommuUnits.map((u) => ({
        name: u.name,
        kind: u instanceof IntelVtd ? 'VT-d' : u instanceof ArmSmmuV3 ? 'SMMUv3' : u instanceof AmdVi ? 'AMD-Vi' : 'IOMMU',
        detail: u instanceof IntelVtd ? `${u.snoopControl ? 'snoop control (ECAP.SC)' : 'no snoop control'}, CAP ${hex(u.cap)} ECAP ${hex(u.ecap)}`
          : u instanceof ArmSmmuV3 ? `${u.coherent ? 'coherent' : 'non-coherent'}${u.s2fwb ? ', S2FWB' : ''}, OAS ${u.oas}`
            : u instanceof AmdVi ? `v1 page table with FC, ${u.hptVasize}-bit IOVA` : '',
      })),
      coherency: this.coherency.rows.map((r) => ({
        device: r.device, bind: r.bind ? errnoName(r.bind) : 'ok', canEnforce: r.canEnforce, hwpt: r.hwpt ?? null,
        enforcing: r.enforcing, attach: r.attach ? errnoName(r.attach) : 'ok',
      })),
      dmaCcIommu: this.coherency.dmaCcIommu,
    };
  }

  /**
   * What the timeline compares between two moments: the objects (key ->
   * type), each bound device's attachment (device key -> HWPT keys) and each
   * device's coherency status. O(objects + devices).
   */
  digest(): UiDigest {
    const objects = new Map<string, string>();
    const attach = new Map<string, string>();
    const coherency = new Map<string, UiCoherency>();
    const domainOwner = new Map<HwDomain, string>();
    const clients = this.source.clients();
    for (const { ctx } of this.contexts(clients)) {
      for (const obj of ctx.objects.objects()) {
        const key = this.key(ctx, obj.id);
        objects.set(key, obj.type);
        if (obj.type === 'HWPT_PAGING' || obj.type === 'HWPT_NESTED') {
          const d = (obj as HwptPaging | HwptNested).domain;
          if (d) domainOwner.set(d, key);
        }
      }
      for (const ig of ctx.groups.values()) {
        for (const [pasid, a] of ig.pasidAttach) {
          if (!a.hwpt) continue;
          for (const d of a.devices.values()) attach.set(`${this.key(ctx, d.id)}${pasid ? `/pasid ${pasid}` : ''}`, this.key(ctx, a.hwpt.id));
        }
      }
    }
    for (const vd of this.engine.vfioDevices) {
      const dom = vd.pci.group.domain;
      const bound = vd.idev ? this.key(vd.idev.ctx, vd.idev.id) : null;
      coherency.set(`vfio${vd.index}`, coherencyOf(vd.pci, bound, dom, undefined, this.kvmNote(vd.index)));
    }
    return { objects, attach, coherency };
  }

  /** The whole current state. */
  snapshot(o: SnapshotOptions = {}): UiState {
    const clients = this.source.clients();
    const ctxs = this.contexts(clients);
    // Who owns each domain: HWPT key, its ctx and object.
    const domainOwner = new Map<HwDomain, { key: string; hwpt: HwptPaging | HwptNested }>();
    const deviceKey = new Map<IommuDevice, string>();
    const iommufds: UiIommufd[] = [];
    const ioasList: UiIoas[] = [];
    const domains: UiDomain[] = [];
    const attachedDevs = new Map<string, string[]>();

    for (const { ctx } of ctxs) {
      for (const obj of ctx.objects.objects()) {
        const key = this.key(ctx, obj.id);
        if ((obj.type === 'HWPT_PAGING' || obj.type === 'HWPT_NESTED')) {
          const h = obj as HwptPaging | HwptNested;
          if (h.domain) domainOwner.set(h.domain, { key, hwpt: h });
        }
        if (obj.type === 'DEVICE') deviceKey.set((obj as IommufdDevice).dev, key);
      }
    }

    for (const { ctx, holders } of ctxs) {
      const n = this.ctxNumber(ctx);
      const objects: UiObject[] = [];
      for (const obj of ctx.objects.objects()) objects.push(this.object(ctx, obj));
      const attachments: UiAttachment[] = [];
      for (const ig of ctx.groups.values()) {
        for (const [pasid, a] of ig.pasidAttach) {
          const hk = a.hwpt ? this.key(ctx, a.hwpt.id) : null;
          const devs = [...a.devices.values()].map((d) => this.key(ctx, d.id));
          attachments.push({ iommufd: n, hwpt: hk, pasid, devices: devs, group: ig.group.id });
          if (hk) attachedDevs.set(hk, [...(attachedDevs.get(hk) ?? []), ...devs]);
        }
      }
      iommufds.push({ n, accountMode: ctx.accountMode, vfioCompat: ctx.vfioIoas !== undefined, holders, objects, attachments });
      for (const obj of ctx.objects.objects()) {
        if (obj.type === 'IOAS') ioasList.push(this.ioas(ctx, obj as IommufdIoas, o.areaLimit ?? 1024, domainOwner));
      }
    }
    for (const [dom, { key, hwpt }] of domainOwner) {
      if (hwpt.type !== 'HWPT_PAGING') continue;
      const pt = domainPageTable(dom, o.ptStart, o.ptLast, o.runLimit ?? 256);
      if (!pt) continue;
      const h = hwpt as HwptPaging;
      domains.push({
        ...pt, key, ioas: this.key(h.ctx, h.ioas.id), driver: dom.driver.name, hwptEnforcing: h.enforceCacheCoherency,
        devices: attachedDevs.get(key) ?? [],
      });
    }
    domains.sort((a, b) => cmpKey(a.key, b.key));

    const domainsByKey = new Map(domains.map((d) => [d.key, d]));
    const devices: UiDevice[] = [];
    for (const vd of this.engine.vfioDevices) {
      const pci = vd.pci;
      const dom = pci.group.domain;
      const attached = dom ? domainOwner.get(dom)?.key ?? null : null;
      const bound = deviceKey.get(pci) ?? null;
      devices.push({
        name: `vfio${vd.index}`, bdf: formatBdf(pci.bdf), path: vd.path, group: pci.group.id, unit: pci.driver.name, mock: false,
        canEnforce: pci.driver.capable(pci, 'ENFORCE_CACHE_COHERENCY'), opens: vd.openCount, bound, attached,
        coherency: coherencyOf(pci, bound, dom, attached ? domainsByKey.get(attached) : undefined, this.kvmNote(vd.index)),
      });
    }
    for (const [dev, key] of deviceKey) {
      if (devices.some((d) => d.bound === key)) continue;
      const dom = dev.group.domain;
      const attached = dom ? domainOwner.get(dom)?.key ?? null : null;
      devices.push({
        name: dev.name, group: dev.group.id, unit: dev.driver.name, mock: true,
        canEnforce: dev.driver.capable(dev, 'ENFORCE_CACHE_COHERENCY'), opens: 0, bound: key, attached,
        coherency: coherencyOf(dev, key, dom, attached ? domainsByKey.get(attached) : undefined, KVM_VFIO_NOT_TOLD),
      });
    }

    const groups: UiGroup[] = this.engine.vfioGroups.map((g) => {
      const owner = g.iommuGroup.dmaOwner instanceof IommufdCtx ? this.ctxNumber(g.iommuGroup.dmaOwner) : null;
      const dom = g.iommuGroup.domain;
      return {
        id: g.iommuGroup.id, path: g.path, devices: g.devices.map((d) => `vfio${d.index}`), owner,
        domain: dom ? domainOwner.get(dom)?.key ?? null : null,
      };
    });

    const processes: UiProcess[] = clients.map((c) => ({
      pid: c.pid, uid: c.uid, lockedVmPages: c.mm.lockedVm, pinnedVmPages: c.mm.pinnedVm,
      rlimitMemlock: c.rlimitMemlock === undefined ? null : c.rlimitMemlock >= (1n << 64n) - 1n ? 'unlimited' : hex(c.rlimitMemlock),
      files: c.files.map((f) => {
        const ctx = this.ctxOfFile(f.file);
        return { ino: f.ino === undefined ? null : f.ino.toString(), path: f.path, kind: f.file.kind, iommufd: ctx ? this.ctxNumber(ctx) : null };
      }),
    }));
    const uids = [...new Set(clients.map((c) => c.uid))].sort((a, b) => a - b);
    const users: UiUser[] = uids.map((uid) => ({
      uid, lockedVmPages: this.engine.users.account(uid).lockedVm, processes: clients.filter((c) => c.uid === uid).map((c) => c.pid),
    }));

    return {
      version: 1, seq: ++this.seq, time: new Date().toISOString(), platform: this.platformInfo(),
      processes, users, iommufds, ioas: ioasList, domains, devices, groups,
    };
  }

  /** An object with its links: every field that refers to another object of the table. */
  private object(ctx: IommufdCtx, obj: IommufdObject): UiObject {
    const links: UiLink[] = [];
    const seen = new Set<IommufdObject>();
    const link = (rel: string, v: unknown) => {
      if (v instanceof IommufdObject && v !== obj && v.id && !seen.has(v)) { seen.add(v); links.push({ rel, key: this.key(ctx, v.id) }); }
    };
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'ctx') continue;
      if (v instanceof IommufdObject) link(k, v);
      else if (Array.isArray(v)) for (const x of v) link(k, x);
      else if (v instanceof Map) for (const x of v.values()) link(k, x);
    }
    // A device points at no HWPT itself: its group's attachments do.
    if (obj.type === 'DEVICE') {
      for (const [pasid, a] of (obj as IommufdDevice).igroup.pasidAttach) {
        if (a.hwpt && a.devices.get(obj.id) === obj) link(pasid ? `attached (pasid ${pasid})` : 'attached', a.hwpt);
      }
    }
    return { key: this.key(ctx, obj.id), id: obj.id, type: obj.type, users: obj.users, links, summary: summaryOf(obj) };
  }

  private ioas(ctx: IommufdCtx, ioas: IommufdIoas, limit: number, domainOwner: ReadonlyMap<HwDomain, { key: string }>): UiIoas {
    const iopt = ioas.iopt;
    const areas: UiArea[] = [];
    let truncated = false;
    for (const a of iopt.areasIn()) {
      if (areas.length >= limit) { truncated = true; break; }
      const pages = a.pages ?? null;
      const src = pages ?? safeSource(a);
      areas.push({
        iova: hex(a.iova), last: hex(a.last), length: hex(a.length), prot: protNames(a.prot),
        backing: src ? src.kind : 'none',
        va: src ? hex(src.uptr + a.startByte) : '0x0',
        pinnedPages: pages ? pages.npinned : 0,
        accountMode: src ? src.accountMode : 'NONE',
        filled: a.filled, accesses: a.numAccesses, locks: a.numLocks,
      });
    }
    const r = (x: { start: bigint; last: bigint }) => ({ start: hex(x.start), last: hex(x.last) });
    return {
      key: this.key(ctx, ioas.id), iovaAlignment: hex(iopt.iovaAlignment), disableLargePages: iopt.disableLargePages,
      areas, areaCount: iopt.areaCount, truncated,
      reserved: iopt.reservedRanges().map((x) => ({ ...r(x), owner: ownerName(x.owner, domainOwner) })),
      allowed: iopt.allowedRanges().map(r), usable: iopt.iovaRanges().map(r),
      hwpts: ioas.hwpts.map((h) => this.key(ctx, h.id)), domainCount: iopt.domains.length, accessCount: iopt.accesses.length,
    };
  }
}

function safeSource(a: { readonly source: unknown }): { kind: string; uptr: bigint; accountMode: string } | null {
  try { return a.source as { kind: string; uptr: bigint; accountMode: string }; } catch { return null; }
}

function ownerName(owner: unknown, domainOwner: ReadonlyMap<HwDomain, { key: string }>): string {
  if (owner instanceof IommufdObject) return `${owner.type} ${owner.id}`;
  const d = domainOwner.get(owner as HwDomain);
  if (d) return `outside the aperture of HWPT ${d.key}`;
  const n = (owner as { name?: unknown } | null)?.name;
  if (typeof n === 'string') return `reserved region of ${n}`;
  if (owner && typeof owner === 'object') return owner.constructor?.name ?? 'reserved';
  return String(owner ?? 'reserved');
}

function cmpKey(a: string, b: string): number {
  const [a1, a2] = a.split(':').map(Number), [b1, b2] = b.split(':').map(Number);
  return a1! - b1! || a2! - b2!;
}

function summaryOf(obj: IommufdObject): string {
  switch (obj.type) {
    case 'IOAS': { const i = obj as IommufdIoas; return `${i.iopt.areaCount} areas, ${i.hwpts.length} HWPTs, alignment ${hex(i.iopt.iovaAlignment)}`; }
    case 'HWPT_PAGING': {
      const h = obj as HwptPaging;
      return `${h.domain?.driver.name ?? '?'} paging domain${h.autoDomain ? ' (automatic)' : ''}${h.nestParent ? ', nest parent' : ''}${h.enforceCacheCoherency ? ', enforcing coherency' : ''}`;
    }
    case 'HWPT_NESTED': return `nested on HWPT ${(obj as HwptNested).parent.id}`;
    case 'DEVICE': { const d = obj as IommufdDevice; return `${d.dev.name}, group ${d.dev.group.id}${d.enforceCacheCoherency ? ', can enforce' : ''}`; }
    case 'FAULT': { const f = obj as IommufdFault; return `${f.deliver.length} queued, ${f.response.size} awaiting response`; }
    case 'VEVENTQ': { const q = obj as IommufdVeventq; return `type ${q.vtype}, ${q.numEvents}/${q.depth} events`; }
    case 'VIOMMU': { const v = obj as IommufdViommu; return `type ${v.viommuType} on ${v.iommuDev.name}, ${v.vdevs.size} vDEVICEs, ${v.veventqs.length} vEVENTQs`; }
    case 'VDEVICE': { const v = obj as IommufdVdevice; return `${v.idev.dev.name} as virtual ID ${hex(v.virtId)}`; }
    case 'ACCESS': { const a = obj as IommufdAccess; return `${a.internal ? 'internal ' : ''}access${a.ioas ? ` to IOAS ${a.ioas.id}` : ', detached'}`; }
    default: return '';
  }
}

/** A device's coherency now: what its DMA with No Snoop meets in the domain it is attached to. */
function coherencyOf(dev: IommuDevice, bound: string | null, dom: HwDomain | null, pt: UiDomain | undefined, kvmNote: string): UiCoherency {
  if (!bound && !dom) return { status: 'unbound', detail: 'not bound to an iommufd' };
  if (!dom || dom.kind === 'blocked') return { status: 'blocked', detail: 'no domain: DMA is blocked' };
  if (dom.kind === 'nested') return { status: 'n/a', detail: 'nested domain: the guest\'s stage 1 decides' };
  if (dom instanceof VtdSecondStageDomain) {
    if (!dom.enforcing) return { status: 'hazard', detail: `VT-d domain without SNP: No Snoop DMA bypasses the CPU caches (stale data unless the CPU flushes; KVM must honour WBINVD); ${kvmNote}` };
    const without = pt?.runsWithoutSnp ?? 0;
    if (without > 0) return { status: 'hazard', detail: `${ENFORCE_NOTE}, but ${without} run(s) were mapped before it enforced and lack SNP` };
    return { status: 'coherent', detail: `${ENFORCE_NOTE}: every entry has SNP` };
  }
  if (dom instanceof SmmuDomain) {
    if (dom.enforcing) return { status: 'coherent', detail: `${ENFORCE_NOTE}: every master has CANWBS` };
    if (dom.driver.masterCanwbs(dev)) return { status: 'coherent', detail: 'the root complex has CANWBS: No Snoop becomes write-back' };
    return { status: 'hazard', detail: 'SMMU domain not enforcing, master without CANWBS: No Snoop DMA bypasses the CPU caches' };
  }
  const enforcing = (dom as { enforcing?: boolean }).enforcing;
  if (enforcing === true) return { status: 'coherent', detail: `${ENFORCE_NOTE} (FC in every entry)` };
  return { status: 'n/a', detail: 'this IOMMU models no snooping' };
}
