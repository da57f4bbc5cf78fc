/* run_process.h -- fork a run from the sandbox child and watch its pipes.
 *
 * Used by the sandbox child only (gate and trials). A run's stdout and stderr
 * are drained into counters (and a short stderr tail), its result frames are
 * read incrementally; the caller owns deadlines and decisions.
 */
#ifndef JT_RUN_PROCESS_H
#define JT_RUN_PROCESS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "frame.h"
#include "job.h"
#include "run_candidate.h"

/* A run's largest result frame: a value larger than any job body can never
 * equal an expected output, and every process that unpacks it (supervisor,
 * worker) then holds no more than a job of the largest size costs. */
#define JT_RUN_FRAME_MAX_BYTES (JT_MAX_BODY_BYTES + 64 * 1024)
#define JT_RUN_EXIT_GRACE_SECONDS 1.0 /* from closing its result pipe to being gone */
#define JT_RUN_STDERR_TAIL_BYTES 512

typedef struct {
    pid_t pid;
    int result_fd, stdout_fd, stderr_fd; /* read ends, non-blocking; -1 once closed */
    int go_fd;                           /* write end of the go pipe (same_process), or -1 */
    jt_frame_reader_t reader;
    long stdout_bytes, stderr_bytes;
    char stderr_tail[JT_RUN_STDERR_TAIL_BYTES + 1];
    size_t stderr_tail_len;
    bool overstayed; /* it kept running after closing its result pipe, and was killed */
    bool reaped;     /* jt_run_process_finish reaped it: usage holds wait4's account */
    struct rusage usage; /* the run's CPU time and peak RSS as the kernel reports them */
} jt_run_process_t;

/* Fork a confined run (jt_sandbox_enter_run) executing spec from test start.
 * When spec->repeats > 0 a go pipe is made and its write end kept in go_fd.
 * Returns 0, or -1 with errno set (nothing left running). */
int jt_run_process_start(jt_run_process_t *run, const jt_run_spec_t *spec, size_t start);

/* Outcome of one jt_run_process_poll call. */
typedef enum {
    JT_RUN_IDLE = 0,    /* nothing complete yet (deadline not reached) */
    JT_RUN_FRAME,       /* a frame is ready: *data / *len (caller frees) */
    JT_RUN_EOF,         /* the run closed its result pipe (exited or died) */
    JT_RUN_OUTPUT_LIMIT,/* stdout or stderr exceeded the limit */
    JT_RUN_TOO_LARGE,   /* a result frame exceeded JT_RUN_FRAME_MAX_BYTES */
    JT_RUN_ERROR,       /* reading failed */
} jt_run_event_t;

/* Wait at most wait_ms for something from the run: drains stdout/stderr
 * (counting bytes against output_limit), and returns the next complete
 * result frame, EOF, or a limit. */
jt_run_event_t jt_run_process_poll(jt_run_process_t *run, int wait_ms, long output_limit,
                                   uint8_t **data, size_t *len);

/* Kill the run (when kill_it) and reap it with wait4; closes every pipe.
 * Without kill_it the run has closed its result pipe: it gets
 * JT_RUN_EXIT_GRACE_SECONDS to be gone, then is killed with overstayed set.
 * Returns the wait status; run->reaped and run->usage then hold the
 * kernel's account of the run (reaped false only when waiting failed). */
int jt_run_process_finish(jt_run_process_t *run, bool kill_it);

/* "run exited with code 3" / "run killed by signal 11 (SIGSEGV)", plus the
 * stderr tail when there is one. */
void jt_run_process_describe_exit(const jt_run_process_t *run, int wait_status, char *buf,
                                  size_t len);

/* Which limit the output counters passed: "stdout" or "stderr". */
const char *jt_run_process_noisy_stream(const jt_run_process_t *run, long output_limit);

#endif
