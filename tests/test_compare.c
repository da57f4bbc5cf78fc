/* test_compare.c -- table-driven unit tests of jt_values_equal, one case per rule group. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "unit_main.h"

#include "compare.h"
#include "job.h"

/* ---- a compact text notation for msgpack values -------------------------
 *   nil true false                 nil and booleans
 *   42 -7 18446744073709551615     integers (smallest msgpack encoding)
 *   4.0 1e12 -0.0 inf -inf nan     float64 (anything with . e inf nan)
 *   f32:0.5                        float32
 *   "a\"b\\\xff"                   str; escapes \" \\ \n \xHH
 *   b"..."                         bin (same escapes)
 *   e7"..."                        ext of type 7
 *   [a, b, ...]  {k: v, ...}       array, map (keys may be any value)
 *   x:d005                         raw msgpack bytes in hex, one whole value
 * Whitespace is free. A malformed description fails the test. */

typedef struct {
    const char *p;
    const char *text; /* for error messages */
} parser_t;

static void skip_space(parser_t *ps)
{
    while (isspace((unsigned char)*ps->p))
        ps->p++;
}

static void parse_fail(const parser_t *ps, const char *what)
{
    fail_msg("bad value description \"%s\" at offset %d: %s", ps->text, (int)(ps->p - ps->text),
             what);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse a quoted string at ps->p into buf (unescaped); returns its length. */
static size_t parse_quoted(parser_t *ps, char *buf, size_t cap)
{
    if (*ps->p != '"')
        parse_fail(ps, "expected '\"'");
    ps->p++;
    size_t n = 0;
    while (*ps->p != '"') {
        char c = *ps->p++;
        if (c == '\0')
            parse_fail(ps, "unterminated string");
        if (c == '\\') {
            char e = *ps->p++;
            if (e == 'n') {
                c = '\n';
            } else if (e == 'x') {
                int hi = hex_digit(ps->p[0]), lo = hi < 0 ? -1 : hex_digit(ps->p[1]);
                if (lo < 0)
                    parse_fail(ps, "bad \\x escape");
                c = (char)(hi * 16 + lo);
                ps->p += 2;
            } else if (e == '"' || e == '\\') {
                c = e;
            } else {
                parse_fail(ps, "unknown escape");
            }
        }
        if (n >= cap)
            parse_fail(ps, "string too long for the test buffer");
        buf[n++] = c;
    }
    ps->p++;
    return n;
}

static void parse_value(parser_t *ps, msgpack_sbuffer *out);

/* Parse elements until `close` into a side buffer, then emit header + body:
 * msgpack wants the element count before the elements. */
static void parse_container(parser_t *ps, msgpack_sbuffer *out, char close, bool is_map)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    uint32_t count = 0;
    ps->p++;
    skip_space(ps);
    while (*ps->p != close) {
        parse_value(ps, &body);
        if (is_map) {
            skip_space(ps);
            if (*ps->p != ':')
                parse_fail(ps, "expected ':'");
            ps->p++;
            parse_value(ps, &body);
        }
        count++;
        skip_space(ps);
        if (*ps->p == ',') {
            ps->p++;
            skip_space(ps);
        } else if (*ps->p != close) {
            parse_fail(ps, "expected ',' or the closing bracket");
        }
    }
    ps->p++;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if (is_map)
        msgpack_pack_map(&pk, count);
    else
        msgpack_pack_array(&pk, count);
    msgpack_sbuffer_write(out, body.data, body.size);
    msgpack_sbuffer_destroy(&body);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void parse_number(parser_t *ps, msgpack_packer *pk, bool f32)
{
    const char *start = ps->p;
    size_t n = strcspn(start, " \t\n,]}:");
    char tok[64];
    if (n == 0 || n >= sizeof tok)
        parse_fail(ps, "bad number");
    memcpy(tok, start, n);
    tok[n] = '\0';
    char *end;
    errno = 0;
    bool is_float = f32 || strpbrk(tok, ".eEin") != NULL;
    if (is_float) {
        double d = strtod(tok, &end);
        if (*end != '\0')
            parse_fail(ps, "bad float");
        if (f32)
            msgpack_pack_float(pk, (float)d);
        else
            msgpack_pack_double(pk, d);
    } else if (tok[0] == '-') {
        long long x = strtoll(tok, &end, 10);
        if (*end != '\0' || errno != 0)
            parse_fail(ps, "bad negative integer");
        msgpack_pack_int64(pk, x);
    } else {
        unsigned long long x = strtoull(tok, &end, 10);
        if (*end != '\0' || errno != 0)
            parse_fail(ps, "bad integer");
        msgpack_pack_uint64(pk, x);
    }
    ps->p += n;
}

static void parse_value(parser_t *ps, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    char buf[512];
    skip_space(ps);
    char c = *ps->p;
    if (c == '[' || c == '{') {
        parse_container(ps, out, c == '[' ? ']' : '}', c == '{');
    } else if (c == '"') {
        size_t n = parse_quoted(ps, buf, sizeof buf);
        msgpack_pack_str(&pk, n);
        msgpack_pack_str_body(&pk, buf, n);
    } else if (c == 'b' && ps->p[1] == '"') {
        ps->p++;
        size_t n = parse_quoted(ps, buf, sizeof buf);
        msgpack_pack_bin(&pk, n);
        msgpack_pack_bin_body(&pk, buf, n);
    } else if (c == 'e' && isdigit((unsigned char)ps->p[1])) {
        char *end;
        long type = strtol(ps->p + 1, &end, 10);
        ps->p = end;
        size_t n = parse_quoted(ps, buf, sizeof buf);
        msgpack_pack_ext(&pk, n, (int8_t)type);
        msgpack_pack_ext_body(&pk, buf, n);
    } else if (starts_with(ps->p, "x:")) {
        ps->p += 2;
        while (hex_digit(ps->p[0]) >= 0 && hex_digit(ps->p[1]) >= 0) {
            char byte = (char)(hex_digit(ps->p[0]) * 16 + hex_digit(ps->p[1]));
            msgpack_sbuffer_write(out, &byte, 1);
            ps->p += 2;
        }
    } else if (starts_with(ps->p, "f32:")) {
        ps->p += 4;
        parse_number(ps, &pk, true);
    } else if (starts_with(ps->p, "nil")) {
        ps->p += 3;
        msgpack_pack_nil(&pk);
    } else if (starts_with(ps->p, "true")) {
        ps->p += 4;
        msgpack_pack_true(&pk);
    } else if (starts_with(ps->p, "false")) {
        ps->p += 5;
        msgpack_pack_false(&pk);
    } else if (c == '-' || c == 'i' || c == 'n' || isdigit((unsigned char)c)) {
        parse_number(ps, &pk, false);
    } else {
        parse_fail(ps, "unexpected character");
    }
}

/* A parsed value: the object lives in the unpacked zone until value_free. */
typedef struct {
    msgpack_sbuffer buf;
    msgpack_unpacked up;
} value_t;

static void value_parse(value_t *v, const char *text)
{
    parser_t ps = {text, text};
    msgpack_sbuffer_init(&v->buf);
    parse_value(&ps, &v->buf);
    skip_space(&ps);
    if (*ps.p != '\0')
        parse_fail(&ps, "trailing text");
    msgpack_unpacked_init(&v->up);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&v->up, v->buf.data, v->buf.size, &off);
    if (r != MSGPACK_UNPACK_SUCCESS || off != v->buf.size)
        fail_msg("\"%s\" did not unpack as one msgpack value (%d)", text, (int)r);
}

