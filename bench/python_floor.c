/* python_floor.c -- time bare forked runs of a module in an embedded interpreter. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "python_floor.h"

#include <errno.h>
#include <stdbool.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int init_python(void)
{
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.site_import = 0; /* the runner's settings (worker/sandbox/runner_main.c init_python) */
    config.install_signal_handlers = 0;
    config.write_bytecode = 0;
    config.buffered_stdio = 1;
    PyStatus st = PyConfig_SetBytesString(&config, &config.home, JT_PYTHON_HOME);
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st))
        return -1;
    /* what the runner has loaded before it forks (jt_py_preload, jt_py_freeze_heap) */
    return PyRun_SimpleString("import traceback, reprlib, gc\ngc.freeze()\n") == 0 ? 0 : -1;
}

int jt_python_floor_open(jt_python_floor_t *fl, const char *source, int core)
{
    fl->code = NULL;
    fl->core = core;
    if (!Py_IsInitialized() && init_python() < 0)
        return -1;
    fl->code = Py_CompileString(source, "<floor>", Py_file_input);
    if (fl->code == NULL) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

void jt_python_floor_close(jt_python_floor_t *fl)
{
    Py_XDECREF((PyObject *)fl->code);
    fl->code = NULL;
}

/* The child: execute the module (it makes the calls), leave without finalising. */
_Noreturn static void run_child(PyObject *code)
{
    PyOS_AfterFork_Child();
    PyObject *globals = PyDict_New();
    if (globals == NULL || PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0)
        _exit(2);
    PyObject *r = PyEval_EvalCode(code, globals, globals);
    _exit(r != NULL ? 0 : 3);
}

/* One run; its wall ms and faults. -1 when it could not start or failed. */
static int run_once(PyObject *code, double *ms, long *faults)
{
    fflush(NULL);
    double t0 = now_ms();
    PyOS_BeforeFork();
    pid_t pid = fork();
    if (pid == 0)
        run_child(code);
    PyOS_AfterFork_Parent();
    if (pid < 0)
        return -1;
    struct rusage ru;
    int status;
    pid_t got;
    while ((got = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
        ;
    *ms = now_ms() - t0;
    *faults = ru.ru_minflt;
    return got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int jt_python_floor_runs(jt_python_floor_t *fl, int n, double *ms, long *faults)
{
    if (fl->code == NULL)
        return -1;
    /* The children inherit the calling thread's affinity: pin it around the
     * runs, outside their timing, and give it back after. */
    cpu_set_t saved, one;
    bool pinned = false;
    if (fl->core >= 0 && fl->core < CPU_SETSIZE &&
        sched_getaffinity(0, sizeof saved, &saved) == 0) {
        CPU_ZERO(&one);
        CPU_SET(fl->core, &one);
        pinned = sched_setaffinity(0, sizeof one, &one) == 0;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        double t = 0;
        long f = 0;
        rc = run_once((PyObject *)fl->code, &t, &f);
        if (ms)
            ms[i] = t;
        if (faults)
            faults[i] = f;
    }
    if (pinned)
        sched_setaffinity(0, sizeof saved, &saved);
    return rc;
}
