// The live view's state model (src/server/ui-state.ts, ui-pte.ts): a client
// maps memory and attaches a device; the snapshot shows the area at its IOVA
// with its user VA and pins, the domain's leaf entries with their attribute
// bits (huge entries where memory allows), the attachment and the device's
// coherency hazard, and costs nothing per page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMachine, type IommufdFile, type Machine } from '../src/lib/index.js';
import { UiModel, type UiClient } from '../src/server/ui-state.js';
import { leafGroups } from '../src/server/ui-pte.js';

const MiB = 1n << 20n;
const IOVA = 0x200000n;

/** The library's process as the model's client: its fd table's emulated files. */
function clientsOf(...fs: IommufdFile[]): () => UiClient[] {
  return () => fs.map((f) => ({
    pid: f.proc.task.pid, uid: f.proc.task.user.uid, mm: f.proc.mm, rlimitMemlock: f.proc.task.rlimitMemlock,
    files: [...f.proc.files].map(([fd, file]) => ({ path: `fd ${fd}`, file })),
  }));
}

interface Setup { m: Machine; f: IommufdFile; model: UiModel; buf: bigint; hwpt: number; ioas: number; devId: number }

function setup(platform: string, o: { length?: bigint; uid?: number } = {}): Setup {
  const m = openMachine(platform);
  const f = m.openIommufd(m.process({ uid: o.uid ?? 0, rlimitMemlock: 64n * MiB }));
  const nic = f.openVfioDevice(0);
  const devId = nic.bind(f);
  const ioas = f.ioasAlloc();
  const hwpt = nic.attach(ioas);
  const length = o.length ?? 4n * MiB;
  const buf = f.proc.mmap(length, { align: 2n * MiB });
  f.map({ ioasId: ioas, userVa: buf, length, iova: IOVA });
  return { m, f, model: new UiModel({ engine: m.engine, clients: clientsOf(f) }), buf, hwpt, ioas, devId };
}

test('ui state: the area at its IOVA, with its user VA, backing and pins', () => {
  const { model, buf, ioas } = setup('qemu-vtd', { uid: 1234 });
  const s = model.snapshot();
  const io = s.ioas.find((i) => i.key === `1:${ioas}`);
  assert.ok(io, 'the IOAS is listed under its key');
  assert.equal(io.areas.length, 1);
  const a = io.areas[0]!;
  assert.equal(a.iova, '0x200000');
  assert.equal(a.last, '0x5fffff');
  assert.equal(a.va, `0x${buf.toString(16)}`);
  assert.equal(a.backing, 'user');
  assert.equal(a.pinnedPages, 1024, '4 MiB pinned for the domain');
  assert.equal(a.accountMode, 'USER', 'an unprivileged user is charged per user');
  assert.equal(io.iovaAlignment, '0x1000', 'the VT-d domain\'s smallest page');
  assert.ok(io.reserved.some((r) => r.start === '0xfee00000' && r.last === '0xfeefffff'), 'the MSI window is reserved');
  assert.ok(io.reserved.some((r) => r.start === '0x8000000000'), 'beyond the 39-bit aperture is reserved');
  const u = s.users.find((x) => x.uid === 1234);
  assert.equal(u?.lockedVmPages, 1024, 'user->locked_vm counts the pins');
  const p = s.processes[0]!;
  assert.equal(p.pinnedVmPages, 1024);
  assert.equal(p.rlimitMemlock, '0x4000000');
});

test('ui state: the domain\'s entries: VT-d 2 MiB leaves, R/W set, SNP clear on a unit without snoop control', () => {
  const { model, hwpt } = setup('qemu-vtd');
  const d = model.snapshot().domains.find((x) => x.key === `1:${hwpt}`);
  assert.ok(d, 'the HWPT\'s domain is shown');
  assert.match(d.format, /^VT-d second stage/);
  assert.equal(d.enforcing, false);
  assert.deepEqual(d.pgsizes, ['4 KiB', '2 MiB', '1 GiB']);
  assert.equal(d.runs.length, 1);
  const [leaf] = d.runs[0]!.leaves;
  assert.ok(leaf);
  assert.equal(leaf.iova, '0x200000');
  assert.equal(leaf.size, '2 MiB');
  assert.equal(leaf.count, 2);
  assert.equal(leaf.huge, true);
  const bits = Object.fromEntries(leaf.bits.map((b) => [b.name, b.value]));
  assert.deepEqual([bits.R, bits.W, bits.SNP], ['1', '1', '0']);
  assert.equal(BigInt(leaf.pte!) & 3n, 3n, 'the raw entry has R and W');
});

