/* energy_case.h -- energy tests: one case, repeated while its attempts are disturbed.
 *
 * Shared by test_energy_e2e.c and test_energy_trials.c; every function runs on the test's main
 * thread.
 *
 * Every case (argv[1]) is one ctest entry (tests/energy.cmake): it starts
 * fake_rapl on a fresh tmpfs root, driven by the busy time of the measurement
 * core, calibrates against it, and runs `jouletrace-worker measure` jobs with
 * the real runner, sandbox and trials. The test process, fake_rapl and the
 * worker stay on VALIDATE_CORE; only the sandbox runs on MEASURE_CORE. The
 * judged numbers are the result's medians.
 *
 * Anything else busy on the measurement core is charged as the candidate's
 * work, so each command waits for a quiet core and is watched
 * (energy_core_watch.h). A failed case is repeated (MAX_ATTEMPTS in all)
 * only when that attempt was disturbed; a failure on an undisturbed attempt
 * is final.
 */
#ifndef JT_TESTS_ENERGY_CASE_H
#define JT_TESTS_ENERGY_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "energy_core_watch.h"
#include "energy_outcome.h"
#include "fake_rapl.h"

#define VALIDATE_CORE 0 /* the test, fake_rapl and the worker; never watched */
#define MAX_OUTCOMES 10

/* Idle and active watts of the fake tree unless a case says otherwise. */
#define PKG_IDLE_W 10.0
#define PKG_ACTIVE_W 20.0
#define DRAM_IDLE_W 2.0
#define DRAM_ACTIVE_W 3.0

/* State of one case (one attempt at a time). */
typedef struct {
    char dir[128];     /* tmpfs directory of the attempt */
    char rapl[192];    /* the fake powercap root */
    char cal[192];     /* the calibration file */
    char sandbox[192]; /* JOULETRACE_SANDBOX_DIR */
    char job[192];     /* the job file of the last measure */
    jt_fake_rapl_t fake;
    pid_t spinner; /* a busy loop on the measurement core, 0 when none */
    outcome_t *outcomes[MAX_OUTCOMES];
    size_t n_outcomes;
    core_watch_t watch; /* what the attempt saw of the measurement core */
    bool failed;
    char failure[2048]; /* the first failed check */
} env_t;

/* Record the first failed check of the attempt; always returns false. */
bool flunk(env_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* x / ref within lo .. hi. */
bool expect_ratio(env_t *e, const char *what, double x, double ref, double lo, double hi);

/* Kill and reap the busy loop of start_spinner, if one runs. */
void stop_spinner(env_t *e);

/* Start fake_rapl on e->rapl, charging MEASURE_CORE's busy time at the given
 * active watts (idle: PKG_IDLE_W, DRAM_IDLE_W); false (failure recorded) if it
 * did not start. */
bool start_fake(env_t *e, double active_watts, double dram_active_watts);

/* Run a case body. A failed attempt is repeated (MAX_ATTEMPTS in all) only
 * when it was disturbed; the failure shows every command's numbers and JSON
 * tail, and what was seen of the machine. */
void run_case(void **state, void (*body)(env_t *));

/* cmocka setup: a zeroed env_t, and this process pinned to VALIDATE_CORE. */
int energy_setup(void **state);

/* cmocka teardown: end what the last attempt left and free the env_t. */
int energy_teardown(void **state);

/* One cmocka case per body: name(state) runs name_body through run_case. */
#define ENERGY_CASE(name)                                                                          \
    static void name(void **state)                                                                 \
    {                                                                                              \
        run_case(state, name##_body);                                                              \
    }

/* Its entry in the program's cmocka table, comma included: a fresh env_t per
 * case. A program lists its cases once, as X(name) lines of one macro (E2E_CASES):
 * E2E_CASES(ENERGY_CASE) defines them, {E2E_CASES(ENERGY_TEST)} is the table. */
#define ENERGY_TEST(name) cmocka_unit_test_setup_teardown(name, energy_setup, energy_teardown),

#endif
