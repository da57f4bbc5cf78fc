/* test_trial_usage.c -- the "usage" map of trial_end: its codec, and what the real runner reports.
 *
 * The runner cases spawn jouletrace-runner (JOULETRACE_RUNNER) and drive the
 * trial protocol by hand (trial, go, trial_end, outputs, trial_done), as
 * worker/measure/trials.c does, without a meter. The runner and its box end
 * in the teardown, or when this process exits (the runner leaves on EOF of
 * its command pipe; its box dies with it).
 */
#include "unit_main.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "job_json.h"
#include "protocol.h"
#include "runner_client.h"
#include "temp_dir.h"
#include "trial_usage.h"

#define RECV_MS 60000

typedef struct {
    char dir[128];
    jt_config_t cfg;
    jt_runner_t *runner;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    if (jt_temp_dir_make(f.dir, sizeof f.dir, "jt-usage") < 0)
        return -1;
    setenv("JOULETRACE_SANDBOX_DIR", f.dir, 1);
    jt_error_t err;
    if (jt_config_load(&f.cfg, &err) != JT_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    jt_runner_destroy(f->runner);
    f->runner = NULL;
    jt_temp_dir_remove(f->dir);
    return 0;
}

/* ---- the codec ---- */

static jt_trial_usage_t decode_packed(const jt_trial_usage_t *u)
{
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, 2, "trial_end");
    jt_mp_pack_cstr(&f.pk, "usage");
    assert_int_equal(jt_trial_usage_pack(&f.pk, u), 0);
    msgpack_unpacked msg;
    assert_true(jt_mp_unpack_one(&msg, f.sb.data, f.sb.size));
    jt_trial_usage_t out;
    assert_true(jt_trial_usage_decode(jt_mp_find(&msg.data, "usage"), &out));
    msgpack_unpacked_destroy(&msg);
    jt_mp_frame_discard(&f);
    return out;
}

/* A usage map built from raw msgpack text: {"user_us": ..} with one value
 * replaced, to check what the decoder refuses. */
static bool decodes(void (*pack_value)(msgpack_packer *pk), const char *odd_key)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    static const char *const keys[4] = {"user_us", "system_us", "max_rss_kb", "runs"};
    size_t n = 0;
    for (size_t i = 0; i < 4; i++)
        n += odd_key == NULL || strcmp(keys[i], odd_key) != 0 || pack_value != NULL;
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < 4; i++) {
        bool odd = odd_key != NULL && strcmp(keys[i], odd_key) == 0;
        if (odd && pack_value == NULL)
            continue; /* the key is missing */
        jt_mp_pack_cstr(&pk, keys[i]);
        if (odd)
            pack_value(&pk);
        else
            msgpack_pack_uint64(&pk, 5);
    }
    msgpack_unpacked msg;
    assert_true(jt_mp_unpack_one(&msg, sb.data, sb.size));
    jt_trial_usage_t out;
    bool ok = jt_trial_usage_decode(&msg.data, &out);
    assert_true(ok == out.present);
    if (!ok)
        assert_true(out.user_us == 0 && out.runs == 0);
    msgpack_unpacked_destroy(&msg);
    msgpack_sbuffer_destroy(&sb);
    return ok;
}

static void pack_negative(msgpack_packer *pk)
{
    msgpack_pack_int64(pk, -1);
}

static void pack_string(msgpack_packer *pk)
{
    jt_mp_pack_cstr(pk, "12");
}

static void pack_float(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1.5);
}

/* Runs add up (times summed, peak memory the largest), survive packing,
 * and anything but four non-negative integers reads as "no usage". */
