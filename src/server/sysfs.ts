// The emulated machine's sysfs and /dev/vfio as a real directory tree, so
// that unmodified programs discover its PCI functions as on Linux: QEMU's
// vfio-pci (vfio-dev/vfioN/dev, iommu_group, realpath of the device) and
// DPDK's PCI scan (vendor, device, class, resource, driver, iommu_group,
// /sys/module/vfio*). The shim maps every path under the tree's prefixes to
// the same path under the tree's root (IOMMUFD_EMU_TREE) without asking us,
// so readdir, stat, readlink and realpath work on it as the kernel's do; the
// host's own entries under those prefixes are hidden. Names, modes, link
// targets and contents are Linux 7.2's as the oracle's --vfio machine shows
// them (test/conformance/vfio_sysfs.golden). Every platform with functions
// bound to vfio-pci gets a tree: x86 ones (VT-d, AMD-Vi) are that q35,
// arm64 ones (SMMUv3) a virt machine (hw/virt-chipset.ts). Where the oracle
// has no such machine (AMD-Vi, SMMUv3, several units, other segments) names
// and formats are read from Linux's source: each unit's class device is
// registered under its driver's parent (drivers/iommu/iommu-sysfs.c), dmarN
// without one, ivhdN under the AMD IOMMU's PCI function, smmu3.0x<base>
// under the SMMU's platform device. The tree is a snapshot made at startup:
// attributes that change at run time in the kernel (enable, config space,
// domains_used) show the machine as booted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Engine } from '../core/engine.js';
import type { VfioDevice } from '../core/vfio-device.js';
import { formatBdf, type PciBarResource } from '../hw/pci.js';
import { IntelVtd } from '../hw/intel-vtd.js';
import { AmdVi } from '../hw/amd-vi.js';
import { ArmSmmuV3 } from '../hw/arm-smmu-v3.js';
import type { IommuUnit } from '../hw/machine.js';
import type { ReservedRegion } from '../hw/iommu.js';
import {
  AMDVI_CAP_HEADER, Q35_CPU_LIST, Q35_CPU_MASK, Q35_HOST_BRIDGE, Q35_ICH9, Q35_ICH9_BESIDE_IGB, amdViPciFunction, vtdUnitBase, q35IntxGsi,
  type ChipsetFunction,
} from '../hw/q35-chipset.js';
import { GPEX_HOST_BRIDGE, VIRT_CPU_LIST, VIRT_CPU_MASK, virtIntxIrq, virtSmmuBase } from '../hw/virt-chipset.js';

/**
 * The subtrees every machine's tree replaces (the host's entries there are
 * not shown); a machine adds its device nodes' /sys/dev/char links.
 */
export const SYSFS_PREFIXES: readonly string[] = [
  '/sys/bus/pci', '/sys/devices/pci0000:00', '/sys/devices/virtual/iommu', '/sys/devices/virtual/vfio',
  '/sys/kernel/iommu_groups', '/sys/class/iommu', '/sys/class/vfio-dev', '/sys/class/vfio', '/sys/class/pci_bus',
  '/sys/module/vfio', '/sys/module/vfio_pci', '/sys/module/vfio_pci_core', '/sys/module/vfio_iommu_type1',
  '/sys/module/iommufd', '/dev/vfio', '/sys/devices/virtual/misc/vfio', '/sys/devices/virtual/misc/iommu',
  '/sys/class/misc/vfio', '/sys/class/misc/iommu',
];

/** The tree of a machine: its entries by absolute path, and the paths it stands for. */
export interface MachineSysfs {
  readonly entries: Map<string, SysfsEntry>;
  readonly prefixes: readonly string[];
}

/** The vfio group char device's major (vfio.group_devt, assigned at boot; the oracle's). */
export const VFIO_GROUP_MAJOR = 251;
/** The vfio cdev region's major (the oracle's; server.ts reports the same for the nodes). */
const VFIO_CDEV_MAJOR = 250;
/** Misc devices: /dev/vfio/vfio (VFIO_MINOR) and /dev/iommu (dynamic; the oracle's). */
const MISC_MAJOR = 10, VFIO_MISC_MINOR = 196, IOMMU_MISC_MINOR = 257;