static void value_free(value_t *v)
{
    msgpack_unpacked_destroy(&v->up);
    msgpack_sbuffer_destroy(&v->buf);
}

/* ---- the table runner --------------------------------------------------- */

typedef struct {
    const char *name;
    const char *actual;
    const char *expected;
    bool equal;
    bool custom_tol; /* use abs_tol/rel_tol below instead of the defaults */
    double abs_tol;
    double rel_tol;
} row_t;

#define EQ(name, a, b)                                                                             \
    {                                                                                              \
        name, a, b, true, false, 0, 0                                                              \
    }
#define NE(name, a, b)                                                                             \
    {                                                                                              \
        name, a, b, false, false, 0, 0                                                             \
    }
#define EQ_TOL(name, a, b, at, rt)                                                                 \
    {                                                                                              \
        name, a, b, true, true, at, rt                                                             \
    }
#define NE_TOL(name, a, b, at, rt)                                                                 \
    {                                                                                              \
        name, a, b, false, true, at, rt                                                            \
    }

/* Check every row in both directions (every rule is symmetric); report each
 * failing row by name, then fail once if any did. */
static void run_rows(const row_t *rows, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        jt_tolerance_t tol = {JT_DEFAULT_ABS_TOL, JT_DEFAULT_REL_TOL};
        if (r->custom_tol) {
            tol.abs_tol = r->abs_tol;
            tol.rel_tol = r->rel_tol;
        }
        value_t a, b;
        value_parse(&a, r->actual);
        value_parse(&b, r->expected);
        bool ab = jt_values_equal(&a.up.data, &b.up.data, &tol);
        bool ba = jt_values_equal(&b.up.data, &a.up.data, &tol);
        if (ab != r->equal || ba != r->equal) {
            print_error("row \"%s\": %.60s vs %.60s: expected %s, got %s/%s (actual,expected / "
                        "swapped)\n",
                        r->name, r->actual, r->expected, r->equal ? "equal" : "unequal",
                        ab ? "equal" : "unequal", ba ? "equal" : "unequal");
            failures++;
        }
        value_free(&a);
        value_free(&b);
    }
    assert_int_equal(failures, 0);
}

