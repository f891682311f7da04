// resolveClientFd on this very process: a socket we know by its inode is the
// emulated file, a socket we do not know and /dev/null are 'other', a closed
// or impossible fd is 'bad'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { KnownFds, resolveClientFd } from '../src/server/fd-resolve.js';
import type { EmulatedFile } from '../src/core/file.js';

const fakeFile: EmulatedFile = { kind: 'test', ioctl: () => 0, release: () => {} };

function socketFds(): Array<{ fd: number; ino: bigint }> {
  const out = [];
  for (const n of fs.readdirSync('/proc/self/fd')) {
    let t: string;
    try { t = fs.readlinkSync(`/proc/self/fd/${n}`); } catch { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(t);
    if (m) out.push({ fd: Number(n), ino: BigInt(m[1]!) });
  }
  return out;
}

test('a socket known by its inode is emulated; an unknown socket is other', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-resolve-'));
  const sockPath = path.join(dir, 's');
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(sockPath, r));
  const c = net.connect(sockPath);
  await new Promise<void>((r) => c.once('connect', () => r()));
  try {
    const socks = socketFds();
    assert.ok(socks.length >= 2, 'the listener and the client are sockets');
    const [known, ...rest] = socks;
    const seen: bigint[] = [];
    const lookup = (ino: bigint) => { seen.push(ino); return ino === known!.ino ? fakeFile : undefined; };
    assert.deepEqual(resolveClientFd(process.pid, known!.fd, lookup), { file: fakeFile, kind: 'emulated' });
    assert.deepEqual(seen, [known!.ino]);
    assert.deepEqual(resolveClientFd(process.pid, rest[0]!.fd, lookup), { kind: 'other' });
  } finally {
    c.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('/dev/null is other; a closed fd, a negative one and a huge one are bad', () => {
  const fd = fs.openSync('/dev/null', 'r+');
  const never = () => { throw new Error('not a socket: no lookup'); };
  try {
    assert.deepEqual(resolveClientFd(process.pid, fd, never), { kind: 'other' });
  } finally {
    fs.closeSync(fd);
  }
  assert.deepEqual(resolveClientFd(process.pid, fd, never), { kind: 'bad' });
  assert.deepEqual(resolveClientFd(process.pid, -1, never), { kind: 'bad' });
  assert.deepEqual(resolveClientFd(process.pid, 1 << 30, never), { kind: 'bad' });
});

test('a process that does not exist has no fds', () => {
  assert.deepEqual(resolveClientFd(0x7ffffff0, 0, () => undefined), { kind: 'bad' });
});

test('known fds: a close of a file forgets every number naming it, and only those', () => {
  const a = { ino: 10n }, b = { ino: 20n };
  const k = new KnownFds<{ ino: bigint }>();
  k.set(3, a); k.set(4, a); k.set(5, b);
  assert.equal(k.get(4), a);
  k.closed(10n);
  assert.equal(k.get(3), undefined);
  assert.equal(k.get(4), undefined);
  assert.equal(k.get(5), b);
  k.delete(5);
  assert.equal(k.get(5), undefined);
  k.set(6, b);
  k.clear();
  assert.equal(k.get(6), undefined);
});
