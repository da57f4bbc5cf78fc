/* unpack.h -- strict decoding of untrusted msgpack bytes into checked msgpack_object trees. */
#ifndef JT_UNPACK_H
#define JT_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#include "status.h"

/* Decode exactly one msgpack value of len bytes into *out, allocating containers in
 * zone; strings point into data, which must outlive the tree. Use this instead of
 * msgpack_unpack_next for anything from outside the process: msgpack-c 4.0.0 refuses
 * values nested more than 32 containers deep and reports truncation as "continue",
 * while this decodes JT_MAX_DEPTH (64) levels and reports every problem.
 * The result has passed jt_value_check (types, string sizes, UTF-8, string keys, depth).
 * Errors: JT_ERR_TRUNCATED (input ends inside the value), JT_ERR_TRAILING (bytes after
 * it), JT_ERR_INVALID (a byte that is no msgpack type, or a value jt_value_check
 * rejects), JT_ERR_TOO_DEEP, JT_ERR_TOO_LARGE, JT_ERR_NOMEM; err->path names the
 * value ("" for the whole input). No size limit is applied to len: callers bound it.
 * Allocation is at most about 24 bytes per input byte. On failure *out is unspecified
 * and the zone may hold partial allocations (freed with the zone). */
jt_status_t jt_unpack_value(const uint8_t *data, size_t len, msgpack_zone *zone,
                            msgpack_object *out, jt_error_t *err);

/* One msgpack value of len bytes (a record, a validate reply) as JSON, a new reference, decoded
 * as jt_unpack_value does and converted by jt_value_to_json; NULL with *err filled when it is
 * not one well-formed value. */
json_t *jt_unpack_json(const void *data, size_t len, jt_error_t *err);

#endif
