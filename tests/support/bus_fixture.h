/* bus_fixture.h -- the bus tests' fixture: a real nats-server and a jt_bus_t connected to it. */
#ifndef JT_TESTS_BUS_FIXTURE_H
#define JT_TESTS_BUS_FIXTURE_H

#include "bus.h"
#include "nats_server.h"

typedef struct {
    jt_nats_server_t srv;
    jt_bus_t bus;
} bus_fixture_t;

/* Connect f->bus to f->srv with the topology options o (NULL: the defaults), ensuring the
 * topology; fails the running cmocka case when it cannot. */
void bus_fixture_connect(bus_fixture_t *f, const jt_topology_opts_t *o);

/* cmocka setup: a running server and a connected bus (topology ensured). */
int bus_setup(void **state);

/* cmocka setup: a running server, nothing created on it. */
int bus_setup_server(void **state);

/* cmocka teardown: close the bus, stop the server. */
int bus_teardown(void **state);

#endif
