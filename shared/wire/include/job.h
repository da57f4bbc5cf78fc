/* job.h -- the measurement job: schema as C structs, defaults and bounds.
 *
 * A job is what a client sends (REST body or msgpack on the bus). Values whose
 * shape is the client's business (inputs, expected_output, metadata) are kept
 * as msgpack-encoded blobs (jt_blob_t), so that they travel unchanged from the
 * gateway to the sandbox and back.
 */
#ifndef JT_JOB_H
#define JT_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on untrusted input. */
#define JT_MAX_BODY_BYTES (4u * 1024 * 1024)    /* REST body or msgpack job */
#define JT_MAX_CODE_BYTES (256u * 1024)         /* candidate_code */
#define JT_MAX_TEST_CASES 1000u
#define JT_MAX_DEPTH 64u                        /* nesting of any value */
#define JT_MAX_STRING_BYTES (1024u * 1024)      /* any single string */
#define JT_MAX_NAME_BYTES 256u                  /* ids and names (task_id, function_name, ...) */
#define JT_MAX_CALLBACK_URL_BYTES 2048u         /* callback_url (callback_url.h) */

/* Defaults and ranges of the numeric fields (docs/measurement.md, "The job"). */
#define JT_DEFAULT_FUNCTION_NAME "solve"
#define JT_DEFAULT_TIMEOUT_SECONDS 30.0
#define JT_MIN_TIMEOUT_SECONDS 1.0
#define JT_MAX_TIMEOUT_SECONDS 300.0
#define JT_DEFAULT_MEMORY_LIMIT_MB 512
#define JT_MIN_MEMORY_LIMIT_MB 64
#define JT_MAX_MEMORY_LIMIT_MB 8192
#define JT_DEFAULT_TRIALS 5
#define JT_MIN_TRIALS 1
#define JT_MAX_TRIALS 50
#define JT_DEFAULT_WARMUP_TRIALS 2
#define JT_MAX_WARMUP_TRIALS 10
#define JT_DEFAULT_MIN_TRIAL_SECONDS 0.2
#define JT_MAX_MIN_TRIAL_SECONDS 10.0 /* range 0..10; 0 = one run per trial */
#define JT_DEFAULT_TARGET_CV_PERCENT 5.0
#define JT_MAX_TARGET_CV_PERCENT 100.0
#define JT_DEFAULT_THERMAL_WAIT_SECONDS 0.0
#define JT_MAX_THERMAL_WAIT_SECONDS 300.0
#define JT_DEFAULT_ABS_TOL 1e-9
#define JT_DEFAULT_REL_TOL 1e-9

/* An owned msgpack-encoded value. data == NULL means "absent". */
typedef struct {
    uint8_t *data;
    size_t len;
} jt_blob_t;

typedef enum {
    JT_REPEAT_FRESH_PROCESS = 0, /* "fresh_process": every run is a new fork (default) */
    JT_REPEAT_SAME_PROCESS,      /* "same_process": R calls inside one run */
} jt_repetition_mode_t;

typedef struct {
    char *test_id;            /* owned, never NULL after parsing ("t<index+1>" if absent) */
    jt_blob_t inputs;         /* required */
    jt_blob_t expected_output;/* required (msgpack nil for JSON null) */
    jt_blob_t metadata;       /* optional; validated and carried on the wire, not in the result */
} jt_test_case_t;

typedef struct {
    char *task_id;            /* optional in requests; NULL when absent */
    char *candidate_code;     /* required; NUL-terminated, no interior NUL */
    size_t candidate_code_len;
    char *function_name;      /* default "solve" */
    jt_test_case_t *test_cases;
    size_t n_test_cases;      /* 1 .. JT_MAX_TEST_CASES */
    double timeout_seconds;
    int memory_limit_mb;
    int energy_measurement_trials;
    int warmup_trials;
    double min_trial_seconds;
    double target_cv_percent;
    double thermal_wait_seconds;
    char *candidate_id;       /* optional, echoed */
    char *problem_name;       /* optional, echoed */
    char *callback_url;       /* optional webhook target: an http(s) URL that parses
                                 (callback_url.h); the allowlist is the gateway's business */
    double abs_tol;           /* from optional comparison{abs_tol, rel_tol} */
    double rel_tol;
    bool stop_on_first_failure;
    jt_repetition_mode_t repetition_mode;
} jt_job_t;

/* Set every field of caller storage *job to its default (empty strings are
 * NULL, no test cases). Never fails. */
void jt_job_init(jt_job_t *job);

/* Free everything *job owns and re-initialise it. Safe on an initialised job. */
void jt_job_cleanup(jt_job_t *job);

/* Name of a repetition mode as on the wire ("fresh_process", "same_process"). */
const char *jt_repetition_mode_name(jt_repetition_mode_t m);


/* Free a blob and set it absent. */
void jt_blob_free(jt_blob_t *b);

#endif
