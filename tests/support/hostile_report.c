/* hostile_report.c -- the sandbox tests' judgement of the worker's report and side effects. */
#include "hostile_report.h"

#include <fcntl.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostile_host.h"

const expect_t PASSED[2] = {{"passed", NULL}};

static bool matches(const char *pattern, const char *text)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
        return false;
    bool m = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

json_t *check_report(ctx_t *c, const char *who, size_t n, int want_exit)
{
    if (c->exit_code != want_exit)
        hostile_fail(c, who, "exit code %d, expected %d", c->exit_code, want_exit);
    json_t *v = json_object_get(c->report, "validation");
    json_t *results = json_object_get(v, "test_results");
    if (!json_is_object(c->report) ||
        !json_is_number(json_object_get(c->report, "processing_time_seconds")) ||
        !json_is_object(v) || !json_is_array(results)) {
        hostile_fail(c, who,
                     "stdout is not a report {validation{..., test_results[]}, "
                     "processing_time_seconds}");
        return NULL;
    }
    if (json_array_size(results) != n ||
        json_integer_value(json_object_get(v, "total_tests")) != (json_int_t)n) {
        hostile_fail(c, who, "%zu test_results / total_tests %lld, expected %zu",
                     json_array_size(results),
                     (long long)json_integer_value(json_object_get(v, "total_tests")), n);
        return NULL;
    }
    size_t passed = 0, i;
    json_t *rec;
    json_array_foreach(results, i, rec)
    {
        const char *status = json_string_value(json_object_get(rec, "status"));
        json_t *msg = json_object_get(rec, "message"), *secs = json_object_get(rec, "seconds");
        if (!json_is_string(json_object_get(rec, "test_id")) || !status ||
            !json_is_boolean(json_object_get(rec, "passed")) || !json_is_number(secs) ||
            json_number_value(secs) < 0 || !(json_is_string(msg) || json_is_null(msg)) ||
            !json_object_get(rec, "actual_output")) {
            hostile_fail(c, who, "test_results[%zu] lacks a field or has a wrong type", i);
            continue;
        }
        bool ok = json_is_true(json_object_get(rec, "passed"));
        if (ok != (strcmp(status, "passed") == 0))
            hostile_fail(c, who, "test_results[%zu]: passed=%d but status %s", i, ok, status);
        passed += ok;
    }
    bool correct = json_is_true(json_object_get(v, "is_correct"));
    if (json_integer_value(json_object_get(v, "passed_tests")) != (json_int_t)passed ||
        correct != (passed == n) || correct != (c->exit_code == 0))
        hostile_fail(
            c, who, "summary disagrees: passed_tests %lld, is_correct %d, %zu records passed",
            (long long)json_integer_value(json_object_get(v, "passed_tests")), correct, passed);
    return results;
}

void check_record(ctx_t *c, json_t *results, size_t i, const char *test_id, const expect_t ok[2])
{
    json_t *rec = json_array_get(results, i);
    const char *id = json_string_value(json_object_get(rec, "test_id"));
    const char *status = json_string_value(json_object_get(rec, "status"));
    const char *msg = json_string_value(json_object_get(rec, "message"));
    if (!id || strcmp(id, test_id) != 0) {
        hostile_fail(c, test_id, "record %zu has test_id %s", i, id ? id : "(none)");
        return;
    }
    for (size_t k = 0; k < 2 && ok[k].status; k++) {
        if (!status || strcmp(status, ok[k].status) != 0)
            continue;
        if (ok[k].pattern && !(msg && matches(ok[k].pattern, msg)))
            hostile_fail(c, test_id, "status %s, but message \"%s\" does not match /%s/", status,
                         msg ? msg : "(null)", ok[k].pattern);
        return;
    }
    hostile_fail(c, test_id, "status %s (message \"%s\"), expected %s%s%s",
                 status ? status : "(none)", msg ? msg : "(null)", ok[0].status,
                 ok[1].status ? " or " : "", ok[1].status ? ok[1].status : "");
}

void check_side_effects(ctx_t *c, const hostile_t *h)
{
    if (h->arg == ARG_PORT) {
        fcntl(c->listen_fd, F_SETFL, O_NONBLOCK);
        int fd = accept(c->listen_fd, NULL, NULL);
        if (fd >= 0) {
            hostile_fail(c, h->kind,
                         "the test's listening socket on 127.0.0.1 accepted a connection");
            close(fd);
        }
    }
    if (h->arg == ARG_FILE && access(BIG_FILE, F_OK) == 0) {
        hostile_fail(c, h->kind, "%s exists in the test's working directory", BIG_FILE);
        remove(BIG_FILE);
    }
    char desc[1024], name[256] = "";
    if (strcmp(h->kind, "sysv_ipc") == 0 && hostile_sysv_key(HOSTILE_SYSV_KEY, desc, sizeof desc))
        hostile_fail(c, h->kind, "System V objects of the candidate on the host:%s", desc);
    if (hostile_host_markers(1, desc, sizeof desc) > 0)
        hostile_fail(c, h->kind, "files of the candidate reached the host:%s", desc);
    gethostname(name, sizeof name - 1);
    if (strcmp(name, c->hostname) != 0)
        hostile_fail(c, h->kind, "the host's name changed from %s to %s", c->hostname, name);
}
