/* test_value.c -- unit tests of client values: JSON <-> msgpack, jt_value_check, jt_unpack_value.
 */
#include "unit_main.h"

#include <math.h>
#include <stdlib.h>

#include <jansson.h>
#include <msgpack.h>

#include "unpack.h"
#include "json_text.h"
#include "value.h"

/* A byte-string literal as (pointer, length); the length counts embedded NULs. */
#define LIT(s) (s), (sizeof(s) - 1)

/* A value decoded by msgpack-c itself (shallow inputs only), so that values our own
 * decoder would refuse (bin, ext, bad UTF-8) can still be handed to the functions. */
typedef struct {
    msgpack_unpacked up;
} obj_t;

static const msgpack_object *obj_from(obj_t *o, const char *bytes, size_t len)
{
    size_t off = 0;
    msgpack_unpacked_init(&o->up);
    assert_int_equal(msgpack_unpack_next(&o->up, bytes, len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, len);
    return &o->up.data;
}

static void obj_free(obj_t *o)
{
    msgpack_unpacked_destroy(&o->up);
}

/* A chain of n nested one-element arrays ending in nil, built by hand (any depth). */
static msgpack_object *deep_arrays(size_t n)
{
    msgpack_object *v = calloc(n + 1, sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i].type = MSGPACK_OBJECT_ARRAY;
        v[i].via.array.size = 1;
        v[i].via.array.ptr = &v[i + 1];
    }
    v[n].type = MSGPACK_OBJECT_NIL;
    return v;
}

static char *index_path(const char *base, size_t n)
{
    char *p = malloc(strlen(base) + 3 * n + 1);
    assert_non_null(p);
    strcpy(p, base);
    for (size_t i = 0; i < n; i++)
        strcat(p, "[0]");
    return p;
}

static void expect_blob(const char *json, const char *bytes, size_t len)
{
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    assert_non_null(v);
    jt_blob_t b = {NULL, 0};
    jt_error_t err;
    assert_int_equal(jt_value_from_json(v, "v", &b, &err), JT_OK);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, bytes, len);
    jt_blob_free(&b);
    json_decref(v);
}

static void from_json_scalars(void **state)
{
    (void)state;
    expect_blob("null", LIT("\xc0"));
    expect_blob("true", LIT("\xc3"));
    expect_blob("false", LIT("\xc2"));
    expect_blob("5", LIT("\x05"));
    expect_blob("-1", LIT("\xff"));
    expect_blob("200", LIT("\xcc\xc8"));
    expect_blob("-9223372036854775808", LIT("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"));
    expect_blob("1.5", LIT("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"));
    expect_blob("\"h\\u00e9\"", LIT("\xa3h\xc3\xa9"));
    expect_blob("\"a\\u0000b\"", LIT("\xa3"
                                     "a\0b"));
}

static void from_json_containers(void **state)
{
    (void)state;
    expect_blob("[]", LIT("\x90"));
    expect_blob("{}", LIT("\x80"));
    expect_blob("[1,[2]]", LIT("\x92\x01\x91\x02"));
    /* keys keep their order */
    expect_blob("{\"b\":1,\"a\":null}", LIT("\x82\xa1"
                                            "b\x01\xa1"
                                            "a\xc0"));
}

static json_t *deep_json(size_t n)
{
    json_t *root = json_null();
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array();
        json_array_append_new(a, root);
        root = a;
    }
    return root;
}

static void from_json_depth(void **state)
{
    (void)state;
    jt_blob_t b = {NULL, 0};
    jt_error_t err;
    json_t *ok = deep_json(JT_MAX_DEPTH);
    assert_int_equal(jt_value_from_json(ok, "x", &b, &err), JT_OK);
    assert_int_equal(b.len, JT_MAX_DEPTH + 1);
    jt_blob_free(&b);
    json_decref(ok);

    json_t *bad = deep_json(JT_MAX_DEPTH + 1);
    assert_int_equal(jt_value_from_json(bad, "x", &b, &err), JT_ERR_TOO_DEEP);
    char *want = index_path("x", JT_MAX_DEPTH);
    assert_string_equal(err.path, want);
    assert_int_equal(err.code, JT_ERR_TOO_DEEP);
    assert_null(b.data);
    free(want);
    json_decref(bad);
}

