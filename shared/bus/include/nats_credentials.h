/* nats_credentials.h -- NATS user and password from a private file, never from URL or environment.
 *
 * The file named by JOULETRACE_NATS_CREDENTIALS_FILE holds one line `user:password`
 * ('#' lines and blank lines are skipped). It must be a regular file that neither its group
 * nor others may read or write (chmod 600); anything else is refused. The password never
 * appears in an error, a log line or a redacted URL.
 *
 * Thread-safety: a loaded jt_nats_credentials_t is read-only; every function works on the
 * caller's storage only.
 */
#ifndef JT_NATS_CREDENTIALS_H
#define JT_NATS_CREDENTIALS_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define JT_NATS_CREDENTIALS_ENV "JOULETRACE_NATS_CREDENTIALS_FILE"
#define JT_NATS_CREDENTIALS_MAX_BYTES 4096 /* larger files are refused unread */
#define JT_NATS_USER_MAX 128               /* [A-Za-z0-9_.-] */
#define JT_NATS_PASSWORD_MAX 256           /* visible ASCII but '"' and '\' */

typedef struct {
    bool set; /* false: connect without credentials */
    char user[JT_NATS_USER_MAX + 1];
    char password[JT_NATS_PASSWORD_MAX + 1];
} jt_nats_credentials_t;

/* Read the credentials file at path into *c (wiped first). JT_ERR_CONFIG (path
 * JOULETRACE_NATS_CREDENTIALS_FILE) when it cannot be opened, is not a regular file, is
 * accessible to group or others, is larger than JT_NATS_CREDENTIALS_MAX_BYTES, or does not
 * hold exactly one valid `user:password` line; the message names the file and the fix, never
 * the password. On failure *c is left wiped (set = false). */
jt_status_t jt_nats_credentials_load(const char *path, jt_nats_credentials_t *c,
                                     jt_error_t *err);

/* Overwrite the password and user with zeros (safe on NULL). */
void jt_nats_credentials_wipe(jt_nats_credentials_t *c);

/* Whether any server of url (comma-separated list) carries "userinfo@" before its host:
 * a user, a token or user:password. */
bool jt_nats_url_has_userinfo(const char *url);

/* url with every "userinfo@" replaced by "***@" into out (NUL-terminated, cut to len). */
void jt_nats_url_redact(const char *url, char *out, size_t len);

/* What every program does at start, before it connects: load the file at path (NULL or ""
 * means none: *c unset) and check url against it. A URL with userinfo next to a credentials
 * file is refused (JT_ERR_CONFIG: credentials belong in the file only); a URL with userinfo
 * and no file is accepted with a warning logged (jt_log_warn) that says to move the password
 * into a file named by JOULETRACE_NATS_CREDENTIALS_FILE. */
jt_status_t jt_nats_auth_prepare(const char *url, const char *path, jt_nats_credentials_t *c,
                                 jt_error_t *err);

/* Put the user and password of c into opts (nothing when c is NULL or unset). */
natsStatus jt_nats_credentials_apply(natsOptions *opts, const jt_nats_credentials_t *c);

#endif
