/* integrity_stand.h -- bench_integrity's stand: a drifting fake tree, worker commands, a reference.
 *
 * The stand is a temporary directory holding fake_rapl's tree (package idle
 * JT_STAND_IDLE_W, +JT_STAND_ACTIVE_W while the measurement core is busy;
 * dram JT_STAND_DRAM_IDLE_W, +JT_STAND_DRAM_ACTIVE_W), the calibration file,
 * the sandbox directory and the files of the last command. Worker commands
 * get only the stand's JOULETRACE_* settings. Everything runs on the bench's one
 * thread; functions print what went wrong on stderr. Starting and removing the
 * directory, and killing what is left, are bench_integrity.c's guard's.
 */
#ifndef JT_INTEGRITY_STAND_H
#define JT_INTEGRITY_STAND_H

#include <jansson.h>

#include "fake_rapl.h"

#define JT_STAND_IDLE_W 40.0
#define JT_STAND_ACTIVE_W 10.0
#define JT_STAND_DRAM_IDLE_W 3.0
#define JT_STAND_DRAM_ACTIVE_W 1.0

/* How idle power drifts, and the jobs' shape (bench_integrity's options). */
typedef struct {
    double step_percent; /* idle power steps by this ... */
    double step_after_s; /* ... this long after the tree's start (after the calibration) */
    double ramp_wps;     /* then the package's grows by this many W per second */
    double min_trial_s;  /* min_trial_seconds of the measured jobs */
    int trials;          /* energy_measurement_trials, all of them run */
    int cv_runs;         /* estimate-meter runs per CV figure */
    int rounds;          /* interleaved rounds of the CPU-bound candidates */
    long work;           /* burn(n) of the 1x candidate */
} jt_integrity_options_t;

/* A stand: set opt, dir (an existing empty directory), core and other_core,
 * then jt_integrity_stand_init. */
typedef struct {
    jt_integrity_options_t opt;
    char dir[128];
    int core;       /* the measurement core */
    int other_core; /* the bench's, fake_rapl's and the workers' core */
    char rapl[192], cal[192], sandbox[192], job[192], code[192], out[192], err[192];
    jt_fake_rapl_t fake; /* pid 0 while none runs */
    double step_at;      /* seconds after the tree's start when its idle power steps */
} jt_integrity_stand_t;

/* Name the stand's files under s->dir and make its sandbox directory. 0, or -1. */
int jt_integrity_stand_init(jt_integrity_stand_t *s);

/* Pin the calling process to core: sched_setaffinity's 0 or -1. */
int jt_integrity_pin(int core);

/* Sleep s seconds, through signals (nothing when s <= 0). */
void jt_integrity_sleep(double s);

/* Start the drifting tree and calibrate against it before its step (on a fresh
 * tree with a later step, once, when the calibration ended too late), then
 * wait until the step is past; s->step_at says when it came. 0, or -1. */
int jt_integrity_calibrate_before_step(jt_integrity_stand_t *s);

/* Run the reference (JT_PYTHON_BIN) on the measurement core: runs like those of
 * fresh_process mode (a fork of an interpreter holding the compiled code runs
 * the module and solve(*args) once; args is a JSON array as text), each timed
 * with time.process_time(), for about 1 s of CPU. *cpu gets the median CPU
 * seconds of a run; *process_cpu (may be NULL) those of the reference and its
 * children all together; *output (may be NULL) solve's return value (a new
 * reference). 0, or -1 with the outputs untouched. */
int jt_integrity_reference(jt_integrity_stand_t *s, const char *code, const char *args, double *cpu,
                           double *process_cpu, json_t **output);

/* The reference against the tree's truth: the busy energy the tree charged
 * (package energy minus its idle model) while one reference of code ran, into
 * *charged_j, and JT_STAND_ACTIVE_W x the CPU seconds of the reference and its
 * children into *cpu_j. 0, or -1. */
int jt_integrity_check_reference(jt_integrity_stand_t *s, const char *code, const char *args,
                                 double *charged_j, double *cpu_j);

/* Run `jouletrace-worker measure --meter meter` on job (consumed) with the
 * extra "NAME=value" settings (NULL-ended; may be NULL). The result of a
 * completed measurement (the caller owns it), else NULL. */
json_t *jt_integrity_measure(jt_integrity_stand_t *s, const char *label, json_t *job,
                             const char *meter, const char *const *extra);

#endif
