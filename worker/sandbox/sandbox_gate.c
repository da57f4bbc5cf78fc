/* sandbox_gate.c -- sandbox child: compile the candidate, fork runs, enforce wall clock and output caps. */
#include "sandbox_gate.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "frame.h"
#include "protocol.h"
#include "pyvalue.h"
#include "run_candidate.h"
#include "run_process.h"
#include "validation.h"
#include "value.h"

int jt_gate_emit_test(int out_fd, size_t index, const char *status, const msgpack_object *output,
                      const char *message, const char *repr, double seconds)
{
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, 7, "test");
    jt_mp_pack_cstr(&f.pk, "i");
    msgpack_pack_uint64(&f.pk, index);
    jt_mp_pack_cstr(&f.pk, "status");
    jt_mp_pack_cstr(&f.pk, status);
    jt_mp_pack_cstr(&f.pk, "output");
    if (output != NULL)
        msgpack_pack_object(&f.pk, *output);
    else
        msgpack_pack_nil(&f.pk);
    jt_mp_pack_cstr(&f.pk, "message");
    jt_mp_pack_cstr(&f.pk, message);
    jt_mp_pack_cstr(&f.pk, "repr");
    jt_mp_pack_cstr(&f.pk, repr);
    jt_mp_pack_cstr(&f.pk, "seconds");
    msgpack_pack_double(&f.pk, seconds);
    return jt_mp_frame_send(&f, out_fd) == JT_OK ? 0 : -1;
}

/* The same status and message for tests from..n-1. */
static int emit_rest(int out_fd, size_t from, size_t n, const char *status, const char *message)
{
    for (size_t i = from; i < n; i++)
        if (jt_gate_emit_test(out_fd, i, status, NULL, message, NULL, 0.0) < 0)
            return -1;
    return 0;
}

typedef enum { RUN_FINISHED, RUN_STOPPED, RUN_ABORTED } run_outcome_t;

/* What one result frame of a run means for the gate. */
typedef enum { STEP_CONTINUE, STEP_FINISHED, STEP_LOAD_ERROR, STEP_BAD_FRAME, STEP_OUT_BROKEN,
               STEP_STOP } step_t;

typedef struct {
    const jt_gate_spec_t *spec;
    int out_fd;
    size_t start;   /* first test of this run */
    bool loaded;
    size_t current; /* test whose call is in progress (after "loaded") */
    double t_mark;  /* when the current call began (frame arrival) */
} gate_run_t;

static step_t on_load_error(gate_run_t *g, const msgpack_object *msg)
{
    char *st = jt_mp_strdup(jt_mp_find(msg, "status"));
    char *m = jt_mp_strdup(jt_mp_find(msg, "message"));
    const char *status = st && strcmp(st, "memory_limit") == 0 ? "memory_limit" : "exception";
    int rc = emit_rest(g->out_fd, g->start, g->spec->n_inputs, status, m ? m : "module failed");
    free(st);
    free(m);
    return rc < 0 ? STEP_OUT_BROKEN : STEP_LOAD_ERROR;
}

static step_t on_result(gate_run_t *g, const msgpack_object *msg, double arrived)
{
    long long index = -1;
    jt_mp_int(jt_mp_find(msg, "i"), &index);
    const msgpack_object *status = jt_mp_find(msg, "status");
    const msgpack_object *output = jt_mp_find(msg, "output");
    bool is_ok = jt_mp_str_eq(status, "ok");
    bool valid_status = is_ok || jt_mp_str_eq(status, "exception") ||
                        jt_mp_str_eq(status, "memory_limit") ||
                        jt_mp_str_eq(status, "not_serializable");
    jt_error_t verr;
    if (index != (long long)g->current || g->current >= g->spec->n_inputs || !valid_status ||
        output == NULL || (is_ok && jt_value_check(output, "output", &verr) != JT_OK))
        return STEP_BAD_FRAME;
    char *st = jt_mp_strdup(status);
    char *m = jt_mp_strdup(jt_mp_find(msg, "message"));
    char *r = jt_mp_strdup(jt_mp_find(msg, "repr"));
    int rc = jt_gate_emit_test(g->out_fd, g->current, st ? st : "crashed", is_ok ? output : NULL, m,
                               r, arrived - g->t_mark);
    free(st);
    free(m);
    free(r);
    g->current++;
    g->t_mark = arrived;
    if (rc < 0)
        return STEP_OUT_BROKEN;
    return !is_ok && g->spec->stop_on_first_failure ? STEP_STOP : STEP_CONTINUE;
}

