/* run_candidate.h -- one run: a fork of the sandbox child that executes the candidate.
 *
 * A run executes the candidate module's top-level code, finds the function and
 * calls it on test cases start..n-1, reporting each outcome as a frame on
 * result_fd. It never sees expected outputs. Runs in the run process only.
 */
#ifndef JT_RUN_CANDIDATE_H
#define JT_RUN_CANDIDATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

#include "job.h"

typedef struct {
    PyObject *code;            /* compiled candidate module (borrowed) */
    const char *function_name;
    const jt_blob_t *inputs;   /* msgpack inputs, one per test case */
    size_t n_inputs;
    /* same_process mode (repeats > 0): after loading, build `repeats` fresh
     * copies of every test's inputs, write {"t":"prepared"}, wait for one byte
     * on go_fd, then make repeats x n_inputs calls. 0: one call per test. */
    unsigned long repeats;
    int go_fd;
} jt_run_spec_t;

/* Frames a run writes (msgpack maps, key "t" = type):
 *   {"t":"loaded"}                                   module ran, function found
 *   {"t":"load_error","status":S,"message":M}        S: exception | memory_limit
 *   {"t":"result","i":I,"status":S,"output":V,"message":M,"repr":R}
 *        S: ok | exception | memory_limit | not_serializable (output only when ok)
 *   {"t":"prepared"}                                 same_process mode: ready to go
 *   {"t":"finished"}
 * Exits with _exit(0) after "finished" (no interpreter finalisation, no
 * atexit handlers of the candidate), _exit(70) when result_fd breaks. */
_Noreturn void jt_run_execute(const jt_run_spec_t *spec, size_t start, int result_fd);

#endif
