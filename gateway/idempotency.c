/* idempotency.c -- Idempotency-Key entries "<id> <body hash>" in the KV bucket (idempotency.h). */
#include "idempotency.h"

#include <stdio.h>
#include <string.h>

#include "gateway.h"

void jt_idem_init(jt_idem_t *k, const char *scope, const char *header, const void *body,
                  size_t body_len)
{
    char scoped[64 + JT_IDEMPOTENCY_KEY_MAX + 1];
    int n = snprintf(scoped, sizeof scoped, "%s%s", scope, header);
    size_t used = n < 0 ? 0 : (size_t)n < sizeof scoped ? (size_t)n : sizeof scoped - 1;
    jt_ids_fnv1a128_hex(scoped, used, k->key_hash);
    jt_ids_fnv1a128_hex(body != NULL ? body : "", body != NULL ? body_len : 0, k->body_hash);
}

jt_idem_found_t jt_idem_lookup(kvStore *kv, const jt_idem_t *k, char *id, size_t len)
{
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, kv, k->key_hash);
    if (s == NATS_NOT_FOUND)
        return JT_IDEM_NONE;
    if (s != NATS_OK)
        return JT_IDEM_ERROR;
    /* "<id> <body hash>", or "<id>" alone from before body hashes were kept. */
    char value[JT_TASK_ID_MAX + JT_IDEMPOTENCY_HASH_LEN + 2];
    int n = kvEntry_ValueLen(e);
    jt_idem_found_t found = JT_IDEM_ERROR;
    if (n > 0 && (size_t)n < sizeof value) {
        memcpy(value, kvEntry_Value(e), (size_t)n);
        value[n] = '\0';
        char *space = strchr(value, ' ');
        if (space != NULL)
            *space = '\0';
        if (jt_task_id_valid(value) && strlen(value) < len) {
            snprintf(id, len, "%s", value);
            found = space == NULL || strcmp(space + 1, k->body_hash) == 0 ? JT_IDEM_SAME
                                                                          : JT_IDEM_CONFLICT;
        }
    }
    kvEntry_Destroy(e);
    return found;
}

jt_idem_found_t jt_idem_claim(kvStore *kv, const jt_idem_t *k, const char *id, char *other,
                              size_t len)
{
    char value[JT_TASK_ID_MAX + JT_IDEMPOTENCY_HASH_LEN + 2];
    int n = snprintf(value, sizeof value, "%s %s", id, k->body_hash);
    uint64_t rev = 0;
    if (n > 0 && (size_t)n < sizeof value &&
        kvStore_Create(&rev, kv, k->key_hash, value, n) == NATS_OK)
        return JT_IDEM_NONE;
    jt_idem_found_t found = jt_idem_lookup(kv, k, other, len);
    return found == JT_IDEM_NONE ? JT_IDEM_ERROR : found; /* failed, yet nothing there */
}

void jt_idem_release(kvStore *kv, const jt_idem_t *k)
{
    kvStore_Delete(kv, k->key_hash);
}

void jt_idem_reply_refused(jt_req_t *req, jt_idem_found_t found, const char *existing_id)
{
    if (found != JT_IDEM_CONFLICT) {
        jt_gw_reply_nats_down(req);
        return;
    }
    jt_http_reply_error(req, 422, "idempotency_key_reused", "Idempotency-Key",
                        json_pack("{s:s}", "existing_id", existing_id),
                        "this Idempotency-Key was first sent with another body; a retry must "
                        "send the same bytes, a new request a new key");
}
