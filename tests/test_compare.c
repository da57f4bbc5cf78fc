/* test_compare.c -- table-driven unit tests of jt_values_equal on scalars, one case per rule group.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "unit_main.h"

#include "compare.h"
#include "compare_rows.h"
#include "job.h"

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

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(none_rules),    cmocka_unit_test(bool_rules),
    cmocka_unit_test(numeric_rules), cmocka_unit_test(tolerance_edges),
    cmocka_unit_test(nan_inf),       cmocka_unit_test(strings),
};

JT_UNIT_MAIN(tests)