static void codec_round_trip_and_absence(void **state)
{
    (void)state;
    jt_trial_usage_t u = {0};
    struct rusage a = {.ru_utime = {1, 250000}, .ru_stime = {0, 3000}, .ru_maxrss = 20000};
    struct rusage b = {.ru_utime = {0, 750000}, .ru_stime = {2, 0}, .ru_maxrss = 120000};
    struct rusage c = {.ru_utime = {-1, 0}, .ru_stime = {0, -5}, .ru_maxrss = -7};
    jt_trial_usage_add(&u, &a);
    jt_trial_usage_add(&u, &b);
    jt_trial_usage_add(&u, &c);
    jt_trial_usage_t got = decode_packed(&u);
    assert_true(got.present);
    assert_int_equal(got.user_us, 2000000);
    assert_int_equal(got.system_us, 2003000);
    assert_int_equal(got.max_rss_kb, 120000);
    assert_int_equal(got.runs, 3);

    jt_trial_usage_t zero = {.present = true};
    got = decode_packed(&zero);
    assert_true(got.present && got.runs == 0 && got.max_rss_kb == 0);

    jt_trial_usage_t out = {.present = true, .runs = 9};
    assert_false(jt_trial_usage_decode(NULL, &out)); /* a trial_end without usage */
    assert_false(out.present);
    assert_int_equal(out.runs, 0);
    assert_true(decodes(NULL, NULL));
    assert_false(decodes(NULL, "max_rss_kb"));
    assert_false(decodes(pack_negative, "user_us"));
    assert_false(decodes(pack_string, "runs"));
    assert_false(decodes(pack_float, "system_us"));

    json_t *j = jt_trial_usage_json(&u);
    assert_int_equal(json_integer_value(json_object_get(j, "user_us")), 2000000);
    assert_int_equal(json_integer_value(json_object_get(j, "max_rss_kb")), 120000);
    assert_int_equal(json_integer_value(json_object_get(j, "runs")), 3);
    json_decref(j);
    jt_trial_usage_t absent = {0};
    j = jt_trial_usage_json(&absent);
    assert_true(json_is_null(j));
    json_decref(j);
}

/* ---- the real runner ---- */

/* Start a measure job of `code` (function f, one test case f(1)) in a fresh
 * runner kept in the fixture, and wait for trials_ready. */
static void start_job(fixture_t *f, const char *code, bool same_process, int memory_limit_mb)
{
    json_t *body = json_pack("{s:s, s:s, s:[{s:[i], s:n}], s:f, s:i, s:s}", "candidate_code", code,
                             "function_name", "f", "test_cases", "inputs", 1, "expected_output",
                             "timeout_seconds", 20.0, "memory_limit_mb", memory_limit_mb,
                             "repetition_mode", same_process ? "same_process" : "fresh_process");
    assert_non_null(body);
    char *text = json_dumps(body, 0);
    json_decref(body);
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err;
    jt_status_t s = jt_job_from_json(&job, text, strlen(text), &err);
    free(text);
    if (s != JT_OK)
        fprintf(stderr, "job: %s\n", err.message);
    assert_int_equal(s, JT_OK);
    s = jt_runner_spawn(&f->cfg, &f->runner, &err);
    if (s != JT_OK)
        fprintf(stderr, "spawn: %s\n", err.message);
    assert_int_equal(s, JT_OK);
    s = jt_runner_start_measure(f->runner, &job, -1, &err);
    jt_job_cleanup(&job);
    assert_int_equal(s, JT_OK);
    uint8_t *data;
    msgpack_unpacked msg;
    assert_int_equal(jt_runner_recv(f->runner, RECV_MS, &data, &msg), JT_OK);
    assert_true(jt_mp_str_eq(jt_mp_find(&msg.data, "t"), "trials_ready"));
    msgpack_unpacked_destroy(&msg);
    free(data);
}

static void send_op(jt_runner_t *r, const char *op, long long id, const char *which,
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
    assert_int_equal(jt_runner_send(r, f.sb.data, f.sb.size), JT_OK);
    jt_mp_frame_discard(&f);
}

/* What one trial reported: its usage, whether it ended ok, and the first
 * run's output of test 0 when the reference came (a number; NaN else). */
typedef struct {
    bool ok;
    jt_trial_usage_t usage;
    double reference;
} trial_report_t;

