/* Loads and stores on a trapped mapping (a vfio-pci BAR under the shim):
 * every instruction form the shim's decoder (native/shim/trap.c) emulates,
 * run on BAR0 of vfio0 and checked against pread/pwrite of the same offset;
 * then what must stay the program's: its own SIGSEGV handlers (installed
 * before or after the first BAR mapping, with sigaction or signal), the
 * default action, munmap, mprotect, mremap, fork, and SIGBUS when the
 * device refuses the access. The emulated e1000e's BAR0 is a plain
 * register file, so any offset reads back what was written. One line per
 * check: "name: ok" or "name: FAIL ...". Run by test/shim/trap.test.ts. */
#define _GNU_SOURCE
#include "iofd.h"
#include <asm/prctl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <pthread.h>

#define BAR0 ((off_t)0)
#define CONFIG ((off_t)7 << 40)
#define BAR_LEN 0x20000
#define SCR 0x1000 /* scratch registers */

static int dev;
static unsigned char *bar;

static uint64_t rd(unsigned off, int n)
{
	uint64_t v = 0;
	if (pread(dev, &v, n, BAR0 + off) != n)
		printf("pread: %s\n", errno_name(errno));
	return v;
}

static void wr(unsigned off, uint64_t v, int n)
{
	if (pwrite(dev, &v, n, BAR0 + off) != n)
		printf("pwrite: %s\n", errno_name(errno));
}

static void check(const char *name, uint64_t got, uint64_t want)
{
	if (got == want)
		printf("%s: ok\n", name);
	else
		printf("%s: FAIL got 0x%llx want 0x%llx\n", name, (unsigned long long)got, (unsigned long long)want);
	fflush(stdout);
}

/* Clear the scratch area, then seed it with a known pattern. */
static void seed(void)
{
	wr(SCR, 0x8877665544332211ull, 8);
	wr(SCR + 8, 0xf0e0d0c0b0a09080ull, 8);
}

/* Runtime code for the forms inline asm cannot name (moffs, 67, RIP-relative). */
static unsigned char *code;

static uint64_t run0(const unsigned char *bytes, size_t n, uint64_t arg)
{
	uint64_t (*fn)(uint64_t) = (uint64_t (*)(uint64_t))(void *)code;
	memcpy(code, bytes, n);
	code[n] = 0xc3; /* ret */
	__builtin___clear_cache((char *)code, (char *)code + n + 1);
	return fn(arg);
}

