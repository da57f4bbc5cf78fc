/* bus.h -- the NATS connection of a JouleTrace program (connect ensures the topology, topology.h).
 *
 * Thread-safety: nats.c objects are thread-safe; jt_bus_t is filled once by
 * jt_bus_connect and read-only afterwards.
 */
#ifndef JT_BUS_H
#define JT_BUS_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

#include "nats_credentials.h"
#include "status.h"
#include "topology.h"

typedef struct {
    natsConnection *nc;
    jsCtx *js;
    kvStore *tasks;
    kvStore *leases;
    kvStore *workers;
    kvStore *cancels;
    kvStore *idempotency;
} jt_bus_t;

/* Connect to url (e.g. JOULETRACE_NATS_URL) with the client name `name`,
 * reconnecting forever, ensure the topology and bind every KV bucket. On
 * failure *bus is left empty and *err says what to check (is nats-server
 * running with -js at that address?). */
jt_status_t jt_bus_connect(const char *url, const char *name, const jt_topology_opts_t *o,
                           jt_bus_t *bus, jt_error_t *err);

/* jt_bus_connect with the user and password of creds (loaded by jt_nats_auth_prepare;
 * NULL or unset: none beyond what the URL holds). creds is only read; nats.c keeps its own
 * copy for reconnects. Errors never show the password. */
jt_status_t jt_bus_connect_auth(const char *url, const jt_nats_credentials_t *creds,
                                const char *name, const jt_topology_opts_t *o, jt_bus_t *bus,
                                jt_error_t *err);

/* Close everything jt_bus_connect opened (safe on an empty bus). */
void jt_bus_close(jt_bus_t *bus);

/* Number of jobs waiting in the work queue (stream messages not yet acked),
 * or -1 on error. */
int64_t jt_bus_pending_jobs(jt_bus_t *bus);

/* "subject prefix" + task id into buf. Returns false when it does not fit or
 * the id is not a task id (jt_task_id_valid). */
bool jt_bus_task_subject(char *buf, size_t len, const char *prefix, const char *task_id);

#endif
