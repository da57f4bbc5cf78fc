/* test_batch_estimate.c -- unit tests of a batch's estimator (worker/measure/batch_block.c,
 * block_effects.c) on built blocks with known idle power, harness overhead, candidate energy
 * and block effects. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "unit_main.h"

#include "batch_block.h"

#define N_BLOCKS 21
#define CANDIDATE_SECONDS 0.15 /* one trial's window */
#define NULL_SECONDS 0.12
#define ACTIVE_WATTS 10.0 /* the candidate's package power above idle */
#define NULL_JOULES_PER_RUN 0.002
#define RUNS 10
#define DRAM_WATTS 3.0

/* A block starting at t with idle package power idle_before / idle_after in its two windows
 * (0.1 s each) and true idle power idle_true over its trial and null window. */
static json_t *block_at(double t, double idle_before, double idle_after, double idle_true)
{
    json_t *b = json_object();
    json_object_set_new(b, "domains", json_pack("[ss]", "package", "dram"));
    json_object_set_new(b, "started_at", json_real(t));
    json_object_set_new(b, "seconds", json_real(1.0));
    json_object_set_new(b, "idle_before",
                        json_pack("{s:f,s:f,s:[f,f]}", "seconds", 0.1, "started_at", t, "watts",
                                  idle_before, DRAM_WATTS));
    json_object_set_new(b, "idle_after",
                        json_pack("{s:f,s:f,s:[f,f]}", "seconds", 0.1, "started_at", t + 0.9,
                                  "watts", idle_after, DRAM_WATTS));
    double null_gross = idle_true * NULL_SECONDS + NULL_JOULES_PER_RUN * RUNS;
    json_object_set_new(b, "null",
                        json_pack("{s:i,s:f,s:[f,f]}", "runs", RUNS, "seconds", NULL_SECONDS,
                                  "gross", null_gross, DRAM_WATTS * NULL_SECONDS));
    double gross = (idle_true + ACTIVE_WATTS) * CANDIDATE_SECONDS + NULL_JOULES_PER_RUN * RUNS;
    json_object_set_new(b, "trials",
                        json_pack("[{s:i,s:i,s:f,s:[f,f],s:f}]", "candidate", 0, "runs", RUNS,
                                  "seconds", CANDIDATE_SECONDS, "gross", gross,
                                  DRAM_WATTS * CANDIDATE_SECONDS, "cpu_seconds", 0.1));
    json_object_set_new(b, "failures", json_array());
    return b;
}

/* got must equal want up to rounding. */
static void assert_near(double got, double want)
{
    if (!(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want))))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* The candidate's true net energy per run. */
static double true_net(void)
{
    return ACTIVE_WATTS * CANDIDATE_SECONDS / RUNS;
}

/* Estimate blocks[0..n) and return candidate 0's trials (n of them) in *e. */
static void estimate(json_t **blocks, size_t n, jt_batch_estimate_t *e)
{
    jt_error_t err;
    assert_int_equal(jt_batch_estimate(blocks, n, 1, e, &err), JT_OK);
    assert_int_equal(e->blocks, n);
    assert_int_equal(e->candidates[0].n, n);
}

static void free_blocks(json_t **blocks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(blocks[i]);
}

/* Idle power steps by 2 W between blocks 10 and 11: each block's trial is charged its own
 * block's idle power, the overhead is the null's, and every trial's net energy is exact. */
static void exact_under_step(void **state)
{
    (void)state;
    json_t *blocks[N_BLOCKS];
    for (size_t i = 0; i < N_BLOCKS; i++) {
        double idle = i <= 10 ? 40.0 : 42.0;
        blocks[i] = block_at(1000.0 + (double)i, idle, idle, idle);
    }
    jt_batch_estimate_t e;
    estimate(blocks, N_BLOCKS, &e);
    assert_near(e.null_joules_per_run, NULL_JOULES_PER_RUN);
    for (size_t k = 0; k < N_BLOCKS; k++)
        assert_near(e.candidates[0].joules[k], true_net());
    assert_near(e.idle_watts_first, 40.0 + DRAM_WATTS);
    assert_near(e.idle_watts_last, 42.0 + DRAM_WATTS);
    jt_batch_estimate_free(&e);
    free_blocks(blocks, N_BLOCKS);
}

