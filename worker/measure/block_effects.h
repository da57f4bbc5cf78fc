/* block_effects.h -- what a block did to all of its candidates alike, taken out of their trials.
 *
 * Private to worker/measure (batch_block.c's estimator). A batch measures its candidates in
 * blocks of a few seconds each; when the machine runs slower or faster for a while (a virtual
 * machine's host busy elsewhere, a frequency change), every trial of those blocks costs more or
 * less by the same factor. The factor of candidate c's trial in block b is the median, over the
 * other voting candidates measured in b (not failed, 2+ trials, a positive median, trials
 * within 50 % MAD / median of it), of their trial's ratio to their own median: its own trial
 * never enters it directly, so the candidate's own noise stays in its interval (in rounds 2
 * and 3 it reaches it only faintly, through the others' medians and the normalisation;
 * docs/ranking.md, "Block effects").
 */
#ifndef JT_BLOCK_EFFECTS_H
#define JT_BLOCK_EFFECTS_H

#include <stddef.h>

#include "batch_block.h"
#include "status.h"

/* Adjust e's trials for block effects: for every candidate, measured_joules[k] (net joules per
 * run as measured, in block block_of[k] < n_blocks) gives block_factor[k] and
 * joules[k] = measured_joules[k] / block_factor[k]. The factors are normalised so that their
 * median over the adjusted trials is 1 (the batch's typical conditions) and estimated in three
 * rounds (each round's candidate medians on the previous round's adjusted values). They are
 * kept only when they narrow the candidates' pooled spread (the median over candidates with 3+
 * trials of MAD / median): e->spread_measured and e->spread_adjusted hold both (NAN: no
 * candidate with 3 trials); otherwise every factor is 1. Fills e->blocks_adjusted (blocks
 * whose trials got a factor), e->trials_adjusted, e->factor_low and e->factor_high (1 and 1
 * when nothing was adjusted). JT_ERR_NOMEM (e unchanged but for factors of 1). */
jt_status_t jt_block_effects_remove(jt_batch_estimate_t *e, size_t n_blocks, jt_error_t *err);

#endif
