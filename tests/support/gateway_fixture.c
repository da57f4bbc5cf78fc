/* gateway_fixture.c -- the gateway tests' fixture: a real nats-server and jouletrace-gateway. */
#include "gateway_fixture.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway_http.h"
#include "unit_main.h"

static void dump_gateway_log(const fx_t *fx)
{
    jt_proc_dump_log("gateway", fx->gw.log, 6000);
}

/* Start the gateway with extra "NAME=value" settings (NULL-terminated, may be NULL). */
static void spawn_gateway(fx_t *fx, const char *const *extra)
{
    static char vars[8][320];
    char *envp[64];
    size_t k = 0;
    fx->port = jt_proc_free_port();
    assert_true(fx->port > 0);
    snprintf(vars[0], sizeof vars[0], "JOULETRACE_NATS_URL=%s", fx->nats.url);
    snprintf(vars[1], sizeof vars[1], "JOULETRACE_HTTP_ADDR=127.0.0.1:%d", fx->port);
    snprintf(vars[2], sizeof vars[2], "JOULETRACE_HTTP_THREADS=8");
    snprintf(vars[3], sizeof vars[3], "JOULETRACE_CALIBRATION=%s/none.json", fx->nats.dir);
    snprintf(vars[4], sizeof vars[4], "PATH=/usr/bin:/bin");
    for (int i = 0; i < 5; i++)
        envp[k++] = vars[i];
    for (char **e = environ; *e != NULL && k < 40; e++)
        if (strncmp(*e, "ASAN_", 5) == 0 || strncmp(*e, "UBSAN_", 6) == 0 ||
            strncmp(*e, "LSAN_", 5) == 0)
            envp[k++] = *e;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && k < 63; i++)
        envp[k++] = (char *)extra[i];
    envp[k] = NULL;
    char *argv[] = {(char *)JT_GATEWAY_BIN, NULL};
    snprintf(fx->gw.id, sizeof fx->gw.id, "gateway");
    snprintf(fx->gw.log, sizeof fx->gw.log, "%s/gateway.log", fx->nats.dir);
    fx->gw.pid = jt_proc_spawn(argv, envp, fx->gw.log, SIGKILL, false);
    assert_true(fx->gw.pid > 0);
}

/* Wait until the gateway answers and has connected to NATS. */
static void wait_gateway_ready(fx_t *fx)
{
    double deadline = jt_nats_now() + 15.0;
    while (jt_nats_now() < deadline) {
        jt_curl_resp_t r;
        const char *hdrs[] = {fx->auth[0] != '\0' ? fx->auth : NULL, NULL};
        if (http(fx, "GET", "/api/v1/health", NULL, 0, hdrs, &r) == 0 && r.json != NULL &&
            json_is_true(json_object_get(json_object_get(json_object_get(r.json, "checks"), "nats"),
                                         "connected"))) {
            jt_curl_resp_free(&r);
            return;
        }
        jt_curl_resp_free(&r);
        jt_nats_sleep_ms(50);
    }
    dump_gateway_log(fx);
    fail_msg("gateway not ready within 15 s");
}

int gateway_setup_auth(void **state, const char *const *extra, const char *auth)
{
    jt_topology_opts_t topo;
    jt_error_t err;
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    *state = fx;
    snprintf(fx->auth, sizeof fx->auth, "%s", auth != NULL ? auth : "");
    assert_int_equal(jt_nats_server_start(&fx->nats), 0);
    jt_topology_opts_init(&topo);
    assert_int_equal(jt_bus_connect(fx->nats.url, "test-gateway", &topo, &fx->bus, &err), JT_OK);
    spawn_gateway(fx, extra);
    wait_gateway_ready(fx);
    return 0;
}

int gateway_setup_with(void **state, const char *const *extra)
{
    return gateway_setup_auth(state, extra, NULL);
}

int gateway_setup(void **state)
{
    return gateway_setup_with(state, NULL);
}

const char *gateway_bin(void)
{
    return JT_GATEWAY_BIN;
}

int stop_gateway(fx_t *fx)
{
    return jt_proc_stop(&fx->gw.pid, SIGTERM, 10.0, false);
}

int gateway_teardown(void **state)
{
    fx_t *fx = *state;
    int rc = 0;
    if (fx == NULL)
        return 0;
    /* Every case ends with a clean stop: a sanitizer report or a crash fails it. */
    bool running = fx->gw.pid > 0;
    int status = stop_gateway(fx);
    if (running && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        fprintf(stderr, "gateway did not exit 0 on SIGTERM (status 0x%x)\n", (unsigned)status);
        dump_gateway_log(fx);
        rc = -1;
    }
    jt_bus_close(&fx->bus);
    jt_nats_server_stop(&fx->nats);
    free(fx);
    return rc;
}
