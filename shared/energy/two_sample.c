/* two_sample.c -- Welch's t-test and the Mann-Whitney U test, with the distributions they need.
 *
 * Pure functions of their arguments; safe from any thread (lgamma_r, not lgamma, which writes
 * the global signgam).
 */
#include "two_sample.h"

#include <math.h>
#include <stdlib.h>

jt_moments_t jt_moments_of(const double *x, size_t n)
{
    jt_moments_t m = {n, 0.0, 0.0};
    if (n == 0)
        return m;
    /* Summing x / n cannot overflow where the sum of x would (values near DBL_MAX). */
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += x[i] / (double)n;
    m.mean = mean;
    if (n >= 2) {
        double ss = 0.0;
        for (size_t i = 0; i < n; i++)
            ss += (x[i] - m.mean) * (x[i] - m.mean);
        m.variance = ss / (double)(n - 1);
    }
    return m;
}

static double log_gamma(double x)
{
    int sign;
    return lgamma_r(x, &sign);
}

/* Continued fraction of the incomplete beta function (modified Lentz), for x below the
 * mean (a + 1) / (a + b + 2) where it converges fast. */
static double beta_continued_fraction(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 500; m++) {
        double m2 = 2.0 * m;
        double step = m * (b - m) * x / ((a - 1.0 + m2) * (a + m2));
        d = 1.0 + step * d;
        c = 1.0 + step / c;
        d = 1.0 / (fabs(d) < tiny ? tiny : d);
        c = fabs(c) < tiny ? tiny : c;
        h *= d * c;
        step = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2));
        d = 1.0 + step * d;
        c = 1.0 + step / c;
        d = 1.0 / (fabs(d) < tiny ? tiny : d);
        c = fabs(c) < tiny ? tiny : c;
        double delta = d * c;
        h *= delta;
        if (fabs(delta - 1.0) < eps)
            break;
    }
    return h;
}

/* Regularised incomplete beta I_x(a, b), a, b > 0. */
static double incomplete_beta(double a, double b, double x)
{
    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    double log_front = log_gamma(a + b) - log_gamma(a) - log_gamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0))
        return exp(log_front) * beta_continued_fraction(a, b, x) / a;
    return 1.0 - exp(log_front) * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double jt_welch_p(const jt_moments_t *a, const jt_moments_t *b)
{
    if (a->n < 2 || b->n < 2)
        return 1.0;
    double va = a->variance / (double)a->n, vb = b->variance / (double)b->n;
    double se2 = va + vb;
    double diff = b->mean - a->mean;
    if (!(se2 > 0.0))
        return diff == 0.0 ? 1.0 : 0.0;
    if (!isfinite(se2))
        return 1.0; /* a spread beyond double range: nothing can be told apart */
    double t2 = diff * diff / se2;
    /* Welch-Satterthwaite degrees of freedom, in shares of se2 so that nothing overflows. */
    double share_a = va / se2, share_b = vb / se2;
    double df =
        1.0 / (share_a * share_a / (double)(a->n - 1) + share_b * share_b / (double)(b->n - 1));
    if (!isfinite(t2))
        return 0.0;
    /* P(|T| > t) = I_{df / (df + t^2)}(df / 2, 1 / 2). */
    double p = incomplete_beta(df / 2.0, 0.5, df / (df + t2));
    return p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
}

/* P(U <= u) and P(U >= u) of the exact null distribution of U (pairs b > a) for sizes na, nb
 * without ties. With the largest value from b (probability j / (i + j)) it beats all i values
 * of a: P_ij(u) = j / (i + j) P_i,j-1(u - i) + i / (i + j) P_i-1,j(u). Rows i are rolled. */
static int exact_u_tails(size_t na, size_t nb, size_t u, double *below, double *above)
{
    size_t width = na * nb + 1;
    double *prev = calloc((nb + 1) * width, sizeof *prev);
    double *cur = calloc((nb + 1) * width, sizeof *cur);
    if (prev == NULL || cur == NULL) {
        free(prev);
        free(cur);
        return -1;
    }
    for (size_t j = 0; j <= nb; j++)
        prev[j * width] = 1.0; /* i = 0: U is 0 */
    for (size_t i = 1; i <= na; i++) {
        cur[0] = 1.0; /* j = 0: U is 0 */
        for (size_t j = 1; j <= nb; j++) {
            double from_b = (double)j / (double)(i + j), from_a = (double)i / (double)(i + j);
            double *row = cur + j * width;
            const double *left = cur + (j - 1) * width, *up = prev + j * width;
            for (size_t k = 0; k <= i * j; k++) {
                double pb = k >= i && k - i <= i * (j - 1) ? left[k - i] : 0.0;
                double pa = k <= (i - 1) * j ? up[k] : 0.0;
                row[k] = from_b * pb + from_a * pa;
            }
        }
        double *swap = prev;
        prev = cur;
        cur = swap;
    }
    const double *dist = prev + nb * width;
    double lo = 0.0, hi = 0.0;
    for (size_t k = 0; k < width; k++) {
        if (k <= u)
            lo += dist[k];
        if (k >= u)
            hi += dist[k];
    }
    free(prev);
    free(cur);
    *below = lo;
    *above = hi;
    return 0;
}

double jt_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb, double *u_b)
{
    /* U of b by a merge: for each b value, the a values below it and those equal. */
    double u = 0.0;
    size_t below = 0, equal_end = 0;
    for (size_t j = 0; j < nb; j++) {
        while (below < na && a[below] < b[j])
            below++;
        if (equal_end < below)
            equal_end = below;
        while (equal_end < na && a[equal_end] == b[j])
            equal_end++;
        u += (double)below + 0.5 * (double)(equal_end - below);
    }
    *u_b = u;

    /* Tie groups of the pooled sample, for the exactness check and the variance correction. */
    double tie_sum = 0.0;
    size_t i = 0, j = 0, total = na + nb;
    while (i < na || j < nb) {
        double v = j >= nb || (i < na && a[i] <= b[j]) ? a[i] : b[j];
        size_t t = 0;
        while (i < na && a[i] == v) {
            i++;
            t++;
        }
        while (j < nb && b[j] == v) {
            j++;
            t++;
        }
        tie_sum += (double)t * (double)t * (double)t - (double)t;
    }

    if (tie_sum == 0.0 && na <= JT_MWU_EXACT_MAX && nb <= JT_MWU_EXACT_MAX) {
        double lo, hi;
        if (exact_u_tails(na, nb, (size_t)u, &lo, &hi) != 0)
            return -1.0;
        double p = 2.0 * (lo < hi ? lo : hi);
        return p > 1.0 ? 1.0 : p;
    }
    double n = (double)total;
    double variance = (double)na * (double)nb / 12.0 * ((n + 1.0) - tie_sum / (n * (n - 1.0)));
    if (!(variance > 0.0))
        return 1.0; /* every value ties: no evidence of any difference */
    double z = (fabs(u - (double)na * (double)nb / 2.0) - 0.5) / sqrt(variance);
    if (z < 0.0)
        z = 0.0;
    return erfc(z / sqrt(2.0));
}
