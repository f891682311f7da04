// The random generator's committed corpus: seeds whose every step Linux and
// the emulator answered alike when recorded (test/fuzz/gen.c; the live
// comparison is `npm run oracle -- fuzz`); "v2" runs are the generator's
// version 2 (fork, dup, freed memory, FIO* ioctls, container and group
// files). Run by test/fuzz-corpus.test.ts.
// golden: fuzz_mock --timeout=1800 -- 20 2500 -- 21 2500 -- 23 2500 -- 24 2500 -- v2 1 2000 -- v2 2 2000
// golden: fuzz_vfio --vfio --timeout=1800 -- 30 2500 -- 31 2500 -- 32 2500 -- v2 1 2000 -- v2 2 2000
// golden: fuzz_amd --amd --timeout=1800 -- 210 2000 -- 211 2000 -- v2 200 2000 -- v2 202 2000
// golden: fuzz_arm --arm --timeout=1800 -- 1071 2500 -- v2 1072 2000
#include "../fuzz/gen.c"
