// Platforms: the simulated machines. Each built-in one mirrors a machine the
// project's oracle boots, so the goldens recorded there compare exactly.
//   mock        the plain oracle machine: iommufd with its mock test driver
//               (IOMMUFD_TEST), no PCI devices for VFIO. The default.
//   qemu-vtd    the --vfio machine: one VT-d unit without snoop control and
//               two e1000e NICs bound to vfio-pci (hw/e1000e.ts: config
//               space and BAR regions; the registers are a plain file for now).
//   qemu-vtd-sc the same VT-d unit with snoop control (ECAP.SC).
// A platform file is JSON: {"base": "<built-in name>", ...overrides}
// (parsePlatform; server/platform-file.ts reads the file).
import { Errno, EINVAL } from '../uapi/errno.js';

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

/**
 * The platform a platform file's text describes: JSON {"base": "<built-in
 * name>", ...overrides}. `source` names the file in errors. Reading the file
 * is the caller's (server/platform-file.ts): hw/ touches no file.
 */
export function parsePlatform(text: string, source: string): Platform {
  let j: unknown;
  try { j = JSON.parse(text); } catch (e) {
    throw new Errno(EINVAL, `${source}: not JSON: ${(e as Error).message}`);
  }
  if (typeof j !== 'object' || j === null) throw new Errno(EINVAL, `${source}: a platform file is a JSON object`);
  const o = j as Record<string, unknown>;
  const base = PLATFORMS[String(o['base'] ?? DEFAULT_PLATFORM)];
  if (!base) throw new Errno(EINVAL, `${source}: unknown base ${String(o['base'])}`);
  return {
    ...base,
    name: String(o['name'] ?? source),
    description: String(o['description'] ?? base.description),
    testAbi: typeof o['testAbi'] === 'boolean' ? o['testAbi'] : base.testAbi,
  };
}
