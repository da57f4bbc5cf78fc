/* ranking.c -- candidates ranked by median energy, with intervals, rank intervals and tiers.
 *
 * Pure functions of their arguments and the seed; no globals, safe from any thread.
 * docs/ranking.md "Method" gives the statistics and the reasons for them.
 */
#include "ranking.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "rank_tiers.h"
#include "stats.h"
#include "two_sample.h"

#define MEDIAN_CONFIDENCE 0.95

/* A candidate's median with its index, sorted by median then index. */
typedef struct {
    double median;
    uint32_t index;
} keyed_t;

static int compare_keyed(const void *pa, const void *pb)
{
    const keyed_t *a = pa, *b = pb;
    if (a->median != b->median)
        return a->median < b->median ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Everything jt_rank_compute allocates, freed together. */
typedef struct {
    double *values;           /* every candidate's trials, sorted per candidate */
    size_t *offset;           /* candidate i's trials start at values + offset[i] */
    keyed_t *keyed;           /* the candidates (or one resample's) in median order */
    uint32_t *order;          /* candidate indices in median order */
    uint32_t *boot_of;        /* candidate -> column in the resamples (only 2+ trials) */
    uint32_t *bounded;        /* column -> candidate */
    jt_boot_rng_t *rng;       /* one stream per column */
    uint32_t *counts;         /* resampling scratch, the most trials of a candidate */
    double *boot_median;      /* [resample * columns + column] */
    uint32_t *boot_rank;      /* [resample * columns + column], among the columns */
    double *scratch;          /* JT_RANK_BOOTSTRAP doubles */
    uint32_t *histogram;      /* columns + 1 rank counts */
    jt_rank_entry_t *entries; /* the result, copied out on success only */
} work_t;

static void work_free(work_t *w)
{
    free(w->values);
    free(w->offset);
    free(w->keyed);
    free(w->order);
    free(w->boot_of);
    free(w->bounded);
    free(w->rng);
    free(w->counts);
    free(w->boot_median);
    free(w->boot_rank);
    free(w->scratch);
    free(w->histogram);
    free(w->entries);
}

/* One sample's checks: x present, at least min_n values, each finite, below 2^32 values. */
static jt_status_t check_sample(const jt_rank_sample_t *s, size_t min_n, const char *what,
                                size_t index, jt_error_t *err)
{
    char path[64];
    snprintf(path, sizeof path, "%s[%zu]", what, index);
    if (s->n < min_n)
        return jt_error_set(err, JT_ERR_INVALID, path, "needs at least %zu trials, has %zu", min_n,
                            s->n);
    if (s->n > UINT32_MAX)
        return jt_error_set(err, JT_ERR_TOO_LARGE, path, "more than %u trials", UINT32_MAX);
    if (s->x == NULL)
        return jt_error_set(err, JT_ERR_INVALID, path, "has no values");
    for (size_t k = 0; k < s->n; k++)
        if (!isfinite(s->x[k]))
            return jt_error_set(err, JT_ERR_INVALID, path, "trial %zu is not a finite number", k);
    return JT_OK;
}

/* The point a share lambda (0..1) of the way from a to b, never outside them (rounding) and
 * never infinite or NaN for finite ends. */
static double between(double a, double b, double lambda)
{
    if (a == b)
        return a;
    double v = (1.0 - lambda) * a + lambda * b;
    return fmin(fmax(v, fmin(a, b)), fmax(a, b));
}

/* The 95 % interval of the median of sorted[0..n). One value: unbounded. 6+ values: the
 * distribution-free order-statistic interval of the binomial, interpolated between the two
 * depths around 95 % (Hettmansperger and Sheather 1986). 2..5 values, where even
 * [min, max] covers less than 95 % (1 - 2^(1-n)): [min, max] joined with the Student-t
 * interval of the mean. */
static void median_interval(const double *sorted, size_t n, double *low, double *high)
{
    if (n < 2) {
        *low = -INFINITY;
        *high = INFINITY;
        return;
    }
    /* Depth k: [x_(k), x_(n+1-k)] covers the median with 1 - 2 P(B <= k - 1), B ~ Bin(n, 1/2). */
    double log_pmf = -(double)n * log(2.0); /* log P(B = j), starting at j = 0 */
    double below = 0.0;                     /* P(B <= k - 1) */
    double cover_k = 1.0, cover_next = 0.0;
    size_t k = 0;
    for (size_t j = 0; j < n / 2; j++) {
        double next_below = below + exp(log_pmf);
        cover_next = 1.0 - 2.0 * next_below;
        if (cover_next < MEDIAN_CONFIDENCE)
            break;
        below = next_below;
        cover_k = cover_next;
        k = j + 1;
        log_pmf += log((double)(n - j)) - log((double)(j + 1));
    }
    if (k == 0) {
        jt_moments_t m = jt_moments_of(sorted, n);
        double half = jt_stats_t975(n - 1) * sqrt(m.variance / (double)n);
        *low = fmin(sorted[0], m.mean - half);
        *high = fmax(sorted[n - 1], m.mean + half);
        return;
    }
    double lambda = 0.0;
    if (2 * k < n && cover_k > cover_next) {
        double share = (cover_k - MEDIAN_CONFIDENCE) / (cover_k - cover_next);
        lambda = (double)(n - k) * share / ((double)k + (double)(n - 2 * k) * share);
    }
    *low = between(sorted[k - 1], sorted[k], lambda);
    *high = between(sorted[n - k], sorted[n - k - 1], lambda);
}

/* Point estimates: median, its interval, the rank (ties share the lower one); w->order. */
static void fill_point_estimates(const jt_rank_sample_t *s, size_t n, work_t *w,
                                 jt_rank_entry_t *out)
{
    for (size_t i = 0; i < n; i++) {
        const double *v = w->values + w->offset[i];
        jt_rank_entry_t *e = &out[i];
        memset(e, 0, sizeof *e);
        e->n = s[i].n;
        e->median = jt_boot_median_of_sorted(v, s[i].n);
        median_interval(v, s[i].n, &e->ci_low, &e->ci_high);
        e->half_width_percent =
            e->median == 0.0 ? INFINITY : (e->ci_high - e->ci_low) / 2.0 / fabs(e->median) * 100.0;
        w->keyed[i] = (keyed_t){e->median, (uint32_t)i};
    }
    qsort(w->keyed, n, sizeof *w->keyed, compare_keyed);
    for (size_t k = 0; k < n; k++) {
        size_t i = w->keyed[k].index;
        w->order[k] = (uint32_t)i;
        bool tie = k > 0 && w->keyed[k - 1].median == w->keyed[k].median;
        out[i].rank = tie ? out[w->keyed[k - 1].index].rank : (int)k + 1;
    }
}

/* The resampled medians of every candidate with 2+ trials, then their ranks per resample. */
static void bootstrap_ranks(const jt_rank_sample_t *s, size_t columns, work_t *w)
{
    const size_t resamples = JT_RANK_BOOTSTRAP;
    for (size_t b = 0; b < resamples; b++) {
        double *medians = w->boot_median + b * columns;
        for (size_t c = 0; c < columns; c++) {
            size_t i = w->bounded[c];
            medians[c] =
                jt_boot_resample_median(w->values + w->offset[i], s[i].n, &w->rng[c], w->counts);
            w->keyed[c] = (keyed_t){medians[c], (uint32_t)c};
        }
        /* One sort per resample ranks every candidate at once. */
        qsort(w->keyed, columns, sizeof *w->keyed, compare_keyed);
        uint32_t *ranks = w->boot_rank + b * columns;
        uint32_t rank = 1;
        for (size_t k = 0; k < columns; k++) {
            if (k > 0 && w->keyed[k - 1].median != w->keyed[k].median)
                rank = (uint32_t)k + 1;
            ranks[w->keyed[k].index] = rank;
        }
    }
}

/* Candidate i's rank interval from its column's resampled ranks, widened by the candidates
 * with one trial (unplaced: any of them may sit above or below) and kept around the rank. */
static void rank_interval(size_t column, size_t columns, size_t unplaced, work_t *w,
                          jt_rank_entry_t *e)
{
    const size_t resamples = JT_RANK_BOOTSTRAP;
    memset(w->histogram, 0, (columns + 1) * sizeof *w->histogram);
    for (size_t b = 0; b < resamples; b++)
        w->histogram[w->boot_rank[b * columns + column]]++;
    size_t lo_index = jt_boot_tail_index(resamples, 1.0 - MEDIAN_CONFIDENCE);
    size_t hi_index = resamples - 1 - lo_index;
    size_t seen = 0;
    int low = 0, high = 0;
    for (size_t r = 1; r <= columns; r++) {
        seen += w->histogram[r];
        if (low == 0 && seen > lo_index)
            low = (int)r;
        if (seen > hi_index) {
            high = (int)r;
            break;
        }
    }
    high += (int)unplaced;
    e->rank_low = low < e->rank ? low : e->rank;
    e->rank_high = high > e->rank ? high : e->rank;
}

/* The ratio to the reference (out[reference] already has its median). */
static void ratio_to_reference(size_t i, size_t reference, size_t columns, work_t *w,
                               jt_rank_entry_t *out)
{
    jt_rank_entry_t *e = &out[i];
    const jt_rank_entry_t *ref = &out[reference];
    if (!(e->median > 0.0 && ref->median > 0.0))
        return;
    e->has_ratio = true;
    e->ratio = e->median / ref->median;
    if (i == reference) {
        e->ratio_low = e->ratio_high = 1.0;
        return;
    }
    if (e->n < 2 || ref->n < 2) {
        e->ratio_low = -INFINITY;
        e->ratio_high = INFINITY;
        return;
    }
    jt_boot_ratio_interval(w->boot_median + w->boot_of[i], w->boot_median + w->boot_of[reference],
                           columns, JT_RANK_BOOTSTRAP, 1.0 - MEDIAN_CONFIDENCE, w->scratch,
                           &e->ratio_low, &e->ratio_high);
    /* The percentile interval of a discrete bootstrap can miss the point by a hair. */
    e->ratio_low = fmin(e->ratio_low, e->ratio);
    e->ratio_high = fmax(e->ratio_high, e->ratio);
}

static bool work_alloc(const jt_rank_sample_t *s, size_t n, size_t total, size_t columns, work_t *w)
{
    size_t most = 1;
    for (size_t i = 0; i < n; i++)
        most = s[i].n > most ? s[i].n : most;
    const size_t resamples = JT_RANK_BOOTSTRAP;
    if (columns > SIZE_MAX / resamples / sizeof(double))
        return false;
    w->values = malloc(total * sizeof *w->values);
    w->offset = malloc(n * sizeof *w->offset);
    w->keyed = malloc(n * sizeof *w->keyed);
    w->order = malloc(n * sizeof *w->order);
    w->boot_of = malloc(n * sizeof *w->boot_of);
    w->bounded = malloc((columns + 1) * sizeof *w->bounded);
    w->rng = malloc((columns + 1) * sizeof *w->rng);
    w->counts = calloc(most, sizeof *w->counts);
    w->boot_median = malloc((columns * resamples + 1) * sizeof *w->boot_median);
    w->boot_rank = malloc((columns * resamples + 1) * sizeof *w->boot_rank);
    w->scratch = malloc(resamples * sizeof *w->scratch);
    w->histogram = malloc((columns + 1) * sizeof *w->histogram);
    w->entries = malloc(n * sizeof *w->entries);
    return w->values != NULL && w->offset != NULL && w->keyed != NULL && w->order != NULL &&
           w->boot_of != NULL && w->bounded != NULL && w->rng != NULL && w->counts != NULL &&
           w->boot_median != NULL && w->boot_rank != NULL && w->scratch != NULL &&
           w->histogram != NULL && w->entries != NULL;
}

jt_status_t jt_rank_compute(const jt_rank_sample_t *s, size_t n, int reference, uint64_t seed,
                            jt_rank_entry_t *out, jt_error_t *err)
{
    if (s == NULL || out == NULL || n == 0)
        return jt_error_set(err, JT_ERR_INVALID, "candidates", "no candidates to rank");
    if (n > INT_MAX) /* ranks and tiers are ints */
        return jt_error_set(err, JT_ERR_TOO_LARGE, "candidates", "more than %d candidates",
                            INT_MAX);
    if (reference < -1 || (reference >= 0 && (size_t)reference >= n))
        return jt_error_set(err, JT_ERR_INVALID, "reference", "no candidate %d among %zu",
                            reference, n);
    size_t total = 0, columns = 0;
    for (size_t i = 0; i < n; i++) {
        jt_status_t st = check_sample(&s[i], 1, "candidates", i, err);
        if (st != JT_OK)
            return st;
        if (s[i].n > SIZE_MAX / sizeof(double) - total)
            return jt_error_set(err, JT_ERR_TOO_LARGE, "candidates", "too many trials");
        total += s[i].n;
        columns += s[i].n >= 2;
    }

    work_t w;
    memset(&w, 0, sizeof w);
    if (!work_alloc(s, n, total, columns, &w)) {
        work_free(&w);
        return jt_error_set(err, JT_ERR_NOMEM, "candidates", "no memory to rank %zu candidates", n);
    }
    size_t at = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        w.offset[i] = at;
        memcpy(w.values + at, s[i].x, s[i].n * sizeof *w.values);
        jt_boot_sort(w.values + at, s[i].n);
        at += s[i].n;
        if (s[i].n >= 2) {
            w.boot_of[i] = (uint32_t)c;
            w.bounded[c] = (uint32_t)i;
            /* A stream per candidate: its resamples depend on the seed and its index only. */
            jt_boot_rng_seed(&w.rng[c], seed, i);
            c++;
        }
    }

    jt_rank_entry_t *e = w.entries;
    fill_point_estimates(s, n, &w, e);
    jt_status_t st = jt_rank_assign_tiers(s, n, w.order, JT_RANK_ALPHA, e, err);
    if (st != JT_OK) {
        work_free(&w);
        return st;
    }
    bootstrap_ranks(s, columns, &w);
    for (size_t i = 0; i < n; i++) {
        if (s[i].n >= 2) {
            rank_interval(w.boot_of[i], columns, n - columns, &w, &e[i]);
        } else {
            e[i].rank_low = 1;
            e[i].rank_high = (int)n;
        }
        if (reference >= 0)
            ratio_to_reference(i, (size_t)reference, columns, &w, e);
    }
    memcpy(out, e, n * sizeof *out);
    work_free(&w);
    return JT_OK;
}

