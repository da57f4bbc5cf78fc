/* pipeline_record.c -- the pipeline tests' judgement of a task record: fields, numbers, blocks. */
#include "pipeline_record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_path.h"
#include "record_keys.h"

void pl_show(const char *title, const json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    fprintf(stderr, "%s: %.6000s\n", title, text != NULL ? text : "(null)");
    free(text);
}

void pl_require_keys(const pl_t *pl, const json_t *obj, const char *where, const char *const *keys)
{
    for (const char *const *k = keys; *k != NULL; k++)
        if (json_object_get(obj, *k) == NULL) {
            pl_show(where, obj);
            pl_fail(pl, "%s lacks \"%s\"", where, *k);
        }
}

double num_at(const pl_t *pl, const json_t *rec, const char *path)
{
    json_t *v = jt_json_at(rec, path);
    if (!json_is_number(v)) {
        pl_show("record", rec);
        pl_fail(pl, "%s is not a number", path);
    }
    return json_number_value(v);
}

void check_validation(const pl_t *pl, const json_t *rec, bool correct, long passed, long total)
{
    json_t *v = json_object_get(rec, "validation");
    PL_CHECK(pl, json_is_object(v));
    pl_require_keys(pl, v, "validation", VALIDATION_KEYS);
    PL_CHECK(pl, json_is_boolean(json_object_get(v, "is_correct")));
    PL_CHECK(pl, json_is_true(json_object_get(v, "is_correct")) == correct);
    PL_CHECK(pl, json_integer_value(json_object_get(v, "passed_tests")) == passed);
    PL_CHECK(pl, json_integer_value(json_object_get(v, "total_tests")) == total);
    double rate = num_at(pl, v, "pass_rate"); /* a percentage (README) */
    PL_CHECK(pl, fabs(rate - 100.0 * (double)passed / (double)total) < 0.01);
    json_t *es = json_object_get(v, "error_summary");
    PL_CHECK(pl, correct ? (json_is_null(es) || json_is_string(es))
                         : (json_is_string(es) && json_string_length(es) > 0));
    json_t *tr = json_object_get(v, "test_results");
    PL_CHECK(pl, json_is_array(tr) && (long)json_array_size(tr) == total);
    size_t i;
    json_t *t;
    long ok = 0;
    json_array_foreach(tr, i, t)
    {
        pl_require_keys(pl, t, "test_results[]", TEST_RESULT_KEYS);
        ok += json_is_true(json_object_get(t, "passed"));
    }
    PL_CHECK(pl, ok == passed);
}

void check_completed(const pl_t *pl, const json_t *rec, long tests)
{
    if (strcmp(jt_json_str(rec, "status"), "completed") != 0) {
        pl_show("record", rec);
        pl_fail(pl, "task %s is %s, not completed", jt_json_str(rec, "task_id"),
                jt_json_str(rec, "status"));
    }
    pl_require_keys(pl, rec, "record", RECORD_KEYS);
    PL_CHECK(pl, num_at(pl, rec, "progress") == 1.0);
    PL_CHECK(pl, pl_worker_index(pl, jt_json_str(rec, "worker")) >= 0);
    check_validation(pl, rec, true, tests, tests);

    json_t *em = json_object_get(rec, "energy_metrics");
    PL_CHECK(pl, json_is_object(em));
    pl_require_keys(pl, em, "energy_metrics", ENERGY_KEYS);
    for (const char *const *k = ENERGY_KEYS; *k != NULL; k++)
        PL_CHECK(pl, json_is_number(json_object_get(em, *k)));

    json_t *env = json_object_get(rec, "measurement_environment");
    PL_CHECK(pl, json_is_object(env));
    pl_require_keys(pl, env, "measurement_environment", ENVIRONMENT_KEYS);
    PL_CHECK(pl, strcmp(jt_json_str(env, "meter_type"), "rapl-sysfs") == 0);
    PL_CHECK(pl, json_is_false(json_object_get(env, "energy_is_estimated")));
    PL_CHECK(pl, json_integer_value(json_object_get(env, "measurement_core")) == PL_MEASURE_CORE);
    PL_CHECK(pl, json_integer_value(json_object_get(env, "socket")) == 0);
    PL_CHECK(pl, json_is_string(json_object_get(env, "cpu_model")));
    PL_CHECK(pl, json_is_boolean(json_object_get(env, "thermal_controlled")));
    PL_CHECK(pl, json_is_object(json_object_get(env, "calibration")));
    PL_CHECK(pl, json_is_true(jt_json_at(env, "calibration.calibrated")));
    PL_CHECK(pl, num_at(pl, env, "calibration.idle_power_watts") > 0);
    PL_CHECK(pl, num_at(pl, env, "timestamp") > 1.6e9);

    json_t *st = json_object_get(rec, "statistics");
    PL_CHECK(pl, json_is_object(st));
    pl_require_keys(pl, st, "statistics", STATISTICS_KEYS);
    PL_CHECK(pl, json_is_array(json_object_get(st, "outliers")));
    PL_CHECK(pl, json_is_string(json_object_get(st, "early_stop_reason")));
    PL_CHECK(pl, num_at(pl, st, "repeats_per_trial") >= 1);

    json_t *trials = json_object_get(rec, "trials");
    PL_CHECK(pl, json_is_array(trials) && json_array_size(trials) >= 1);
    PL_CHECK(pl, (double)json_array_size(trials) == num_at(pl, st, "trials"));
    size_t i;
    json_t *t;
    json_array_foreach(trials, i, t)
    {
        pl_require_keys(pl, t, "trials[]", TRIAL_KEYS);
        PL_CHECK(pl, num_at(pl, t, "gross_joules.package") > 0);
        PL_CHECK(pl, json_is_number(jt_json_at(t, "net_joules.package")));
        PL_CHECK(pl, num_at(pl, t, "seconds") > 0);
        PL_CHECK(pl, num_at(pl, t, "repeats") >= 1);
        PL_CHECK(pl, num_at(pl, t, "ended_at") > num_at(pl, t, "started_at"));
    }
}
