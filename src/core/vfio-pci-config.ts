// vfio-pci's config space virtualisation: drivers/vfio/pci/vfio_pci_config.c.
//
// When a vfio-pci device is opened, vfio_config_init reads the function's
// config space into vconfig, walks its capability lists and records in
// pci_config_map which capability owns each byte (hiding the ones vfio does
// not know the length of). Every access is then chopped into aligned chunks
// within one capability, and the capability's perm_bits decide per bit:
// virtualised bits are read and written in vconfig, writable non-virtualised
// bits reach the hardware, the rest of a write is dropped. A few registers
// have handlers: the BARs (sizing against the real resource sizes), the
// command register (INTx disable emulated, memory/IO enable remembered), PM
// control (power state changes done by the PCI core), the PCIe device control
// (FLR and MRRS) and MSI flags (enable only through VFIO_DEVICE_SET_IRQS).
import { Errno, EFAULT } from '../uapi/errno.js';
import { type PciFunctionModel } from '../hw/pci.js';
import {
  PCI_CFG_SPACE_SIZE, PCI_STD_HEADER_SIZEOF, PCI_COMMAND, PCI_STATUS, PCI_COMMAND_IO, PCI_COMMAND_MEMORY,
  PCI_COMMAND_INTX_DISABLE, PCI_STATUS_CAP_LIST, PCI_CACHE_LINE_SIZE, PCI_LATENCY_TIMER, PCI_BIST,
  PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_5, PCI_ROM_ADDRESS, PCI_CAPABILITY_LIST, PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN, PCI_BASE_ADDRESS_SPACE_IO, PCI_BASE_ADDRESS_MEM_TYPE_64, PCI_BASE_ADDRESS_MEM_PREFETCH,
  PCI_CAP_LIST_NEXT, PCI_CAP_FLAGS, PCI_CAP_ID_PM, PCI_CAP_ID_VPD, PCI_CAP_ID_MSI, PCI_CAP_ID_PCIX,
  PCI_CAP_ID_HT, PCI_CAP_ID_VNDR, PCI_CAP_ID_EXP, PCI_CAP_ID_MSIX, PCI_CAP_ID_SATA, PCI_CAP_ID_AF,
  PCI_CAP_ID_MAX, PCI_PM_PMC, PCI_PM_CTRL, PCI_PM_CAP_PME_MASK, PCI_PM_CTRL_STATE_MASK,
  PCI_PM_CTRL_PME_ENABLE, PCI_PM_CTRL_PME_STATUS, PCI_MSI_FLAGS, PCI_MSI_ADDRESS_LO, PCI_MSI_ADDRESS_HI,
  PCI_MSI_DATA_32, PCI_MSI_DATA_64, PCI_MSI_MASK_32, PCI_MSI_MASK_64, PCI_MSI_PENDING_32, PCI_MSI_PENDING_64,
  PCI_MSI_FLAGS_ENABLE, PCI_MSI_FLAGS_QSIZE, PCI_MSI_FLAGS_64BIT, PCI_MSI_FLAGS_MASKBIT, PCI_EXP_FLAGS,
  PCI_EXP_FLAGS_VERS, PCI_EXP_FLAGS_TYPE, PCI_EXP_TYPE_RC_END, PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR,
  PCI_EXP_DEVCTL, PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL_PAYLOAD, PCI_EXP_DEVCTL_PHANTOM, PCI_EXP_DEVCTL_READRQ,
  PCI_EXP_DEVCTL_BCR_FLR, PCI_EXP_DEVCTL2_ARI, PCI_CAP_EXP_ENDPOINT_SIZEOF_V1,
  PCI_CAP_EXP_ENDPOINT_SIZEOF_V2, PCI_AF_CAP, PCI_AF_CTRL, PCI_AF_CAP_TP, PCI_AF_CAP_FLR, PCI_AF_CTRL_FLR,
  PCI_VPD_ADDR, PCI_VPD_DATA, PCI_X_CMD, PCI_X_ECC_CSR, PCI_CAP_PCIX_SIZEOF_V0, PCI_CAP_PCIX_SIZEOF_V2,
  PCI_EXT_CAP_ID_ERR, PCI_EXT_CAP_ID_PWR, PCI_EXT_CAP_ID_VNDR, PCI_EXT_CAP_ID_DVSEC, PCI_EXT_CAP_ID_MAX,
  PCI_ERR_UNCOR_STATUS, PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER, PCI_ERR_COR_STATUS, PCI_ERR_COR_MASK,
  PCI_ERR_CAP, PCI_PWR_DATA,
} from '../uapi/pci-regs.js';

/** pci_config_map values that are not capability IDs. */
const PCI_CAP_ID_BASIC = 0, PCI_CAP_ID_INVALID = 0xff;
const VARIABLE = 0xff;

