// Linux errno values (x86-64, asm-generic) and the one way the engine raises them.
// An Errno is a value: code it carries is the errno a client sees; nothing ever
// parses its message.

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOTTY = 25;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const ERANGE = 34;
export const EDEADLK = 35;
export const ENOSYS = 38;
export const EBADE = 52;
export const EBADFD = 77;
export const EMSGSIZE = 90;
export const EOPNOTSUPP = 95;
export const EADDRINUSE = 98;
export const EOVERFLOW = 75;
export const ENOLINK = 67;
export const ETIMEDOUT = 110;

const NAMES: Record<number, string> = {
  [EPERM]: 'EPERM', [ENOENT]: 'ENOENT', [ESRCH]: 'ESRCH', [EINTR]: 'EINTR', [EIO]: 'EIO',
  [ENXIO]: 'ENXIO', [E2BIG]: 'E2BIG', [EBADF]: 'EBADF', [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM', [EACCES]: 'EACCES', [EFAULT]: 'EFAULT', [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST', [ENODEV]: 'ENODEV', [EINVAL]: 'EINVAL', [ENOTTY]: 'ENOTTY',
  [ENOSPC]: 'ENOSPC', [ESPIPE]: 'ESPIPE', [ERANGE]: 'ERANGE', [EDEADLK]: 'EDEADLK',
  [ENOSYS]: 'ENOSYS', [EBADE]: 'EBADE', [EBADFD]: 'EBADFD', [EMSGSIZE]: 'EMSGSIZE',
  [EOPNOTSUPP]: 'EOPNOTSUPP', [EADDRINUSE]: 'EADDRINUSE', [EOVERFLOW]: 'EOVERFLOW',
  [ENOLINK]: 'ENOLINK', [ETIMEDOUT]: 'ETIMEDOUT',
};

/** The errno's symbolic name ("EINVAL"), or "E<n>" for one we do not name. */
export function errnoName(code: number): string {
  return NAMES[code] ?? `E${code}`;
}

/** Every errno name this module knows, for decoding (name → value). */
export function errnoByName(name: string): number | undefined {
  for (const [k, v] of Object.entries(NAMES)) if (v === name) return Number(k);
  return undefined;
}

/**
 * A kernel error as a value. Engine code throws it where the kernel returns
 * -errno; the ioctl boundary catches it and answers the client with `code`.
 */
export class Errno extends Error {
  declare readonly code: number;
  constructor(code: number, why?: string) {
    // An expected outcome, not a bug: no stack trace to capture (the
    // kernel's selftests make the engine throw tens of thousands).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(why ? `${errnoName(code)}: ${why}` : errnoName(code));
    Error.stackTraceLimit = limit;
    this.code = code;
    this.name = 'Errno';
  }
}

/** Raise errno `code`; `why` is for humans reading a trace, never parsed. */
export function fail(code: number, why?: string): never {
  throw new Errno(code, why);
}

export function isErrno(e: unknown): e is Errno {
  return e instanceof Errno;
}
