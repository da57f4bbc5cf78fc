/* batch_block.c -- one block of a batch (null trial, one trial per candidate, idle windows) and the
 * estimator. */
#include "batch_block.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block_effects.h"
#include "clock.h"
#include "measurement.h"
#include "stats.h"
#include "trial_session.h"

static json_t *watts_json(const double *w, size_t n_domains)
{
    json_t *a = json_array();
    for (size_t d = 0; d < n_domains; d++)
        json_array_append_new(a, json_real(w[d]));
    return a;
}

static json_t *idle_json(const jt_idle_window_t *w, size_t n_domains)
{
    json_t *o = json_object();
    json_object_set_new(o, "seconds", json_real(w->seconds));
    json_object_set_new(o, "started_at", json_real(w->started_at));
    json_object_set_new(o, "watts", watts_json(w->watts, n_domains));
    return o;
}

static json_t *window_json(const jt_window_t *w, size_t n_domains, unsigned long runs)
{
    json_t *o = json_object();
    json_object_set_new(o, "runs", json_integer((json_int_t)runs));
    json_object_set_new(o, "seconds", json_real(w->seconds));
    json_object_set_new(o, "started_at", json_real(w->started_at));
    json_object_set_new(o, "gross", watts_json(w->gross, n_domains));
    const jt_trial_usage_t *u = &w->proxies.usage;
    if (u->present) {
        json_object_set_new(o, "cpu_seconds", json_real((double)(u->user_us + u->system_us) / 1e6));
        json_object_set_new(o, "max_rss_kb", json_integer((json_int_t)u->max_rss_kb));
    }
    return o;
}

/* Record a candidate problem of slot from the session's scratch measurement. */
static void slot_failed(jt_block_slot_t *slot, const jt_measurement_t *m)
{
    slot->failed = true;
    snprintf(slot->error_type, sizeof slot->error_type, "%s", m->error_type);
    snprintf(slot->error_message, sizeof slot->error_message, "%.2000s", m->error_message);
}

/* One candidate's part of the block: its session, the block's warm-up and null trial when
 * it comes first, autorange when its runs are unknown, its trial. */
static jt_status_t measure_slot(jt_runner_t *r, const jt_trials_env_t *env, jt_block_slot_t *slot,
                                bool first, unsigned long *null_runs, int warmup, json_t *block,
                                jt_window_t *cand, jt_error_t *err)
{
    jt_measurement_t scratch;
    jt_measurement_init(&scratch);
    scratch.completed = true;
    jt_session_t c;
    jt_status_t s = jt_session_open(&c, r, slot->job, env, &scratch, err);
    if (s != JT_OK) {
        jt_measurement_cleanup(&scratch);
        return s;
    }
    size_t n_domains = jt_meter_domain_count(env->meter);
    double min_seconds = slot->job->min_trial_seconds;
    if (first) {
        for (int k = 0; s == JT_OK && !c.failed && k < warmup; k++) {
            jt_window_t w;
            s = jt_session_window(&c, true, slot->runs ? slot->runs : 1, false, &w, err);
            free(w.timeline);
        }
        if (s == JT_OK && !c.failed && *null_runs == 0)
            s = jt_session_autorange(&c, false, min_seconds, null_runs, err);
        jt_window_t nw;
        memset(&nw, 0, sizeof nw);
        if (s == JT_OK && !c.failed)
            s = jt_session_window(&c, false, *null_runs, false, &nw, err);
        free(nw.timeline);
        if (s == JT_OK && !c.failed)
            json_object_set_new(block, "null", window_json(&nw, n_domains, *null_runs));
    }
    if (s == JT_OK && !c.failed && slot->runs == 0)
        s = jt_session_autorange(&c, true, min_seconds, &slot->runs, err);
    memset(cand, 0, sizeof *cand);
    if (s == JT_OK && !c.failed)
        s = jt_session_window(&c, true, slot->runs, false, cand, err);
    free(cand->timeline);
    cand->timeline = NULL;
    if (s != JT_OK) {
        jt_pmu_close(c.pmu);
        jt_measurement_cleanup(&scratch);
        return s;
    }
    if (c.failed)
        slot_failed(slot, &scratch);
    else
        slot->measured = true;
    s = jt_session_close(&c, err);
    jt_measurement_cleanup(&scratch);
    return s;
}

