#!/usr/bin/env node
// Builds the C parts where the package is installed (npm's `install` script,
// and `npm rebuild iommufd-emu`): the LD_PRELOAD shim (native/shim) and the
// Node-API peer module (native/peer). They are built, never shipped, so they
// match this machine's libc and Node. Without a C compiler or make it says so
// in one line and fails the install; IOMMUFD_EMU_SKIP_NATIVE=1 installs the
// TypeScript library alone (`run` and `serve` then say what is missing).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const say = (line) => process.stderr.write(`iommufd-emu: ${line}\n`);

if (process.env.IOMMUFD_EMU_SKIP_NATIVE) {
  say('IOMMUFD_EMU_SKIP_NATIVE is set: the shim and native/peer are not built (the library works; run and serve do not)');
  process.exit(0);
}

const cc = process.env.CC || 'cc';
const how = "install one (Debian/Ubuntu: apt-get install gcc make; Fedora: dnf install gcc make) and run 'npm rebuild iommufd-emu'";
for (const [tool, what] of [[cc, 'a C compiler'], ['make', 'make']]) {
  const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
  if (r.error) {
    say(`cannot build the shim and native/peer (C, built at install): ${what} ('${tool}') is not there; ${how}`);
    process.exit(1);
  }
}
for (const dir of ['shim', 'peer']) {
  const r = spawnSync('make', ['-s', '-C', path.join(here, dir)], { stdio: 'inherit' });
  if (r.status !== 0) {
    say(`building native/${dir} failed (see above); fix it and run 'npm rebuild iommufd-emu'`);
    process.exit(1);
  }
}
