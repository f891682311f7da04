// The server's side of a client's real kvm-vfio device (src/server/kvm-vfio.ts):
// KVM_SET_DEVICE_ATTR forwarded by the shim on an fd it does not own, driven
// here with a stubbed client (its fd table, /proc links and memory), so no
// /dev/kvm is needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMachine, type Machine } from '../src/lib/index.js';
import type { EmulatedFile } from '../src/core/file.js';
import { Errno, EEXIST, EFAULT, EINVAL, ENOENT } from '../src/uapi/errno.js';
import {
  FOREIGN_IOCTLS, KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD, KVM_DEV_VFIO_FILE_DEL, KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE,
  KVM_HAS_DEVICE_ATTR, KVM_SET_DEVICE_ATTR, KvmDeviceAttr,
} from '../src/uapi/kvm.js';
import { KVM_VFIO_NOT_TOLD, KvmVfioDevices, foreignEnv, type ForeignAnswer, type ForeignHost } from '../src/server/kvm-vfio.js';
import { hazardTraceLine } from '../src/server/hazard-report.js';
import { EmuServer, queryServer } from '../src/server/server.js';

test('uapi: the kvm-vfio numbers are include/uapi/linux/kvm.h\'s', () => {
  assert.equal(KVM_SET_DEVICE_ATTR, 0x4018aee1);
  assert.equal(KVM_HAS_DEVICE_ATTR, 0x4018aee3);
  assert.equal(KvmDeviceAttr.size, 24);
  assert.deepEqual([KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD, KVM_DEV_VFIO_FILE_DEL], [1, 1, 2]);
  assert.deepEqual(FOREIGN_IOCTLS, [KVM_SET_DEVICE_ATTR]);
  assert.equal(foreignEnv(), '0x4018aee1');
});

const KVM_FD = 20;
const VM_FD = 21;
const ATTR = 0x10000n;
const FDS = 0x20000n;

/** A client: its /proc/<pid>/fd links, its fd table and a little memory. */
class Client implements ForeignHost {
  readonly links = new Map<number, string>([[KVM_FD, 'anon_inode:kvm-vfio'], [VM_FD, 'anon_inode:kvm-vm']]);
  readonly table = new Map<number, { kind: 'emulated' | 'other'; file?: EmulatedFile }>();
  readonly mem = new Map<bigint, Uint8Array>();
  readonly held: number[] = [];
  readonly released: number[] = [];

  constructor(readonly pid: number) {}

  fdLink(fd: number): string | undefined { return this.links.get(fd); }
  read(addr: bigint, len: number): Uint8Array {
    for (const [base, b] of this.mem) {
      if (addr >= base && addr + BigInt(len) <= base + BigInt(b.length)) return b.slice(Number(addr - base), Number(addr - base) + len);
    }
    throw new Errno(EFAULT, 'unmapped');
  }
  resolveFd(fd: number) { return this.table.get(fd) ?? { kind: 'bad' as const }; }
  hold(fd: number) { this.held.push(fd); return () => { this.released.push(fd); }; }
  describe(file: EmulatedFile): string { return file.kind; }

  /** struct kvm_device_attr at ATTR, its int32 fd at FDS. */
  attr(group: number, attr: number, fileFd: number): bigint {
    this.mem.set(ATTR, KvmDeviceAttr.encode({ flags: 0, group, attr: BigInt(attr), addr: FDS }));
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, fileFd, true);
    this.mem.set(FDS, b);
    return ATTR;
  }
}

function setup(platform = 'qemu-vtd') {
  const m: Machine = openMachine(platform);
  const f = m.openIommufd();
  const nic0 = f.openVfioDevice(0);
  const c = new Client(4242);
  c.table.set(3, { kind: 'emulated', file: nic0.file });
  c.table.set(4, { kind: 'emulated', file: f.ctx });
  c.table.set(5, { kind: 'other' });
  const kvm = new KvmVfioDevices(m.engine);
  const owner = {};
  const call = (attr: number, fileFd: number, o: { request?: number; fd?: number; group?: number; arg?: bigint } = {}): ForeignAnswer =>
    kvm.ioctl(owner, c, o.fd ?? KVM_FD, o.request ?? KVM_SET_DEVICE_ATTR, o.arg ?? c.attr(o.group ?? KVM_DEV_VFIO_FILE, attr, fileFd));
  return { m, f, nic0, c, kvm, owner, call };
}

