// PASID attachments below and beside iommufd's per-PASID group state
// (device.ts keeps igroup->pasid_attach):
//  - the iommu core's side (drivers/iommu/iommu.c iommu_attach_device_pasid,
//    iommu_replace_device_pasid, iommu_detach_device_pasid): the group's
//    pasid_array and the driver's set_dev_pasid;
//  - fault routing (drivers/iommu/io-pgfault.c find_fault_handler);
//  - the selftest ops PASID_ATTACH / PASID_REPLACE / PASID_DETACH /
//    PASID_CHECK_HWPT and TRIGGER_IOPF (drivers/iommu/iommufd/selftest.c).
import { Errno, EBUSY, EINVAL, EOPNOTSUPP } from '../uapi/errno.js';
import * as T from '../uapi/iommufd-test.js';
import { deviceMaxPasids, type HwDomain, type IommuDevice, type IommuGroup, type PasidEntry } from '../hw/iommu.js';
import { MockDevice } from '../hw/mock-iommu.js';
import type { Ucmd } from './ucmd.js';
import type { IommufdHwpt } from './hw-pagetable.js';
import { IOMMU_PGFAULT_FLAGS_LAST_PAGE, IOMMU_PGFAULT_FLAGS_PASID_VALID } from '../uapi/iommufd.js';
import type { IommufdFault } from './eventq.js';
import { attachHandleOf, deviceAttach, deviceDetach, deviceReplace, getDevice, type AttachHandle } from './device.js';
import type { SelftestObj } from './selftest.js';

/** IOMMU_NO_PASID: requests without a PASID; the group's own attachment. */
export const IOMMU_NO_PASID = 0;

// ---- the iommu core ------------------------------------------------------------

function pasidArray(group: IommuGroup): Map<number, PasidEntry> {
  return (group.pasidArray ??= new Map());
}

/**
 * domain_iommu_ops_compatible: the domain comes from the device's driver
 * (the same ops: VT-d units share intel_iommu_ops) or is its blocked domain.
 */
function opsCompatible(dev: IommuDevice, domain: HwDomain): boolean {
  const drv = dev.driver;
  return domain.driver === drv || domain.driver.constructor === drv.constructor || domain === drv.blockedDomain;
}

/**
 * __iommu_set_group_pasid for the device (the models' groups hold one
 * device each): a device without PASID support (max_pasids 0) cannot issue
 * requests with a PASID and is skipped.
 */
function setGroupPasid(domain: HwDomain, dev: IommuDevice, pasid: number, old: HwDomain | undefined): void {
  if (deviceMaxPasids(dev) > 0) domain.setDevPasid!(dev, pasid, old);
}

/** iommu_remove_dev_pasid: the PASID goes to the driver's blocked domain (which cannot fail). */
function removeDevPasid(dev: IommuDevice, pasid: number, domain: HwDomain): void {
  try { dev.driver.blockedDomain?.setDevPasid?.(dev, pasid, domain); } catch { /* WARN_ON in the kernel */ }
}

/**
 * iommu_attach_device_pasid: EOPNOTSUPP when the domain or the driver's
 * blocked domain has no set_dev_pasid; EINVAL for a foreign domain, PASID 0
 * or a PASID at or past the device's max_pasids (devices without PASIDs are
 * not range-checked); EBUSY when the PASID already has a domain.
 */
export function attachDevicePasid(domain: HwDomain, dev: IommuDevice, pasid: number, handle: unknown): void {
  if (!domain.setDevPasid || !dev.driver.blockedDomain?.setDevPasid) throw new Errno(EOPNOTSUPP, 'the domain or driver cannot set a PASID');
  if (!opsCompatible(dev, domain) || pasid === IOMMU_NO_PASID) throw new Errno(EINVAL, 'foreign domain or PASID 0');
  const max = deviceMaxPasids(dev);
  if (max > 0 && pasid >= max) throw new Errno(EINVAL, `PASID ${pasid} is out of the device's range (${max})`);
  const arr = pasidArray(dev.group);
  if (arr.has(pasid)) throw new Errno(EBUSY, `PASID ${pasid} is attached`);
  setGroupPasid(domain, dev, pasid, undefined);
  arr.set(pasid, { domain, handle });
}

/**
 * iommu_replace_device_pasid: an attached PASID (EINVAL otherwise) moves to
 * `domain` with a new handle; if the driver refuses, it keeps the old one.
 */
export function replaceDevicePasid(domain: HwDomain, dev: IommuDevice, pasid: number, handle: unknown): void {
  if (!domain.setDevPasid) throw new Errno(EOPNOTSUPP, 'the domain cannot set a PASID');
  if (!opsCompatible(dev, domain) || pasid === IOMMU_NO_PASID || !handle) throw new Errno(EINVAL, 'foreign domain, PASID 0 or no handle');
  const arr = pasidArray(dev.group);
  const cur = arr.get(pasid);
  if (!cur) throw new Errno(EINVAL, `PASID ${pasid} is not attached`);
  if (cur.handle === handle) throw new Errno(EINVAL, 'the handle is reused');
  if (cur.domain !== domain) setGroupPasid(domain, dev, pasid, cur.domain);
  arr.set(pasid, { domain, handle });
}

/** iommu_detach_device_pasid: the PASID goes to the blocked domain and leaves the pasid_array. */
export function detachDevicePasid(domain: HwDomain, dev: IommuDevice, pasid: number): void {
  if (deviceMaxPasids(dev) > 0) removeDevPasid(dev, pasid, domain);
  pasidArray(dev.group).delete(pasid);
}