#define RUN_ROWS(rows) run_rows(rows, sizeof(rows) / sizeof(rows[0]))

/* ---- rule groups -------------------------------------------------------- */

static void none_rules(void **state)
{
    (void)state;
    static const row_t rows[] = {
        EQ("None == None", "nil", "nil"),       NE("None != 0", "nil", "0"),
        NE("None != 0.0", "nil", "0.0"),        NE("None != False", "nil", "false"),
        NE("None != empty str", "nil", "\"\""), NE("None != empty list", "nil", "[]"),
        NE("None != empty dict", "nil", "{}"),  NE("None != str None", "nil", "\"None\""),
        NE("None != [None]", "nil", "[nil]"),   NE("None != nan", "nil", "nan"),
    };
    RUN_ROWS(rows);
}

static void bool_rules(void **state)
{
    (void)state;
    static const row_t rows[] = {
        EQ("True == True", "true", "true"),   EQ("False == False", "false", "false"),
        NE("True != False", "true", "false"), NE("True != 1", "true", "1"),
        NE("False != 0", "false", "0"),       NE("True != 1.0", "true", "1.0"),
        NE("False != 0.0", "false", "0.0"),   NE("True != str true", "true", "\"true\""),
        NE("False != None", "false", "nil"),  NE("False != empty list", "false", "[]"),
        NE("[True] != [1]", "[true]", "[1]"),
    };
    RUN_ROWS(rows);
}

static void numeric_rules(void **state)
{
    (void)state;
    static const row_t rows[] = {
        EQ("int 4 == int 4", "4", "4"),
        NE("int 4 != int 5", "4", "5"),
        EQ("int 4 == float 4.0", "4", "4.0"),
        EQ("int 0 == float -0.0", "0", "-0.0"),
        EQ("float 0.0 == float -0.0", "0.0", "-0.0"),
        EQ("int -3 == float -3.0", "-3", "-3.0"),
        NE("int 4 != float 4.5", "4", "4.5"),
        NE("positive 5 != negative -5", "5", "-5"),
        EQ("negative -5 == negative -5", "-5", "-5"),
        NE("negative -5 != negative -6", "-5", "-6"),
        EQ("fixint 5 == int8 encoding 5", "5", "x:d005"),
        EQ("fixint 5 == uint64 encoding 5", "5", "x:cf0000000000000005"),
        EQ("int8 encoding -1 == int64 encoding -1", "x:d0ff", "x:d3ffffffffffffffff"),
        EQ("uint64 max == uint64 max", "18446744073709551615", "18446744073709551615"),
        NE("uint64 max != int64 -1 (same bits)", "18446744073709551615", "-1"),
        NE("uint64 max != int64 max", "18446744073709551615", "9223372036854775807"),
        NE("int64 min != uint64 2^63 (same bits)", "-9223372036854775808", "9223372036854775808"),
        EQ("int64 min == int64 min", "-9223372036854775808", "-9223372036854775808"),
        NE("2^53+1 != 2^53 as ints (exact, no double rounding)", "9007199254740993",
           "9007199254740992"),
        NE("uint64 max-1 != uint64 max (exact)", "18446744073709551614", "18446744073709551615"),
        EQ("float32 0.5 == float64 0.5", "f32:0.5", "0.5"),
        EQ("float32 0.5 == float32 0.5", "f32:0.5", "f32:0.5"),
        EQ("float32 2.0 == int 2", "f32:2", "2"),
        NE("float32 0.1 != float64 0.1 (float32 rounding is 1.5e-9 > tolerance)", "f32:0.1", "0.1"),
        EQ_TOL("float32 0.1 == float64 0.1 with rel_tol 1e-6", "f32:0.1", "0.1", 0.0, 1e-6),
        NE("int 1 != str 1", "1", "\"1\""),
        NE("float 1.0 != str 1.0", "1.0", "\"1.0\""),
        NE("int 0 != empty list", "0", "[]"),
    };
    RUN_ROWS(rows);

    /* The unpacker never produces a NEGATIVE_INTEGER holding a value >= 0,
     * but a hand-built object may: it must still mean that value. */
    msgpack_object neg_typed = {.type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = 7};
    msgpack_object pos = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 7};
    msgpack_object pos8 = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 8};
    jt_tolerance_t tol = {JT_DEFAULT_ABS_TOL, JT_DEFAULT_REL_TOL};
    assert_true(jt_values_equal(&neg_typed, &pos, &tol));
    assert_false(jt_values_equal(&neg_typed, &pos8, &tol));
}

