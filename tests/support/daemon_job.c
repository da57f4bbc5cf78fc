/* daemon_job.c -- the daemon tests' jobs: request bodies, published on the bus as a client would.
 */
#include "daemon_job.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_names.h"
#include "job.h"
#include "job_json.h"
#include "job_msgpack.h"
#include "unit_main.h"

void make_job(const char *json, uint8_t **data, size_t *len)
{
    jt_job_t job;
    jt_error_t err;
    jt_job_init(&job);
    if (jt_job_from_json(&job, json, strlen(json), &err) != JT_OK)
        fail_msg("test job rejected: %s: %s", err.path, err.message);
    assert_int_equal(jt_job_to_msgpack(&job, data, len), JT_OK);
    jt_job_cleanup(&job);
}

void publish_raw(fixture_t *f, const char *task_id, const void *data, size_t len)
{
    natsMsg *msg = NULL;
    assert_int_equal(natsMsg_Create(&msg, JT_SUBJECT_JOBS, NULL, data, (int)len), NATS_OK);
    assert_int_equal(natsMsgHeader_Set(msg, "Nats-Msg-Id", task_id), NATS_OK);
    jsErrCode jerr = 0;
    assert_int_equal(js_PublishMsg(NULL, f->bus.js, msg, NULL, &jerr), NATS_OK);
    natsMsg_Destroy(msg);
}

void publish_job(fixture_t *f, const char *task_id, const char *json)
{
    uint8_t *data;
    size_t len;
    make_job(json, &data, &len);
    publish_raw(f, task_id, data, len);
    free(data);
}

void job_json(char *buf, size_t len, const char *task_id, const char *code, const char *cases,
              int trials, double min_trial_seconds)
{
    json_t *j = json_pack("{s:s, s:s, s:o, s:i, s:i, s:f, s:f, s:s, s:s}", "candidate_code", code,
                          "function_name", "solve", "test_cases", json_loads(cases, 0, NULL),
                          "energy_measurement_trials", trials, "warmup_trials", 0,
                          "min_trial_seconds", min_trial_seconds, "timeout_seconds", 20.0,
                          "candidate_id", "cand-1", "problem_name", "test-problem");
    if (task_id != NULL)
        json_object_set_new(j, "task_id", json_string(task_id));
    char *text = json_dumps(j, JSON_COMPACT);
    snprintf(buf, len, "%s", text);
    free(text);
    json_decref(j);
}
