/* rank_tiers.c -- tiers: the median order cut where neighbours, or a run's two ends, differ.
 *
 * Pure function of its arguments; safe from any thread. docs/ranking.md "Tiers" gives the
 * reasons for the test and the corrections.
 */
#include "rank_tiers.h"

#include <stdbool.h>
#include <stdlib.h>

#include "two_sample.h"

typedef struct {
    size_t first, last; /* positions in the order of the candidates with 2+ trials */
} run_t;

/* A run of neighbours none of which differ may still chain from one end to a far other end:
 * while its ends differ at the all-pairs level, cut it at its most significant gap. runs: room
 * for count + 1 entries (each pop that pushes two also cuts one gap, so the stack never holds
 * more than the runs there can be). */
static void cut_wide_runs(const jt_moments_t *m, size_t count, const double *gap_p, double level,
                          bool *cut, run_t *runs)
{
    size_t top = 0, start = 0;
    for (size_t q = 0; q < count; q++) {
        if (q + 1 == count || cut[q]) {
            runs[top++] = (run_t){start, q};
            start = q + 1;
        }
    }
    while (top > 0) {
        run_t r = runs[--top];
        if (r.last == r.first || !(jt_welch_p(&m[r.first], &m[r.last]) <= level))
            continue;
        size_t best = r.first;
        for (size_t g = r.first + 1; g < r.last; g++)
            if (gap_p[g] < gap_p[best])
                best = g;
        cut[best] = true;
        runs[top++] = (run_t){r.first, best};
        runs[top++] = (run_t){best + 1, r.last};
    }
}

jt_status_t jt_rank_assign_tiers(const jt_rank_sample_t *s, size_t n, const uint32_t *order,
                                 double alpha, jt_rank_entry_t *out, jt_error_t *err)
{
    /* The candidates with 2+ trials, in median order: only they can be tested. */
    size_t count = 0;
    for (size_t k = 0; k < n; k++)
        count += s[order[k]].n >= 2;
    size_t gaps = count > 0 ? count - 1 : 0;

    jt_moments_t *m = malloc((count + 1) * sizeof *m);
    double *gap_p = malloc((gaps + 1) * sizeof *gap_p);
    bool *cut = calloc(gaps + 1, sizeof *cut);
    run_t *runs = malloc((count + 1) * sizeof *runs);
    if (m == NULL || gap_p == NULL || cut == NULL || runs == NULL) {
        free(m);
        free(gap_p);
        free(cut);
        free(runs);
        return jt_error_set(err, JT_ERR_NOMEM, "", "no memory for the tiers of %zu candidates", n);
    }
    size_t q = 0;
    for (size_t k = 0; k < n; k++) {
        const jt_rank_sample_t *c = &s[order[k]];
        if (c->n >= 2)
            m[q++] = jt_moments_of(c->x, c->n);
    }
    for (size_t g = 0; g < gaps; g++)
        gap_p[g] = jt_welch_p(&m[g], &m[g + 1]);

    /* Half of alpha for the neighbours, half for the ends of runs: together at most alpha.
     * Bonferroni, not Holm, for the neighbours: once the real gaps are cut, Holm would spend
     * the whole half on the few gaps left, which are the identical candidates. */
    if (gaps > 0) {
        for (size_t g = 0; g < gaps; g++)
            cut[g] = gap_p[g] <= alpha / 2.0 / (double)gaps;
        double pairs = (double)count * (double)(count - 1) / 2.0;
        cut_wide_runs(m, count, gap_p, alpha / 2.0 / pairs, cut, runs);
    }

    int tier = 1;
    q = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        if (s[i].n >= 2) {
            if (q > 0 && cut[q - 1])
                tier++;
            q++;
        }
        out[i].tier = tier;
    }
    free(m);
    free(gap_p);
    free(cut);
    free(runs);
    return JT_OK;
}
