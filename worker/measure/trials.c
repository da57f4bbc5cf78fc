/* trials.c -- autorange, warmup, interleaved null/candidate trials around meter reads, statistics. */
#include "trials.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "compare.h"
#include "net_energy.h"
#include "pmu.h"
#include "protocol.h"
#include "stats.h"
#include "trial_usage.h"

#define AUTORANGE_STEPS 12
#define MIN_TRIALS_FOR_EARLY_STOP 3
/* Autorange aims this much above min_trial_seconds, so that run-to-run noise
 * rarely makes a measured trial shorter than asked. */
#define AUTORANGE_MARGIN 1.25
#define SLACK_MS 30000
#define OUTLIER_MIN_SPREAD 0.01  /* of the median gross energy per run: the MAD floor */
#define STALLED_METER_SECONDS 0.05 /* a window this long moves every real counter */
/* Idle windows last min_trial_seconds, within these bounds: long enough for the meter's
 * resolution, short next to the trials. */
#define IDLE_WINDOW_MIN_SECONDS 0.05
#define IDLE_WINDOW_MAX_SECONDS 0.5

typedef struct {
    jt_runner_t *r;
    const jt_job_t *job;
    const jt_trials_env_t *env;
    jt_measurement_t *m;
    long long next_id;
    double run_limit; /* seconds one run may take */
    jt_tolerance_t tol;
    jt_pmu_t *pmu;       /* hardware counters of the box, NULL without */
    char pmu_absent[96]; /* why pmu is NULL */
    bool failed;      /* a candidate problem is recorded in m */
    bool aborted;     /* on_progress asked to stop */
} ctx_t;


