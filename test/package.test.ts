// The package as a user gets it: `npm pack`, installed into a fresh project
// offline, builds its shim and peer module at install, and then gives a
// working `npx iommufd-emu` (--version, `run` of a C client built against the
// installed header) and library (platforms by name, types from the root).
//
// Offline: the package has no runtime dependencies, so the fresh project's
// lockfile names the tarball alone, with its integrity, and `npm ci
// --offline` installs it from the tarball — the same install, scripts and all.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './shim/build.js';

let dir = '';
let tarball = '';
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function sh(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', timeout: 60_000, env: o.env ?? process.env });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-package-'));
  // --ignore-scripts: dist/ is already built (npm test builds first), and
  // rebuilding it here would rewrite files other test files are loading.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  tarball = (JSON.parse(out) as Array<{ filename: string }>)[0]!.filename;
  const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(path.join(dir, tarball))).digest('base64')}`;
  const own = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'consumer', private: true, type: 'module', dependencies: { 'iommufd-emu': `file:${tarball}` },
  }));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({
    name: 'consumer', lockfileVersion: 3, requires: true, packages: {
      '': { name: 'consumer', dependencies: { 'iommufd-emu': `file:${tarball}` } },
      'node_modules/iommufd-emu': {
        version: VERSION, resolved: `file:${tarball}`, integrity, hasInstallScript: true, license: own.license,
        bin: own.bin, engines: own.engines, os: own.os,
      },
    },
  }));
});
after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

describe('npm pack, installed in a fresh project', () => {
  it('ships the sources to build, the header, LICENSE, CHANGELOG; not tests or built objects', () => {
    const list = execFileSync('tar', ['tzf', path.join(dir, tarball)], { encoding: 'utf8' }).split('\n').map((l) => l.replace(/^package\//, ''));
    for (const f of ['LICENSE', 'CHANGELOG.md', 'README.md', 'bin/iommufd-emu', 'dist/src/cli/main.js', 'dist/src/lib/index.d.ts',
      'native/build.mjs', 'native/shim/shim.c', 'native/shim/trap.c', 'native/shim/trap.h', 'native/shim/proto.h', 'native/shim/Makefile', 'native/peer/peer.c', 'native/peer/Makefile',
      'include/iommufd_abi.h', 'platforms/platform.schema.json']) {
      assert.ok(list.includes(f), `${f} is in the package`);
    }
    for (const f of list) assert.doesNotMatch(f, /^dist\/test\/|\.so$|\.node$|^oracle\/|^test\//, `${f} is not shipped`);
    assert.match(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'), /GNU GENERAL PUBLIC LICENSE\s+Version 2, June 1991/);
    assert.match(fs.readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## ${VERSION.replace(/\./g, '\\.')}`, 'm'));
  });

  it('installs offline, building the shim and the peer module; npx runs --version and a C client', { timeout: 90_000 }, () => {
    const inst = sh('npm', ['ci', '--offline', '--no-audit', '--no-fund']);
    assert.equal(inst.status, 0, inst.stderr);
    const pkg = path.join(dir, 'node_modules/iommufd-emu');
    assert.ok(fs.existsSync(path.join(pkg, 'native/shim/libiommufd-shim.so')), 'the shim was built at install');
    assert.ok(fs.existsSync(path.join(pkg, 'native/peer/peer.node')), 'the peer module was built at install');

    const v = sh('npx', ['--no-install', 'iommufd-emu', '--version']);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout, `iommufd-emu ${VERSION}\n`);

    fs.writeFileSync(path.join(dir, 'client.c'), CLIENT);
    const cc = sh('cc', ['-Wall', '-Werror', '-I', path.join(pkg, 'include'), '-o', 'client', 'client.c']);
    assert.equal(cc.status, 0, cc.stderr);
    const r = sh('npx', ['--no-install', 'iommufd-emu', 'run', '-o', 'trace.log', '--', './client']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ioas 1\ndestroy 0\ndestroy again -1 ENOENT\n');
    assert.match(fs.readFileSync(path.join(dir, 'trace.log'), 'utf8'), /^\[\d+\] open\("\/dev\/iommu"\) = 3\n\[\d+\] IOMMU_IOAS_ALLOC\(/);

    // The library, from the package root: a platform by name, the names of the others.
    const lib = sh(process.execPath, ['--input-type=module', '-e', `
      import { openIommufd, PLATFORMS, DEFAULT_PLATFORM, loadPlatform, Errno } from 'iommufd-emu';
      const f = openIommufd({ platform: 'qemu-vtd' });
      const g = openIommufd({ platform: loadPlatform('mock') });
      let err = 0;
      try { f.destroy(99); } catch (e) { err = e instanceof Errno ? e.code : -1; }
      console.log([Object.keys(PLATFORMS).join(','), DEFAULT_PLATFORM, f.ioasAlloc(), f.ctx.engine.platform.name, g.ctx.engine.platform.name, err].join(' '));
    `]);
    assert.equal(lib.status, 0, lib.stderr);
    assert.equal(lib.stdout, 'mock,qemu-vtd,qemu-vtd-sc,qemu-vtd-sm,qemu-vtd-sm-sc,intel-client,arm-smmuv3,qemu-vtd-igb,amd-vi,qemu-smmuv3 mock 1 qemu-vtd mock 2\n');

    // The types, from the package root, for a TypeScript user.
    fs.writeFileSync(path.join(dir, 'consumer.ts'), TS_CONSUMER);
    const tsc = sh(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck',
      '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', '', 'consumer.ts']);
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });

  it('without a C compiler the install says so in one line and fails', () => {
    const empty = fs.mkdtempSync(path.join(dir, 'no-cc-'));
    const r = sh(process.execPath, [path.join(ROOT, 'native/build.mjs')], { env: { PATH: empty, HOME: process.env.HOME } });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "iommufd-emu: cannot build the shim and native/peer (C, built at install): a C compiler ('cc') is not there; install one (Debian/Ubuntu: apt-get install gcc make; Fedora: dnf install gcc make) and run 'npm rebuild iommufd-emu'\n");
  });

  it('the installed header is the one the conformance clients use', () => {
    const body = (f: string) => { const t = fs.readFileSync(f, 'utf8'); return t.slice(t.indexOf('#ifndef IOMMUFD_EMU_ABI_H')); };
    assert.equal(body(path.join(ROOT, 'include/iommufd_abi.h')), body(path.join(ROOT, 'test/conformance/include/iommufd_abi.h')));
  });

  it('the README stands alone: no pointer outside the repository', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.doesNotMatch(readme, /\.\.\/|shared\/design|in the workspace/);
  });
});

