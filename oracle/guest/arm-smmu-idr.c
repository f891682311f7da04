/*
 * A bare-metal probe for the --arm machine's SMMUv3: print its ID registers
 * (IDR0-5, IIDR, AIDR: what GET_HW_INFO copies to userspace) on the PL011 and
 * power off through PSCI. No kernel needed:
 *   aarch64-linux-gnu-gcc -O1 -ffreestanding -nostdlib -static \
 *       -Wl,-Ttext=0x40080000 -o idr.elf oracle/guest/arm-smmu-idr.c
 *   qemu-system-aarch64 -nodefaults -display none -machine virt,gic-version=3,iommu=smmuv3 \
 *       -cpu cortex-a57 -m 512M -serial stdio -kernel idr.elf
 * QEMU 7.2: stage 1 only (IDR0 0x0d40101a); QEMU 10.0: both stages (0x0d44101b).
 */
#define UART 0x09000000UL
#define SMMU 0x09050000UL
static void putc_(char c) { *(volatile unsigned int *)UART = (unsigned int)c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void hex32(unsigned int v) { puts_("0x"); for (int i = 28; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }
static unsigned int rd(unsigned long off) { return *(volatile unsigned int *)(SMMU + off); }
void cmain(void)
{
	static const char *const n[] = { "IDR0", "IDR1", "IDR2", "IDR3", "IDR4", "IDR5" };
	for (int i = 0; i < 6; i++) { puts_(n[i]); puts_("="); hex32(rd(4 * i)); puts_("\n"); }
	puts_("IIDR="); hex32(rd(0x18)); puts_("\n");
	puts_("AIDR="); hex32(rd(0x1c)); puts_("\n");
	register unsigned long x0 asm("x0") = 0x84000008UL; /* PSCI SYSTEM_OFF */
	asm volatile("hvc #0" : "+r"(x0));
	for (;;) ;
}
asm(".globl _start\n_start:\n ldr x1, =0x40200000\n mov sp, x1\n bl cmain\n1: b 1b\n");
