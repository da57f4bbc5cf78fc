/* pyvalue.c -- msgpack <-> Python objects, bounded repr and exception text. */
#include "pyvalue.h"

#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "value.h"

static PyObject *repr_instance; /* reprlib.Repr configured once, in jt_py_preload */
static PyObject *format_exception_fn; /* traceback.format_exception */

static PyObject *from_msgpack_depth(const msgpack_object *o, unsigned depth)
{
    if (depth > JT_MAX_DEPTH) {
        PyErr_SetString(PyExc_ValueError, "value nested too deeply");
        return NULL;
    }
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        Py_RETURN_NONE;
    case MSGPACK_OBJECT_BOOLEAN:
        return PyBool_FromLong(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return PyLong_FromUnsignedLongLong(o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return PyLong_FromLongLong(o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return PyFloat_FromDouble(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return PyUnicode_DecodeUTF8(o->via.str.ptr, (Py_ssize_t)o->via.str.size, "strict");
    case MSGPACK_OBJECT_ARRAY: {
        PyObject *list = PyList_New((Py_ssize_t)o->via.array.size);
        if (list == NULL)
            return NULL;
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            PyObject *item = from_msgpack_depth(&o->via.array.ptr[i], depth + 1);
            if (item == NULL) {
                Py_DECREF(list);
                return NULL;
            }
            PyList_SET_ITEM(list, i, item);
        }
        return list;
    }
    case MSGPACK_OBJECT_MAP: {
        PyObject *dict = PyDict_New();
        if (dict == NULL)
            return NULL;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            PyObject *k = from_msgpack_depth(&o->via.map.ptr[i].key, depth + 1);
            PyObject *v = k ? from_msgpack_depth(&o->via.map.ptr[i].val, depth + 1) : NULL;
            if (v == NULL || PyDict_SetItem(dict, k, v) < 0) {
                Py_XDECREF(k);
                Py_XDECREF(v);
                Py_DECREF(dict);
                return NULL;
            }
            Py_DECREF(k);
            Py_DECREF(v);
        }
        return dict;
    }
    case MSGPACK_OBJECT_EXT:
        if (o->via.ext.type == JT_MP_EXT_BIGINT &&
            jt_bigint_text_check(o->via.ext.ptr, o->via.ext.size) == 0) {
            /* on the heap: this function recurses */
            PyObject *text =
                PyUnicode_FromStringAndSize(o->via.ext.ptr, (Py_ssize_t)o->via.ext.size);
            PyObject *n = text ? PyLong_FromUnicodeObject(text, 10) : NULL;
            Py_XDECREF(text);
            return n;
        }
        PyErr_SetString(PyExc_ValueError, "unsupported msgpack ext type");
        return NULL;
    default:
        PyErr_SetString(PyExc_ValueError, "unsupported msgpack type (bin)");
        return NULL;
    }
}

PyObject *jt_py_from_msgpack(const msgpack_object *o)
{
    return from_msgpack_depth(o, 1);
}

static int encode_fail(jt_py_encode_error_t *err, const char *what, PyObject *obj)
{
    snprintf(err->message, sizeof err->message, "%s (type %.100s)", what, Py_TYPE(obj)->tp_name);
    return -1;
}

static int to_msgpack_depth(PyObject *obj, msgpack_packer *pk, jt_py_encode_error_t *err,
                            unsigned depth)
{
    if (depth > JT_PY_MAX_OUTPUT_DEPTH)
        return encode_fail(err, "value nested too deeply (at most 61 levels)", obj);
    if (obj == Py_None)
        return msgpack_pack_nil(pk);
    if (PyBool_Check(obj))
        return obj == Py_True ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    if (PyLong_Check(obj)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
        if (overflow == 0 && !(v == -1 && PyErr_Occurred()))
            return msgpack_pack_int64(pk, v);
        PyErr_Clear();
        if (overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(obj);
            if (!PyErr_Occurred())
                return msgpack_pack_uint64(pk, u);
            PyErr_Clear();
        }
        /* beyond 64 bits: the ext type with the canonical decimal text */
        PyObject *text = PyObject_Str(obj); /* ValueError beyond Python's digit limit */
        Py_ssize_t n = 0;
        const char *t = text != NULL ? PyUnicode_AsUTF8AndSize(text, &n) : NULL;
        int rc = -1;
        if (t != NULL && jt_bigint_text_check(t, (size_t)n) == 0)
            rc = msgpack_pack_ext(pk, (size_t)n, JT_MP_EXT_BIGINT) |
                 msgpack_pack_ext_body(pk, t, (size_t)n);
        Py_XDECREF(text);
        if (rc == 0)
            return 0;
        PyErr_Clear();
        return encode_fail(err, "integer of more than 4300 digits", obj);
    }
    if (PyFloat_Check(obj))
        return msgpack_pack_double(pk, PyFloat_AS_DOUBLE(obj));
    if (PyUnicode_Check(obj)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(obj, &n);
        if (s == NULL) {
            PyErr_Clear();
            return encode_fail(err, "string is not encodable as UTF-8", obj);
        }
        if ((size_t)n > JT_MAX_STRING_BYTES)
            return encode_fail(err, "string longer than 1 MiB", obj);
        if (msgpack_pack_str(pk, (size_t)n) < 0)
            return -1;
        return msgpack_pack_str_body(pk, s, (size_t)n);
    }
    if (PyList_Check(obj) || PyTuple_Check(obj)) {
        int is_list = PyList_Check(obj);
        Py_ssize_t n = is_list ? PyList_GET_SIZE(obj) : PyTuple_GET_SIZE(obj);
        if (msgpack_pack_array(pk, (size_t)n) < 0)
            return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            /* A list may be resized by nothing here: we run no Python code. */
            PyObject *item = is_list ? PyList_GET_ITEM(obj, i) : PyTuple_GET_ITEM(obj, i);
            if (to_msgpack_depth(item, pk, err, depth + 1) < 0)
                return -1;
        }
        return 0;
    }
    if (PyDict_Check(obj)) {
        if (msgpack_pack_map(pk, (size_t)PyDict_GET_SIZE(obj)) < 0)
            return -1;
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(obj, &pos, &k, &v)) {
            if (!PyUnicode_Check(k))
                return encode_fail(err, "dict key is not a string", k);
            if (to_msgpack_depth(k, pk, err, depth + 1) < 0 ||
                to_msgpack_depth(v, pk, err, depth + 1) < 0)
                return -1;
        }
        return 0;
    }
    return encode_fail(err, "value is not JSON-like (None, bool, int, float, str, list, tuple, "
                            "dict)",
                       obj);
}

