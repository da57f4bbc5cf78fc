/* ids.h -- identifiers of the gateway: task ids, request ids, Idempotency-Key hashes.
 *
 * Pure functions, callable from any thread.
 */
#ifndef JT_GW_IDS_H
#define JT_GW_IDS_H

#include <stdbool.h>
#include <stddef.h>

#include "task_state.h" /* JT_TASK_ID_MAX, jt_task_id_valid: the one task id rule */

#define JT_TASK_ID_HEX_LEN 32      /* ids generated here: 32 lowercase hex chars */
#define JT_REQUEST_ID_MAX 64       /* longest client X-Request-Id taken over */
#define JT_IDEMPOTENCY_KEY_MAX 256 /* longest Idempotency-Key header accepted */
#define JT_IDEMPOTENCY_HASH_LEN 32 /* FNV-1a 128 as lowercase hex */

/* A new task id: 32 lowercase hex chars of getrandom(2) (128 bits) into out,
 * NUL-terminated. Falls back to a time/counter mix only if getrandom fails. */
void jt_ids_task_id(char out[JT_TASK_ID_HEX_LEN + 1]);

/* A new request id: 16 lowercase hex chars (64 random bits) into out. */
void jt_ids_request_id(char out[17]);

/* Whether a client-supplied X-Request-Id may be echoed: 1..JT_REQUEST_ID_MAX
 * chars of [A-Za-z0-9._:-]. */
bool jt_ids_valid_request_id(const char *s);

/* Whether an Idempotency-Key header value is acceptable: 1..JT_IDEMPOTENCY_KEY_MAX
 * bytes of visible ASCII (0x21..0x7e) or space. */
bool jt_ids_valid_idempotency_key(const char *s);

/* FNV-1a, 128-bit variant (offset basis 0x6c62272e07bb014262b821756295c58d,
 * prime 2^88 + 0x13b), of len bytes as 32 lowercase hex chars. Used as the KV
 * key of an Idempotency-Key: KV keys allow few characters and the header
 * allows many. Not cryptographic: a client who wants to collide with another
 * client's key must know that key anyway. */
void jt_ids_fnv1a128_hex(const void *data, size_t len, char out[JT_IDEMPOTENCY_HASH_LEN + 1]);

#endif