jt_status_t jt_block_measure(jt_runner_t *r, const jt_trials_env_t *env, jt_block_slot_t *slots,
                             size_t n, unsigned long *null_runs, int warmup,
                             int (*abort)(void *ctx), void *ctx, bool *aborted, json_t **out,
                             jt_error_t *err)
{
    *aborted = false;
    *out = NULL;
    size_t n_domains = jt_meter_domain_count(env->meter);
    double idle_seconds = jt_idle_window_seconds(n > 0 ? slots[0].job->min_trial_seconds : 0);
    json_t *block = json_object();
    json_t *domains = json_array();
    for (size_t d = 0; d < n_domains; d++)
        json_array_append_new(domains, json_string(jt_domain_name(jt_meter_domain(env->meter, d))));
    json_object_set_new(block, "domains", domains);
    double t0 = jt_clock_now();
    json_object_set_new(block, "started_at", json_real(jt_clock_unix()));

    jt_idle_window_t idle;
    jt_status_t s = jt_idle_window(env->meter, idle_seconds, &idle, err);
    if (s == JT_OK)
        json_object_set_new(block, "idle_before", idle_json(&idle, n_domains));
    json_t *trials = json_array();
    json_t *failures = json_array();
    bool have_null = false;
    for (size_t k = 0; s == JT_OK && k < n; k++) {
        if (abort != NULL && abort(ctx)) {
            *aborted = true;
            break;
        }
        jt_window_t cand;
        s = measure_slot(r, env, &slots[k], !have_null, null_runs, warmup, block, &cand, err);
        if (s != JT_OK)
            break;
        have_null = have_null || json_object_get(block, "null") != NULL;
        if (slots[k].measured) {
            json_t *t = window_json(&cand, n_domains, slots[k].runs);
            json_object_set_new(t, "candidate", json_integer((json_int_t)slots[k].candidate));
            json_array_append_new(trials, t);
        } else if (slots[k].failed) {
            json_t *f = json_object();
            json_object_set_new(f, "candidate", json_integer((json_int_t)slots[k].candidate));
            json_object_set_new(f, "error_type", json_string(slots[k].error_type));
            json_object_set_new(f, "error_message", json_string(slots[k].error_message));
            json_array_append_new(failures, f);
        }
    }
    if (s == JT_OK && !*aborted) {
        /* After a sandbox ends, the kernel goes on tearing it down (namespaces, its cgroup)
         * on this core: without the pause that work fell into the closing idle window and
         * raised its idle power. (The pause after a sandbox starts is jt_session_open's.) */
        jt_clock_sleep(JT_SANDBOX_SETTLE_SECONDS);
        s = jt_idle_window(env->meter, idle_seconds, &idle, err);
        if (s == JT_OK)
            json_object_set_new(block, "idle_after", idle_json(&idle, n_domains));
    }
    json_object_set_new(block, "trials", trials);
    json_object_set_new(block, "failures", failures);
    json_object_set_new(block, "seconds", json_real(jt_clock_now() - t0));
    if (s != JT_OK || *aborted) {
        json_decref(block);
        return s;
    }
    *out = block;
    return JT_OK;
}

/* ---- the estimator ------------------------------------------------------------------- */

/* Whether domain name counts in the total (package and dram, as in single jobs). */
static bool counted(const char *name)
{
    return name != NULL && (strcmp(name, "package") == 0 || strcmp(name, "dram") == 0);
}

/* Sum over counted domains of (gross[d] - idle[d] x seconds). */
static double net_counted(const json_t *domains, const json_t *gross, const double *idle,
                          double seconds)
{
    double sum = 0;
    size_t d;
    json_t *g;
    json_array_foreach(gross, d, g)
    {
        if (d < JT_METER_MAX_DOMAINS && counted(json_string_value(json_array_get(domains, d))))
            sum += json_number_value(g) - idle[d] * seconds;
    }
    return sum;
}

/* The block's local idle power per domain (time-weighted mean of its idle windows); false
 * when the block lacks them. */
static bool local_idle(const json_t *block, double *idle, double *counted_watts)
{
    const json_t *before = json_object_get(block, "idle_before");
    const json_t *after = json_object_get(block, "idle_after");
    double sb = json_number_value(json_object_get(before, "seconds"));
    double sa = json_number_value(json_object_get(after, "seconds"));
    if (!(sb > 0) || !(sa > 0))
        return false;
    const json_t *domains = json_object_get(block, "domains");
    *counted_watts = 0;
    for (size_t d = 0; d < JT_METER_MAX_DOMAINS; d++) {
        double wb = json_number_value(json_array_get(json_object_get(before, "watts"), d));
        double wa = json_number_value(json_array_get(json_object_get(after, "watts"), d));
        idle[d] = (wb * sb + wa * sa) / (sb + sa);
        if (counted(json_string_value(json_array_get(domains, d))))
            *counted_watts += idle[d];
    }
    return true;
}

/* Grow *array (n values of size bytes) by one; false when out of memory (*array kept). */
static bool grow(void **array, size_t n, size_t size)
{
    void *p = realloc(*array, (n + 1) * size);
    if (p != NULL)
        *array = p;
    return p != NULL;
}

