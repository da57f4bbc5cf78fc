/* trial_session.c -- one candidate's measure session: trial windows between meter reads, idle
 * windows. */
#include "trial_session.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "compare.h"
#include "protocol.h"
#include "trial_usage.h"

#define AUTORANGE_STEPS 12
/* Autorange aims this much above min_trial_seconds, so that run-to-run noise
 * rarely makes a measured trial shorter than asked. */
#define AUTORANGE_MARGIN 1.25
#define SLACK_MS 30000
#define STALLED_METER_SECONDS 0.05 /* a window this long moves every real counter */

void jt_session_fail(jt_session_t *c, const char *type, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    c->m->completed = false;
    snprintf(c->m->error_type, sizeof c->m->error_type, "%s", type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->m->error_message, sizeof c->m->error_message, fmt, ap);
    va_end(ap);
}

/* Receive the next frame of type `want` (other types are protocol errors,
 * except "end", which means the sandbox child is gone). */
static jt_status_t expect(jt_session_t *c, const char *want, double timeout_s, uint8_t **data,
                          msgpack_unpacked *msg, jt_error_t *err)
{
    jt_status_t s = jt_runner_recv(c->r, jt_clock_ms(timeout_s + SLACK_MS / 1000.0), data, msg);
    if (s != JT_OK)
        return jt_error_set(err, s, "", "waiting for %s from the sandbox: %s", want,
                            jt_status_text(s));
    const msgpack_object *t = jt_mp_find(&msg->data, "t");
    if (jt_mp_str_eq(t, want))
        return JT_OK;
    char *why = jt_mp_strdup(jt_mp_find(&msg->data, "error"));
    s = jt_error_set(err, JT_ERR_SANDBOX, "", "sandbox %s while waiting for %s%s%s",
                     jt_mp_str_eq(t, "end") ? "ended" : "sent an unexpected frame", want,
                     why ? ": " : "", why ? why : "");
    free(why);
    msgpack_unpacked_destroy(msg);
    free(*data);
    *data = NULL;
    return s;
}

static jt_status_t send_command(jt_session_t *c, const char *op, long long id, const char *which,
                                unsigned long runs)
{
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, which ? 4 : (id >= 0 ? 2 : 1), NULL);
    jt_mp_pack_cstr(&f.pk, "op");
    jt_mp_pack_cstr(&f.pk, op);
    if (id >= 0) {
        jt_mp_pack_cstr(&f.pk, "id");
        msgpack_pack_int64(&f.pk, id);
    }
    if (which) {
        jt_mp_pack_cstr(&f.pk, "which");
        jt_mp_pack_cstr(&f.pk, which);
        jt_mp_pack_cstr(&f.pk, "runs");
        msgpack_pack_uint64(&f.pk, runs);
    }
    jt_status_t s = jt_runner_send(c->r, f.sb.data, f.sb.size);
    jt_mp_frame_discard(&f);
    return s;
}

/* Compare the outputs the sandbox reports after a window with the expected ones. */
static void check_outputs(jt_session_t *c, const msgpack_object *msg)
{
    const msgpack_object *results = jt_mp_find(msg, "results");
    bool reference = jt_mp_str_eq(jt_mp_find(msg, "kind"), "reference");
    if (results == NULL || results->type != MSGPACK_OBJECT_ARRAY) {
        jt_session_fail(c, "trial_failed", "the sandbox reported malformed outputs");
        return;
    }
    for (uint32_t k = 0; k < results->via.array.size; k++) {
        const msgpack_object *res = &results->via.array.ptr[k];
        long long i = -1;
        if (!jt_mp_int(jt_mp_find(res, "i"), &i) || i < 0 || (size_t)i >= c->job->n_test_cases) {
            jt_session_fail(c, "trial_failed",
                            "the sandbox reported an output for an unknown test");
            return;
        }
        const jt_test_case_t *tc = &c->job->test_cases[i];
        msgpack_unpacked expected;
        if (!jt_mp_unpack_one(&expected, tc->expected_output.data, tc->expected_output.len)) {
            jt_session_fail(c, "trial_failed", "expected_output of %s is corrupt", tc->test_id);
            return;
        }
        const msgpack_object *out = jt_mp_find(res, "output");
        bool equal = out != NULL && jt_values_equal(out, &expected.data, &c->tol);
        msgpack_unpacked_destroy(&expected);
        if (!equal) {
            char *repr = jt_mp_strdup(jt_mp_find(res, "repr"));
            jt_session_fail(
                c, "nondeterministic_output",
                "test %s: a measured run returned %.900s, which differs from the expected "
                "output the correctness gate accepted (%s)",
                tc->test_id, repr ? repr : "?",
                reference ? "first measured run" : "a later run differed from the first");
            free(repr);
            return;
        }
    }
}

