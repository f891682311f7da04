/* signal_close.c with its handler installed by sigset() instead of
 * sigaction(): glibc's sigset calls its internal sigaction, so the shim must
 * see it on its own (it blocks signals around its locks only once the
 * program has a handler). Prints what signal_close.golden says. */
#define _GNU_SOURCE
#include "iofd.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>
#define sigaction(sig, act, old) (sigset((sig), (act)->sa_handler) == SIG_ERR ? -1 : 0)
#include "signal_close.c"