int jt_py_to_msgpack(PyObject *obj, msgpack_packer *pk, jt_py_encode_error_t *err)
{
    err->message[0] = '\0';
    int rc = to_msgpack_depth(obj, pk, err, 1);
    if (rc < 0 && err->message[0] == '\0')
        snprintf(err->message, sizeof err->message, "out of memory while encoding the value");
    return rc;
}

/* Length of the longest prefix of s (len bytes) that is at most max bytes and
 * does not split a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static char *dup_prefix(const char *s, size_t len, size_t max)
{
    size_t n = utf8_prefix(s, len, max);
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static char *fallback_text(const char *fmt, PyObject *obj)
{
    char buf[256];
    snprintf(buf, sizeof buf, fmt, obj ? Py_TYPE(obj)->tp_name : "?");
    char *out = strdup(buf);
    return out ? out : strdup("?");
}

char *jt_py_repr_bounded(PyObject *obj, size_t max)
{
    /* CallMethodOneArg, not CallMethod(..., "O", obj): that one takes a
     * tuple argument for the whole argument list (a tuple showed as
     * "<unrepresentable tuple>"). */
    PyObject *name = repr_instance ? PyUnicode_FromString("repr") : NULL;
    PyObject *r = name ? PyObject_CallMethodOneArg(repr_instance, name, obj) : PyObject_Repr(obj);
    Py_XDECREF(name);
    const char *s = NULL;
    Py_ssize_t n = 0;
    if (r != NULL && PyUnicode_Check(r))
        s = PyUnicode_AsUTF8AndSize(r, &n);
    char *out = s ? dup_prefix(s, (size_t)n, max) : NULL;
    Py_XDECREF(r);
    PyErr_Clear();
    return out ? out : fallback_text("<unrepresentable %.100s>", obj);
}

