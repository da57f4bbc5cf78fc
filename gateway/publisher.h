/* publisher.h -- group commit of submissions: task records, then jobs, acknowledged by JetStream.
 *
 * Many civetweb threads submit at once; one publisher thread takes every
 * waiting submission as a batch, publishes all their "queued" records to the
 * tasks KV bucket asynchronously, waits for every acknowledgement, then
 * publishes the jobs of the records that were stored (Nats-Msg-Id = task
 * id) and waits again, and only then wakes the submitters. So each task's
 * record is stored before its job is published (pipeline contract), a
 * successful submit means the job is in the stream, and the NATS round trips
 * are shared by the whole batch instead of paid twice per request.
 *
 * The record is written the way kvStore_Put writes it (a JetStream publish
 * to "$KV.<bucket>.<task id>"), so readers see an ordinary KV entry.
 * jt_publisher_submit may be called from any thread.
 */
#ifndef JT_GW_PUBLISHER_H
#define JT_GW_PUBLISHER_H

#include <nats/nats.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define JT_PUBLISHER_ACK_WAIT_MS 5000 /* per message; a batch waits this plus 1 s at most */
#define JT_PUBLISHER_MAX_BATCH 512

typedef struct jt_publisher jt_publisher_t;

/* Start the publisher thread on nc (borrowed; must outlive the publisher).
 * Returns JT_OK and *out, or JT_ERR_NOMEM / JT_ERR_IO / JT_ERR_SYSTEM. */
jt_status_t jt_publisher_create(jt_publisher_t **out, natsConnection *nc);

/* Stop the thread after the submissions already queued and release the
 * JetStream context. Safe on NULL. No submit may be running or start
 * afterwards. nats.c may still call the ack handler (a late acknowledgement,
 * an expired wait), so the memory stays. */
void jt_publisher_stop(jt_publisher_t *p);

/* Free a stopped publisher. Only once no nats.c thread can run its ack handler
 * any more: after its connection is destroyed and nats_CloseAndWait returned
 * NATS_OK. Safe on NULL. */
void jt_publisher_destroy(jt_publisher_t *p);

/* Store record (JSON text, record_len bytes) under task_id in the tasks bucket,
 * then publish job (msgpack) on the jobs subject with Nats-Msg-Id = task_id.
 * Blocks until both are acknowledged or one failed. Returns 0 when the job is
 * stored in the stream; else an HTTP status for the client (413: above the
 * broker's max_payload, 429: the stream is full, 503: NATS failed or timed
 * out) with *why (static text) set. On failure the record may or may not
 * have been stored; the job was not acknowledged. */
int jt_publisher_submit(jt_publisher_t *p, const char *task_id, const char *record,
                        size_t record_len, const uint8_t *job, size_t job_len, const char **why);

#endif
