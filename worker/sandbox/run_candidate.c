/* run_candidate.c -- the run process: execute the candidate module and call its function. */
#include "run_candidate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "protocol.h"
#include "pyvalue.h"
#include "validation.h"

#define RUN_EXIT_BROKEN_PIPE 70
#define RUN_EXIT_NO_MEMORY 73

/* Send a frame; a broken pipe means the sandbox child is gone: leave. */
static void send_frame(jt_mp_frame_t *f, int fd)
{
    if (jt_mp_frame_send(f, fd) != JT_OK)
        _exit(RUN_EXIT_BROKEN_PIPE);
}

static void send_simple(int fd, const char *type)
{
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, 1, type);
    send_frame(&f, fd);
}

/* Report the pending Python exception as a load error and leave. */
_Noreturn static void load_failed(int fd)
{
    int is_mem = 0;
    char *text = jt_py_exception_text(JT_MAX_MESSAGE_BYTES, &is_mem);
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, 3, "load_error");
    jt_mp_pack_cstr(&f.pk, "status");
    jt_mp_pack_cstr(&f.pk, is_mem ? "memory_limit" : "exception");
    jt_mp_pack_cstr(&f.pk, "message");
    jt_mp_pack_cstr(&f.pk, text);
    send_frame(&f, fd);
    _exit(0);
}

/* Execute the module body in a fresh module "candidate" registered in
 * sys.modules (so dataclasses, pickle and friends find it). */
static PyObject *execute_module(PyObject *code)
{
    PyObject *module = PyImport_AddModule("candidate"); /* borrowed */
    if (module == NULL)
        return NULL;
    PyObject *globals = PyModule_GetDict(module); /* borrowed */
    if (PyDict_GetItemString(globals, "__builtins__") == NULL &&
        PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0)
        return NULL;
    PyObject *r = PyEval_EvalCode(code, globals, globals);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    return globals;
}

/* Call f with the seed's convention: list -> f(*inputs), dict -> f(**inputs),
 * anything else -> f(inputs). New reference or NULL with an exception. */
static PyObject *call_with_inputs(PyObject *f, PyObject *inputs)
{
    if (PyList_Check(inputs)) {
        PyObject *args = PyList_AsTuple(inputs);
        if (args == NULL)
            return NULL;
        PyObject *r = PyObject_Call(f, args, NULL);
        Py_DECREF(args);
        return r;
    }
    if (PyDict_Check(inputs)) {
        PyObject *args = PyTuple_New(0);
        if (args == NULL)
            return NULL;
        PyObject *r = PyObject_Call(f, args, inputs);
        Py_DECREF(args);
        return r;
    }
    return PyObject_CallOneArg(f, inputs);
}

static void send_result(int fd, size_t index, PyObject *value)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    const char *status = "ok";
    char *message = NULL;
    char *repr = NULL;
    if (value == NULL) {
        int is_mem = 0;
        message = jt_py_exception_text(JT_MAX_MESSAGE_BYTES, &is_mem);
        status = is_mem ? "memory_limit" : "exception";
    } else {
        repr = jt_py_repr_bounded(value, JT_MAX_ACTUAL_REPR_BYTES);
        msgpack_packer opk;
        msgpack_packer_init(&opk, &out, msgpack_sbuffer_write);
        jt_py_encode_error_t enc;
        if (jt_py_to_msgpack(value, &opk, &enc) < 0) {
            status = "not_serializable";
            message = strdup(enc.message);
            msgpack_sbuffer_clear(&out);
        }
    }
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, 6, "result");
    jt_mp_pack_cstr(&f.pk, "i");
    msgpack_pack_uint64(&f.pk, index);
    jt_mp_pack_cstr(&f.pk, "status");
    jt_mp_pack_cstr(&f.pk, status);
    jt_mp_pack_cstr(&f.pk, "output");
    if (out.size > 0)
        msgpack_sbuffer_write(&f.sb, out.data, out.size); /* already one msgpack value */
    else
        msgpack_pack_nil(&f.pk);
    jt_mp_pack_cstr(&f.pk, "message");
    jt_mp_pack_cstr(&f.pk, message);
    jt_mp_pack_cstr(&f.pk, "repr");
    jt_mp_pack_cstr(&f.pk, repr);
    free(message);
    free(repr);
    msgpack_sbuffer_destroy(&out);
    send_frame(&f, fd);
}

/* A fresh Python object for one test's inputs (new reference), or NULL with
 * an exception set. */
static PyObject *inputs_object(const jt_blob_t *blob)
{
    msgpack_unpacked in;
    if (!jt_mp_unpack_one(&in, blob->data, blob->len)) {
        PyErr_SetString(PyExc_ValueError, "inputs are not valid msgpack");
        return NULL;
    }
    PyObject *args = jt_py_from_msgpack(&in.data);
    msgpack_unpacked_destroy(&in);
    return args;
}

/* same_process mode: every call gets its own copy of the inputs, built before
 * the energy window opens (so an input-mutating function cannot make later
 * calls cheaper and copying is not measured). */
static void call_prepared(const jt_run_spec_t *spec, PyObject *f, int result_fd)
{
    size_t total = spec->repeats * spec->n_inputs;
    PyObject **copies = PyMem_Calloc(total ? total : 1, sizeof *copies);
    if (copies == NULL)
        _exit(RUN_EXIT_NO_MEMORY);
    for (size_t k = 0; k < total; k++) {
        copies[k] = inputs_object(&spec->inputs[k % spec->n_inputs]);
        if (copies[k] == NULL)
            _exit(RUN_EXIT_NO_MEMORY);
    }
    send_simple(result_fd, "prepared");
    char go;
    ssize_t n;
    do
        n = read(spec->go_fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        _exit(0); /* the trial was called off */
    for (size_t k = 0; k < total; k++) {
        PyObject *value = call_with_inputs(f, copies[k]);
        send_result(result_fd, k % spec->n_inputs, value);
        Py_XDECREF(value);
        Py_CLEAR(copies[k]);
    }
}

_Noreturn void jt_run_execute(const jt_run_spec_t *spec, size_t start, int result_fd)
{
    PyObject *globals = execute_module(spec->code);
    if (globals == NULL)
        load_failed(result_fd);
    PyObject *f = PyDict_GetItemString(globals, spec->function_name); /* borrowed */
    if (f == NULL) {
        PyErr_Format(PyExc_NameError, "function '%s' is not defined by the candidate code",
                     spec->function_name);
        load_failed(result_fd);
    }
    if (!PyCallable_Check(f)) {
        PyErr_Format(PyExc_TypeError, "'%s' is not callable (it is a %.100s)",
                     spec->function_name, Py_TYPE(f)->tp_name);
        load_failed(result_fd);
    }
    Py_INCREF(f); /* the candidate may delete its own global */
    send_simple(result_fd, "loaded");

    if (spec->repeats > 0) {
        call_prepared(spec, f, result_fd);
    } else {
        for (size_t i = start; i < spec->n_inputs; i++) {
            PyObject *args = inputs_object(&spec->inputs[i]);
            PyObject *value = args ? call_with_inputs(f, args) : NULL;
            Py_XDECREF(args);
            send_result(result_fd, i, value);
            Py_XDECREF(value);
        }
    }
    PyObject *out = PySys_GetObject("stdout"); /* borrowed; flush what the candidate printed */
    if (out != NULL) {
        PyObject *r = PyObject_CallMethod(out, "flush", NULL);
        Py_XDECREF(r);
        PyErr_Clear();
    }
    send_simple(result_fd, "finished");
    _exit(0);
}
