// The errno a call raises (0 when it succeeds); anything else is rethrown.
import { Errno } from '../../src/lib/index.js';

export function errnoOf(fn: () => unknown): number {
  try { fn(); } catch (e) { if (e instanceof Errno) return e.code; throw e; }
  return 0;
}
