/*
 * A bare-metal probe for the --arm machine's firmware tables: read QEMU's
 * ACPI tables through fw_cfg ("etc/acpi/tables", before the firmware's
 * linker patches them) and print the IORT nodes: the SMMUv3's flags (bit 0:
 * COHACC override, the SMMU is coherent) and the root complex's cache
 * coherency attribute and memory access flags (bit 0 CPM, bit 1 DACS, bit 2
 * CANWBS: what IOMMU_CAP_ENFORCE_CACHE_COHERENCY comes from). Power off
 * through PSCI. No kernel needed:
 *   aarch64-linux-gnu-gcc -O1 -ffreestanding -nostdlib -static \
 *       -Wl,-Ttext=0x40080000 -o iort.elf oracle/guest/arm-iort.c
 *   qemu-system-aarch64 -nodefaults -display none -machine virt,gic-version=3,iommu=smmuv3 \
 *       -cpu cortex-a57 -m 512M -serial stdio -kernel iort.elf
 * QEMU 7.2 and 10.0: SMMUv3 flags 0x1, root complex CCA 1, flags 0x03 (no CANWBS).
 */
#define UART 0x09000000UL
#define FWCFG 0x09020000UL
static void putc_(char c) { *(volatile unsigned int *)UART = (unsigned int)c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void hex(unsigned long v, int n) { puts_("0x"); for (int i = 4 * (n - 1); i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }
static void sel(unsigned short k) { *(volatile unsigned short *)(FWCFG + 8) = (unsigned short)((k >> 8) | (k << 8)); }
static unsigned char rb(void) { return *(volatile unsigned char *)FWCFG; }
static unsigned int be32(void) { unsigned int v = 0; for (int i = 0; i < 4; i++) v = v << 8 | rb(); return v; }
static unsigned char blob[1 << 20];
static unsigned int le(const unsigned char *p, int n) { unsigned int v = 0; while (n--) v = v << 8 | p[n]; return v; }
void cmain(void)
{
	unsigned int n, size = 0, want = 0;
	sel(0x19);
	n = be32();
	for (unsigned int i = 0; i < n; i++) {
		unsigned int s = be32();
		unsigned int k = rb() << 8; k |= rb(); rb(); rb();
		char name[56]; for (int j = 0; j < 56; j++) name[j] = (char)rb();
		const char *t = "etc/acpi/tables"; int eq = 1;
		for (int j = 0; j < 16; j++) if (name[j] != t[j]) eq = 0;
		if (eq) { size = s; want = k; }
	}
	if (!want || size > sizeof(blob)) { puts_("no acpi tables\n"); goto off; }
	sel((unsigned short)want);
	for (unsigned int i = 0; i < size; i++) blob[i] = rb();
	for (unsigned int i = 0; i + 48 < size; i++) {
		if (blob[i] != 'I' || blob[i + 1] != 'O' || blob[i + 2] != 'R' || blob[i + 3] != 'T') continue;
		const unsigned char *h = blob + i;
		unsigned int nodes = le(h + 36, 4), off = le(h + 40, 4);
		puts_("IORT rev="); hex(h[8], 2); puts_(" nodes="); hex(nodes, 2); puts_("\n");
		for (unsigned int k = 0; k < nodes && off < le(h + 4, 4); k++) {
			const unsigned char *nd = h + off;
			puts_(" node type="); hex(nd[0], 2);
			if (nd[0] == 4) { puts_(" smmuv3 base="); hex(le(nd + 16, 4), 8); puts_(" flags="); hex(le(nd + 24, 4), 8); }
			if (nd[0] == 2) { puts_(" rc cca="); hex(le(nd + 16, 4), 8); puts_(" hints="); hex(nd[20], 2); puts_(" maf="); hex(nd[23], 2); puts_(" ats="); hex(le(nd + 24, 4), 8); puts_(" seg="); hex(le(nd + 28, 4), 4); }
			puts_("\n");
			off += le(nd + 1, 2);
		}
		break;
	}
off:
	{ register unsigned long x0 asm("x0") = 0x84000008UL; asm volatile("hvc #0" : "+r"(x0)); }
	for (;;) ;
}
asm(".globl _start\n_start:\n ldr x1, =0x40400000\n mov sp, x1\n bl cmain\n1: b 1b\n");
