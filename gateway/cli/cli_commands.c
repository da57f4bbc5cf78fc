/* cli_commands.c -- the jouletrace client's commands: submit, watch, result, cancel, validate,
 * batch, compare. */
#include "cli_commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_http.h"
#include "cli_input.h"
#include "cli_progress.h"
#include "cli_summary.h"

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Print an answer's body as it is, with a final newline. */
static void print_body(const jt_cli_resp_t *r)
{
    if (r->body)
        fwrite(r->body, 1, r->len, stdout);
    if (r->len == 0 || r->body[r->len - 1] != '\n')
        putchar('\n');
}

/* The summary of a record of kind. */
static void print_summary(const json_t *rec, jt_cli_kind_t kind)
{
    if (kind == JT_CLI_KIND_BATCH)
        jt_cli_summary_batch(stdout, rec);
    else
        jt_cli_summary_task(stdout, rec);
}

/* Follow id to its end (progress on stderr when it is a terminal) and print the final
 * record; the exit code by its status. */
static int wait_for(const jt_cli_t *cli, const char *id, jt_cli_kind_t kind,
                    const jt_cli_flags_t *fl)
{
    jt_cli_progress_t p;
    bool tty = isatty(STDERR_FILENO) == 1;
    jt_cli_progress_init(&p, stderr, tty);
    jt_cli_resp_t final;
    int rc = jt_cli_follow(cli, id, &kind, tty ? &p : NULL, &final);
    if (rc != JT_CLI_OK) {
        if (p.drawn)
            fputc('\n', stderr);
        return rc;
    }
    if (fl->json)
        print_body(&final);
    else
        print_summary(final.json, kind);
    rc = jt_cli_status_exit(final.json);
    jt_cli_resp_free(&final);
    return rc;
}

/* POST body to path (a submission answered 202 with id_key); print the id or, with wait,
 * follow it. */
static int submit_body(const jt_cli_t *cli, const char *path, const char *body, size_t len,
                       const char *id_key, jt_cli_kind_t kind, const jt_cli_flags_t *fl)
{
    jt_cli_resp_t r;
    int rc = jt_cli_request(cli, "POST", path, body, len, &r);
    if (rc != JT_CLI_OK)
        return rc;
    if (r.status < 200 || r.status > 299) {
        rc = jt_cli_refusal(&r, path);
        jt_cli_resp_free(&r);
        return rc;
    }
    const char *id = str(r.json, id_key);
    if (!id || !jt_cli_id_ok(id)) {
        fprintf(stderr, "jouletrace: %s: HTTP %ld without a valid %s\n", path, r.status, id_key);
        jt_cli_resp_free(&r);
        return JT_CLI_TRANSPORT;
    }
    if (!fl->wait) {
        if (fl->json)
            print_body(&r);
        else
            printf("%s\n", id);
    } else {
        fprintf(stderr, "%s %s %s\n", kind == JT_CLI_KIND_BATCH ? "batch" : "task", id,
                str(r.json, "status") ? str(r.json, "status") : "accepted");
        rc = wait_for(cli, id, kind, fl);
    }
    jt_cli_resp_free(&r);
    return rc;
}

/* Submit the file's bytes as they are (big integers stay exact) to path. */
static int submit_file(const jt_cli_t *cli, const char *path, const char *file, const char *id_key,
                       jt_cli_kind_t kind, const jt_cli_flags_t *fl)
{
    size_t len;
    char *body = jt_cli_read_file(file, &len);
    if (!body)
        return JT_CLI_USAGE;
    int rc = submit_body(cli, path, body, len, id_key, kind, fl);
    free(body);
    return rc;
}

int jt_cli_submit(const jt_cli_t *cli, const char *file, const jt_cli_flags_t *fl)
{
    return submit_file(cli, "/api/v1/measure", file, "task_id", JT_CLI_KIND_TASK, fl);
}

int jt_cli_batch(const jt_cli_t *cli, const char *file, const jt_cli_flags_t *fl)
{
    return submit_file(cli, "/api/v1/batches", file, "batch_id", JT_CLI_KIND_BATCH, fl);
}

/* A JSON string of text (a file's code), as new memory; NULL when it is not UTF-8. */
static char *json_string_of(const char *text, size_t len)
{
    json_t *s = json_stringn(text, len);
    char *out = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    json_decref(s);
    return out;
}