static void tolerance_edges(void **state)
{
    (void)state;
    /* Edges: equal iff |a-b| <= abs_tol, or |a-b| <= rel_tol * max(|a|,|b|).
     * 0 vs 1e-9: diff is exactly the double 1e-9 == abs_tol.
     * 1e12 vs 1e12+999: rel bound 1e-9*(1e12+999) = 1000.000000999 >= 999.
     * 1e12 vs 1e12+1001: rel bound 1000.000001001 < 1001. */
    static const row_t rows[] = {
        EQ("abs: diff exactly 1e-9 is equal", "0.0", "1e-9"),
        EQ("abs: diff exactly 1e-9 (int side) is equal", "0", "1e-9"),
        NE("abs: diff 1.1e-9 at small magnitude is unequal", "0.0", "1.1e-9"),
        NE("abs: -1e-9 vs 1.1e-9 is unequal (diff 2.1e-9)", "-1e-9", "1.1e-9"),
        EQ("abs: 1.0 vs 1.0+5e-10", "1.0", "1.0000000005"),
        NE("abs: 1.0 vs 1.0+3e-9 (rel bound 1.000000003e-9 too)", "1.0", "1.000000003"),
        EQ("rel: 1e12 vs 1e12+999 equal", "1e12", "1000000000999.0"),
        NE("rel: 1e12 vs 1e12+1001 unequal", "1e12", "1000000001001.0"),
        EQ("rel: int 10^12 vs float 1e12+999 equal", "1000000000000", "1000000000999.0"),
        NE("rel: int 10^12 vs float 1e12+1001 unequal", "1000000000000", "1000000001001.0"),
        NE("rel: ints are exact, 10^12 vs 10^12+1", "1000000000000", "1000000000001"),
        EQ("rel: negative side -1e12 vs -1e12-999", "-1e12", "-1000000000999.0"),
        NE("rel: -1e12 vs -1e12-1001", "-1e12", "-1000000001001.0"),
        NE("rel: opposite signs never close", "-1e12", "1e12"),
        EQ_TOL("custom: rel 0.5, 1 vs 2 is exactly on the bound", "1.0", "2.0", 0.0, 0.5),
        NE_TOL("custom: rel 0.5, 1 vs 2.000001 is past it", "1.0", "2.000001", 0.0, 0.5),
        EQ_TOL("custom: abs 0.25, 1 vs 1.25 on the bound", "1.0", "1.25", 0.25, 0.0),
        NE_TOL("custom: abs 0.25, 1 vs 1.25001", "1.0", "1.25001", 0.25, 0.0),
        EQ_TOL("custom: abs 0.5 lets int 3 equal float 3.4", "3", "3.4", 0.5, 0.0),
        NE_TOL("custom: zero tolerance, 0.1+0.2 != 0.3", "0.30000000000000004", "0.3", 0.0, 0.0),
        EQ_TOL("custom: zero tolerance, exact floats equal", "0.3", "0.3", 0.0, 0.0),
        NE("default: 0.30000000000000004 != 0.31", "0.30000000000000004", "0.31"),
        EQ("default: 0.1+0.2 == 0.3", "0.30000000000000004", "0.3"),
        EQ_TOL("custom: negative tolerances still accept exact equality", "2.5", "2.5", -1.0, -1.0),
        NE_TOL("custom: tolerance never applies to ints", "3", "4", 10.0, 10.0),
        EQ_TOL("custom: but does to int vs float", "3", "4.0", 10.0, 10.0),
        EQ("tolerance applies inside lists", "[1.0, 2.0]", "[1.0000000001, 2.0]"),
        EQ("tolerance applies inside dicts", "{\"x\": 1e12}", "{\"x\": 1000000000999.0}"),
    };
    RUN_ROWS(rows);
}