/* Idle power ramps by 0.05 W per block and within it (the closing window reads more than
 * the opening one): the mean of a block's two windows is its idle power, exactly. */
static void exact_under_ramp(void **state)
{
    (void)state;
    json_t *blocks[N_BLOCKS];
    for (size_t i = 0; i < N_BLOCKS; i++) {
        double idle = 40.0 + 0.05 * (double)i;
        blocks[i] = block_at(1000.0 + (double)i, idle - 0.025, idle + 0.025, idle);
    }
    jt_batch_estimate_t e;
    estimate(blocks, N_BLOCKS, &e);
    for (size_t k = 0; k < N_BLOCKS; k++)
        assert_near(e.candidates[0].joules[k], true_net());
    assert_near(e.idle_watts_first, 40.0 + DRAM_WATTS);
    jt_batch_estimate_free(&e);
    free_blocks(blocks, N_BLOCKS);
}

/* A block without its closing idle window (as a worker leaves none) is skipped, a failure is
 * reported, and nothing else moves. */
static void incomplete_blocks_skipped(void **state)
{
    (void)state;
    json_t *blocks[3];
    for (size_t i = 0; i < 3; i++)
        blocks[i] = block_at(1000.0 + (double)i, 40.0, 40.0, 40.0);
    json_object_del(blocks[1], "idle_after");
    json_array_append_new(json_object_get(blocks[2], "failures"),
                          json_pack("{s:i,s:s,s:s}", "candidate", 1, "error_type", "WrongAnswer",
                                    "error_message", "outputs changed"));
    jt_batch_estimate_t e;
    jt_error_t err;
    assert_int_equal(jt_batch_estimate(blocks, 3, 2, &e, &err), JT_OK);
    assert_int_equal(e.blocks, 2);
    assert_int_equal(e.candidates[0].n, 2);
    assert_true(e.candidates[1].failed);
    assert_string_equal(e.candidates[1].error_type, "WrongAnswer");
    assert_near(e.measurement_seconds, 3.0);
    jt_batch_estimate_free(&e);
    free_blocks(blocks, 3);
}

/* Set candidate c's trial in blk to cost ratio x its active power above idle. */
static void set_ratio(json_t *blk, size_t c, const double *active, double ratio)
{
    json_t *t = json_array_get(json_object_get(blk, "trials"), c);
    json_array_set_new(
        json_object_get(t, "gross"), 0,
        json_real((40.0 + active[c] * ratio) * CANDIDATE_SECONDS + NULL_JOULES_PER_RUN * RUNS));
}

/* A block at t measuring candidates 0..n) whose package power above idle (40 W) is
 * active[c] x speed x noise(c, b): the machine runs `speed` times slower in this block. */
static json_t *block_of(double t, size_t b, size_t n, const double *active, double speed)
{
    json_t *blk = block_at(t, 40.0, 40.0, 40.0);
    json_t *trials = json_array();
    for (size_t c = 0; c < n; c++) {
        double noise = 1.0 + 0.02 * sin((double)(7 * c + 3 * b));
        double gross =
            (40.0 + active[c] * speed * noise) * CANDIDATE_SECONDS + NULL_JOULES_PER_RUN * RUNS;
        json_array_append_new(trials, json_pack("{s:i,s:i,s:f,s:[f,f]}", "candidate", (int)c,
                                                "runs", RUNS, "seconds", CANDIDATE_SECONDS, "gross",
                                                gross, DRAM_WATTS * CANDIDATE_SECONDS));
    }
    json_object_set_new(blk, "trials", trials);
    return blk;
}

#define FX_CANDIDATES 8
#define FX_BLOCKS 12

/* The FX_CANDIDATES candidates' active watts (2, 3, ... W) and FX_BLOCKS blocks of all of
 * them, blocks slow_from..slow_to (inclusive) 1.7x slower; slow_from > slow_to: none. */