/** The domain a PASID of the device's group is attached to (the group's own for IOMMU_NO_PASID). */
export function pasidDomain(dev: IommuDevice, pasid: number): HwDomain | undefined {
  if (pasid === IOMMU_NO_PASID) return dev.group.domain ?? undefined;
  return dev.group.pasidArray?.get(pasid)?.domain;
}

// ---- faults ----------------------------------------------------------------------

/**
 * find_fault_handler: a fault with a PASID goes to that PASID's attachment;
 * a PASID without one, on a driver whose PASID table belongs to userspace
 * (user_pasid_table), to the group's attachment if that is a nested domain.
 * Without a PASID: the group's attachment. Nothing if the attachment's HWPT
 * has no fault queue (no iopf_handler).
 */
function findFaultHandler(idev: Parameters<typeof attachHandleOf>[0], pasidValid: boolean, pasid: number): AttachHandle | undefined {
  let h: AttachHandle | undefined;
  if (pasidValid) {
    h = attachHandleOf(idev, pasid);
    if (!h) {
      if (!idev.dev.driver.userPasidTable) return undefined;
      const rid = attachHandleOf(idev, IOMMU_NO_PASID);
      if (!rid || rid.hwpt.type !== 'HWPT_NESTED') return undefined;
      h = rid;
    }
  } else {
    h = attachHandleOf(idev, IOMMU_NO_PASID);
  }
  return h?.hwpt.fault ? h : undefined;
}

// ---- selftest ops ----------------------------------------------------------------

type TestCmd = Ucmd<typeof T.IommuTestCmd.fields>;

function withSelftest<R>(u: TestCmd, fn: (s: SelftestObj) => R): R {
  const s = u.ctx.objects.get<SelftestObj>(u.cmd.id, 'SELFTEST');
  try {
    return fn(s);
  } finally {
    u.ctx.objects.put(s);
  }
}

/** iommufd_test_pasid_attach: attach, answer pt_id; a failed answer detaches again. */
export function testPasidAttach(u: TestCmd): number {
  const p = T.IommuTestCmdPasidAttach.decode(u.raw);
  return withSelftest(u, (s) => {
    const idev = s.idev!;
    p.pt_id = deviceAttach(idev, p.pt_id, p.pasid);
    try {
      T.IommuTestCmdPasidAttach.encodeInto(p, u.raw);
      u.respond();
    } catch (e) {
      deviceDetach(idev, p.pasid);
      throw e;
    }
    return 0;
  });
}

/** iommufd_test_pasid_replace */
export function testPasidReplace(u: TestCmd): number {
  const p = T.IommuTestCmdPasidReplace.decode(u.raw);
  return withSelftest(u, (s) => {
    p.pt_id = deviceReplace(s.idev!, p.pt_id, p.pasid);
    T.IommuTestCmdPasidReplace.encodeInto(p, u.raw);
    u.respond();
    return 0;
  });
}

/** iommufd_test_pasid_detach: always 0. */
export function testPasidDetach(u: TestCmd): number {
  const p = T.IommuTestCmdPasidDetach.decode(u.raw);
  return withSelftest(u, (s) => {
    deviceDetach(s.idev!, p.pasid);
    return 0;
  });
}

/**
 * iommufd_test_pasid_check_hwpt: the PASID's attached domain must be
 * hwpt_id's (EINVAL otherwise; hwpt_id 0: nothing may be attached).
 */
export function testPasidCheckHwpt(u: TestCmd): number {
  const p = T.IommuTestCmdPasidCheck.decode(u.raw);
  return withSelftest(u, (s) => {
    const h = attachHandleOf(s.idev!, p.pasid);
    const attached = h ? (p.pasid === IOMMU_NO_PASID ? h.hwpt.domain : pasidDomain(s.mockDev, p.pasid)) : undefined;
    if (!p.hwpt_id) {
      if (attached) throw new Errno(EINVAL, `PASID ${p.pasid} is attached`);
      return 0;
    }
    const o = u.ctx.objects.get(p.hwpt_id);
    try {
      if (o.type !== 'HWPT_PAGING' && o.type !== 'HWPT_NESTED') throw new Errno(EINVAL, `${p.hwpt_id} is a ${o.type}`);
      if (attached !== (o as IommufdHwpt).domain) throw new Errno(EINVAL, `PASID ${p.pasid} is not attached to HWPT ${p.hwpt_id}`);
      return 0;
    } finally {
      u.ctx.objects.put(o);
    }
  });
}

/**
 * iommufd_test_trigger_iopf: one page request (the last of its group; with
 * PASID_VALID unless the PASID is IOMMU_NO_PASID) reported for the device:
 * it goes to the fault queue of the attachment find_fault_handler picks, and
 * is dropped without one (the ioctl still succeeds). EINVAL for a device
 * that is not a mock.
 */
export function testTriggerIopf(u: TestCmd): number {
  const p = T.IommuTestCmdTriggerIopf.decode(u.raw);
  const idev = getDevice(u.ctx, p.dev_id);
  try {
    if (!(idev.dev instanceof MockDevice)) throw new Errno(EINVAL, 'not a mock device');
    const pasidValid = p.pasid !== IOMMU_NO_PASID;
    const h = findFaultHandler(idev, pasidValid, p.pasid);
    if (h) {
      (h.hwpt.fault as IommufdFault).report({
        idev: h.idev, handle: h, cookie: 0,
        faults: [{
          flags: IOMMU_PGFAULT_FLAGS_LAST_PAGE | (pasidValid ? IOMMU_PGFAULT_FLAGS_PASID_VALID : 0),
          pasid: p.pasid, grpid: p.grpid, perm: p.perm, addr: p.addr,
        }],
      });
    }
    return 0;
  } finally {
    u.ctx.objects.put(idev);
  }
}
