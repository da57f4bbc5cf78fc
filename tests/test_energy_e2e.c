/* test_energy_e2e.c -- end-to-end energy checks (a) .. (i): what candidates' work costs. */
#include "unit_main.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate.h"
#include "energy_case.h"
#include "energy_core_watch.h"
#include "energy_job.h"
#include "energy_outcome.h"
#include "energy_worker.h"
#include "json_path.h"

/* Each case calibrates on the moving fake tree and measures real jobs
 * (tests/support/energy_case.h says how, and when a failed attempt is repeated).
 * The judged numbers are the result's medians. */

#define CODE_MAX 4096 /* a candidate's source assembled here */

/* ---- (a) .. (c): work, sleep and power ------------------------------------------------- */

/* (a) Twice the work costs twice the net energy per run. */
static void a_twice_the_work_body(env_t *e)
{
    outcome_t *one, *two;
    if (ready_measure_pair(e, "burn(N)", burn_job(PLAIN_SRC, BURN_N, &RATIO_SHAPE), "burn(2N)",
                           burn_job(PLAIN_SRC, 2 * BURN_N, &RATIO_SHAPE), &one, &two))
        expect_ratio(e, "burn(2N) / burn(N), net J per run", energy(two), energy(one), 1.8, 2.2);
}

/* |x| <= tol * ref. */
static bool expect_near_zero(env_t *e, const char *what, double x, double ref, double tol)
{
    fprintf(stderr, "%s: %.5f J per run = %+.2f%% of the reference %.5f J (accepted +-%.0f%%)\n",
            what, x, 100 * x / ref, ref, 100 * tol);
    if (!(fabs(x) <= tol * ref))
        return flunk(e,
                     "%s: net energy per run %.5f J is %+.2f%% of the reference %.5f J, outside "
                     "+-%.0f%%",
                     what, x, 100 * x / ref, ref, 100 * tol);
    return true;
}

/* The start of (b) and (i): ready(), the reference burn(N), then `code` on
 * the one test solve(7) == 7. NULL (failure recorded) unless the reference
 * is usable and both completed; *ref is then the reference's net J per run. */
static outcome_t *measure_beside_reference(env_t *e, const char *label, const char *code,
                                           double *ref)
{
    outcome_t *r = ready_measure(e, "reference burn(N)", burn_job(PLAIN_SRC, BURN_N, &RATIO_SHAPE));
    if (r == NULL)
        return NULL;
    double a = energy(r);
    if (!(a > 0.05)) {
        flunk(e, "the reference burn(N) costs %.5f J per run: not a usable reference", a);
        return NULL;
    }
    json_t *job = job_new(code, &RATIO_SHAPE);
    job_add(job, json_pack("[i]", 7), json_integer(7));
    outcome_t *o = measure_ok(e, label, job);
    if (o != NULL)
        *ref = a;
    return o;
}

/* (b) Sleeping costs (almost) nothing net: the idle power is subtracted. */
static void b_sleep_is_free_body(env_t *e)
{
    static const char code[] = "import time\n"
                               "def solve(x):\n"
                               "    time.sleep(0.05)\n"
                               "    return x\n";
    double a;
    outcome_t *o = measure_beside_reference(e, "sleep 50 ms", code, &a);
    if (o == NULL)
        return;
    double secs = num(o, "energy_metrics.median_execution_time_seconds");
    if (!(secs >= 0.045 && secs <= 0.2))
        flunk(e, "sleep 50 ms: median execution time %.4f s per run, expected about 0.05 s", secs);
    expect_near_zero(e, "sleep 50 ms", energy(o), a, 0.10);
}

/* (c) The reported power of a CPU-bound run is the fake tree's active power
 * (DRAM draws no extra power here, so the total is the package's). */