/** pci_cap_length: 0 hides the capability, VARIABLE asks vfio_cap_len. */
const PCI_CAP_LENGTH: Readonly<Record<number, number>> = {
  [PCI_CAP_ID_BASIC]: PCI_STD_HEADER_SIZEOF, [PCI_CAP_ID_PM]: 8, 0x02: 12 /* AGP */, [PCI_CAP_ID_VPD]: 8,
  [PCI_CAP_ID_MSI]: VARIABLE, [PCI_CAP_ID_PCIX]: VARIABLE, [PCI_CAP_ID_HT]: VARIABLE, [PCI_CAP_ID_VNDR]: VARIABLE,
  [PCI_CAP_ID_EXP]: VARIABLE, [PCI_CAP_ID_MSIX]: 12, [PCI_CAP_ID_SATA]: VARIABLE, [PCI_CAP_ID_AF]: 6,
};

/** pci_ext_cap_length. */
const PCI_EXT_CAP_LENGTH: Readonly<Record<number, number>> = {
  [PCI_EXT_CAP_ID_ERR]: 0x2c, 0x02: VARIABLE /* VC */, 0x03: 12 /* DSN */, [PCI_EXT_CAP_ID_PWR]: 0x10,
  0x08: VARIABLE /* MFVC */, 0x09: VARIABLE /* VC9 */, [PCI_EXT_CAP_ID_VNDR]: VARIABLE, 0x0d: VARIABLE /* ACS */,
  0x0e: 8 /* ARI */, 0x0f: 8 /* ATS */, 0x10: 0x40 /* SR-IOV */, 0x12: 40 /* MCAST */, 0x13: 16 /* PRI */,
  0x15: VARIABLE /* REBAR */, 0x16: VARIABLE /* DPA */, 0x17: VARIABLE /* TPH */, 0x18: 8 /* LTR */,
  [PCI_EXT_CAP_ID_DVSEC]: VARIABLE,
};

type ReadFn = 'default' | 'direct' | 'raw' | 'basic' | 'msi';
type WriteFn = 'default' | 'raw' | 'basic' | 'pm' | 'vpd' | 'exp' | 'af' | 'msi';

/**
 * struct perm_bits: per bit of a capability, virtualised (read and written
 * in vconfig) and writable; no arrays: everything readable, nothing writable
 * or virtualised.
 */
interface PermBits {
  readonly virt?: Uint8Array;
  readonly write?: Uint8Array;
  readonly readfn?: ReadFn;
  readonly writefn?: WriteFn;
}

const ALL = 0xffffffff;

/** alloc_perm_bits plus the p_set* of an init_pci_*_perm function. */
function permBits(size: number, readfn: ReadFn, writefn: WriteFn,
  fields: ReadonlyArray<readonly [off: number, len: number, virt: number, write: number]>): PermBits {
  const n = (size + 3) & ~3;
  const virt = new Uint8Array(n), write = new Uint8Array(n);
  for (const [off, len, v, w] of fields) {
    for (let i = 0; i < len; i++) { virt[off + i] = (v >>> (8 * i)) & 0xff; write[off + i] = (w >>> (8 * i)) & 0xff; }
  }
  return { virt, write, readfn, writefn };
}

/** init_pci_cap_basic_perm. */
function basicPerm(): PermBits {
  return permBits(PCI_STD_HEADER_SIZEOF, 'basic', 'basic', [
    [0, 2, ALL, 0], [2, 2, ALL, 0], // vendor and device: virtualised for SR-IOV VFs
    [PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE, ALL],
    [PCI_STATUS, 2, PCI_STATUS_CAP_LIST, 0],
    [PCI_CACHE_LINE_SIZE, 1, 0, ALL], [PCI_LATENCY_TIMER, 1, 0, ALL], [PCI_BIST, 1, 0, ALL],
    [0x10, 4, ALL, ALL], [0x14, 4, ALL, ALL], [0x18, 4, ALL, ALL], [0x1c, 4, ALL, ALL], [0x20, 4, ALL, ALL], [0x24, 4, ALL, ALL],
    [PCI_ROM_ADDRESS, 4, ALL, ALL],
    [PCI_CAPABILITY_LIST, 1, ALL, 0],
    [PCI_INTERRUPT_LINE, 1, ALL, ALL],
    [PCI_INTERRUPT_PIN, 1, ALL, 0],
  ]);
}

