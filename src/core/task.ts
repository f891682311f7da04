// The calling task as the engine sees it: whose memory, whose limits, which
// capabilities. The server builds one from /proc/<pid>; the library builds
// one around a simulated process.
import type { AddressSpace } from '../hw/memory.js';
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
}

const users = new Map<number, UserAccount>();

/** The per-uid account, shared by every task of that uid in this engine. */
export function userAccount(uid: number): UserAccount {
  let u = users.get(uid);
  if (!u) { u = { uid, lockedVm: 0 }; users.set(uid, u); }
  return u;
}
