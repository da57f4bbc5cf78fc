/* poison.h -- ends the jobs JetStream gives up on (MaxDeliver reached without an ack).
 *
 * A worker that dies on a job's last allowed delivery cannot store its
 * failure, and a work-queue stream keeps such a message forever. The server
 * announces it on $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>;
 * one worker of the queue group JT_QUEUE_WORKERS takes each advisory, stores
 * the task as failed (error_type "max_deliveries") unless it is already
 * final, publishes the result and deletes the message from the stream.
 * The callback runs on a nats.c thread.
 */
#ifndef JT_POISON_H
#define JT_POISON_H

#include "bus.h"
#include "status.h"

typedef struct jt_poison jt_poison_t;

/* Subscribe to the advisories of the jobs consumer. bus (borrowed) must
 * outlive the listener. On success *out is owned by the caller. */
jt_status_t jt_poison_start(jt_bus_t *bus, const char *worker_id, jt_poison_t **out,
                            jt_error_t *err);

/* Unsubscribe, wait for a callback in flight, free p. NULL: no-op. */
void jt_poison_stop(jt_poison_t *p);

#endif
