/* daemon.h -- `jouletrace-worker run`: the long-running worker process on the NATS pipeline. */
#ifndef JT_DAEMON_H
#define JT_DAEMON_H

#include "config.h"

/* Run the worker until SIGTERM or SIGINT. Call from main() before any
 * thread exists: it spawns the sandbox runners (one for jobs, one for
 * validate requests) first, keeps itself off the measurement core, opens the
 * meter (a meter without a fresh calibration is not fatal: the heartbeat
 * says calibrated=false with the reason and jobs fail "not_calibrated"),
 * connects to cfg->nats_url (ensuring the topology), then runs a libuv loop
 * on the calling thread for signals and timers (heartbeat every 3 s, lease
 * renewal every 2 s, InProgress for the job in flight every 10 s) while the
 * job thread and the validate responder work. On a signal it stops pulling,
 * aborts and naks the job in flight, releases the lease, removes its
 * heartbeat and returns 0. Returns nonzero (after a log line) when it cannot
 * start: 1 no runner / bus, 4 internal. */
int jt_daemon_run(const jt_config_t *cfg);

#endif