/** The shared tables of vfio_pci_init_perm_bits, by capability ID. */
function capPerm(id: number): PermBits {
  switch (id) {
    case PCI_CAP_ID_BASIC: return basicPerm();
    case PCI_CAP_ID_PM: {
      const ctrlVirt = PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS;
      return permBits(8, 'default', 'pm', [
        [PCI_CAP_LIST_NEXT, 1, ALL, 0], [PCI_PM_PMC, 2, PCI_PM_CAP_PME_MASK, 0],
        [PCI_PM_CTRL, 4, ctrlVirt, ~(ctrlVirt | PCI_PM_CTRL_STATE_MASK)],
      ]);
    }
    case PCI_CAP_ID_VPD:
      return permBits(8, 'default', 'vpd', [[PCI_CAP_LIST_NEXT, 1, ALL, 0], [PCI_VPD_ADDR, 2, ALL, ALL], [PCI_VPD_DATA, 4, ALL, ALL]]);
    case PCI_CAP_ID_PCIX:
      return permBits(PCI_CAP_PCIX_SIZEOF_V2, 'default', 'default', [
        [PCI_CAP_LIST_NEXT, 1, ALL, 0], [PCI_X_CMD, 2, 0, ALL], [PCI_X_ECC_CSR, 4, 0, ALL],
      ]);
    case PCI_CAP_ID_VNDR: return { readfn: 'direct', writefn: 'raw' };
    case PCI_CAP_ID_EXP:
      return permBits(PCI_CAP_EXP_ENDPOINT_SIZEOF_V2, 'default', 'exp', [
        [PCI_CAP_LIST_NEXT, 1, ALL, 0],
        [PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ, ~PCI_EXP_DEVCTL_PHANTOM],
        [PCI_EXP_DEVCTL2, 2, 0, ~PCI_EXP_DEVCTL2_ARI],
      ]);
    case PCI_CAP_ID_AF:
      return permBits(6, 'default', 'af', [[PCI_CAP_LIST_NEXT, 1, ALL, 0], [PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR, PCI_AF_CTRL_FLR]]);
    default: return { readfn: 'direct' };
  }
}

/** ecap_perms. */
function ecapPerm(id: number): PermBits {
  switch (id) {
    case PCI_EXT_CAP_ID_ERR: {
      // UND DLP SURPDN POISON FCP COMP_TIME COMP_ABORT UNX_COMP RX_OVER MALF ECRC UNSUP ACSV INTN MCBTLP ATOMEG TLPPRE
      const unc = 0x00000001 | 0x10 | 0x20 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x80000
        | 0x100000 | 0x200000 | 0x400000 | 0x800000 | 0x1000000 | 0x2000000;
      // RCVR BAD_TLP BAD_DLLP REP_ROLL REP_TIMER ADV_NFAT INTERNAL LOG_OVER
      const cor = 0x1 | 0x40 | 0x80 | 0x100 | 0x1000 | 0x2000 | 0x4000 | 0x8000;
      return permBits(0x2c, 'default', 'default', [
        [0, 4, ALL, 0], // the header: the next pointer is virtualised
        [PCI_ERR_UNCOR_STATUS, 4, 0, unc], [PCI_ERR_UNCOR_MASK, 4, 0, unc], [PCI_ERR_UNCOR_SEVER, 4, 0, unc],
        [PCI_ERR_COR_STATUS, 4, 0, cor], [PCI_ERR_COR_MASK, 4, 0, cor],
        [PCI_ERR_CAP, 4, 0, 0x40 | 0x100], // ECRC generation and check enable
      ]);
    }
    case PCI_EXT_CAP_ID_PWR:
      return permBits(0x10, 'default', 'default', [[0, 4, ALL, 0], [PCI_PWR_DATA, 1, 0, ALL]]);
    case PCI_EXT_CAP_ID_VNDR:
    case PCI_EXT_CAP_ID_DVSEC:
      return { readfn: 'direct', writefn: 'raw' };
    default: return { readfn: 'direct' };
  }
}

/** init_pci_cap_msi_perm: per device, its layout depends on the MSI flags. */
function msiPerm(len: number, flags: number): PermBits {
  const f: Array<readonly [number, number, number, number]> = [
    [PCI_CAP_LIST_NEXT, 1, ALL, 0], [PCI_MSI_FLAGS, 1, ALL, ALL], [PCI_MSI_ADDRESS_LO, 4, ALL, ALL],
  ];
  if (flags & PCI_MSI_FLAGS_64BIT) {
    f.push([PCI_MSI_ADDRESS_HI, 4, ALL, ALL], [PCI_MSI_DATA_64, 2, ALL, ALL]);
    if (flags & PCI_MSI_FLAGS_MASKBIT) f.push([PCI_MSI_MASK_64, 4, 0, ALL], [PCI_MSI_PENDING_64, 4, 0, ALL]);
  } else {
    f.push([PCI_MSI_DATA_32, 2, ALL, ALL]);
    if (flags & PCI_MSI_FLAGS_MASKBIT) f.push([PCI_MSI_MASK_32, 4, 0, ALL], [PCI_MSI_PENDING_32, 4, 0, ALL]);
  }
  return permBits(len, 'msi', 'msi', f);
}

const UNASSIGNED_PERMS: PermBits = { readfn: 'raw', writefn: 'raw' };
const DIRECT_RO_PERMS: PermBits = { readfn: 'direct' };

