/* webhook_sign.c -- the webhook signing secret from a private file; HMAC-SHA256 signatures
 * (libcrypto). */
#include "webhook_sign.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

#include "private_file.h"

#define ENV JT_WEBHOOK_SECRET_ENV

void jt_webhook_secret_wipe(jt_webhook_secret_t *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s, sizeof *s);
    s->set = false;
}

jt_status_t jt_webhook_secret_load(const char *path, jt_webhook_secret_t *s, jt_error_t *err)
{
    unsigned char buf[JT_WEBHOOK_SECRET_MAX + 2];
    size_t len = 0;
    if (s == NULL)
        return jt_error_set(err, JT_ERR_INVALID, ENV, "no secret to fill");
    jt_webhook_secret_wipe(s);
    if (path == NULL || path[0] == '\0')
        return jt_error_set(err, JT_ERR_CONFIG, ENV, "%s is not set", ENV);
    if (jt_private_file_read(path, ENV, "the webhook signing secret", buf, sizeof buf, &len, err) !=
        JT_OK)
        return JT_ERR_CONFIG;
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (len < JT_WEBHOOK_SECRET_MIN || len > JT_WEBHOOK_SECRET_MAX) {
        explicit_bzero(buf, sizeof buf);
        return jt_error_set(err, JT_ERR_CONFIG, ENV,
                            "%s=%s: the secret must be %d..%d bytes (one trailing newline "
                            "ignored); e.g. openssl rand -hex 32 > FILE",
                            ENV, path, JT_WEBHOOK_SECRET_MIN, JT_WEBHOOK_SECRET_MAX);
    }
    memcpy(s->key, buf, len);
    s->len = len;
    s->set = true;
    explicit_bzero(buf, sizeof buf);
    return JT_OK;
}

bool jt_webhook_sign(const jt_webhook_secret_t *s, const char *timestamp, const char *body,
                     size_t body_len, char out[JT_WEBHOOK_SIGNATURE_MAX])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    char digest[] = "SHA256";
    out[0] = '\0';
    if (s == NULL || !s->set || timestamp == NULL || (body == NULL && body_len > 0))
        return false;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    bool ok = ctx != NULL && EVP_MAC_init(ctx, s->key, s->len, params) == 1 &&
              EVP_MAC_update(ctx, (const unsigned char *)timestamp, strlen(timestamp)) == 1 &&
              EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
              (body_len == 0 || EVP_MAC_update(ctx, (const unsigned char *)body, body_len) == 1) &&
              EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) == 1 && mac_len == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    if (ok) {
        memcpy(out, "sha256=", 7);
        for (size_t i = 0; i < mac_len; i++)
            snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    }
    explicit_bzero(mac, sizeof mac);
    return ok;
}