export type SysfsEntry =
  | { readonly kind: 'dir'; readonly mode: number }
  /** `size`: a sparse file of that length (a BAR's resourceN). */
  | { readonly kind: 'file'; readonly mode: number; readonly data: string | Uint8Array; readonly size?: bigint }
  | { readonly kind: 'link'; readonly target: string };

/** A PCI function as sysfs shows it, bound to vfio-pci or to no driver. */
interface FunctionView {
  readonly domain: number;
  readonly bus: number;
  readonly slot: number;
  readonly fn: number;
  readonly config: Uint8Array;
  readonly resources: ReadonlyArray<PciBarResource | undefined>;
  readonly irq: number;
  readonly group: number;
  readonly unit: IommuUnit;
  /**
   * Not behind its unit: the AMD IOMMU's own function, whose "iommu" name is
   * taken by its class device's directory, so iommu_device_link fails
   * (EEXIST) and the probe leaves it without a group.
   */
  readonly noIommu?: boolean;
  /** Bound to vfio-pci: its cdev index and reset method. */
  readonly vfio?: { readonly index: number; readonly resetMethod: string | undefined; readonly dma32?: boolean };
}

const hex = (n: number | bigint, w: number) => n.toString(16).padStart(w, '0');
const HEX = (n: number, w: number) => hex(n, w).toUpperCase();

const le = (b: Uint8Array, off: number, len: number): number => {
  let v = 0;
  for (let i = len - 1; i >= 0; i--) v = v * 256 + (b[off + i] ?? 0);
  return v;
};

/** The offset of a standard capability, 0 when absent. */
function findCap(cfg: Uint8Array, id: number): number {
  if (!(le(cfg, 0x06, 2) & 0x10)) return 0;
  for (let off = le(cfg, 0x34, 1) & ~3, n = 0; off && n < 48; off = le(cfg, off + 1, 1) & ~3, n++) {
    if (le(cfg, off, 1) === id) return off;
  }
  return 0;
}

/** The offset of an extended capability, 0 when absent. */
function findExtCap(cfg: Uint8Array, id: number): number {
  if (cfg.length <= 0x100) return 0;
  for (let off = 0x100, n = 0; off && off + 4 <= cfg.length && n < 64; n++) {
    const h = le(cfg, off, 4);
    if (h === 0 || h === 0xffffffff) return 0;
    if ((h & 0xffff) === id) return off;
    off = (h >>> 20) & 0xffc;
  }
  return 0;
}

/** IORESOURCE_* flags of a BAR (include/linux/ioport.h), with its PCI type bits. */
function resourceFlags(r: PciBarResource): bigint {
  if (r.io) return 0x40101n; // IO | SIZEALIGN, PCI_BASE_ADDRESS_SPACE_IO
  let f = 0x40200n; // MEM | SIZEALIGN
  if (r.mem64) f |= 0x100004n; // MEM_64, PCI_BASE_ADDRESS_MEM_TYPE_64
  if (r.prefetch) f |= 0x2008n; // PREFETCH, PCI_BASE_ADDRESS_MEM_PREFETCH
  return f;
}

/** The "resource" attribute: start, end and flags of BAR 0..5 and the ROM. */
function resourceText(res: ReadonlyArray<PciBarResource | undefined>): string {
  let s = '';
  for (let i = 0; i < 7; i++) {
    const r = res[i];
    const [a, b, c] = r && r.length > 0n ? [r.start, r.start + r.length - 1n, resourceFlags(r)] : [0n, 0n, 0n];
    s += `0x${hex(a, 16)} 0x${hex(b, 16)} 0x${hex(c, 16)}\n`;
  }
  return s;
}

function regionText(regions: readonly ReservedRegion[]): string {
  const names: Record<ReservedRegion['type'], string> = {
    DIRECT: 'direct', DIRECT_RELAXABLE: 'direct-relaxable', RESERVED: 'reserved', MSI: 'msi', SW_MSI: 'msi',
  };
  return regions.map((r) => `0x${hex(r.start, 16)} 0x${hex(r.start + r.length - 1n, 16)} ${names[r.type]}\n`).join('');
}

