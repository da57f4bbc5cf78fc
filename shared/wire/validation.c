/* validation.c -- correctness-gate records: summary, JSON form, bounded strings (see validation.h).
 */
#include "validation.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SUMMARY_BYTES 2048u /* error_summary, ellipsis included */

static const char *const status_names[JT_TEST_STATUS_COUNT] = {
    [JT_TEST_PASSED] = "passed",
    [JT_TEST_WRONG_ANSWER] = "wrong_answer",
    [JT_TEST_EXCEPTION] = "exception",
    [JT_TEST_TIMEOUT] = "timeout",
    [JT_TEST_MEMORY_LIMIT] = "memory_limit",
    [JT_TEST_OUTPUT_LIMIT] = "output_limit",
    [JT_TEST_CRASHED] = "crashed",
    [JT_TEST_NOT_SERIALIZABLE] = "not_serializable",
    [JT_TEST_NOT_RUN] = "not_run",
};

const char *jt_test_status_name(jt_test_status_t s)
{
    if ((unsigned)s >= JT_TEST_STATUS_COUNT)
        return "unknown";
    return status_names[s];
}

void jt_validation_init(jt_validation_t *v)
{
    memset(v, 0, sizeof *v);
}

void jt_validation_cleanup(jt_validation_t *v)
{
    for (size_t i = 0; v->results != NULL && i < v->total_tests; i++) {
        free(v->results[i].test_id);
        free(v->results[i].message);
        free(v->results[i].actual_output);
    }
    free(v->results);
    free(v->error_summary);
    jt_validation_init(v);
}

/* Length of the UTF-8 character at s[0..len), or 0 when the bytes there are
 * not a valid encoding. Same rules as jansson: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_char_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* A JSON string of s[0..len) with each byte that is not part of valid UTF-8
 * replaced by U+FFFD, so that jansson never refuses it. NULL on no memory. */
static json_t *json_string_lossy(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t bad = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_char_len(u + i, len - i);
        bad += n == 0;
        i += n ? n : 1;
    }
    if (bad == 0)
        return json_stringn(s, len);
    char *fixed = malloc(len + 2 * bad + 1); /* each bad byte grows by 2 (3-byte U+FFFD) */
    if (fixed == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_char_len(u + i, len - i);
        if (n == 0) {
            memcpy(fixed + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(fixed + o, s + i, n);
            o += n;
            i += n;
        }
    }
    json_t *j = json_stringn(fixed, o);
    free(fixed);
    return j;
}

/* NULL (a JSON null) stays null; anything else becomes a lossy string. */
static json_t *json_optional_string(const char *s)
{
    return s == NULL ? json_null() : json_string_lossy(s, strlen(s));
}

char *jt_strndup_bounded(const char *s, size_t len, size_t max)
{
    if (s == NULL)
        return NULL;
    size_t keep = len;
    bool cut = len > max;
    if (cut) {
        keep = max >= 3 ? max - 3 : max;
        /* Step back over at most 3 continuation bytes so that no character
         * is split; longer runs are not UTF-8 anyway and are cut as bytes. */
        size_t k = keep;
        for (int step = 0; step < 3 && k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80; step++)
            k--;
        if (((unsigned char)s[k] & 0xC0) != 0x80)
            keep = k;
    }
    size_t dots = cut && max >= 3 ? 3 : 0;
    char *out = malloc(keep + dots + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, s, keep);
    memcpy(out + keep, "...", dots);
    out[keep + dots] = '\0';
    return out;
}

