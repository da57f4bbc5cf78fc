/* stats.c -- robust summaries of trial energies: mean, stddev, median, MAD, Student-t CI, outliers.
 *
 * Pure functions of their arguments; safe from any thread. Inputs are never
 * modified: order statistics work on a copy (on the stack up to
 * STACK_VALUES values, else on the heap). NaN inputs are ordered after every
 * number so sorting stays well defined, but they make the moments NaN: the
 * caller is expected to pass finite measurements.
 */
#include "stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STACK_VALUES 1024
#define INSERTION_SORT_MAX 32

/* A total order on doubles (NaN last, NaNs equal) so qsort's contract holds. */
static int cmp_double(double a, double b)
{
    if (isnan(a))
        return isnan(b) ? 0 : 1;
    if (isnan(b))
        return -1;
    return (a > b) - (a < b);
}

static int qsort_cmp(const void *pa, const void *pb)
{
    return cmp_double(*(const double *)pa, *(const double *)pb);
}

static void sort_values(double *v, size_t n)
{
    if (n > INSERTION_SORT_MAX) {
        qsort(v, n, sizeof *v, qsort_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        double key = v[i];
        size_t j = i;
        while (j > 0 && cmp_double(v[j - 1], key) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = key;
    }
}

/* Value i of the sequence whose median is wanted: x itself, or |x - center|. */
static double value_at(const double *x, size_t i, bool absdev, double center)
{
    return absdev ? fabs(x[i] - center) : x[i];
}

static double middle_of_sorted(const double *v, size_t n)
{
    if (n % 2 == 1)
        return v[n / 2];
    return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* k-th smallest (0-based) without any storage: O(n^2), used only when no
 * scratch memory could be had, so that the functions without a failure
 * return still give the right answer. */
static double kth_without_storage(const double *x, size_t n, size_t k, bool absdev, double center)
{
    for (size_t i = 0; i < n; i++) {
        double vi = value_at(x, i, absdev, center);
        size_t less = 0, equal = 0;
        for (size_t j = 0; j < n; j++) {
            int c = cmp_double(value_at(x, j, absdev, center), vi);
            less += c < 0;
            equal += c == 0;
        }
        if (less <= k && k < less + equal)
            return vi;
    }
    return 0.0; /* unreachable: some element has rank k */
}

/* Median of the sequence (x or |x - center|); scratch holds n values or is NULL. */
static double median_of(const double *x, size_t n, bool absdev, double center, double *scratch)
{
    if (n == 0)
        return 0.0;
    if (scratch == NULL) {
        double hi = kth_without_storage(x, n, n / 2, absdev, center);
        if (n % 2 == 1)
            return hi;
        return (kth_without_storage(x, n, n / 2 - 1, absdev, center) + hi) / 2.0;
    }
    for (size_t i = 0; i < n; i++)
        scratch[i] = value_at(x, i, absdev, center);
    sort_values(scratch, n);
    return middle_of_sorted(scratch, n);
}

/* Scratch space for n values: stack_buf when it fits, else the heap (NULL on failure). */
static double *scratch_get(double *stack_buf, size_t n)
{
    if (n <= STACK_VALUES)
        return stack_buf;
    if (n > SIZE_MAX / sizeof(double))
        return NULL;
    return malloc(n * sizeof(double));
}

static void scratch_put(double *stack_buf, double *p)
{
    if (p != stack_buf)
        free(p);
}

double jt_stats_median(const double *x, size_t n)
{
    double stack_buf[STACK_VALUES];
    double *scratch = scratch_get(stack_buf, n);
    double m = median_of(x, n, false, 0.0, scratch);
    scratch_put(stack_buf, scratch);
    return m;
}

size_t jt_stats_outliers(const double *x, size_t n, double min_mad, bool *flags)
{
    double stack_buf[STACK_VALUES];
    double *scratch = scratch_get(stack_buf, n);
    double med = median_of(x, n, false, 0.0, scratch);
    double mad = median_of(x, n, true, med, scratch);
    scratch_put(stack_buf, scratch);
    if (mad < min_mad)
        mad = min_mad;

    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        /* Iglewicz & Hoaglin: 0.6745 makes the MAD comparable to a standard
         * deviation for normal data; with a spread of 0 it is undefined. */
        bool out = mad > 0.0 && 0.6745 * fabs(x[i] - med) / mad > 3.5;
        if (flags != NULL)
            flags[i] = out;
        count += out;
    }
    return count;
}

/* Exact t(0.975, df) for df 1..30 (to 9 decimals). */
static const double t975_table[30] = {
    12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
    2.364624252,  2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
    2.160368656,  2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
    2.093024054,  2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
    2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
};

double jt_stats_t975(size_t df)
{
    /* df 0 has no t distribution: an interval from one value is unbounded. */
    if (df == 0)
        return INFINITY;
    if (df <= 30)
        return t975_table[df - 1];
    /* Cornish-Fisher expansion of t around the normal quantile
     * (Abramowitz & Stegun 26.7.5); for df > 30 its error is below 1e-6. */
    const double z = 1.959963984540054;
    double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
    double g1 = (z3 + z) / 4.0;
    double g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
    double g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
    double g4 = (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / 92160.0;
    double v = (double)df;
    return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

bool jt_stats_compute(const double *x, size_t n, jt_stats_t *out)
{
    jt_stats_t s;
    memset(&s, 0, sizeof s);
    if (n == 0) {
        *out = s;
        return true;
    }

    double stack_buf[STACK_VALUES];
    double *scratch = scratch_get(stack_buf, n);
    if (scratch == NULL)
        return false;

    s.n = n;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    s.mean = sum / (double)n;
    /* Two passes: summing squared deviations from the mean avoids the
     * cancellation of sum(x^2) - n*mean^2 for large, close energies. */
    if (n >= 2) {
        double ss = 0.0;
        for (size_t i = 0; i < n; i++)
            ss += (x[i] - s.mean) * (x[i] - s.mean);
        s.stddev = sqrt(ss / (double)(n - 1));
    }
    s.cv_percent = s.mean != 0.0 ? 100.0 * s.stddev / fabs(s.mean) : 0.0;

    s.median = median_of(x, n, false, 0.0, scratch);
    s.min = scratch[0]; /* scratch is x sorted until the MAD pass reuses it */
    s.max = scratch[n - 1];
    s.mad = median_of(x, n, true, s.median, scratch);
    scratch_put(stack_buf, scratch);

    if (n >= 2) {
        double half = jt_stats_t975(n - 1) * s.stddev / sqrt((double)n);
        s.ci95_low = s.mean - half;
        s.ci95_high = s.mean + half;
    } else {
        s.ci95_low = s.ci95_high = s.mean;
    }
    *out = s;
    return true;
}
