// The 82574L's PHY (a BM PHY behind MDIC) as qemu 7.2's e1000e models it:
// pages of 32 registers, page select in register 22 (any page), which
// registers read and which take writes on each page. Measured on the oracle
// by test/conformance/e1000e_regs.c (MDIC reads of every register on pages
// 0, 1, 2, 3 and past the last). MDIC, the control register's write and the
// link's bits are e1000x-phy.ts's, as for the igb.
import { MII_BMCR, MII_BMSR, BMCR_AUTOEN, BMSR_AN_COMP, setPhyCtrl, type MdicPhy } from './e1000x-phy.js';

/** Register numbers on every page. */
export const PHY_OEM_BITS = 25, PHY_PAGE = 22;
/** PHY_OEM_BITS bit 10: restart autonegotiation (self-clearing). */
const OEM_RESTART_AUTONEG = 1 << 10;
/** qemu models pages 0..6. */
export const PHY_PAGES = 7;
const PAGE_SELECT_MASK = 0x7f;

const R = 1, W = 2, ANY = 4;

/** Capabilities by page and register: ANY registers live on page 0 and answer on every page. */
function phyCaps(): Uint8Array[] {
  const caps = Array.from({ length: PHY_PAGES }, () => new Uint8Array(32));
  const p0 = caps[0]!;
  for (const [reg, c] of [[0, R | W], [1, R], [2, R], [3, R], [4, R | W], [5, R], [6, R], [7, R | W], [8, R],
    [9, R | W], [10, R], [15, R], [PHY_PAGE, R | W]] as const) p0[reg] = c | ANY;
  // Copper control/status, interrupt enable, OEM bits, bias.
  for (const [reg, c] of [[16, R | W], [17, R], [18, R | W], [19, R], [20, R | W], [21, R], [25, R | W],
    [26, R | W], [29, R | W], [30, R | W]] as const) p0[reg] = c;
  // Page 2: MAC control 1, MAC interrupt enable, MAC status, MAC control 2.
  for (const [reg, c] of [[16, R | W], [18, R | W], [19, R], [21, R | W]] as const) caps[2]![reg] = c;
  // Page 3: LED control.
  for (const reg of [16, 17, 18, 19]) caps[3]![reg] = R | W;
  // Page 5: 1000BASE-T pair skew and swap; page 6: CRC counters.
  caps[5]![20] = R; caps[5]![21] = R;
  caps[6]![17] = R;
  return caps;
}

/**
 * The PHY registers as the oracle's NICs hold them when vfio-pci gets them:
 * qemu's reset values after the guest's e1000e driver probed the NIC,
 * autonegotiation completed and the driver let go (power down set in the
 * control register, 1000BASE-T master manual config cleared).
 */
const PHY_BOOT: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0, 0x1940], [0, 1, 0x796d], [0, 2, 0x0141], [0, 3, 0x0cb1], [0, 4, 0x0de1], [0, 5, 0x47e0],
  [0, 6, 0x0004], [0, 7, 0x2001], [0, 9, 0x0e00], [0, 10, 0x3c00], [0, 15, 0x3000],
  [0, 16, 0x3b60], [0, 17, 0xac08], [0, 29, 0x0003],
  [2, 16, 0x0088], [2, 21, 0x1046],
  [3, 18, 0x4005],
];

export class E1000ePhy implements MdicPhy {
  private readonly caps = phyCaps();
  readonly regs: Uint16Array[] = Array.from({ length: PHY_PAGES }, () => new Uint16Array(32));
  /** Told when a write restarts autonegotiation (the core takes the link down for 500 ms). */
  restartAutoneg: (() => void) | undefined;

  constructor() { this.boot(); }

  boot(): void {
    for (const p of this.regs) p.fill(0);
    for (const [page, reg, v] of PHY_BOOT) this.regs[page]![reg] = v;
  }

  /** The page a register access reaches, or undefined when the selected page does not exist. */
  private page(reg: number): number | undefined {
    if (this.caps[0]![reg]! & ANY) return 0;
    const p = this.regs[0]![PHY_PAGE]!;
    return p < PHY_PAGES ? p : undefined;
  }

  /** MDIC read: the value, or undefined (MDIC.ERROR) for a register the page does not have. */
  read(reg: number): number | undefined {
    const p = this.page(reg);
    if (p === undefined || !(this.caps[p]![reg]! & R)) return undefined;
    return this.regs[p]![reg]!;
  }

  /** MDIC write: false (MDIC.ERROR) for a read-only or missing register. */
  write(reg: number, data: number): boolean {
    const p = this.page(reg);
    if (p === undefined || !(this.caps[p]![reg]! & W)) return false;
    if (p === 0 && reg === PHY_PAGE) data &= PAGE_SELECT_MASK;
    if (p === 0 && reg === MII_BMCR) {
      setPhyCtrl(this.regs[0]!, data, this.restartAutoneg);
      return true;
    }
    if (p === 0 && reg === PHY_OEM_BITS) {
      this.regs[0]![PHY_OEM_BITS] = data & ~OEM_RESTART_AUTONEG;
      if (data & OEM_RESTART_AUTONEG) this.restartAutoneg?.();
      return true;
    }
    this.regs[p]![reg] = data;
    return true;
  }

  /** Whether autonegotiation is enabled and complete (qemu's e1000e_update_flowctl_status test). */
  autonegComplete(): boolean {
    const p0 = this.regs[0]!;
    return (p0[MII_BMCR]! & BMCR_AUTOEN) !== 0 && (p0[MII_BMSR]! & BMSR_AN_COMP) !== 0;
  }
}