static void forms(void)
{
	volatile unsigned char *p = bar + SCR;
	uint64_t v, r;

	/* MOV stores: 89 (32, 16 with 66, 64 with REX.W, from r9), 88 (and from AH). */
	seed();
	__asm__ volatile("movl %1, (%0)" : : "r"(p), "r"(0xdeadbeefu) : "memory");
	check("89 store32", rd(SCR, 8), 0x88776655deadbeefull);
	__asm__ volatile("movw %w1, 2(%0)" : : "r"(p), "r"(0xcafeu) : "memory");
	check("66 89 store16 disp8", rd(SCR, 8), 0x88776655cafebeefull);
	__asm__ volatile("movq %1, (%0)" : : "r"(p), "r"(0x0123456789abcdefull) : "memory");
	check("48 89 store64", rd(SCR, 8), 0x0123456789abcdefull);
	__asm__ volatile("movq %1, %%r9; movq %%r9, 8(%0)" : : "r"(p), "r"(0x1122334455667788ull) : "r9", "memory");
	check("4c 89 store64 from r9", rd(SCR + 8, 8), 0x1122334455667788ull);
	seed();
	__asm__ volatile("movb %b1, 1(%0)" : : "r"(p), "q"(0x5au) : "memory");
	check("88 store8", rd(SCR, 8), 0x8877665544335a11ull);
	__asm__ volatile("movb %%ah, 3(%0)" : : "r"(p), "a"(0xa500u) : "memory");
	check("88 store8 from ah", rd(SCR, 8), 0x88776655a5335a11ull);
	__asm__ volatile("movq %1, %%rsi; movb %%sil, 4(%0)" : : "r"(p), "r"(0x77ull) : "rsi", "memory");
	check("40 88 store8 from sil", rd(SCR, 8), 0x88776677a5335a11ull);

	/* MOV immediates: C6, C7 (16 with 66; 64 with REX.W sign-extends imm32). */
	seed();
	__asm__ volatile("movb $0x99, 7(%0)" : : "r"(p) : "memory");
	check("c6 store imm8", rd(SCR, 8), 0x9977665544332211ull);
	__asm__ volatile("movw $0x1234, (%0)" : : "r"(p) : "memory");
	check("66 c7 store imm16", rd(SCR, 8), 0x9977665544331234ull);
	__asm__ volatile("movl $0xabcdef01, 4(%0)" : : "r"(p) : "memory");
	check("c7 store imm32", rd(SCR, 8), 0xabcdef0144331234ull);
	__asm__ volatile("movq $-2, 0x100(%0)" : : "r"(p - 0x100) : "memory");
	check("48 c7 store imm32 sign-extended, disp32", rd(SCR, 8), 0xfffffffffffffffeull);

	/* MOV loads: 8B 32 zero-extends, 66 8B 16 and 8A 8 keep the rest, AH, REX.W, r12. */
	seed();
	__asm__ volatile("movq $-1, %0; movl (%1), %k0" : "=&r"(r) : "r"(p) : "memory");
	check("8b load32 zero-extends", r, 0x44332211ull);
	__asm__ volatile("movq $-1, %0; movw 2(%1), %w0" : "=&r"(r) : "r"(p) : "memory");
	check("66 8b load16 keeps the rest", r, 0xffffffffffff4433ull);
	__asm__ volatile("movq $-1, %0; movb 5(%1), %b0" : "=&q"(r) : "r"(p) : "memory");
	check("8a load8 keeps the rest", r, 0xffffffffffffff66ull);
	__asm__ volatile("movq $0x1111111111111111, %%rax; movb 6(%1), %%ah; movq %%rax, %0" : "=r"(r) : "r"(p) : "rax", "memory");
	check("8a load8 into ah", r, 0x1111111111117711ull);
	__asm__ volatile("movq (%1), %%r12; movq %%r12, %0" : "=r"(r) : "r"(p) : "r12", "memory");
	check("4c 8b load64 into r12", r, 0x8877665544332211ull);
	__asm__ volatile("movq $-1, %%r10; movl 8(%1), %%r10d; movq %%r10, %0" : "=r"(r) : "r"(p) : "r10", "memory");
	check("44 8b load32 into r10d", r, 0xb0a09080ull);

	/* Addressing: SIB with index and scale, base r13, index r12, no base. */
	v = 2;
	__asm__ volatile("movl (%1,%2,4), %k0" : "=r"(r) : "r"(p), "r"(v) : "memory");
	check("sib base+index*4", r, 0xb0a09080ull);
	__asm__ volatile("movq %1, %%r13; movq %2, %%r12; movl (%%r13,%%r12,2), %k0" : "=r"(r) : "r"(p), "r"(2ull) : "r12", "r13", "memory");
	check("sib r13 base, r12 index", r, 0x88776655ull);
	__asm__ volatile("movl 0(,%1,1), %k0" : "=r"(r) : "r"(p + 4) : "memory");
	check("sib no base, disp32", r, 0x88776655ull);
	__asm__ volatile(".byte 0x48, 0x8b, 0x04, 0x20" : "=a"(r) : "0"(p) : "memory"); /* mov rax, [rax + riz] */
	check("sib no index", r, 0x8877665544332211ull);

	/* MOVZX, MOVSX, MOVSXD. */
	__asm__ volatile("movq $-1, %0; movzbl 7(%1), %k0" : "=&r"(r) : "r"(p) : "memory");
	check("0f b6 movzx r32, m8", r, 0x88);
	__asm__ volatile("movq $-1, %0; movzwq 6(%1), %0" : "=&r"(r) : "r"(p) : "memory");
	check("48 0f b7 movzx r64, m16", r, 0x8877);
	__asm__ volatile("movq $-1, %0; movzbw 1(%1), %w0" : "=&r"(r) : "r"(p) : "memory");
	check("66 0f b6 movzx r16, m8", r, 0xffffffffffff0022ull);
	__asm__ volatile("movsbq 7(%1), %0" : "=r"(r) : "r"(p) : "memory");
	check("48 0f be movsx r64, m8", r, 0xffffffffffffff88ull);
	__asm__ volatile("movq $-1, %0; movswl 6(%1), %k0" : "=&r"(r) : "r"(p) : "memory");
	check("0f bf movsx r32, m16", r, 0xffff8877ull);
	__asm__ volatile("movq $0, %0; movsbw 3(%1), %w0" : "=&r"(r) : "r"(p) : "memory");
	check("66 0f be movsx r16, m8", r, 0x44);
	__asm__ volatile("movslq 12(%1), %0" : "=r"(r) : "r"(p) : "memory");
	check("48 63 movsxd r64, m32", r, 0xfffffffff0e0d0c0ull);

	/* MOVNTI. */
	__asm__ volatile("movnti %k1, 8(%0)" : : "r"(p), "r"(0x13572468u) : "memory");
	check("0f c3 movnti m32", rd(SCR + 8, 4), 0x13572468);
	__asm__ volatile("movnti %1, 8(%0)" : : "r"(p), "r"(0x0102030405060708ull) : "memory");
	check("48 0f c3 movnti m64", rd(SCR + 8, 8), 0x0102030405060708ull);

	/* SSE2 MOVD/MOVQ. */
	seed();
	__asm__ volatile("pcmpeqd %%xmm0, %%xmm0; movd (%1), %%xmm0; movq %%xmm0, %0" : "=r"(r) : "r"(p) : "xmm0", "memory");
	check("66 0f 6e movd xmm, m32", r, 0x44332211ull);
	__asm__ volatile("pcmpeqd %%xmm1, %%xmm1; movq 8(%1), %%xmm1; movq %%xmm1, %0" : "=r"(r) : "r"(p) : "xmm1", "memory");
	check("f3 0f 7e movq xmm, m64", r, 0xf0e0d0c0b0a09080ull);
	__asm__ volatile("pcmpeqd %%xmm2, %%xmm2; movd (%1), %%xmm2; psrldq $8, %%xmm2; movq %%xmm2, %0" : "=r"(r) : "r"(p) : "xmm2", "memory");
	check("movd xmm zeroes the upper half", r, 0);
	__asm__ volatile("movq %1, %%xmm3; movd %%xmm3, (%0)" : : "r"(p), "r"(0xaabbccdd11223344ull) : "xmm3", "memory");
	check("66 0f 7e movd m32, xmm", rd(SCR, 8), 0x8877665511223344ull);
	__asm__ volatile("movq %1, %%xmm4; movq %%xmm4, 8(%0)" : : "r"(p), "r"(0xaabbccdd11223344ull) : "xmm4", "memory");
	check("66 0f d6 movq m64, xmm", rd(SCR + 8, 8), 0xaabbccdd11223344ull);
	__asm__ volatile("movq %1, %%xmm9; .byte 0x66, 0x4c, 0x0f, 0x7e, 0x08; movq %%xmm9, %0" : "=r"(r) : "c"(0x5555aaaa5555aaaaull), "a"(p) : "xmm9", "memory");
	(void)r;
	check("66 4c 0f 7e movq m64, xmm9", rd(SCR, 8), 0x5555aaaa5555aaaaull);

	/* moffs (A0-A3), generated: 48 A1 imm64 / 48 A3 imm64 / A0 / A2. */
	seed();
	{
		unsigned char b[16];
		uint64_t a = (uint64_t)(uintptr_t)p;
		b[0] = 0x48; b[1] = 0xa1; memcpy(b + 2, &a, 8);
		check("48 a1 mov rax, moffs64", run0(b, 10, 0), 0x8877665544332211ull);
		b[0] = 0x48; b[1] = 0x89; b[2] = 0xf8; /* mov rax, rdi */
		b[3] = 0x48; b[4] = 0xa3; memcpy(b + 5, &a, 8);
		run0(b, 13, 0x0f0e0d0c0b0a0908ull);
		check("48 a3 mov moffs64, rax", rd(SCR, 8), 0x0f0e0d0c0b0a0908ull);
		a += 3;
		b[0] = 0x48; b[1] = 0xc7; b[2] = 0xc0; b[3] = 0xff; b[4] = 0xff; b[5] = 0xff; b[6] = 0xff; /* mov rax, -1 */
		b[7] = 0xa0; memcpy(b + 8, &a, 8);
		check("a0 mov al, moffs8", run0(b, 16, 0), 0xffffffffffffff0bull);
		b[0] = 0x48; b[1] = 0x89; b[2] = 0xf8;
		b[3] = 0xa2; memcpy(b + 4, &a, 8);
		run0(b, 12, 0x77);
		check("a2 mov moffs8, al", rd(SCR, 8), 0x0f0e0d0c770a0908ull);
	}

	/* FS segment override: the address is FS base + offset. */
	{
		unsigned long fs = 0;
		syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
		__asm__ volatile("movl %%fs:(%1), %k0" : "=r"(r) : "r"((uintptr_t)p - fs) : "memory");
		check("64 8b fs load32", r, 0x770a0908ull);
	}
}

