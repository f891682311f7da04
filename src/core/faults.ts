// Fault injection (the kernel's fail_nth protocol, drivers/iommu/iommufd's
// iommufd_should_fail): the task running the current ioctl may ask for its
// Nth injection point to fail. The engine is synchronous like the kernel's
// ioctl path, so "the current task" is a module-level slot set around each
// ioctl, as `current` is in the kernel.
import type { FaultInjector, Task } from './task.js';

export type { FaultInjector } from './task.js';

let current: FaultInjector | undefined;

/** Run `fn` with `task`'s injector as the current one. */
export function withTask<R>(task: Task, fn: () => R): R {
  const prev = current;
  current = task.faultInjector;
  try { return fn(); } finally { current = prev; }
}

/** iommufd_should_fail(): an injection point of fail_iommufd. */
export function iommufdShouldFail(): boolean {
  return current?.shouldFail('fail_iommufd') ?? false;
}

/** A slab allocation point (failslab). */
export function slabShouldFail(): boolean {
  return current?.shouldFail('failslab', { mayWait: true }) ?? false;
}
