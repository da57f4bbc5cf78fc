/* value.c -- client values (inputs, expected outputs, metadata): JSON <-> msgpack, and checks.
 *
 * Pure functions, callable from any thread. Recursion is bounded by JT_MAX_DEPTH: each
 * function refuses to descend below that depth, whatever the input.
 */
#include "value.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One step from a value to a child (a map key, or an array index when key is NULL).
 * Steps are chained on the C stack so that a path is only rendered when an error
 * needs it, not once per element. */
typedef struct path_step {
    const struct path_step *up;
    const char *key;
    size_t key_len;
    size_t index;
} path_step_t;

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool full;
} path_buf_t;

/* Append n bytes; when they do not fit, cut before the first UTF-8 character that does
 * not and stop appending, so that a path is always a valid UTF-8 prefix of the real one
 * (keys on a path are always valid UTF-8: they are checked before being descended). */
static void path_put(path_buf_t *pb, const char *s, size_t n)
{
    if (pb->full)
        return;
    size_t room = pb->cap - 1 - pb->len;
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        pb->full = true;
    }
    memcpy(pb->buf + pb->len, s, n);
    pb->len += n;
    pb->buf[pb->len] = '\0';
}

static void path_render(char *buf, size_t cap, const char *base, const path_step_t *last)
{
    const path_step_t *steps[JT_MAX_DEPTH + 2];
    size_t n = 0;
    for (const path_step_t *p = last; p != NULL && n < sizeof steps / sizeof steps[0]; p = p->up)
        steps[n++] = p;

    path_buf_t pb = {buf, cap, 0, false};
    buf[0] = '\0';
    path_put(&pb, base, strlen(base));
    bool started = base[0] != '\0';
    while (n > 0) {
        const path_step_t *s = steps[--n];
        if (s->key != NULL) {
            if (started)
                path_put(&pb, ".", 1);
            path_put(&pb, s->key, s->key_len);
        } else {
            char idx[32];
            int k = snprintf(idx, sizeof idx, "[%zu]", s->index);
            path_put(&pb, idx, (size_t)k);
        }
        started = true;
    }
}