static void nan_inf(void **state)
{
    (void)state;
    static const row_t rows[] = {
        EQ("NaN == NaN", "nan", "nan"),
        EQ("NaN == -NaN", "nan", "-nan"),
        EQ("float32 NaN == float64 NaN", "f32:nan", "nan"),
        NE("NaN != 0.0", "nan", "0.0"),
        NE("NaN != int 0", "nan", "0"),
        NE("NaN != inf", "nan", "inf"),
        NE("NaN != None", "nan", "nil"),
        NE_TOL("NaN != 1 even with huge tolerance", "nan", "1.0", 1e300, 1e300),
        EQ("+inf == +inf", "inf", "inf"),
        EQ("-inf == -inf", "-inf", "-inf"),
        EQ("float32 inf == float64 inf", "f32:inf", "inf"),
        NE("+inf != -inf", "inf", "-inf"),
        NE("inf != largest double", "inf", "1.7976931348623157e308"),
        NE("inf != uint64 max", "inf", "18446744073709551615"),
        NE("-inf != -1e308", "-inf", "-1e308"),
        NE_TOL("inf != 1e308 even with rel_tol 1", "inf", "1e308", 0.0, 1.0),
        NE_TOL("inf != 1e308 even with abs_tol 1e308", "inf", "1e308", 1e308, 0.0),
        NE("1e308 != -1e308 (difference past the double range)", "1e308", "-1e308"),
        EQ("largest double == itself", "1.7976931348623157e308", "1.7976931348623157e308"),
        EQ("[nan, inf] == [nan, inf]", "[nan, inf]", "[nan, inf]"),
    };
    RUN_ROWS(rows);
}

static void strings(void **state)
{
    (void)state;
    static const row_t rows[] = {
        EQ("same string", "\"hello\"", "\"hello\""),
        EQ("empty strings", "\"\"", "\"\""),
        NE("case differs", "\"Hello\"", "\"hello\""),
        NE("trailing space", "\"hello \"", "\"hello\""),
        NE("trailing newline", "\"hello\\n\"", "\"hello\""),
        NE("prefix", "\"hell\"", "\"hello\""),
        EQ("unicode identical bytes", "\"caf\\xc3\\xa9 \\xe2\\x82\\xac\"",
           "\"caf\\xc3\\xa9 \\xe2\\x82\\xac\""),
        NE("unicode NFC vs NFD (e-acute composed vs e + combining)", "\"caf\\xc3\\xa9\"",
           "\"cafe\\xcc\\x81\""),
        EQ("embedded NUL compared too", "\"a\\x00b\"", "\"a\\x00b\""),
        NE("embedded NUL differs after it", "\"a\\x00b\"", "\"a\\x00c\""),
        NE("str \"1\" != int 1", "\"1\"", "1"),
        NE("str vs bin with the same bytes", "\"abc\"", "b\"abc\""),
        NE("empty str vs empty bin", "\"\"", "b\"\""),
        EQ("bin == bin byte-exactly", "b\"\\x00\\xff\"", "b\"\\x00\\xff\""),
        NE("bin != bin differing", "b\"\\x00\\xff\"", "b\"\\x00\\xfe\""),
        EQ("ext == ext same type and bytes", "e7\"ab\"", "e7\"ab\""),
        NE("ext type differs", "e7\"ab\"", "e8\"ab\""),
        NE("ext vs bin same bytes", "e7\"ab\"", "b\"ab\""),
        EQ("str8 encoding == fixstr encoding", "x:d9026869", "\"hi\""),
    };
    RUN_ROWS(rows);
}

