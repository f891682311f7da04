// What the VT-d domains share as the driver's struct dmar_domain
// (drivers/iommu/intel/iommu.c, nested.c): the devices attached through
// their RID_PASID entry (dmar_domain->devices), the other PASIDs set to the
// domain (dmar_domain->dev_pasids: domain_add_dev_pasid,
// domain_remove_dev_pasid), and the attach and set_dev_pasid paths every
// kind runs alike: the unit must suit the domain, the PASID entry is
// written, the domain records the device, and the PASID's old domain lets
// it go. The second-stage (intel-vtd.ts), first-stage (intel-vtd-fs.ts)
// and nested (intel-vtd-nested.ts) domains supply the check and the entry.
import { VTD_RID_PASID } from './intel-vtd-pasid.js';
import type { HwDomain, IommuDevice } from './iommu.js';
import type { IntelVtd } from './intel-vtd.js';

/** A VT-d domain as the attach paths see it. */
export interface DmarDomain extends HwDomain {
  readonly driver: IntelVtd;
  /** Devices attached through their RID_PASID entry (dmar_domain->devices). */
  readonly devices: Set<IommuDevice>;
  /** Devices whose other PASIDs use this domain (dmar_domain->dev_pasids). */
  readonly devPasids: Map<IommuDevice, Set<number>>;
  /** paging_domain_compatible (of the parent, for a nested domain): EINVAL for a unit the domain cannot serve. */
  compatible(u: IntelVtd): void;
  /** Write the PASID entry of `pasid` for this domain (replacing `old`'s). */
  setupEntry(u: IntelVtd, dev: IommuDevice, pasid: number, old: HwDomain | undefined): void;
}

/** intel_iommu_attach_device / intel_nested_attach_dev: the RID_PASID entry, then the domain's devices. */
export function dmarAttachDev(d: DmarDomain, dev: IommuDevice): void {
  const u = d.driver.unitOf(dev);
  d.compatible(u);
  d.setupEntry(u, dev, VTD_RID_PASID, undefined);
  d.devices.add(dev);
}

/** The device leaves the domain and its RID_PASID entry goes. */
export function dmarDetachDev(d: DmarDomain, dev: IommuDevice): void {
  d.devices.delete(dev);
  d.driver.unitOf(dev).pasidTables.tearDown(dev, VTD_RID_PASID, d);
}

/**
 * intel_iommu_set_dev_pasid / intel_nested_set_dev_pasid: EOPNOTSUPP without
 * PASID support on the unit (legacy mode); the entry, domain_add_dev_pasid,
 * and the old domain's domain_remove_dev_pasid.
 */
export function dmarSetDevPasid(d: DmarDomain, dev: IommuDevice, pasid: number, old: HwDomain | undefined): void {
  const u = d.driver.unitOf(dev, true);
  d.compatible(u);
  d.setupEntry(u, dev, pasid, old);
  let s = d.devPasids.get(dev);
  if (!s) d.devPasids.set(dev, s = new Set());
  s.add(pasid);
  u.removeDevPasid(old, dev, pasid);
}

/** domain_remove_dev_pasid. */
export function domainRemoveDevPasid(d: DmarDomain, dev: IommuDevice, pasid: number): void {
  const s = d.devPasids.get(dev);
  s?.delete(pasid);
  if (s?.size === 0) d.devPasids.delete(dev);
}
