/* python_floor.c -- time bare forked runs of a trivial module in an embedded interpreter. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "python_floor.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 1000

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int init_python(void)
{
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.site_import = 0; /* the runner's settings (worker/runner_main.c init_python) */
    config.install_signal_handlers = 0;
    config.write_bytecode = 0;
    config.buffered_stdio = 1;
    PyStatus st = PyConfig_SetBytesString(&config, &config.home, JT_PYTHON_HOME);
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st))
        return -1;
    /* what the runner has loaded before it forks */
    return PyRun_SimpleString("import traceback, reprlib, gc\ngc.freeze()\n") == 0 ? 0 : -1;
}

/* The child: execute the module, call solve(1), leave without finalising. */
_Noreturn static void run_child(PyObject *code)
{
    PyOS_AfterFork_Child();
    PyObject *globals = PyDict_New();
    if (globals == NULL || PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0)
        _exit(2);
    PyObject *r = PyEval_EvalCode(code, globals, globals);
    PyObject *f = r ? PyDict_GetItemString(globals, "solve") : NULL;
    PyObject *arg = PyLong_FromLong(1);
    PyObject *v = f && arg ? PyObject_CallOneArg(f, arg) : NULL;
    _exit(v != NULL ? 0 : 3);
}

int jt_python_floor_measure(int n, jt_python_floor_t *out)
{
    if (n < 1)
        n = 1;
    if (n > MAX_RUNS)
        n = MAX_RUNS;
    if (!Py_IsInitialized() && init_python() < 0)
        return -1;
    PyObject *code = Py_CompileString("def solve(x):\n    return x\n", "<floor>", Py_file_input);
    if (code == NULL)
        return -1;
    static double ms[MAX_RUNS];
    static long faults[MAX_RUNS];
    int done = 0;
    for (int i = 0; i < n; i++) {
        fflush(NULL);
        double t0 = now_ms();
        PyOS_BeforeFork();
        pid_t pid = fork();
        if (pid == 0)
            run_child(code);
        PyOS_AfterFork_Parent();
        struct rusage ru;
        int status;
        if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            continue;
        ms[done] = now_ms() - t0;
        faults[done++] = ru.ru_minflt;
    }
    Py_DECREF(code);
    if (done == 0)
        return -1;
    qsort(ms, (size_t)done, sizeof ms[0], cmp_double);
    qsort(faults, (size_t)done, sizeof faults[0], cmp_long);
    out->median_ms = ms[done / 2];
    out->median_faults = faults[done / 2];
    return 0;
}