static void arrays(void **state)
{
    (void)state;
    static const row_t rows[] = {
        EQ("empty arrays", "[]", "[]"),
        EQ("same elements", "[1, 2, 3]", "[1, 2, 3]"),
        NE("different length (shorter)", "[1, 2]", "[1, 2, 3]"),
        NE("different length (longer)", "[1, 2, 3, 4]", "[1, 2, 3]"),
        NE("order matters", "[3, 2, 1]", "[1, 2, 3]"),
        NE("one element differs", "[1, 2, 4]", "[1, 2, 3]"),
        EQ("mixed numeric elements", "[1, 2.0, -3]", "[1.0, 2, -3.0]"),
        NE("empty array != empty map", "[]", "{}"),
        NE("[] != [None]", "[]", "[nil]"),
        NE("[1] != 1", "[1]", "1"),
        EQ("tuple (1, 'a') arrives as an array and equals list [1, 'a']", "[1, \"a\"]",
           "[1, \"a\"]"),
        EQ("nested arrays", "[[1, 2], [3, [4, 5]], []]", "[[1, 2], [3, [4, 5]], []]"),
        NE("nested arrays differ deep inside", "[[1, 2], [3, [4, 5]]]", "[[1, 2], [3, [4, 6]]]"),
        NE("nesting shape differs", "[[1, 2], 3]", "[1, [2, 3]]"),
        EQ("array16 encoding == fixarray encoding", "x:dc00020102", "[1, 2]"),
        EQ("list of dicts", "[{\"a\": 1}, {\"b\": [2]}]", "[{\"a\": 1}, {\"b\": [2]}]"),
    };
    RUN_ROWS(rows);
}

static void maps(void **state)
{
    (void)state;
    static const row_t rows[] = {
        EQ("empty maps", "{}", "{}"),
        EQ("same keys same order", "{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 2}"),
        EQ("same keys different order", "{\"b\": 2, \"a\": 1}", "{\"a\": 1, \"b\": 2}"),
        NE("missing key", "{\"a\": 1}", "{\"a\": 1, \"b\": 2}"),
        NE("extra key", "{\"a\": 1, \"b\": 2, \"c\": 3}", "{\"a\": 1, \"b\": 2}"),
        NE("same size, different key", "{\"a\": 1, \"c\": 2}", "{\"a\": 1, \"b\": 2}"),
        NE("same keys, one value differs", "{\"a\": 1, \"b\": 3}", "{\"a\": 1, \"b\": 2}"),
        NE("values swapped between keys", "{\"a\": 2, \"b\": 1}", "{\"a\": 1, \"b\": 2}"),
        EQ("values compare numerically", "{\"a\": 1, \"b\": 2.0}", "{\"b\": 2, \"a\": 1.0}"),
        NE("key case differs", "{\"A\": 1}", "{\"a\": 1}"),
        NE("str key vs bin key", "{b\"a\": 1}", "{\"a\": 1}"),
        NE("int key 1 vs str key 1", "{1: \"x\"}", "{\"1\": \"x\"}"),
        EQ("int keys in different order", "{1: \"x\", 2: \"y\"}", "{2: \"y\", 1: \"x\"}"),
        NE("keys compare exactly: int 1 vs float 1.0", "{1: \"x\"}", "{1.0: \"x\"}"),
        NE("None value vs missing", "{\"a\": nil}", "{}"),
        NE("None value vs False value", "{\"a\": nil}", "{\"a\": false}"),
        NE("map with a repeated key equals nothing", "{\"a\": 1, \"a\": 1}",
           "{\"a\": 1, \"b\": 1}"),
        NE("map with a repeated key, mirrored", "{\"a\": 1, \"b\": 1}", "{\"a\": 1, \"a\": 1}"),
        NE("a map repeating a key equals nothing, not even itself", "{\"a\": 1, \"a\": 1}",
           "{\"a\": 1, \"a\": 1}"),
        EQ("nested maps in different order",
           "{\"outer\": {\"y\": [1, 2], \"x\": {\"k\": nil}}, \"n\": 1}",
           "{\"n\": 1, \"outer\": {\"x\": {\"k\": nil}, \"y\": [1, 2]}}"),
        NE("nested map misses a key", "{\"outer\": {\"y\": [1, 2]}, \"n\": 1}",
           "{\"n\": 1, \"outer\": {\"x\": {\"k\": nil}, \"y\": [1, 2]}}"),
        NE("list inside map in another order", "{\"l\": [2, 1]}", "{\"l\": [1, 2]}"),
        EQ("mix: list of maps of lists", "[{\"a\": [1, {\"b\": true}]}, {\"c\": []}]",
           "[{\"a\": [1.0, {\"b\": true}]}, {\"c\": []}]"),
        NE("mix: bool vs int deep inside", "[{\"a\": [1, {\"b\": true}]}]",
           "[{\"a\": [1, {\"b\": 1}]}]"),
        NE("empty map != None", "{}", "nil"),
        EQ("map16 encoding == fixmap encoding", "x:de0001a16101", "{\"a\": 1}"),
    };
    RUN_ROWS(rows);
}

