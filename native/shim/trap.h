/* Emulating one faulting load or store (x86-64): what the shim needs to give
 * a program's plain loads and stores on a "trap" mapping (memory the server
 * reaches only through reads and writes of a file, e.g. a device's
 * registers) the effect they would have on the real mapping. CPU knowledge
 * only: which instruction, which address, which register, how wide; the
 * access itself is the caller's (trap_rw_fn). */
#ifndef IOMMUFD_EMU_TRAP_H
#define IOMMUFD_EMU_TRAP_H
#include <stdint.h>
#include <ucontext.h>

/* One decoded data access. */
struct trap_insn {
	unsigned len;       /* bytes of the instruction */
	unsigned size;      /* bytes of memory accessed: 1, 2, 4 or 8 */
	int store;          /* 1: memory is written, 0: read */
	uintptr_t addr;     /* the effective address */
	uint64_t value;     /* a store's value (from its register or immediate) */
	/* Where a load's value goes: */
	int xmm;            /* 1: XMM register `reg` (zeroed above the value) */
	int reg;            /* register number, 0-15 (RAX, RCX, ... R15) */
	int hi8;            /* the register is AH, CH, DH or BH (reg 0-3) */
	unsigned dst_size;  /* bytes of the destination: 1, 2, 4 (zero-extends to 8) or 8 */
	int sign;           /* sign-extend the loaded value to dst_size */
};

/* Decode the instruction at the context's RIP. Returns 1 when it is a load
 * or store this module emulates (out filled), 0 otherwise (any other
 * instruction, a register operand, a LOCK prefix...). Reads only the
 * instruction's own bytes. */
int trap_decode(const ucontext_t *uc, struct trap_insn *out);

/* Put a load's value in its destination register. */
void trap_load_result(ucontext_t *uc, const struct trap_insn *in, uint64_t loaded);

/* Performs the access of `size` bytes at `addr` (a store of *val, or a load
 * into *val). Returns 0, -EFAULT when `addr` is not trap memory (the fault is
 * the program's own), or another -errno when the access failed. */
typedef int (*trap_rw_fn)(uintptr_t addr, uint64_t *val, unsigned size, int store);

/* A SIGSEGV's context: decode, access through `rw`, write the result, step
 * past the instruction. Returns 1 when handled, 0 when the fault is not one
 * we can handle (not trap memory, or an instruction we do not emulate),
 * -errno when the access itself failed. */
int trap_emulate(ucontext_t *uc, trap_rw_fn rw);

#endif
