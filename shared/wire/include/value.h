/* value.h -- conversions of client values between JSON (jansson) and msgpack blobs. */
#ifndef JT_VALUE_H
#define JT_VALUE_H

#include <jansson.h>
#include <msgpack.h>

#include "job.h"
#include "status.h"

/* Integers beyond 64 bits (outside [INT64_MIN, UINT64_MAX]) travel as the
 * msgpack ext type JT_MP_EXT_BIGINT whose bytes are the integer's canonical
 * decimal text ("-" and digits, no leading zero), at most
 * JT_MAX_BIGINT_DIGITS digits; integers inside that range are always plain
 * msgpack integers. In JSON they are number literals; inside a jansson value
 * (which holds 64 bits) they are the string JT_BIGINT_MARK + text, which
 * jt_json_dumps writes back as the bare literal. */
#define JT_MP_EXT_BIGINT 1
#define JT_MAX_BIGINT_DIGITS 4300 /* Python's default limit of int <-> str */
#define JT_BIGINT_MARK "\0jouletrace-bigint:"
#define JT_BIGINT_MARK_LEN (sizeof JT_BIGINT_MARK - 1)

/* How the decimal text s[0..n) ("-"? digits) stands: 0 a canonical integer
 * beyond 64 bits, 1 canonical and inside [INT64_MIN, UINT64_MAX], -1 not a
 * canonical integer (empty, a sign alone, leading zeros, "-0", other
 * characters, too many digits). */
int jt_bigint_text_check(const char *s, size_t n);

/* Encode a JSON value as msgpack into *out (malloc'd). Integers stay integers,
 * reals stay float64, objects become maps with string keys. Depth is bounded
 * by JT_MAX_DEPTH and strings by JT_MAX_STRING_BYTES; path names the value in
 * errors. Returns JT_OK or an error filled into *err. */
jt_status_t jt_value_from_json(const json_t *v, const char *path, jt_blob_t *out, jt_error_t *err);

/* The same, but the strings that stand for integers start with mark[0..mark_len)
 * instead of JT_BIGINT_MARK (a string starting with JT_BIGINT_MARK is then
 * just a string). The JSON body decoder marks with a random mark of its own
 * (jt_json_mark_bigints), so that no client string can pass for a number. */
jt_status_t jt_value_from_json_marked(const json_t *v, const char *path, const char *mark,
                                      size_t mark_len, jt_blob_t *out, jt_error_t *err);

/* Convert a msgpack object to a new JSON value (caller owns the reference).
 * Maps with non-string keys, binary and ext objects become their repr-like
 * string forms is NOT done: they are errors (JT_ERR_INVALID). NaN and
 * infinities, which JSON lacks, become the strings "NaN", "Infinity",
 * "-Infinity". Returns NULL and fills *err on failure. */
json_t *jt_value_to_json(const msgpack_object *o, jt_error_t *err);

/* Validate that a msgpack object is a client value: nil, bool, int, float,
 * str (<= JT_MAX_STRING_BYTES, valid UTF-8), a big integer (ext
 * JT_MP_EXT_BIGINT, canonical), array, map with str keys, nesting <=
 * JT_MAX_DEPTH. path names it in errors. */
jt_status_t jt_value_check(const msgpack_object *o, const char *path, jt_error_t *err);

/* "null", "a boolean", "an integer", ... for error messages; never NULL. */
const char *jt_value_type_name(msgpack_object_type t);

#endif