static jt_status_t value_error(jt_error_t *err, jt_status_t code, const char *base,
                               const path_step_t *at, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static jt_status_t value_error(jt_error_t *err, jt_status_t code, const char *base,
                               const path_step_t *at, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    char path[sizeof err->path];
    char msg[sizeof err->message];
    path_render(path, sizeof path, base ? base : "", at);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return jt_error_set(err, code, path, "%s", msg);
}

/* Length of the valid UTF-8 character at s (n bytes left), or 0 if it is not one:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_char_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, cp = c & 0x0Fu, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_char_len(p + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

const char *jt_value_type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL:
        return "null";
    case MSGPACK_OBJECT_BOOLEAN:
        return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "a floating-point number";
    case MSGPACK_OBJECT_STR:
        return "a string";
    case MSGPACK_OBJECT_ARRAY:
        return "an array";
    case MSGPACK_OBJECT_MAP:
        return "an object";
    case MSGPACK_OBJECT_BIN:
        return "binary data";
    case MSGPACK_OBJECT_EXT:
        return "an integer beyond 64 bits (or another msgpack extension)";
    }
    return "an unknown msgpack type";
}

/* ---- big integers --------------------------------------------------------------- */

int jt_bigint_text_check(const char *s, size_t n)
{
    bool negative = n > 0 && s[0] == '-';
    const char *d = s + negative;
    size_t digits = n - negative;
    if (digits == 0 || digits > JT_MAX_BIGINT_DIGITS || (d[0] == '0' && (digits > 1 || negative)))
        return -1;
    for (size_t i = 0; i < digits; i++)
        if (d[i] < '0' || d[i] > '9')
            return -1;
    /* the limits' magnitudes: INT64_MIN and UINT64_MAX */
    const char *limit = negative ? "9223372036854775808" : "18446744073709551615";
    size_t limit_len = strlen(limit);
    if (digits != limit_len)
        return digits > limit_len ? 0 : 1;
    return memcmp(d, limit, digits) > 0 ? 0 : 1;
}

/* Pack the integer written d[0..n) (the text of a marked JSON string): a plain
 * msgpack integer when it fits 64 bits, else the ext type. */
static jt_status_t pack_integer_text(msgpack_packer *pk, const char *d, size_t n, const char *base,
                                     const path_step_t *at, jt_error_t *err)
{
    int kind = jt_bigint_text_check(d, n);
    if (kind < 0)
        return value_error(err, JT_ERR_INVALID, base, at,
                           "integer literal is not canonical or has more than %d digits",
                           JT_MAX_BIGINT_DIGITS);
    int rc;
    if (kind == 1) {
        char text[24];
        memcpy(text, d, n);
        text[n] = '\0';
        rc = d[0] == '-' ? msgpack_pack_int64(pk, strtoll(text, NULL, 10))
                         : msgpack_pack_uint64(pk, strtoull(text, NULL, 10));
    } else {
        rc = msgpack_pack_ext(pk, n, JT_MP_EXT_BIGINT);
        rc |= msgpack_pack_ext_body(pk, d, n);
    }
    return rc == 0 ? JT_OK : value_error(err, JT_ERR_NOMEM, base, at, "out of memory");
}

/* ---- JSON -> msgpack ------------------------------------------------------------ */

static jt_status_t string_check(const char *s, size_t n, const char *what, jt_error_t *err,
                                const char *base, const path_step_t *at)
{
    if (n > JT_MAX_STRING_BYTES)
        return value_error(err, JT_ERR_TOO_LARGE, base, at,
                           "%s is %zu bytes; the limit is %u bytes (1 MiB)", what, n,
                           JT_MAX_STRING_BYTES);
    if (!utf8_valid(s, n))
        return value_error(err, JT_ERR_INVALID, base, at, "%s is not valid UTF-8", what);
    return JT_OK;
}

/* The mark of the strings that stand for integers in the conversion under
 * way (jt_value_from_json_marked), per thread. */
static _Thread_local const char *int_mark = JT_BIGINT_MARK;
static _Thread_local size_t int_mark_len = JT_BIGINT_MARK_LEN;

static jt_status_t json_to_pack(const json_t *v, msgpack_packer *pk, const char *base,
                                const path_step_t *at, unsigned depth, jt_error_t *err)
{
    int rc = 0;
    jt_status_t st;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (depth + 1 > JT_MAX_DEPTH)
            return value_error(err, JT_ERR_TOO_DEEP, base, at,
                               "values may be nested at most %u levels deep", JT_MAX_DEPTH);
        /* jansson's iteration API is not const-correct; nothing here modifies v. */
        json_t *obj = (json_t *)v;
        const char *key;
        size_t key_len;
        json_t *child;
        rc |= msgpack_pack_map(pk, json_object_size(obj));
        json_object_keylen_foreach(obj, key, key_len, child)
        {
            st = string_check(key, key_len, "object key", err, base, at);
            if (st != JT_OK)
                return st;
            rc |= msgpack_pack_str(pk, key_len);
            rc |= msgpack_pack_str_body(pk, key, key_len);
            path_step_t step = {at, key, key_len, 0};
            st = json_to_pack(child, pk, base, &step, depth + 1, err);
            if (st != JT_OK)
                return st;
        }
        break;
    }
    case JSON_ARRAY: {
        if (depth + 1 > JT_MAX_DEPTH)
            return value_error(err, JT_ERR_TOO_DEEP, base, at,
                               "values may be nested at most %u levels deep", JT_MAX_DEPTH);
        size_t n = json_array_size(v);
        rc |= msgpack_pack_array(pk, n);
        for (size_t i = 0; i < n; i++) {
            path_step_t step = {at, NULL, 0, i};
            st = json_to_pack(json_array_get(v, i), pk, base, &step, depth + 1, err);
            if (st != JT_OK)
                return st;
        }
        break;
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n > int_mark_len && memcmp(s, int_mark, int_mark_len) == 0)
            return pack_integer_text(pk, s + int_mark_len, n - int_mark_len, base, at, err);
        st = string_check(s, n, "string", err, base, at);
        if (st != JT_OK)
            return st;
        rc |= msgpack_pack_str(pk, n);
        rc |= msgpack_pack_str_body(pk, s, n);
        break;
    }
    case JSON_INTEGER:
        rc |= msgpack_pack_int64(pk, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        rc |= msgpack_pack_double(pk, json_real_value(v));
        break;
    case JSON_TRUE:
        rc |= msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        rc |= msgpack_pack_false(pk);
        break;
    case JSON_NULL:
        rc |= msgpack_pack_nil(pk);
        break;
    }
    if (rc != 0)
        return value_error(err, JT_ERR_NOMEM, base, at, "out of memory encoding a value");
    return JT_OK;
}