static void from_json_string_too_large(void **state)
{
    (void)state;
    char *s = malloc(JT_MAX_STRING_BYTES + 1);
    assert_non_null(s);
    memset(s, 'a', JT_MAX_STRING_BYTES + 1);
    jt_blob_t b = {NULL, 0};
    jt_error_t err;

    json_t *v = json_pack("[i, {s: s#}]", 1, "k", s, (int)JT_MAX_STRING_BYTES);
    assert_int_equal(jt_value_from_json(v, "x", &b, &err), JT_OK);
    jt_blob_free(&b);
    json_decref(v);

    v = json_pack("[i, {s: s#}]", 1, "k", s, (int)JT_MAX_STRING_BYTES + 1);
    assert_int_equal(jt_value_from_json(v, "x", &b, &err), JT_ERR_TOO_LARGE);
    assert_string_equal(err.path, "x[1].k");
    json_decref(v);

    /* a key is a string too */
    v = json_object();
    json_object_setn_new(v, s, JT_MAX_STRING_BYTES + 1, json_null());
    assert_int_equal(jt_value_from_json(v, "", &b, &err), JT_ERR_TOO_LARGE);
    assert_string_equal(err.path, "");
    json_decref(v);
    free(s);
}

static void to_json_scalars(void **state)
{
    (void)state;
    /* [nil, true, 7, -7, 1.5f32, 2.5, "hi", NaN, inf, -inf] */
    static const char bytes[] = "\x9a\xc0\xc3\x07\xf9\xca\x3f\xc0\x00\x00"
                                "\xcb\x40\x04\x00\x00\x00\x00\x00\x00\xa2hi"
                                "\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"
                                "\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00"
                                "\xcb\xff\xf0\x00\x00\x00\x00\x00\x00";
    obj_t o;
    jt_error_t err;
    json_t *j = jt_value_to_json(obj_from(&o, bytes, sizeof bytes - 1), &err);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "[null,true,7,-7,1.5,2.5,\"hi\",\"NaN\",\"Infinity\",\"-Infinity\"]");
    free(text);
    json_decref(j);
    obj_free(&o);
}

static void to_json_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        jt_status_t code;
        const char *path;
    } cases[] = {
        {LIT("\xc4\x01x"), JT_ERR_INVALID, ""},                            /* bin */
        {LIT("\x92\x01\xd4\x05x"), JT_ERR_INVALID, "[1]"},                 /* fixext1 */
        {LIT("\x91\x81\xa1k\x81\x01\x02"), JT_ERR_INVALID, "[0].k"},       /* int key */
        {LIT("\x81\xa1k\xa1\xff"), JT_ERR_INVALID, "k"},                   /* bad UTF-8 */
        {LIT("\x81\xa1\xff\x01"), JT_ERR_INVALID, ""},                     /* bad UTF-8 key */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        obj_t o;
        jt_error_t err;
        json_t *j = jt_value_to_json(obj_from(&o, cases[i].bytes, cases[i].len), &err);
        assert_null(j);
        assert_int_equal(err.code, cases[i].code);
        assert_string_equal(err.path, cases[i].path);
        obj_free(&o);
    }
    /* 2^63 and above: beyond jansson's integers, a marked string (value.h) that
     * jt_json_dumps writes as the bare literal */
    obj_t big;
    jt_error_t big_err;
    json_t *b =
        jt_value_to_json(obj_from(&big, LIT("\xcf\x80\x00\x00\x00\x00\x00\x00\x00")), &big_err);
    assert_non_null(b);
    char *text = jt_json_dumps(b, JSON_ENCODE_ANY);
    assert_string_equal(text, "9223372036854775808");
    free(text);
    json_decref(b);
    obj_free(&big);
    /* the largest int64 still fits */
    obj_t o;
    jt_error_t err;
    json_t *j = jt_value_to_json(obj_from(&o, LIT("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff")), &err);
    assert_non_null(j);
    assert_true(json_integer_value(j) == INT64_MAX);
    json_decref(j);
    obj_free(&o);
}

static void to_json_depth(void **state)
{
    (void)state;
    jt_error_t err;
    msgpack_object *ok = deep_arrays(JT_MAX_DEPTH);
    json_t *j = jt_value_to_json(ok, &err);
    assert_non_null(j);
    json_decref(j);
    free(ok);

    msgpack_object *bad = deep_arrays(100000);
    assert_null(jt_value_to_json(bad, &err));
    assert_int_equal(err.code, JT_ERR_TOO_DEEP);
    char *want = index_path("", JT_MAX_DEPTH);
    assert_string_equal(err.path, want);
    free(want);
    free(bad);
}

