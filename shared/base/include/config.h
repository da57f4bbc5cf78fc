/* config.h -- process configuration read from JOULETRACE_* environment variables. */
#ifndef JT_CONFIG_H
#define JT_CONFIG_H

#include "callback_url.h"
#include "log.h"
#include "status.h"

/* Longest JOULETRACE_LEASE_HOST: the lease key keeps at most this much of a host name. */
#define JT_LEASE_HOST_MAX 95

typedef struct {
    jt_log_level_t log_level;       /* JOULETRACE_LOG_LEVEL: debug|info|warn|error (info) */
    char sandbox_dir[256];          /* JOULETRACE_SANDBOX_DIR: parent of per-job work dirs (/tmp) */
    long sandbox_uid_base;          /* JOULETRACE_SANDBOX_UID_BASE: first uid/gid of the boxes
                                       when started as root; slot N supervises as base+2N and
                                       runs candidates as base+2N+1 (60000) */
    int sandbox_slots;              /* JOULETRACE_SANDBOX_SLOTS: boxes that may run at once on
                                       this host, one per runner (32) */
    int validate_core;              /* JOULETRACE_VALIDATE_CORE: core the gate runs on (0) */
    char runner_path[512];          /* JOULETRACE_RUNNER: sandbox runner executable
                                       ("" = jouletrace-runner beside the running program) */
    long output_limit_bytes;        /* JOULETRACE_OUTPUT_LIMIT_BYTES: captured stdout/stderr cap
                                       per run, each (65536) */
    double validation_budget_seconds; /* JOULETRACE_VALIDATION_BUDGET_SECONDS: wall-clock cap on
                                       one job's whole correctness gate (600) */

    /* energy measurement */
    char meter[16];                 /* JOULETRACE_METER: auto|rapl-sysfs|rapl-perf|estimate (auto) */
    char powercap_root[256];        /* JOULETRACE_POWERCAP_ROOT (/sys/class/powercap) */
    int socket;                     /* JOULETRACE_SOCKET: measurement socket (0) */
    int measure_core;               /* JOULETRACE_MEASURE_CORE: core of the trials (-1 = core 4
                                       when it exists, else the highest-numbered core) */
    char calibration_path[256];     /* JOULETRACE_CALIBRATION (config/socket0_calibration.json) */
    double sample_hz;               /* JOULETRACE_SAMPLE_HZ: sampler rate (100) */
    double estimate_idle_watts;     /* JOULETRACE_ESTIMATE_IDLE_WATTS: estimate meter model (10) */
    double estimate_active_watts;   /* JOULETRACE_ESTIMATE_ACTIVE_WATTS: per busy core (15) */
    double calibration_max_cv;      /* JOULETRACE_CALIBRATION_MAX_CV_PERCENT: idle spread above
                                       which calibrate refuses to write (20) */

    /* the pipeline */
    char nats_url[256];             /* JOULETRACE_NATS_URL (nats://127.0.0.1:4222) */
    char nats_credentials_file[512]; /* JOULETRACE_NATS_CREDENTIALS_FILE: `user:password`
                                       file of mode 600 ("" = connect without credentials;
                                       read by nats_credentials.h, never passed on) */
    char http_addr[64];             /* JOULETRACE_HTTP_ADDR: gateway listen address
                                       (127.0.0.1:8000) */
    long max_pending_jobs;          /* JOULETRACE_MAX_PENDING_JOBS: above this the gateway
                                       answers 429 (10000) */
    int max_ack_pending;            /* JOULETRACE_MAX_ACK_PENDING: jobs in flight across all
                                       workers, the consumer's MaxAckPending (64) */
    char worker_id[64];             /* JOULETRACE_WORKER_ID ("" = host-pid) */
    char lease_host[JT_LEASE_HOST_MAX + 1]; /* JOULETRACE_LEASE_HOST: the host part of the
                                       measurement lease key, shared by every worker that
                                       measures on the same machine ("" = gethostname()) */
    int http_threads;               /* JOULETRACE_HTTP_THREADS: civetweb threads (32) */

    /* webhooks (docs/webhooks.md) */
    char callback_allow[JT_CALLBACK_ALLOW_MAX + 1]; /* JOULETRACE_CALLBACK_ALLOW: allowed callback
                                       targets (callback_url.h; "" = no callback allowed) */
    char callback_secret_file[512]; /* JOULETRACE_CALLBACK_SECRET_FILE: the signing secret, a
                                       file of mode 600 (gateway; required when callbacks are
                                       allowed) */
    long callback_backoff_ms;       /* JOULETRACE_CALLBACK_BACKOFF_MS: first retry delay of a
                                       failed delivery, doubled per attempt up to 5 min (1000;
                                       tests make it short) */
} jt_config_t;

/* Fill *cfg from the environment (unset variables take the defaults above).
 * Returns JT_OK, or JT_ERR_CONFIG with *err naming the variable and the
 * problem; *cfg then holds defaults for the fields not yet read. */
jt_status_t jt_config_load(jt_config_t *cfg, jt_error_t *err);

#endif
