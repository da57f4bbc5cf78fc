/* block_effects.c -- what a block did to all of its candidates alike, taken out of their trials. */
#include "block_effects.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define ROUNDS 3
/* A candidate votes in the factors only when its own trials agree this well (MAD / median):
 * a candidate near zero net energy, or one too noisy to say, would give its block-mates
 * factors of 0.2 or 6 in a small block. A slow stretch itself spreads a candidate's trials
 * (1.7x over half of them is 0.26), so the bound sits above what it does. */
#define VOTER_MAX_SPREAD 0.5

/* One trial of a block: its candidate and index among the candidate's trials, and its
 * candidate's ratio (measured / median; NAN when the candidate takes no part). */
typedef struct {
    size_t cand, k;
    double ratio;
} entry_t;

static int by_ratio(const void *a, const void *b)
{
    double x = ((const entry_t *)a)->ratio, y = ((const entry_t *)b)->ratio;
    bool nx = isnan(x), ny = isnan(y);
    if (nx || ny)
        return nx - ny; /* NAN last */
    return (x > y) - (x < y);
}

/* Median of the m sorted values s[0..m) without the one at position skip (skip >= m: none
 * left out). */
static double median_without(const entry_t *s, size_t m, size_t skip)
{
    size_t left = skip < m ? m - 1 : m;
    size_t lo = (left - 1) / 2, hi = left / 2;
    size_t a = lo < skip ? lo : lo + 1, b = hi < skip ? hi : hi + 1;
    return (s[a].ratio + s[b].ratio) / 2.0;
}

/* Summarise candidate s's finite trials, divided by their block factors when adjusted, into
 * st (v holds s->n values). False for a failed candidate, fewer than min_n trials, or no
 * memory. */
static bool trial_stats(const jt_batch_sample_t *s, bool adjusted, size_t min_n, double *v,
                        jt_stats_t *st)
{
    size_t n = 0;
    for (size_t k = 0; k < s->n; k++)
        if (isfinite(s->measured_joules[k]))
            v[n++] = s->measured_joules[k] / (adjusted ? s->block_factor[k] : 1.0);
    return !s->failed && n >= min_n && jt_stats_compute(v, n, st);
}

/* The candidates' medians of their adjusted trials; NAN for a candidate that takes no part in
 * the factors (failed, fewer than 2 trials, a median that is not positive, or trials spread
 * wider than VOTER_MAX_SPREAD). scratch holds the most trials. */
static void candidate_medians(const jt_batch_estimate_t *e, double *med, double *scratch)
{
    for (size_t c = 0; c < e->n_candidates; c++) {
        jt_stats_t st;
        bool ok = trial_stats(&e->candidates[c], true, 2, scratch, &st);
        med[c] = ok && st.median > 0 && st.mad / st.median <= VOTER_MAX_SPREAD ? st.median : NAN;
    }
}

/* One round: every trial's leave-one-out factor from its block (NAN: too few others), then
 * normalised by their median. Returns the trials that got a factor. */
static size_t one_round(jt_batch_estimate_t *e, const size_t *start, size_t n_blocks,
                        entry_t *entries, const double *med, double *factors, double *scratch)
{
    size_t t = 0, got = 0;
    for (size_t b = 0; b < n_blocks; b++) {
        entry_t *s = entries + start[b];
        size_t m = start[b + 1] - start[b];
        for (size_t i = 0; i < m; i++) {
            const jt_batch_sample_t *c = &e->candidates[s[i].cand];
            s[i].ratio = isnan(med[s[i].cand]) || !isfinite(c->measured_joules[s[i].k])
                             ? NAN
                             : c->measured_joules[s[i].k] / med[s[i].cand];
        }
        qsort(s, m, sizeof *s, by_ratio);
        size_t voters = 0;
        while (voters < m && !isnan(s[voters].ratio))
            voters++;
        for (size_t i = 0; i < m; i++) {
            size_t own = i < voters ? i : voters; /* a non-voter leaves nothing out */
            size_t others = own < voters ? voters - 1 : voters;
            double f = others >= JT_BLOCK_MIN_OTHERS ? median_without(s, voters, own) : NAN;
            factors[start[b] + i] = f;
            if (f > 0)
                scratch[got++] = f;
        }
        t += m;
    }
    double norm = got > 0 ? jt_stats_median(scratch, got) : 1.0;
    for (size_t i = 0; i < t; i++) {
        double f = factors[i] > 0 ? factors[i] / norm : 1.0;
        e->candidates[entries[i].cand].block_factor[entries[i].k] = f;
    }
    return got;
}