char *jt_py_exception_text(size_t max, int *is_memory_error)
{
    PyObject *type = NULL, *exc = NULL, *tb = NULL;
    PyErr_Fetch(&type, &exc, &tb);
    *is_memory_error = 0;
    if (type == NULL)
        return strdup("unknown error");
    PyErr_NormalizeException(&type, &exc, &tb);
    if (exc != NULL && tb != NULL)
        PyException_SetTraceback(exc, tb);
    *is_memory_error = PyErr_GivenExceptionMatches(type, PyExc_MemoryError);
    char *out = NULL;
    PyObject *lines = NULL;
    if (!*is_memory_error && format_exception_fn != NULL && exc != NULL)
        lines = PyObject_CallOneArg(format_exception_fn, exc);
    if (lines != NULL) {
        PyObject *empty = PyUnicode_FromString("");
        PyObject *text = empty ? PyUnicode_Join(empty, lines) : NULL;
        Py_ssize_t n = 0;
        const char *s = text ? PyUnicode_AsUTF8AndSize(text, &n) : NULL;
        if (s != NULL) {
            /* keep the tail: the innermost frames and the "Type: message" line */
            while (n > 0 && s[n - 1] == '\n')
                n--;
            size_t start = (size_t)n > max ? (size_t)n - max : 0;
            while (start < (size_t)n && ((unsigned char)s[start] & 0xC0) == 0x80)
                start++;
            out = dup_prefix(s + start, (size_t)n - start, max);
        }
        Py_XDECREF(text);
        Py_XDECREF(empty);
        Py_DECREF(lines);
    }
    if (out == NULL) {
        /* formatting failed (often: no memory left); name the type at least */
        PyErr_Clear();
        char buf[256];
        snprintf(buf, sizeof buf, "%.200s", ((PyTypeObject *)type)->tp_name);
        out = strdup(buf);
    }
    Py_XDECREF(type);
    Py_XDECREF(exc);
    Py_XDECREF(tb);
    PyErr_Clear();
    return out ? out : strdup("exception");
}

int jt_py_freeze_heap(void)
{
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *r = gc ? PyObject_CallMethod(gc, "freeze", NULL) : NULL;
    Py_XDECREF(gc);
    if (r == NULL) {
        PyErr_Clear();
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

int jt_py_preload(void)
{
    PyObject *tb = PyImport_ImportModule("traceback");
    PyObject *reprlib = PyImport_ImportModule("reprlib");
    if (tb == NULL || reprlib == NULL) {
        Py_XDECREF(tb);
        Py_XDECREF(reprlib);
        PyErr_Print();
        return -1;
    }
    format_exception_fn = PyObject_GetAttrString(tb, "format_exception");
    repr_instance = PyObject_CallMethod(reprlib, "Repr", NULL);
    Py_DECREF(tb);
    Py_DECREF(reprlib);
    if (format_exception_fn == NULL || repr_instance == NULL) {
        PyErr_Print();
        return -1;
    }
    static const struct {
        const char *name;
        long value;
    } limits[] = {{"maxlevel", 8},   {"maxtuple", 64},   {"maxlist", 64},   {"maxarray", 64},
                  {"maxdict", 32},   {"maxset", 32},     {"maxfrozenset", 32},
                  {"maxdeque", 32},  {"maxstring", 1024}, {"maxlong", 400}, {"maxother", 200}};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        PyObject *v = PyLong_FromLong(limits[i].value);
        if (v == NULL || PyObject_SetAttrString(repr_instance, limits[i].name, v) < 0) {
            Py_XDECREF(v);
            PyErr_Print();
            return -1;
        }
        Py_DECREF(v);
    }
    return 0;
}