test('ui state: an enforcing VT-d domain (snoop control) shows SNP; AMD shows FC; SMMU explains its attributes', () => {
  const sc = setup('qemu-vtd-sc');
  const d = sc.model.snapshot().domains[0]!;
  assert.equal(d.enforcing, true);
  const snp = d.runs[0]!.leaves[0]!.bits.find((b) => b.name === 'SNP');
  assert.equal(snp?.value, '1');
  assert.equal(sc.model.snapshot().devices[0]!.coherency.status, 'coherent');

  const amd = setup('amd-vi');
  const ad = amd.model.snapshot().domains[0]!;
  assert.equal(ad.format, 'AMD v1');
  const fc = ad.runs[0]!.leaves[0]!.bits.find((b) => b.name === 'FC');
  assert.equal(fc?.value, '1');

  const arm = setup('arm-smmuv3');
  const sd = arm.model.snapshot().domains[0]!;
  assert.match(sd.format, /^ARM_64_LPAE_S[12]$/);
  const names = sd.runs[0]!.leaves[0]!.bits.map((b) => b.name);
  assert.ok(names.includes('SH') && names.includes('AF') && names.includes('type'), names.join(','));
  assert.ok(names.includes('AttrIndx') || names.includes('MEMATTR'));
});

test('ui state: the attachment, the objects\' links and a coherency hazard', () => {
  const { model, hwpt, ioas, devId } = setup('qemu-vtd');
  const s = model.snapshot();
  const ctx = s.iommufds[0]!;
  assert.deepEqual(ctx.attachments.map((a) => [a.hwpt, a.devices, a.pasid]), [[`1:${hwpt}`, [`1:${devId}`], 0]]);
  const objs = new Map(ctx.objects.map((o) => [o.key, o]));
  assert.equal(objs.get(`1:${hwpt}`)?.type, 'HWPT_PAGING');
  assert.ok(objs.get(`1:${hwpt}`)!.links.some((l) => l.rel === 'ioas' && l.key === `1:${ioas}`), 'the HWPT links its IOAS');
  assert.ok(objs.get(`1:${devId}`)!.links.some((l) => l.rel === 'attached' && l.key === `1:${hwpt}`), 'the device links its HWPT');
  assert.equal(objs.get(`1:${ioas}`)?.users, 2, 'the HWPT holds the IOAS');
  const dev = s.devices.find((d) => d.name === 'vfio0')!;
  assert.equal(dev.bound, `1:${devId}`);
  assert.equal(dev.attached, `1:${hwpt}`);
  assert.equal(dev.coherency.status, 'hazard', 'No Snoop DMA through a domain without SNP');
  assert.match(dev.coherency.detail, /; kvm-vfio: not told \(no KVM VM was handed this device's file: KVM_DEV_VFIO_FILE_ADD\)$/, 'what the live view knows of KVM');
  assert.equal(s.devices.find((d) => d.name === 'vfio1')!.coherency.status, 'unbound');
  assert.deepEqual(s.groups.map((g) => [g.id, g.owner, g.domain]), [[1, 1, `1:${hwpt}`], [2, null, null]]);
});

test('ui state: costs per run, not per page: a 1 GiB mapping of 4 KiB-aligned memory is three leaf groups', () => {
  // IOVA 2 MiB-aligned, memory only 4 KiB-aligned to it: every leaf is 4 KiB, and the group is one line.
  const g = leafGroups({ iova: 0x40000000n, last: 0x40000000n + (1n << 30n) - 1n, paddr: 0x1000n, prot: 3 }, 0x1000n | (1n << 21n) | (1n << 30n));
  assert.deepEqual(g.map((x) => [x.size, x.count]), [[0x1000n, 262144n]]);
  // Both aligned to 4 KiB only at the start: 4 KiB entries up to the 2 MiB boundary, then 2 MiB ones, then a 4 KiB tail.
  const h = leafGroups({ iova: 0x1ff000n, last: 0x1ff000n + 0x201000n + 0xfffn, paddr: 0x3ff000n, prot: 3 }, 0x1000n | (1n << 21n));
  assert.deepEqual(h.map((x) => [x.iova, x.size, x.count]), [[0x1ff000n, 0x1000n, 1n], [0x200000n, 0x200000n, 1n], [0x400000n, 0x1000n, 1n]]);
});
