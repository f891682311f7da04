// The random generator's committed corpus: seeds whose every step Linux and
// the emulator answered alike when recorded (test/fuzz/gen.c; the live
// comparison is `npm run oracle -- fuzz`). Run by test/fuzz-corpus.test.ts.
// golden: fuzz_mock -- 20 2500 -- 21 2500 -- 23 2500 -- 24 2500
// golden: fuzz_vfio --vfio -- 30 2500 -- 31 2500 -- 32 2500
#include "../fuzz/gen.c"