/* Whether two intervals share a point (an unbounded one shares every point). */
static bool overlaps(const jt_rank_entry_t *a, const jt_rank_entry_t *b)
{
    return a->ci_low <= b->ci_high && b->ci_low <= a->ci_high;
}

/* Whether (median, index) of a comes before that of b: the order of the ranking. */
static bool before(const jt_rank_entry_t *a, size_t ia, const jt_rank_entry_t *b, size_t ib)
{
    return a->median < b->median || (a->median == b->median && ia < ib);
}

bool jt_rank_needs_more(const jt_rank_entry_t *e, size_t n, size_t i, double precision_percent)
{
    if (e == NULL || i >= n)
        return false;
    if (precision_percent > 0.0 && !(e[i].half_width_percent <= precision_percent))
        return true;
    return jt_rank_overlaps_neighbour(e, n, i);
}

double jt_rank_trials_for_precision(const jt_rank_entry_t *e, double precision_percent)
{
    if (e == NULL || !(precision_percent > 0.0) || !isfinite(e->half_width_percent))
        return INFINITY;
    if (e->half_width_percent <= precision_percent)
        return (double)e->n;
    double r = e->half_width_percent / precision_percent;
    return (double)e->n * r * r;
}

bool jt_rank_overlaps_neighbour(const jt_rank_entry_t *e, size_t n, size_t i)
{
    if (e == NULL || i >= n)
        return false;
    /* The neighbours in rank order: the last candidate before i and the first after it. */
    size_t above = n, below = n;
    for (size_t j = 0; j < n; j++) {
        if (j == i)
            continue;
        if (before(&e[j], j, &e[i], i)) {
            if (above == n || before(&e[above], above, &e[j], j))
                above = j;
        } else if (below == n || before(&e[j], j, &e[below], below)) {
            below = j;
        }
    }
    return (above < n && overlaps(&e[i], &e[above])) || (below < n && overlaps(&e[i], &e[below]));
}

