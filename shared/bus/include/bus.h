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
    kvStore *batches;
    kvStore *webhooks;
} jt_bus_t;

/* Connect to url (e.g. JOULETRACE_NATS_URL, one URL or a comma-separated list) with the
 * client name `name`, reconnecting forever, ensure the topology (o may be NULL; its replicas
 * 0 is resolved by jt_topology_replicas) and bind every KV bucket. On
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

/* Give opts every server of url: one NATS URL or several separated by commas (a cluster;
 * blanks around each are ignored), at most 16, the whole list under 1024 bytes. nats.c then
 * connects to one of them and fails over to the others (and to the servers the cluster
 * announces). NATS_INVALID_ARG for an empty or too long list. */
natsStatus jt_bus_set_servers(natsOptions *opts, const char *url);

/* Close everything jt_bus_connect opened, and the subscriptions jt_subscription_retire kept
 * for its connection (safe on an empty bus). */
void jt_bus_close(jt_bus_t *bus);

/* Number of jobs waiting in the work queue (stream messages not yet acked),
 * or -1 on error. */
int64_t jt_bus_pending_jobs(jt_bus_t *bus);

/* "subject prefix" + task id into buf. Returns false when it does not fit or
 * the id is not a task id (jt_task_id_valid). */
bool jt_bus_task_subject(char *buf, size_t len, const char *prefix, const char *task_id);

#endif