static void roundtrip_json(void **state)
{
    (void)state;
    const char *text = "{\"a\":[1,-2,3.25,\"x\",null,true,false,{}],\"b\":{\"c\":[[]]},"
                       "\"\\u00e9\":\"\\u0000\"}";
    json_t *v = json_loads(text, JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    jt_blob_t b = {NULL, 0};
    jt_error_t err;
    assert_int_equal(jt_value_from_json(v, "", &b, &err), JT_OK);
    obj_t o;
    json_t *back = jt_value_to_json(obj_from(&o, (const char *)b.data, b.len), &err);
    assert_non_null(back);
    assert_true(json_equal(v, back));
    json_decref(back);
    obj_free(&o);
    jt_blob_free(&b);
    json_decref(v);
}

static void check_accepts(void **state)
{
    (void)state;
    /* {"k": [nil, false, 1, -1, 1.0f32, 1.0, "\xc3\xa9", {}]} */
    static const char bytes[] = "\x81\xa1k\x98\xc0\xc2\x01\xff\xca\x3f\x80\x00\x00"
                                "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\xa2\xc3\xa9\x80";
    obj_t o;
    jt_error_t err;
    assert_int_equal(jt_value_check(obj_from(&o, bytes, sizeof bytes - 1), "p", &err), JT_OK);
    obj_free(&o);
    msgpack_object *deep = deep_arrays(JT_MAX_DEPTH);
    assert_int_equal(jt_value_check(deep, "p", &err), JT_OK);
    free(deep);
}

static void check_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        jt_status_t code;
        const char *path;
    } cases[] = {
        {LIT("\x93\x01\x02\xc4\x00"), JT_ERR_INVALID, "p[2]"}, /* bin */
        {LIT("\x81\xa1k\xc7\x00\x01"), JT_ERR_INVALID, "p.k"}, /* ext8 */
        {LIT("\x91\xa2\xc3\x28"), JT_ERR_INVALID, "p[0]"},     /* bad UTF-8 */
        {LIT("\xa3\xed\xa0\x80"), JT_ERR_INVALID, "p"},        /* surrogate */
        {LIT("\xa2\xc0\xaf"), JT_ERR_INVALID, "p"},            /* overlong */
        {LIT("\x81\x01\x02"), JT_ERR_INVALID, "p"},            /* int key */
        {LIT("\x81\xc0\x02"), JT_ERR_INVALID, "p"},            /* nil key */
        {LIT("\x81\xa1\xfe\x02"), JT_ERR_INVALID, "p"},        /* bad UTF-8 key */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        obj_t o;
        jt_error_t err;
        jt_status_t st = jt_value_check(obj_from(&o, cases[i].bytes, cases[i].len), "p", &err);
        assert_int_equal(st, cases[i].code);
        assert_int_equal(err.code, cases[i].code);
        assert_string_equal(err.path, cases[i].path);
        obj_free(&o);
    }
}

static void check_limits(void **state)
{
    (void)state;
    jt_error_t err;
    msgpack_object *deep = deep_arrays(JT_MAX_DEPTH + 1);
    assert_int_equal(jt_value_check(deep, "p", &err), JT_ERR_TOO_DEEP);
    char *want = index_path("p", JT_MAX_DEPTH);
    assert_string_equal(err.path, want);
    free(want);
    free(deep);

    char *s = malloc(JT_MAX_STRING_BYTES + 1);
    assert_non_null(s);
    memset(s, 'a', JT_MAX_STRING_BYTES + 1);
    msgpack_object str = {.type = MSGPACK_OBJECT_STR};
    str.via.str.ptr = s;
    str.via.str.size = JT_MAX_STRING_BYTES;
    assert_int_equal(jt_value_check(&str, "p", &err), JT_OK);
    str.via.str.size = JT_MAX_STRING_BYTES + 1;
    assert_int_equal(jt_value_check(&str, "p", &err), JT_ERR_TOO_LARGE);
    assert_string_equal(err.path, "p");
    free(s);
}

