/* batch_measure.c -- a batch's measurement on the job thread: blocks under the lease, adaptive
 * trials, the ranking.
 */
#include "batch_work.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_block.h"
#include "batch_state.h"
#include "clock.h"
#include "log.h"
#include "ranking.h"
#include "stats.h"

#define INITIAL_TRIALS 3    /* every correct candidate's first pass */
#define BLOCK_CANDIDATES 8  /* candidates per block: one lease, two idle windows, one null */
#define MAX_BLOCKS 100000   /* stored blocks read back, at most */
#define REWARM_AFTER_S 10.0 /* a pause this long between blocks earns one warm-up trial */
#define FIRST_WARMUP_MAX 2  /* warm-up trials before this delivery's first block, at most */
/* A candidate apart from its neighbours but short of the precision gets no further trial once
 * it has PROJECT_AFTER trials and its projected need (jt_rank_trials_for_precision) exceeds
 * the trial cap by OUT_OF_REACH: its trials would use the socket without reaching the
 * precision (the noisiest candidates used most of a batch's socket time for nothing). */
#define PROJECT_AFTER 10
#define OUT_OF_REACH 1.5

typedef struct {
    jt_batch_delivery_t *d;
    json_t *rec;         /* the record as last read or written */
    size_t n;            /* candidates */
    bool *correct;       /* passed the gate */
    jt_job_t problem;    /* owned: the problem with the first correct candidate's code */
    jt_job_t *views;     /* per candidate: the problem's fields with its code (borrowed) */
    char **codes;        /* owned, per correct candidate */
    unsigned long *runs; /* runs per trial found by autorange, 0 before */
    unsigned long null_runs;
    json_t **blocks; /* owned: the stored blocks, in order */
    size_t n_blocks;
    uint64_t seed;
    double budget_s, precision;
    size_t capped;       /* candidates the last plan left out only because of the trial cap */
    size_t out_of_reach; /* candidates apart but left out: the precision is out of reach */
    char stop_reason[224];
} batch_run_t;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* xorshift64*: the shuffles of the blocks, reproducible from the batch id. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ULL;
}

static void run_free(batch_run_t *b)
{
    for (size_t i = 0; i < b->n_blocks; i++)
        json_decref(b->blocks[i]);
    free(b->blocks);
    for (size_t i = 0; b->codes != NULL && i < b->n; i++)
        free(b->codes[i]);
    free(b->codes);
    free(b->views);
    free(b->runs);
    free(b->correct);
    jt_job_cleanup(&b->problem);
    json_decref(b->rec);
}

