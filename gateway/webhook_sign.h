/* webhook_sign.h -- the webhook signing secret (a private file) and the HMAC-SHA256 signature.
 *
 * The secret comes from the file named by JOULETRACE_CALLBACK_SECRET_FILE: a regular file that
 * neither its group nor others may read or write (chmod 600), JT_WEBHOOK_SECRET_MIN..
 * JT_WEBHOOK_SECRET_MAX bytes once one trailing newline (and '\r') is dropped; its bytes are the
 * HMAC key as they are. Receivers verify
 *     X-JouleTrace-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>
 * with timestamp the X-JouleTrace-Timestamp header (Unix seconds) and body the raw request body
 * (docs/webhooks.md). The secret never appears in an error or a log line.
 *
 * Thread-safety: a loaded jt_webhook_secret_t is read-only; every function works on the caller's
 * storage only.
 */
#ifndef JT_GW_WEBHOOK_SIGN_H
#define JT_GW_WEBHOOK_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define JT_WEBHOOK_SECRET_ENV "JOULETRACE_CALLBACK_SECRET_FILE"
#define JT_WEBHOOK_SECRET_MIN 16
#define JT_WEBHOOK_SECRET_MAX 1024
#define JT_WEBHOOK_SIGNATURE_MAX 72 /* "sha256=" + 64 hex digits + NUL */

typedef struct {
    bool set;
    size_t len;
    unsigned char key[JT_WEBHOOK_SECRET_MAX];
} jt_webhook_secret_t;

/* Read the secret file at path into *s (wiped first). JT_ERR_CONFIG (path
 * JOULETRACE_CALLBACK_SECRET_FILE) when it cannot be opened, is not a regular file, is
 * accessible to group or others, or its secret is shorter than JT_WEBHOOK_SECRET_MIN or longer
 * than JT_WEBHOOK_SECRET_MAX bytes; the message names the file and the fix, never the secret.
 * On failure *s is left wiped (set = false). */
jt_status_t jt_webhook_secret_load(const char *path, jt_webhook_secret_t *s, jt_error_t *err);

/* Overwrite the secret with zeros (safe on NULL). */
void jt_webhook_secret_wipe(jt_webhook_secret_t *s);

/* "sha256=<64 lower-case hex digits>" of HMAC-SHA256(key, timestamp "." body) into out
 * (JT_WEBHOOK_SIGNATURE_MAX bytes). Returns false (out "") when the secret is not set or the
 * HMAC fails. */
bool jt_webhook_sign(const jt_webhook_secret_t *s, const char *timestamp, const char *body,
                     size_t body_len, char out[JT_WEBHOOK_SIGNATURE_MAX]);

#endif