/* Maps past the small-map threshold take the sorted path: same rules. */
static void large_maps(void **state)
{
    (void)state;
    enum { N = 300 };
    char *forward = malloc(N * 24 + 8), *backward = malloc(N * 24 + 8);
    char *changed = malloc(N * 24 + 8), *renamed = malloc(N * 24 + 8);
    char *dup = malloc(N * 24 + 8);
    assert_non_null(forward);
    assert_non_null(backward);
    assert_non_null(changed);
    assert_non_null(renamed);
    assert_non_null(dup);
    size_t f = 0, b = 0, c = 0, r = 0, d = 0;
    forward[f++] = backward[b++] = changed[c++] = renamed[r++] = dup[d++] = '{';
    for (int i = 0; i < N; i++) {
        const char *sep = i ? ", " : "";
        f += (size_t)sprintf(forward + f, "%s\"k%d\": %d", sep, i, i);
        b += (size_t)sprintf(backward + b, "%s\"k%d\": %d.0", sep, N - 1 - i, N - 1 - i);
        c += (size_t)sprintf(changed + c, "%s\"k%d\": %d", sep, i, i == N / 2 ? -1 : i);
        r += (size_t)sprintf(renamed + r, "%s\"%s%d\": %d", sep, i == N - 1 ? "z" : "k", i, i);
        d += (size_t)sprintf(dup + d, "%s\"k%d\": %d", sep, i == 7 ? 8 : i, i);
    }
    strcpy(forward + f, "}");
    strcpy(backward + b, "}");
    strcpy(changed + c, "}");
    strcpy(renamed + r, "}");
    strcpy(dup + d, "}");
    const row_t rows[] = {
        EQ("large: reversed order, int vs float values", forward, backward),
        NE("large: one value differs", changed, forward),
        NE("large: one key renamed", renamed, forward),
        NE("large: a repeated key hides a missing one", dup, forward),
        NE("large: a map repeating a key equals nothing, not even itself", dup, dup),
    };
    RUN_ROWS(rows);
    free(forward);
    free(backward);
    free(changed);
    free(renamed);
    free(dup);
}

/* Depth up to what msgpack-c can unpack compares fine. */
static void deep_nesting(void **state)
{
    (void)state;
    char a[256], b[256];
    int depth = 30;
    memset(a, '[', (size_t)depth);
    memset(b, '[', (size_t)depth);
    strcpy(a + depth, "1.0");
    strcpy(b + depth, "1");
    memset(a + depth + 3, ']', (size_t)depth);
    a[2 * depth + 3] = '\0';
    memset(b + depth + 1, ']', (size_t)depth);
    b[2 * depth + 1] = '\0';
    const row_t rows[] = {EQ("30 nested arrays", a, b)};
    RUN_ROWS(rows);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(none_rules),    cmocka_unit_test(bool_rules),
    cmocka_unit_test(numeric_rules), cmocka_unit_test(tolerance_edges),
    cmocka_unit_test(nan_inf),       cmocka_unit_test(strings),
    cmocka_unit_test(arrays),        cmocka_unit_test(maps),
    cmocka_unit_test(large_maps),    cmocka_unit_test(deep_nesting),
};

JT_UNIT_MAIN(tests)
