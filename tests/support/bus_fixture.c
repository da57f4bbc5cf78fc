/* bus_fixture.c -- the bus tests' fixture: a real nats-server and a jt_bus_t connected to it. */
#include "bus_fixture.h"

#include <stdlib.h>
#include <string.h>

#include "unit_main.h"

void bus_fixture_connect(bus_fixture_t *f, const jt_topology_opts_t *o)
{
    jt_error_t err;
    memset(&err, 0, sizeof err);
    if (jt_bus_connect(f->srv.url, "test_bus", o, &f->bus, &err) != JT_OK)
        fail_msg("jt_bus_connect: %s: %s", err.path, err.message);
}

int bus_setup(void **state)
{
    bus_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(jt_nats_server_start(&f->srv), 0);
    bus_fixture_connect(f, NULL);
    *state = f;
    return 0;
}

int bus_setup_server(void **state)
{
    bus_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(jt_nats_server_start(&f->srv), 0);
    *state = f;
    return 0;
}

int bus_teardown(void **state)
{
    bus_fixture_t *f = *state;
    jt_bus_close(&f->bus);
    jt_nats_server_stop(&f->srv);
    free(f);
    return 0;
}
