// DMA cache coherency on the emulator, narrated: the CPU stores into a buffer
// (the store sits dirty in its cache), a NIC reads the buffer by DMA with the
// PCIe No Snoop attribute, and KVM decides whether a guest's WBINVD flushes.
// Run after `npm run build`:  node examples/coherency.mjs
import { openMachine } from '../dist/src/lib/index.js';

const text = (b) => (b.every((x) => x === 0) ? '(zeros)' : JSON.stringify(new TextDecoder().decode(b).replace(/\0+$/, '')));
const hex = (n) => '0x' + n.toString(16);

for (const platform of ['qemu-vtd', 'qemu-vtd-sc']) {
  const m = openMachine(platform);
  const unit = m.engine.vfioDevices[0].pci.driver;
  console.log(`== ${platform}: ${unit.name} ECAP ${hex(unit.ecap)}, snoop control ${unit.snoopControl ? 'on' : 'off'}`);

  // The VMM: an iommufd, NIC 0 bound and attached to an IOAS, one page mapped at IOVA 0x100000.
  const iommufd = m.openIommufd();
  const nic = iommufd.openVfioDevice(0);
  const devId = nic.bind(iommufd);
  const ioas = iommufd.ioasAlloc();
  const hwpt = nic.attach(ioas);
  const buf = iommufd.proc.mmap(4096);
  const iova = iommufd.map({ ioasId: ioas, userVa: buf, length: 4096n, iova: 0x100000n });
  const domain = iommufd.object(hwpt).domain;
  console.log(`   NIC ${nic.file.device.pci.name} bound as device ${devId}, attached to HWPT ${hwpt}; PTE for ${hex(iova)} = ${hex(domain.pte(iova))} (SNP ${domain.pte(iova) & (1n << 11n) ? 'set' : 'clear'})`);

  // The CPU fills a transmit buffer; the bytes stay in a dirty cache line.
  m.cpuWrite(iommufd.proc, buf, 'fresh packet');
  console.log(`   CPU writes "fresh packet": ${m.cache.dirtyLines} dirty line(s); DRAM still holds ${text(m.memoryRead(iommufd.proc, buf, 16))}`);

  const dma = m.dma(0);
  const snooped = dma.dmaRead(iova, 12);
  console.log(`   NIC DMA read, snooped:   ${text(snooped.data)}`);
  const ns = dma.dmaRead(iova, 12, { noSnoop: true });
  const forced = ns.segments[0].forced;
  console.log(`   NIC DMA read, no-snoop:  ${text(ns.data)}${forced ? '  (the IOMMU forced a snoop: SNP)' : '  <- stale: the read went around the cache'}`);

  // The other way: the NIC writes a received frame with No Snoop where the CPU has a dirty line.
  m.cpuWrite(iommufd.proc, buf + 0x800n, 'old frame');
  dma.dmaWrite(iova + 0x800n, new TextEncoder().encode('new frame'), { noSnoop: true });
  console.log(`   NIC DMA write "new frame", no-snoop, over a dirty line: the CPU reads ${text(m.cpuRead(iommufd.proc, buf + 0x800n, 9))}`);

  // The same machine as a VM: the NIC's file goes to KVM, the guest runs WBINVD.
  const vm = m.createVm();
  let w = vm.guestWbinvd();
  console.log(`   KVM, no VFIO file yet: guest WBINVD ${w.honoured ? 'honoured' : 'is a no-op'}`);
  vm.addVfioFile(nic.file);
  console.log(`   KVM_DEV_VFIO_FILE_ADD vfio0: enforced coherent = ${!vm.hasNoncoherentDma}, noncoherent DMA count ${vm.noncoherentDmaCount}`);
  w = vm.guestWbinvd();
  console.log(`   guest WBINVD: ${w.honoured ? `honoured, ${w.linesWrittenBack} line(s) written back` : 'a no-op (no device can bypass the cache)'}`);
  const after = dma.dmaRead(iova, 12, { noSnoop: true });
  console.log(`   NIC DMA read, no-snoop:  ${text(after.data)}`);
  vm.removeVfioFile(nic.file);
  console.log(`   KVM_DEV_VFIO_FILE_DEL vfio0: count ${vm.noncoherentDmaCount}, guest WBINVD ${vm.guestWbinvd().honoured ? 'honoured' : 'a no-op again'}`);

  // A DMA to an IOVA nothing maps faults and moves no byte.
  const bad = dma.dmaWrite(0x900000n, new Uint8Array(8));
  console.log(`   NIC DMA write to 0x900000: ${bad.ok ? 'ok' : `fault (${bad.fault.reason}), errno ${bad.errno}`}`);
  console.log();
}
