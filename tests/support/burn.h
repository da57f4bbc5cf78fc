/* burn.h -- the CPU work the candidates of the end-to-end tests burn: what it returns. */
#ifndef JT_TESTS_BURN_H
#define JT_TESTS_BURN_H

/* What a candidate's burn loop returns for n: s = (s * 31 + i) & 0xFFFFFFFF for i in
 * range(n), from s = 0 (the Python sources live beside each test's jobs). */
long long jt_burn_expected(long n);

#endif