static void fail(ctx_t *c, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(ctx_t *c, const char *type, const char *fmt, ...)
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
static jt_status_t expect(ctx_t *c, const char *want, double timeout_s, uint8_t **data,
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

static jt_status_t send_command(ctx_t *c, const char *op, long long id, const char *which,
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
static void check_outputs(ctx_t *c, const msgpack_object *msg)
{
    const msgpack_object *results = jt_mp_find(msg, "results");
    bool reference = jt_mp_str_eq(jt_mp_find(msg, "kind"), "reference");
    if (results == NULL || results->type != MSGPACK_OBJECT_ARRAY) {
        fail(c, "trial_failed", "the sandbox reported malformed outputs");
        return;
    }
    for (uint32_t k = 0; k < results->via.array.size; k++) {
        const msgpack_object *res = &results->via.array.ptr[k];
        long long i = -1;
        if (!jt_mp_int(jt_mp_find(res, "i"), &i) || i < 0 || (size_t)i >= c->job->n_test_cases) {
            fail(c, "trial_failed", "the sandbox reported an output for an unknown test");
            return;
        }
        const jt_test_case_t *tc = &c->job->test_cases[i];
        msgpack_unpacked expected;
        if (!jt_mp_unpack_one(&expected, tc->expected_output.data, tc->expected_output.len)) {
            fail(c, "trial_failed", "expected_output of %s is corrupt", tc->test_id);
            return;
        }
        const msgpack_object *out = jt_mp_find(res, "output");
        bool equal = out != NULL && jt_values_equal(out, &expected.data, &c->tol);
        msgpack_unpacked_destroy(&expected);
        if (!equal) {
            char *repr = jt_mp_strdup(jt_mp_find(res, "repr"));
            fail(c, "nondeterministic_output",
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
static void read_counters(ctx_t *c, jt_window_proxies_t *p)
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
static jt_status_t window(ctx_t *c, bool candidate, unsigned long runs, bool record, jt_window_t *w,
                          jt_error_t *err)
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
        fail(c, "trial_failed", "%s run failed during measurement (%s): %s",
             candidate ? "a" : "a null-candidate", status ? status : "?", why ? why : "");
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
        fail(c, "meter_stalled",
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
static jt_status_t idle_window(ctx_t *c, double seconds, jt_idle_window_t *w, jt_error_t *err)
{
    jt_meter_reading_t a, b;
    memset(w, 0, sizeof *w);
    jt_status_t s = jt_meter_read(c->env->meter, &a, err);
    if (s != JT_OK)
        return s;
    double t0 = jt_clock_now();
    w->started_at = jt_clock_unix();
    struct timespec pause = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    while (nanosleep(&pause, &pause) != 0)
        ;
    s = jt_meter_read(c->env->meter, &b, err);
    if (s != JT_OK)
        return s;
    w->seconds = jt_clock_now() - t0;
    for (size_t d = 0; d < jt_meter_domain_count(c->env->meter); d++)
        w->watts[d] = w->seconds > 0 ? jt_meter_joules(&a, &b, d) / w->seconds : 0;
    return JT_OK;
}

/* Runs per trial so that one trial lasts at least min_trial_seconds (like
 * timeit's autorange), without a trial exceeding the job's timeout. */
static jt_status_t autorange(ctx_t *c, bool candidate, double min_seconds, unsigned long *out,
                             jt_error_t *err)
{
    unsigned long runs = 1;
    /* min_trial_seconds 0 asks for single-run trials: nothing to find out. */
    for (int step = 0; min_seconds > 0 && step < AUTORANGE_STEPS; step++) {
        jt_window_t w;
        jt_status_t s = window(c, candidate, runs, false, &w, err);
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

/* Report progress; true when the caller asked to stop (the failure is recorded). */
static bool progress(ctx_t *c, const char *stage, double fraction, int trial, double cv)
{
    if (c->env->on_progress == NULL)
        return false;
    jt_trial_progress_t p = {stage, fraction, trial, c->job->energy_measurement_trials, cv};
    if (c->env->on_progress(c->env->ctx, &p) == 0)
        return false;
    c->aborted = true;
    fail(c, "aborted", "the measurement was aborted (cancelled or lease lost)");
    return true;
}

static jt_status_t measure_loop(ctx_t *c, jt_error_t *err)
{
    const jt_job_t *job = c->job;
    jt_measurement_t *m = c->m;
    int max_trials = job->energy_measurement_trials;
    unsigned long runs = 1, null_runs = 1;
    jt_status_t s;

    if (progress(c, "autorange", 0.0, 0, 0))
        return JT_OK;
    s = autorange(c, true, job->min_trial_seconds, &runs, err);
    if (s != JT_OK || c->failed)
        return s;
    s = autorange(c, false, job->min_trial_seconds, &null_runs, err);
    if (s != JT_OK || c->failed)
        return s;
    m->repeats_per_trial = runs;
    for (int k = 0; k < job->warmup_trials; k++) {
        if (progress(c, "warmup", 0.05 * k / (job->warmup_trials ? job->warmup_trials : 1), 0, 0))
            return JT_OK;
        jt_window_t w;
        s = window(c, true, runs, false, &w, err);
        free(w.timeline);
        if (s != JT_OK || c->failed)
            return s;
    }
    m->warmup_trials = job->warmup_trials;

    jt_window_t *cand = calloc((size_t)max_trials, sizeof *cand);
    jt_window_t *nulls = calloc((size_t)max_trials, sizeof *nulls);
    m->trials = calloc((size_t)max_trials, sizeof *m->trials);
    m->idle_windows = calloc((size_t)max_trials + 1, sizeof *m->idle_windows);
    if (cand == NULL || nulls == NULL || m->trials == NULL || m->idle_windows == NULL) {
        free(cand);
        free(nulls);
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    }
    /* The local baseline: an idle window before the first pair and after each one. */
    double idle_seconds =
        fmin(fmax(job->min_trial_seconds, IDLE_WINDOW_MIN_SECONDS), IDLE_WINDOW_MAX_SECONDS);
    s = idle_window(c, idle_seconds, &m->idle_windows[0], err);
    if (s != JT_OK) {
        free(cand);
        free(nulls);
        return s;
    }
    m->n_idle_windows = 1;
    snprintf(m->early_stop_reason, sizeof m->early_stop_reason,
             "max_trials_reached (%d)", max_trials);
    int n = 0;
    while (n < max_trials) {
        /* null and candidate interleaved, so drift affects both alike */
        s = window(c, false, null_runs, false, &nulls[n], err);
        free(nulls[n].timeline);
        nulls[n].timeline = NULL;
        if (s == JT_OK && !c->failed)
            s = window(c, true, runs, true, &cand[n], err);
        if (s != JT_OK || c->failed) {
            free(cand[n].timeline); /* a failed trial's timeline is not kept */
            break;
        }
        m->trials[n].timeline = cand[n].timeline;
        m->trials[n].n_timeline = cand[n].n_timeline;
        cand[n].timeline = NULL;
        s = idle_window(c, idle_seconds, &m->idle_windows[n + 1], err);
        if (s != JT_OK)
            break;
        m->n_idle_windows = (size_t)n + 2;
        n++;
        jt_net_energy_compute(c->m, c->env->idle_watts, cand, nulls, (size_t)n, null_runs);
        double cv = n >= 2 ? m->stats.cv_percent : 0;
        if (n >= MIN_TRIALS_FOR_EARLY_STOP && cv <= job->target_cv_percent) {
            snprintf(m->early_stop_reason, sizeof m->early_stop_reason,
                     "cv_target_reached (%.2f%% <= %g%%)", cv, job->target_cv_percent);
            progress(c, "measuring", 1.0, n, cv);
            break;
        }
        if (progress(c, "measuring", 0.05 + 0.95 * n / max_trials, n, cv))
            break;
    }
    if (n > 0 && s == JT_OK) {
        jt_net_energy_compute(c->m, c->env->idle_watts, cand, nulls, (size_t)n, null_runs);
        /* The outlier rule does not tell apart trials that agree more
         * closely than OUTLIER_MIN_SPREAD of the gross energy per run. */
        int pkg = jt_measurement_domain_index(m, JT_DOMAIN_PACKAGE);
        int ram = jt_measurement_domain_index(m, JT_DOMAIN_DRAM);
        bool flags[JT_MAX_TRIALS];
        double x[JT_MAX_TRIALS], gross[JT_MAX_TRIALS];
        for (int k = 0; k < n; k++) {
            const jt_trial_t *t = &m->trials[k];
            x[k] = t->net_total_joules_per_run;
            double g = pkg >= 0 ? t->gross_joules[pkg] : 0;
            g += ram >= 0 ? t->gross_joules[ram] : 0;
            gross[k] = g / (double)t->repeats;
        }
        double min_spread = OUTLIER_MIN_SPREAD * fabs(jt_stats_median(gross, (size_t)n));
        m->outliers = jt_stats_outliers(x, (size_t)n, min_spread, flags);
        for (int k = 0; k < n; k++)
            m->trials[k].outlier = flags[k];
    }
    free(cand);
    free(nulls);
    return s;
}

/* jt_trials_measure once the counters are open. */
static jt_status_t measure_with_counters(ctx_t *cp, jt_runner_t *r, const jt_job_t *job,
                                         const jt_trials_env_t *env, jt_error_t *err)
{
    ctx_t c = *cp;
    jt_status_t s = jt_runner_start_measure(r, job, env->measure_core, err);
    uint8_t *data = NULL;
    msgpack_unpacked msg;
    if (s == JT_OK)
        s = expect(&c, "trials_ready", c.run_limit, &data, &msg, err);
    if (s != JT_OK)
        return s;
    msgpack_unpacked_destroy(&msg);
    free(data);

    s = measure_loop(&c, err);
    if (s != JT_OK)
        return s;
    if (c.failed)
        jt_runner_cancel(r); /* stop the sandbox child wherever it is */
    else
        send_command(&c, "done", -1, NULL, 0);
    /* Drain to the runner's end frame so the runner is ready for the next job. */
    for (;;) {
        jt_status_t rs = jt_runner_recv(r, SLACK_MS, &data, &msg);
        if (rs != JT_OK)
            return jt_error_set(err, rs, "", "waiting for the sandbox to finish: %s",
                                jt_status_text(rs));
        bool end = jt_mp_str_eq(jt_mp_find(&msg.data, "t"), "end");
        msgpack_unpacked_destroy(&msg);
        free(data);
        if (end)
            return JT_OK;
    }
}

jt_status_t jt_trials_measure(jt_runner_t *r, const jt_job_t *job, const jt_trials_env_t *env,
                              jt_measurement_t *m, jt_error_t *err)
{
    ctx_t c = {.r = r,
               .job = job,
               .env = env,
               .m = m,
               .run_limit = job->timeout_seconds * (double)(job->n_test_cases + 1),
               .tol = {.abs_tol = job->abs_tol, .rel_tol = job->rel_tol}};
    m->completed = true;
    m->total_tests = job->n_test_cases;
    m->repetition_mode = jt_repetition_mode_name(job->repetition_mode);
    m->n_domains = jt_meter_domain_count(env->meter);
    for (size_t d = 0; d < m->n_domains; d++) {
        m->domains[d] = jt_meter_domain(env->meter, d);
        m->calibration_idle_watts[d] = env->idle_watts[d];
    }
    m->target_cv_percent = job->target_cv_percent;

    if (env->counters_cgroup != NULL && env->counters_cgroup[0] != '\0') {
        jt_pmu_target_t target = {.cgroup_dir = env->counters_cgroup, .cpu = env->measure_core};
        if (jt_pmu_open(&target, &c.pmu) != JT_OK)
            snprintf(c.pmu_absent, sizeof c.pmu_absent, "the counters could not be opened");
    } else {
        snprintf(c.pmu_absent, sizeof c.pmu_absent,
                 "the box has no cgroup the perf_event controller sees");
    }
    jt_status_t s = measure_with_counters(&c, r, job, env, err);
    jt_pmu_close(c.pmu);
    return s;
}
