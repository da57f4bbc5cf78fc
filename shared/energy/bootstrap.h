/* bootstrap.h -- private to shared/energy: a seeded generator and the resampling behind ranking.c.
 */
#ifndef JT_BOOTSTRAP_H
#define JT_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

/* xoshiro256** state: caller storage, one per stream, never shared between threads. */
typedef struct {
    uint64_t s[4];
} jt_boot_rng_t;

/* Seed r from (seed, stream): the same pair always gives the same draws, different streams
 * give independent-looking draws (splitmix64 expands the pair into the state). */
void jt_boot_rng_seed(jt_boot_rng_t *r, uint64_t seed, uint64_t stream);

/* The next 64 random bits of r. */
uint64_t jt_boot_rng_next(jt_boot_rng_t *r);

/* Sort v[0..n) ascending (finite values). */
void jt_boot_sort(double *v, size_t n);

/* Median of values[0..n) (sorted ascending, n >= 1). */
double jt_boot_median_of_sorted(const double *sorted, size_t n);

/* Median of one resample with replacement of sorted[0..n) (sorted ascending, n >= 1, n below
 * 2^32). counts: caller scratch of n zeros, left zeroed on return. O(n): the draws are counted
 * per value instead of sorted. */
double jt_boot_resample_median(const double *sorted, size_t n, jt_boot_rng_t *r, uint32_t *counts);

/* The percentile interval of the ratio num/den over count resamples: num[k * stride] over
 * den[k * stride] for k in [0, count), count >= 1. A resample whose den is <= 0 has no ratio:
 * it counts as -inf for the low end and as +inf for the high end, so a reference that can be
 * <= 0 widens the interval instead of being dropped. scratch holds count doubles.
 * [*low, *high] leaves alpha / 2 of the resamples on each side. */
void jt_boot_ratio_interval(const double *num, const double *den, size_t stride, size_t count,
                            double alpha, double *scratch, double *low, double *high);

/* Index of the low end of a central 1 - alpha percentile interval over count sorted values;
 * the high end is count - 1 - this. */
size_t jt_boot_tail_index(size_t count, double alpha);

#endif
