/* sandbox_trials.c -- sandbox child: execute trials of R runs on command, check outputs across runs. */
#include "sandbox_trials.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "frame.h"
#include "protocol.h"
#include "pyvalue.h"
#include "run_process.h"
#include "sandbox_confine.h"
#include "trial_usage.h"
#include "validation.h"

#define COMMAND_MAX_BYTES 4096

typedef struct {
    uint8_t *data;
    size_t len;
} bytes_t;

typedef struct {
    const jt_trials_spec_t *spec;
    PyObject *candidate;  /* compiled candidate module */
    PyObject *null_code;  /* compiled null candidate: same name, returns None at once */
    int out_fd;
    bytes_t *reference;   /* result frames of the first candidate run, per test */
    bool reference_sent;
    bytes_t *mismatch;    /* first differing result frames (of one run), per test */
    bool have_mismatch;
    jt_trial_usage_t usage; /* of the runs of the trial in progress, from wait4 */
} trials_t;

/* Outcome of one run or trial. */
typedef struct {
    bool ok;
    char status[32]; /* exception | timeout | memory_limit | output_limit | crashed | ... */
    char message[JT_MAX_MESSAGE_BYTES];
} outcome_t;

static void set_failure(outcome_t *o, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_failure(outcome_t *o, const char *status, const char *fmt, ...)
{
    if (!o->ok)
        return; /* keep the first reason */
    o->ok = false;
    snprintf(o->status, sizeof o->status, "%s", status);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->message, sizeof o->message, fmt, ap);
    va_end(ap);
}

static void bytes_free_all(bytes_t *b, size_t n)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(b[i].data);
        b[i].data = NULL;
        b[i].len = 0;
    }
}


static int send_typed(int fd, const char *type, long long id)
{
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, id >= 0 ? 2 : 1, type);
    if (id >= 0) {
        jt_mp_pack_cstr(&f.pk, "id");
        msgpack_pack_int64(&f.pk, id);
    }
    return jt_mp_frame_send(&f, fd) == JT_OK ? 0 : -1;
}

/* A result frame of a run: check it and, for candidate runs, compare its
 * bytes with the reference (keeping the first difference). */
static void on_result(trials_t *t, bool is_candidate, size_t expect_index, const uint8_t *data,
                      size_t len, outcome_t *o)
{
    msgpack_unpacked msg;
    if (!jt_mp_unpack_one(&msg, data, len)) {
        set_failure(o, "crashed", "the run sent a malformed result frame");
        return;
    }
    long long index = -1;
    jt_mp_int(jt_mp_find(&msg.data, "i"), &index);
    const msgpack_object *status = jt_mp_find(&msg.data, "status");
    if (index != (long long)expect_index) {
        set_failure(o, "crashed", "the run sent results out of order");
    } else if (!jt_mp_str_eq(status, "ok")) {
        char *st = jt_mp_strdup(status);
        char *m = jt_mp_strdup(jt_mp_find(&msg.data, "message"));
        set_failure(o, st && strlen(st) < 32 ? st : "crashed",
                    "test %lld failed during a measured run: %s", index, m ? m : "");
        free(st);
        free(m);
    } else if (is_candidate) {
        bytes_t *ref = &t->reference[expect_index];
        if (ref->data == NULL) {
            ref->data = malloc(len ? len : 1);
            if (ref->data != NULL) {
                memcpy(ref->data, data, len);
                ref->len = len;
            }
        } else if ((ref->len != len || memcmp(ref->data, data, len) != 0) &&
                   t->mismatch[expect_index].data == NULL) {
            bytes_t *mm = &t->mismatch[expect_index];
            mm->data = malloc(len ? len : 1);
            if (mm->data != NULL) {
                memcpy(mm->data, data, len);
                mm->len = len;
                t->have_mismatch = true;
            }
        }
    }
    msgpack_unpacked_destroy(&msg);
}

/* Reap a run (killing it first when kill_it) and add the kernel's account
 * of it to the trial's usage. Returns the wait status. */
static int finish_run(trials_t *t, jt_run_process_t *run, bool kill_it)
{
    int status = jt_run_process_finish(run, kill_it);
    if (run->reaped)
        jt_trial_usage_add(&t->usage, &run->usage);
    return status;
}

