/* python_floor.h -- the bare run a harness figure is compared with: fork a ready interpreter.
 *
 * No sandbox, no pipes, no protocol: what the platform and CPython alone
 * charge for one run of a module, the unit the harness and the gate repeat.
 * The interpreter is initialised in the calling process with the runner's
 * settings and imports, and its heap frozen, as jouletrace-runner does
 * before it forks; each run forks it, executes the module (the candidate's
 * function and the calls of the invocation being compared), and leaves with
 * _exit, without finalising, as a sandboxed run does.
 */
#ifndef JT_PYTHON_FLOOR_H
#define JT_PYTHON_FLOOR_H

typedef struct {
    void *code; /* the compiled module (a PyObject *), owned */
    int core;   /* the core every run is pinned to, or -1: wherever the caller runs */
} jt_python_floor_t;

/* Initialise the interpreter in this process (once) and compile source, a
 * module that defines the function and makes the invocation's calls at its
 * end, raising when a result is wrong. Runs go to core (-1: unpinned).
 * Returns 0, or -1 when Python cannot be initialised or source does not compile. */
int jt_python_floor_open(jt_python_floor_t *fl, const char *source, int core);

/* n bare runs back to back: ms[i] the wall milliseconds of run i from fork
 * to reaped, faults[i] its minor (copy-on-write) faults; either may be NULL.
 * Returns 0, or -1 when a run could not start or did not exit 0. */
int jt_python_floor_runs(jt_python_floor_t *fl, int n, double *ms, long *faults);

/* Release what open compiled; the interpreter stays (Python cannot be re-initialised cheaply). */
void jt_python_floor_close(jt_python_floor_t *fl);

#endif