/* Add a trial of candidate c: net joules per run as measured, CPU seconds per run, its block. */
static jt_status_t push(jt_batch_sample_t *c, double joules, double cpu, size_t block)
{
    if (!grow((void **)&c->joules, c->n, sizeof *c->joules) ||
        !grow((void **)&c->measured_joules, c->n, sizeof *c->measured_joules) ||
        !grow((void **)&c->block_factor, c->n, sizeof *c->block_factor) ||
        !grow((void **)&c->block_of, c->n, sizeof *c->block_of) ||
        !grow((void **)&c->cpu_seconds, c->n, sizeof *c->cpu_seconds))
        return JT_ERR_NOMEM;
    c->joules[c->n] = c->measured_joules[c->n] = joules;
    c->block_factor[c->n] = 1.0;
    c->block_of[c->n] = block;
    c->cpu_seconds[c->n] = cpu;
    c->n++;
    return JT_OK;
}

jt_status_t jt_batch_estimate(json_t *const *blocks, size_t n_blocks, size_t n_candidates,
                              jt_batch_estimate_t *out, jt_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->candidates = calloc(n_candidates ? n_candidates : 1, sizeof *out->candidates);
    double *overheads = calloc(n_blocks ? n_blocks : 1, sizeof *overheads);
    if (out->candidates == NULL || overheads == NULL) {
        free(overheads);
        free(out->candidates);
        out->candidates = NULL;
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    }
    out->n_candidates = n_candidates;
    size_t n_over = 0;
    bool first_idle = true;
    for (size_t b = 0; b < n_blocks; b++) {
        const json_t *block = blocks[b];
        double idle[JT_METER_MAX_DOMAINS], idle_total = 0;
        out->measurement_seconds += json_number_value(json_object_get(block, "seconds"));
        if (!local_idle(block, idle, &idle_total))
            continue;
        if (first_idle)
            out->idle_watts_first = idle_total;
        first_idle = false;
        out->idle_watts_last = idle_total;
        out->blocks++;
        const json_t *null = json_object_get(block, "null");
        double runs = json_number_value(json_object_get(null, "runs"));
        if (runs > 0)
            overheads[n_over++] =
                net_counted(json_object_get(block, "domains"), json_object_get(null, "gross"), idle,
                            json_number_value(json_object_get(null, "seconds"))) /
                runs;
    }
    out->null_joules_per_run = n_over > 0 ? jt_stats_median(overheads, n_over) : 0;
    free(overheads);

    for (size_t b = 0; b < n_blocks; b++) {
        const json_t *block = blocks[b];
        double idle[JT_METER_MAX_DOMAINS], idle_total = 0;
        const json_t *domains = json_object_get(block, "domains");
        size_t k;
        json_t *f;
        json_array_foreach(json_object_get(block, "failures"), k, f)
        {
            json_int_t i = json_integer_value(json_object_get(f, "candidate"));
            if (i < 0 || (size_t)i >= n_candidates || out->candidates[i].failed)
                continue;
            jt_batch_sample_t *c = &out->candidates[i];
            c->failed = true;
            snprintf(c->error_type, sizeof c->error_type, "%s",
                     json_string_value(json_object_get(f, "error_type")) ?: "trial_failed");
            snprintf(c->error_message, sizeof c->error_message, "%s",
                     json_string_value(json_object_get(f, "error_message")) ?: "");
        }
        if (!local_idle(block, idle, &idle_total))
            continue;
        json_t *t;
        json_array_foreach(json_object_get(block, "trials"), k, t)
        {
            json_int_t i = json_integer_value(json_object_get(t, "candidate"));
            double runs = json_number_value(json_object_get(t, "runs"));
            if (i < 0 || (size_t)i >= n_candidates || !(runs > 0))
                continue;
            double seconds = json_number_value(json_object_get(t, "seconds"));
            double net = net_counted(domains, json_object_get(t, "gross"), idle, seconds) / runs -
                         out->null_joules_per_run;
            const json_t *cpu = json_object_get(t, "cpu_seconds");
            jt_batch_sample_t *c = &out->candidates[i];
            if (push(c, net, cpu ? json_number_value(cpu) / runs : NAN, b) != JT_OK) {
                jt_batch_estimate_free(out);
                return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
            }
            c->runs = (unsigned long)runs;
        }
    }
    jt_status_t s = jt_block_effects_remove(out, n_blocks, err);
    if (s != JT_OK)
        jt_batch_estimate_free(out);
    return s;
}

void jt_batch_estimate_free(jt_batch_estimate_t *e)
{
    for (size_t i = 0; e->candidates != NULL && i < e->n_candidates; i++) {
        free(e->candidates[i].joules);
        free(e->candidates[i].measured_joules);
        free(e->candidates[i].block_factor);
        free(e->candidates[i].block_of);
        free(e->candidates[i].cpu_seconds);
    }
    free(e->candidates);
    memset(e, 0, sizeof *e);
}
