// A client reaches only what is its own. Each test is an attack that worked
// before the server took identities from the kernel (SO_PEERCRED), looked
// files up in the caller's own fd table and made client files safely; each
// asserts that it fails with a clear error and that the victim is unchanged.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmuServer } from '../src/server/server.js';
import { ProcessAddressSpace, ProcessTask } from '../src/server/process-memory.js';
import { Frames } from '../src/hw/memory.js';
import { openFileBacking } from '../src/server/file-backing.js';
import { fdAccess } from '../src/server/peer.js';
import { createPrivate } from '../src/server/private-files.js';
import { IEMU_VERSION, KIND_CHANNEL, KIND_FILE, OP_IOCTL, encodeHello, encodeRequest } from '../src/server/protocol.js';
import { IOMMU_DESTROY, IOMMU_IOAS_UNMAP } from '../src/uapi/iommufd.js';
import { EBADF, EEXIST } from '../src/uapi/errno.js';
import { SHIM, compileClient, ensureShim, removeTempDir, steps } from './shim/build.js';
import { exchange } from './wire.js';

const NOBODY = 65534;

/** A struct as little-endian u32/u64 fields. */
function struct(fields: Array<[number, bigint | number]>): Uint8Array {
  const size = fields.reduce((n, [w]) => n + w, 0);
  const b = Buffer.alloc(size);
  let o = 0;
  for (const [w, v] of fields) {
    if (w === 4) b.writeUInt32LE(Number(v), o); else b.writeBigUInt64LE(BigInt(v), o);
    o += w;
  }
  return b;
}

function channelHello(pid = process.pid): Buffer {
  return encodeHello({ kind: KIND_CHANNEL, pid, tid: pid, ino: 0n, oflags: 0, pathLen: 0 });
}

/** An ioctl whose struct travels inline (the server reads no memory for it). */
function ioctl(request: number, ino: bigint, inline: Uint8Array, pid = process.pid): Buffer {
  return encodeRequest({ op: OP_IOCTL, pid, tid: pid, request, arg: 0x10000n, ino, inline });
}

/** The socket inode behind fd `fd` of process `pid`. */
function socketInode(pid: number, fd: number): bigint {
  const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
  assert.ok(m, 'the victim fd is a socket');
  return BigInt(m[1]!);
}