const result = (a: ForeignAnswer): number => {
  assert.equal(a.kernel, false, `answered by the server, not the kernel (${a.kernel ? a.why : ''})`);
  return (a as { result: number }).result;
};

test('FILE_ADD of an emulated VFIO cdev: answered 0, KVM counts its non-coherent DMA, the file is held; EEXIST twice', () => {
  const { c, kvm, call } = setup('qemu-vtd');
  assert.equal(kvm.noteFor(0), KVM_VFIO_NOT_TOLD);
  const a = call(KVM_DEV_VFIO_FILE_ADD, 3);
  assert.equal(result(a), 0);
  assert.match((a as { trace: string }).trace, /^KVM_SET_DEVICE_ATTR\(20<anon_inode:kvm-vfio>, \{group=KVM_DEV_VFIO_FILE, attr=KVM_DEV_VFIO_FILE_ADD, addr=\[3<vfio-device>\]\}\) = 0 \{1 VFIO file\(s\); non-coherent DMA registered: guest WBINVD is honoured\}$/);
  assert.deepEqual(c.held, [3], 'KVM keeps a reference to the file (get_file)');
  const [vm] = kvm.vms;
  assert.equal(vm!.vm.hasNoncoherentDma, true);
  assert.equal(vm!.vm.guestWbinvd().honoured, true);
  assert.equal(kvm.noteFor(0), 'kvm-vfio: told (the VM of pid 4242: 1 VFIO file(s); non-coherent DMA registered: guest WBINVD is honoured)');
  assert.equal(kvm.noteFor(1), KVM_VFIO_NOT_TOLD, 'another device was not handed over');
  assert.equal(result(call(KVM_DEV_VFIO_FILE_ADD, 3)), -EEXIST);
  assert.deepEqual(c.held, [3]);
});

test('FILE_DEL: 0 and the file let go; ENOENT for a file not added; an emulated non-VFIO file is EINVAL to add', () => {
  const { c, kvm, call } = setup('qemu-vtd');
  assert.equal(result(call(KVM_DEV_VFIO_FILE_DEL, 3)), -ENOENT);
  assert.equal(result(call(KVM_DEV_VFIO_FILE_ADD, 4)), -EINVAL, 'an iommufd is not a VFIO file (kvm_vfio_file_is_valid)');
  assert.equal(result(call(KVM_DEV_VFIO_FILE_ADD, 3)), 0);
  assert.equal(result(call(KVM_DEV_VFIO_FILE_DEL, 3)), 0);
  assert.deepEqual(c.released, [3], 'fput');
  assert.equal(kvm.vms[0]!.vm.hasNoncoherentDma, false, 'unregistered with its last non-coherent file');
  assert.equal(kvm.noteFor(0), KVM_VFIO_NOT_TOLD);
  assert.equal(result(call(KVM_DEV_VFIO_FILE_DEL, 3)), -ENOENT);
});

test('left to the real kernel: other requests, other devices, other attributes, real or missing files, unreadable memory', () => {
  const { c, kvm, call } = setup('qemu-vtd');
  const kernel = (a: ForeignAnswer, why: RegExp) => {
    assert.equal(a.kernel, true);
    assert.match((a as { why: string }).why, why);
  };
  kernel(call(KVM_DEV_VFIO_FILE_ADD, 3, { request: KVM_HAS_DEVICE_ATTR }), /not a kvm-vfio request/);
  kernel(call(KVM_DEV_VFIO_FILE_ADD, 3, { fd: VM_FD }), /fd 21 is anon_inode:kvm-vm/);
  kernel(call(KVM_DEV_VFIO_FILE_ADD, 3, { fd: 99 }), /fd 99 is not open/);
  kernel(call(KVM_DEV_VFIO_FILE_ADD, 3, { group: 2 }), /group 2 attr 1/);
  kernel(call(KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, 3), /group 1 attr 3/);
  kernel(call(KVM_DEV_VFIO_FILE_ADD, 5), /fd 5 is not emulated/);
  kernel(call(KVM_DEV_VFIO_FILE_ADD, 9), /fd 9 is not open/);
  kernel(call(KVM_DEV_VFIO_FILE_ADD, 3, { arg: 0xdead0000n }), /unmapped/);
  // addr points nowhere: the kernel's get_user gives EFAULT
  c.mem.set(ATTR, KvmDeviceAttr.encode({ flags: 0, group: KVM_DEV_VFIO_FILE, attr: 1n, addr: 0xbad000n }));
  kernel(kvm.ioctl({}, c, KVM_FD, KVM_SET_DEVICE_ATTR, ATTR), /unmapped/);
  assert.deepEqual(kvm.vms.flatMap((e) => e.vm.vfioDevice.fileList), [], 'nothing recorded');
  assert.deepEqual(c.held, []);
});