/* Watch a run until its results are in (fresh mode) or until it is
 * "prepared" (same_process mode, stop_at_prepared). calls = expected result
 * frames. */
static void watch_run(trials_t *t, jt_run_process_t *run, bool is_candidate, size_t calls,
                      bool stop_at_prepared, double deadline, outcome_t *o, size_t *results)
{
    const jt_trials_spec_t *spec = t->spec;
    bool killed = true;
    for (;;) {
        double now = jt_clock_now();
        if (now >= deadline) {
            set_failure(o, "timeout", "a measured run exceeded its time limit");
            break;
        }
        uint8_t *data = NULL;
        size_t len = 0;
        /* now < deadline, so the rounded-up wait is >= 1 ms: never a busy poll(0) */
        jt_run_event_t ev = jt_run_process_poll(run, jt_clock_ms(deadline - now),
                                                spec->output_limit_bytes, &data, &len);
        if (ev == JT_RUN_IDLE)
            continue;
        if (ev == JT_RUN_EOF) {
            killed = false;
            break;
        }
        if (ev != JT_RUN_FRAME) {
            set_failure(o, ev == JT_RUN_ERROR ? "crashed" : "output_limit",
                        "a measured run exceeded its output limits");
            break;
        }
        msgpack_unpacked msg;
        const msgpack_object *type = NULL;
        if (jt_mp_unpack_one(&msg, data, len))
            type = jt_mp_find(&msg.data, "t");
        bool stop = false;
        if (type == NULL) {
            set_failure(o, "crashed", "the run sent a malformed frame");
            stop = true;
        } else if (jt_mp_str_eq(type, "result") && *results < calls) {
            on_result(t, is_candidate, *results % spec->n_inputs, data, len, o);
            (*results)++;
            stop = !o->ok;
        } else if (jt_mp_str_eq(type, "load_error")) {
            char *m = jt_mp_strdup(jt_mp_find(&msg.data, "message"));
            set_failure(o, "exception", "module failed during a measured run: %s", m ? m : "");
            free(m);
            stop = true;
        } else if (jt_mp_str_eq(type, "prepared") && stop_at_prepared) {
            msgpack_unpacked_destroy(&msg);
            free(data);
            return; /* the run waits for "go" */
        } else if (!jt_mp_str_eq(type, "loaded") && !jt_mp_str_eq(type, "finished")) {
            set_failure(o, "crashed", "the run sent an unexpected frame");
            stop = true;
        }
        if (type != NULL)
            msgpack_unpacked_destroy(&msg);
        free(data);
        if (stop)
            break;
    }
    int status = finish_run(t, run, killed);
    if (o->ok && run->overstayed) {
        set_failure(o, "timeout", "a measured run kept running after it closed its result pipe");
        return;
    }
    if (o->ok && *results < calls) {
        char m[JT_MAX_MESSAGE_BYTES];
        jt_run_process_describe_exit(run, status, m, sizeof m);
        set_failure(o, "crashed", "a measured run ended early: %s", m);
    }
}

static jt_run_spec_t run_spec(const trials_t *t, bool is_candidate, unsigned long repeats)
{
    jt_run_spec_t rs = {.code = is_candidate ? t->candidate : t->null_code,
                        .function_name = t->spec->function_name,
                        .inputs = t->spec->inputs,
                        .n_inputs = t->spec->n_inputs,
                        .repeats = repeats,
                        .go_fd = -1};
    return rs;
}

/* Read the next command frame: *data holds its bytes (the unpacked objects
 * point into them; the caller frees both). False on EOF or garbage. */
static bool next_command(int cmd_fd, msgpack_unpacked *cmd, uint8_t **data)
{
    size_t len;
    if (jt_frame_read(cmd_fd, COMMAND_MAX_BYTES, -1, data, &len) != JT_OK)
        return false;
    if (jt_mp_unpack_one(cmd, *data, len))
        return true;
    free(*data);
    return false;
}

/* Wait for {"op":"go","id":id}. */
static bool wait_go(int cmd_fd, long long id)
{
    msgpack_unpacked cmd;
    uint8_t *data;
    if (!next_command(cmd_fd, &cmd, &data))
        return false;
    long long got = -1;
    bool ok = jt_mp_str_eq(jt_mp_find(&cmd.data, "op"), "go") &&
              jt_mp_int(jt_mp_find(&cmd.data, "id"), &got) && got == id;
    msgpack_unpacked_destroy(&cmd);
    free(data);
    return ok;
}

