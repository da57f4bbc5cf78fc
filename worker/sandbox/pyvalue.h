/* pyvalue.h -- msgpack <-> Python objects, bounded repr and exception text (embedded Python).
 *
 * Runs inside the sandbox processes with the GIL held (they are single-threaded).
 */
#ifndef JT_PYVALUE_H
#define JT_PYVALUE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <msgpack.h>

/* Build a new Python object from a msgpack value: nil -> None, bool, int,
 * float, str, array -> list, map -> dict. Returns a new reference, or NULL
 * with a Python exception set (bin/ext types are rejected). */
PyObject *jt_py_from_msgpack(const msgpack_object *o);

/* Deepest output a run may return: it travels inside frames up to three
 * levels deep, and a job's expected outputs cannot be deeper either. */
#define JT_PY_MAX_OUTPUT_DEPTH 61

/* Why a Python value could not be encoded. */
typedef struct {
    char message[256];
} jt_py_encode_error_t;

/* Append obj to *pk as msgpack: None, bool, int (64-bit range), float, str,
 * list/tuple -> array, dict with str keys -> map; nesting <= JT_PY_MAX_OUTPUT_DEPTH.
 * Returns 0, or -1 with err->message saying what could not be encoded (the
 * packer may then hold a partial value: the caller discards the buffer).
 * Never runs candidate-defined methods (no __iter__, __repr__, __index__ calls). */
int jt_py_to_msgpack(PyObject *obj, msgpack_packer *pk, jt_py_encode_error_t *err);

/* Bounded repr of obj (reprlib with generous limits, cut to max bytes at a
 * UTF-8 boundary). Returns a malloc'd string; never NULL (falls back to
 * "<unrepresentable TYPE>"). Clears any Python error it causes. */
char *jt_py_repr_bounded(PyObject *obj, size_t max);

/* The pending Python exception as text: the last lines of the formatted
 * traceback, ending with "Type: message", cut to max bytes from the end at a
 * UTF-8 boundary. Clears the exception. Sets *is_memory_error when the
 * exception is a MemoryError. Returns a malloc'd string; never NULL. */
char *jt_py_exception_text(size_t max, int *is_memory_error);

/* Import the modules the helpers above need (traceback, reprlib) so that
 * forked children do not pay for it. Returns 0 or -1 (Python error printed). */
int jt_py_preload(void);

/* gc.freeze(): move every object alive now to the permanent generation, so
 * that collections in forked children never walk (and copy-on-write) the
 * parent's heap. Call right before forking. Returns 0 or -1. */
int jt_py_freeze_heap(void);

#endif
