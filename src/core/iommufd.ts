// Placeholder; replaced by the real context (object table + dispatch).
import { Errno, ENOTTY } from '../uapi/errno.js';
import type { EmulatedFile, IoctlTrace } from './file.js';
import type { Task } from './task.js';
import type { Engine } from './engine.js';

export class IommufdCtx implements EmulatedFile {
  readonly kind = 'iommufd';
  constructor(readonly engine: Engine) {}
  ioctl(task: Task, request: number, arg: bigint, trace?: IoctlTrace): number {
    void task; void arg; void trace;
    throw new Errno(ENOTTY, `request 0x${request.toString(16)}`);
  }
  release(): void {}
}