static int send_outputs(trials_t *t, long long id, const char *kind, bytes_t *frames)
{
    size_t count = 0;
    for (size_t i = 0; i < t->spec->n_inputs; i++)
        count += frames[i].data != NULL;
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, 4, "outputs");
    jt_mp_pack_cstr(&f.pk, "id");
    msgpack_pack_int64(&f.pk, id);
    jt_mp_pack_cstr(&f.pk, "kind");
    jt_mp_pack_cstr(&f.pk, kind);
    jt_mp_pack_cstr(&f.pk, "results");
    msgpack_pack_array(&f.pk, count);
    for (size_t i = 0; i < t->spec->n_inputs; i++)
        if (frames[i].data != NULL) /* each is one msgpack map already */
            msgpack_sbuffer_write(&f.sb, (const char *)frames[i].data, frames[i].len);
    return jt_mp_frame_send(&f, t->out_fd) == JT_OK ? 0 : -1;
}

/* trial_end, with the usage map of the trial's runs (4 integers: the frame
 * stays small whatever the trial did). */
static int send_trial_end(int out_fd, long long id, const outcome_t *o,
                          const jt_trial_usage_t *usage)
{
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, 6, "trial_end");
    jt_mp_pack_cstr(&f.pk, "id");
    msgpack_pack_int64(&f.pk, id);
    jt_mp_pack_cstr(&f.pk, "ok");
    o->ok ? msgpack_pack_true(&f.pk) : msgpack_pack_false(&f.pk);
    jt_mp_pack_cstr(&f.pk, "status");
    jt_mp_pack_cstr(&f.pk, o->ok ? NULL : o->status);
    jt_mp_pack_cstr(&f.pk, "message");
    jt_mp_pack_cstr(&f.pk, o->ok ? NULL : o->message);
    jt_mp_pack_cstr(&f.pk, "usage");
    jt_trial_usage_pack(&f.pk, usage);
    return jt_mp_frame_send(&f, out_fd) == JT_OK ? 0 : -1;
}

/* Empty the box between runs; a box that cannot be emptied fails the trial
 * (the run made its state stick). */
static void scrub(outcome_t *o)
{
    if (jt_sandbox_scrub() < 0 && o->ok)
        set_failure(o, "crashed", "a run left state in the box that could not be removed");
}

/* One trial: R runs of the candidate or of the null candidate. */
static int do_trial(trials_t *t, int cmd_fd, long long id, bool is_candidate, unsigned long runs)
{
    const jt_trials_spec_t *spec = t->spec;
    double run_limit = spec->timeout_seconds * (double)(spec->n_inputs + 1);
    outcome_t o = {.ok = true};
    size_t results = 0;
    jt_run_process_t prepared;
    bool have_prepared = false;
    memset(&t->usage, 0, sizeof t->usage);

    if (spec->same_process) {
        /* Everything before "go" (fork, module, input copies) is outside the window. */
        jt_run_spec_t rs = run_spec(t, is_candidate, runs);
        if (jt_run_process_start(&prepared, &rs, 0) < 0)
            set_failure(&o, "crashed", "could not start a run: %s", strerror(errno));
        else {
            have_prepared = true;
            watch_run(t, &prepared, is_candidate, runs * spec->n_inputs, true,
                      jt_clock_now() + run_limit, &o, &results);
        }
    }
    if (send_typed(t->out_fd, "trial_ready", id) < 0 || !wait_go(cmd_fd, id)) {
        if (have_prepared)
            jt_run_process_finish(&prepared, true);
        return -1;
    }
    /* ---- energy window: the worker has read the meter ---- */
    if (spec->same_process) {
        if (have_prepared && o.ok) {
            char go = 'g';
            if (write(prepared.go_fd, &go, 1) != 1)
                set_failure(&o, "crashed", "the prepared run went away");
            watch_run(t, &prepared, is_candidate, runs * spec->n_inputs, false,
                      jt_clock_now() + run_limit * (double)runs, &o, &results);
            scrub(&o);
        } else if (have_prepared) {
            finish_run(t, &prepared, true);
        }
    } else {
        jt_run_spec_t rs = run_spec(t, is_candidate, 0);
        for (unsigned long r = 0; r < runs && o.ok; r++) {
            jt_run_process_t run;
            results = 0;
            if (jt_run_process_start(&run, &rs, 0) < 0) {
                set_failure(&o, "crashed", "could not start a run: %s", strerror(errno));
                break;
            }
            watch_run(t, &run, is_candidate, spec->n_inputs, false, jt_clock_now() + run_limit,
                      &o, &results);
            /* Files a run left must not make the next one cheaper. The null
             * candidate pays for this scrub too, so it is subtracted. */
            scrub(&o);
        }
    }
    if (send_trial_end(t->out_fd, id, &o, &t->usage) < 0)
        return -1;
    /* ---- window closed: the worker has read the meter ---- */
    if (is_candidate && o.ok && !t->reference_sent) {
        if (send_outputs(t, id, "reference", t->reference) < 0)
            return -1;
        t->reference_sent = true;
    }
    if (is_candidate && t->have_mismatch) {
        if (send_outputs(t, id, "mismatch", t->mismatch) < 0)
            return -1;
        bytes_free_all(t->mismatch, spec->n_inputs);
        t->have_mismatch = false;
    }
    return send_typed(t->out_fd, "trial_done", id);
}

