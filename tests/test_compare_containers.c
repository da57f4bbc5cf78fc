/* test_compare_containers.c -- table-driven unit tests of jt_values_equal on arrays and maps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_main.h"

#include "compare_rows.h"

/* ---- containers ---------------------------------------------------------- */

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
    cmocka_unit_test(arrays),
    cmocka_unit_test(maps),
    cmocka_unit_test(large_maps),
    cmocka_unit_test(deep_nesting),
};

JT_UNIT_MAIN(tests)
