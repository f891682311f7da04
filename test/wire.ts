// A raw client of the server's wire protocol, for tests that speak it by hand
// (as an honest shim would, or as an attacker would).
import * as fs from 'node:fs';
import * as net from 'node:net';
import { REPLY_SIZE, decodeReply } from '../src/server/protocol.js';

/** The inode of the client's end of `c` (what a shim names in a FILE hello). */
export function socketIno(c: net.Socket): bigint {
  const fd = (c as unknown as { _handle: { fd: number } })._handle.fd;
  return fs.fstatSync(fd, { bigint: true }).ino;
}

/**
 * Send `frames` (or what `frames` makes of the client socket's inode) on a
 * new connection; collect `replies` replies, or what came before the server
 * closed the connection.
 */
export function exchange(sock: string, frames: Buffer[] | ((ino: bigint) => Buffer[]), replies: number): Promise<Array<{ magic: number; result: number; aux: number }>> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock, () => { for (const f of typeof frames === 'function' ? frames(socketIno(c)) : frames) c.write(f); });
    let buf = Buffer.alloc(0);
    const got = () => {
      const out = [];
      for (let i = 0; i + 1 <= Math.min(replies, Math.floor(buf.length / REPLY_SIZE)); i++) out.push(decodeReply(buf, i * REPLY_SIZE));
      return out;
    };
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= replies * REPLY_SIZE) {
        c.destroy();
        resolve(got());
      }
    });
    c.on('close', () => resolve(got()));
    c.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'ECONNRESET' || e.code === 'EPIPE') resolve(got()); else reject(e); });
  });
}