jt_status_t jt_rank_compare(const jt_rank_sample_t *a, const jt_rank_sample_t *b, uint64_t seed,
                            jt_compare_stats_t *out, jt_error_t *err)
{
    if (a == NULL || b == NULL || out == NULL)
        return jt_error_set(err, JT_ERR_INVALID, "candidates", "two samples are needed");
    jt_status_t st = check_sample(a, 2, "candidates", 0, err);
    if (st == JT_OK)
        st = check_sample(b, 2, "candidates", 1, err);
    if (st != JT_OK)
        return st;

    const size_t resamples = JT_RANK_BOOTSTRAP;
    double *sorted_a = malloc(a->n * sizeof *sorted_a);
    double *sorted_b = malloc(b->n * sizeof *sorted_b);
    uint32_t *counts = calloc(a->n > b->n ? a->n : b->n, sizeof *counts);
    double *boot = malloc(3 * resamples * sizeof *boot);
    if (sorted_a == NULL || sorted_b == NULL || counts == NULL || boot == NULL) {
        st = jt_error_set(err, JT_ERR_NOMEM, "candidates", "no memory to compare");
        goto out;
    }
    memcpy(sorted_a, a->x, a->n * sizeof *sorted_a);
    memcpy(sorted_b, b->x, b->n * sizeof *sorted_b);
    jt_boot_sort(sorted_a, a->n);
    jt_boot_sort(sorted_b, b->n);
    double median_a = jt_boot_median_of_sorted(sorted_a, a->n);
    double median_b = jt_boot_median_of_sorted(sorted_b, b->n);
    if (!(median_a > 0.0 && median_b > 0.0)) {
        st = jt_error_set(err, JT_ERR_INVALID, median_a > 0.0 ? "candidates[1]" : "candidates[0]",
                          "the median energy is %g J, not above 0: no ratio",
                          median_a > 0.0 ? median_b : median_a);
        goto out;
    }
    double u_b;
    double p = jt_mann_whitney_p(sorted_a, a->n, sorted_b, b->n, &u_b);
    if (p < 0.0) {
        st = jt_error_set(err, JT_ERR_NOMEM, "candidates", "no memory for the exact U test");
        goto out;
    }

    jt_boot_rng_t rng_a, rng_b;
    jt_boot_rng_seed(&rng_a, seed, 0);
    jt_boot_rng_seed(&rng_b, seed, 1);
    double *boot_a = boot, *boot_b = boot + resamples;
    for (size_t k = 0; k < resamples; k++) {
        boot_a[k] = jt_boot_resample_median(sorted_a, a->n, &rng_a, counts);
        boot_b[k] = jt_boot_resample_median(sorted_b, b->n, &rng_b, counts);
    }
    memset(out, 0, sizeof *out);
    out->ratio = median_b / median_a;
    jt_boot_ratio_interval(boot_b, boot_a, 1, resamples, 1.0 - MEDIAN_CONFIDENCE,
                           boot + 2 * resamples, &out->ratio_low, &out->ratio_high);
    out->ratio_low = fmin(out->ratio_low, out->ratio);
    out->ratio_high = fmax(out->ratio_high, out->ratio);
    out->p_value = p;
    out->test = "mann_whitney_u";
    /* Cliff's delta: P(b > a) - P(b < a) = 2 U_b / (na nb) - 1; > 0 when B uses more. */
    out->effect_size = 2.0 * u_b / ((double)a->n * (double)b->n) - 1.0;
    out->effect_name = "cliffs_delta";
    out->b_uses_less = out->ratio_high < 1.0;
    out->b_uses_more = out->ratio_low > 1.0;
    st = JT_OK;
out:
    free(sorted_a);
    free(sorted_b);
    free(counts);
    free(boot);
    return st;
}
