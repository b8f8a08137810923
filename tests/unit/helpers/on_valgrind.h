/*
 * on_valgrind.h — RUNNING_ON_VALGRIND for tests that must step aside under
 * valgrind (`make valgrind`, scripts/valgrind.sh): it is valgrind's own
 * macro when <valgrind/valgrind.h> is installed (nonzero only inside
 * valgrind, a few instructions natively), else 0.
 *
 * Why tests step aside: valgrind computes long double in 64 bits (an x87
 * 80-bit value is rounded to a double), and an address-space limit
 * (RLIMIT_AS) also starves valgrind's own allocator. Only those checks are
 * skipped; everything else in the test still runs.
 */
#ifndef CHALK_TEST_ON_VALGRIND_H
#define CHALK_TEST_ON_VALGRIND_H

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#endif
