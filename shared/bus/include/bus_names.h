/* bus_names.h -- every NATS subject, stream, consumer and KV bucket name of JouleTrace. */
#ifndef JT_BUS_NAMES_H
#define JT_BUS_NAMES_H

/* Jobs: a work-queue stream; publish msgpack jobs here with Nats-Msg-Id = task id. */
#define JT_STREAM_JOBS "JOULETRACE_JOBS"
#define JT_SUBJECT_JOBS "jouletrace.jobs.measure"
/* Batches (docs/ranking.md) travel in the same stream, on their own subjects:
 * a whole batch from a direct publisher (msgpack, Nats-Msg-Id = batch id), and the
 * internal steps a worker takes: one candidate's correctness gate, the batch's measurement. */
#define JT_SUBJECT_BATCHES "jouletrace.jobs.batch"
#define JT_SUBJECT_BATCH_GATE "jouletrace.jobs.gate"   /* msgpack {batch_id, index} */
#define JT_SUBJECT_BATCH_BLOCKS "jouletrace.jobs.block" /* msgpack {batch_id} */
#define JT_SUBJECT_JOBS_ALL "jouletrace.jobs.>"         /* what the workers' consumer reads */
#define JT_CONSUMER_WORKERS "jouletrace-workers" /* one durable pull consumer, shared */

/* Per task (suffix: the task id, [A-Za-z0-9_-]). Payloads are msgpack maps. */
#define JT_SUBJECT_PROGRESS_PREFIX "jouletrace.progress." /* progress records */
#define JT_SUBJECT_RESULT_PREFIX "jouletrace.result."     /* the final record */
#define JT_SUBJECT_CANCEL_PREFIX "jouletrace.cancel."     /* empty body: cancel the task */
/* A job or batch without a usable id (none, or one that breaks the id rule) gets no task: its
 * one answer is a msgpack map on this prefix + its stream sequence (the seq of the publish
 * ack); subscribe to JT_SUBJECT_REJECTED_ALL before publishing (docs/bus.md). */
#define JT_SUBJECT_REJECTED_PREFIX "jouletrace.rejected."
#define JT_SUBJECT_REJECTED_ALL "jouletrace.rejected.*"
/* Header of a final record sent again (a publish for a finished task id): "true". */
#define JT_HEADER_REPLAY "JouleTrace-Replay"

/* Per batch (suffix: the batch id). Payloads are msgpack maps of the batch record. */
#define JT_SUBJECT_BATCH_PROGRESS_PREFIX "jouletrace.batch.progress."
#define JT_SUBJECT_BATCH_RESULT_PREFIX "jouletrace.batch.result." /* the final record */
#define JT_SUBJECT_BATCH_EVENTS_PREFIX "jouletrace.batch.*." /* both of a batch, one subscription */

/* Webhook deliveries: a work-queue stream read by the gateways (one durable consumer). */
#define JT_STREAM_WEBHOOKS "JOULETRACE_WEBHOOKS"
#define JT_SUBJECT_WEBHOOKS "jouletrace.webhooks"
#define JT_CONSUMER_WEBHOOKS "jouletrace-webhooks"

/* Synchronous correctness checks: request/reply, answered by a worker queue group. */
#define JT_SUBJECT_VALIDATE "jouletrace.validate"
#define JT_QUEUE_WORKERS "jouletrace-workers"

/* Reply subjects of our own programs: not _INBOX, which external clients may
 * read under the auth config. */
#define JT_INBOX_PREFIX "_JT_INBOX"

/* KV buckets. */
#define JT_KV_TASKS "jouletrace_tasks"       /* key task id -> latest task record (JSON) */
#define JT_KV_LEASES "jouletrace_leases"     /* key measurement domain -> holder (JSON) */
#define JT_KV_WORKERS "jouletrace_workers"   /* key worker id -> heartbeat (JSON) */
#define JT_KV_CANCELS "jouletrace_cancels"   /* key task id -> "1" when cancellation asked */
#define JT_KV_IDEMPOTENCY "jouletrace_idempotency" /* key hash of Idempotency-Key -> task id */
#define JT_KV_BATCHES "jouletrace_batches"   /* batch record, problem, code, blocks (batch_state.h) */
#define JT_KV_WEBHOOKS "jouletrace_webhooks" /* key "task.<id>" / "batch.<id>" -> delivery state */

/* Timing of the topology (nanoseconds where NATS wants them). */
#define JT_JOBS_DUPLICATE_WINDOW_NS (5LL * 60 * 1000000000)  /* >= 2 min */
#define JT_JOBS_ACK_WAIT_NS (30LL * 1000000000)              /* kept alive with InProgress */
#define JT_JOBS_MAX_DELIVER 3
#define JT_JOBS_MAX_MSG_BYTES (4 * 1024 * 1024 + 65536)      /* a job plus headers */
#define JT_TASKS_TTL_NS (48LL * 3600 * 1000000000)           /* task records kept >= 24 h */
#define JT_LEASE_TTL_NS (10LL * 1000000000)                  /* lease expires unless renewed */
#define JT_HEARTBEAT_TTL_NS (15LL * 1000000000)              /* a silent worker disappears */
#define JT_CANCELS_TTL_NS (48LL * 3600 * 1000000000)
#define JT_IDEMPOTENCY_TTL_NS (24LL * 3600 * 1000000000)
#define JT_BATCHES_TTL_NS (48LL * 3600 * 1000000000)         /* like task records */
#define JT_WEBHOOKS_TTL_NS (48LL * 3600 * 1000000000)
#define JT_WEBHOOK_MAX_DELIVER 12 /* attempts of one delivery (back-off between them) */
#define JT_KV_MAX_VALUE_BYTES (4 * 1024 * 1024 + 65536)      /* a problem or a ranking */

#endif