const addrKey = (f: { domain: number; bus: number; slot: number; fn: number }) => ((f.domain * 256 + f.bus) * 32 + f.slot) * 8 + f.fn;
const nameOf = (f: { domain: number; bus: number; slot: number; fn: number }) =>
  formatBdf({ domain: f.domain, bus: f.bus, device: f.slot, fn: f.fn });
/** The host bridge directory Linux names for a root bus: pciDDDD:BB. */
const rootOf = (f: { domain: number; bus: number }) => `pci${hex(f.domain, 4)}:${hex(f.bus, 2)}`;

function chipsetView(c: ChipsetFunction, domain: number, group: number, unit: IommuUnit): FunctionView {
  const config = new Uint8Array(256);
  for (const [off, v] of c.config) for (let i = 0; i < 4; i++) config[off + i] = (v >>> (8 * i)) & 0xff;
  return { domain, bus: 0, slot: c.device, fn: c.fn, config, resources: c.resources, irq: c.irq, group, unit };
}

function vfioView(d: VfioDevice, arm: boolean): FunctionView {
  const f = d.pci, cfg = f.model.config.bytes, pin = le(cfg, 0x3d, 1);
  // A function without an INTx pin keeps irq 0 (pci-function); e1000e's pin is INTA. One no
  // driver enabled keeps its firmware line.
  const irq = pin === 0 ? 0 : f.vfio.neverEnabled ? le(cfg, 0x3c, 1) : arm ? virtIntxIrq(f.bdf.device, pin) : q35IntxGsi(f.bdf.device, pin);
  // pci_reset_fn_methods in order: FLR when DevCap says so, then PM.
  let flr = false;
  for (let p = le(cfg, 0x34, 1), n = 0; p && n < 48; p = le(cfg, p + 1, 1), n++) {
    if (le(cfg, p, 1) === 0x10) flr = (le(cfg, p + 4, 4) & (1 << 28)) !== 0;
  }
  return {
    domain: f.bdf.domain, bus: f.bdf.bus, slot: f.bdf.device, fn: f.bdf.fn, config: cfg.slice(), resources: f.model.resources,
    irq, group: f.group.id, unit: f.driver as IommuUnit,
    vfio: { index: d.index, resetMethod: f.vfio.resetWorks ? (flr ? 'flr pm' : 'pm') : undefined, dma32: f.vfio.neverEnabled ?? false },
  };
}

/** A unit's device directory under /sys/devices, as its driver registers it (iommu_device_sysfs_add's parent). */
function unitDevicePath(u: IommuUnit, amdFunction: string | undefined): string {
  if (u instanceof IntelVtd) return `virtual/iommu/${u.name}`; // no parent
  if (u instanceof AmdVi) return `pci0000:00/${amdFunction}/iommu/${u.name}`; // the IOMMU's PCI function
  return `platform/${smmuPlatformName(u)}/iommu/${smmuClassName(u)}`; // the SMMU's platform device
}

/** IORT makes each SMMUv3 a platform device with an automatic id. */
const smmuPlatformName = (u: ArmSmmuV3) => `arm-smmu-v3.${smmuIndex(u)}.auto`;
const smmuIndex = (u: ArmSmmuV3) => Number(u.name.slice(u.name.lastIndexOf('.') + 1));
/** arm-smmu-v3.c names the class device "smmu3.%pa": the register base, 0x and 16 hex digits. */
const smmuClassName = (u: ArmSmmuV3) => `smmu3.0x${hex(virtSmmuBase(smmuIndex(u)), 16)}`;
const classNameOf = (u: IommuUnit) => (u instanceof ArmSmmuV3 ? smmuClassName(u) : u.name);
const up = (p: string) => '../'.repeat(p.split('/').length);
/**
 * The target of a sysfs link in directory `from` to `to`, as kernfs writes it:
 * up to the closest ancestor of `to`'s parent, then down (a link to an
 * ancestor, like a class device's "device", still names it: ../../../0000:00:01.0).
 */
function kernfsTarget(from: string, to: string): string {
  const a = from.split('/').filter(Boolean), b = path.posix.dirname(to).split('/').filter(Boolean);
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return '../'.repeat(a.length - n) + to.split('/').filter(Boolean).slice(n).join('/');
}