static jt_status_t add_block(batch_run_t *b, json_t *block, jt_error_t *err)
{
    json_t **grown = realloc(b->blocks, (b->n_blocks + 1) * sizeof *grown);
    if (grown == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    b->blocks = grown;
    b->blocks[b->n_blocks++] = block;
    size_t k;
    json_t *t;
    json_array_foreach(json_object_get(block, "trials"), k, t)
    {
        json_int_t i = json_integer_value(json_object_get(t, "candidate"));
        if (i >= 0 && (size_t)i < b->n)
            b->runs[i] = (unsigned long)json_integer_value(json_object_get(t, "runs"));
    }
    json_int_t nr = json_integer_value(json_object_get(json_object_get(block, "null"), "runs"));
    if (nr > 0)
        b->null_runs = (unsigned long)nr;
    return JT_OK;
}

/* Read the record, the problem, the correct candidates' code and the blocks stored so far. */
static jt_status_t load(batch_run_t *b, jt_error_t *err)
{
    jt_bus_t *bus = b->d->ctx->bus;
    const char *id = b->d->batch_id;
    jt_status_t s = jt_batch_record_get(bus, id, &b->rec, NULL, err);
    if (s != JT_OK)
        return s;
    json_t *cands = json_object_get(b->rec, "candidates");
    b->n = json_array_size(cands);
    b->correct = calloc(b->n + 1, sizeof *b->correct);
    b->views = calloc(b->n + 1, sizeof *b->views);
    b->codes = calloc(b->n + 1, sizeof *b->codes);
    b->runs = calloc(b->n + 1, sizeof *b->runs);
    if (!b->correct || !b->views || !b->codes || !b->runs)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    long first = -1;
    for (size_t i = 0; i < b->n; i++) {
        const char *state = json_string_value(json_object_get(json_array_get(cands, i), "state"));
        b->correct[i] = state != NULL && strcmp(state, "correct") == 0;
        if (b->correct[i] && first < 0)
            first = (long)i;
    }
    if (first < 0)
        return jt_error_set(err, JT_ERR_INVALID, "", "batch %s has no correct candidate", id);
    s = jt_batch_load_job(bus, id, (size_t)first, b->rec, &b->problem, err);
    for (size_t i = 0; s == JT_OK && i < b->n; i++) {
        if (!b->correct[i])
            continue;
        size_t len = 0;
        s = jt_batch_load_code(bus, id, i, &b->codes[i], &len, err);
        b->views[i] = b->problem; /* borrowed fields: never cleaned up */
        b->views[i].candidate_code = b->codes[i];
        b->views[i].candidate_code_len = len;
        b->views[i].candidate_id =
            (char *)json_string_value(json_object_get(json_array_get(cands, i), "candidate_id"));
        b->views[i].task_id = NULL;
    }
    for (size_t k = 0; s == JT_OK && k < MAX_BLOCKS; k++) {
        json_t *block = NULL;
        jt_status_t g = jt_batch_json_get(bus, id, "block", k, &block, err);
        if (g == JT_ERR_MISSING)
            break;
        if (g != JT_OK)
            return g;
        s = add_block(b, block, err);
    }
    b->seed = fnv1a(id);
    b->budget_s = json_number_value(json_object_get(b->rec, "max_measurement_seconds"));
    b->precision = json_number_value(json_object_get(b->rec, "target_precision_percent"));
    if (!(b->budget_s > 0))
        b->budget_s = JT_DEFAULT_BATCH_MEASUREMENT_SECONDS;
    if (!(b->precision > 0))
        b->precision = JT_DEFAULT_TARGET_PRECISION_PERCENT;
    return s;
}

/* The samples of the candidates still in the ranking: correct, not failed in a block, with
 * trials. idx[k] is the candidate of sample k. */
static size_t ranked_samples(const batch_run_t *b, const jt_batch_estimate_t *e,
                             jt_rank_sample_t *samples, size_t *idx)
{
    size_t m = 0;
    for (size_t i = 0; i < b->n; i++) {
        const jt_batch_sample_t *c = &e->candidates[i];
        if (!b->correct[i] || c->failed || c->n == 0)
            continue;
        samples[m] = (jt_rank_sample_t){c->joules, c->n};
        idx[m++] = i;
    }
    return m;
}

/* Which candidates get a trial in the next pass: the first pass to INITIAL_TRIALS each, then
 * those whose interval is too wide or overlaps a neighbour's, below JT_MAX_TRIALS, except a
 * candidate apart from its neighbours whose precision is out of reach (PROJECT_AFTER). */
static jt_status_t plan(batch_run_t *b, size_t *todo, size_t *n_todo, jt_error_t *err)
{
    jt_batch_estimate_t e;
    jt_status_t s = jt_batch_estimate(b->blocks, b->n_blocks, b->n, &e, err);
    if (s != JT_OK)
        return s;
    *n_todo = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->correct[i] && !e.candidates[i].failed && e.candidates[i].n < INITIAL_TRIALS)
            todo[(*n_todo)++] = i;
    if (*n_todo > 0) {
        jt_batch_estimate_free(&e);
        return JT_OK;
    }
    jt_rank_sample_t *samples = calloc(b->n + 1, sizeof *samples);
    size_t *idx = calloc(b->n + 1, sizeof *idx);
    jt_rank_entry_t *entries = calloc(b->n + 1, sizeof *entries);
    if (samples == NULL || idx == NULL || entries == NULL)
        s = jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    size_t m = s == JT_OK ? ranked_samples(b, &e, samples, idx) : 0;
    if (m > 0)
        s = jt_rank_compute(samples, m, -1, b->seed, entries, err);
    b->capped = 0;
    b->out_of_reach = 0;
    for (size_t k = 0; s == JT_OK && k < m; k++) {
        if (!jt_rank_needs_more(entries, m, k, b->precision))
            continue;
        size_t have = e.candidates[idx[k]].n;
        if (have >= JT_MAX_TRIALS)
            b->capped++; /* not apart, or not precise, at the trial cap */
        else if (have >= PROJECT_AFTER && !jt_rank_overlaps_neighbour(entries, m, k) &&
                 jt_rank_trials_for_precision(&entries[k], b->precision) >
                     OUT_OF_REACH * JT_MAX_TRIALS)
            b->out_of_reach++;
        else
            todo[(*n_todo)++] = idx[k];
    }
    free(samples);
    free(idx);
    free(entries);
    jt_batch_estimate_free(&e);
    return s;
}

