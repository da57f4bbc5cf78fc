/* msgpack_text.h -- a compact text notation for msgpack values, parsed into one unpacked value.
 *
 *   nil true false                 nil and booleans
 *   42 -7 18446744073709551615     integers (smallest msgpack encoding)
 *   4.0 1e12 -0.0 inf -inf nan     float64 (anything with . e inf nan)
 *   f32:0.5                        float32
 *   "a\"b\\\xff"                   str; escapes \" \\ \n \xHH
 *   b"..."                         bin (same escapes)
 *   e7"..."                        ext of type 7
 *   [a, b, ...]  {k: v, ...}       array, map (keys may be any value)
 *   x:d005                         raw msgpack bytes in hex, one whole value
 * Whitespace is free. A malformed description fails the running cmocka case.
 */
#ifndef JT_TESTS_MSGPACK_TEXT_H
#define JT_TESTS_MSGPACK_TEXT_H

#include <msgpack.h>

/* A parsed value: the object lives in the unpacked zone until value_free. */
typedef struct {
    msgpack_sbuffer buf;
    msgpack_unpacked up;
} value_t;

/* Parse text into v: its bytes in v->buf, the one value they hold in v->up.data. */
void value_parse(value_t *v, const char *text);

/* Free what value_parse made. */
void value_free(value_t *v);

#endif
