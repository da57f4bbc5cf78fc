/* daemon_record.h -- the daemon tests' view of a task: its KV record and its published records. */
#ifndef JT_TESTS_DAEMON_RECORD_H
#define JT_TESTS_DAEMON_RECORD_H

#include <jansson.h>
#include <nats/nats.h>

#include "daemon_fixture.h"

/* A synchronous subscription to prefix<task_id> (progress or result), flushed: nothing
 * published after the return is missed. The caller destroys it. */
natsSubscription *subscribe(fixture_t *f, const char *prefix, const char *task_id);

/* Poll KV until the task's status is one of `want` (space separated); the record (a new
 * reference). Fails the case, showing the worker logs, after `seconds`. */
json_t *wait_record(fixture_t *f, const char *task_id, const char *want, double seconds);

/* Fail the case, showing rec, unless it has every key of keys (NULL-terminated). */
void check_fields(fixture_t *f, const json_t *rec, const char *const *keys);

#endif
