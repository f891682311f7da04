// What `iommufd-emu platform show` prints: a platform's machine (units with
// their registers, root complexes, the functions bound to vfio-pci) and its
// coherency table, found by running the engine itself: every device is bound
// to one iommufd and attached to one IOAS in vfioN order, as a VMM with one
// container would, so the table says what the kernel's rules make of the
// machine: which device can bind, which can enforce, which HWPT each ends up
// in, and whether the compat container reports VFIO_DMA_CC_IOMMU.
import { Errno, errnoName } from '../uapi/errno.js';
import { Engine } from '../core/engine.js';
import { IommufdCtx } from '../core/iommufd.js';
import { IommufdIoas } from '../core/ioas.js';
import { deviceAttach, deviceBind } from '../core/device.js';
import { HwptPaging } from '../core/hw-pagetable.js';
import { IntelVtd } from '../hw/intel-vtd.js';
import { ArmSmmuV3 } from '../hw/arm-smmu-v3.js';
import { AmdVi } from '../hw/amd-vi.js';
import { formatBdf } from '../hw/pci.js';
import type { Platform } from '../hw/platform.js';
import type { IommuUnit } from '../hw/machine.js';

const hex = (v: bigint | number, w = 0) => `0x${v.toString(16).padStart(w, '0')}`;

/** One device's row of the coherency table. */
export interface CoherencyRow {
  readonly device: string;
  /** 0 when bind succeeded, else the errno. */
  readonly bind: number;
  /** IOMMU_CAP_ENFORCE_CACHE_COHERENCY. */
  readonly canEnforce: boolean;
  /** The HWPT the automatic attach gave it (undefined when it could not bind or attach). */
  readonly hwpt: number | undefined;
  /** That HWPT enforces coherency. */
  readonly enforcing: boolean;
  /** It joined a HWPT another device made. */
  readonly joined: boolean;
  /** The attach's errno when it failed. */
  readonly attach: number;
}

export interface CoherencyTable {
  readonly rows: readonly CoherencyRow[];
  /** VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) on the compat container of that IOAS. */
  readonly dmaCcIommu: 0 | 1;
}

/** Bind every vfio device to one iommufd and attach each, in order, to one IOAS. */
export function coherencyTable(platform: Platform): CoherencyTable {
  const engine = new Engine({ platform });
  const ctx = new IommufdCtx(engine);
  const ioas = ctx.objects.alloc(new IommufdIoas(ctx));
  ctx.objects.finalize(ioas);
  const owners = new Map<number, string>();
  const rows = engine.vfioDevices.map((vdev): CoherencyRow => {
    const pci = vdev.pci;
    const base = { device: `vfio${vdev.index}`, canEnforce: pci.driver.capable(pci, 'ENFORCE_CACHE_COHERENCY') };
    let idev;
    try { idev = deviceBind(ctx, pci); } catch (e) {
      if (!(e instanceof Errno)) throw e;
      return { ...base, bind: e.code, hwpt: undefined, enforcing: false, joined: false, attach: 0 };
    }
    try {
      const id = deviceAttach(idev, ioas.id);
      const h = ctx.objects.peek(id) as HwptPaging;
      const joined = owners.has(id);
      if (!joined) owners.set(id, base.device);
      return { ...base, bind: 0, hwpt: id, enforcing: h.enforceCacheCoherency, joined, attach: 0 };
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      return { ...base, bind: 0, hwpt: undefined, enforcing: false, joined: false, attach: e.code };
    }
  });
  const hwpts = rows.filter((r) => r.hwpt !== undefined);
  return { rows, dmaCcIommu: hwpts.every((r) => r.enforcing) ? 1 : 0 };
}

function describeUnit(u: IommuUnit): string {
  if (u instanceof IntelVtd) {
    const sc = u.snoopControl ? 'snoop control' : 'no snoop control';
    if (u.firstStageSupported) return `VT-d scalable mode, first stage, ${sc}, ${Math.min(48, u.mgaw) - 1}-bit IOVA; CAP ${hex(u.cap, 16)} ECAP ${hex(u.ecap, 16)}`;
    return `VT-d${u.scalableMode ? ' scalable mode' : ''}, ${sc}, ${u.secondStageWidth().vaszLg2}-bit IOVA; CAP ${hex(u.cap, 16)} ECAP ${hex(u.ecap, 16)}`;
  }
  if (u instanceof ArmSmmuV3) {
    const stages = [u.stage1 ? '1' : '', u.stage2 ? '2' : ''].filter(Boolean).join('+');
    return `SMMUv3, ${u.coherent ? 'coherent' : 'non-coherent'}, stage ${stages}${u.s2fwb ? ', S2FWB' : ''}, OAS ${u.oas}; `
      + `IDR0-5 ${u.idr.map((r) => hex(r, 8)).join(' ')} IIDR ${hex(u.iidr, 8)} AIDR ${hex(u.aidr, 8)}`;
  }
  return `AMD-Vi, v1 page table (FC), ${u.hptVasize}-bit IOVA; EFR ${hex(u.efr, 16)} EFR2 ${hex(u.efr2, 16)}`;
}

