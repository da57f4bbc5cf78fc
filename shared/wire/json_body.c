/* json_body.c -- a JSON request body as one msgpack value: depth guard, big-integer marks, jansson.
 *
 * Pure functions, callable from any thread. The body is parsed with jansson and converted as a
 * whole to msgpack (jt_value_from_json_marked); the REST parsers apply their schema to that.
 */
#include "json_body.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

#include "json_text.h"
#include "value.h"

/* Offset of the bracket that opens the first container nested deeper than JT_MAX_DEPTH
 * (the top-level value is depth 1), or len if there is none. open[] receives the
 * brackets still open there, outermost first, and *n_open their count. Brackets inside
 * strings do not count; the scan does not otherwise validate the JSON. */
static size_t find_too_deep(const char *s, size_t len, char open[JT_MAX_DEPTH], size_t *n_open)
{
    size_t depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (depth == JT_MAX_DEPTH) {
                *n_open = depth;
                return i;
            }
            open[depth++] = c;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    *n_open = depth;
    return len;
}

/* The body cut just before its first too-deep container, with "[]" in its place and
 * the open containers closed. jansson never recurses deeper than JT_MAX_DEPTH + 1 on
 * it, and converting it reports JT_ERR_TOO_DEEP at the very path where the original
 * went too deep (or a syntax error in the part before, which comes first anyway). */
static char *clip_too_deep(const char *body, size_t cut, const char *open, size_t n_open,
                           size_t *out_len)
{
    char *t = malloc(cut + 2 + n_open);
    if (t == NULL)
        return NULL;
    memcpy(t, body, cut);
    size_t n = cut;
    t[n++] = '[';
    t[n++] = ']';
    while (n_open > 0)
        t[n++] = open[--n_open] == '[' ? ']' : '}';
    *out_len = n;
    return t;
}

static jt_status_t syntax_error(json_error_t *je, jt_error_t *err)
{
    jt_json_error_text_ascii(je->text); /* it may quote the body's bytes */
    if (json_error_code(je) == json_error_numeric_overflow)
        return jt_error_set(err, JT_ERR_INVALID, "",
                            "number out of range at line %d, column %d: integers must fit in 64 "
                            "bits (-9223372036854775808..9223372036854775807) and reals in a "
                            "double (%s)",
                            je->line, je->column, je->text);
    return jt_error_set(err, JT_ERR_INVALID, "", "invalid JSON at line %d, column %d: %s", je->line,
                        je->column, je->text);
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    default:
        return "an object";
    }
}

/* A mark no body can know: NUL, "jt-int-", 16 random hex digits, ":" into
 * mark, and the same as JSON text ("\u0000" for the NUL) into mark_json. */
static void random_mark(char *mark, size_t len, char *mark_json, size_t json_len)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
    }
    mark[0] = '\0';
    snprintf(mark + 1, len - 1, "jt-int-%016llx:", (unsigned long long)r);
    snprintf(mark_json, json_len, "\\u0000jt-int-%016llx:", (unsigned long long)r);
}

jt_status_t jt_json_body_to_msgpack(const char *body, size_t len, jt_blob_t *out, jt_error_t *err)
{
    json_t *root = NULL;
    char *clipped = NULL, *marked = NULL;
    size_t marked_len = 0;
    jt_blob_t mp = {NULL, 0};
    char open[JT_MAX_DEPTH];
    size_t n_open;
    json_error_t je;
    jt_status_t st;

    const char *text = body;
    size_t text_len = len;
    size_t cut = find_too_deep(body, len, open, &n_open);
    if (cut < len) {
        clipped = clip_too_deep(body, cut, open, n_open, &text_len);
        if (clipped == NULL) {
            st = jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
            goto out;
        }
        text = clipped;
    }

    /* Integer literals beyond 64 bits, which jansson refuses, become marked
     * strings that the value encoder turns back into exact integers. */
    /* The mark is random per body, so that no string of the body can pass
     * for a number: "\u0000jt-int-<16 hex>:" in the text, NUL... once decoded. */
    char mark[40], mark_json[48];
    random_mark(mark, sizeof mark, mark_json, sizeof mark_json);
    size_t mark_len = strlen(mark + 1) + 1; /* it begins with its NUL */
    if (jt_json_mark_bigints(text, text_len, mark_json, strlen(mark_json), &marked, &marked_len) <
        0) {
        st = jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
        goto out;
    }
    if (marked != NULL) {
        text = marked;
        text_len = marked_len;
    }
    /* JSON_ALLOW_NUL: a "\u0000" is then reported against its field (a NUL in
     * candidate_code or a name is invalid there; in client values it is data). */
    root =
        json_loadb(text, text_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (root == NULL) {
        st = syntax_error(&je, err);
        goto out;
    }
    if (clipped == NULL && !json_is_object(root)) {
        st = jt_error_set(err, JT_ERR_INVALID, "", "the request body must be a JSON object, got %s",
                          json_type_name(root));
        goto out;
    }
    st = jt_value_from_json_marked(root, "", mark, mark_len, &mp, err);
    if (st == JT_OK && clipped != NULL) /* not reached: the placeholder is too deep */
        st = jt_error_set(err, JT_ERR_TOO_DEEP, "", "values may be nested at most %u levels deep",
                          JT_MAX_DEPTH);
    if (st == JT_OK) {
        *out = mp;
        mp.data = NULL;
    }

out:
    jt_blob_free(&mp);
    json_decref(root);
    free(clipped);
    free(marked);
    return st;
}