/* The candidates' pooled relative spread: the median over candidates (not failed, 3+ finite
 * trials, a positive median) of MAD / median of their trials, adjusted by the factors or as
 * measured; NAN when no candidate has one. scratch holds the most trials + the candidates. */
static double pooled_spread(const jt_batch_estimate_t *e, bool adjusted, double *scratch,
                            size_t most)
{
    double *rel = scratch + most;
    size_t m = 0;
    for (size_t c = 0; c < e->n_candidates; c++) {
        jt_stats_t st;
        if (trial_stats(&e->candidates[c], adjusted, 3, scratch, &st) && st.median > 0)
            rel[m++] = st.mad / st.median;
    }
    return m > 0 ? jt_stats_median(rel, m) : NAN;
}

jt_status_t jt_block_effects_remove(jt_batch_estimate_t *e, size_t n_blocks, jt_error_t *err)
{
    size_t total = 0, most = 1;
    for (size_t c = 0; c < e->n_candidates; c++) {
        jt_batch_sample_t *s = &e->candidates[c];
        for (size_t k = 0; k < s->n; k++)
            s->block_factor[k] = 1.0;
        total += s->n;
        most = s->n > most ? s->n : most;
    }
    e->blocks_adjusted = e->trials_adjusted = 0;
    e->spread_measured = e->spread_adjusted = NAN;
    e->factor_low = e->factor_high = 1.0;
    size_t *start = calloc(n_blocks + 2, sizeof *start);
    entry_t *entries = malloc((total + 1) * sizeof *entries);
    double *med = malloc((e->n_candidates + 1) * sizeof *med);
    double *factors = malloc((total + 1) * sizeof *factors);
    double *scratch = malloc((total + most + e->n_candidates + 1) * sizeof *scratch);
    jt_status_t st = JT_OK;
    if (start == NULL || entries == NULL || med == NULL || factors == NULL || scratch == NULL) {
        st = jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
        goto out;
    }
    /* the trials grouped by block (a counting sort on block_of) */
    for (size_t c = 0; c < e->n_candidates; c++)
        for (size_t k = 0; k < e->candidates[c].n; k++)
            if (e->candidates[c].block_of[k] < n_blocks)
                start[e->candidates[c].block_of[k] + 2]++;
    for (size_t b = 0; b < n_blocks; b++)
        start[b + 2] += start[b + 1];
    for (size_t c = 0; c < e->n_candidates; c++)
        for (size_t k = 0; k < e->candidates[c].n; k++)
            if (e->candidates[c].block_of[k] < n_blocks)
                entries[start[e->candidates[c].block_of[k] + 1]++] = (entry_t){c, k, NAN};
    size_t got = 0;
    for (int round = 0; round < ROUNDS; round++) {
        candidate_medians(e, med, scratch);
        got = one_round(e, start, n_blocks, entries, med, factors, scratch);
        if (got == 0)
            break;
    }
    e->spread_measured = pooled_spread(e, false, scratch, most);
    e->spread_adjusted = pooled_spread(e, true, scratch, most);
    /* Kept only where it narrows the candidates' spread: where the machine held still, a
     * factor from a few others adds their noise and takes out nothing. */
    if (got > 0 && !(e->spread_adjusted < e->spread_measured)) {
        for (size_t i = 0; i < start[n_blocks]; i++)
            e->candidates[entries[i].cand].block_factor[entries[i].k] = 1.0;
        got = 0;
    }
    for (size_t b = 0; got > 0 && b < n_blocks; b++) {
        bool adjusted = false;
        for (size_t i = start[b]; i < start[b + 1]; i++) {
            if (!(factors[i] > 0))
                continue;
            double f = e->candidates[entries[i].cand].block_factor[entries[i].k];
            e->factor_low = e->trials_adjusted == 0 || f < e->factor_low ? f : e->factor_low;
            e->factor_high = e->trials_adjusted == 0 || f > e->factor_high ? f : e->factor_high;
            e->trials_adjusted++;
            adjusted = true;
        }
        e->blocks_adjusted += adjusted;
    }
out:
    for (size_t c = 0; c < e->n_candidates; c++) {
        jt_batch_sample_t *s = &e->candidates[c];
        for (size_t k = 0; k < s->n; k++)
            s->joules[k] = s->measured_joules[k] / s->block_factor[k];
    }
    free(start);
    free(entries);
    free(med);
    free(factors);
    free(scratch);
    return st;
}
