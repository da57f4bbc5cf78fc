/* measurer.h -- everything a worker needs to measure jobs: meter, sampler, idle baseline, cores.
 *
 * One measurer per worker process; used from one thread (the one owning the
 * runner). jt_measurer_process runs a whole job: the correctness gate on the
 * validation core, then (when correct) the trials on the measurement core.
 */
#ifndef JT_MEASURER_H
#define JT_MEASURER_H

#include <stdbool.h>

#include "calibration.h"
#include "config.h"
#include "job.h"
#include "measurement.h"
#include "runner_client.h"
#include "trials.h"

typedef struct jt_measurer jt_measurer_t;

/* The measurement core for cfg: JOULETRACE_MEASURE_CORE, else core 4 when it
 * exists, else the highest-numbered core. */
int jt_measurer_pick_core(const jt_config_t *cfg);

/* Pin the calling process (and what it forks later) to every online CPU
 * except measure_core, when there is more than one. Returns 0 or -1. */
int jt_measurer_keep_off_core(int measure_core);

/* Open the meter (meter_kind overrides cfg->meter when not NULL) and the
 * sampler, and load the idle baseline: a fresh calibration made with the same
 * meter type, or, for the estimate meter only, the model's idle watts when no
 * fresh calibration exists. A hardware meter without a fresh calibration is
 * JT_ERR_CONFIG with the freshness reason in err->message ("not calibrated").
 * On success *out is owned by the caller. */
jt_status_t jt_measurer_open(const jt_config_t *cfg, const char *meter_kind, jt_measurer_t **out,
                             jt_error_t *err);

void jt_measurer_close(jt_measurer_t *ms);

/* Meter type name in use ("rapl-sysfs", "estimate", ...). */
const char *jt_measurer_meter_type(const jt_measurer_t *ms);

/* Whether the idle baseline comes from a fresh calibration file (false for
 * the estimate meter running on its model); *idle_watts (may be NULL)
 * receives the package idle watts in use. */
bool jt_measurer_calibrated(const jt_measurer_t *ms, double *idle_watts);

/* The fresh calibration the measurer uses (read once by jt_measurer_open), or
 * NULL when it is not calibrated. Valid while ms lives. */
const jt_calibration_t *jt_measurer_calibration(const jt_measurer_t *ms);

/* Step 1 of jt_measurer_process: the correctness gate on the validation core.
 * Fills m->validation and m->environment; an incorrect candidate leaves
 * m->validation.is_correct false, m->completed false and error_type
 * "incorrect" (JT_OK). Errors as jt_measurer_process. */
jt_status_t jt_measurer_gate(jt_measurer_t *ms, jt_runner_t *r, const jt_job_t *job,
                             jt_measurement_t *m, jt_error_t *err);

/* Step 2: the trials on the measurement core, for a job whose gate passed
 * (m filled by jt_measurer_gate). The caller may do anything between the two
 * steps (the daemon takes the socket's lease). Errors as jt_measurer_process. */
jt_status_t jt_measurer_trials(jt_measurer_t *ms, jt_runner_t *r, const jt_job_t *job,
                               int (*progress)(void *ctx, const jt_trial_progress_t *p),
                               void *ctx, jt_measurement_t *m, jt_error_t *err);

/* The trials environment for runner r (meter, sampler, idle baseline, measurement core, the
 * box's cgroup for counters; no progress callback), as jt_measurer_trials uses it:
 * the estimate meter follows r's box. *cpu_source: the estimate meter's source of CPU time,
 * NULL for other meters. Batches measure their blocks in it (batch_block.h). */
void jt_measurer_env(jt_measurer_t *ms, jt_runner_t *r, jt_trials_env_t *env,
                     const char **cpu_source);

/* Run job end to end through runner r: gate, then trials. Fills m (including
 * validation and environment). A candidate that is incorrect or misbehaves
 * during trials yields m->completed == false and JT_OK. progress may be NULL.
 * Returns an error only when the sandbox or the meter failed (respawn the
 * runner when it is JT_ERR_EOF/IO/TIMEOUT/PROTOCOL/SANDBOX). */
jt_status_t jt_measurer_process(jt_measurer_t *ms, jt_runner_t *r, const jt_job_t *job,
                                int (*progress)(void *ctx, const jt_trial_progress_t *p),
                                void *ctx, jt_measurement_t *m, jt_error_t *err);

#endif
