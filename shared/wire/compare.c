/* compare.c -- the correctness gate's value comparison (see compare.h); pure, any thread. */
#include "compare.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "value.h"

/* Callers bound depth to JT_MAX_DEPTH; this guard only keeps a caller that
 * forgot from overflowing the stack. Deeper values compare unequal. */
#define COMPARE_DEPTH_GUARD (4 * JT_MAX_DEPTH)

/* Maps up to this size are matched pairwise without allocating; larger ones
 * are sorted by key so that a huge dict cannot make the gate quadratic. */
#define MAP_SORT_THRESHOLD 16u

/* An integer as sign and magnitude, so that every 64-bit value of either
 * msgpack integer type compares exactly. */
typedef struct {
    bool negative;
    uint64_t magnitude;
} int_value_t;

static bool is_int(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static bool is_float(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
}

static int_value_t int_value(const msgpack_object *o)
{
    int_value_t v = {false, 0};
    /* The unpacker gives NEGATIVE_INTEGER only for values < 0, but a
     * hand-built object may carry a non-negative i64 with that type. */
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 < 0) {
        v.negative = true;
        v.magnitude = (uint64_t)0 - (uint64_t)o->via.i64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v.magnitude = (uint64_t)o->via.i64;
    } else {
        v.magnitude = o->via.u64;
    }
    return v;
}

static int int_cmp(const msgpack_object *a, const msgpack_object *b)
{
    int_value_t x = int_value(a), y = int_value(b);
    if (x.negative != y.negative)
        return x.negative ? -1 : 1;
    if (x.magnitude == y.magnitude)
        return 0;
    bool less = x.magnitude < y.magnitude;
    if (x.negative)
        less = !less;
    return less ? -1 : 1;
}

/* long double holds every 64-bit integer exactly on x86-64 (and aarch64),
 * so an int compared with a float loses nothing before the tolerance. */
static long double as_long_double(const msgpack_object *o)
{
    if (is_float(o))
        return (long double)o->via.f64;
    int_value_t v = int_value(o);
    long double m = (long double)v.magnitude;
    return v.negative ? -m : m;
}

static bool bytes_equal(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool is_bigint(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_EXT && o->via.ext.type == JT_MP_EXT_BIGINT &&
           jt_bigint_text_check(o->via.ext.ptr, o->via.ext.size) == 0;
}

/* A big integer's value as a long double (exact up to 64 bits of mantissa,
 * infinite beyond its range): for comparing it with a float. */
static long double bigint_long_double(const msgpack_object *o)
{
    /* Beyond 40 digits only the magnitude matters to a long double (64-bit
     * mantissa): the leading digits and the exponent, on a small stack. */
    char text[64];
    size_t n = o->via.ext.size, keep = n > 40 ? 40 : n;
    memcpy(text, o->via.ext.ptr, keep);
    int len = (int)keep;
    if (n > keep)
        len += snprintf(text + keep, sizeof text - keep, "e%zu", n - keep);
    text[len] = '\0';
    return strtold(text, NULL);
}

static bool numbers_equal(const msgpack_object *a, const msgpack_object *b,
                          const jt_tolerance_t *tol)
{
    if (is_int(a) && is_int(b))
        return int_cmp(a, b) == 0;
    /* integers are canonical: a big one never equals a 64-bit one, and two
     * big ones are equal when their texts are */
    if ((is_bigint(a) || is_bigint(b)) && !is_float(a) && !is_float(b))
        return is_bigint(a) && is_bigint(b) &&
               bytes_equal(a->via.ext.ptr, a->via.ext.size, b->via.ext.ptr, b->via.ext.size);
    long double x = is_bigint(a) ? bigint_long_double(a) : as_long_double(a);
    long double y = is_bigint(b) ? bigint_long_double(b) : as_long_double(b);
    /* A big integer against an integral float: a long double rounds beyond 64
     * bits, so equality is decided on the exact decimal texts, and two that
     * differ are at least 1 apart, whatever the rounding made of them. */
    long double min_diff = 0;
    if (is_bigint(a) != is_bigint(b)) {
        const msgpack_object *big = is_bigint(a) ? a : b, *fl = is_bigint(a) ? b : a;
        if (isfinite(fl->via.f64) && fl->via.f64 == floor(fl->via.f64)) {
            char exact[400]; /* the largest double has 309 digits */
            int n = snprintf(exact, sizeof exact, "%.0f", fl->via.f64);
            if (n > 0 && (uint32_t)n == big->via.ext.size &&
                memcmp(exact, big->via.ext.ptr, (size_t)n) == 0)
                return true;
            min_diff = 1;
        }
    }
    if (isnan(x) || isnan(y))
        return isnan(x) && isnan(y);
    if (x == y && min_diff == 0) /* also equal infinities, whatever the tolerances are */
        return true;
    if (isinf(x) || isinf(y))
        return false; /* inf - finite is inf, which a relative tolerance would accept */
    long double diff = fabsl(x - y);
    if (diff < min_diff)
        diff = min_diff;
    if (diff <= (long double)tol->abs_tol)
        return true;
    long double ax = fabsl(x), ay = fabsl(y);
    return diff <= (long double)tol->rel_tol * (ax > ay ? ax : ay);
}


/* Rank of a type in the total order used for map keys; the two integer
 * types share a rank, as do the two float types. */
static int type_rank(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        return 1;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return 2;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return 3;
    case MSGPACK_OBJECT_STR:
        return 4;
    case MSGPACK_OBJECT_BIN:
        return 5;
    case MSGPACK_OBJECT_ARRAY:
        return 6;
    case MSGPACK_OBJECT_MAP:
        return 7;
    case MSGPACK_OBJECT_EXT:
        return 8;
    }
    return 9;
}

