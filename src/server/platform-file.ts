// Loading a platform by name or from a JSON file: the file side of
// hw/platform.ts, kept out of hw/ and core/, which touch no file.
import * as fs from 'node:fs';
import { Errno, ENOENT } from '../uapi/errno.js';
import { PLATFORMS, parsePlatform, type Platform } from '../hw/platform.js';

/** A built-in platform by name, or a JSON platform file. */
export function loadPlatform(nameOrFile: string): Platform {
  const builtin = PLATFORMS[nameOrFile];
  if (builtin) return builtin;
  if (!fs.existsSync(nameOrFile)) {
    throw new Errno(ENOENT, `${nameOrFile}: no such platform (built-in: ${Object.keys(PLATFORMS).join(', ')}) or file`);
  }
  return parsePlatform(fs.readFileSync(nameOrFile, 'utf8'), nameOrFile);
}
