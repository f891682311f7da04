// A program's plain loads and stores on a mapped vfio-pci BAR (a trap
// mapping: the shim reserves it with no access and carries out each faulting
// access as a pread/pwrite of the BAR region, native/shim/trap.c decoding the
// instruction). test/shim/trap.c runs each instruction form the decoder
// emulates on BAR0 of the emulated e1000e (a plain register file) and checks
// registers and memory against pread/pwrite; then the program's own SIGSEGV
// handlers, the default action, fork, mprotect, mremap, munmap and SIGBUS.
// The golden test/shim/bar_mmap.golden (robust.test.ts) checks the same
// mapping against Linux.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BIN, ROOT, compileClient, ensureShim, removeTempDir, steps } from './build.js';

let bin = '';
before(() => {
  ensureShim();
  bin = compileClient('trap', ['-I', path.join(ROOT, 'test/conformance/include')]);
});
after(() => removeTempDir());

function run(mode: string): Map<string, string> {
  const r = spawnSync(BIN, ['run', '--platform', 'qemu-vtd', '--', bin, mode], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, `killed by ${r.signal}; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.status, 0, `exit ${r.status}; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return steps(r.stdout);
}

function allOk(got: Map<string, string>, names: string[]): void {
  const bad = [...got].filter(([, v]) => v !== 'ok').map(([k, v]) => `${k}: ${v}`);
  assert.deepEqual(bad, []);
  assert.deepEqual([...got.keys()], names);
}

test('every load and store form the decoder knows reaches the BAR with its register semantics', () => {
  allOk(run('forms'), [
    '89 store32', '66 89 store16 disp8', '48 89 store64', '4c 89 store64 from r9', '88 store8', '88 store8 from ah',
    '40 88 store8 from sil', 'c6 store imm8', '66 c7 store imm16', 'c7 store imm32', '48 c7 store imm32 sign-extended, disp32',
    '8b load32 zero-extends', '66 8b load16 keeps the rest', '8a load8 keeps the rest', '8a load8 into ah',
    '4c 8b load64 into r12', '44 8b load32 into r10d', 'sib base+index*4', 'sib r13 base, r12 index',
    'sib no base, disp32', 'sib no index', '0f b6 movzx r32, m8', '48 0f b7 movzx r64, m16', '66 0f b6 movzx r16, m8',
    '48 0f be movsx r64, m8', '0f bf movsx r32, m16', '66 0f be movsx r16, m8', '48 63 movsxd r64, m32',
    '0f c3 movnti m32', '48 0f c3 movnti m64', '66 0f 6e movd xmm, m32', 'f3 0f 7e movq xmm, m64',
    'movd xmm zeroes the upper half', '66 0f 7e movd m32, xmm', '66 0f d6 movq m64, xmm', '66 4c 0f 7e movq m64, xmm9',
    '48 a1 mov rax, moffs64', '48 a3 mov moffs64, rax', 'a0 mov al, moffs8', 'a2 mov moffs8, al', '64 8b fs load32',
    'MAP_FIXED next to code', '8b 05 rip-relative load32', 'c7 05 rip-relative store imm32', 'mprotect across memory and the BAR',
    'the plain page became readable', 'the BAR still loads', 'the hint is taken',
    'MAP_FIXED_NOREPLACE on a taken place, EEXIST', 'the mapping is still there', '67 8b load32, 32-bit address',
  ]);
});

const SIGNALS = [
  "a real fault reaches sigaction's handler", 'si_addr', "sigaction reads back the program's handler", 'signal() returns it too',
  "a real fault reaches signal()'s handler", 'BAR loads still trapped', 'load with every signal blocked',
  'the mask reads back SIGSEGV blocked', 'a thread made with every signal blocked loads', 'sigprocmask reads back SIGSEGV open',
  'a fault with SIGSEGV blocked kills, handler or not', 'a handler blocking every signal loads', "a locked add is not emulated, the program's fault",
  'an access past the BAR mapping faults', '4 threads at once', "a forked child's store", "a forked child's store after closing the fd",
  "a raw-fork child's store", 'its munmap leaves ours',
  'SIG_DFL kills with SIGSEGV', 'mprotect PROT_READ',
  'load after mprotect', 'store after mprotect PROT_READ faults', 'store on the page made writable again',
  'store on the next page still faults', 'memory decoding off gives SIGBUS', 'SIGBUS si_addr', 'memory decoding on again',
  'mremap moves', 'load at the new place', 'the old place faults', 'mremap cannot grow it', 'munmap', 'a load after munmap faults',
];

test("faults that are not BAR accesses reach the program's SIGSEGV handler (installed after the first mapping)", () => {
  allOk(run('signals'), SIGNALS);
});

test("a SIGSEGV handler installed before the first BAR mapping stays the program's", () => {
  allOk(run('signals-before'), ['map after the handler', ...SIGNALS]);
});