static void c_power_is_active_watts_body(env_t *e)
{
    const double watts = 30.0;
    if (!start_fake(e, watts, 0.0) || !calibrate(e))
        return;
    outcome_t *o = measure_ok(e, "burn(2N) at 30 W", burn_job(PLAIN_SRC, 2 * BURN_N, &RATIO_SHAPE));
    if (o == NULL)
        return;
    double p = num(o, "energy_metrics.power_consumption_watts");
    double ram = num(o, "energy_metrics.median_ram_energy_joules");
    fprintf(stderr, "power %.3f W, active %.1f W (accepted +-10%%); ram %.5f J of %.5f J\n", p,
            watts, ram, energy(o));
    if (!(fabs(p - watts) <= 0.10 * watts))
        flunk(e, "power_consumption_watts %.3f W, expected %.1f W +-10%%", p, watts);
    if (!(fabs(ram) <= 0.05 * energy(o)))
        flunk(e, "DRAM has no active power here, yet it is charged %.5f J of %.5f J per run", ram,
              energy(o));
}

/* ---- (d): hostile candidates against their plain twins --------------------------------- */

/* A hostile candidate: BURN_SRC, then `imports` (its plain twin has them
 * too), then `rest`, which defines solve(n) returning burn(n). */
typedef struct {
    const char *label;
    const char *imports;
    const char *rest;
} hostile_t;

enum { PATCHED_TIME, ATEXIT_BURN, THREAD_LEFT_RUNNING, LEAVES_MEASUREMENT_CORE };

static const hostile_t HOSTILE[] = {
    /* Every clock of the time module replaced, at module level and in the call. */
    [PATCHED_TIME] =
        {"patched time", "import time\n",
         "def _zero(*a):\n"
         "    return 0\n"
         "for _name in ('time', 'perf_counter', 'perf_counter_ns', 'monotonic',\n"
         "              'monotonic_ns', 'process_time', 'process_time_ns', 'time_ns'):\n"
         "    setattr(time, _name, _zero)\n"
         "def solve(n):\n"
         "    time.perf_counter = lambda: -1.0e9\n"
         "    time.time = lambda: -1.0e9\n"
         "    return burn(n)\n"},
    /* Three times the call's work in atexit handlers: a run that reached
     * them would cost about four times the plain one. */
    [ATEXIT_BURN] = {"atexit burn", "import atexit\n",
                     "def _more():\n"
                     "    burn(3000000)\n"
                     "atexit.register(_more)\n"
                     "def solve(n):\n"
                     "    atexit.register(_more)\n"
                     "    return burn(n)\n"},
    /* Threads left spinning after the call (where threads can start at all). */
    [THREAD_LEFT_RUNNING] = {"thread left running", "import threading\n",
                             "def _spin():\n"
                             "    while True:\n"
                             "        burn(1000)\n"
                             "def solve(n):\n"
                             "    r = burn(n)\n"
                             "    for _ in range(4):\n"
                             "        try:\n"
                             "            threading.Thread(target=_spin, daemon=True).start()\n"
                             "        except Exception:\n"
                             "            pass\n"
                             "    return r\n"},
    /* A candidate that moves itself off the measurement core before working. */
    [LEAVES_MEASUREMENT_CORE] = {"leaves the measurement core", "import os\n",
                                 "def _flee():\n"
                                 "    try:\n"
                                 "        os.sched_setaffinity(0, {0})\n"
                                 "    except Exception:\n"
                                 "        pass\n"
                                 "_flee()\n"
                                 "def solve(n):\n"
                                 "    _flee()\n"
                                 "    return burn(n)\n"},
};

/* (d) A hostile candidate against its plain twin (the same module-level
 * imports, which a run pays for: `import threading` alone costs ~10 ms per
 * run here): the same energy and time per run. The two are measured a minute
 * apart, and on this VM the speed of the measurement core drifts by up to
 * ±50 % over such spans (seen in CI: 0.62 and 1.65 for identical work), so
 * the band is 0.6 .. 1.6; every cheat checked here moves the figure far
 * outside it (an atexit burn of 3,000,000 steps is several runs' work,
 * leaving the core hides ~97 % of the energy). */