const CLIENT = `#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <iommufd_abi.h>

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	if (fd < 0) { perror("open /dev/iommu"); return 1; }
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc)) { perror("IOMMU_IOAS_ALLOC"); return 1; }
	printf("ioas %u\\n", alloc.out_ioas_id);
	struct iommu_destroy d = { .size = sizeof(d), .id = alloc.out_ioas_id };
	printf("destroy %d\\n", ioctl(fd, IOMMU_DESTROY, &d));
	int rc = ioctl(fd, IOMMU_DESTROY, &d);
	printf("destroy again %d %s\\n", rc, errno == ENOENT ? "ENOENT" : "?");
	return close(fd);
}
`;

const TS_CONSUMER = `import { openIommufd, PLATFORMS, type Platform, type EngineOptions, type ProcessOptions, type IommuDomain,
  type IommufdIoas, type Task, type MapArgs, type RawResult, type StructDef, type Fields, type VfioRawResult, type UserAccount } from 'iommufd-emu';
const p: Platform = PLATFORMS['qemu-vtd']!;
const e: EngineOptions = { platform: p };
const o: ProcessOptions = { uid: 1000 };
const f = openIommufd({ process: o, engine: e });
const ioas: IommufdIoas = f.ioas(f.ioasAlloc());
const t: Task = f.proc.task;
const u: UserAccount = t.user;
const m: MapArgs = { ioasId: 1, userVa: 0n, length: 4096n };
let r: RawResult | VfioRawResult | undefined;
let d: IommuDomain | undefined;
let s: StructDef<Fields> | undefined;
export { ioas, u, m, r, d, s };
`;
