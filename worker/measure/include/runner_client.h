/* runner_client.h -- the worker's side of the sandbox runner: spawn it, send jobs, read results.
 *
 * One thread drives a jt_runner_t (validate, measure, recv); any other
 * thread may call jt_runner_cancel at any time (writes are serialised).
 */
#ifndef JT_RUNNER_CLIENT_H
#define JT_RUNNER_CLIENT_H

#include <msgpack.h>
#include <sys/types.h>

#include "config.h"
#include "job.h"
#include "status.h"
#include "validation.h"

typedef struct jt_runner jt_runner_t;

/* What the runner's boxes obtained (its answer to the start-up ping). */
typedef struct {
    int slot;             /* host-wide box slot; -1 when the runner is not root */
    unsigned features;    /* JT_BOX_* bits (protocol.h) */
    char cgroup[8];       /* "v2", "v1" or "none" */
    char cpu_cgroup[128]; /* cgroup directory counting the box's CPU time (the
                             estimate meter's source); "" without one */
} jt_runner_box_t;

/* Start jouletrace-runner (cfg->runner_path, or the one beside this program)
 * and wait until its interpreter answers a ping. On success *out owns the
 * process. Returns JT_OK, or an error in *err (JT_ERR_SANDBOX / JT_ERR_SYSTEM). */
jt_status_t jt_runner_spawn(const jt_config_t *cfg, jt_runner_t **out, jt_error_t *err);

/* The box report of r's start-up ping. */
const jt_runner_box_t *jt_runner_box(const jt_runner_t *r);

/* Names of what r's boxes lack, into names[0..cap): each JT_BOX_* feature
 * not obtained, and "cgroup" without one. Returns how many were written. */
size_t jt_runner_box_missing(const jt_runner_box_t *box, const char **names, size_t cap);

/* Stop the runner (closing its command pipe ends it; SIGKILL after 2 s) and
 * free r. NULL is a no-op. */
void jt_runner_destroy(jt_runner_t *r);

/* Run the correctness gate for job in the sandbox, pinned to core (-1 =
 * anywhere), and fill *v (initialised by the caller) with one record per test
 * case: outputs are compared here with the expected outputs using the job's
 * tolerances, so expected values never enter the sandbox. Returns JT_OK (the
 * candidate may still be incorrect: see v->is_correct), or an error in *err
 * when the sandbox itself failed (the runner is then unusable when the code is
 * JT_ERR_EOF / JT_ERR_IO / JT_ERR_TIMEOUT: destroy and respawn it). */
jt_status_t jt_runner_validate(jt_runner_t *r, const jt_job_t *job, int core, jt_validation_t *v,
                               jt_error_t *err);

/* ---- lower level: the measurement protocol (sandbox_trials.h) ---- */

/* Ask the runner to start a measure job for job's candidate on core (the
 * sandbox child compiles and answers "trials_ready" or "trials_error"). */
jt_status_t jt_runner_start_measure(jt_runner_t *r, const jt_job_t *job, int core,
                                    jt_error_t *err);

/* Send one command frame (a msgpack map) to the runner. */
jt_status_t jt_runner_send(jt_runner_t *r, const void *data, size_t len);

/* Receive the next frame, waiting at most timeout_ms: *data (caller frees)
 * and the unpacked map in *msg (caller destroys). JT_ERR_PROTOCOL when the
 * frame is not one msgpack value. */
jt_status_t jt_runner_recv(jt_runner_t *r, int timeout_ms, uint8_t **data,
                           msgpack_unpacked *msg);

/* Ask the runner to kill the job in flight (its "end" frame follows).
 * Thread-safe: callable from any thread while another drives the runner. */
jt_status_t jt_runner_cancel(jt_runner_t *r);

#endif