static trial_report_t run_trial(jt_runner_t *r, long long id, const char *which, unsigned long runs)
{
    trial_report_t rep = {.reference = -1.0};
    send_op(r, "trial", id, which, runs);
    for (;;) {
        uint8_t *data;
        msgpack_unpacked msg;
        assert_int_equal(jt_runner_recv(r, RECV_MS, &data, &msg), JT_OK);
        const msgpack_object *t = jt_mp_find(&msg.data, "t");
        bool done = jt_mp_str_eq(t, "trial_done");
        if (jt_mp_str_eq(t, "trial_ready")) {
            send_op(r, "go", id, NULL, 0);
        } else if (jt_mp_str_eq(t, "trial_end")) {
            const msgpack_object *ok = jt_mp_find(&msg.data, "ok");
            rep.ok = ok != NULL && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
            if (!rep.ok) {
                char *m = jt_mp_strdup(jt_mp_find(&msg.data, "message"));
                fprintf(stderr, "trial %lld failed: %s\n", id, m ? m : "?");
                free(m);
            }
            jt_trial_usage_decode(jt_mp_find(&msg.data, "usage"), &rep.usage);
        } else if (jt_mp_str_eq(t, "outputs") &&
                   jt_mp_str_eq(jt_mp_find(&msg.data, "kind"), "reference")) {
            const msgpack_object *results = jt_mp_find(&msg.data, "results");
            if (results != NULL && results->type == MSGPACK_OBJECT_ARRAY &&
                results->via.array.size > 0)
                jt_mp_number(jt_mp_find(&results->via.array.ptr[0], "output"), &rep.reference);
        } else if (!done && !jt_mp_str_eq(t, "outputs")) {
            char *name = jt_mp_strdup(t);
            fprintf(stderr, "unexpected frame %s\n", name ? name : "?");
            free(name);
            fail();
        }
        msgpack_unpacked_destroy(&msg);
        free(data);
        if (done)
            return rep;
    }
}

/* Say "done" and read up to the runner's end frame. */
static void finish_job(jt_runner_t *r)
{
    send_op(r, "done", -1, NULL, 0);
    for (;;) {
        uint8_t *data;
        msgpack_unpacked msg;
        assert_int_equal(jt_runner_recv(r, RECV_MS, &data, &msg), JT_OK);
        bool end = jt_mp_str_eq(jt_mp_find(&msg.data, "t"), "end");
        msgpack_unpacked_destroy(&msg);
        free(data);
        if (end)
            return;
    }
}

static uint64_t cpu_us(const jt_trial_usage_t *u)
{
    return u->user_us + u->system_us;
}

/* Each call burns 0.3 s of CPU in user mode (the clock, a system call, is
 * read every 20,000 additions) and returns the CPU time its run used so far
 * (time.process_time: user + system since the fork). */
static const char burn_code[] = "import time\n"
                                "def f(x):\n"
                                "    t = time.process_time()\n"
                                "    n = 0\n"
                                "    while time.process_time() - t < 0.3:\n"
                                "        for i in range(20000):\n"
                                "            n += i\n"
                                "    return time.process_time()\n";

static void print_usage(const char *what, const jt_trial_usage_t *u)
{
    fprintf(stderr, "%s: user %llu us, system %llu us, max_rss %llu KiB, runs %llu\n", what,
            (unsigned long long)u->user_us, (unsigned long long)u->system_us,
            (unsigned long long)u->max_rss_kb, (unsigned long long)u->runs);
}

/* Fresh runs: one run's usage is the CPU time the run measured itself (its
 * own clock stops just before it packs its answer and exits); three runs
 * add up; the null candidate's runs cost little. */
