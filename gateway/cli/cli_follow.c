/* cli_follow.c -- the jouletrace client following a task or batch to its end over its event stream.
 */
#include "cli_follow.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli_sse.h"
#include "cli_summary.h"

int jt_cli_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > JT_CLI_ID_MAX)
        return 0;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

void jt_cli_route(char *path, size_t cap, jt_cli_kind_t kind, const char *id, const char *suffix)
{
    snprintf(path, cap, "/api/v1/%s/%s%s", kind == JT_CLI_KIND_BATCH ? "batches" : "tasks", id,
             suffix);
}

int jt_cli_request_record(const jt_cli_t *cli, const char *method, const char *id,
                          jt_cli_kind_t *kind, jt_cli_resp_t *r)
{
    char path[JT_CLI_PATH_MAX];
    jt_cli_kind_t k = *kind == JT_CLI_KIND_BATCH ? JT_CLI_KIND_BATCH : JT_CLI_KIND_TASK;
    jt_cli_route(path, sizeof path, k, id, "");
    int rc = jt_cli_request(cli, method, path, NULL, 0, r);
    if (rc == JT_CLI_OK && r->status == 404 && *kind == JT_CLI_KIND_AUTO) {
        jt_cli_resp_free(r);
        k = JT_CLI_KIND_BATCH;
        jt_cli_route(path, sizeof path, k, id, "");
        rc = jt_cli_request(cli, method, path, NULL, 0, r);
    }
    *kind = k;
    return rc;
}

/* The stream's reader state. */
typedef struct {
    jt_cli_progress_t *p;
    bool ended;       /* the event `result` came */
    bool ended_shown; /* and its record was shown as the final line */
} follow_t;

static bool on_event(void *ctx, const char *event, const char *data)
{
    follow_t *f = ctx;
    bool result = strcmp(event, "result") == 0;
    if (!result && strcmp(event, "progress") != 0)
        return true;
    json_t *rec = json_loads(data, JSON_DECODE_ANY, NULL);
    if (f->p && json_is_object(rec)) {
        if (result) {
            jt_cli_progress_end(f->p, rec);
            f->ended_shown = true;
        } else {
            jt_cli_progress_show(f->p, rec);
        }
    }
    json_decref(rec);
    f->ended = result;
    return !result;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int jt_cli_follow(const jt_cli_t *cli, const char *id, jt_cli_kind_t *kind, jt_cli_progress_t *p,
                  jt_cli_resp_t *final)
{
    char path[JT_CLI_PATH_MAX];
    jt_cli_kind_t k = *kind == JT_CLI_KIND_BATCH ? JT_CLI_KIND_BATCH : JT_CLI_KIND_TASK;
    memset(final, 0, sizeof *final);
    for (;;) {
        follow_t f = {.p = p};
        jt_cli_resp_t refusal;
        jt_cli_route(path, sizeof path, k, id, "/events");
        int rc = jt_cli_sse_read(cli, path, on_event, &f, &refusal);
        if (rc != JT_CLI_OK)
            return rc;
        if (refusal.status == 404 && *kind == JT_CLI_KIND_AUTO && k == JT_CLI_KIND_TASK) {
            jt_cli_resp_free(&refusal);
            k = JT_CLI_KIND_BATCH;
            continue;
        }
        if (refusal.status != 0) {
            rc = jt_cli_refusal(&refusal, id);
            jt_cli_resp_free(&refusal);
            return rc;
        }
        /* The final record as GET answers it (a batch's with its ranking merged in). */
        jt_cli_route(path, sizeof path, k, id, "");
        rc = jt_cli_request(cli, "GET", path, NULL, 0, final);
        if (rc != JT_CLI_OK)
            return rc;
        if (final->status != 200) {
            rc = jt_cli_refusal(final, id);
            jt_cli_resp_free(final);
            return rc;
        }
        if (jt_cli_status_final(final->json)) {
            if (!f.ended_shown && p) /* no usable `result` event: the record read instead */
                jt_cli_progress_end(p, final->json);
            *kind = k;
            return JT_CLI_OK;
        }
        /* The stream ended before the end (a restart, a proxy): read it again. */
        jt_cli_resp_free(final);
        if (cli->deadline > 0 && jt_cli_now() + JT_CLI_RECONNECT_MS / 1000.0 > cli->deadline) {
            fprintf(stderr, "jouletrace: %s: timed out before the end\n", id);
            return JT_CLI_TIMEOUT;
        }
        pause_ms(JT_CLI_RECONNECT_MS);
    }
}