/* RIP-relative and 67 addressing, on a mapping placed next to code. */
static void placed(void)
{
	unsigned char *area = mmap(NULL, 0x40000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *m;
	unsigned char b[16];
	int32_t disp;

	mprotect(area, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC);
	m = mmap(area + 0x10000, BAR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, dev, BAR0);
	check("MAP_FIXED next to code", m == area + 0x10000, 1);
	code = area;
	seed();
	/* 8B 05 disp32: mov eax, [rip + disp32], rip = the next instruction. */
	disp = (int32_t)((m + SCR) - (area + 6));
	b[0] = 0x8b; b[1] = 0x05; memcpy(b + 2, &disp, 4);
	check("8b 05 rip-relative load32", run0(b, 6, 0), 0x44332211ull);
	/* C7 05 disp32 imm32: the immediate follows the displacement. */
	disp = (int32_t)((m + SCR + 4) - (area + 10));
	b[0] = 0xc7; b[1] = 0x05; memcpy(b + 2, &disp, 4);
	b[6] = 0x78; b[7] = 0x56; b[8] = 0x34; b[9] = 0x12;
	run0(b, 10, 0);
	check("c7 05 rip-relative store imm32", rd(SCR, 8), 0x1234567844332211ull);
	/* mprotect across plain memory and the BAR: the plain page changes, the BAR's loads follow. */
	check("mprotect across memory and the BAR", mprotect(area + 0xf000, 0x12000, PROT_READ), 0);
	check("the plain page became readable", *(volatile unsigned char *)(area + 0xf000), 0);
	check("the BAR still loads", *(volatile uint32_t *)(m + SCR), 0x44332211ull);
	munmap(m, BAR_LEN);
	munmap(area, 0x40000);

	/* A hint is taken when the place is free; MAP_FIXED_NOREPLACE refuses a taken one. */
	area = mmap(NULL, BAR_LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(area, BAR_LEN);
	m = mmap(area, BAR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dev, BAR0);
	check("the hint is taken", m == area, 1);
	check("MAP_FIXED_NOREPLACE on a taken place, EEXIST",
	      mmap(m, BAR_LEN, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, dev, BAR0) == MAP_FAILED && errno == EEXIST, 1);
	check("the mapping is still there", *(volatile uint32_t *)(m + SCR), 0x44332211ull);
	munmap(m, BAR_LEN);

	/* 67: 32-bit addresses, on a BAR mapped below 4 GiB. */
	m = mmap(NULL, BAR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_32BIT, dev, BAR0);
	if (m == MAP_FAILED || (uintptr_t)m >> 32) {
		printf("MAP_32BIT: FAIL %p\n", (void *)m);
		return;
	}
	code = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* mov rax, rdi; 67 8b 00: mov eax, [eax] */
	b[0] = 0x48; b[1] = 0x89; b[2] = 0xf8; b[3] = 0x67; b[4] = 0x8b; b[5] = 0x00;
	check("67 8b load32, 32-bit address", run0(b, 6, (uint64_t)(uintptr_t)(m + SCR) | 0xffffffff00000000ull), 0x44332211ull);
	munmap(m, BAR_LEN);
}

/* ---- the program's own signals ---- */

static sigjmp_buf jb;
static volatile int hits;
static volatile void *hit_addr;
static volatile int hit_sig;

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	hits++;
	hit_sig = sig;
	hit_addr = si->si_addr;
	siglongjmp(jb, 1);
}

static void on_fault_plain(int sig)
{
	hits++;
	hit_sig = sig;
	siglongjmp(jb, 1);
}

/* Run `fn`, expecting its fault to reach the program's handler. */
#define FAULTS(name, stmt, want_sig)                                                         \
	do {                                                                                 \
		hits = 0;                                                                    \
		if (sigsetjmp(jb, 1) == 0) {                                                 \
			stmt;                                                                \
			printf("%s: FAIL no fault\n", name);                                 \
		} else {                                                                     \
			check(name, hits == 1 && hit_sig == (want_sig), 1);                  \
		}                                                                            \
	} while (0)

static volatile uint32_t from_handler;

static void on_usr1(int sig)
{
	(void)sig;
	from_handler = *(volatile uint32_t *)(bar + SCR);
}

static void *blocked_thread(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)*(volatile uint32_t *)(bar + SCR);
}

