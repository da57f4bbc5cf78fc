/* bus_names.h -- every NATS subject, stream, consumer and KV bucket name of JouleTrace. */
#ifndef JT_BUS_NAMES_H
#define JT_BUS_NAMES_H

/* Jobs: a work-queue stream; publish msgpack jobs here with Nats-Msg-Id = task id. */
#define JT_STREAM_JOBS "JOULETRACE_JOBS"
#define JT_SUBJECT_JOBS "jouletrace.jobs.measure"
#define JT_CONSUMER_WORKERS "jouletrace-workers" /* one durable pull consumer, shared */

/* Per task (suffix: the task id, [A-Za-z0-9_-]). Payloads are msgpack maps. */
#define JT_SUBJECT_PROGRESS_PREFIX "jouletrace.progress." /* progress records */
#define JT_SUBJECT_RESULT_PREFIX "jouletrace.result."     /* the final record */
#define JT_SUBJECT_CANCEL_PREFIX "jouletrace.cancel."     /* empty body: cancel the task */

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

#endif
