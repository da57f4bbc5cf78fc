/* runner_watch.h -- the runner's wall clock over a box: a stopped or overdue box is killed.
 *
 * The runner is outside the box (another uid, another pid namespace), so
 * nothing a run does can stop, signal or re-limit this clock. While it relays
 * a job it asks the watch every few hundred milliseconds whether to kill the
 * box: when the sandbox child (the runs' supervisor) is found stopped, or, for
 * a validation, when no test result arrived within the time the supervisor
 * itself allows (module load plus one call, plus slack) or the validation
 * budget is spent. The killed validation's missing tests are then reported as
 * "timeout" (the one in progress) and "not_run" (the rest).
 */
#ifndef JT_RUNNER_WATCH_H
#define JT_RUNNER_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JT_WATCH_SLACK_SECONDS 1.0 /* beyond the supervisor's own deadlines */
#define JT_WATCH_PERIOD_MS 200     /* how often the box is looked at */

typedef struct {
    bool validate;          /* a gate: test frames are counted and deadlines apply */
    double timeout_seconds; /* the job's per-call limit */
    size_t n_tests;
    size_t reported; /* "test" frames relayed so far */
    double progress_deadline;
    double budget_deadline;
    const char *kill_reason; /* set once the box was killed by the watch */
} jt_runner_watch_t;

/* Start watching a job: validate (else measure), its per-call timeout, its
 * number of tests and the validation budget. */
void jt_runner_watch_start(jt_runner_watch_t *w, bool validate, double timeout_seconds,
                           size_t n_tests, double budget_seconds);

/* Account for one frame the box sent (a "test" frame is progress). */
void jt_runner_watch_frame(jt_runner_watch_t *w, const uint8_t *data, size_t len);

/* Whether the box must die now: returns NULL, or the reason (also kept in
 * w->kill_reason). child is the sandbox child's pid as the runner sees it. */
const char *jt_runner_watch_check(jt_runner_watch_t *w, pid_t child);

/* After a kill by the watch: report the tests the box did not, as described
 * above, on out_fd. Returns 0, or -1 when out_fd broke. */
int jt_runner_watch_report(const jt_runner_watch_t *w, int out_fd);

/* Whether process pid is stopped (job control or ptrace stop), read from
 * /proc/<pid>/stat. */
bool jt_process_is_stopped(pid_t pid);

#endif