/* A path longer than jt_error_t.path is cut, but never inside a UTF-8 character. */
static void path_truncation_utf8(void **state)
{
    (void)state;
    enum { LEVELS = 4, KEY_BYTES = 2 * 45 };
    char key[KEY_BYTES];
    for (size_t i = 0; i < KEY_BYTES; i += 2)
        memcpy(key + i, LIT("\xc3\xa9"));
    msgpack_object nodes[LEVELS + 1];
    msgpack_object_kv kvs[LEVELS];
    for (size_t i = 0; i < LEVELS; i++) {
        kvs[i].key.type = MSGPACK_OBJECT_STR;
        kvs[i].key.via.str.ptr = key;
        kvs[i].key.via.str.size = KEY_BYTES;
        nodes[i].type = MSGPACK_OBJECT_MAP;
        nodes[i].via.map.size = 1;
        nodes[i].via.map.ptr = &kvs[i];
    }
    /* innermost value: bin (rejected); kv values are copies, so link from the bottom up */
    nodes[LEVELS].type = MSGPACK_OBJECT_BIN;
    nodes[LEVELS].via.bin.size = 0;
    nodes[LEVELS].via.bin.ptr = NULL;
    for (size_t i = LEVELS; i-- > 0;)
        kvs[i].val = nodes[i + 1];
    jt_error_t err;
    assert_int_equal(jt_value_check(&nodes[0], "p", &err), JT_ERR_INVALID);
    size_t n = strlen(err.path);
    assert_true(n <= sizeof err.path - 1);
    assert_true(n >= sizeof err.path - 4);
    json_t *j = json_string(err.path); /* NULL if not valid UTF-8 */
    assert_non_null(j);
    json_decref(j);
}

static jt_status_t unpack(const char *bytes, size_t len, jt_error_t *err)
{
    msgpack_zone *z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    assert_non_null(z);
    msgpack_object o;
    jt_status_t st = jt_unpack_value((const uint8_t *)bytes, len, z, &o, err);
    msgpack_zone_free(z);
    return st;
}

static void unpack_value(void **state)
{
    (void)state;
    jt_error_t err;
    /* deeper than msgpack-c's own limit of 32, within ours */
    char buf[JT_MAX_DEPTH + 2];
    memset(buf, 0x91, sizeof buf);
    buf[JT_MAX_DEPTH] = (char)0xc0;
    assert_int_equal(unpack(buf, JT_MAX_DEPTH + 1, &err), JT_OK);
    buf[JT_MAX_DEPTH] = (char)0x91;
    buf[JT_MAX_DEPTH + 1] = (char)0xc0;
    assert_int_equal(unpack(buf, JT_MAX_DEPTH + 2, &err), JT_ERR_TOO_DEEP);
    char *want = index_path("", JT_MAX_DEPTH);
    assert_string_equal(err.path, want);
    free(want);

    assert_int_equal(unpack(LIT(""), &err), JT_ERR_TRUNCATED);
    assert_int_equal(unpack(LIT("\x92\x01"), &err), JT_ERR_TRUNCATED);
    assert_int_equal(unpack(LIT("\xdd\xff\xff\xff\xff\x01"), &err), JT_ERR_TRUNCATED);
    assert_int_equal(unpack(LIT("\x01\x02"), &err), JT_ERR_TRAILING);
    assert_int_equal(unpack(LIT("\xc1"), &err), JT_ERR_INVALID);
    assert_int_equal(unpack(LIT("\x92\x01\xc4\x00"), &err), JT_ERR_INVALID);
    assert_string_equal(err.path, "[1]");
    assert_int_equal(unpack(LIT("\xd3\xff\xff\xff\xff\xff\xff\xff\xfe"), &err), JT_OK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(from_json_scalars), cmocka_unit_test(from_json_containers),
    cmocka_unit_test(from_json_depth),   cmocka_unit_test(from_json_string_too_large),
    cmocka_unit_test(to_json_scalars),   cmocka_unit_test(to_json_rejects),
    cmocka_unit_test(to_json_depth),     cmocka_unit_test(roundtrip_json),
    cmocka_unit_test(check_accepts),     cmocka_unit_test(check_rejects),
    cmocka_unit_test(check_limits),      cmocka_unit_test(path_truncation_utf8),
    cmocka_unit_test(unpack_value),
};

JT_UNIT_MAIN(tests)