function bytesGet(a: Uint8Array | undefined, off: number, count: number): number {
  let v = 0;
  for (let i = count - 1; i >= 0; i--) v = v * 256 + (a?.[off + i] ?? 0);
  return v >>> 0;
}

function bytesPut(a: Uint8Array, off: number, count: number, v: number): void {
  for (let i = 0; i < count; i++) a[off + i] = (v >>> (8 * i)) & 0xff;
}

const maskOf = (count: number): number => (count === 4 ? 0xffffffff : (1 << (8 * count)) - 1);

/** PCI power states as vfio_pm_config_write sets them. */
export const PCI_D0 = 0, PCI_D3HOT = 3;

/**
 * The config half of struct vfio_pci_core_device: vconfig, pci_config_map,
 * the per-device MSI perm bits and the state the handlers keep.
 */
export class VfioPciConfig {
  readonly vconfig: Uint8Array;
  /** pci_config_map: the capability ID owning each byte. */
  readonly map: Uint8Array;
  /** vdev->rbar: BARs and ROM at open, for restores. */
  readonly rbar: number[];
  private bardirty = true;
  private extendedCaps = false;
  private msiPermBits: PermBits | undefined;
  private readonly perms = new Map<number, PermBits>();
  private readonly ecapPerms = new Map<number, PermBits>();
  /** vdev->virq_disabled: INTx disabled through the virtual command register. */
  virqDisabled = false;
  /** vdev->msi_qmax: log2 of the MSI vectors enabled through SET_IRQS (0 until then). */
  msiQmax = 0;
  /** vdev->irq_type is VFIO_PCI_MSI_IRQ_INDEX. */
  msiEnabled = false;
  /** pdev->current_state. */
  powerState = PCI_D0;

  /** vfio_config_init. */
  constructor(private readonly fn: PciFunctionModel, hasIrq = true) {
    const size = fn.config.size;
    this.map = new Uint8Array(size).fill(PCI_CAP_ID_INVALID);
    this.map.fill(PCI_CAP_ID_BASIC, 0, PCI_STD_HEADER_SIZEOF);
    this.vconfig = new Uint8Array(size);
    this.fillVconfigBytes(0, PCI_STD_HEADER_SIZEOF);
    this.rbar = [0, 1, 2, 3, 4, 5].map((i) => bytesGet(this.vconfig, PCI_BASE_ADDRESS_0 + 4 * i, 4));
    this.rbar.push(bytesGet(this.vconfig, PCI_ROM_ADDRESS, 4));
    if (!hasIrq) this.vconfig[PCI_INTERRUPT_PIN] = 0;
    this.capInit();
    this.ecapInit();
  }

  private hwRead(pos: number, count: number): number { return this.fn.config.read(pos, count); }
  private hwWrite(pos: number, count: number, val: number): void { this.fn.config.write(pos, count, val); }

  /** vfio_fill_vconfig_bytes (the hardware answers any width, so one copy). */
  private fillVconfigBytes(off: number, size: number): void {
    for (let i = 0; i < size; i++) this.vconfig[off + i] = this.hwRead(off + i, 1);
  }

  private capPermOf(id: number): PermBits {
    let p = this.perms.get(id);
    if (!p) { p = capPerm(id); this.perms.set(id, p); }
    return p;
  }

  private ecapPermOf(id: number): PermBits {
    let p = this.ecapPerms.get(id);
    if (!p) { p = ecapPerm(id); this.ecapPerms.set(id, p); }
    return p;
  }

  /** vfio_cap_len. */
  private capLen(cap: number, pos: number): number {
    switch (cap) {
      case PCI_CAP_ID_MSI: {
        const flags = this.hwRead(pos + PCI_MSI_FLAGS, 2);
        let len = 10;
        if (flags & PCI_MSI_FLAGS_64BIT) len += 4;
        if (flags & PCI_MSI_FLAGS_MASKBIT) len += 10;
        this.msiPermBits ??= msiPerm(len, flags);
        return len;
      }
      case PCI_CAP_ID_PCIX: {
        const cmdVersion = (this.hwRead(pos + PCI_X_CMD, 2) >> 12) & 3;
        if (!cmdVersion) return PCI_CAP_PCIX_SIZEOF_V0;
        this.probeExtendedCaps();
        return PCI_CAP_PCIX_SIZEOF_V2;
      }
      case PCI_CAP_ID_VNDR: return this.hwRead(pos + PCI_CAP_FLAGS, 1);
      case PCI_CAP_ID_EXP: {
        this.probeExtendedCaps();
        const flags = this.hwRead(pos + PCI_EXP_FLAGS, 2);
        const rcEnd = ((flags & PCI_EXP_FLAGS_TYPE) >> 4) === PCI_EXP_TYPE_RC_END;
        if ((flags & PCI_EXP_FLAGS_VERS) === 1) return rcEnd ? 0xc : PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
        return rcEnd ? 0x2c : PCI_CAP_EXP_ENDPOINT_SIZEOF_V2;
      }
      // HyperTransport and SATA: no modelled function has them; hidden.
      default: return 0;
    }
  }