test('a VFIO group file counts for every device of its group; SC=1 devices register no non-coherent DMA', () => {
  const { m, f, c, kvm, call } = setup('qemu-vtd-sc');
  const g = m.engine.vfioGroups[0]!;
  c.table.set(6, { kind: 'emulated', file: m.engine.open(g.path, f.proc.task) });
  const a = call(KVM_DEV_VFIO_FILE_ADD, 6);
  assert.equal(result(a), 0);
  assert.match((a as { trace: string }).trace, /addr=\[6<vfio-group>\]\}\) = 0 \{1 VFIO file\(s\); no non-coherent DMA: guest WBINVD is a no-op\}$/);
  for (const d of g.devices) assert.match(kvm.noteFor(d.index), /^kvm-vfio: told \(the VM of pid 4242: /);
  assert.equal(kvm.vms[0]!.vm.guestWbinvd().honoured, false);
});

test('told(): a VM of this process holds a file of the device (its cdev, or its group), not another\'s', () => {
  const { m, f, c, kvm, owner, call } = setup('qemu-vtd');
  const g = m.engine.vfioGroups[0]!;
  const nic1 = f.openVfioDevice(1);
  assert.equal(kvm.told(owner, c.table.get(3)!.file!), false);
  call(KVM_DEV_VFIO_FILE_ADD, 3);
  assert.equal(kvm.told(owner, c.table.get(3)!.file!), true);
  assert.equal(kvm.told({}, c.table.get(3)!.file!), false, 'another process\'s VM');
  assert.equal(kvm.told(owner, nic1.file), g.devices.some((d) => d.index === 1), 'another device: only through a shared group');
  assert.equal(kvm.told(owner, f.ctx), false, 'not a VFIO file');
});

test('arm64 platforms: KVM tracks no non-coherent DMA', () => {
  const { kvm, call } = setup('arm-smmuv3');
  assert.equal(result(call(KVM_DEV_VFIO_FILE_ADD, 3)), 0);
  assert.equal(kvm.noteFor(0), 'kvm-vfio: told (the VM of pid 4242: 1 VFIO file(s); KVM (arm64) tracks no non-coherent DMA)');
});

test('each process\'s device is its own VM; the process going releases its files (kvm_vfio_release)', () => {
  const { c, kvm, owner, call } = setup('qemu-vtd');
  assert.equal(result(call(KVM_DEV_VFIO_FILE_ADD, 3)), 0);
  const other = {};
  assert.equal(result(kvm.ioctl(other, c, KVM_FD, KVM_SET_DEVICE_ATTR, c.attr(KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD, 3))), 0,
    'another process\'s VM is told separately (no EEXIST)');
  assert.equal(kvm.vms.length, 2);
  kvm.dropOwner(owner);
  assert.deepEqual(c.released, [3]);
  assert.equal(kvm.vms.length, 1);
  kvm.dropOwner(other);
  assert.deepEqual(c.released, [3, 3]);
  assert.equal(kvm.noteFor(0), KVM_VFIO_NOT_TOLD);
});

test('the hazard line says what KVM knows of the device', () => {
  const { kvm, call } = setup('qemu-vtd');
  const h = { vfio: 0, device: '0000:00:01.0', iova: 0x1000n, length: 64, write: false, bytes: 64, enforcing: false, hwpt: 2 };
  assert.match(hazardTraceLine(h), /; kvm-vfio: not told \(no KVM VM was handed this device's file: KVM_DEV_VFIO_FILE_ADD\)\) ---$/);
  call(KVM_DEV_VFIO_FILE_ADD, 3);
  assert.match(hazardTraceLine(h, kvm.noteFor(0)), /; kvm-vfio: told \(the VM of pid 4242: 1 VFIO file\(s\); non-coherent DMA registered: guest WBINVD is honoured\)\) ---$/);
});

test('the server gives the list to its clients, and to a --connect client\'s query', async () => {
  const server = await EmuServer.start({ log: () => {} });
  try {
    assert.equal(server.clientEnv('/shim.so').IOMMUFD_EMU_FOREIGN, '0x4018aee1');
    assert.equal((await queryServer(server.socketPath)).foreign, '0x4018aee1');
  } finally {
    await server.close();
  }
});
