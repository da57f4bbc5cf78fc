/* gateway_fixture.h -- the gateway tests' fixture: a real nats-server and jouletrace-gateway.
 *
 * Shared by test_gateway.c (tasks: submit, read, cancel, stream) and test_gateway_service.c (the
 * other routes, refused requests, NATS down, shutdown). One case = one fixture: its own
 * nats-server and gateway on free 127.0.0.1 ports; the test talks HTTP with libcurl
 * (gateway_http.h), and its own NATS connection plays the worker (gateway_worker.h). Functions
 * fail the running cmocka case when what they need does not happen; every function runs on the
 * test's main thread.
 */
#ifndef JT_TESTS_GATEWAY_FIXTURE_H
#define JT_TESTS_GATEWAY_FIXTURE_H

#include "bus.h"
#include "nats_server.h"
#include "process_harness.h"

typedef struct {
    jt_nats_server_t nats;
    jt_bus_t bus;
    jt_proc_t gw;
    int port;
    char auth[320]; /* "Authorization: Bearer <token>" of the readiness check, "" for none */
} fx_t;

/* cmocka setup: a nats-server, a bus connection with the topology, and the gateway started with
 * extra "NAME=value" settings (NULL-terminated, may be NULL), answering and connected. */
int gateway_setup_with(void **state, const char *const *extra);

/* gateway_setup_with, the readiness check sending the header auth ("Authorization: Bearer
 * <token>", kept in fx->auth) when the gateway is started with tokens. */
int gateway_setup_auth(void **state, const char *const *extra, const char *auth);

/* gateway_setup_with no extra settings. */
int gateway_setup(void **state);

/* The path of the jouletrace-gateway program under test. */
const char *gateway_bin(void);

/* SIGTERM the gateway (SIGKILL after 10 s); its wait status, -1 when it was not running. */
int stop_gateway(fx_t *fx);

/* cmocka teardown: the gateway must exit 0 on SIGTERM (a sanitizer report or a crash fails the
 * case; its log is shown), then the bus and the server are closed. */
int gateway_teardown(void **state);

#endif