static step_t on_frame(gate_run_t *g, const uint8_t *data, size_t len, double arrived)
{
    msgpack_unpacked msg;
    if (!jt_mp_unpack_one(&msg, data, len))
        return STEP_BAD_FRAME;
    const msgpack_object *type = jt_mp_find(&msg.data, "t");
    step_t step = STEP_BAD_FRAME;
    if (jt_mp_str_eq(type, "loaded") && !g->loaded) {
        g->loaded = true;
        g->t_mark = arrived;
        step = STEP_CONTINUE;
    } else if (jt_mp_str_eq(type, "load_error") && !g->loaded) {
        step = on_load_error(g, &msg.data);
    } else if (jt_mp_str_eq(type, "result") && g->loaded) {
        step = on_result(g, &msg.data, arrived);
    } else if (jt_mp_str_eq(type, "finished") && g->loaded && g->current == g->spec->n_inputs) {
        step = STEP_FINISHED;
    }
    msgpack_unpacked_destroy(&msg);
    return step;
}

/* Supervise one run from test `start`. On return *next is the first test
 * that still needs a run. RUN_STOPPED: no further run is needed (all tests
 * have records). RUN_ABORTED: out_fd broke. */
static run_outcome_t supervise(jt_run_process_t *run, const jt_gate_spec_t *spec, size_t start,
                               int out_fd, double job_deadline, size_t *next)
{
    gate_run_t g = {.spec = spec, .out_fd = out_fd, .start = start, .current = start,
                    .t_mark = jt_clock_now()};
    double deadline = g.t_mark + spec->timeout_seconds;
    const char *fail_status = NULL;
    char message[JT_MAX_MESSAGE_BYTES];
    bool killed = true;

    for (;;) {
        double now = jt_clock_now();
        double until = deadline < job_deadline ? deadline : job_deadline;
        if (now >= until) {
            fail_status = "timeout";
            snprintf(message, sizeof message, "%s exceeded the %g s time limit%s",
                     g.loaded ? "the call" : "module-level code", spec->timeout_seconds,
                     now < deadline ? " (validation budget exhausted)" : "");
            break;
        }
        uint8_t *data = NULL;
        size_t len = 0;
        /* now < until, so the rounded-up wait is >= 1 ms: never a busy poll(0) */
        jt_run_event_t ev = jt_run_process_poll(run, jt_clock_ms(until - now),
                                                spec->output_limit_bytes, &data, &len);
        if (ev == JT_RUN_IDLE)
            continue;
        if (ev == JT_RUN_EOF) {
            killed = false;
            break; /* the run ended: find out how below */
        }
        if (ev == JT_RUN_OUTPUT_LIMIT) {
            fail_status = "output_limit";
            snprintf(message, sizeof message, "%s exceeded %ld bytes",
                     jt_run_process_noisy_stream(run, spec->output_limit_bytes),
                     spec->output_limit_bytes);
            break;
        }
        if (ev == JT_RUN_TOO_LARGE) {
            fail_status = "output_limit";
            snprintf(message, sizeof message, "the return value exceeds %u bytes",
                     JT_RUN_FRAME_MAX_BYTES);
            break;
        }
        if (ev == JT_RUN_ERROR) {
            fail_status = "crashed";
            snprintf(message, sizeof message, "sandbox error reading the run");
            break;
        }
        step_t step = on_frame(&g, data, len, jt_clock_now());
        free(data);
        if (step == STEP_CONTINUE) {
            deadline = g.t_mark + spec->timeout_seconds;
            continue;
        }
        if (step == STEP_BAD_FRAME) {
            fail_status = "crashed";
            snprintf(message, sizeof message, "the run sent a malformed result frame");
            break;
        }
        jt_run_process_finish(run, true);
        if (step == STEP_OUT_BROKEN)
            return RUN_ABORTED;
        if (step == STEP_STOP && emit_rest(out_fd, g.current, spec->n_inputs, "not_run",
                                           "skipped: stop_on_first_failure") < 0)
            return RUN_ABORTED;
        *next = spec->n_inputs; /* finished, load error or stop: every test has its record */
        return step == STEP_FINISHED ? RUN_FINISHED : RUN_STOPPED;
    }

    int wstatus = jt_run_process_finish(run, killed);
    if (run->overstayed && fail_status == NULL) { /* only matters while tests remain */
        fail_status = "timeout";
        snprintf(message, sizeof message, "the run kept running after it closed its result pipe");
    }
    if (g.loaded && g.current >= spec->n_inputs) {
        /* every test has its record; only the goodbye was missing */
        *next = spec->n_inputs;
        return RUN_FINISHED;
    }
    if (fail_status == NULL) {
        fail_status = "crashed";
        jt_run_process_describe_exit(run, wstatus, message, sizeof message);
    }
    if (!g.loaded) {
        /* module-level failure: it would fail the same way for every test */
        if (emit_rest(out_fd, start, spec->n_inputs, fail_status, message) < 0)
            return RUN_ABORTED;
        *next = spec->n_inputs;
        return RUN_STOPPED;
    }
    if (jt_gate_emit_test(out_fd, g.current, fail_status, NULL, message, NULL,
                          jt_clock_now() - g.t_mark) < 0)
        return RUN_ABORTED;
    *next = g.current + 1;
    if (spec->stop_on_first_failure) {
        if (emit_rest(out_fd, *next, spec->n_inputs, "not_run", "skipped: stop_on_first_failure") <
            0)
            return RUN_ABORTED;
        *next = spec->n_inputs;
        return RUN_STOPPED;
    }
    return RUN_FINISHED;
}