static void compare_with_plain(env_t *e, const hostile_t *hostile)
{
    char plain_code[CODE_MAX], code[CODE_MAX];
    snprintf(plain_code, sizeof plain_code, "%s%s%s", BURN_SRC, hostile->imports,
             "def solve(n):\n    return burn(n)\n");
    snprintf(code, sizeof code, "%s%s%s", BURN_SRC, hostile->imports, hostile->rest);
    const char *label = hostile->label;
    outcome_t *plain, *h;
    if (!ready_measure_pair(e, "plain twin", burn_job(plain_code, BURN_N, &RATIO_SHAPE), label,
                            burn_job(code, BURN_N, &RATIO_SHAPE), &plain, &h))
        return;
    char what[128];
    snprintf(what, sizeof what, "%s / plain, net J per run", label);
    expect_ratio(e, what, energy(h), energy(plain), 0.6, 1.6);
    snprintf(what, sizeof what, "%s / plain, net s per run", label);
    expect_ratio(e, what, num(h, "energy_metrics.median_execution_time_seconds"),
                 num(plain, "energy_metrics.median_execution_time_seconds"), 0.6, 1.6);
}

static void d_patched_time_body(env_t *e)
{
    compare_with_plain(e, &HOSTILE[PATCHED_TIME]);
}

static void d_atexit_burn_body(env_t *e)
{
    compare_with_plain(e, &HOSTILE[ATEXIT_BURN]);
}

static void d_thread_left_running_body(env_t *e)
{
    compare_with_plain(e, &HOSTILE[THREAD_LEFT_RUNNING]);
}

static void d_leaves_measurement_core_body(env_t *e)
{
    compare_with_plain(e, &HOSTILE[LEAVES_MEASUREMENT_CORE]);
}

/* ---- (e) .. (i): state that could carry over between runs ------------------------------ */

/* (e) A function that sorts its input list in place and does its costly work
 * only on an unsorted list: were inputs reused, later calls would be cheap. */
static const char MUTATING_SRC[] = BURN_SRC "def solve(xs, n):\n"
                                            "    if xs[0] > xs[-1]:\n"
                                            "        burn(n)\n"
                                            "    xs.sort()\n"
                                            "    return [xs[0], xs[-1], len(xs)]\n";
static const char COPYING_SRC[] = BURN_SRC "def solve(xs, n):\n"
                                           "    if xs[0] > xs[-1]:\n"
                                           "        burn(n)\n"
                                           "    ys = sorted(xs)\n"
                                           "    return [ys[0], ys[-1], len(ys)]\n";

/* A job of one test: solve([1000, 999, ..., 1], BURN_N) == [1, 1000, 1000]. */
static json_t *sort_job(const char *code, const shape_t *s)
{
    json_t *job = job_new(code, s);
    json_t *xs = json_array();
    for (int v = 1000; v >= 1; v--)
        json_array_append_new(xs, json_integer(v));
    job_add(job, json_pack("[o, I]", xs, (json_int_t)BURN_N),
            json_pack("[i, i, i]", 1, 1000, 1000));
    return job;
}