static PyObject *compile_null(const char *function_name)
{
    char src[512];
    snprintf(src, sizeof src, "def %s(*args, **kwargs):\n    return None\n", function_name);
    return Py_CompileString(src, "<null-candidate>", Py_file_input);
}

int jt_trials_serve(const jt_trials_spec_t *spec, int cmd_fd, int out_fd)
{
    trials_t t = {.spec = spec, .out_fd = out_fd};
    t.candidate = Py_CompileString(spec->code, "<candidate>", Py_file_input);
    if (t.candidate == NULL) {
        int is_mem = 0;
        char *text = jt_py_exception_text(JT_MAX_MESSAGE_BYTES, &is_mem);
        jt_mp_frame_t f;
        jt_mp_frame_begin(&f, 2, "trials_error");
        jt_mp_pack_cstr(&f.pk, "message");
        jt_mp_pack_cstr(&f.pk, text);
        free(text);
        return jt_mp_frame_send(&f, out_fd) == JT_OK ? 0 : -1;
    }
    t.null_code = compile_null(spec->function_name);
    t.reference = calloc(spec->n_inputs, sizeof *t.reference);
    t.mismatch = calloc(spec->n_inputs, sizeof *t.mismatch);
    int rc = -1;
    if (t.null_code == NULL || t.reference == NULL || t.mismatch == NULL ||
        send_typed(out_fd, "trials_ready", -1) < 0)
        goto out;
    for (;;) {
        msgpack_unpacked cmd;
        uint8_t *data;
        if (!next_command(cmd_fd, &cmd, &data)) {
            rc = 0;
            break;
        }
        const msgpack_object *op = jt_mp_find(&cmd.data, "op");
        long long id = -1, runs = 0;
        bool is_trial = jt_mp_str_eq(op, "trial") && jt_mp_int(jt_mp_find(&cmd.data, "id"), &id) &&
                        jt_mp_int(jt_mp_find(&cmd.data, "runs"), &runs) && runs >= 1 &&
                        (unsigned long long)runs <= JT_MAX_REPEATS;
        bool is_candidate = !jt_mp_str_eq(jt_mp_find(&cmd.data, "which"), "null");
        bool done = jt_mp_str_eq(op, "done");
        msgpack_unpacked_destroy(&cmd);
        free(data);
        if (done) {
            rc = 0;
            break;
        }
        if (!is_trial)
            break; /* protocol error: leave; the worker sees the end frame */
        if (do_trial(&t, cmd_fd, id, is_candidate, (unsigned long)runs) < 0)
            break;
    }
out:
    bytes_free_all(t.reference, spec->n_inputs);
    bytes_free_all(t.mismatch, spec->n_inputs);
    free(t.reference);
    free(t.mismatch);
    Py_XDECREF(t.null_code);
    Py_DECREF(t.candidate);
    return rc;
}