static void fx_blocks(double *active, json_t **blocks, size_t slow_from, size_t slow_to)
{
    for (size_t c = 0; c < FX_CANDIDATES; c++)
        active[c] = 2.0 + (double)c;
    for (size_t b = 0; b < FX_BLOCKS; b++)
        blocks[b] = block_of(1000.0 + (double)b, b, FX_CANDIDATES, active,
                             b >= slow_from && b <= slow_to ? 1.7 : 1.0);
}

/* Estimate the FX_BLOCKS blocks of FX_CANDIDATES candidates into *e. */
static void fx_estimate(json_t **blocks, jt_batch_estimate_t *e)
{
    jt_error_t err;
    assert_int_equal(jt_batch_estimate(blocks, FX_BLOCKS, FX_CANDIDATES, e, &err), JT_OK);
}

/* Candidate c's true net energy per run at speed 1 without noise. */
static double net_of(const double *active, size_t c)
{
    return active[c] * CANDIDATE_SECONDS / RUNS;
}

/* Blocks 5-7 run 1.7x slower for every candidate: the block factors take that out, the
 * measured values keep it. */
static void block_effect_taken_out(void **state)
{
    (void)state;
    double active[FX_CANDIDATES];
    for (size_t c = 0; c < FX_CANDIDATES; c++)
        active[c] = 2.0 + (double)c;
    json_t *blocks[FX_BLOCKS];
    for (size_t b = 0; b < FX_BLOCKS; b++)
        blocks[b] =
            block_of(1000.0 + (double)b, b, FX_CANDIDATES, active, b >= 5 && b <= 7 ? 1.7 : 1.0);
    jt_batch_estimate_t e;
    fx_estimate(blocks, &e);
    assert_int_equal(e.blocks_adjusted, FX_BLOCKS);
    assert_int_equal(e.trials_adjusted, FX_CANDIDATES * FX_BLOCKS);
    assert_true(e.factor_high > 1.6 && e.factor_high < 1.8);
    assert_true(e.factor_low > 0.95);
    for (size_t c = 0; c < FX_CANDIDATES; c++) {
        const jt_batch_sample_t *s = &e.candidates[c];
        assert_int_equal(s->n, FX_BLOCKS);
        for (size_t k = 0; k < s->n; k++) {
            double want = net_of(active, c);
            if (fabs(s->joules[k] / want - 1.0) > 0.05)
                fail_msg("candidate %zu, block %zu: %g J per run, want %g", c, s->block_of[k],
                         s->joules[k], want);
            double slow = s->block_of[k] >= 5 && s->block_of[k] <= 7 ? 1.7 : 1.0;
            assert_true(fabs(s->measured_joules[k] / (want * slow) - 1.0) < 0.03);
            assert_near(s->joules[k] * s->block_factor[k], s->measured_joules[k]);
        }
    }
    jt_batch_estimate_free(&e);
    free_blocks(blocks, FX_BLOCKS);
}

/* One candidate's own outlier trial stays an outlier (its factor comes from the others only)
 * and moves no other candidate's trial of that block; blocks 7-9 run 1.7x slower, so that the
 * factors are kept. */
