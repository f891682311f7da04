// The 82576's PHY behind MDIC as qemu's igb models it: one page of 32
// registers, PHY address 1 only, igb_phy_regcap saying which registers read
// and which take writes, igb_phy_reg_init the reset values. BMCR's reset
// and restart-autonegotiation bits clear themselves; a restart with
// autonegotiation enabled takes the link down and completes 500 ms later
// (the core runs that timer). Measured on the oracle (igb_regs.golden).
// MDIC, BMCR's write and the link's bits are e1000x-phy.ts's, as for the e1000e.
import { MII_BMCR, setPhyCtrl, type MdicPhy } from './e1000x-phy.js';

const R = 1, W = 2;
const CAPS: ReadonlyArray<readonly [number, number]> = [
  [0, R | W], [1, R], [2, R], [3, R], [4, R | W], [5, R], [6, R], [7, R | W], [8, R], [9, R | W], [10, R],
  [15, R], [16, R | W], [17, R], [18, R | W], [19, R], [25, R | W], [31, W],
];
const INIT: ReadonlyArray<readonly [number, number]> = [
  [0, 0x1140], [1, 0x794d], [2, 0x02a8], [3, 0x0391], [4, 0x0de1], [5, 0x07e0], [6, 0x0005], [7, 0x2001],
  [9, 0x0f00], [10, 0x3c00], [15, 0x3000], [16, 0x0120], [17, 0xc000], [25, 0x008d],
];

export class IgbPhy implements MdicPhy {
  readonly regs = new Uint16Array(32);
  private readonly caps = new Uint8Array(32);
  /** Told when a BMCR write restarts autonegotiation (the core takes the link down for 500 ms). */
  restartAutoneg: (() => void) | undefined;

  constructor() {
    for (const [r, c] of CAPS) this.caps[r] = c;
    this.reset();
  }

  reset(): void {
    this.regs.fill(0);
    for (const [r, v] of INIT) this.regs[r] = v;
  }

  read(reg: number): number | undefined { return this.caps[reg]! & R ? this.regs[reg]! : undefined; }

  write(reg: number, data: number): boolean {
    if (!(this.caps[reg]! & W)) return false;
    if (reg === MII_BMCR) setPhyCtrl(this.regs, data, this.restartAutoneg);
    else this.regs[reg] = data;
    return true;
  }
}
