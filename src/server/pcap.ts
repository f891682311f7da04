// A pcap capture file (the classic libpcap format, microsecond timestamps,
// LINKTYPE_ETHERNET) of every frame put on the machine's wire, for
// `--pcap FILE`. The file is made new with createPrivate (never by following
// a name someone planted), for `owner` when the server works for another user.
import * as fs from 'node:fs';
import { createPrivate, type Owner } from './private-files.js';

const MAGIC = 0xa1b2c3d4, SNAPLEN = 65535, LINKTYPE_ETHERNET = 1;

export class PcapWriter {
  private readonly fd: number;
  private readonly rec = Buffer.alloc(16);
  frames = 0;

  constructor(readonly path: string, owner?: Owner) {
    this.fd = createPrivate(path, 0o644, owner);
    const h = Buffer.alloc(24);
    h.writeUInt32LE(MAGIC, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(SNAPLEN, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    fs.writeSync(this.fd, h);
  }

  /** One frame, stamped now. */
  frame(bytes: Uint8Array): void {
    const us = BigInt(Date.now()) * 1000n;
    const n = Math.min(bytes.length, SNAPLEN);
    this.rec.writeUInt32LE(Number(us / 1000000n), 0);
    this.rec.writeUInt32LE(Number(us % 1000000n), 4);
    this.rec.writeUInt32LE(n, 8);
    this.rec.writeUInt32LE(bytes.length, 12);
    fs.writeSync(this.fd, this.rec);
    fs.writeSync(this.fd, bytes, 0, n);
    this.frames++;
  }

  close(): void { fs.closeSync(this.fd); }
}
