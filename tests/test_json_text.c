/* test_json_text.c -- unit tests of jt_json_dumps: shortest exact reals, strings and ints
 * untouched. */
#include <stdlib.h>

#include "unit_main.h"

#include "json_text.h"

static void expect_dump(json_t *j, size_t flags, const char *want)
{
    char *text = jt_json_dumps(j, flags);
    assert_non_null(text);
    assert_string_equal(text, want);
    free(text);
    json_decref(j);
}

static void reals_are_shortest_and_exact(void **state)
{
    (void)state;
    expect_dump(json_pack("[f, f, f, f]", 0.1 + 0.2, 0.3, 1.0, -0.0), JSON_COMPACT,
                "[0.30000000000000004,0.3,1.0,-0.0]");
    expect_dump(json_pack("[f, f, f]", 1796591930.1234567, 1e300, 5e-324), JSON_COMPACT,
                "[1796591930.1234567,1e+300,5e-324]");
    /* as Python's repr: fixed for exponents in [-4, 16), else scientific */
    expect_dump(
        json_pack("[f, f, f, f, f, f]", 100.0, 0.0001, 0.00001, 1e15, 1e16, 12345678901234567.0),
        JSON_COMPACT, "[100.0,0.0001,1e-05,1000000000000000.0,1e+16,1.2345678901234568e+16]");
    /* every shortened text reads back to the very same double */
    double values[] = {0.1, 2.0 / 3.0, 123456.789, 1e-7, 9007199254740993.0, 299792458.0};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        json_t *a = json_pack("[f]", values[i]);
        char *text = jt_json_dumps(a, JSON_COMPACT);
        assert_non_null(text);
        assert_true(strtod(text + 1, NULL) == values[i]);
        free(text);
        json_decref(a);
    }
}

/* Integers, strings that look like numbers, keys and layout stay as jansson makes them. */
static void everything_else_untouched(void **state)
{
    (void)state;
    expect_dump(json_pack("{s:I, s:s, s:s}", "n", (json_int_t)-9007199254740993LL, "s",
                          "0.29999999999999999 and \"1.50\"", "e", "x\\1e5"),
                JSON_COMPACT,
                "{\"n\":-9007199254740993,\"s\":\"0.29999999999999999 and \\\"1.50\\\"\","
                "\"e\":\"x\\\\1e5\"}");
    expect_dump(json_pack("{s:[f, i]}", "a", 2.5, 3), JSON_INDENT(2),
                "{\n  \"a\": [\n    2.5,\n    3\n  ]\n}");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(reals_are_shortest_and_exact),
    cmocka_unit_test(everything_else_untouched),
};

JT_UNIT_MAIN(tests)