static void own_outlier_kept(void **state)
{
    (void)state;
    double active[FX_CANDIDATES];
    json_t *blocks[FX_BLOCKS];
    fx_blocks(active, blocks, 7, 9);
    double own = 1.5 * (1.0 + 0.02 * sin((double)(7 * 3 + 3 * 4)));
    set_ratio(blocks[4], 3, active, own);
    jt_batch_estimate_t e;
    fx_estimate(blocks, &e);
    assert_int_equal(e.trials_adjusted, FX_CANDIDATES * FX_BLOCKS);
    for (size_t c = 0; c < FX_CANDIDATES; c++) {
        const jt_batch_sample_t *s = &e.candidates[c];
        for (size_t k = 0; k < s->n; k++) {
            double ratio = s->joules[k] / net_of(active, c);
            if (c == 3 && s->block_of[k] == 4) {
                /* its factor is the others' in block 4 only: all within 2 % of 1 */
                assert_true(fabs(s->block_factor[k] - 1.0) < 0.03);
                assert_true(ratio > 1.45);
            } else if (fabs(ratio - 1.0) > 0.05) {
                fail_msg("candidate %zu, block %zu moved: %g", c, s->block_of[k], ratio);
            }
        }
    }
    /* The others' factors in block 4 have the outlier among their voters, candidate 3's has
     * not: none is below it, and the one that leaves out the lowest ratio is above it (a
     * factor that took in the candidate's own trial would be the same for all 8). */
    double own_factor = e.candidates[3].block_factor[4], highest = 0;
    for (size_t c = 0; c < FX_CANDIDATES; c++) {
        double f = e.candidates[c].block_factor[4];
        assert_int_equal(e.candidates[c].block_of[4], 4);
        assert_true(f >= own_factor - 1e-12);
        highest = f > highest ? f : highest;
    }
    assert_true(highest > own_factor + 1e-6);
    jt_batch_estimate_free(&e);
    free_blocks(blocks, FX_BLOCKS);
}

/* A trial's factor is the median of the other candidates' ratios only: candidate 0 at 1.03x
 * in block 2, the others there at 0.97..1.05x (median 1.00, 1.005 with candidate 0's own
 * trial), every other trial exact, blocks 6-11 1.7x slower (so that the factors are kept). Its
 * value stays 1.03x its value in block 0, its own noise kept in its interval. */
static void own_trial_not_in_factor(void **state)
{
    (void)state;
    double active[FX_CANDIDATES];
    json_t *blocks[FX_BLOCKS];
    fx_blocks(active, blocks, 1, 0);
    for (size_t b = 0; b < FX_BLOCKS; b++)
        for (size_t c = 0; c < FX_CANDIDATES; c++)
            set_ratio(blocks[b], c, active, b >= 6 ? 1.7 : 1.0);
    static const double others[FX_CANDIDATES - 1] = {0.97, 0.98, 0.99, 1.00, 1.01, 1.02, 1.05};
    set_ratio(blocks[2], 0, active, 1.03);
    for (size_t c = 1; c < FX_CANDIDATES; c++)
        set_ratio(blocks[2], c, active, others[c - 1]);
    jt_batch_estimate_t e;
    fx_estimate(blocks, &e);
    const jt_batch_sample_t *s = &e.candidates[0];
    assert_int_equal(s->block_of[0], 0);
    assert_int_equal(s->block_of[2], 2);
    assert_int_equal(e.trials_adjusted, FX_CANDIDATES * FX_BLOCKS);
    if (fabs(s->joules[2] / s->joules[0] - 1.03) > 1e-9)
        fail_msg("candidate 0 in block 2: %.12g x its block-0 value, want 1.03 (factors %.12g, "
                 "%.12g)",
                 s->joules[2] / s->joules[0], s->block_factor[2], s->block_factor[0]);
    jt_batch_estimate_free(&e);
    free_blocks(blocks, FX_BLOCKS);
}

/* Where the machine held still the factors would only add the others' noise: they are not
 * kept, and every trial keeps its measured value. */
static void quiet_machine_unadjusted(void **state)
{
    (void)state;
    double active[FX_CANDIDATES];
    json_t *blocks[FX_BLOCKS];
    fx_blocks(active, blocks, 1, 0);
    jt_batch_estimate_t e;
    fx_estimate(blocks, &e);
    assert_true(e.spread_measured > 0.001);
    assert_false(e.spread_adjusted < e.spread_measured);
    assert_int_equal(e.blocks_adjusted, 0);
    for (size_t c = 0; c < FX_CANDIDATES; c++)
        for (size_t k = 0; k < e.candidates[c].n; k++)
            assert_near(e.candidates[c].joules[k], e.candidates[c].measured_joules[k]);
    jt_batch_estimate_free(&e);
    free_blocks(blocks, FX_BLOCKS);
}

