/* python_floor.h -- the cheapest possible run: fork an initialised interpreter, run a trivial module, exit.
 *
 * No sandbox, no pipes, no protocol: what the platform and CPython alone
 * charge for the unit of measurement, to compare with the harness's cost.
 */
#ifndef JT_PYTHON_FLOOR_H
#define JT_PYTHON_FLOOR_H

typedef struct {
    double median_ms;  /* fork to reaped, per run */
    long median_faults; /* minor faults of the run (copy-on-write), per run */
} jt_python_floor_t;

/* Initialise an isolated interpreter in this process (once), import what the
 * runner imports, freeze the heap, then time n runs that each execute
 * "def solve(x): return x" and call solve(1). Returns 0, or -1 when Python
 * cannot be initialised. */
int jt_python_floor_measure(int n, jt_python_floor_t *out);

#endif