/* (e) in repetition mode `mode` (NULL: the default). */
static void input_mutation(env_t *e, const char *mode)
{
    shape_t s = RATIO_SHAPE;
    s.mode = mode;
    outcome_t *copy, *mut;
    if (!ready_measure_pair(e, "copies its input", sort_job(COPYING_SRC, &s),
                            "sorts its input in place", sort_job(MUTATING_SRC, &s), &copy, &mut))
        return;
    expect_ratio(e, "in place / copying, net J per run", energy(mut), energy(copy), 0.85, 1.15);
    /* Every trial pays for the full work, not only the first: a trial that met
     * an already sorted list would skip burn() and cost a few percent of the
     * median, far below half of it. */
    double med = energy(mut), cv = num(mut, "statistics.cv_percent");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(mut->json, "trials"), i, t)
    {
        double x = json_number_value(json_object_get(t, "net_total_joules_per_run"));
        if (!(x >= 0.5 * med))
            flunk(e, "in place, trial %zu: %.5f J per run, below half the median %.5f J", i, x,
                  med);
    }
    /* Its spread across trials is the machine's, as for its honest twin
     * measured in the same run: 10 %, or 1.5x the twin's CV on a noisier host. */
    double twin_cv = num(copy, "statistics.cv_percent");
    double limit = twin_cv * 1.5 > 10.0 ? twin_cv * 1.5 : 10.0;
    fprintf(stderr, "in place: cv %.2f%% across trials, copying %.2f%% (accepted <= %.2f%%)\n",
            cv, twin_cv, limit);
    if (!(cv <= limit))
        flunk(e, "in place: per-run energy varies across trials (cv %.2f%% > %.2f%%)", cv, limit);
}

static void e_input_mutation_body(env_t *e)
{
    input_mutation(e, NULL);
}

static void e_input_mutation_same_process_body(env_t *e)
{
    input_mutation(e, "same_process");
}

/* (f): ready(), then burn(N/10) of `code` in shape s, which must fail with
 * nondeterministic_output after a passed gate. */
static void expect_nondeterministic(env_t *e, const char *label, const char *code, const shape_t *s)
{
    if (!ready(e))
        return;
    outcome_t *o = measure_with(e, label, burn_job(code, BURN_N / 10, s), "rapl-sysfs", NULL);
    if (o == NULL)
        return;
    const char *status = str(o, "status"), *type = str(o, "error_type");
    if (o->exit_code != 1 || strcmp(status, "failed") != 0 ||
        strcmp(type, "nondeterministic_output") != 0)
        flunk(e,
              "[%s] exit %d, status %s, error_type %s: expected exit 1, failed, "
              "nondeterministic_output",
              o->label, o->exit_code, status, type);
    else if (!json_is_true(jt_json_at(o->json, "validation.is_correct")))
        flunk(e, "[%s] the correctness gate did not pass, so the later change was not tested",
              o->label);
}

/* (f) Outputs that change after the gate fail the task. The gate runs on
 * VALIDATE_CORE (0), measured runs on MEASURE_CORE (1): there the function
 * answers wrong in about half the runs (os.urandom, fresh in every run; the
 * random module's state may be shared by all forks). The chance that all of
 * a job's measured runs (more than 20) answer right is about 1e-6. */
static void f_nondeterministic_output_body(env_t *e)
{
    static const char code[] =
        BURN_SRC "import os\n"
                 "def solve(n):\n"
                 "    r = burn(n)\n"
                 "    if os.sched_getaffinity(0) != {0} and os.urandom(1)[0] < 128:\n"
                 "        r += 1\n"
                 "    return r\n";
    expect_nondeterministic(e, "varies between runs", code, &RATIO_SHAPE);
}

/* (f) in same_process mode: only the first call in a process answers right
 * (the gate makes one call per process for its one test). */
static void f_nondeterministic_same_process_body(env_t *e)
{
    static const char code[] = BURN_SRC "_calls = [0]\n"
                                        "def solve(n):\n"
                                        "    _calls[0] += 1\n"
                                        "    return burn(n) + (_calls[0] > 1)\n";
    shape_t s = RATIO_SHAPE;
    s.mode = "same_process";
    expect_nondeterministic(e, "right once per process", code, &s);
}

/* (g) A module-level lru_cache cannot carry results from one run to the
 * next. The three tests have distinct arguments, so within one run the cache
 * never hits, and the cached solution must cost what the uncached one costs. */