/* Threads storing and loading their own registers at once. */
static void *hammer(void *arg)
{
	uintptr_t n = (uintptr_t)arg, bad = 0;
	volatile uint32_t *r = (volatile uint32_t *)(bar + 0x3000 + 4 * n);
	uint32_t i;
	for (i = 0; i < 200; i++) {
		*r = (uint32_t)(n << 24 | i);
		bad += *r != (uint32_t)(n << 24 | i);
	}
	return (void *)bad;
}

static void signals(int before)
{
	struct sigaction sa, old;
	static volatile uintptr_t sixteen = 16;
	volatile uint32_t *nowhere = (volatile uint32_t *)sixteen;
	pid_t child;
	int st;
	uint32_t v;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (before) {
		/* A handler installed before the first mapping is still the program's. */
		bar = mmap(NULL, BAR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dev, BAR0);
		check("map after the handler", bar != MAP_FAILED, 1);
	}
	FAULTS("a real fault reaches sigaction's handler", v = *nowhere, SIGSEGV);
	check("si_addr", (uintptr_t)hit_addr, 16);
	check("sigaction reads back the program's handler",
	      sigaction(SIGSEGV, NULL, &old) == 0 && old.sa_sigaction == on_fault, 1);
	check("signal() returns it too", signal(SIGSEGV, on_fault_plain) == (void (*)(int))on_fault, 1);
	FAULTS("a real fault reaches signal()'s handler", v = *nowhere, SIGSEGV);
	sigaction(SIGSEGV, &sa, NULL);
	wr(SCR, 0x600df00d, 4);
	check("BAR loads still trapped", *(volatile uint32_t *)(bar + SCR), 0x600df00d);

	/* Every signal blocked (as QEMU and DPDK make their threads): the
	 * BAR still answers, and the mask reads back what was set. */
	{
		sigset_t all, old, now;
		pthread_t t;
		void *res = NULL;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		check("load with every signal blocked", *(volatile uint32_t *)(bar + SCR), 0x600df00d);
		pthread_sigmask(SIG_BLOCK, NULL, &now);
		check("the mask reads back SIGSEGV blocked", sigismember(&now, SIGSEGV), 1);
		pthread_create(&t, NULL, blocked_thread, NULL);
		pthread_join(t, &res);
		check("a thread made with every signal blocked loads", (uintptr_t)res, 0x600df00d);
		sigprocmask(SIG_SETMASK, &old, NULL);
		sigprocmask(SIG_BLOCK, NULL, &now);
		check("sigprocmask reads back SIGSEGV open", sigismember(&now, SIGSEGV), 0);
	}
	child = fork();
	if (child == 0) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		v = *nowhere;
		_exit(0);
	}
	waitpid(child, &st, 0);
	check("a fault with SIGSEGV blocked kills, handler or not", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, 1);
	{
		struct sigaction u;
		memset(&u, 0, sizeof(u));
		u.sa_handler = on_usr1;
		sigfillset(&u.sa_mask);
		sigaction(SIGUSR1, &u, NULL);
		raise(SIGUSR1);
		check("a handler blocking every signal loads", from_handler, 0x600df00d);
	}
	FAULTS("a locked add is not emulated, the program's fault",
	       __asm__ volatile("lock addl $1, (%0)" : : "r"(bar + SCR) : "memory"), SIGSEGV);
	FAULTS("an access past the BAR mapping faults", v = *(volatile uint32_t *)(bar + BAR_LEN - 2), SIGSEGV);

	{
		pthread_t t[4];
		uintptr_t bad = 0, i;
		void *res;
		for (i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, hammer, (void *)i);
		for (i = 0; i < 4; i++) {
			pthread_join(t[i], &res);
			bad += (uintptr_t)res;
		}
		check("4 threads at once", bad, 0);
	}

	/* fork: the child's loads and stores travel on its own channel. */
	child = fork();
	if (child == 0) {
		*(volatile uint32_t *)(bar + SCR + 4) = *(volatile uint32_t *)(bar + SCR) + 1;
		_exit(0);
	}
	waitpid(child, &st, 0);
	check("a forked child's store", rd(SCR + 4, 4), 0x600df00e);
	/* ...even once it has closed its copy of the fd (the mapping holds the file). */
	child = fork();
	if (child == 0) {
		close(dev);
		*(volatile uint32_t *)(bar + SCR + 4) = *(volatile uint32_t *)(bar + SCR) + 2;
		_exit(0);
	}
	waitpid(child, &st, 0);
	check("a forked child's store after closing the fd", rd(SCR + 4, 4), 0x600df00f);

	/* A child of the raw fork syscall (no fork handlers) has the mapping too. */
	child = (pid_t)syscall(SYS_fork);
	if (child == 0) {
		*(volatile uint32_t *)(bar + SCR + 4) = *(volatile uint32_t *)(bar + SCR) + 3;
		munmap(bar, BAR_LEN);
		_exit(0);
	}
	waitpid(child, &st, 0);
	check("a raw-fork child's store", rd(SCR + 4, 4), 0x600df010);
	check("its munmap leaves ours", *(volatile uint32_t *)(bar + SCR + 4), 0x600df010);

	/* The default action: killed by SIGSEGV, as without the shim. */
	child = fork();
	if (child == 0) {
		signal(SIGSEGV, SIG_DFL);
		v = *nowhere;
		_exit(0);
	}
	waitpid(child, &st, 0);
	check("SIG_DFL kills with SIGSEGV", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, 1);

	/* mprotect: a read-only mapping loads, and its stores fault. */
	check("mprotect PROT_READ", mprotect(bar, BAR_LEN, PROT_READ), 0);
	check("load after mprotect", *(volatile uint32_t *)(bar + SCR), 0x600df00d);
	FAULTS("store after mprotect PROT_READ faults", *(volatile uint32_t *)(bar + SCR) = 1, SIGSEGV);
	mprotect(bar + 0x1000, 0x1000, PROT_READ | PROT_WRITE);
	*(volatile uint32_t *)(bar + SCR) = 0x5eed;
	check("store on the page made writable again", rd(SCR, 4), 0x5eed);
	FAULTS("store on the next page still faults", *(volatile uint32_t *)(bar + 0x2000) = 1, SIGSEGV);
	mprotect(bar, BAR_LEN, PROT_READ | PROT_WRITE);

	/* SIGBUS when the device refuses: memory decoding off. */
	{
		uint16_t cmd = 0;
		pread(dev, &cmd, 2, CONFIG + 4);
		cmd &= ~2;
		pwrite(dev, &cmd, 2, CONFIG + 4);
		FAULTS("memory decoding off gives SIGBUS", v = *(volatile uint32_t *)(bar + SCR), SIGBUS);
		check("SIGBUS si_addr", (uintptr_t)hit_addr, (uintptr_t)(bar + SCR));
		cmd |= 2;
		pwrite(dev, &cmd, 2, CONFIG + 4);
		check("memory decoding on again", *(volatile uint32_t *)(bar + SCR), 0x5eed);
	}

	/* mremap moves the trapped range; it cannot grow. */
	{
		unsigned char *to = mmap(NULL, BAR_LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned char *moved = mremap(bar, BAR_LEN, BAR_LEN, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		check("mremap moves", moved == to, 1);
		check("load at the new place", *(volatile uint32_t *)(moved + SCR), 0x5eed);
		FAULTS("the old place faults", v = *(volatile uint32_t *)(bar + SCR), SIGSEGV);
		check("mremap cannot grow it", mremap(moved, BAR_LEN, 2 * BAR_LEN, MREMAP_MAYMOVE) == MAP_FAILED && errno == EFAULT, 1);
		bar = moved;
	}

	/* munmap: the range is gone, its accesses are the program's faults. */
	check("munmap", munmap(bar, BAR_LEN), 0);
	FAULTS("a load after munmap faults", v = *(volatile uint32_t *)(bar + SCR), SIGSEGV);
	(void)v;
}

int main(int argc, char **argv)
{
	int ifd = iofd_open(), rc;
	const char *mode = argc > 1 ? argv[1] : "forms";

	dev = open("/dev/vfio/devices/vfio0", O_RDWR);
	{
		struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = ifd };
		rc = xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
		if (rc) {
			printf("bind: %s\n", errno_name(-rc));
			return 1;
		}
	}
	if (!strcmp(mode, "signals-before")) {
		signals(1);
		return 0;
	}
	bar = mmap(NULL, BAR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dev, BAR0);
	if (bar == MAP_FAILED) {
		printf("mmap: %s\n", errno_name(errno));
		return 1;
	}
	if (!strcmp(mode, "signals")) {
		signals(0);
		return 0;
	}
	code = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	forms();
	placed();
	return 0;
}
