/* bench_percentile.h -- the nearest-rank percentile the benches report their figures with. */
#ifndef JT_BENCH_PERCENTILE_H
#define JT_BENCH_PERCENTILE_H

#include <stddef.h>

/* Nearest-rank percentile q (0..1) of v[0..n), sorting v in place (NANs
 * included, in no set place); NAN when n == 0. */
double jt_bench_percentile(double *v, size_t n, double q);

#endif