/* A candidate near zero net energy, its trials swinging from -2x to +4x its median, does not
 * vote. Blocks 0-7 hold the 8 steady candidates (blocks 4-7 1.7x slower, so that the factors
 * are kept); blocks 8-11 hold candidates 0 and 1 and the noisy one (blocks 10-11 slower). As
 * a voter it would have given candidates 0 and 1 factors of 2.5 or 0.2 there. */
static void noisy_candidate_does_not_vote(void **state)
{
    (void)state;
    static const double swings[4] = {-2.0, 4.0, 3.5, -1.5};
    double active[FX_CANDIDATES + 1];
    json_t *blocks[FX_BLOCKS];
    fx_blocks(active, blocks, 4, 7);
    active[FX_CANDIDATES] = 0.5;
    for (size_t b = 8; b < FX_BLOCKS; b++) {
        json_decref(blocks[b]);
        blocks[b] = block_of(1000.0 + (double)b, b, FX_CANDIDATES + 1, active, b >= 10 ? 1.7 : 1.0);
        json_t *trials = json_object_get(blocks[b], "trials");
        set_ratio(blocks[b], FX_CANDIDATES, active, swings[b - 8]);
        /* keep candidates 0, 1 and the noisy one */
        for (size_t c = FX_CANDIDATES - 1; c >= 2; c--)
            json_array_remove(trials, c);
    }
    jt_batch_estimate_t e;
    jt_error_t err;
    assert_int_equal(jt_batch_estimate(blocks, FX_BLOCKS, FX_CANDIDATES + 1, &e, &err), JT_OK);
    assert_int_equal(e.candidates[FX_CANDIDATES].n, 4);
    assert_true(e.trials_adjusted > 0);
    for (size_t c = 0; c <= FX_CANDIDATES; c++)
        for (size_t k = 0; k < e.candidates[c].n; k++)
            if (!(e.candidates[c].block_factor[k] > 0.5 && e.candidates[c].block_factor[k] < 2.0))
                fail_msg("candidate %zu, block %zu: factor %g", c, e.candidates[c].block_of[k],
                         e.candidates[c].block_factor[k]);
    jt_batch_estimate_free(&e);
    free_blocks(blocks, FX_BLOCKS);
}

/* With fewer than JT_BLOCK_MIN_OTHERS other candidates in a block (a comparison of two)
 * nothing is adjusted: the slow blocks (half of them, enough for the factors to be kept if
 * there were any) stay in the trials as measured. */
static void small_blocks_unadjusted(void **state)
{
    (void)state;
    double active[2] = {2.0, 3.0};
    json_t *blocks[6];
    for (size_t b = 0; b < 6; b++)
        blocks[b] = block_of(1000.0 + (double)b, b, 2, active, b >= 2 && b <= 4 ? 1.7 : 1.0);
    jt_batch_estimate_t e;
    jt_error_t err;
    assert_int_equal(jt_batch_estimate(blocks, 6, 2, &e, &err), JT_OK);
    assert_int_equal(e.blocks_adjusted, 0);
    assert_int_equal(e.trials_adjusted, 0);
    assert_near(e.factor_low, 1.0);
    assert_near(e.factor_high, 1.0);
    for (size_t c = 0; c < 2; c++)
        for (size_t k = 0; k < e.candidates[c].n; k++) {
            assert_near(e.candidates[c].joules[k], e.candidates[c].measured_joules[k]);
            assert_near(e.candidates[c].block_factor[k], 1.0);
        }
    jt_batch_estimate_free(&e);
    free_blocks(blocks, 6);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(exact_under_step),          cmocka_unit_test(exact_under_ramp),
    cmocka_unit_test(incomplete_blocks_skipped), cmocka_unit_test(block_effect_taken_out),
    cmocka_unit_test(own_outlier_kept),          cmocka_unit_test(own_trial_not_in_factor),
    cmocka_unit_test(quiet_machine_unadjusted),  cmocka_unit_test(noisy_candidate_does_not_vote),
    cmocka_unit_test(small_blocks_unadjusted),
};

JT_UNIT_MAIN(tests)