  /** The "test for extended capabilities" of vfio_cap_len. */
  private probeExtendedCaps(): void {
    if (this.fn.config.size > PCI_CFG_SPACE_SIZE) this.extendedCaps = this.hwRead(PCI_CFG_SPACE_SIZE, 4) !== 0;
  }

  /** vfio_ext_cap_len, for the variable-length extended capabilities we can size. */
  private ecapLen(ecap: number, epos: number): number {
    switch (ecap) {
      case PCI_EXT_CAP_ID_VNDR: return this.hwRead(epos + 4, 4) >>> 20;
      case PCI_EXT_CAP_ID_DVSEC: return (this.hwRead(epos + 4, 4) >>> 20) & 0xfff;
      // VC, MFVC, ACS, REBAR, DPA, TPH: no modelled function has them; hidden.
      default: return 0;
    }
  }

  /** vfio_cap_init. */
  private capInit(): void {
    if (!(this.hwRead(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) return;
    let pos = this.hwRead(PCI_CAPABILITY_LIST, 1);
    let prev = PCI_CAPABILITY_LIST;
    let loops = (PCI_CFG_SPACE_SIZE - PCI_STD_HEADER_SIZEOF) / 4, caps = 0;
    while (pos && loops--) {
      const cap = this.hwRead(pos, 1), next = this.hwRead(pos + PCI_CAP_LIST_NEXT, 1);
      let len = 0;
      if (cap && cap <= PCI_CAP_ID_MAX) {
        len = PCI_CAP_LENGTH[cap] ?? 0;
        if (len === VARIABLE) len = this.capLen(cap, pos);
      }
      if (!len) {
        // Hidden: the previous capability's next pointer skips it.
        this.vconfig[prev] = next;
        pos = next;
        continue;
      }
      this.map.fill(cap, pos, pos + len);
      this.fillVconfigBytes(pos, len);
      if (cap === PCI_CAP_ID_PM) {
        // vfio_update_pm_vconfig_bytes: no PME for the user.
        bytesPut(this.vconfig, pos + PCI_PM_PMC, 2, bytesGet(this.vconfig, pos + PCI_PM_PMC, 2) & ~PCI_PM_CAP_PME_MASK);
        bytesPut(this.vconfig, pos + PCI_PM_CTRL, 2,
          bytesGet(this.vconfig, pos + PCI_PM_CTRL, 2) & ~(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS));
      }
      prev = pos + PCI_CAP_LIST_NEXT;
      pos = next;
      caps++;
    }
    if (!caps) bytesPut(this.vconfig, PCI_STATUS, 2, bytesGet(this.vconfig, PCI_STATUS, 2) & ~PCI_STATUS_CAP_LIST);
  }

  /** vfio_ecap_init. */
  private ecapInit(): void {
    if (!this.extendedCaps) return;
    let epos = PCI_CFG_SPACE_SIZE, prev = -1, ecaps = 0;
    let loops = (this.fn.config.size - PCI_CFG_SPACE_SIZE) / 4;
    while (loops-- && epos >= PCI_CFG_SPACE_SIZE) {
      const header = this.hwRead(epos, 4);
      const ecap = header & 0xffff, next = (header >>> 20) & 0xffc;
      let len = 0, hidden = false;
      if (ecap <= PCI_EXT_CAP_ID_MAX) {
        len = PCI_EXT_CAP_LENGTH[ecap] ?? 0;
        if (len === VARIABLE) len = this.ecapLen(ecap, epos);
      }
      if (!len) {
        if (prev >= 0) {
          // Not the first: the previous header's next pointer skips it.
          bytesPut(this.vconfig, prev, 4, ((bytesGet(this.vconfig, prev, 4) & ~(0xffc << 20)) | (next << 20)) >>> 0);
          epos = next;
          continue;
        }
        // The first anchors the list: a placeholder whose ID the direct read hides.
        len = 4;
        hidden = true;
      }
      this.map.fill(ecap & 0xff, epos, epos + len);
      this.fillVconfigBytes(epos, len);
      if (hidden) bytesPut(this.vconfig, epos, 4, (bytesGet(this.vconfig, epos, 4) & (0xffc << 20)) >>> 0);
      else ecaps++;
      prev = epos;
      epos = next;
    }
    if (!ecaps) bytesPut(this.vconfig, PCI_CFG_SPACE_SIZE, 4, 0);
  }

  /** vfio_find_cap_start. */
  private capStart(pos: number): number {
    const cap = this.map[pos]!;
    if (cap === PCI_CAP_ID_BASIC) return 0;
    const base = pos >= PCI_CFG_SPACE_SIZE ? PCI_CFG_SPACE_SIZE : PCI_STD_HEADER_SIZEOF;
    while (pos - 1 >= base && this.map[pos - 1] === cap) pos--;
    return pos;
  }

  /** vfio_pci_cap_remaining_dword. */
  private remainingDword(pos: number): number {
    const cap = this.map[pos];
    let i = 1;
    while ((pos + i) % 4 && this.map[pos + i] === cap) i++;
    return i;
  }

  /**
   * vfio_pci_config_rw: `count` bytes at `pos` of config space; for a
   * write, `data` holds them. Returns the bytes read (or `data` back).
   * EFAULT for an access past the end, as the kernel answers.
   */
  rw(pos: number, count: number, data?: Uint8Array): Uint8Array {
    const out = new Uint8Array(count);
    let done = 0;
    while (done < count) {
      const n = this.rwSingle(pos + done, count - done, out, done, data);
      done += n;
    }
    return out;
  }

  /** vfio_pci_config_rw_single. */
  private rwSingle(pos: number, count: number, out: Uint8Array, at: number, data?: Uint8Array): number {
    const size = this.fn.config.size;
    if (pos < 0 || pos >= size || pos + count > size) throw new Errno(EFAULT, `config access 0x${pos.toString(16)}+${count} past the end`);
    count = Math.min(count, this.remainingDword(pos));
    if (count >= 4 && !(pos % 4)) count = 4;
    else if (count >= 2 && !(pos % 2)) count = 2;
    else count = 1;
    const capId = this.map[pos]!;
    let perm: PermBits, capStart = 0;
    if (capId === PCI_CAP_ID_INVALID) {
      perm = UNASSIGNED_PERMS;
      capStart = pos;
    } else if (pos >= PCI_CFG_SPACE_SIZE) {
      perm = capId > PCI_EXT_CAP_ID_MAX ? DIRECT_RO_PERMS : this.ecapPermOf(capId);
      capStart = this.capStart(pos);
    } else {
      perm = capId === PCI_CAP_ID_MSI ? this.msiPermBits! : this.capPermOf(capId);
      if (capId > PCI_CAP_ID_BASIC) capStart = this.capStart(pos);
    }
    const offset = pos - capStart;
    if (data) {
      if (perm.writefn) this.writeFn(perm, pos, count, offset, bytesGet(data, at, count));
    } else if (perm.readfn) {
      bytesPut(out, at, count, this.readFn(perm, pos, count, offset));
    }
    return count;
  }

  private readFn(perm: PermBits, pos: number, count: number, offset: number): number {
    switch (perm.readfn) {
      case 'raw': return this.hwRead(pos, count);
      case 'direct': return this.directRead(pos, count, offset);
      case 'basic':
        if (isBar(offset)) this.barFixup();
        return this.defaultRead(perm, pos, count, offset);
      // vfio_msi_config_read also rewrites bits 1-3 of the capability's
      // first vconfig byte (it points at the ID, not the flags); that byte
      // is never virtualised, so nothing a user reads changes.
      case 'msi':
      default: return this.defaultRead(perm, pos, count, offset);
    }
  }

  private writeFn(perm: PermBits, pos: number, count: number, offset: number, val: number): void {
    switch (perm.writefn) {
      case 'raw': this.hwWrite(pos, count, val); return;
      case 'basic': this.basicWrite(perm, pos, count, offset, val); return;
      case 'pm': this.pmWrite(perm, pos, count, offset, val); return;
      case 'exp': this.expWrite(perm, pos, count, offset, val); return;
      case 'msi': this.msiWrite(perm, pos, count, offset, val); return;
      case 'af': this.afWrite(perm, pos, count, offset, val); return;
      // vfio_vpd_config_write would run VPD cycles; no modelled function has VPD.
      case 'vpd':
      default: this.defaultWrite(perm, pos, count, offset, val);
    }
  }

  /** vfio_default_config_read: virtualised bits from vconfig, the rest from the hardware. */
  private defaultRead(perm: PermBits, pos: number, count: number, offset: number): number {
    let val = bytesGet(this.vconfig, pos, count);
    const virt = bytesGet(perm.virt, offset, count);
    if (virt !== maskOf(count)) val = ((this.hwRead(pos, count) & ~virt) | (val & virt)) >>> 0;
    return val;
  }

  /** vfio_default_config_write. */
  private defaultWrite(perm: PermBits, pos: number, count: number, offset: number, val: number): void {
    const write = bytesGet(perm.write, offset, count);
    if (!write) return;
    const virt = bytesGet(perm.virt, offset, count);
    if (write & virt) {
      const v = ((bytesGet(this.vconfig, pos, count) & ~(write & virt)) | (val & write & virt)) >>> 0;
      bytesPut(this.vconfig, pos, count, v);
    }
    if (write & ~virt) {
      const m = write & ~virt;
      this.hwWrite(pos, count, ((this.hwRead(pos, count) & ~m) | (val & m)) >>> 0);
    }
  }

  /** vfio_direct_config_read: the hardware's value, but capability IDs and next pointers from vconfig. */
  private directRead(pos: number, count: number, offset: number): number {
    let val = this.hwRead(pos, count);
    const fromV = (n: number) => {
      const m = maskOf(n);
      val = ((val & ~m) | (bytesGet(this.vconfig, pos, n) & m)) >>> 0;
    };
    if (pos >= PCI_CFG_SPACE_SIZE) {
      if (offset < 4) fromV(count);
    } else if (pos >= PCI_STD_HEADER_SIZEOF) {
      if (offset === 0 && count > 1) fromV(Math.min(PCI_CAP_FLAGS, count));
      else if (offset === PCI_CAP_LIST_NEXT) fromV(1);
    }
    return val;
  }

  /** vfio_bar_fixup: the virtual BARs answer sizing as the real resources would. */
  private barFixup(): void {
    if (!this.bardirty) return;
    const res = this.fn.resources;
    for (let i = 0; i < 6; i++) {
      const off = PCI_BASE_ADDRESS_0 + 4 * i;
      const r = res[i];
      if (!r || !r.start) { bytesPut(this.vconfig, off, 4, 0); continue; }
      const mask = ~(r.length - 1n);
      let flags = PCI_BASE_ADDRESS_SPACE_IO;
      if (!r.io) flags = (r.prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0) | (r.mem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
      bytesPut(this.vconfig, off, 4, ((bytesGet(this.vconfig, off, 4) & Number(mask & 0xffffffffn)) | flags) >>> 0);
      if (!r.io && r.mem64) {
        i++;
        const hi = PCI_BASE_ADDRESS_0 + 4 * i;
        bytesPut(this.vconfig, hi, 4, (bytesGet(this.vconfig, hi, 4) & Number((mask >> 32n) & 0xffffffffn)) >>> 0);
      }
    }
    // A ROM resource answers sizing; no ROM (and no shadow ROM, x86 VGA only) reads 0.
    const rom = res[6];
    if (rom && rom.start) {
      const mask = Number(~(rom.length - 1n) & 0xffffffffn) | 1;
      bytesPut(this.vconfig, PCI_ROM_ADDRESS, 4, (bytesGet(this.vconfig, PCI_ROM_ADDRESS, 4) & mask) >>> 0);
    } else {
      bytesPut(this.vconfig, PCI_ROM_ADDRESS, 4, 0);
    }
    this.bardirty = false;
  }

  /** vfio_basic_config_write. */
  private basicWrite(perm: PermBits, pos: number, count: number, offset: number, val: number): void {
    // BAR restores (vfio_bar_restore) are for a reset the kernel did not
    // see: the modelled hardware BARs never change, so none is needed.
    this.defaultWrite(perm, pos, count, offset, val);
    if (offset === PCI_COMMAND) {
      // Remember memory and I/O enable for the backdoor-reset test.
      const m = PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
      bytesPut(this.vconfig, PCI_COMMAND, 2, (bytesGet(this.vconfig, PCI_COMMAND, 2) & ~m) | (val & m));
    }
    if (offset >= PCI_COMMAND && offset <= PCI_COMMAND + 1) {
      // Emulated INTx disable (vfio_pci_intx_mask / unmask).
      this.virqDisabled = (bytesGet(this.vconfig, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE) !== 0;
    }
    if (isBar(offset)) this.bardirty = true;
  }

  /** vfio_pm_config_write: the power state is the PCI core's to change. */
  private pmWrite(perm: PermBits, pos: number, count: number, offset: number, val: number): void {
    this.defaultWrite(perm, pos, count, offset, val);
    if (offset === PCI_PM_CTRL) {
      const state = val & PCI_PM_CTRL_STATE_MASK;
      const ctrl = pos - offset + PCI_PM_CTRL;
      this.hwWrite(ctrl, 2, (this.hwRead(ctrl, 2) & ~PCI_PM_CTRL_STATE_MASK) | state);
      this.powerState = state;
    }
  }

  /** vfio_exp_config_write: FLR and MRRS are virtualised. */
  private expWrite(perm: PermBits, pos: number, count: number, offset: number, val: number): void {
    const ctrlOff = pos - offset + PCI_EXP_DEVCTL;
    const readrq = bytesGet(this.vconfig, ctrlOff, 2) & PCI_EXP_DEVCTL_READRQ;
    this.defaultWrite(perm, pos, count, offset, val);
    let ctrl = bytesGet(this.vconfig, ctrlOff, 2);
    if (ctrl & PCI_EXP_DEVCTL_BCR_FLR) {
      ctrl &= ~PCI_EXP_DEVCTL_BCR_FLR;
      bytesPut(this.vconfig, ctrlOff, 2, ctrl);
      if (this.hwRead(pos - offset + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) this.fn.resetFunction();
    }
    if (readrq !== (ctrl & PCI_EXP_DEVCTL_READRQ)) {
      // pcie_set_readrq(max(the user's MRRS, the device's MPS)).
      const hw = this.hwRead(ctrlOff, 2);
      const mps = 128 << ((hw & PCI_EXP_DEVCTL_PAYLOAD) >> 5);
      const rq = Math.max(128 << ((ctrl & PCI_EXP_DEVCTL_READRQ) >> 12), mps);
      const v = (Math.log2(rq) - 7) << 12;
      this.hwWrite(ctrlOff, 2, (hw & ~PCI_EXP_DEVCTL_READRQ) | v);
    }
  }

  /** vfio_af_config_write. */
  private afWrite(perm: PermBits, pos: number, count: number, offset: number, val: number): void {
    this.defaultWrite(perm, pos, count, offset, val);
    const ctrlOff = pos - offset + PCI_AF_CTRL;
    if (this.vconfig[ctrlOff]! & PCI_AF_CTRL_FLR) {
      this.vconfig[ctrlOff]! &= ~PCI_AF_CTRL_FLR;
      const cap = this.hwRead(pos - offset + PCI_AF_CAP, 1);
      if ((cap & PCI_AF_CAP_FLR) && (cap & PCI_AF_CAP_TP)) this.fn.resetFunction();
    }
  }

  /** vfio_msi_config_write: enabling MSI is VFIO_DEVICE_SET_IRQS's; the queue size is capped. */
  private msiWrite(perm: PermBits, pos: number, count: number, offset: number, val: number): void {
    this.defaultWrite(perm, pos, count, offset, val);
    if (offset <= PCI_MSI_FLAGS && offset + count >= PCI_MSI_FLAGS) {
      const start = this.capStart(pos);
      let flags = bytesGet(this.vconfig, start + PCI_MSI_FLAGS, 2);
      if (!this.msiEnabled) flags &= ~PCI_MSI_FLAGS_ENABLE;
      if ((flags & PCI_MSI_FLAGS_QSIZE) >> 4 > this.msiQmax) flags = (flags & ~PCI_MSI_FLAGS_QSIZE) | (this.msiQmax << 4);
      bytesPut(this.vconfig, start + PCI_MSI_FLAGS, 2, flags);
      this.hwWrite(start + PCI_MSI_FLAGS, 2, flags);
    }
  }

  /** The virtual command register: memory decoding as the user last set it. */
  get memoryEnabled(): boolean {
    return this.powerState < PCI_D3HOT && (bytesGet(this.vconfig, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) !== 0;
  }

  /**
   * The enable bit the host's PCI core sets in the function's own MSI or
   * MSI-X capability when vfio-pci allocates the vectors (pci_alloc_irq_vectors)
   * and clears when it frees them: what the device sees as its interrupt mode.
   */
  setHwIrqEnable(msix: boolean, on: boolean): void {
    const id = msix ? PCI_CAP_ID_MSIX : PCI_CAP_ID_MSI;
    for (let pos = this.hwRead(PCI_CAPABILITY_LIST, 1), n = 0; pos && n < 48; pos = this.hwRead(pos + 1, 1), n++) {
      if (this.hwRead(pos, 1) !== id) continue;
      const bit = msix ? 0x8000 : PCI_MSI_FLAGS_ENABLE;
      const flags = this.hwRead(pos + 2, 2);
      this.hwWrite(pos + 2, 2, on ? flags | bit : flags & ~bit);
      return;
    }
  }

  /** The MSI-X table's BAR, offset and size (vfio_pci_core_enable), or undefined. */
  msixTable(): { bar: number; offset: number; size: number } | undefined {
    for (let pos = this.hwRead(PCI_CAPABILITY_LIST, 1), n = 0; pos && n < 48; pos = this.hwRead(pos + 1, 1), n++) {
      if (this.hwRead(pos, 1) !== PCI_CAP_ID_MSIX) continue;
      const flags = this.hwRead(pos + 2, 2), table = this.hwRead(pos + 4, 4);
      return { bar: table & 7, offset: table & ~7, size: ((flags & 0x7ff) + 1) * 16 };
    }
    return undefined;
  }
}

/** is_bar: the six BARs and the ROM BAR of the basic header. */
function isBar(offset: number): boolean {
  return (offset >= PCI_BASE_ADDRESS_0 && offset < PCI_BASE_ADDRESS_5 + 4) || (offset >= PCI_ROM_ADDRESS && offset < PCI_ROM_ADDRESS + 4);
}
