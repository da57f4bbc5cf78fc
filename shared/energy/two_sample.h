/* two_sample.h -- private to shared/energy: two-sample tests behind the tiers and the comparison.
 */
#ifndef JT_TWO_SAMPLE_H
#define JT_TWO_SAMPLE_H

#include <stddef.h>

/* A sample summarised for Welch's test. */
typedef struct {
    size_t n;
    double mean;
    double variance; /* sample variance (n - 1); 0 when n < 2 */
} jt_moments_t;

/* Mean and sample variance of x[0..n) (two passes, no cancellation). */
jt_moments_t jt_moments_of(const double *x, size_t n);

/* Two-sided p-value of Welch's unequal-variance t-test of equal means. 1 when either sample
 * has fewer than 2 values (nothing can be said); with both variances 0 it is 1 for equal
 * means and 0 otherwise. Never NaN for finite moments. */
double jt_welch_p(const jt_moments_t *a, const jt_moments_t *b);

#define JT_MWU_EXACT_MAX 50 /* trials a side up to which U's null distribution is exact */

/* Two-sided p-value of the Mann-Whitney U test (H0: one distribution) of a[0..na) against
 * b[0..nb), both sorted ascending, na, nb >= 1. Exact null distribution when there are no
 * ties and na, nb <= JT_MWU_EXACT_MAX, else the normal approximation with the tie correction
 * and a continuity correction. 1 when every value ties. *u_b gets U of b: the pairs with
 * b > a plus half the ties. Returns a negative value when the exact table cannot be
 * allocated. */
double jt_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb, double *u_b);

#endif