static void cpu_bound_trial_reports_its_cpu_time(void **state)
{
    fixture_t *f = *state;
    start_job(f, burn_code, false, 512);
    trial_report_t one = run_trial(f->runner, 1, "candidate", 1);
    print_usage("candidate x1", &one.usage);
    fprintf(stderr, "the run's own CPU time: %.6f s\n", one.reference);
    assert_true(one.ok);
    assert_true(one.usage.present);
    assert_int_equal(one.usage.runs, 1);
    assert_true(one.usage.max_rss_kb > 0);
    assert_true(one.usage.user_us >= 250000);
    assert_true(one.reference >= 0.3);
    double own_us = one.reference * 1e6;
    assert_true((double)cpu_us(&one.usage) >= own_us - 5000);
    assert_true((double)cpu_us(&one.usage) <= own_us + 50000);

    trial_report_t three = run_trial(f->runner, 2, "candidate", 3);
    print_usage("candidate x3", &three.usage);
    assert_true(three.ok && three.usage.present);
    assert_int_equal(three.usage.runs, 3);
    assert_true(cpu_us(&three.usage) >= 3 * 300000);
    assert_true(cpu_us(&three.usage) <= 3 * (uint64_t)(own_us + 50000));

    trial_report_t null = run_trial(f->runner, 3, "null", 3);
    print_usage("null x3", &null.usage);
    assert_true(null.ok && null.usage.present);
    assert_int_equal(null.usage.runs, 3);
    assert_true(cpu_us(&null.usage) < 300000);
    assert_true(null.usage.max_rss_kb > 0);
    finish_job(f->runner);
}

/* same_process: the one run of a trial makes every call, and its usage
 * covers them all. */
static void same_process_trial_is_one_run(void **state)
{
    fixture_t *f = *state;
    start_job(f, burn_code, true, 512);
    trial_report_t rep = run_trial(f->runner, 1, "candidate", 3);
    print_usage("same_process x3", &rep.usage);
    assert_true(rep.ok && rep.usage.present);
    assert_int_equal(rep.usage.runs, 1);
    assert_true(cpu_us(&rep.usage) >= 3 * 300000);
    assert_true(cpu_us(&rep.usage) < 3 * 300000 + 500000);
    assert_true(rep.usage.max_rss_kb > 0);
    finish_job(f->runner);
}

/* A run that fills 100 MiB (b'x' * n writes every page) peaks above
 * 100,000 KiB; the null candidate's runs stay far below. */
static void allocating_100_mb_shows_in_max_rss(void **state)
{
    static const char code[] = "def f(x):\n"
                               "    b = b'x' * (100 << 20)\n"
                               "    return len(b)\n";
    fixture_t *f = *state;
    start_job(f, code, false, 1024);
    trial_report_t big = run_trial(f->runner, 1, "candidate", 2);
    print_usage("100 MiB x2", &big.usage);
    assert_true(big.ok && big.usage.present);
    assert_int_equal(big.usage.runs, 2);
    assert_true(big.usage.max_rss_kb >= 100000);
    trial_report_t null = run_trial(f->runner, 2, "null", 1);
    print_usage("null x1", &null.usage);
    assert_true(null.usage.present);
    assert_true(null.usage.max_rss_kb + 90000 < big.usage.max_rss_kb);
    finish_job(f->runner);
}

/* A trial whose run fails still reports the run it reaped. */
static void failed_trial_still_reports_usage(void **state)
{
    static const char code[] = "def f(x):\n"
                               "    raise ValueError('no')\n";
    fixture_t *f = *state;
    start_job(f, code, false, 512);
    trial_report_t rep = run_trial(f->runner, 1, "candidate", 5);
    print_usage("failing x5", &rep.usage);
    assert_false(rep.ok);
    assert_true(rep.usage.present);
    assert_int_equal(rep.usage.runs, 1); /* the first run failed: the trial stopped there */
    assert_true(rep.usage.max_rss_kb > 0);
    finish_job(f->runner);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(codec_round_trip_and_absence),
    cmocka_unit_test_setup_teardown(cpu_bound_trial_reports_its_cpu_time, setup, teardown),
    cmocka_unit_test_setup_teardown(same_process_trial_is_one_run, setup, teardown),
    cmocka_unit_test_setup_teardown(allocating_100_mb_shows_in_max_rss, setup, teardown),
    cmocka_unit_test_setup_teardown(failed_trial_still_reports_usage, setup, teardown),
};

JT_UNIT_MAIN(tests)