jt_status_t jt_value_from_json_marked(const json_t *v, const char *path, const char *mark,
                                      size_t mark_len, jt_blob_t *out, jt_error_t *err)
{
    int_mark = mark;
    int_mark_len = mark_len;
    jt_status_t st = jt_value_from_json(v, path, out, err);
    int_mark = JT_BIGINT_MARK;
    int_mark_len = JT_BIGINT_MARK_LEN;
    return st;
}

jt_status_t jt_value_from_json(const json_t *v, const char *path, jt_blob_t *out, jt_error_t *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    jt_status_t st = json_to_pack(v, &pk, path ? path : "", NULL, 0, err);
    if (st != JT_OK) {
        msgpack_sbuffer_destroy(&sb);
        return st;
    }
    out->len = sb.size;
    out->data = (uint8_t *)msgpack_sbuffer_release(&sb);
    return JT_OK;
}

/* ---- msgpack -> JSON ------------------------------------------------------------ */

static json_t *float_to_json(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

/* Drop a half-built container; a child that failed has already filled *err, a failed
 * insertion has not. */
static json_t *fail_json(json_t *j, bool child_failed, const path_step_t *at, jt_error_t *err)
{
    json_decref(j);
    if (!child_failed)
        value_error(err, JT_ERR_NOMEM, "", at, "out of memory");
    return NULL;
}

static json_t *obj_to_json(const msgpack_object *o, const path_step_t *at, unsigned depth,
                           jt_error_t *err)
{
    json_t *j = NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        j = json_null();
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        j = json_boolean(o->via.boolean);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX) { /* beyond jansson: a marked string too */
            char marked[JT_BIGINT_MARK_LEN + 24];
            memcpy(marked, JT_BIGINT_MARK, JT_BIGINT_MARK_LEN);
            int n =
                snprintf(marked + JT_BIGINT_MARK_LEN, 24, "%llu", (unsigned long long)o->via.u64);
            j = json_stringn(marked, JT_BIGINT_MARK_LEN + (size_t)n);
            break;
        }
        j = json_integer((json_int_t)o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        j = json_integer((json_int_t)o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        j = float_to_json(o->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
        if (!utf8_valid(o->via.str.ptr, o->via.str.size)) {
            value_error(err, JT_ERR_INVALID, "", at, "string is not valid UTF-8");
            return NULL;
        }
        j = json_stringn(o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        if (depth + 1 > JT_MAX_DEPTH) {
            value_error(err, JT_ERR_TOO_DEEP, "", at, "values may be nested at most %u levels deep",
                        JT_MAX_DEPTH);
            return NULL;
        }
        j = json_array();
        for (uint32_t i = 0; j != NULL && i < o->via.array.size; i++) {
            path_step_t step = {at, NULL, 0, i};
            json_t *c = obj_to_json(&o->via.array.ptr[i], &step, depth + 1, err);
            if (c == NULL || json_array_append_new(j, c) != 0) /* _new frees c on failure */
                return fail_json(j, c == NULL, at, err);
        }
        break;
    case MSGPACK_OBJECT_MAP:
        if (depth + 1 > JT_MAX_DEPTH) {
            value_error(err, JT_ERR_TOO_DEEP, "", at, "values may be nested at most %u levels deep",
                        JT_MAX_DEPTH);
            return NULL;
        }
        j = json_object();
        for (uint32_t i = 0; j != NULL && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR) {
                value_error(err, JT_ERR_INVALID, "", at, "object keys must be strings, got %s",
                            jt_value_type_name(kv->key.type));
                json_decref(j);
                return NULL;
            }
            const char *key = kv->key.via.str.ptr;
            size_t key_len = kv->key.via.str.size;
            if (!utf8_valid(key, key_len)) {
                value_error(err, JT_ERR_INVALID, "", at, "an object key is not valid UTF-8");
                json_decref(j);
                return NULL;
            }
            path_step_t step = {at, key, key_len, 0};
            json_t *c = obj_to_json(&kv->val, &step, depth + 1, err);
            if (c == NULL || json_object_setn_new(j, key, key_len, c) != 0)
                return fail_json(j, c == NULL, at, err);
        }
        break;
    case MSGPACK_OBJECT_EXT:
        if (o->via.ext.type == JT_MP_EXT_BIGINT &&
            jt_bigint_text_check(o->via.ext.ptr, o->via.ext.size) == 0) {
            /* on the heap: this function recurses, and threads' stacks are small */
            char *marked = malloc(JT_BIGINT_MARK_LEN + o->via.ext.size);
            if (marked != NULL) {
                memcpy(marked, JT_BIGINT_MARK, JT_BIGINT_MARK_LEN);
                memcpy(marked + JT_BIGINT_MARK_LEN, o->via.ext.ptr, o->via.ext.size);
                j = json_stringn(marked, JT_BIGINT_MARK_LEN + o->via.ext.size);
                free(marked);
            }
            break;
        }
        value_error(err, JT_ERR_INVALID, "", at, "%s is not a client value",
                    jt_value_type_name(o->type));
        return NULL;
    case MSGPACK_OBJECT_BIN:
    default:
        value_error(err, JT_ERR_INVALID, "", at, "%s is not a client value",
                    jt_value_type_name(o->type));
        return NULL;
    }
    if (j == NULL)
        value_error(err, JT_ERR_NOMEM, "", at, "out of memory");
    return j;
}

json_t *jt_value_to_json(const msgpack_object *o, jt_error_t *err)
{
    return obj_to_json(o, NULL, 0, err);
}

/* ---- msgpack check -------------------------------------------------------------- */

static jt_status_t check_obj(const msgpack_object *o, const char *base, const path_step_t *at,
                             unsigned depth, jt_error_t *err)
{
    jt_status_t st;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_BOOLEAN:
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return JT_OK;
    case MSGPACK_OBJECT_STR:
        return string_check(o->via.str.ptr, o->via.str.size, "string", err, base, at);
    case MSGPACK_OBJECT_ARRAY:
        if (depth + 1 > JT_MAX_DEPTH)
            return value_error(err, JT_ERR_TOO_DEEP, base, at,
                               "values may be nested at most %u levels deep", JT_MAX_DEPTH);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            path_step_t step = {at, NULL, 0, i};
            st = check_obj(&o->via.array.ptr[i], base, &step, depth + 1, err);
            if (st != JT_OK)
                return st;
        }
        return JT_OK;
    case MSGPACK_OBJECT_MAP:
        if (depth + 1 > JT_MAX_DEPTH)
            return value_error(err, JT_ERR_TOO_DEEP, base, at,
                               "values may be nested at most %u levels deep", JT_MAX_DEPTH);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                return value_error(err, JT_ERR_INVALID, base, at,
                                   "object keys must be strings, got %s",
                                   jt_value_type_name(kv->key.type));
            st = string_check(kv->key.via.str.ptr, kv->key.via.str.size, "object key", err, base,
                              at);
            if (st != JT_OK)
                return st;
            path_step_t step = {at, kv->key.via.str.ptr, kv->key.via.str.size, 0};
            st = check_obj(&kv->val, base, &step, depth + 1, err);
            if (st != JT_OK)
                return st;
        }
        return JT_OK;
    case MSGPACK_OBJECT_EXT:
        if (o->via.ext.type == JT_MP_EXT_BIGINT &&
            jt_bigint_text_check(o->via.ext.ptr, o->via.ext.size) == 0)
            return JT_OK;
        return value_error(err, JT_ERR_INVALID, base, at,
                           "an extension value is a client value only as a big integer: ext "
                           "type %d holding the canonical decimal text of an integer beyond 64 "
                           "bits (at most %d digits)",
                           JT_MP_EXT_BIGINT, JT_MAX_BIGINT_DIGITS);
    case MSGPACK_OBJECT_BIN:
    default:
        return value_error(err, JT_ERR_INVALID, base, at,
                           "%s is not a client value (allowed: null, boolean, integer, "
                           "float, string, array, object with string keys)",
                           jt_value_type_name(o->type));
    }
}

jt_status_t jt_value_check(const msgpack_object *o, const char *path, jt_error_t *err)
{
    return check_obj(o, path ? path : "", NULL, 0, err);
}