static double measured_seconds(const batch_run_t *b)
{
    double sum = 0;
    for (size_t i = 0; i < b->n_blocks; i++)
        sum += json_number_value(json_object_get(b->blocks[i], "seconds"));
    return sum;
}

typedef struct {
    size_t blocks, trials;
    double seconds;
    double progress;
} progress_edit_t;

static int edit_progress(json_t *rec, void *ctx)
{
    const progress_edit_t *p = ctx;
    if (jt_batch_record_final(rec))
        return 0;
    json_object_set_new(rec, "status", json_string("measuring"));
    json_object_set_new(rec, "blocks", json_integer((json_int_t)p->blocks));
    json_object_set_new(rec, "trials", json_integer((json_int_t)p->trials));
    json_object_set_new(rec, "measurement_seconds", json_real(p->seconds));
    json_object_set_new(rec, "progress", json_real(p->progress));
    return 1;
}

static size_t total_trials(const batch_run_t *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n_blocks; i++)
        n += json_array_size(json_object_get(b->blocks[i], "trials"));
    return n;
}

/* Whether the delivery must stop (cancel, shutdown, lost lease). */
static int should_stop(void *ctx)
{
    batch_run_t *b = ctx;
    return jt_runner_slot_abort_bits(b->d->ctx->slot) != 0;
}

/* One block: lease, measure, release, store, record. JT_ERR_PROTOCOL: aborted. */
static jt_status_t one_block(batch_run_t *b, const size_t *cands, size_t n, int warmup,
                             jt_error_t *err)
{
    const jt_job_context_t *c = b->d->ctx;
    jt_block_slot_t slots[BLOCK_CANDIDATES];
    memset(slots, 0, sizeof slots);
    for (size_t k = 0; k < n; k++) {
        slots[k].candidate = cands[k];
        slots[k].job = &b->views[cands[k]];
        slots[k].runs = b->runs[cands[k]];
    }
    jt_runner_t *r = jt_runner_slot_runner(c->slot);
    if (r == NULL) {
        jt_status_t s = jt_runner_spawn(c->cfg, &r, err);
        if (s != JT_OK)
            return s;
        jt_runner_slot_swap(c->slot, r);
    }
    jt_status_t s =
        jt_lease_acquire(c->lease, b->d->batch_id, -1, jt_runner_slot_should_stop, c->slot, err);
    if (s != JT_OK)
        return jt_error_set(err, JT_ERR_PROTOCOL, "", "stopped while waiting for the lease");
    jt_trials_env_t env;
    const char *cpu_source = NULL;
    jt_measurer_env(c->ms, r, &env, &cpu_source);
    bool aborted = false;
    json_t *block = NULL;
    unsigned long null_runs = b->null_runs;
    s = jt_block_measure(r, &env, slots, n, &null_runs, warmup, should_stop, b, &aborted, &block,
                         err);
    jt_error_t lerr;
    jt_status_t ls = jt_lease_release(c->lease, &lerr);
    if (s != JT_OK) {
        jt_runner_t *fresh = NULL;
        jt_error_t serr;
        if (!jt_runner_slot_stopping(c->slot) && jt_runner_spawn(c->cfg, &fresh, &serr) != JT_OK)
            fresh = NULL;
        jt_runner_slot_swap(c->slot, fresh);
        return s;
    }
    if (aborted || should_stop(b) || ls == JT_ERR_PROTOCOL) {
        json_decref(block);
        return jt_error_set(err, JT_ERR_PROTOCOL, "", "the block was aborted");
    }
    json_object_set_new(block, "block", json_integer((json_int_t)b->n_blocks));
    json_object_set_new(block, "worker", json_string(c->worker_id));
    if (cpu_source != NULL)
        json_object_set_new(block, "estimate_cpu_source", json_string(cpu_source));
    s = jt_batch_json_put(c->bus, b->d->batch_id, "block", b->n_blocks, block, true, err);
    if (s == JT_ERR_EXISTS) { /* another delivery stored this block number: read it back */
        json_decref(block);
        block = NULL;
        s = jt_batch_json_get(c->bus, b->d->batch_id, "block", b->n_blocks, &block, err);
    }
    if (s != JT_OK) {
        json_decref(block);
        return s;
    }
    s = add_block(b, block, err);
    if (s != JT_OK)
        return s;
    progress_edit_t p = {b->n_blocks, total_trials(b), measured_seconds(b),
                         fmin(0.99, measured_seconds(b) / b->budget_s)};
    json_t *now = NULL;
    if (jt_batch_record_update(c->bus, b->d->batch_id, edit_progress, &p, &now, &lerr) == JT_OK) {
        jt_batch_publish(c->bus, now);
        json_decref(b->rec);
        b->rec = now;
    }
    return JT_OK;
}

