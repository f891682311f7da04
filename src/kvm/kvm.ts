// A KVM virtual machine, as far as DMA coherency reaches it. On x86
// (arch/x86/kvm/x86.c, the only architecture that defines
// __KVM_HAVE_ARCH_NONCOHERENT_DMA) it counts the sources of non-coherent DMA
// and decides what the guest's WBINVD does. With no such source KVM makes
// WBINVD a no-op: every DMA snoops, so there is nothing a flush could fix, and
// letting a guest flush the host's caches would only cost the host. With one,
// WBINVD is honoured: the guest may need it to make its stores visible to a
// device that reads around the cache. On arm64 kvm-vfio's calls reach the
// generic no-op stubs: KVM tracks nothing, has_noncoherent_dma is always
// false, and there is no WBINVD (the guest's cache maintenance by VA is not
// trapped); coherency rests on the IOMMU (CANWBS, S2FWB).
import type { EmulatedFile } from '../core/file.js';
import type { CpuCache } from '../hw/cache.js';
import type { Platform } from '../hw/platform.js';
import { KvmVfioDevice, type NoncoherentDmaSink } from './vfio.js';
import { Errno, EBUSY } from '../uapi/errno.js';

/** What one guest WBINVD did. */
export interface WbinvdResult {
  /** KVM flushed the caches (kvm_arch_has_noncoherent_dma); otherwise the instruction was skipped. */
  readonly honoured: boolean;
  /** Dirty lines written back to memory. */
  readonly linesWrittenBack: number;
}

/** The architectures KVM is modelled for. */
export type KvmArch = 'x86' | 'arm64';

/** The architecture of a platform's CPUs as KVM sees it: arm64 with SMMUs, x86 otherwise. */
export function kvmArchOf(platform: Platform): KvmArch {
  return platform.iommus.some((u) => u.kind === 'smmuv3') ? 'arm64' : 'x86';
}

export class KvmVm implements NoncoherentDmaSink {
  /** kvm->arch.noncoherent_dma_count. */
  noncoherentDmaCount = 0;
  /** Guest WBINVDs seen, and how many flushed. */
  wbinvdExits = 0;
  wbinvdFlushes = 0;
  private vfio: KvmVfioDevice | undefined;

  /** `cache`: the host CPUs' caches that an honoured WBINVD flushes. */
  constructor(readonly cache: CpuCache, readonly arch: KvmArch = 'x86') {}

  /** KVM_CREATE_DEVICE(KVM_DEV_TYPE_VFIO): only one per VM (EBUSY). */
  createVfioDevice(): KvmVfioDevice {
    if (this.vfio) throw new Errno(EBUSY, 'the VM has a kvm-vfio device');
    this.vfio = new KvmVfioDevice(this);
    return this.vfio;
  }

  /** The VM's kvm-vfio device, made on first use (a VMM creates it before adding files). */
  get vfioDevice(): KvmVfioDevice {
    return this.vfio ?? this.createVfioDevice();
  }

  /** KVM_DEV_VFIO_FILE_ADD on the VM's kvm-vfio device. */
  addVfioFile(file: EmulatedFile): void {
    this.vfioDevice.fileAdd(file);
  }

  /** KVM_DEV_VFIO_FILE_DEL on the VM's kvm-vfio device. */
  removeVfioFile(file: EmulatedFile): void {
    this.vfioDevice.fileDel(file);
  }

  /** kvm_arch_register_noncoherent_dma (a no-op stub but on x86). */
  registerNoncoherentDma(): void {
    if (this.arch === 'x86') this.noncoherentDmaCount++;
  }

  /** kvm_arch_unregister_noncoherent_dma (a no-op stub but on x86). */
  unregisterNoncoherentDma(): void {
    if (this.arch === 'x86') this.noncoherentDmaCount--;
  }

  /** kvm_arch_has_noncoherent_dma (false but on x86). */
  get hasNoncoherentDma(): boolean {
    return this.noncoherentDmaCount !== 0;
  }

  /** kvm_emulate_wbinvd: flush every CPU's cache when non-coherent DMA is possible, else skip. x86 only. */
  guestWbinvd(): WbinvdResult {
    if (this.arch !== 'x86') throw new RangeError('WBINVD is an x86 instruction; an arm64 guest cleans by VA, untrapped');
    this.wbinvdExits++;
    if (!this.hasNoncoherentDma) return { honoured: false, linesWrittenBack: 0 };
    this.wbinvdFlushes++;
    return { honoured: true, linesWrittenBack: this.cache.wbinvd() };
  }

  /** The VM goes away: its kvm-vfio device releases its files. */
  release(): void {
    this.vfio?.release();
  }
}
