/* The x86-64 loads and stores a program makes on memory it mapped from a
 * device (see trap.h): MOV in all its plain forms (88, 89, 8A, 8B, C6 /0,
 * C7 /0, A0-A3 with a 64-bit or 32-bit moffs), MOVZX and MOVSX (0F B6, B7,
 * BE, BF), MOVSXD (63), MOVNTI (0F C3), and the SSE2 MOVD/MOVQ between an
 * XMM register and memory (66 0F 6E, 66 0F 7E, F3 0F 7E, 66 0F D6), which
 * compilers use for 32/64-bit copies. Operand-size (66), address-size (67),
 * segment (FS and GS bases honoured) and REX prefixes; ModRM, SIB, 8- and
 * 32-bit displacements, RIP-relative addressing. Anything else (LOCK,
 * string instructions, read-modify-write ALU forms, VEX) is refused and the
 * fault stays the program's. Facts from the Intel SDM, volume 2. */
#define _GNU_SOURCE
#include "trap.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <asm/prctl.h>

/* The ucontext's gregs index of each x86 register number. */
static const int gpr[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

#define MAX_INSN 15

struct cursor {
	const unsigned char *p;
	unsigned n;
};

static int next(struct cursor *c, unsigned char *b)
{
	if (c->n >= MAX_INSN)
		return 0;
	*b = c->p[c->n++];
	return 1;
}

/* A little-endian immediate or displacement of `size` bytes, sign-extended. */
static int imm(struct cursor *c, unsigned size, int64_t *v)
{
	uint64_t u = 0;
	unsigned i;
	unsigned char b;
	for (i = 0; i < size; i++) {
		if (!next(c, &b))
			return 0;
		u |= (uint64_t)b << (8 * i);
	}
	if (size < 8 && (u >> (8 * size - 1)) & 1)
		u |= ~(uint64_t)0 << (8 * size);
	*v = (int64_t)u;
	return 1;
}

static uint64_t reg_get(const ucontext_t *uc, int r)
{
	return (uint64_t)uc->uc_mcontext.gregs[gpr[r]];
}

/* A register's low `size` bytes (the legacy AH..BH when hi8). */
static uint64_t reg_value(const ucontext_t *uc, int r, unsigned size, int hi8)
{
	uint64_t v = reg_get(uc, hi8 ? r - 4 : r);
	if (hi8)
		return (v >> 8) & 0xff;
	return size == 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static uint64_t xmm_low(const ucontext_t *uc, int r)
{
	const struct _libc_xmmreg *x = &uc->uc_mcontext.fpregs->_xmm[r];
	return (uint64_t)x->element[0] | ((uint64_t)x->element[1] << 32);
}

static int seg_base(int seg, uint64_t *base)
{
	unsigned long b = 0;
	if (syscall(SYS_arch_prctl, seg == 0x64 ? ARCH_GET_FS : ARCH_GET_GS, &b) != 0)
		return 0;
	*base = b;
	return 1;
}

/* The decoded ModRM memory operand, before RIP-relative fix-up. */
struct modrm {
	int reg;         /* ModRM.reg with REX.R */
	int rip_rel;
	uint64_t ea;     /* without the RIP part */
};

static int decode_modrm(struct cursor *c, const ucontext_t *uc, int rex, int addr32, struct modrm *m)
{
	unsigned char b, sib;
	int mod, rm;
	int64_t disp = 0;
	uint64_t ea = 0;

	if (!next(c, &b))
		return 0;
	mod = b >> 6;
	m->reg = ((b >> 3) & 7) | ((rex & 4) << 1);
	rm = b & 7;
	m->rip_rel = 0;
	if (mod == 3)
		return 0; /* a register operand: no memory access of ours */
	if (rm == 4) {
		int base, index, scale;
		if (!next(c, &sib))
			return 0;
		scale = sib >> 6;
		index = ((sib >> 3) & 7) | ((rex & 2) << 2);
		base = (sib & 7) | ((rex & 1) << 3);
		if (index != 4)
			ea += reg_get(uc, index) << scale;
		if ((sib & 7) == 5 && mod == 0) {
			if (!imm(c, 4, &disp))
				return 0;
		} else {
			ea += reg_get(uc, base);
		}
	} else if (rm == 5 && mod == 0) {
		m->rip_rel = 1;
		if (!imm(c, 4, &disp))
			return 0;
	} else {
		ea += reg_get(uc, rm | ((rex & 1) << 3));
	}
	if (mod == 1 && !imm(c, 1, &disp))
		return 0;
	if (mod == 2 && !imm(c, 4, &disp))
		return 0;
	ea += (uint64_t)disp;
	if (addr32 && !m->rip_rel)
		ea &= 0xffffffffu;
	m->ea = ea;
	return 1;
}

int trap_decode(const ucontext_t *uc, struct trap_insn *out)
{
	struct cursor c = { (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP], 0 };
	unsigned char b, op;
	int opsize16 = 0, addr32 = 0, rep = 0, repne = 0, seg = 0, rex = 0, w, mem = 1, imm_size = 0;
	struct modrm m = { 0, 0, 0 };
	uint64_t moffs = 0;

	memset(out, 0, sizeof(*out));
	/* Legacy prefixes, then at most one REX right before the opcode. */
	for (;;) {
		if (!next(&c, &b))
			return 0;
		if (b == 0x66)
			opsize16 = 1;
		else if (b == 0x67)
			addr32 = 1;
		else if (b == 0xf3)
			rep = 1;
		else if (b == 0xf2)
			repne = 1;
		else if (b == 0x64 || b == 0x65)
			seg = b;
		else if (b == 0x2e || b == 0x3e || b == 0x26 || b == 0x36)
			; /* ignored in 64-bit mode */
		else
			break; /* LOCK (F0) falls through to an opcode we refuse */
	}
	if ((b & 0xf0) == 0x40) {
		rex = b;
		if (!next(&c, &b))
			return 0;
	}
	w = (rex & 8) != 0;
	op = b;
	/* Operand size of the non-byte forms. */
#define OSIZE (w ? 8u : opsize16 ? 2u : 4u)
	switch (op) {
	case 0x88: /* MOV r/m8, r8 */
	case 0x89: /* MOV r/m, r */
	case 0x8a: /* MOV r8, r/m8 */
	case 0x8b: /* MOV r, r/m */
		if (rep || repne || !decode_modrm(&c, uc, rex, addr32, &m))
			return 0;
		out->size = op & 1 ? OSIZE : 1;
		out->store = op < 0x8a;
		out->reg = m.reg;
		out->hi8 = !(op & 1) && !rex && m.reg >= 4 && m.reg < 8;
		out->dst_size = out->size;
		if (out->store)
			out->value = reg_value(uc, m.reg, out->size, out->hi8);
		break;
	case 0x63: /* MOVSXD r, r/m32 (without REX.W: a plain 32- or 16-bit load) */
		if (rep || repne || !decode_modrm(&c, uc, rex, addr32, &m))
			return 0;
		out->reg = m.reg;
		out->dst_size = OSIZE;
		out->size = w ? 4 : OSIZE;
		out->sign = w;
		break;
	case 0xc6: /* MOV r/m8, imm8 */
	case 0xc7: /* MOV r/m, imm16/32 (sign-extended to 64) */
		if (rep || repne || !decode_modrm(&c, uc, rex, addr32, &m) || (m.reg & 7) != 0)
			return 0;
		out->size = op == 0xc6 ? 1 : OSIZE;
		out->store = 1;
		imm_size = op == 0xc6 ? 1 : out->size == 2 ? 2 : 4;
		break;
	case 0xa0: /* MOV AL, moffs8 */
	case 0xa1: /* MOV rAX, moffs */
	case 0xa2: /* MOV moffs8, AL */
	case 0xa3: /* MOV moffs, rAX */
	{
		int64_t v;
		if (rep || repne || !imm(&c, addr32 ? 4 : 8, &v))
			return 0;
		moffs = addr32 ? (uint64_t)v & 0xffffffffu : (uint64_t)v;
		mem = 0;
		out->size = op & 1 ? OSIZE : 1;
		out->store = op >= 0xa2;
		out->reg = 0;
		out->dst_size = out->size;
		if (out->store)
			out->value = reg_value(uc, 0, out->size, 0);
		break;
	}
	case 0x0f:
		if (!next(&c, &op))
			return 0;
		switch (op) {
		case 0xb6: /* MOVZX r, r/m8 */
		case 0xb7: /* MOVZX r, r/m16 */
		case 0xbe: /* MOVSX r, r/m8 */
		case 0xbf: /* MOVSX r, r/m16 */
			if (rep || repne || !decode_modrm(&c, uc, rex, addr32, &m))
				return 0;
			out->size = op & 1 ? 2 : 1;
			out->reg = m.reg;
			out->dst_size = OSIZE;
			out->sign = op >= 0xbe;
			break;
		case 0xc3: /* MOVNTI m32/m64, r */
			if (rep || repne || opsize16 || !decode_modrm(&c, uc, rex, addr32, &m))
				return 0;
			out->size = w ? 8 : 4;
			out->store = 1;
			out->value = reg_value(uc, m.reg, out->size, 0);
			break;
		case 0x6e: /* 66: MOVD/MOVQ xmm, r/m32/64 */
		case 0x7e: /* 66: MOVD/MOVQ r/m32/64, xmm; F3: MOVQ xmm, m64 */
		case 0xd6: /* 66: MOVQ m64, xmm */
			if (repne || !uc->uc_mcontext.fpregs || !decode_modrm(&c, uc, rex, addr32, &m))
				return 0;
			if (rep && op == 0x7e && !opsize16) {
				out->size = 8;
			} else if (opsize16 && !rep && op != 0xd6) {
				out->size = w ? 8 : 4;
				out->store = op == 0x7e;
			} else if (opsize16 && !rep && op == 0xd6) {
				out->size = 8;
				out->store = 1;
			} else {
				return 0; /* the MMX forms, and anything else */
			}
			out->xmm = 1;
			out->reg = m.reg;
			out->dst_size = 16;
			if (out->store) {
				uint64_t v = xmm_low(uc, m.reg);
				out->value = out->size == 8 ? v : v & 0xffffffffu;
			}
			break;
		default:
			return 0;
		}
		break;
	default:
		return 0;
	}
	if (imm_size) {
		int64_t v;
		if (!imm(&c, (unsigned)imm_size, &v))
			return 0;
		out->value = out->size == 8 ? (uint64_t)v : (uint64_t)v & ((1ull << (8 * out->size)) - 1);
	}
	out->len = c.n;
	if (!mem) {
		out->addr = moffs;
	} else if (m.rip_rel) {
		uint64_t ea = (uint64_t)uc->uc_mcontext.gregs[REG_RIP] + c.n + m.ea;
		out->addr = addr32 ? ea & 0xffffffffu : ea;
	} else {
		out->addr = m.ea;
	}
	if (seg) {
		uint64_t base;
		if (!seg_base(seg, &base))
			return 0;
		out->addr += base;
	}
#undef OSIZE
	return 1;
}

void trap_load_result(ucontext_t *uc, const struct trap_insn *in, uint64_t v)
{
	greg_t *g;
	uint64_t old;

	if (in->size < 8) {
		v &= (1ull << (8 * in->size)) - 1;
		if (in->sign && (v >> (8 * in->size - 1)) & 1)
			v |= ~(uint64_t)0 << (8 * in->size);
	}
	if (in->xmm) {
		struct _libc_xmmreg *x = &uc->uc_mcontext.fpregs->_xmm[in->reg];
		x->element[0] = (uint32_t)v;
		x->element[1] = in->size == 8 ? (uint32_t)(v >> 32) : 0;
		x->element[2] = 0;
		x->element[3] = 0;
		return;
	}
	if (in->hi8) {
		g = &uc->uc_mcontext.gregs[gpr[in->reg - 4]];
		old = (uint64_t)*g;
		*g = (greg_t)((old & ~0xff00ull) | ((v & 0xff) << 8));
		return;
	}
	g = &uc->uc_mcontext.gregs[gpr[in->reg]];
	old = (uint64_t)*g;
	switch (in->dst_size) {
	case 1:
		*g = (greg_t)((old & ~0xffull) | (v & 0xff));
		break;
	case 2:
		*g = (greg_t)((old & ~0xffffull) | (v & 0xffff));
		break;
	case 4: /* a 32-bit destination clears the upper half */
		*g = (greg_t)(v & 0xffffffffu);
		break;
	default:
		*g = (greg_t)v;
		break;
	}
}

int trap_emulate(ucontext_t *uc, trap_rw_fn rw)
{
	struct trap_insn in;
	uint64_t v;
	int r;

	if (!trap_decode(uc, &in))
		return 0;
	v = in.value;
	r = rw(in.addr, &v, in.size, in.store);
	if (r == -EFAULT)
		return 0;
	if (r < 0)
		return r;
	if (!in.store)
		trap_load_result(uc, &in, v);
	uc->uc_mcontext.gregs[REG_RIP] += in.len;
	return 1;
}

#else /* not x86-64: nothing is emulated, every fault stays the program's */

int trap_decode(const ucontext_t *uc, struct trap_insn *out)
{
	(void)uc;
	(void)out;
	return 0;
}

void trap_load_result(ucontext_t *uc, const struct trap_insn *in, uint64_t loaded)
{
	(void)uc;
	(void)in;
	(void)loaded;
}

int trap_emulate(ucontext_t *uc, trap_rw_fn rw)
{
	(void)uc;
	(void)rw;
	return 0;
}
#endif
