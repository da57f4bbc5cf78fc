/* batch_work.h -- a worker's part in batches: intake of a published batch, a candidate's gate, the
 * blocks.
 *
 * The job consumer hands each message of the batch subjects (bus_names.h) to one of these
 * functions on the job thread; each returns how to settle the message (job_execution.h).
 * Method and KV layout: docs/ranking.md and batch_state.h.
 */
#ifndef JT_BATCH_WORK_H
#define JT_BATCH_WORK_H

#include <nats/nats.h>
#include <stdint.h>

#include "job_execution.h"

/* A delivery of a batch message. */
typedef struct {
    const jt_job_context_t *ctx;
    natsMsg *msg;
    uint64_t delivered; /* NumDelivered of this delivery */
    char batch_id[JT_MAX_NAME_BYTES + 1];
    int delay_ms; /* for JT_SETTLE_NAK / JT_SETTLE_REQUEUE */
} jt_batch_delivery_t;

/* The batch id of a message of the batch subjects into d->batch_id: the "batch_id" of its
 * msgpack map (gate and block messages; a published batch may carry one), else its
 * Nats-Msg-Id. Returns false when none is a valid id. */
bool jt_batch_delivery_id(jt_batch_delivery_t *d);

/* JT_SUBJECT_BATCHES: a whole batch from a direct publisher. Stored and queued like a
 * REST batch (jt_batch_store_submit); an invalid one gets a failed batch record with the
 * reason, published on the batch's result subject, when it names a usable id. */
jt_settle_t jt_batch_intake(jt_batch_delivery_t *d);

/* JT_SUBJECT_BATCH_GATE: the correctness gate of one candidate; the last candidate gated
 * queues the batch's measurement (JT_SUBJECT_BATCH_BLOCKS), or ends the batch when no
 * candidate passed. */
jt_settle_t jt_batch_gate(jt_batch_delivery_t *d);

/* JT_SUBJECT_BATCH_BLOCKS: measure the batch's blocks until the ranking separates or the
 * budget is spent (resuming after the blocks stored by an earlier delivery), then store the
 * ranking and end the batch. */
jt_settle_t jt_batch_measure(jt_batch_delivery_t *d);

/* The batch's last allowed delivery of a step failed: the batch ends failed with why
 * (best effort; logged when even that cannot be stored). */
void jt_batch_give_up(jt_batch_delivery_t *d, const char *why);

#endif
