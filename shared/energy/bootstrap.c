/* bootstrap.c -- a seeded xoshiro256** generator, resampled medians and ratio intervals.
 *
 * Pure functions of their arguments and of the generator state the caller owns; no globals,
 * safe from any thread that owns its jt_boot_rng_t. xoshiro256** and splitmix64 are the
 * public-domain generators of Blackman and Vigna (https://prng.di.unimi.it/).
 */
#include "bootstrap.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void jt_boot_rng_seed(jt_boot_rng_t *r, uint64_t seed, uint64_t stream)
{
    /* Mix the stream through splitmix first so that nearby (seed, stream) pairs do not
     * start from nearby states. */
    uint64_t x = seed;
    uint64_t mixed = splitmix64(&x) ^ stream;
    x = mixed;
    x = splitmix64(&x);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1; /* the one state xoshiro cannot leave */
}

uint64_t jt_boot_rng_next(jt_boot_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) for n < 2^32: the top 32 bits scaled (Lemire); the bias is below
 * n / 2^32, far under the bootstrap's own noise. */
static size_t below(jt_boot_rng_t *r, size_t n)
{
    return (size_t)(((jt_boot_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

void jt_boot_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, compare_doubles);
}

double jt_boot_median_of_sorted(const double *sorted, size_t n)
{
    if (n % 2 == 1)
        return sorted[n / 2];
    return 0.5 * sorted[n / 2 - 1] + 0.5 * sorted[n / 2]; /* no overflow near DBL_MAX */
}

double jt_boot_resample_median(const double *sorted, size_t n, jt_boot_rng_t *r, uint32_t *counts)
{
    for (size_t k = 0; k < n; k++)
        counts[below(r, n)]++;
    /* The resample sorted is sorted[0] counts[0] times, then sorted[1] ...: walk the counts to
     * the middle positions lo_pos and hi_pos (equal when n is odd). */
    size_t lo_pos = (n - 1) / 2, hi_pos = n / 2;
    double lo = sorted[n - 1], hi = sorted[n - 1];
    size_t seen = 0;
    bool lo_found = false;
    for (size_t i = 0; i < n; i++) {
        seen += counts[i];
        counts[i] = 0;
        if (!lo_found && seen > lo_pos) {
            lo = sorted[i];
            lo_found = true;
        }
        if (seen > hi_pos) {
            hi = sorted[i];
            for (size_t j = i + 1; j < n; j++)
                counts[j] = 0;
            break;
        }
    }
    return 0.5 * lo + 0.5 * hi;
}

size_t jt_boot_tail_index(size_t count, double alpha)
{
    size_t k = (size_t)floor(alpha / 2.0 * (double)count);
    return k < count ? k : count - 1;
}

void jt_boot_ratio_interval(const double *num, const double *den, size_t stride, size_t count,
                            double alpha, double *scratch, double *low, double *high)
{
    size_t finite = 0, undefined = 0;
    for (size_t k = 0; k < count; k++) {
        double d = den[k * stride];
        if (d > 0.0)
            scratch[finite++] = num[k * stride] / d;
        else
            undefined++;
    }
    jt_boot_sort(scratch, finite);
    size_t lo_index = jt_boot_tail_index(count, alpha);
    size_t hi_index = count - 1 - lo_index;
    /* The undefined resamples sit below every ratio for the low end and above for the high. */
    *low = lo_index < undefined ? -INFINITY : scratch[lo_index - undefined];
    *high = hi_index >= finite ? INFINITY : scratch[hi_index];
}
