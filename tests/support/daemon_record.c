/* daemon_record.c -- the daemon tests' view of a task: its KV record and its published records. */
#include "daemon_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_path.h"
#include "task_state.h"
#include "unit_main.h"

natsSubscription *subscribe(fixture_t *f, const char *prefix, const char *task_id)
{
    char subject[256];
    assert_true(jt_bus_task_subject(subject, sizeof subject, prefix, task_id));
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->bus.nc, subject), NATS_OK);
    assert_int_equal(natsConnection_Flush(f->bus.nc), NATS_OK);
    return sub;
}

json_t *wait_record(fixture_t *f, const char *task_id, const char *want, double seconds)
{
    double until = jt_nats_now() + seconds;
    while (jt_nats_now() < until) {
        json_t *rec = NULL;
        jt_error_t err;
        if (jt_task_get(f->bus.tasks, task_id, &rec, NULL, &err) == JT_OK) {
            char word[40];
            snprintf(word, sizeof word, "%s", jt_json_str(rec, "status"));
            const char *hit = word[0] ? strstr(want, word) : NULL;
            if (hit != NULL && (hit[strlen(word)] == ' ' || hit[strlen(word)] == '\0'))
                return rec;
            json_decref(rec);
        }
        jt_nats_sleep_ms(50);
    }
    daemon_dump_logs(f);
    fail_msg("task %s never reached %s", task_id, want);
    return NULL;
}

void check_fields(fixture_t *f, const json_t *rec, const char *const *keys)
{
    for (const char *const *k = keys; *k != NULL; k++)
        if (json_object_get(rec, *k) == NULL) {
            char *text = json_dumps(rec, JSON_COMPACT);
            fprintf(stderr, "record lacks \"%s\": %.3000s\n", *k, text ? text : "?");
            free(text);
            CHECK(f, json_object_get(rec, *k) != NULL);
        }
}
