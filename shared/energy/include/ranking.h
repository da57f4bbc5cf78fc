/* ranking.h -- candidates ranked by energy per run, with intervals, rank intervals and tiers.
 *
 * Pure statistics (no I/O, no globals): the batch measurement (docs/ranking.md) and
 * POST /api/v1/compare call these on the net energies per run of each candidate's trials.
 * Every random draw comes from the seed given, so a result can be reproduced.
 */
#ifndef JT_RANKING_H
#define JT_RANKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define JT_RANK_BOOTSTRAP 2000 /* resamples behind every interval */
#define JT_RANK_ALPHA 0.05     /* family-wise error rate of the tier tests */

/* One candidate's sample: net joules per run, one value per trial (signed). */
typedef struct {
    const double *x;
    size_t n;
} jt_rank_sample_t;

typedef struct {
    size_t n;                   /* trials */
    double median;              /* of x */
    double ci_low, ci_high;     /* 95 % interval of the median */
    double half_width_percent;  /* (ci_high - ci_low) / 2 / |median| * 100; inf when median 0 */
    int rank;                   /* 1 = least energy, by median; ties share the lower rank */
    int rank_low, rank_high;    /* 95 % interval of the rank (bootstrap of the ranks) */
    int tier;                   /* 1 = least energy; one tier = indistinguishable */
    bool has_ratio;             /* a reference was given and both medians are > 0 */
    double ratio, ratio_low, ratio_high; /* median / reference median, 95 % interval */
} jt_rank_entry_t;

/* Rank the n candidates of s (each with n >= 1; fewer than 2 values gives an unbounded
 * interval: ci = [-inf, inf], which overlaps everything, a rank interval of 1..n, the tier of
 * the candidate before it, and an unbounded ratio). reference: index of the reference
 * candidate or -1 (its own ratio is exactly 1). Fills out[0..n); for finite input nothing in
 * out is NaN (infinities mark what is unbounded). Takes about 0.5 s of CPU for 1000
 * candidates of 10 trials and memory for 12 bytes x JT_RANK_BOOTSTRAP per candidate.
 * JT_ERR_INVALID (err->path "candidates[i]" or "reference") for n == 0, a NULL sample, a
 * candidate without trials or with a value that is not finite, a reference out of range;
 * JT_ERR_TOO_LARGE beyond 2^31 - 1 candidates or 2^32 - 1 trials; JT_ERR_NOMEM. On failure
 * out is left untouched. */
jt_status_t jt_rank_compute(const jt_rank_sample_t *s, size_t n, int reference, uint64_t seed,
                            jt_rank_entry_t *out, jt_error_t *err);

/* After jt_rank_compute: whether candidate i needs more trials to separate from its
 * neighbours in rank order or to reach the precision: its half-width is above
 * precision_percent, or its interval overlaps the interval of the candidate ranked just
 * above or just below it (order by median, ties by index). A precision_percent that is not
 * above 0 checks the neighbours only. False for i >= n or e NULL. Note that two identical
 * candidates overlap for ever: the caller's budget ends that. */
bool jt_rank_needs_more(const jt_rank_entry_t *e, size_t n, size_t i, double precision_percent);

/* After jt_rank_compute: whether candidate i's interval overlaps the interval of the candidate
 * ranked just above or just below it (order by median, ties by index): the neighbour half of
 * jt_rank_needs_more. False for i >= n or e NULL. */
bool jt_rank_overlaps_neighbour(const jt_rank_entry_t *e, size_t n, size_t i);

/* The trials candidate e would need for a half-width of precision_percent, projected from its
 * present half-width as n (half_width / precision)^2 (an interval of the median narrows as
 * 1 / sqrt(trials)); its present count when already there; infinity when the half-width is
 * infinite or precision_percent is not above 0. */
double jt_rank_trials_for_precision(const jt_rank_entry_t *e, double precision_percent);

/* Two candidates A and B (POST /api/v1/compare). */
typedef struct {
    double ratio, ratio_low, ratio_high; /* median(B) / median(A), 95 % bootstrap interval */
    double p_value;                      /* two-sided, H0: same distribution */
    const char *test;                    /* name of the test behind p_value */
    double effect_size;                  /* see effect_name */
    const char *effect_name;             /* e.g. "cliffs_delta" */
    bool b_uses_less;                    /* ratio_high < 1 (B uses less energy, significant) */
    bool b_uses_more;                    /* ratio_low > 1 */
} jt_compare_stats_t;

/* Compare samples a and b (each n >= 2, finite; medians must be > 0 for the ratio: otherwise
 * JT_ERR_INVALID with the reason, err->path "candidates[0]" for a, "candidates[1]" for b).
 * test and effect_name point to static strings. JT_ERR_NOMEM. On failure out is untouched. */
jt_status_t jt_rank_compare(const jt_rank_sample_t *a, const jt_rank_sample_t *b, uint64_t seed,
                            jt_compare_stats_t *out, jt_error_t *err);

#endif