static int bytes_cmp(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    if (alen == 0)
        return 0;
    int c = memcmp(a, b, alen);
    return (c > 0) - (c < 0);
}

/* A total order on values with exact equality, for map keys: key sets are
 * compared without tolerance. All NaNs are one key, greater than any number.
 * Maps used as keys (impossible in Python) compare in their stored order. */
static int key_cmp(const msgpack_object *a, const msgpack_object *b, unsigned depth)
{
    int ra = type_rank(a), rb = type_rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (depth > COMPARE_DEPTH_GUARD)
        return 0;
    switch (a->type) {
    case MSGPACK_OBJECT_NIL:
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        return (int)a->via.boolean - (int)b->via.boolean;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return int_cmp(a, b);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        double x = a->via.f64, y = b->via.f64;
        if (isnan(x) || isnan(y))
            return (isnan(x) != 0) - (isnan(y) != 0);
        return (x > y) - (x < y);
    }
    case MSGPACK_OBJECT_STR:
        return bytes_cmp(a->via.str.ptr, a->via.str.size, b->via.str.ptr, b->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return bytes_cmp(a->via.bin.ptr, a->via.bin.size, b->via.bin.ptr, b->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        if (a->via.ext.type != b->via.ext.type)
            return a->via.ext.type < b->via.ext.type ? -1 : 1;
        return bytes_cmp(a->via.ext.ptr, a->via.ext.size, b->via.ext.ptr, b->via.ext.size);
    case MSGPACK_OBJECT_ARRAY: {
        if (a->via.array.size != b->via.array.size)
            return a->via.array.size < b->via.array.size ? -1 : 1;
        for (uint32_t i = 0; i < a->via.array.size; i++) {
            int c = key_cmp(&a->via.array.ptr[i], &b->via.array.ptr[i], depth + 1);
            if (c != 0)
                return c;
        }
        return 0;
    }
    case MSGPACK_OBJECT_MAP: {
        if (a->via.map.size != b->via.map.size)
            return a->via.map.size < b->via.map.size ? -1 : 1;
        for (uint32_t i = 0; i < a->via.map.size; i++) {
            int c = key_cmp(&a->via.map.ptr[i].key, &b->via.map.ptr[i].key, depth + 1);
            if (c == 0)
                c = key_cmp(&a->via.map.ptr[i].val, &b->via.map.ptr[i].val, depth + 1);
            if (c != 0)
                return c;
        }
        return 0;
    }
    }
    return 0;
}

static int kv_ptr_cmp(const void *pa, const void *pb)
{
    const msgpack_object_kv *a = *(const msgpack_object_kv *const *)pa;
    const msgpack_object_kv *b = *(const msgpack_object_kv *const *)pb;
    return key_cmp(&a->key, &b->key, 0);
}

static bool values_equal(const msgpack_object *a, const msgpack_object *b,
                         const jt_tolerance_t *tol, unsigned depth);

/* Small maps: pairwise. A map that repeats a key is malformed (no Python
 * dict produces one) and equals nothing, so that the key-set rule stays a
 * set rule. */
static bool maps_equal_small(const msgpack_object_map *a, const msgpack_object_map *b,
                             const jt_tolerance_t *tol, unsigned depth)
{
    uint32_t n = a->size;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = i + 1; j < n; j++)
            if (key_cmp(&a->ptr[i].key, &a->ptr[j].key, depth) == 0 ||
                key_cmp(&b->ptr[i].key, &b->ptr[j].key, depth) == 0)
                return false;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = 0;
        while (j < n && key_cmp(&b->ptr[i].key, &a->ptr[j].key, depth) != 0)
            j++;
        if (j == n)
            return false;
        if (!values_equal(&a->ptr[j].val, &b->ptr[i].val, tol, depth + 1))
            return false;
    }
    return true;
}

