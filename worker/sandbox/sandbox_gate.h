/* sandbox_gate.h -- the sandbox child's work for one job: compile once, fork runs, supervise them.
 *
 * Runs in the sandbox child (already confined by jt_sandbox_enter_child). The
 * child holds the candidate source and the inputs, never the expected outputs.
 */
#ifndef JT_SANDBOX_GATE_H
#define JT_SANDBOX_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "job.h"

typedef struct {
    const char *code;          /* candidate source, NUL-terminated */
    const char *function_name;
    const jt_blob_t *inputs;   /* one msgpack value per test case */
    size_t n_inputs;
    double timeout_seconds;    /* wall clock for module code, and for each call */
    long output_limit_bytes;   /* cap on captured stdout and on stderr, each, per run */
    double budget_seconds;     /* wall clock for the whole gate */
    bool stop_on_first_failure;/* stop at the first test that did not return a value */
} jt_gate_spec_t;

/* Run the correctness gate: for every test case write one frame to out_fd
 *   {"t":"test","i":I,"status":S,"output":V,"message":M,"repr":R,"seconds":X}
 * in index order, S in ok | exception | timeout | memory_limit | output_limit |
 * crashed | not_serializable | not_run ("ok" means the function returned V; the
 * caller compares V with the expected output). Returns 0, or -1 when out_fd
 * broke (the caller exits). */
int jt_gate_run(const jt_gate_spec_t *spec, int out_fd);

/* Write one such "test" frame. output may be NULL (nil); message and repr
 * may be NULL. Returns 0, or -1 when out_fd broke. */
int jt_gate_emit_test(int out_fd, size_t index, const char *status, const msgpack_object *output,
                      const char *message, const char *repr, double seconds);

#endif