/* Why nothing needs a trial: every candidate apart and precise, or some left at the trial cap
 * or out of reach of the precision. */
static void stop_reason(batch_run_t *b)
{
    char *at = b->stop_reason;
    size_t room = sizeof b->stop_reason;
    if (b->capped == 0 && b->out_of_reach == 0) {
        snprintf(at, room, "separated");
        return;
    }
    int w = 0;
    if (b->capped > 0)
        w = snprintf(at, room, "max_trials_reached (%zu candidates at %d trials)", b->capped,
                     JT_MAX_TRIALS);
    if (b->out_of_reach > 0 && w >= 0 && (size_t)w < room)
        snprintf(at + w, room - (size_t)w,
                 "%sprecision_out_of_reach (%zu candidates apart from their neighbours would "
                 "need over %.0f trials)",
                 w > 0 ? "; " : "", b->out_of_reach, OUT_OF_REACH * JT_MAX_TRIALS);
}

/* Measure until nothing needs a trial, or the budget is spent. */
static jt_status_t measure_all(batch_run_t *b, jt_error_t *err)
{
    size_t *todo = calloc(b->n + 1, sizeof *todo);
    if (todo == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    jt_status_t s = JT_OK;
    double last_end = 0;
    bool first = true;
    uint64_t rng = b->seed ^ (uint64_t)b->n_blocks;
    for (;;) {
        size_t n_todo = 0;
        s = plan(b, todo, &n_todo, err);
        if (s != JT_OK)
            break;
        if (n_todo == 0) {
            stop_reason(b);
            break;
        }
        for (size_t k = n_todo; k > 1; k--) { /* Fisher-Yates */
            size_t j = (size_t)(next_random(&rng) % k);
            size_t t = todo[k - 1];
            todo[k - 1] = todo[j];
            todo[j] = t;
        }
        for (size_t at = 0; s == JT_OK && at < n_todo; at += BLOCK_CANDIDATES) {
            if (measured_seconds(b) >= b->budget_s) {
                snprintf(b->stop_reason, sizeof b->stop_reason, "budget_spent (%.0f s)",
                         b->budget_s);
                free(todo);
                return JT_OK;
            }
            size_t n = n_todo - at < BLOCK_CANDIDATES ? n_todo - at : BLOCK_CANDIDATES;
            int warmup =
                first ? (b->problem.warmup_trials < FIRST_WARMUP_MAX ? b->problem.warmup_trials
                                                                     : FIRST_WARMUP_MAX)
                      : (jt_clock_now() - last_end > REWARM_AFTER_S ? 1 : 0);
            s = one_block(b, todo + at, n, warmup, err);
            first = false;
            last_end = jt_clock_now();
        }
        if (s != JT_OK)
            break;
    }
    free(todo);
    return s;
}

/* ---- the ranking ------------------------------------------------------------------- */

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static double median_finite(const double *x, size_t n)
{
    double *y = malloc((n ? n : 1) * sizeof *y);
    size_t m = 0;
    for (size_t i = 0; y != NULL && i < n; i++)
        if (isfinite(x[i]))
            y[m++] = x[i];
    double v = m > 0 ? jt_stats_median(y, m) : NAN;
    free(y);
    return v;
}

static json_t *entry_json(const batch_run_t *b, size_t i, const jt_batch_sample_t *c,
                          const jt_rank_entry_t *e)
{
    json_t *cands = json_object_get(b->rec, "candidates");
    json_t *o = json_object();
    json_object_set(o, "candidate_id", json_object_get(json_array_get(cands, i), "candidate_id"));
    json_object_set_new(o, "rank", json_integer(e->rank));
    json_object_set_new(o, "rank_low", json_integer(e->rank_low));
    json_object_set_new(o, "rank_high", json_integer(e->rank_high));
    json_object_set_new(o, "tier", json_integer(e->tier));
    json_object_set_new(o, "trials", json_integer((json_int_t)c->n));
    json_object_set_new(o, "runs_per_trial", json_integer((json_int_t)c->runs));
    json_object_set_new(o, "median_energy_joules", num_or_null(e->median));
    json_object_set_new(o, "ci95_low", num_or_null(e->ci_low));
    json_object_set_new(o, "ci95_high", num_or_null(e->ci_high));
    json_object_set_new(o, "half_width_percent", num_or_null(e->half_width_percent));
    json_object_set_new(o, "median_cpu_seconds", num_or_null(median_finite(c->cpu_seconds, c->n)));
    json_t *trials = json_array(), *measured = json_array();
    for (size_t k = 0; k < c->n; k++) {
        json_array_append_new(trials, num_or_null(c->joules[k]));
        json_array_append_new(measured, num_or_null(c->measured_joules[k]));
    }
    json_object_set_new(o, "energy_per_trial_joules", trials);
    json_object_set_new(o, "measured_energy_per_trial_joules", measured);
    if (e->has_ratio) {
        json_t *r = json_object();
        json_object_set_new(r, "ratio", num_or_null(e->ratio));
        json_object_set_new(r, "ci95_low", num_or_null(e->ratio_low));
        json_object_set_new(r, "ci95_high", num_or_null(e->ratio_high));
        json_object_set_new(o, "ratio_to_reference", r);
    }
    if (json_is_true(json_object_get(json_array_get(cands, i), "is_reference")))
        json_object_set_new(o, "is_reference", json_true());
    return o;
}

static json_t *comparison_json(const jt_batch_estimate_t *e, size_t a, size_t bi, uint64_t seed)
{
    jt_rank_sample_t sa = {e->candidates[a].joules, e->candidates[a].n};
    jt_rank_sample_t sb = {e->candidates[bi].joules, e->candidates[bi].n};
    jt_compare_stats_t cs;
    jt_error_t err;
    json_t *o = json_object();
    if (jt_rank_compare(&sa, &sb, seed, &cs, &err) != JT_OK) {
        json_object_set_new(o, "error", json_string(err.message));
        return o;
    }
    json_object_set_new(o, "ratio", num_or_null(cs.ratio));
    json_object_set_new(o, "ci95_low", num_or_null(cs.ratio_low));
    json_object_set_new(o, "ci95_high", num_or_null(cs.ratio_high));
    json_object_set_new(o, "p_value", num_or_null(cs.p_value));
    json_object_set_new(o, "test", json_string(cs.test ? cs.test : ""));
    json_object_set_new(o, "effect_size", num_or_null(cs.effect_size));
    json_object_set_new(o, "effect_name", json_string(cs.effect_name ? cs.effect_name : ""));
    json_object_set_new(o, "b_uses_less", json_boolean(cs.b_uses_less));
    json_object_set_new(o, "b_uses_more", json_boolean(cs.b_uses_more));
    return o;
}

/* The result: ranking, failed candidates, method facts, comparison for a pair. */
static jt_status_t ranking_json(batch_run_t *b, json_t **out, jt_error_t *err)
{
    jt_batch_estimate_t e;
    jt_status_t s = jt_batch_estimate(b->blocks, b->n_blocks, b->n, &e, err);
    if (s != JT_OK)
        return s;
    jt_rank_sample_t *samples = calloc(b->n + 1, sizeof *samples);
    size_t *idx = calloc(b->n + 1, sizeof *idx);
    jt_rank_entry_t *entries = calloc(b->n + 1, sizeof *entries);
    if (samples == NULL || idx == NULL || entries == NULL) {
        s = jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
        goto done;
    }
    size_t m = ranked_samples(b, &e, samples, idx);
    json_t *cands = json_object_get(b->rec, "candidates");
    const char *ref_id = json_string_value(json_object_get(b->rec, "reference"));
    int ref = -1;
    for (size_t k = 0; ref_id != NULL && k < m; k++)
        if (strcmp(json_string_value(json_object_get(json_array_get(cands, idx[k]), "candidate_id"))
                       ?: "",
                   ref_id) == 0)
            ref = (int)k;
    if (m > 0)
        s = jt_rank_compute(samples, m, ref, b->seed, entries, err);
    if (s != JT_OK)
        goto done;
    json_t *result = json_object();
    json_t *ranking = json_array();
    for (int rank = 1; rank <= (int)m; rank++) /* in rank order */
        for (size_t k = 0; k < m; k++)
            if (entries[k].rank == rank)
                json_array_append_new(ranking,
                                      entry_json(b, idx[k], &e.candidates[idx[k]], &entries[k]));
    json_object_set_new(result, "ranking", ranking);
    json_t *failed = json_array();
    for (size_t i = 0; i < b->n; i++) {
        json_t *c = json_array_get(cands, i);
        bool gate_failed = !b->correct[i];
        if (!gate_failed && !e.candidates[i].failed)
            continue;
        json_t *f = json_object();
        json_object_set(f, "candidate_id", json_object_get(c, "candidate_id"));
        json_object_set_new(f, "stage", json_string(gate_failed ? "validation" : "measurement"));
        if (gate_failed) {
            json_object_set(f, "error_summary", json_object_get(c, "error_summary"));
            json_object_set(f, "passed_tests", json_object_get(c, "passed_tests"));
            json_object_set(f, "total_tests", json_object_get(c, "total_tests"));
        } else {
            json_object_set_new(f, "error_type", json_string(e.candidates[i].error_type));
            json_object_set_new(f, "error_summary", json_string(e.candidates[i].error_message));
        }
        json_array_append_new(failed, f);
    }
    json_object_set_new(result, "failed", failed);
    json_t *method = json_object();
    json_object_set_new(method, "blocks", json_integer((json_int_t)e.blocks));
    json_object_set_new(method, "measurement_seconds", json_real(e.measurement_seconds));
    json_object_set_new(method, "null_joules_per_run", json_real(e.null_joules_per_run));
    json_object_set_new(method, "idle_watts_first", json_real(e.idle_watts_first));
    json_object_set_new(method, "idle_watts_last", json_real(e.idle_watts_last));
    json_object_set_new(
        method, "idle_drift_percent",
        e.idle_watts_first > 0
            ? json_real(100.0 * (e.idle_watts_last - e.idle_watts_first) / e.idle_watts_first)
            : json_null());
    json_object_set_new(method, "block_effects",
                        json_pack("{s:I,s:I,s:f,s:f,s:I,s:o,s:o}", "blocks_adjusted",
                                  (json_int_t)e.blocks_adjusted, "trials_adjusted",
                                  (json_int_t)e.trials_adjusted, "factor_low", e.factor_low,
                                  "factor_high", e.factor_high, "min_other_candidates",
                                  (json_int_t)JT_BLOCK_MIN_OTHERS, "spread_measured",
                                  num_or_null(e.spread_measured), "spread_adjusted",
                                  num_or_null(e.spread_adjusted)));
    json_object_set_new(method, "target_precision_percent", json_real(b->precision));
    json_object_set_new(method, "stop_reason", json_string(b->stop_reason));
    json_object_set_new(method, "meter_type", json_string(jt_measurer_meter_type(b->d->ctx->ms)));
    json_object_set_new(method, "seed", json_integer((json_int_t)(b->seed >> 1)));
    json_object_set_new(result, "method", method);
    if (b->n == 2 && ref >= 0 && m == 2)
        json_object_set_new(result, "comparison",
                            comparison_json(&e, idx[ref], idx[1 - ref], b->seed));
    *out = result;
done:
    free(samples);
    free(idx);
    free(entries);
    jt_batch_estimate_free(&e);
    return s;
}

typedef struct {
    const json_t *result;
} final_edit_t;

static int edit_final(json_t *rec, void *ctx)
{
    const final_edit_t *f = ctx;
    if (jt_batch_record_final(rec))
        return 0;
    json_object_set_new(rec, "status", json_string("completed"));
    json_object_set_new(rec, "progress", json_real(1.0));
    json_object_set_new(
        rec, "ranked",
        json_integer((json_int_t)json_array_size(json_object_get(f->result, "ranking"))));
    json_object_set(rec, "method", json_object_get(f->result, "method"));
    return 1;
}

/* Store the ranking, end the batch, tell its subscribers and its webhook. */
static jt_settle_t finish(batch_run_t *b)
{
    jt_bus_t *bus = b->d->ctx->bus;
    jt_error_t err;
    json_t *result = NULL;
    jt_status_t s = ranking_json(b, &result, &err);
    if (s == JT_OK)
        s = jt_batch_json_put(bus, b->d->batch_id, "result", 0, result, false, &err);
    json_t *now = NULL;
    final_edit_t f = {result};
    if (s == JT_OK)
        s = jt_batch_record_update(bus, b->d->batch_id, edit_final, &f, &now, &err);
    json_decref(result);
    if (s != JT_OK) {
        jt_log(JT_LOG_WARN, b->d->batch_id, "cannot store the ranking: %s", err.message);
        b->d->delay_ms = JT_REQUEUE_BUS_DELAY_MS;
        return JT_SETTLE_NAK; /* the blocks are stored: the next delivery only ranks */
    }
    jt_batch_publish(bus, now); /* and its webhook */
    jt_log(JT_LOG_INFO, b->d->batch_id, "batch completed: %zu blocks, %s", b->n_blocks,
           b->stop_reason);
    json_decref(now);
    return JT_SETTLE_ACK;
}

jt_settle_t jt_batch_measure(jt_batch_delivery_t *d)
{
    const jt_job_context_t *c = d->ctx;
    batch_run_t b;
    memset(&b, 0, sizeof b);
    b.d = d;
    jt_job_init(&b.problem);
    jt_error_t err;
    jt_status_t s = load(&b, &err);
    jt_settle_t how;
    if (s == JT_ERR_MISSING && b.rec == NULL) {
        jt_log(JT_LOG_WARN, d->batch_id, "measurement of an unknown batch; dropped");
        how = JT_SETTLE_TERM;
    } else if (b.rec != NULL && jt_batch_record_final(b.rec)) {
        how = JT_SETTLE_ACK;
    } else if (s != JT_OK) {
        jt_log(JT_LOG_WARN, d->batch_id, "batch not loaded (%s); handed back", err.message);
        d->delay_ms = JT_REQUEUE_BUS_DELAY_MS;
        how = jt_status_temporary(s) ? JT_SETTLE_NAK : JT_SETTLE_TERM;
    } else if (c->ms == NULL) {
        jt_log(JT_LOG_WARN, d->batch_id, "this worker cannot measure (%s); handed back",
               c->not_measuring_why);
        d->delay_ms = JT_REQUEUE_DELAY_MS;
        how = JT_SETTLE_REQUEUE;
    } else if (jt_batch_cancel_requested(c->bus, d->batch_id)) {
        how = JT_SETTLE_ACK;
    } else {
        jt_log(JT_LOG_INFO, d->batch_id, "measuring %zu candidates (%zu blocks stored)", b.n,
               b.n_blocks);
        s = measure_all(&b, &err);
        int bits = jt_runner_slot_abort_bits(c->slot);
        if (s == JT_OK)
            how = finish(&b);
        else if (bits & JT_ABORT_CANCELLED)
            how = JT_SETTLE_ACK; /* the gateway marked it cancelled */
        else {
            jt_log(JT_LOG_WARN, d->batch_id, "measurement interrupted: %s", err.message);
            d->delay_ms = (bits & JT_ABORT_SHUTDOWN) ? 0 : JT_REQUEUE_DELAY_MS;
            how = JT_SETTLE_REQUEUE;
        }
    }
    run_free(&b);
    return how;
}