/* printf into a new string, then bound it to max bytes. NULL on no memory. */
static char *format_bounded(size_t max, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *format_bounded(size_t max, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *full = malloc((size_t)n + 1);
    if (full == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(full, (size_t)n + 1, fmt, ap);
    va_end(ap);
    char *out = jt_strndup_bounded(full, (size_t)n, max);
    free(full);
    return out;
}

/* The line of a test's message a summary quotes: the first, or for an
 * exception (a Python traceback, whose head may have been cut to keep its
 * tail) the last non-empty one ("ValueError: bad input 1"; with chained
 * exceptions the one raised last). *len is its length. */
static const char *summary_line(const jt_test_result_t *r, size_t *len)
{
    static const char traceback[] = "Traceback (most recent call last):";
    const char *message = r->message;
    *len = 0;
    if (message == NULL)
        return NULL;
    if (r->status != JT_TEST_EXCEPTION && strncmp(message, traceback, sizeof traceback - 1) != 0) {
        *len = strcspn(message, "\r\n");
        return message;
    }
    const char *end = message + strlen(message);
    while (end > message && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    const char *start = end;
    while (start > message && start[-1] != '\n' && start[-1] != '\r')
        start--;
    *len = (size_t)(end - start);
    return start;
}

int jt_validation_summarise(jt_validation_t *v)
{
    size_t passed = 0, failed = 0, not_run = 0;
    const jt_test_result_t *first = NULL;     /* first test that ran and failed */
    const jt_test_result_t *first_any = NULL; /* first test that did not pass */
    for (size_t i = 0; i < v->total_tests; i++) {
        const jt_test_result_t *r = &v->results[i];
        if (r->passed) {
            passed++;
            continue;
        }
        if (first_any == NULL)
            first_any = r;
        if (r->status == JT_TEST_NOT_RUN) {
            not_run++;
        } else {
            failed++;
            if (first == NULL)
                first = r;
        }
    }
    if (first == NULL)
        first = first_any;

    char *summary = NULL;
    bool correct = v->total_tests > 0 && passed == v->total_tests;
    if (!correct && v->total_tests == 0) {
        summary = format_bounded(MAX_SUMMARY_BYTES, "no tests were run");
    } else if (!correct) {
        size_t msg_len = 0;
        const char *msg = summary_line(first, &msg_len);
        char not_run_text[48] = "";
        if (not_run > 0)
            snprintf(not_run_text, sizeof not_run_text, ", %zu not run", not_run);
        summary = format_bounded(
            MAX_SUMMARY_BYTES, "%zu of %zu tests failed%s; first: %s (%s)%s%.*s", failed,
            v->total_tests, not_run_text, first->test_id ? first->test_id : "?",
            jt_test_status_name(first->status), msg_len > 0 ? ": " : "",
            msg_len > JT_MAX_MESSAGE_BYTES ? (int)JT_MAX_MESSAGE_BYTES : (int)msg_len,
            msg != NULL ? msg : "");
    }
    if (!correct && summary == NULL)
        return -1;

    free(v->error_summary);
    v->error_summary = summary;
    v->is_correct = correct;
    v->passed_tests = passed;
    v->pass_rate = v->total_tests == 0
                       ? 0.0
                       : round(10000.0 * (double)passed / (double)v->total_tests) / 100.0;
    return 0;
}

/* json_object_set_new that also drops value on failure; false when either
 * the value could not be made (NULL) or the insertion failed. */
static bool set_new(json_t *obj, const char *key, json_t *value)
{
    return value != NULL && json_object_set_new(obj, key, value) == 0;
}

static json_t *result_to_json(const jt_test_result_t *r)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    /* seconds is measured by us, but a NaN or infinity would make json_real fail */
    json_t *secs = isfinite(r->seconds) ? json_real(r->seconds) : json_null();
    if (!set_new(o, "test_id", json_optional_string(r->test_id)) ||
        !set_new(o, "passed", json_boolean(r->passed)) ||
        !set_new(o, "status", json_string(jt_test_status_name(r->status))) ||
        !set_new(o, "message", json_optional_string(r->message)) ||
        !set_new(o, "actual_output", json_optional_string(r->actual_output)) ||
        !set_new(o, "seconds", secs)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *jt_validation_to_json(const jt_validation_t *v)
{
    json_t *o = json_object();
    json_t *arr = json_array();
    if (o == NULL || arr == NULL)
        goto fail;
    for (size_t i = 0; i < v->total_tests; i++) {
        if (json_array_append_new(arr, result_to_json(&v->results[i])) != 0)
            goto fail;
    }
    if (!set_new(o, "is_correct", json_boolean(v->is_correct)) ||
        !set_new(o, "passed_tests", json_integer((json_int_t)v->passed_tests)) ||
        !set_new(o, "total_tests", json_integer((json_int_t)v->total_tests)) ||
        !set_new(o, "pass_rate", json_real(isfinite(v->pass_rate) ? v->pass_rate : 0.0)) ||
        !set_new(o, "error_summary", json_optional_string(v->error_summary)))
        goto fail;
    json_t *results = arr;
    arr = NULL; /* set_new consumes it either way */
    if (!set_new(o, "test_results", results))
        goto fail;
    return o;

fail:
    json_decref(arr);
    json_decref(o);
    return NULL;
}
