/* daemon_fixture.c -- the daemon tests' fixture: a nats-server and `jouletrace-worker run`
 * processes. */
#include "daemon_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "temp_dir.h"
#include "unit_main.h"

void daemon_dump_logs(fixture_t *f)
{
    for (int i = 0; i < f->n; i++)
        jt_proc_dump_log(f->w[i].id, f->w[i].log, 12000);
}

int daemon_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/jt-daemon-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(jt_nats_server_start(&f->srv), 0);
    jt_error_t err;
    if (jt_bus_connect(f->srv.url, "test_daemon", NULL, &f->bus, &err) != JT_OK)
        fail_msg("jt_bus_connect: %s", err.message);
    *state = f;
    return 0;
}

int daemon_teardown(void **state)
{
    fixture_t *f = *state;
    if (getenv("JT_TEST_VERBOSE") != NULL) /* worker logs even when the case passed */
        daemon_dump_logs(f);
    for (int i = 0; i < f->n; i++)
        jt_proc_stop(&f->w[i].pid, SIGKILL, 10.0, false);
    jt_bus_close(&f->bus);
    jt_nats_server_stop(&f->srv);
    jt_temp_dir_remove(f->dir);
    free(f);
    return 0;
}

/* Start `jouletrace-worker run` as worker id; returns its index. */
static int start_worker(fixture_t *f, const char *id)
{
    assert_true(f->n < MAX_WORKERS);
    jt_proc_t *w = &f->w[f->n];
    snprintf(w->id, sizeof w->id, "%s", id);
    snprintf(w->log, sizeof w->log, "%s/%s.log", f->dir, id);
    char sandbox[256], url[320], cal[320], sbvar[320], idvar[320];
    snprintf(sandbox, sizeof sandbox, "%s/sandbox-%s", f->dir, id);
    assert_int_equal(mkdir(sandbox, 0700), 0);
    snprintf(url, sizeof url, "JOULETRACE_NATS_URL=%s", f->srv.url);
    snprintf(cal, sizeof cal, "JOULETRACE_CALIBRATION=%s/missing-calibration.json", f->dir);
    snprintf(sbvar, sizeof sbvar, "JOULETRACE_SANDBOX_DIR=%s", sandbox);
    snprintf(idvar, sizeof idvar, "JOULETRACE_WORKER_ID=%s", id);
    const char *vars[] = {url,   "JOULETRACE_METER=estimate",  cal, sbvar,
                          idvar, "JOULETRACE_LOG_LEVEL=debug", NULL};
    char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
    assert_int_equal(jt_proc_start(w, argv, vars, false), 0);
    return f->n++;
}

json_t *heartbeat(fixture_t *f, const char *id)
{
    kvEntry *e = NULL;
    if (kvStore_Get(&e, f->bus.workers, id) != NATS_OK)
        return NULL;
    json_t *v = json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, NULL);
    kvEntry_Destroy(e);
    return v;
}

int start_ready_worker(fixture_t *f, const char *id)
{
    int i = start_worker(f, id);
    double until = jt_nats_now() + 60;
    json_t *hb = NULL;
    while (jt_nats_now() < until && (hb = heartbeat(f, id)) == NULL) {
        CHECK(f, jt_proc_alive(f->w[i].pid));
        jt_nats_sleep_ms(50);
    }
    CHECK(f, hb != NULL);
    json_decref(hb);
    return i;
}

int stop_worker(fixture_t *f, int i)
{
    int status = jt_proc_stop(&f->w[i].pid, SIGTERM, 60.0, false);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