/**
 * The tree of the engine's machine, by absolute path (as the program sees
 * it), parents before children; undefined when no function is bound to
 * vfio-pci (the mock platform: the host's view stays). x86 platforms (VT-d,
 * AMD-Vi) are the oracle's q35: MCH and ICH9 functions besides the
 * platform's, and on AMD-Vi the IOMMU's own PCI function; arm64 (SMMUv3) is
 * a virt machine: a generic ECAM host bridge at 00.0 of each segment.
 */
export function machineSysfs(engine: Engine): MachineSysfs | undefined {
  const devs = engine.vfioDevices;
  if (devs.length === 0) return undefined;
  const units = engine.iommuUnits;
  const arm = units.some((u) => u instanceof ArmSmmuV3);
  const catchAll = devs[0]!.pci.driver as IommuUnit; // the unit in front of the chipset functions
  const t = new Map<string, SysfsEntry>();
  const dir = (p: string) => {
    for (let q = p; q !== '/' && !t.has(q); q = path.dirname(q)) t.set(q, { kind: 'dir', mode: 0o755 });
  };
  const put = (p: string, e: SysfsEntry) => {
    dir(path.dirname(p));
    if (e.kind === 'dir') dir(p);
    else t.set(p, e);
  };
  const file = (p: string, data: string | Uint8Array, mode = 0o444) => put(p, { kind: 'file', mode, data });
  const link = (p: string, target: string) => put(p, { kind: 'link', target });
  // /sys/dev/char/MAJ:MIN of each node, each its own prefix (the host's other nodes stay).
  const prefixes = [...SYSFS_PREFIXES];
  const devChar = (major: number, minor: number, device: string) => {
    const p = `/sys/dev/char/${major}:${minor}`;
    link(p, `../../devices/${device}`);
    prefixes.push(p);
  };
  const cpuMask = arm ? VIRT_CPU_MASK : Q35_CPU_MASK, cpuList = arm ? VIRT_CPU_LIST : Q35_CPU_LIST;

  // Functions in PCI address order. Groups: the vfio functions' as the
  // machine numbered them; the first host bridge alone in group 0 (probed
  // first); every other chipset group after the largest, in address order.
  const vfioGroups = devs.map((d) => d.pci.group.id);
  const vfioFns = devs.map((d) => vfioView(d, arm));
  const used = new Set(vfioFns.map((f) => `${f.domain}:${f.bus}:${f.slot}`));
  type Pending = { c: ChipsetFunction; domain: number; unit: IommuUnit; slotGroup: boolean; noIommu?: boolean };
  const pending: Pending[] = [];
  let amdFunction: string | undefined;
  if (arm) {
    const segments = [...new Set(vfioFns.map((f) => f.domain))].sort((a, b) => a - b);
    for (const s of segments) pending.push({ c: GPEX_HOST_BRIDGE, domain: s, unit: vfioFns.find((f) => f.domain === s)!.unit, slotGroup: false });
  } else {
    pending.push({ c: Q35_HOST_BRIDGE, domain: 0, unit: catchAll, slotGroup: false });
    const amd = units.find((u): u is AmdVi => u instanceof AmdVi);
    if (amd) {
      let slot = 1;
      while (used.has(`0:0:${slot}`) || slot === 0x1f) slot++;
      const c = amdViPciFunction(slot);
      pending.push({ c, domain: 0, unit: amd, slotGroup: false, noIommu: true });
      amdFunction = formatBdf({ domain: 0, bus: 0, device: slot, fn: 0 });
    }
    const ich9 = vfioFns.some((f) => f.config[2] === 0xc9 && f.config[3] === 0x10) ? Q35_ICH9_BESIDE_IGB : Q35_ICH9;
    for (const c of ich9) pending.push({ c, domain: 0, unit: catchAll, slotGroup: true });
  }
  // A platform function at a chipset address takes its place (a platform file may put one there).
  const taken = new Set(vfioFns.map(addrKey));
  const free = pending.filter((p) => !taken.has(addrKey({ domain: p.domain, bus: 0, slot: p.c.device, fn: p.c.fn })));
  pending.length = 0;
  pending.push(...free);
  pending.sort((a, b) => (a.domain * 256 + a.c.device) * 8 + a.c.fn - ((b.domain * 256 + b.c.device) * 8 + b.c.fn));
  let nextGroup = Math.max(0, ...vfioGroups) + 1;
  const slotGroups = new Map<string, number>();
  const fns: FunctionView[] = [...vfioFns];
  pending.forEach((p, i) => {
    let g: number;
    if (p.noIommu) return void fns.push({ ...chipsetView(p.c, p.domain, -1, p.unit), noIommu: true });
    if (i === 0) g = 0;
    else if (p.slotGroup) {
      const k = `${p.domain}:${p.c.device}`;
      g = slotGroups.get(k) ?? nextGroup++;
      slotGroups.set(k, g);
    } else g = nextGroup++;
    fns.push(chipsetView(p.c, p.domain, g, p.unit));
  });
  fns.sort((a, b) => addrKey(a) - addrKey(b));

  // /sys/bus/pci
  for (const p of ['/sys/bus/pci/devices', '/sys/bus/pci/drivers/vfio-pci', '/sys/bus/pci/slots']) dir(p);
  file('/sys/bus/pci/drivers_autoprobe', '1\n', 0o644);
  file('/sys/bus/pci/drivers_probe', '', 0o200);
  file('/sys/bus/pci/rescan', '', 0o200);
  file('/sys/bus/pci/resource_alignment', '', 0o644);
  file('/sys/bus/pci/uevent', '', 0o200);
  for (const a of ['bind', 'new_id', 'remove_id', 'uevent', 'unbind']) file(`/sys/bus/pci/drivers/vfio-pci/${a}`, '', 0o200);

  // Each root bus: its host bridge's directory and its pci_bus entry.
  const roots = [...new Map(fns.map((f) => [rootOf(f), f] as const)).values()];
  for (const r of roots) {
    const root = `/sys/devices/${rootOf(r)}`;
    if (!prefixes.includes(root)) prefixes.push(root);
    file(`${root}/uevent`, '', 0o644);
    file(`${root}/waiting_for_supplier`, '0\n');
    const busName = `${hex(r.domain, 4)}:${hex(r.bus, 2)}`;
    const bus = `${root}/pci_bus/${busName}`;
    file(`${bus}/cpuaffinity`, `${cpuMask}\n`);
    file(`${bus}/cpulistaffinity`, `${cpuList}\n`);
    link(`${bus}/device`, `../../../${rootOf(r)}`);
    file(`${bus}/rescan`, '', 0o200);
    link(`${bus}/subsystem`, '../../../../class/pci_bus');
    file(`${bus}/uevent`, '', 0o644);
    link(`/sys/class/pci_bus/${busName}`, `../../devices/${rootOf(r)}/pci_bus/${busName}`);
  }

  for (const f of fns) {
    const name = nameOf(f), rp = `${rootOf(f)}/${name}`, d = `/sys/devices/${rp}`, c = f.config;
    const vendor = le(c, 0, 2), device = le(c, 2, 2), cls = le(c, 9, 3), rev = le(c, 8, 1);
    const subVendor = le(c, 0x2c, 2), subDevice = le(c, 0x2e, 2);
    const modalias = `pci:v${HEX(vendor, 8)}d${HEX(device, 8)}sv${HEX(subVendor, 8)}sd${HEX(subDevice, 8)}` +
      `bc${HEX(cls >> 16, 2)}sc${HEX((cls >> 8) & 0xff, 2)}i${HEX(cls & 0xff, 2)}`;
    const unitPath = unitDevicePath(f.unit, amdFunction);
    link(`/sys/bus/pci/devices/${name}`, `../../../devices/${rp}`);
    file(`${d}/ari_enabled`, '0\n');
    file(`${d}/broken_parity_status`, '0\n', 0o644);
    file(`${d}/class`, `0x${hex(cls, 6)}\n`);
    file(`${d}/config`, c, 0o644);
    file(`${d}/consistent_dma_mask_bits`, f.vfio && !f.vfio.dma32 ? '64\n' : '32\n');
    file(`${d}/device`, `0x${hex(device, 4)}\n`);
    file(`${d}/dma_mask_bits`, f.vfio && !f.vfio.dma32 ? '64\n' : '32\n');
    file(`${d}/driver_override`, f.vfio ? 'vfio-pci\n' : '(null)\n', 0o644);
    file(`${d}/enable`, '0\n', 0o644);
    if (!f.noIommu) {
      link(`${d}/iommu`, kernfsTarget(d, `/sys/devices/${unitPath}`));
      link(`${d}/iommu_group`, `../../../kernel/iommu_groups/${f.group}`);
    }
    file(`${d}/irq`, `${f.irq}\n`);
    dir(`${d}/link`);
    file(`${d}/local_cpulist`, `${cpuList}\n`);
    file(`${d}/local_cpus`, `${cpuMask}\n`);
    file(`${d}/modalias`, `${modalias}\n`);
    file(`${d}/msi_bus`, '1\n', 0o644);
    file(`${d}/power_state`, 'D0\n');
    file(`${d}/remove`, '', 0o220);
    file(`${d}/rescan`, '', 0o200);
    file(`${d}/resource`, resourceText(f.resources));
    f.resources.slice(0, 6).forEach((r, i) => {
      if (r && r.length > 0n) put(`${d}/resource${i}`, { kind: 'file', mode: 0o600, data: '', size: r.length });
    });
    file(`${d}/revision`, `0x${hex(rev, 2)}\n`);
    link(`${d}/subsystem`, '../../../bus/pci');
    file(`${d}/subsystem_device`, `0x${hex(subDevice, 4)}\n`);
    file(`${d}/subsystem_vendor`, `0x${hex(subVendor, 4)}\n`);
    file(`${d}/uevent`, `${f.vfio ? 'DRIVER=vfio-pci\n' : ''}PCI_CLASS=${cls.toString(16).toUpperCase()}\n` +
      `PCI_ID=${HEX(vendor, 4)}:${HEX(device, 4)}\nPCI_SUBSYS_ID=${HEX(subVendor, 4)}:${HEX(subDevice, 4)}\n` +
      `PCI_SLOT_NAME=${name}\nMODALIAS=${modalias}\n`, 0o644);
    file(`${d}/vendor`, `0x${hex(vendor, 4)}\n`);
    if (findCap(c, 0x10)) { // PCI Express: the link attributes (an integrated endpoint has no link)
      file(`${d}/current_link_speed`, 'Unknown\n');
      file(`${d}/current_link_width`, '0\n');
      file(`${d}/max_link_speed`, 'Unknown\n');
      file(`${d}/max_link_width`, '255\n');
    }
    const dsn = findExtCap(c, 0x0003);
    if (dsn) {
      const lo = le(c, dsn + 4, 4), hi = le(c, dsn + 8, 4);
      const bytes = [hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
      file(`${d}/serial_number`, `${bytes.map((b) => hex(b, 2)).join('-')}\n`, 0o400);
    }
    if (!f.noIommu) {
      link(`/sys/kernel/iommu_groups/${f.group}/devices/${name}`, `../../../../devices/${rp}`);
      link(`/sys/devices/${unitPath}/devices/${name}`, kernfsTarget(`/sys/devices/${unitPath}/devices`, d));
    }
    if (!f.vfio) {
      file(`${d}/waiting_for_supplier`, '0\n');
      continue;
    }
    const v = `vfio${f.vfio.index}`;
    if (f.vfio.resetMethod) {
      file(`${d}/reset`, '', 0o200);
      file(`${d}/reset_method`, `${f.vfio.resetMethod}\n`, 0o644);
    }
    link(`${d}/driver`, '../../../bus/pci/drivers/vfio-pci');
    link(`/sys/bus/pci/drivers/vfio-pci/${name}`, `../../../../devices/${rp}`);
    file(`${d}/vfio-dev/${v}/dev`, `${VFIO_CDEV_MAJOR}:${f.vfio.index}\n`);
    link(`${d}/vfio-dev/${v}/device`, `../../../${name}`);
    link(`${d}/vfio-dev/${v}/subsystem`, '../../../../../class/vfio-dev');
    file(`${d}/vfio-dev/${v}/uevent`, `MAJOR=${VFIO_CDEV_MAJOR}\nMINOR=${f.vfio.index}\nDEVNAME=vfio/devices/${v}\n`, 0o644);
    link(`/sys/class/vfio-dev/${v}`, `../../devices/${rp}/vfio-dev/${v}`);
    devChar(VFIO_CDEV_MAJOR, f.vfio.index, `${rp}/vfio-dev/${v}`);
    put(`/dev/vfio/devices/${v}`, { kind: 'file', mode: 0o600, data: '' });
  }

  // The IOMMU groups: each has its default DMA domain and its unit's reserved regions.
  const groups = [...new Set(fns.filter((f) => !f.noIommu).map((f) => f.group))].sort((a, b) => a - b);
  const regionsOf = (g: number): readonly ReservedRegion[] => {
    const dv = devs.find((x) => x.pci.group.id === g);
    if (dv) return dv.pci.reservedRegions();
    const f = fns.find((x) => x.group === g)!;
    return f.unit.reservedRegionsOf(devs.find((x) => x.pci.driver === f.unit)?.pci ?? devs[0]!.pci);
  };
  for (const g of groups) {
    file(`/sys/kernel/iommu_groups/${g}/reserved_regions`, regionText(regionsOf(g)));
    file(`/sys/kernel/iommu_groups/${g}/type`, 'DMA\n', 0o644);
  }

  // The units, as each kind's driver registers its class device.
  units.forEach((unit, i) => {
    const unitPath = unitDevicePath(unit, amdFunction), u = `/sys/devices/${unitPath}`, cls = classNameOf(unit);
    dir(`${u}/devices`);
    if (unit instanceof IntelVtd) { // intel_iommu_groups (drivers/iommu/intel/iommu.c)
      const unitGroups = new Set(fns.filter((f) => f.unit === unit && !f.noIommu).map((f) => f.group));
      file(`${u}/intel-iommu/address`, `${hex(vtdUnitBase(i), 1)}\n`);
      file(`${u}/intel-iommu/cap`, `${hex(unit.cap, 1)}\n`);
      file(`${u}/intel-iommu/domains_supported`, `${2 ** (4 + 2 * Number(unit.cap & 7n))}\n`);
      file(`${u}/intel-iommu/domains_used`, `${unitGroups.size}\n`);
      file(`${u}/intel-iommu/ecap`, `${hex(unit.ecap, 1)}\n`);
      file(`${u}/intel-iommu/version`, '1:0\n');
    } else if (unit instanceof AmdVi) { // amd_iommu_groups (drivers/iommu/amd/init.c): "%x" and "%llx:%llx"
      file(`${u}/amd-iommu/cap`, `${hex(AMDVI_CAP_HEADER, 1)}\n`);
      file(`${u}/amd-iommu/features`, `${hex(unit.efr, 1)}:${hex(unit.efr2, 1)}\n`);
    } else { // arm-smmu-v3.c adds no attribute groups; the platform device it hangs under
      const pd = `/sys/devices/platform/${smmuPlatformName(unit)}`, bp = '/sys/bus/platform';
      prefixes.push(pd, `${bp}/devices/${smmuPlatformName(unit)}`);
      if (!prefixes.includes(`${bp}/drivers/arm-smmu-v3`)) prefixes.push(`${bp}/drivers/arm-smmu-v3`);
      link(`${pd}/driver`, '../../../bus/platform/drivers/arm-smmu-v3');
      file(`${pd}/driver_override`, '(null)\n', 0o644);
      file(`${pd}/modalias`, 'platform:arm-smmu-v3\n');
      link(`${pd}/subsystem`, '../../../bus/platform');
      file(`${pd}/uevent`, 'DRIVER=arm-smmu-v3\nMODALIAS=platform:arm-smmu-v3\n', 0o644);
      link(`${bp}/devices/${smmuPlatformName(unit)}`, `../../../devices/platform/${smmuPlatformName(unit)}`);
      link(`${bp}/drivers/arm-smmu-v3/${smmuPlatformName(unit)}`, `../../../../devices/platform/${smmuPlatformName(unit)}`);
      file(`${bp}/drivers/arm-smmu-v3/uevent`, '', 0o200);
      link(`${u}/device`, kernfsTarget(u, pd)); // its parent, the platform device (arm_sysfs.golden)
    }
    link(`${u}/subsystem`, `${up(unitPath)}../class/iommu`);
    if (unit instanceof AmdVi) link(`${u}/device`, kernfsTarget(u, `/sys/devices/pci0000:00/${amdFunction}`)); // its parent, the PCI function
    file(`${u}/uevent`, '', 0o644);
    link(`/sys/class/iommu/${cls}`, `../../devices/${unitPath}`);
  });

  // The vfio groups of the functions bound to vfio-pci (vfio.group_devt minors in creation order).
  dir('/sys/class/vfio-dev');
  [...new Set(vfioGroups)].forEach((g, minor) => {
    const gd = `/sys/devices/virtual/vfio/${g}`;
    file(`${gd}/dev`, `${VFIO_GROUP_MAJOR}:${minor}\n`);
    link(`${gd}/subsystem`, '../../../../class/vfio');
    file(`${gd}/uevent`, `MAJOR=${VFIO_GROUP_MAJOR}\nMINOR=${minor}\nDEVNAME=vfio/${g}\n`, 0o644);
    link(`/sys/class/vfio/${g}`, `../../devices/virtual/vfio/${g}`);
    put(`/dev/vfio/${g}`, { kind: 'file', mode: 0o600, data: '' });
    devChar(VFIO_GROUP_MAJOR, minor, `virtual/vfio/${g}`);
  });
  // The misc devices: the container (/dev/vfio/vfio) and /dev/iommu.
  for (const [name, minor, devname, mode] of [
    ['vfio', VFIO_MISC_MINOR, 'vfio/vfio', '0666'], ['iommu', IOMMU_MISC_MINOR, 'iommu', '0660'],
  ] as const) {
    const md = `/sys/devices/virtual/misc/${name}`;
    file(`${md}/dev`, `${MISC_MAJOR}:${minor}\n`);
    link(`${md}/subsystem`, '../../../../class/misc');
    file(`${md}/uevent`, `MAJOR=${MISC_MAJOR}\nMINOR=${minor}\nDEVNAME=${devname}\nDEVMODE=${mode}\n`, 0o644);
    link(`/sys/class/misc/${name}`, `../../devices/virtual/misc/${name}`);
    devChar(MISC_MAJOR, minor, `virtual/misc/${name}`);
  }
  put('/dev/vfio/vfio', { kind: 'file', mode: 0o666, data: '' });
  dir('/dev/vfio/devices');

  // Modules (built in: no holders, no refcnt; vfio without no-IOMMU mode has no parameters).
  file('/sys/module/vfio/version', '0.3\n');
  file('/sys/module/vfio_pci/parameters/disable_denylist', 'N\n');
  file('/sys/module/vfio_pci/parameters/disable_idle_d3', 'N\n', 0o644);
  file('/sys/module/vfio_pci/parameters/nointxmask', 'N\n', 0o644);
  file('/sys/module/iommufd/parameters/allow_unsafe_interrupts', 'N\n', 0o644);
  return { entries: t, prefixes };
}

/**
 * Write `entries` under `root`, a directory that must not exist yet inside
 * a private directory of ours (the state dir): nothing there can be raced.
 * Modes are set explicitly (no umask), links are created as given.
 */
export function writeSysfsTree(root: string, entries: ReadonlyMap<string, SysfsEntry>): void {
  fs.mkdirSync(root, { mode: 0o755 });
  fs.chmodSync(root, 0o755);
  const ordered = [...entries].sort(([a], [b]) => a.split('/').length - b.split('/').length);
  for (const [p, e] of ordered) {
    const at = path.join(root, p);
    if (e.kind === 'dir') {
      fs.mkdirSync(at, { mode: e.mode });
      fs.chmodSync(at, e.mode);
    } else if (e.kind === 'link') {
      fs.symlinkSync(e.target, at);
    } else {
      const fd = fs.openSync(at, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
      try {
        fs.writeSync(fd, typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : e.data);
        if (e.size !== undefined) fs.ftruncateSync(fd, Number(e.size));
        fs.fchmodSync(fd, e.mode);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
}

/** IOMMUFD_EMU_TREE for the shim: the tree's root, then the prefixes it stands for. */
export function treeEnv(root: string, prefixes: readonly string[]): string {
  return [root, ...prefixes].join('|');
}
