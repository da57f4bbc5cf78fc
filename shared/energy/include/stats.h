/* stats.h -- robust statistics of trial energies: median, MAD, CV, CI, outliers. */
#ifndef JT_STATS_H
#define JT_STATS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    size_t n;
    double mean;
    double stddev;     /* sample standard deviation (n - 1); 0 when n < 2 */
    double cv_percent; /* 100 * stddev / |mean|; 0 when mean == 0 */
    double median;
    double mad;        /* median absolute deviation from the median (unscaled) */
    double ci95_low;   /* mean -/+ t(0.975, n-1) * stddev / sqrt(n); = mean when n < 2 */
    double ci95_high;
    double min, max;
} jt_stats_t;

/* Summarise x[0..n-1] (not modified). n == 0 gives all zeros. Never fails
 * (uses a bounded stack copy up to 1024 values, else the heap; on allocation
 * failure returns false). */
bool jt_stats_compute(const double *x, size_t n, jt_stats_t *out);

/* Median of x[0..n-1] (not modified); 0 when n == 0. */
double jt_stats_median(const double *x, size_t n);

/* Flag outliers: modified z-score 0.6745 * |x - median| / max(MAD, min_mad)
 * > 3.5. min_mad is the smallest spread the values can honestly show (the
 * measurement's resolution): without it, trials that agree to a hair make a
 * tiny MAD and any ordinary deviation an "outlier". When the spread used is
 * 0 the score is undefined and no value is flagged. flags[i] is set for
 * each; returns the count. */
size_t jt_stats_outliers(const double *x, size_t n, double min_mad, bool *flags);

/* Two-sided 97.5 % quantile of Student's t with df degrees of freedom. */
double jt_stats_t975(size_t df);

#endif