/** What IOMMU_CACHE means on the platform's architecture, and what KVM makes of it. */
function contract(u: IommuUnit | undefined): string[] {
  if (u instanceof IntelVtd && u.firstStageSupported) {
    return ['IOMMU_CACHE on VT-d (scalable mode, first stage): a domain enforces by setting PGSNP in the PASID',
      'entries of its devices (IA-32e entries have no snoop bit); 7.2 lets a unit without snoop control join.',
      'KVM (x86): a device that cannot enforce registers non-coherent DMA, so guest WBINVD is honoured.'];
  }
  if (u instanceof IntelVtd) {
    return ['IOMMU_CACHE on VT-d: a domain enforces by setting SNP (bit 11) in the second-stage entries it writes',
      'after enforcing; a unit without snoop control cannot join an enforcing domain (EINVAL).',
      'KVM (x86): a device that cannot enforce registers non-coherent DMA, so guest WBINVD is honoured.'];
  }
  if (u instanceof ArmSmmuV3) {
    return ['IOMMU_CACHE on SMMUv3: cacheable attributes (stage 1 AttrIndx 1, stage 2 MEMATTR write-back),',
      'inner shareable; bind needs a coherent SMMU; enforcing needs CANWBS masters and writes no entry;',
      'a master without CANWBS cannot join an enforcing domain (EINVAL); a vSMMU needs CANWBS or S2FWB.',
      'KVM (arm64): no non-coherent DMA tracking; coherency rests on the IOMMU (CANWBS, S2FWB).'];
  }
  if (u instanceof AmdVi) {
    return ['IOMMU_CACHE on AMD-Vi: every v1 entry has FC (force coherent); every domain enforces.',
      'KVM (x86): no device registers non-coherent DMA; guest WBINVD is a no-op.'];
  }
  return [];
}

/** The text `platform show` prints. */
export function platformReport(platform: Platform): string {
  const engine = new Engine({ platform });
  const out: string[] = [`platform ${platform.name}: ${platform.description}`];
  out.push(`test ABI (IOMMU_TEST_CMD, mock driver): ${platform.testAbi ? 'yes' : 'no'}`);
  out.push('', 'IOMMU units:');
  if (!engine.iommuUnits.length) out.push('  none');
  for (const u of engine.iommuUnits) out.push(`  ${u.name.padEnd(8)} ${describeUnit(u)}`);
  if (platform.rootComplexes.length) {
    out.push('', 'Root complexes:');
    for (const rc of platform.rootComplexes) out.push(`  segment ${hex(rc.segment, 4)}  ${rc.canwbs ? 'CANWBS' : 'no CANWBS'}`);
  }
  out.push('', 'PCI functions bound to vfio-pci:');
  if (!engine.vfioDevices.length) out.push('  none');
  engine.vfioDevices.forEach((d, i) => {
    const p = d.pci, spec = platform.functions[i]!;
    out.push(`  vfio${d.index}  ${formatBdf(p.bdf)}  ${hex(p.vendorId, 4).slice(2)}:${hex(p.deviceId, 4).slice(2)} class ${hex(p.classCode, 6).slice(2)}  `
      + `${spec.model.padEnd(12)}  group ${p.group.id}  ${p.driver.name}`);
  });
  if (engine.vfioDevices.length) {
    const t = coherencyTable(platform);
    out.push('', 'Coherency (each device bound to one iommufd and attached to one IOAS, in order):');
    out.push('  device  bind    enforce  automatic HWPT');
    for (const r of t.rows) {
      let hwpt: string;
      if (r.bind) hwpt = `- (bind refused: the IOMMU is not coherent)`;
      else if (r.attach) hwpt = `- (attach: ${errnoName(r.attach)})`;
      else hwpt = `${r.joined ? 'joins' : 'new'} HWPT ${r.hwpt}, ${r.enforcing ? 'enforcing' : 'not enforcing'}`
        + (!r.joined && t.rows.some((o) => o !== r && o.hwpt !== undefined && o.hwpt < r.hwpt!) ? ' (no earlier HWPT took it)' : '');
      out.push(`  ${r.device.padEnd(6)}  ${(r.bind ? errnoName(r.bind) : 'ok').padEnd(6)}  ${(r.canEnforce ? 'yes' : 'no').padEnd(7)}  ${hwpt}`);
    }
    out.push(`  VFIO_DMA_CC_IOMMU on the compat container: ${t.dmaCcIommu}`);
  }
  const rules = contract(engine.iommuUnits[0]);
  if (rules.length) out.push('', ...rules);
  return out.join('\n') + '\n';
}
