/* energy_core_watch.h -- energy tests: watch the measurement core for disturbance.
 *
 * energy_case.h runs the worker and decides what a disturbed attempt means; this file needs
 * nothing of it. Every function runs on the test's main thread. Built with JT_PROBE_PYTHON
 * (tests/support/CMakeLists.txt: the sandbox's Python, "" for no speed probes).
 *
 * fake_rapl charges every busy tick of the measurement core, whoever runs
 * there and however slowly: another program on that core (a build, another
 * checkout's tests) or the host slowing this VM's virtual core is measured
 * as the candidate's work. So before each command the test waits for the
 * core to be quiet, and it watches for disturbance: tasks outside its own
 * process tree running on the core during a command, the core's speed
 * drifting between commands (a small Python probe), the trials of one job
 * running at different speeds. disturbed() says whether an attempt saw any
 * of these; print_environment() shows what was seen.
 */
#ifndef JT_TESTS_ENERGY_CORE_WATCH_H
#define JT_TESTS_ENERGY_CORE_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define MEASURE_CORE 1
#define MAX_PROBES 64
#define SCAN_INTERVAL_S 0.05 /* how often the measurement core is watched during a command */

/* The CPU work every candidate of the energy tests shares, and the speed
 * probe's work. The result fits 32 bits, so C computes the expected output
 * (jt_burn_expected of candidate.h). */
#define BURN_SRC                                                                                   \
    "def burn(n):\n"                                                                               \
    "    s = 0\n"                                                                                  \
    "    for i in range(n):\n"                                                                     \
    "        s = (s * 31 + i) & 0xFFFFFFFF\n"                                                      \
    "    return s\n"

/* What one attempt saw of the measurement core. core_watch_init clears it. */
typedef struct {
    double quiet_waited;       /* seconds waited for a quiet core, up to 30 s */
    long samples, foreign;     /* scans during commands; those that saw foreign tasks */
    double probes[MAX_PROBES]; /* seconds of each speed probe of the measurement core */
    size_t n_probes;
    double last_probe;       /* when the last probe ran */
    double spread;           /* widest trial_spread of the attempt's results (1: none) */
    bool work_off;           /* the core did not run a case's work in the expected proportion */
    char foreign_names[256]; /* " name" of each foreign process seen, while there is room */
} core_watch_t;

/* Start watching a new attempt: nothing seen yet. */
void core_watch_init(core_watch_t *w);

/* Sleep s seconds, through signals. */
void sleep_s(double s);

/* Pin pid (0: the caller) to one core; sched_setaffinity's 0 or -1 (errno). */
int pin_to(pid_t pid, int core);

/* One look at the measurement core: whether a runnable task outside this
 * test's process tree (kernel threads aside) is on it. Threads count, by the
 * ancestry of their process. Adds the names of new foreign processes to
 * w->foreign_names while there is room; false when /proc cannot be read. */
bool scan_foreign(core_watch_t *w);

/* Record one probe's seconds in w->probes (nothing when there is no probe
 * Python, no room, or the probe gave no number); sets w->last_probe. */
void probe_speed(core_watch_t *w);

/* Before a command: a speed probe (unless one just ran), then a quiet core. */
void before_command(core_watch_t *w);

/* Note one command's result JSON (NULL allowed: no trials) in w->spread. */
void core_watch_note_result(core_watch_t *w, const json_t *result);

/* Whether the attempt's numbers may not be the worker's own doing: foreign
 * tasks on the measurement core, its speed drifting between probes, or the
 * trials of one job running at different speeds. why gets the three figures
 * either way. */
bool disturbed(const core_watch_t *w, char *why, size_t len);

/* Print the load average, foreign tasks and speed probes of the attempt to stderr. */
void print_environment(const core_watch_t *w);

#endif
