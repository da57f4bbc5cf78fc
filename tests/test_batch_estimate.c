/* test_batch_estimate.c -- unit tests of a batch's estimator (worker/measure/batch_block.c)
 * on built blocks with known idle power, harness overhead and candidate energy. */
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

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(exact_under_step),
    cmocka_unit_test(exact_under_ramp),
    cmocka_unit_test(incomplete_blocks_skipped),
};

JT_UNIT_MAIN(tests)