describe('isolation: a client reaches only what is its own', () => {
  let server: EmuServer;
  const logs: string[] = [];
  let victimBin: string;

  before(async () => {
    ensureShim();
    server = await EmuServer.start({ log: (l) => logs.push(l) });
    victimBin = compileClient('victim');
  });
  after(async () => {
    await server.close();
    removeTempDir();
  });

  /** Start the victim; resolves once its IOAS and mapping exist, with its pid and its /dev/iommu's socket inode. */
  async function startVictim(): Promise<{ child: ChildProcess; ino: bigint; done: Promise<Map<string, string>> }> {
    const child = spawn(victimBin, [], { env: server.clientEnv(SHIM), stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const done = new Promise<Map<string, string>>((resolve) => child.on('close', () => resolve(steps(out))));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready\n')) resolve(); });
      child.on('close', () => reject(new Error(`victim exited early: ${out}`)));
    });
    await ready;
    const s = steps(out);
    assert.equal(s.get('alloc'), '0');
    assert.equal(s.get('map'), '0');
    return { child, ino: socketInode(child.pid!, Number(s.get('fd'))), done };
  }

  async function finish(v: { child: ChildProcess; done: Promise<Map<string, string>> }): Promise<void> {
    v.child.stdin!.end('go\n');
    const s = await v.done;
    assert.equal(s.get('buffer unchanged'), 'yes');
    assert.equal(s.get('unmap'), '0', 'the victim still has its mapping');
    assert.equal(s.get('destroy'), '0', 'the victim still has its IOAS');
  }

  it("another client's file, named by its socket inode, is EBADF; the victim keeps its IOAS and mapping", async () => {
    const v = await startVictim();
    const unmapAll = struct([[4, 24], [4, 1], [8, 0n], [8, (1n << 64n) - 1n]]);
    const destroy = struct([[4, 8], [4, 1]]);
    const r = await exchange(server.socketPath, [channelHello(), ioctl(IOMMU_IOAS_UNMAP, v.ino, unmapAll), ioctl(IOMMU_DESTROY, v.ino, destroy)], 3);
    assert.deepEqual(r.map((x) => x.result), [0, -EBADF, -EBADF]);
    await finish(v);
  });

  it("a file connection naming another client's socket is refused; the victim's file stays open", async () => {
    const v = await startVictim();
    const files = server.openFiles;
    const p = Buffer.from('/dev/iommu');
    const r = await exchange(server.socketPath, [encodeHello({ kind: KIND_FILE, pid: process.pid, tid: process.pid, ino: v.ino, oflags: 2, pathLen: p.length }), p], 1);
    assert.deepEqual(r, [], 'no answer: the connection is dropped');
    assert.ok(logs.some((l) => /does not hold the socket its hello names/.test(l)), logs.join('\n'));
    assert.equal(server.openFiles, files);
    await finish(v);
  });

  it('a hello that states another pid is refused, with a log line naming both', async () => {
    const v = await startVictim();
    const r = await exchange(server.socketPath, [channelHello(v.child.pid!), ioctl(IOMMU_DESTROY, v.ino, struct([[4, 8], [4, 1]]), v.child.pid!)], 2);
    assert.deepEqual(r, []);
    assert.ok(logs.some((l) => l.includes(`states pid ${v.child.pid}`) && l.includes(`peer is pid ${process.pid}`)), logs.join('\n'));
    await finish(v);
  });

  it('a request that states another pid ends the channel', async () => {
    const v = await startVictim();
    const r = await exchange(server.socketPath, [channelHello(), ioctl(IOMMU_DESTROY, v.ino, struct([[4, 8], [4, 1]]), v.child.pid!)], 2);
    assert.deepEqual(r.map((x) => x.result), [0], 'the hello is answered, the lying request is not');
    assert.ok(logs.some((l) => l.includes(`request states pid ${v.child.pid}`)), logs.join('\n'));
    await finish(v);
  });

  it('a user the server did not let in is refused at connect', async () => {
    const other = await EmuServer.start({ log: (l) => logs.push(l) });
    try {
      other.allowUser(NOBODY - 1, NOBODY - 1);
      const script = `const net=require('net');const c=net.connect(${JSON.stringify(other.socketPath)},()=>{const b=Buffer.alloc(32);b.writeUInt32LE(0x554d4549,0);b.writeUInt16LE(${IEMU_VERSION},4);b.writeUInt16LE(2,6);b.writeUInt32LE(process.pid,8);b.writeUInt32LE(process.pid,12);c.write(b)});let n=0;c.on('data',d=>{n+=d.length;c.destroy()});c.on('close',()=>{console.log('bytes',n)});c.on('error',()=>{})`;
      // Asynchronously: the server answers from this very event loop.
      const run = (uid: number) => new Promise<string>((resolve) => {
        const c = spawn(process.execPath, ['-e', script], { uid, gid: uid, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        c.on('close', () => resolve(out.trim()));
      });
      assert.equal(await run(NOBODY), 'bytes 0');
      assert.ok(logs.some((l) => l.includes(`uid ${NOBODY} may not use this server`)), logs.join('\n'));
      // The user it let in is answered.
      assert.equal(await run(NOBODY - 1), 'bytes 16');
    } finally {
      await other.close();
    }
  });

  it("credentials are the calling thread's own: a tid of another process reads the caller's", () => {
    const sleeper = spawn('sleep', ['30'], { uid: NOBODY, gid: NOBODY, stdio: 'ignore' });
    try {
      const mm = new ProcessAddressSpace(sleeper.pid!, new Frames());
      // Naming tid 1 (init, root) must not lend its credentials.
      const t = new ProcessTask(sleeper.pid!, 1, mm);
      assert.equal(t.user.uid, NOBODY);
      assert.equal(t.capSysResource, false);
      assert.equal(t.capIpcLock, false);
      mm.close();
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});

describe('isolation: files made for clients', () => {
  it('a file is made new: a planted symlink is EEXIST and its target untouched', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-plant-'));
    try {
      const target = path.join(dir, 'target');
      fs.writeFileSync(target, 'precious', { mode: 0o600 });
      fs.symlinkSync(target, path.join(dir, 'planted'));
      assert.throws(() => createPrivate(path.join(dir, 'planted'), 0o600, { uid: NOBODY, gid: NOBODY }), (e: NodeJS.ErrnoException) => e.code === 'EEXIST' && e.errno === -EEXIST);
      const st = fs.statSync(target);
      assert.equal(fs.readFileSync(target, 'utf8'), 'precious');
      assert.equal(st.uid, process.geteuid!());
      const fd = createPrivate(path.join(dir, 'fresh'), 0o600, { uid: NOBODY, gid: NOBODY });
      const fst = fs.fstatSync(fd);
      fs.closeSync(fd);
      assert.equal(fst.uid, NOBODY, 'given away by fchown of the open file');
      assert.equal(fst.mode & 0o777, 0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with a user let in, every directory stays the server's and nobody else can create in it", async () => {
    const server = await EmuServer.start({ log: () => {} });
    try {
      server.allowUser(NOBODY, NOBODY);
      const dirs: string[] = [];
      const walk = (d: string) => {
        dirs.push(d);
        for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      };
      walk(server.stateDir);
      walk(path.dirname(server.socketPath));
      for (const d of dirs) {
        const st = fs.lstatSync(d);
        assert.equal(st.uid, process.geteuid!(), d);
        assert.equal(st.mode & 0o022, 0, `${d} is writable by others`);
      }
      const plant = (p: string) => spawnSync('ln', ['-s', '/etc/shadow', p], { uid: NOBODY, gid: NOBODY }).status;
      assert.notEqual(plant(path.join(server.stateDir, 'regions', '1')), 0);
      assert.notEqual(plant(path.join(server.faults.taskDir, '1')), 0);
      assert.notEqual(plant(path.join(path.dirname(server.socketPath), 'libiommufd-shim.so')), 0);
      // The shim copy the user preloads is a new file of ours, readable by all.
      const copy = server.shareWithUser(SHIM);
      assert.equal(fs.lstatSync(copy).uid, process.geteuid!());
      assert.equal(fs.lstatSync(copy).mode & 0o777, 0o755);
    } finally {
      await server.close();
    }
  });

  it('serve refuses a socket in a directory others can write', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-open-'));
    try {
      fs.chmodSync(dir, 0o777);
      await assert.rejects(EmuServer.start({ socketPath: path.join(dir, 'sock'), log: () => {} }), /others can write/);
      fs.chmodSync(dir, 0o700);
      const s = await EmuServer.start({ socketPath: path.join(dir, 'sock'), log: () => {} });
      await s.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a client's file is reopened with no more access than the client's fd", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-access-'));
    try {
      const p = path.join(dir, 'f');
      fs.writeFileSync(p, 'abcd');
      const ro = fs.openSync(p, 'r');
      const wo = fs.openSync(p, 'w+');
      fs.writeSync(wo, 'abcd', 0);
      const opath = fs.openSync(p, 0o10000000);
      assert.deepEqual(fdAccess(process.pid, ro), { read: true, write: false });
      assert.deepEqual(fdAccess(process.pid, opath), undefined, 'O_PATH names a file and opens nothing (EBADF)');
      const b = openFileBacking(`/proc/self/fd/${ro}`, fdAccess(process.pid, ro)!);
      b.write(0n, Buffer.from('XY'));
      assert.equal(fs.readFileSync(p, 'utf8'), 'abcd', 'a read-only fd gives no write');
      b.close?.();
      const w = openFileBacking(`/proc/self/fd/${wo}`, { read: false, write: true });
      assert.deepEqual([...w.read(0n, 4)], [0, 0, 0, 0], 'a write-only fd gives no read');
      w.close?.();
      for (const fd of [ro, wo, opath]) fs.closeSync(fd);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
