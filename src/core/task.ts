// The calling task as the engine sees it: whose memory, whose limits, which
// capabilities. The server builds one from /proc/<pid>; the library builds
// one around a simulated process.
import type { AddressSpace, FileBacking } from '../hw/memory.js';
import type { EmulatedFile } from './file.js';

export const RLIM_INFINITY = (1n << 64n) - 1n;

/** A user's struct user_struct: locked_vm shared by every process of the uid. */
export interface UserAccount {
  readonly uid: number;
  /** Pages charged in IOPT_PAGES_ACCOUNT_USER mode. */
  lockedVm: number;
}

export interface Task {
  readonly pid: number;
  readonly tid: number;
  /** The process's address space (mm). */
  readonly mm: AddressSpace;
  readonly user: UserAccount;
  /** RLIMIT_MEMLOCK soft limit in bytes (RLIM_INFINITY for none). */
  readonly rlimitMemlock: bigint;
  readonly capIpcLock: boolean;
  readonly capSysResource: boolean;
  /**
   * For ioctls that create a file (fault queues, access objects, event
   * queues): once the ioctl succeeds, give the caller an fd for `file` and
   * store its number (s32) at `fdAt` in the caller's memory. Absent where the
   * caller cannot receive files.
   */
  installFile?(file: EmulatedFile, fdAt: bigint): void;
  /**
   * For ioctls whose result is a new fd (the selftest's DMABUF_GET, like
   * dma_buf_fd): once the ioctl succeeds, give the caller an fd for `file`
   * (close-on-exec when `cloexec`) and make its number the ioctl's result.
   * Returns what the ioctl returns now: the fd number where the host knows it
   * at once (the library), else a placeholder the host replaces (the server).
   * Absent where the caller cannot receive files.
   */
  installFileResult?(file: EmulatedFile, cloexec: boolean): number;
  /**
   * The task's fault injection (the kernel's should_fail_ex as reached from
   * failslab, fail_page_alloc, fail_iommufd, fail_usercopy...), absent when
   * nothing can fire: `task.faultInjector?.shouldFail('failslab', { mayWait: true })`.
   */
  readonly faultInjector?: FaultInjector | undefined;
  /**
   * The file behind one of the task's fd numbers, for structs that carry an
   * fd (VFIO_DEVICE_BIND_IOMMUFD's iommufd): an emulated file, some other
   * open file ('other': /dev/null, a pipe...), or no open fd ('bad'). Absent:
   * the caller has no fd table, every fd is 'bad'.
   */
  resolveFd?(fd: number): ResolvedFile;
}

/** What Task.resolveFd answers for one fd number. */
export interface ResolvedFile {
  file?: EmulatedFile;
  kind: 'emulated' | 'other' | 'bad';
  /** For 'other' in the server: /proc/<pid>/fd/<n>. */
  path?: string;
  /**
   * For 'other': open the file's bytes for the engine (IOMMU_IOAS_MAP_FILE).
   * The engine closes the backing when it no longer needs it. Absent: the
   * file's bytes cannot be reached (treated as a file that never pins).
   */
  openBacking?(): FileBacking;
  /**
   * For 'other': take a reference to the file as an eventfd (eventfd_ctx_fdget),
   * EINVAL when it is not one. Absent: the host cannot reach it as an eventfd.
   */
  eventfd?(): EventfdCtx;
}

/**
 * A reference to an eventfd the engine holds (struct eventfd_ctx): a device
 * interrupt signals it whenever it fires, long after the ioctl that gave it.
 * The server's are the client's real eventfds, the library's simulated ones.
 */
export interface EventfdCtx {
  /** eventfd_signal: add 1 to the counter (the reader wakes). */
  signal(): void;
  /** eventfd_ctx_put: the engine is done with it. */
  release(): void;
  /**
   * vfio_virqfd: call `handler` after each signal someone else (the user)
   * gives the eventfd, taking its counter as the kernel does, until
   * release(). The server polls its copy on its event loop, the library runs
   * it on a simulated write. Absent: the host cannot watch it.
   */
  watch?(handler: () => void): void;
}

/** Per-task fault injection (/proc/<pid>/task/<tid>/fail-nth and the debugfs knobs). */
export interface FaultInjector {
  /**
   * One injection point is reached: true when this call must fail. With
   * fail-nth armed (N written), each call that passes the site's debugfs
   * filters counts down; the Nth fails, once, and fail-nth then reads "0".
   * `site` names the debugfs attribute ('failslab', 'fail_page_alloc',
   * 'fail_iommufd', 'fail_usercopy'); `opts` are what its filters look at:
   * mayWait (__GFP_DIRECT_RECLAIM: skipped while ignore-gfp-wait is Y),
   * highmem (__GFP_HIGHMEM: ignore-gfp-highmem), order (fail_page_alloc's
   * min-order), noFail (__GFP_NOFAIL: never fails, does not count).
   */
  shouldFail(site: string, opts?: { mayWait?: boolean; highmem?: boolean; order?: number; noFail?: boolean }): boolean;
}

/**
 * The machine's users (the kernel's user_structs): one account per uid,
 * shared by every task of that uid. The engine owns one; a library process
 * joins its engine's (SimProcess), a server task its server's.
 */
export class UserAccounts {
  private readonly byUid = new Map<number, UserAccount>();

  /** The account of `uid`, made on first use. */
  account(uid: number): UserAccount {
    let u = this.byUid.get(uid);
    if (!u) { u = { uid, lockedVm: 0 }; this.byUid.set(uid, u); }
    return u;
  }
}