int jt_cli_compare(const jt_cli_t *cli, const char *file_a, const char *file_b,
                   const char *tests_file, const char *function, double max_seconds,
                   const jt_cli_flags_t *fl)
{
    int rc = JT_CLI_USAGE;
    size_t la = 0, lb = 0, lt = 0;
    char *a = NULL, *b = NULL, *tests = NULL, *ja = NULL, *jb = NULL, *jf = NULL, *body = NULL;
    if (!(a = jt_cli_read_file(file_a, &la)) || !(b = jt_cli_read_file(file_b, &lb)) ||
        !(tests = jt_cli_read_file(tests_file, &lt)))
        goto done;
    size_t lead = strspn(tests, " \t\r\n");
    if (tests[lead] != '[') {
        fprintf(stderr, "jouletrace: %s: must hold the JSON list of test cases\n", tests_file);
        goto done;
    }
    ja = json_string_of(a, la);
    jb = json_string_of(b, lb);
    jf = json_string_of(function, strlen(function));
    if (!ja || !jb || !jf) {
        fprintf(stderr, "jouletrace: %s: not UTF-8 text\n",
                !ja   ? file_a
                : !jb ? file_b
                      : "--function");
        goto done;
    }
    size_t cap = strlen(ja) + strlen(jb) + strlen(jf) + lt + 128;
    body = malloc(cap);
    if (!body) {
        fprintf(stderr, "jouletrace: out of memory\n");
        goto done;
    }
    char budget[64] = "";
    if (max_seconds > 0)
        snprintf(budget, sizeof budget, ",\"max_measurement_seconds\":%.0f", max_seconds);
    int n = snprintf(body, cap,
                     "{\"function_name\":%s,\"test_cases\":%s,\"a\":{\"candidate_code\":%s},"
                     "\"b\":{\"candidate_code\":%s}%s}",
                     jf, tests + lead, ja, jb, budget);
    rc = submit_body(cli, "/api/v1/compare", body, (size_t)n, "batch_id", JT_CLI_KIND_BATCH, fl);
done:
    free(a);
    free(b);
    free(tests);
    free(ja);
    free(jb);
    free(jf);
    free(body);
    return rc;
}

int jt_cli_validate(const jt_cli_t *cli, const char *file, const jt_cli_flags_t *fl)
{
    size_t len;
    char *body = jt_cli_read_file(file, &len);
    if (!body)
        return JT_CLI_USAGE;
    jt_cli_resp_t r;
    int rc = jt_cli_request(cli, "POST", "/api/v1/validate", body, len, &r);
    free(body);
    if (rc != JT_CLI_OK)
        return rc;
    const json_t *v = json_object_get(r.json, "validation");
    if (r.status != 200) {
        rc = jt_cli_refusal(&r, "/api/v1/validate");
    } else if (!json_is_object(v)) {
        fprintf(stderr, "jouletrace: /api/v1/validate: HTTP 200 without a validation\n");
        rc = JT_CLI_TRANSPORT;
    } else {
        if (fl->json) {
            print_body(&r);
        } else {
            jt_cli_summary_validation(stdout, v);
            const json_t *t = json_object_get(r.json, "processing_time_seconds");
            if (json_is_number(t))
                printf("%-12s%.3g s\n", "time", json_number_value(t));
        }
        rc = json_is_true(json_object_get(v, "is_correct")) ? JT_CLI_OK : JT_CLI_FAILED;
    }
    jt_cli_resp_free(&r);
    return rc;
}

int jt_cli_watch(const jt_cli_t *cli, const char *id, const jt_cli_flags_t *fl)
{
    jt_cli_progress_t p;
    jt_cli_progress_init(&p, stdout, isatty(STDOUT_FILENO) == 1);
    jt_cli_kind_t kind = fl->kind;
    jt_cli_resp_t final;
    int rc = jt_cli_follow(cli, id, &kind, &p, &final);
    if (rc != JT_CLI_OK) {
        if (p.drawn) /* leave the bar's line before the reason on stderr */
            fputc('\n', stdout);
        return rc;
    }
    rc = jt_cli_status_exit(final.json);
    jt_cli_resp_free(&final);
    return rc;
}

int jt_cli_result(const jt_cli_t *cli, const char *id, const jt_cli_flags_t *fl)
{
    jt_cli_kind_t kind = fl->kind;
    jt_cli_resp_t r;
    int rc = jt_cli_request_record(cli, "GET", id, &kind, &r);
    if (rc != JT_CLI_OK)
        return rc;
    if (r.status != 200) {
        rc = jt_cli_refusal(&r, id);
    } else if (!json_is_object(r.json)) {
        fprintf(stderr, "jouletrace: %s: HTTP 200 without a JSON record\n", id);
        rc = JT_CLI_TRANSPORT;
    } else {
        if (fl->json)
            print_body(&r);
        else
            print_summary(r.json, kind);
        rc = jt_cli_status_final(r.json) ? jt_cli_status_exit(r.json) : JT_CLI_OK;
    }
    jt_cli_resp_free(&r);
    return rc;
}

int jt_cli_cancel(const jt_cli_t *cli, const char *id, const jt_cli_flags_t *fl)
{
    jt_cli_kind_t kind = fl->kind;
    jt_cli_resp_t r;
    int rc = jt_cli_request_record(cli, "DELETE", id, &kind, &r);
    if (rc != JT_CLI_OK)
        return rc;
    if (r.status < 200 || r.status > 299) {
        rc = jt_cli_refusal(&r, id);
    } else if (fl->json) {
        print_body(&r);
    } else {
        const char *status = str(r.json, "status");
        printf("%s %s %s\n", kind == JT_CLI_KIND_BATCH ? "batch" : "task", id,
               status ? status : "cancelled");
    }
    jt_cli_resp_free(&r);
    return rc;
}
