// The live view's timeline (src/server/ui-events.ts): each traced call names
// the objects it touched; what a call changed becomes create, destroy,
// attach, detach and hazard events; the machine's DMA and faults arrive
// through Engine.notify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMachine, type IommufdFile } from '../src/lib/index.js';
import { UiModel, type UiClient } from '../src/server/ui-state.js';
import { UiTimeline, type UiEvent } from '../src/server/ui-events.js';

function clientsOf(f: IommufdFile): () => UiClient[] {
  return () => [{
    pid: f.proc.task.pid, uid: 0, mm: f.proc.mm,
    files: [...f.proc.files].map(([fd, file]) => ({ ino: BigInt(1000 + fd), path: `fd ${fd}`, file })),
  }];
}

test('ui timeline: calls link their objects; creates, attaches, hazards, DMA, faults, detaches and destroys follow', () => {
  const m = openMachine('qemu-vtd');
  const f = m.openIommufd();
  const tl = new UiTimeline(new UiModel({ engine: m.engine, clients: clientsOf(f) }));
  const seen: UiEvent[] = [];
  tl.listeners.add((e) => seen.push(e));
  const pid = f.proc.task.pid;
  const call = (name: string, line: string, ino = BigInt(1000 + f.fd)) => tl.traced(`[${pid}] ${line}`, { name, pid, result: 0, errno: 0, ino });

  const ioas = f.ioasAlloc();
  call('IOMMU_IOAS_ALLOC', `IOMMU_IOAS_ALLOC({size=12, flags=0}) = 0 {out_ioas_id=${ioas}}`);
  const alloc = seen.find((e) => e.kind === 'ioctl')!;
  assert.deepEqual(alloc.objects, [`1:${ioas}`]);
  const created = seen.find((e) => e.kind === 'create')!;
  assert.equal(created.name, 'IOAS');
  assert.deepEqual(created.objects, [`1:${ioas}`]);

  const nic = f.openVfioDevice(0);
  const devId = nic.bind(f);
  const hwpt = nic.attach(ioas);
  seen.length = 0;
  call('VFIO_DEVICE_ATTACH_IOMMUFD_PT', `VFIO_DEVICE_ATTACH_IOMMUFD_PT({argsz=16, flags=0, pt_id=${ioas}}) = 0 {pt_id=${hwpt}}`, BigInt(1000 + nic.fd));
  const ioctl = seen.find((e) => e.kind === 'ioctl')!;
  assert.deepEqual(ioctl.devices, ['vfio0'], 'a device file\'s call names its device');
  for (const k of [`1:${ioas}`, `1:${hwpt}`, `1:${devId}`]) assert.ok(ioctl.objects.includes(k), `the call names ${k}: ${ioctl.objects}`);
  assert.deepEqual(seen.filter((e) => e.kind === 'create').map((e) => e.name).sort(), ['DEVICE', 'HWPT_PAGING']);
  const att = seen.find((e) => e.kind === 'attach')!;
  assert.deepEqual(att.objects, [`1:${devId}`, `1:${hwpt}`]);
  const hz = seen.find((e) => e.kind === 'hazard')!;
  assert.deepEqual(hz.devices, ['vfio0']);
  assert.match(hz.text, /No Snoop/);

  seen.length = 0;
  m.engine.notify({ kind: 'dma', device: '0000:00:01.0', iova: 0x1000n, length: 64, write: false, detail: 'snooped' });
  m.engine.notify({ kind: 'fault', device: '0000:00:01.0', iova: 0xdead000n, write: true, detail: 'not-present' });
  assert.deepEqual(seen.map((e) => [e.kind, e.devices[0], e.ok]), [['dma', 'vfio0', true], ['fault', 'vfio0', false]]);
  assert.deepEqual(seen[0]!.objects, [`1:${devId}`, `1:${hwpt}`], 'a DMA names the device and the HWPT it went through');
  assert.match(seen[1]!.text, /write at IOVA 0xdead000 \(not-present\)/);

  seen.length = 0;
  tl.traced('--- DMA fault vfio0 iova=0x7000 write write-denied ---');
  assert.deepEqual(seen.map((e) => [e.kind, e.devices[0], e.text]), [['fault', 'vfio0', 'vfio0: DMA write fault at IOVA 0x7000 (write-denied)']],
    'the server\'s trace line for a device\'s DMA fault');
  assert.deepEqual(seen[0]!.objects, [`1:${devId}`, `1:${hwpt}`]);

  seen.length = 0;
  nic.detach(); // the automatic HWPT goes with its last device
  tl.settle();
  assert.deepEqual(seen.map((e) => e.kind).sort(), ['coherent', 'destroy', 'detach'], 'detached: the hazard is over too');
  assert.equal(seen.find((e) => e.kind === 'destroy')!.name, 'HWPT_PAGING');
  assert.equal(tl.since(0).length, tl.lastSeq, 'the ring keeps every event so far');
  tl.dispose();
  m.engine.notify({ kind: 'dma', device: '0000:00:01.0' });
  assert.equal(seen.length, 3, 'a disposed timeline no longer watches the engine');
});

test('ui timeline: a bounded ring', () => {
  const m = openMachine('mock');
  const f = m.openIommufd();
  const tl = new UiTimeline(new UiModel({ engine: m.engine, clients: clientsOf(f) }), 10);
  for (let i = 0; i < 25; i++) tl.traced(`[1] read(/dev/iommu, 8) = -1 EAGAIN`);
  assert.equal(tl.since(0).length, 10);
  assert.equal(tl.since(0)[0]!.seq, 16);
  assert.equal(tl.since(0)[0]!.ok, false);
});