/* The box's hardware counters of the window just ended, or each absent with its reason. */
static void read_counters(jt_session_t *c, jt_window_proxies_t *p)
{
    jt_pmu_counts_t counts;
    if (c->pmu == NULL) {
        for (int i = 0; i < JT_PROXY_COUNTERS; i++)
            snprintf(p->counter[i].reason, sizeof p->counter[i].reason, "%s", c->pmu_absent);
        return;
    }
    jt_pmu_read(c->pmu, &counts);
    for (int i = 0; i < JT_PROXY_COUNTERS; i++) {
        const jt_pmu_value_t *v = &counts.counter[i]; /* same order as jt_proxy_counter_t */
        p->counter[i].present = v->present;
        p->counter[i].value = (double)v->value;
        snprintf(p->counter[i].reason, sizeof p->counter[i].reason, "%s", v->reason);
    }
}

/* One trial of `runs` runs between two meter reads. On a candidate problem
 * c->failed is set and JT_OK returned. */
jt_status_t jt_session_window(jt_session_t *c, bool candidate, unsigned long runs, bool record,
                              jt_window_t *w, jt_error_t *err)
{
    memset(w, 0, sizeof *w);
    long long id = c->next_id++;
    uint8_t *data = NULL;
    msgpack_unpacked msg;
    jt_status_t s = send_command(c, "trial", id, candidate ? "candidate" : "null", runs);
    if (s != JT_OK)
        return jt_error_set(err, s, "", "sending a trial to the sandbox failed");
    s = expect(c, "trial_ready", c->run_limit, &data, &msg, err);
    if (s != JT_OK)
        return s;
    msgpack_unpacked_destroy(&msg);
    free(data);

    jt_meter_reading_t a, b;
    bool recording = record && c->env->sampler;
    if (recording)
        jt_sampler_record_begin(c->env->sampler);
    /* From here every path leaves through `stop`, which ends the recording. */
    double t0 = 0, t1 = 0;
    bool have_end = false;
    if (c->pmu != NULL)
        jt_pmu_start(c->pmu);
    s = jt_meter_read(c->env->meter, &a, err);
    t0 = jt_clock_now();
    w->started_at = jt_clock_unix();
    if (s == JT_OK)
        s = send_command(c, "go", id, NULL, 0);
    if (s != JT_OK)
        goto stop;
    s = expect(c, "trial_end", c->run_limit * (double)runs, &data, &msg, err);
    t1 = jt_clock_now();
    if (s != JT_OK)
        goto stop;
    have_end = true;
    s = jt_meter_read(c->env->meter, &b, err);
    w->ended_at = jt_clock_unix();
stop:
    if (c->pmu != NULL)
        jt_pmu_stop(c->pmu);
    if (recording)
        jt_sampler_record_end(c->env->sampler, &w->timeline, &w->n_timeline);
    if (s != JT_OK) {
        if (have_end) {
            msgpack_unpacked_destroy(&msg);
            free(data);
        }
        return s;
    }
    jt_trial_usage_decode(jt_mp_find(&msg.data, "usage"), &w->proxies.usage);
    read_counters(c, &w->proxies);
    const msgpack_object *ok = jt_mp_find(&msg.data, "ok");
    if (ok == NULL || ok->type != MSGPACK_OBJECT_BOOLEAN || !ok->via.boolean) {
        char *status = jt_mp_strdup(jt_mp_find(&msg.data, "status"));
        char *why = jt_mp_strdup(jt_mp_find(&msg.data, "message"));
        jt_session_fail(c, "trial_failed", "%s run failed during measurement (%s): %s",
                        candidate ? "a" : "a null-candidate", status ? status : "?",
                        why ? why : "");
        free(status);
        free(why);
    }
    msgpack_unpacked_destroy(&msg);
    free(data);
    w->seconds = t1 - t0;
    bool moved = false;
    for (size_t d = 0; d < jt_meter_domain_count(c->env->meter); d++) {
        w->gross[d] = jt_meter_joules(&a, &b, d);
        moved |= w->gross[d] != 0.0;
    }
    /* Counters that did not move at all over a window this long are stuck
     * (firmware, a dead writer of the powercap tree): their zero would pass
     * for a measurement and yield negative net energies. */
    if (!moved && w->seconds >= STALLED_METER_SECONDS)
        jt_session_fail(
            c, "meter_stalled",
            "no counter of the %s meter advanced during a %.3f s trial: the meter is stuck "
            "(see the worker's meter and its powercap tree)",
            jt_meter_kind_name(jt_meter_kind(c->env->meter)), w->seconds);

    /* After the window: the outputs, then the end of this trial. */
    for (;;) {
        jt_status_t rs = jt_runner_recv(c->r, SLACK_MS, &data, &msg);
        if (rs != JT_OK)
            return jt_error_set(err, rs, "", "waiting for the end of a trial: %s",
                                jt_status_text(rs));
        const msgpack_object *t = jt_mp_find(&msg.data, "t");
        bool done = jt_mp_str_eq(t, "trial_done");
        bool bad = !done && !jt_mp_str_eq(t, "outputs");
        if (!done && !bad)
            check_outputs(c, &msg.data);
        msgpack_unpacked_destroy(&msg);
        free(data);
        if (done)
            return JT_OK;
        if (bad)
            return jt_error_set(err, JT_ERR_PROTOCOL, "", "unexpected frame after a trial");
    }
}

/* One idle window: the meter read across a pause in which the sandbox child waits for its
 * next command, so nothing of the job runs on the measurement core. */
