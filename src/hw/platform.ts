// Platforms: the simulated machines. Each built-in one mirrors a machine the
// project's oracle boots, so the goldens recorded there compare exactly.
//   mock        the plain oracle machine: iommufd with its mock test driver
//               (IOMMUFD_TEST), no PCI devices for VFIO. The default.
//   qemu-vtd    the --vfio machine: one VT-d unit without snoop control and
//               two e1000e NICs bound to vfio-pci (config space and BAR
//               regions; the registers are a plain file for now).
//   qemu-vtd-sc the same VT-d unit with snoop control (ECAP.SC).
// A platform file is JSON: {"base": "<built-in name>", ...overrides}.
import * as fs from 'node:fs';
import { Errno, ENOENT, EINVAL } from '../uapi/errno.js';

export interface Platform {
  readonly name: string;
  readonly description: string;
  /** IOMMU_TEST_CMD and the mock driver (CONFIG_IOMMUFD_TEST). */
  readonly testAbi: boolean;
  /** Intel VT-d units, by their ECAP.SC (snoop control). Empty: no VT-d. */
  readonly vtd: ReadonlyArray<{ snoopControl: boolean }>;
}

export const PLATFORMS: Readonly<Record<string, Platform>> = {
  mock: { name: 'mock', description: 'iommufd with the mock test driver (the oracle\'s plain machine)', testAbi: true, vtd: [] },
  'qemu-vtd': { name: 'qemu-vtd', description: 'qemu q35 with one VT-d unit (no snoop control) and two e1000e NICs for VFIO', testAbi: true, vtd: [{ snoopControl: false }] },
  'qemu-vtd-sc': { name: 'qemu-vtd-sc', description: 'as qemu-vtd, the VT-d unit with snoop control', testAbi: true, vtd: [{ snoopControl: true }] },
};

export const DEFAULT_PLATFORM = 'mock';

/** A built-in platform by name, or a JSON platform file. */
export function loadPlatform(nameOrFile: string): Platform {
  const builtin = PLATFORMS[nameOrFile];
  if (builtin) return builtin;
  if (!fs.existsSync(nameOrFile)) {
    throw new Errno(ENOENT, `${nameOrFile}: no such platform (built-in: ${Object.keys(PLATFORMS).join(', ')}) or file`);
  }
  let j: unknown;
  try { j = JSON.parse(fs.readFileSync(nameOrFile, 'utf8')); } catch (e) {
    throw new Errno(EINVAL, `${nameOrFile}: not JSON: ${(e as Error).message}`);
  }
  if (typeof j !== 'object' || j === null) throw new Errno(EINVAL, `${nameOrFile}: a platform file is a JSON object`);
  const o = j as Record<string, unknown>;
  const base = PLATFORMS[String(o['base'] ?? DEFAULT_PLATFORM)];
  if (!base) throw new Errno(EINVAL, `${nameOrFile}: unknown base ${String(o['base'])}`);
  return {
    ...base,
    name: String(o['name'] ?? nameOrFile),
    description: String(o['description'] ?? base.description),
    testAbi: typeof o['testAbi'] === 'boolean' ? o['testAbi'] : base.testAbi,
  };
}
