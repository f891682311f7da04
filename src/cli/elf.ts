// What `run` checks before it starts a command: where it is, and whether the
// dynamic loader will be there to honour LD_PRELOAD.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where CMD is, or why a shell could not run it (its status and its words). */
export type FoundCommand = { path: string } | { status: 126 | 127; reason: string };

/**
 * CMD as bash would find and judge it: a name with a slash is that file; a
 * bare name is searched in PATH (directories and non-executables skipped;
 * a non-executable file found on the way is "Permission denied" when nothing
 * better turns up). Not found is 127; found but not runnable (a directory,
 * no execute permission) is 126.
 */
export function findCommand(cmd: string, envPath = process.env.PATH ?? '/usr/bin:/bin'): FoundCommand {
  const check = (p: string): FoundCommand => {
    let st: fs.Stats;
    try { st = fs.statSync(p); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES') return { status: 126, reason: 'Permission denied' };
      if (code === 'ENOTDIR') return { status: 126, reason: 'Not a directory' };
      return { status: 127, reason: 'No such file or directory' };
    }
    if (st.isDirectory()) return { status: 126, reason: 'Is a directory' };
    try { fs.accessSync(p, fs.constants.X_OK); } catch { return { status: 126, reason: 'Permission denied' }; }
    return { path: path.resolve(p) };
  };
  if (cmd.includes('/')) return check(cmd);
  let denied: FoundCommand | undefined;
  if (cmd !== '') {
    for (const dir of envPath.split(':')) {
      const r = check(path.join(dir || '.', cmd));
      if ('path' in r) return r;
      if (r.reason === 'Permission denied' && !denied) denied = r;
    }
  }
  return denied ?? { status: 127, reason: 'command not found' };
}

const PT_INTERP = 3;

/**
 * 'dynamic' when the ELF file has a PT_INTERP program header (the dynamic
 * loader runs and reads LD_PRELOAD), 'static' when it is ELF without one,
 * 'other' for scripts and anything that is not ELF.
 */
export function checkDynamic(file: string): 'dynamic' | 'static' | 'other' {
  let fd: number;
  try { fd = fs.openSync(file, 'r'); } catch { return 'other'; }
  try {
    const h = Buffer.alloc(64);
    if (fs.readSync(fd, h, 0, 64, 0) < 52 || h.readUInt32BE(0) !== 0x7f454c46) return 'other';
    const is64 = h[4] === 2;
    const le = h[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64 ? Number(le ? h.readBigUInt64LE(32) : h.readBigUInt64BE(32)) : u32(h, 28);
    const phentsize = u16(h, is64 ? 54 : 42);
    const phnum = u16(h, is64 ? 56 : 44);
    if (phnum === 0 || phentsize < 4) return 'static';
    const ph = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (u32(ph, i * phentsize) === PT_INTERP) return 'dynamic';
    return 'static';
  } catch {
    return 'other';
  } finally {
    fs.closeSync(fd);
  }
}
