/* sandbox_trials.h -- the sandbox child's side of energy trials: runs on command, outputs checked.
 *
 * Runs in the sandbox child, pinned on the measurement core. The worker (over
 * the runner) asks for a trial, gets "trial_ready", reads the meter, says "go",
 * and reads the meter again when "trial_end" arrives. The child never sees
 * expected outputs: it checks that every run's outputs are byte-identical to
 * the first run's and reports the reference and any difference after the
 * window, for the worker to compare.
 */
#ifndef JT_SANDBOX_TRIALS_H
#define JT_SANDBOX_TRIALS_H

#include <stdbool.h>
#include <stddef.h>

#include "job.h"

typedef struct {
    const char *code;          /* candidate source, NUL-terminated */
    const char *function_name; /* a Python identifier (the null candidate reuses it) */
    const jt_blob_t *inputs;
    size_t n_inputs;
    double timeout_seconds;    /* per call; a run may take timeout * (n_inputs + 1) */
    long output_limit_bytes;
    bool same_process;         /* repetition_mode "same_process" */
} jt_trials_spec_t;

/* Protocol (frames; commands on cmd_fd, answers on out_fd):
 *   (on entry, unasked)            -> {"t":"trials_ready"} | {"t":"trials_error","message":M}
 *   {"op":"trial","id":K,"which":"candidate"|"null","runs":R}
 *                                  -> {"t":"trial_ready","id":K}
 *   {"op":"go","id":K}             -> R runs, then {"t":"trial_end","id":K,"ok":B,
 *                                     "status":S,"message":M,   (S, M nil when ok)
 *                                     "usage":{"user_us":U,"system_us":Y,
 *                                              "max_rss_kb":X,"runs":N}}
 *                                     (wait4's account of the runs: trial_usage.h)
 *                                     then, for candidate trials, zero or more
 *                                     {"t":"outputs","id":K,"kind":"reference"|"mismatch",
 *                                      "results":[{"i":I,"status":S,"output":V,"repr":R,
 *                                                  "message":M}, ...]}
 *                                     and {"t":"trial_done","id":K}
 *   {"op":"done"} or EOF           -> return
 * Returns 0, or -1 when a pipe broke. */
int jt_trials_serve(const jt_trials_spec_t *spec, int cmd_fd, int out_fd);

#endif
