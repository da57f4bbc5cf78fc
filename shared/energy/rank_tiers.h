/* rank_tiers.h -- private to shared/energy: tiers of statistically indistinguishable candidates. */
#ifndef JT_RANK_TIERS_H
#define JT_RANK_TIERS_H

#include <stddef.h>
#include <stdint.h>

#include "ranking.h"
#include "status.h"

/* Set out[i].tier for the n candidates of s, given order[0..n): the candidate indices sorted
 * by median (ties by index). Tiers are 1, 2, ... along that order, a new one where the
 * candidates before and after differ significantly (docs/ranking.md "Tiers"): adjacent
 * candidates by Welch's test with Bonferroni's correction, and runs whose ends differ by the same
 * test corrected over every pair, cut at their most significant gap.
 * Candidates with one trial cannot be told from anything: they take the tier of the candidate
 * before them in order (the first tier when none). JT_ERR_NOMEM leaves the tiers unset. */
jt_status_t jt_rank_assign_tiers(const jt_rank_sample_t *s, size_t n, const uint32_t *order,
                                 double alpha, jt_rank_entry_t *out, jt_error_t *err);

#endif
