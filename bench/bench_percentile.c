/* bench_percentile.c -- the nearest-rank percentile the benches report their figures with. */
#include "bench_percentile.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double jt_bench_percentile(double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(q * (double)n + 0.999999);
    return v[(i == 0 ? 1 : i > n ? n : i) - 1];
}
