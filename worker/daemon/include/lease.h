/* lease.h -- the exclusive lease of a measurement domain (host + socket), kept in a JetStream KV
 * key.
 *
 * acquire = create-if-absent, renew = update with the last revision (CAS),
 * release = delete only while still the holder (a KV delete marker published
 * with an expected last subject sequence). The bucket's TTL ends a lease that
 * is not renewed; expiry is silent, so waiters poll, and they also watch the
 * key to wake at once on a release (a watch NATS refuses is tried again with
 * back-off, its reason logged; waiters poll meanwhile).
 *
 * Threads: every function takes the lease's lock, so any thread may call
 * any of them; the worker acquires and releases on its job thread and renews
 * on its event-loop thread. jt_lease_acquire blocks while waiting (the lock is
 * not held while it sleeps).
 */
#ifndef JT_LEASE_H
#define JT_LEASE_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define JT_LEASE_POLL_MS 10    /* a waiter retries at least this often (silent expiry) */
#define JT_LEASE_RENEW_MS 2000 /* how often the holder renews */
#define JT_LEASE_KEY_MAX 160

typedef struct jt_lease jt_lease_t;

/* The lease key of a measurement domain: "<host>.socket<N>", the host name
 * with every character outside [A-Za-z0-9_-] replaced by '_'. */
void jt_lease_key(char *buf, size_t len, const char *host, int socket);

/* A lease handle for key in bucket kv, held under the name holder (e.g. the
 * worker id); js is the JetStream context kv was bound with (it publishes
 * the conditional delete). js and kv are not owned and must outlive the
 * handle. Holds nothing yet. On success *out is owned by the caller
 * (jt_lease_destroy); JT_ERR_INVALID for a key NATS would refuse. */
jt_status_t jt_lease_create(jsCtx *js, kvStore *kv, const char *key, const char *holder,
                            jt_lease_t **out, jt_error_t *err);

/* Free the handle. It does not release a held lease: call jt_lease_release
 * first (a process that dies holding it leaves it to the TTL). NULL: no-op. */
void jt_lease_destroy(jt_lease_t *l);

/* One attempt to take the lease for task_id (recorded in the value).
 * JT_OK: held now. JT_ERR_PROTOCOL: someone holds it. Other codes: NATS
 * trouble (JT_ERR_TIMEOUT, JT_ERR_IO). Holding it already is JT_OK. */
jt_status_t jt_lease_try_acquire(jt_lease_t *l, const char *task_id, jt_error_t *err);

/* Take the lease, waiting as long as it takes: retry every JT_LEASE_POLL_MS
 * and at once when the key changes (watched). Stops waiting when stop(ctx)
 * returns nonzero (checked on every wake; stop may be NULL) or after
 * timeout_ms (< 0: no limit): JT_ERR_TIMEOUT, nothing held. NATS errors while
 * waiting are retried with back-off (20 ms doubling up to 2 s), not returned. */
jt_status_t jt_lease_acquire(jt_lease_t *l, const char *task_id, int timeout_ms,
                             int (*stop)(void *ctx), void *ctx, jt_error_t *err);

/* Renew the held lease (restarts the bucket TTL). JT_OK: renewed.
 * JT_ERR_MISSING: not held (nothing done). JT_ERR_PROTOCOL: the lease is
 * lost — another holder wrote the key, it expired, or no renewal could be
 * confirmed for half the TTL — and the handle no longer holds it: abort the
 * work it protected. JT_ERR_TIMEOUT / JT_ERR_IO: this attempt failed but the
 * lease may still be ours; try again at the next tick. */
jt_status_t jt_lease_renew(jt_lease_t *l, jt_error_t *err);

/* Give the lease up, only if we still hold it (the delete carries the
 * revision of our last write, so it fails if anyone wrote since). JT_OK:
 * released; JT_ERR_MISSING: not held; JT_ERR_PROTOCOL: it was no longer ours
 * (left untouched); other codes: NATS trouble that lasted the whole TTL
 * (JT_LEASE_TTL_NS), through which the delete is retried with back-off (the TTL
 * ends the lease then). Blocks while retrying. The handle holds nothing
 * afterwards in every case. */
jt_status_t jt_lease_release(jt_lease_t *l, jt_error_t *err);

/* Whether the handle believes it holds the lease. */
bool jt_lease_held(jt_lease_t *l);

/* KV revision of our last write (0 when not held). */
uint64_t jt_lease_revision(jt_lease_t *l);

#endif