static bool maps_equal(const msgpack_object_map *a, const msgpack_object_map *b,
                       const jt_tolerance_t *tol, unsigned depth)
{
    if (a->size != b->size)
        return false;
    uint32_t n = a->size;
    if (n <= MAP_SORT_THRESHOLD)
        return maps_equal_small(a, b, tol, depth);
    const msgpack_object_kv **sa = malloc(2 * (size_t)n * sizeof *sa);
    if (sa == NULL) /* never fail: fall back to the slow exact way */
        return maps_equal_small(a, b, tol, depth);
    const msgpack_object_kv **sb = sa + n;
    for (uint32_t i = 0; i < n; i++) {
        sa[i] = &a->ptr[i];
        sb[i] = &b->ptr[i];
    }
    qsort(sa, n, sizeof *sa, kv_ptr_cmp);
    qsort(sb, n, sizeof *sb, kv_ptr_cmp);
    bool equal = true;
    for (uint32_t i = 0; equal && i < n; i++) {
        if (key_cmp(&sa[i]->key, &sb[i]->key, depth) != 0)
            equal = false;
        else if (i > 0 && (key_cmp(&sa[i - 1]->key, &sa[i]->key, depth) == 0 ||
                           key_cmp(&sb[i - 1]->key, &sb[i]->key, depth) == 0))
            equal = false; /* repeated key, as in maps_equal_small */
        else
            equal = values_equal(&sa[i]->val, &sb[i]->val, tol, depth + 1);
    }
    free(sa);
    return equal;
}

static bool values_equal(const msgpack_object *a, const msgpack_object *b,
                         const jt_tolerance_t *tol, unsigned depth)
{
    if (depth > COMPARE_DEPTH_GUARD)
        return false;
    bool a_num = is_int(a) || is_float(a) || is_bigint(a);
    bool b_num = is_int(b) || is_float(b) || is_bigint(b);
    if (a_num || b_num)
        return a_num && b_num && numbers_equal(a, b, tol);
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case MSGPACK_OBJECT_NIL:
        return true;
    case MSGPACK_OBJECT_BOOLEAN:
        return a->via.boolean == b->via.boolean;
    case MSGPACK_OBJECT_STR:
        return bytes_equal(a->via.str.ptr, a->via.str.size, b->via.str.ptr, b->via.str.size);
    case MSGPACK_OBJECT_BIN: /* bytes equal bytes exactly, never a str */
        return bytes_equal(a->via.bin.ptr, a->via.bin.size, b->via.bin.ptr, b->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return a->via.ext.type == b->via.ext.type &&
               bytes_equal(a->via.ext.ptr, a->via.ext.size, b->via.ext.ptr, b->via.ext.size);
    case MSGPACK_OBJECT_ARRAY:
        if (a->via.array.size != b->via.array.size)
            return false;
        for (uint32_t i = 0; i < a->via.array.size; i++)
            if (!values_equal(&a->via.array.ptr[i], &b->via.array.ptr[i], tol, depth + 1))
                return false;
        return true;
    case MSGPACK_OBJECT_MAP:
        return maps_equal(&a->via.map, &b->via.map, tol, depth);
    default:
        return false;
    }
}

bool jt_values_equal(const msgpack_object *actual, const msgpack_object *expected,
                     const jt_tolerance_t *tol)
{
    static const jt_tolerance_t defaults = {JT_DEFAULT_ABS_TOL, JT_DEFAULT_REL_TOL};
    return values_equal(actual, expected, tol != NULL ? tol : &defaults, 0);
}