static json_t *three_case_job(const char *code)
{
    json_t *job = job_new(code, &RATIO_SHAPE);
    for (long k = 0; k < 3; k++) {
        long n = BURN_N / 3 + k;
        job_add(job, json_pack("[I]", (json_int_t)n), json_integer(jt_burn_expected(n)));
    }
    return job;
}

static void g_lru_cache_body(env_t *e)
{
    static const char cached[] = BURN_SRC "import functools\n"
                                          "@functools.lru_cache(maxsize=None)\n"
                                          "def work(n):\n"
                                          "    return burn(n)\n"
                                          "def solve(n):\n"
                                          "    return work(n)\n";
    static const char uncached[] = BURN_SRC "def work(n):\n"
                                            "    return burn(n)\n"
                                            "def solve(n):\n"
                                            "    return work(n)\n";
    outcome_t *u, *c;
    if (ready_measure_pair(e, "without cache", three_case_job(uncached), "module-level lru_cache",
                           three_case_job(cached), &u, &c))
        expect_ratio(e, "lru_cache / uncached, net J per run", energy(c), energy(u), 0.85, 1.15);
}

/* A caching candidate against its twin that writes the cache but never
 * reads it: within 15 % (three distinct arguments, so no hit within a run). */
static void compare_with_honest_twin(env_t *e, const char *label, const char *cached,
                                     const char *honest)
{
    outcome_t *h, *c;
    if (!ready_measure_pair(e, "writes, never reads", three_case_job(honest), label,
                            three_case_job(cached), &h, &c))
        return;
    char what[128];
    snprintf(what, sizeof what, "%s / honest twin, net J per run", label);
    expect_ratio(e, what, energy(c), energy(h), 0.85, 1.15);
}

/* (j) A result cached in any writable place of the box (the working
 * directory, /tmp, /var/tmp, /dev/shm, /run/lock) cannot carry from one run
 * to the next: the box scrubs them between runs. The twin writes the same
 * files but never reads them, so both pay the same I/O; distinct arguments
 * keep the cache from hitting within one run. */
#define FILE_CACHE_WRITE                                                                           \
    "DIRS = ['.', '/tmp', '/var/tmp', '/dev/shm', '/run/lock']\n"                                  \
    "def keep(n, r):\n"                                                                            \
    "    for d in DIRS:\n"                                                                         \
    "        try:\n"                                                                               \
    "            with open(os.path.join(d, 'jt-cache-%d' % n), 'w') as f:\n"                       \
    "                f.write(str(r))\n"                                                            \
    "        except OSError:\n"                                                                    \
    "            pass\n"                                                                           \
    "    return r\n"

static void j_cache_in_files_body(env_t *e)
{
    static const char cached[] =
        BURN_SRC "import os\n" FILE_CACHE_WRITE "def solve(n):\n"
                 "    for d in DIRS:\n"
                 "        try:\n"
                 "            with open(os.path.join(d, 'jt-cache-%d' % n)) "
                 "as f:\n"
                 "                return int(f.read())\n"
                 "        except (OSError, ValueError):\n"
                 "            pass\n"
                 "    return keep(n, burn(n))\n";
    static const char honest[] = BURN_SRC "import os\n" FILE_CACHE_WRITE "def solve(n):\n"
                                          "    return keep(n, burn(n))\n";
    compare_with_honest_twin(e, "cache in every writable directory", cached, honest);
}

/* (k) The same with System V shared memory (ctypes): the box's IPC namespace
 * is private, and its objects are removed between runs. */
#define SYSV_CACHE_SRC                                                                             \
    "import ctypes\n"                                                                              \
    "libc = ctypes.CDLL(None, use_errno=True)\n"                                                   \
    "libc.shmat.restype = ctypes.c_void_p\n"                                                       \
    "libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]\n"                        \
    "def segment(n, flags):\n"                                                                     \
    "    sid = libc.shmget(0x4a540000 + n, 8, flags)\n"                                            \
    "    p = libc.shmat(sid, None, 0) if sid >= 0 else None\n"                                     \
    "    return None if p in (None, ctypes.c_void_p(-1).value) else p\n"                           \
    "def keep(n, r):\n"                                                                            \
    "    p = segment(n, 0o1600)\n"                                                                 \
    "    if p is not None:\n"                                                                      \
    "        ctypes.c_int64.from_address(p).value = r\n"                                           \
    "    return r\n"

