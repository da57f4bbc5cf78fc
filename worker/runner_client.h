/* runner_client.h -- the worker's side of the sandbox runner: spawn it, send jobs, read results.
 *
 * Not thread-safe: one thread uses one jt_runner_t. Spawn runners before the
 * process starts threads (fork+exec is used, but keep the contract simple).
 */
#ifndef JT_RUNNER_CLIENT_H
#define JT_RUNNER_CLIENT_H

#include <sys/types.h>

#include "config.h"
#include "job.h"
#include "status.h"
#include "validation.h"

typedef struct jt_runner jt_runner_t;

/* Start jouletrace-runner (cfg->runner_path, or the one beside this program)
 * and wait until its interpreter answers a ping. On success *out owns the
 * process. Returns JT_OK, or an error in *err (JT_ERR_SANDBOX / JT_ERR_SYSTEM). */
jt_status_t jt_runner_spawn(const jt_config_t *cfg, jt_runner_t **out, jt_error_t *err);

/* Stop the runner (closing its command pipe ends it; SIGKILL after 2 s) and
 * free r. NULL is a no-op. */
void jt_runner_destroy(jt_runner_t *r);

/* Pid of the runner process. */
pid_t jt_runner_pid(const jt_runner_t *r);

/* Run the correctness gate for job in the sandbox, pinned to core (-1 =
 * anywhere), and fill *v (initialised by the caller) with one record per test
 * case: outputs are compared here with the expected outputs using the job's
 * tolerances, so expected values never enter the sandbox. Returns JT_OK (the
 * candidate may still be incorrect: see v->is_correct), or an error in *err
 * when the sandbox itself failed (the runner is then unusable when the code is
 * JT_ERR_EOF / JT_ERR_IO / JT_ERR_TIMEOUT: destroy and respawn it). */
jt_status_t jt_runner_validate(jt_runner_t *r, const jt_job_t *job, int core, jt_validation_t *v,
                               jt_error_t *err);

#endif