int jt_gate_run(const jt_gate_spec_t *spec, int out_fd)
{
    PyObject *code = Py_CompileString(spec->code, "<candidate>", Py_file_input);
    if (code == NULL) {
        int is_mem = 0;
        char *text = jt_py_exception_text(JT_MAX_MESSAGE_BYTES, &is_mem);
        int rc = emit_rest(out_fd, 0, spec->n_inputs, is_mem ? "memory_limit" : "exception", text);
        free(text);
        return rc;
    }
    jt_run_spec_t rs = {.code = code,
                        .function_name = spec->function_name,
                        .inputs = spec->inputs,
                        .n_inputs = spec->n_inputs,
                        .go_fd = -1};
    double job_deadline = jt_clock_now() + spec->budget_seconds;
    size_t next = 0;
    int rc = 0;
    while (next < spec->n_inputs) {
        if (jt_clock_now() >= job_deadline) {
            rc = emit_rest(out_fd, next, spec->n_inputs, "not_run",
                           "skipped: validation budget exhausted");
            break;
        }
        jt_run_process_t run;
        if (jt_run_process_start(&run, &rs, next) < 0) {
            char m[128];
            snprintf(m, sizeof m, "could not start a run: %s", strerror(errno));
            rc = emit_rest(out_fd, next, spec->n_inputs, "crashed", m);
            break;
        }
        run_outcome_t o = supervise(&run, spec, next, out_fd, job_deadline, &next);
        if (o == RUN_ABORTED) {
            rc = -1;
            break;
        }
        if (o == RUN_STOPPED)
            break;
    }
    Py_DECREF(code);
    return rc;
}