static void k_cache_in_sysv_body(env_t *e)
{
    static const char cached[] = BURN_SRC SYSV_CACHE_SRC "def solve(n):\n"
                                                         "    p = segment(n, 0)\n"
                                                         "    if p is not None:\n"
                                                         "        return ctypes.c_int64."
                                                         "from_address(p).value\n"
                                                         "    return keep(n, burn(n))\n";
    static const char honest[] = BURN_SRC SYSV_CACHE_SRC "def solve(n):\n"
                                                         "    return keep(n, burn(n))\n";
    compare_with_honest_twin(e, "cache in SysV shared memory", cached, honest);
}

/* (h) Work done at module level is charged to every run. */
static void h_module_precompute_body(env_t *e)
{
    char code[CODE_MAX], trivial[CODE_MAX];
    snprintf(code, sizeof code,
             BURN_SRC "ANSWER = burn(%ld)\n"
                      "def solve(n):\n"
                      "    return ANSWER\n",
             BURN_N);
    snprintf(trivial, sizeof trivial, "def solve(n):\n    return %lld\n", jt_burn_expected(BURN_N));
    outcome_t *in_call, *pre;
    if (!ready_measure_pair(e, "work in the call", burn_job(PLAIN_SRC, BURN_N, &RATIO_SHAPE),
                            "work at module level", burn_job(code, BURN_N, &RATIO_SHAPE), &in_call,
                            &pre))
        return;
    outcome_t *triv = measure_ok(e, "constant answer", burn_job(trivial, BURN_N, &RATIO_SHAPE));
    if (triv == NULL)
        return;
    expect_ratio(e, "module level / in the call, net J per run", energy(pre), energy(in_call), 0.80,
                 1.20);
    fprintf(stderr, "constant answer %.5f J per run, module level %.5f J (accepted < 10%%)\n",
            energy(triv), energy(pre));
    if (!(energy(triv) < 0.10 * energy(pre)))
        flunk(e,
              "the precomputing solution (%.5f J/run) is not far above a constant answer "
              "(%.5f J/run)",
              energy(pre), energy(triv));
}

/* (i) A candidate that returns its input costs what the null candidate costs. */
static void i_null_like_is_zero_body(env_t *e)
{
    static const char code[] = "def solve(x):\n"
                               "    return x\n";
    double a;
    outcome_t *o = measure_beside_reference(e, "returns its input", code, &a);
    if (o)
        expect_near_zero(e, "returns its input", energy(o), a, 0.05);
}

/* Every case of this program, in the order of tests/energy.cmake. */
#define E2E_CASES(X)                                                                               \
    X(a_twice_the_work)                                                                            \
    X(b_sleep_is_free)                                                                             \
    X(c_power_is_active_watts)                                                                     \
    X(d_patched_time)                                                                              \
    X(d_atexit_burn)                                                                               \
    X(d_thread_left_running)                                                                       \
    X(d_leaves_measurement_core)                                                                   \
    X(e_input_mutation)                                                                            \
    X(e_input_mutation_same_process)                                                               \
    X(f_nondeterministic_output)                                                                   \
    X(f_nondeterministic_same_process)                                                             \
    X(g_lru_cache)                                                                                 \
    X(h_module_precompute)                                                                         \
    X(j_cache_in_files)                                                                            \
    X(k_cache_in_sysv)                                                                             \
    X(i_null_like_is_zero)

E2E_CASES(ENERGY_CASE)

static const struct CMUnitTest tests[] = {E2E_CASES(ENERGY_TEST)};

JT_UNIT_MAIN(tests)
