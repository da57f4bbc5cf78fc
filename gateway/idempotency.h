/* idempotency.h -- Idempotency-Key claims shared by task and batch submissions.
 *
 * An entry of the KV bucket JT_KV_IDEMPOTENCY maps the hash of (scope, header) to
 * "<id> <body hash>": the task or batch the first request created and the FNV-1a 128 of
 * that request's body. A later request with the same key and the same body bytes is a retry
 * (202 with the same id); with other bytes it is a client error (422
 * "idempotency_key_reused"). Entries written before body hashes were stored hold the id
 * alone and match any body. Callable from any thread.
 */
#ifndef JT_GW_IDEMPOTENCY_H
#define JT_GW_IDEMPOTENCY_H

#include <stddef.h>

#include <nats/nats.h>

#include "http.h"
#include "ids.h"

/* One request's claim: the KV key and the hash of its body. */
typedef struct {
    char key_hash[JT_IDEMPOTENCY_HASH_LEN + 1];  /* KV key: FNV-1a 128 of scope + header */
    char body_hash[JT_IDEMPOTENCY_HASH_LEN + 1]; /* FNV-1a 128 of the body bytes */
} jt_idem_t;

/* What the bucket holds for a claim. */
typedef enum {
    JT_IDEM_NONE,     /* no entry: the request is new */
    JT_IDEM_SAME,     /* an entry for the same body: a retry, the id is copied out */
    JT_IDEM_CONFLICT, /* an entry for another body: 422 */
    JT_IDEM_ERROR     /* the bucket failed or holds junk: 503 */
} jt_idem_found_t;

/* Fill *k from scope ("" for tasks, "batch:" for batches, so one header never names both),
 * the header value (NUL-terminated, at most JT_IDEMPOTENCY_KEY_MAX bytes) and the body. */
void jt_idem_init(jt_idem_t *k, const char *scope, const char *header, const void *body,
                  size_t body_len);

/* Look *k up; on JT_IDEM_SAME or JT_IDEM_CONFLICT the id of the entry is copied into id
 * (len bytes, at least JT_TASK_ID_MAX + 1). */
jt_idem_found_t jt_idem_lookup(kvStore *kv, const jt_idem_t *k, char *id, size_t len);

/* Claim *k for id (create-if-absent). JT_IDEM_NONE: claimed. Otherwise a concurrent request
 * claimed it first and the result is that of jt_idem_lookup (its id in other, len bytes). */
jt_idem_found_t jt_idem_claim(kvStore *kv, const jt_idem_t *k, const char *id, char *other,
                              size_t len);

/* Answer a lookup or claim that found another body or failed: 422 "idempotency_key_reused"
 * (field "Idempotency-Key", details.existing_id) for JT_IDEM_CONFLICT, else 503. */
void jt_idem_reply_refused(jt_req_t *req, jt_idem_found_t found, const char *existing_id);

/* Remove a claim whose submission failed, so that a retry starts over. */
void jt_idem_release(kvStore *kv, const jt_idem_t *k);

#endif