jt_status_t jt_idle_window(jt_meter_t *meter, double seconds, jt_idle_window_t *w, jt_error_t *err)
{
    jt_meter_reading_t a, b;
    memset(w, 0, sizeof *w);
    jt_status_t s = jt_meter_read(meter, &a, err);
    if (s != JT_OK)
        return s;
    double t0 = jt_clock_now();
    w->started_at = jt_clock_unix();
    jt_clock_sleep(seconds);
    s = jt_meter_read(meter, &b, err);
    if (s != JT_OK)
        return s;
    w->seconds = jt_clock_now() - t0;
    for (size_t d = 0; d < jt_meter_domain_count(meter); d++)
        w->watts[d] = w->seconds > 0 ? jt_meter_joules(&a, &b, d) / w->seconds : 0;
    return JT_OK;
}

/* Runs per trial so that one trial lasts at least min_trial_seconds (like
 * timeit's autorange), without a trial exceeding the job's timeout. */
jt_status_t jt_session_autorange(jt_session_t *c, bool candidate, double min_seconds,
                                 unsigned long *out, jt_error_t *err)
{
    unsigned long runs = 1;
    /* min_trial_seconds 0 asks for single-run trials: nothing to find out. */
    for (int step = 0; min_seconds > 0 && step < AUTORANGE_STEPS; step++) {
        jt_window_t w;
        jt_status_t s = jt_session_window(c, candidate, runs, false, &w, err);
        free(w.timeline);
        if (s != JT_OK || c->failed)
            return s;
        double per_run = w.seconds / (double)runs;
        if (w.seconds >= min_seconds * AUTORANGE_MARGIN || per_run <= 0)
            break;
        double want = ceil(min_seconds * AUTORANGE_MARGIN * 1.05 / per_run);
        double cap = floor(c->job->timeout_seconds / per_run);
        if (want > cap)
            want = cap;
        if (want > (double)JT_MAX_REPEATS)
            want = (double)JT_MAX_REPEATS;
        if (want <= (double)runs)
            break; /* the timeout caps the trial length */
        runs = (unsigned long)want;
    }
    *out = runs;
    return JT_OK;
}

#define IDLE_WINDOW_MIN_SECONDS 0.05
#define IDLE_WINDOW_MAX_SECONDS 0.5

double jt_idle_window_seconds(double min_trial_seconds)
{
    return fmin(fmax(min_trial_seconds, IDLE_WINDOW_MIN_SECONDS), IDLE_WINDOW_MAX_SECONDS);
}

jt_status_t jt_session_open(jt_session_t *c, jt_runner_t *r, const jt_job_t *job,
                            const jt_trials_env_t *env, jt_measurement_t *m, jt_error_t *err)
{
    memset(c, 0, sizeof *c);
    c->r = r;
    c->job = job;
    c->env = env;
    c->m = m;
    c->run_limit = job->timeout_seconds * (double)(job->n_test_cases + 1);
    c->tol.abs_tol = job->abs_tol;
    c->tol.rel_tol = job->rel_tol;
    if (env->counters_cgroup != NULL && env->counters_cgroup[0] != '\0') {
        jt_pmu_target_t target = {.cgroup_dir = env->counters_cgroup, .cpu = env->measure_core};
        if (jt_pmu_open(&target, &c->pmu) != JT_OK)
            snprintf(c->pmu_absent, sizeof c->pmu_absent, "the counters could not be opened");
    } else {
        snprintf(c->pmu_absent, sizeof c->pmu_absent,
                 "the box has no cgroup the perf_event controller sees");
    }
    jt_status_t s = jt_runner_start_measure(r, job, env->measure_core, err);
    uint8_t *data = NULL;
    msgpack_unpacked msg;
    if (s == JT_OK)
        s = expect(c, "trials_ready", c->run_limit, &data, &msg, err);
    if (s != JT_OK) {
        jt_pmu_close(c->pmu);
        c->pmu = NULL;
        return s;
    }
    msgpack_unpacked_destroy(&msg);
    free(data);
    jt_clock_sleep(JT_SANDBOX_SETTLE_SECONDS);
    return JT_OK;
}

jt_status_t jt_session_close(jt_session_t *c, jt_error_t *err)
{
    uint8_t *data = NULL;
    msgpack_unpacked msg;
    if (c->failed)
        jt_runner_cancel(c->r); /* stop the sandbox child wherever it is */
    else
        send_command(c, "done", -1, NULL, 0);
    jt_status_t s = JT_OK;
    /* Drain to the runner's end frame so the runner is ready for the next job. */
    for (;;) {
        jt_status_t rs = jt_runner_recv(c->r, SLACK_MS, &data, &msg);
        if (rs != JT_OK) {
            s = jt_error_set(err, rs, "", "waiting for the sandbox to finish: %s",
                             jt_status_text(rs));
            break;
        }
        bool end = jt_mp_str_eq(jt_mp_find(&msg.data, "t"), "end");
        msgpack_unpacked_destroy(&msg);
        free(data);
        if (end)
            break;
    }
    jt_pmu_close(c->pmu);
    c->pmu = NULL;
    return s;
}
