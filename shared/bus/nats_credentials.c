/* nats_credentials.c -- NATS user and password from a private file; URLs checked and redacted. */
#include "nats_credentials.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "private_file.h"

#define ENV JT_NATS_CREDENTIALS_ENV

void jt_nats_credentials_wipe(jt_nats_credentials_t *c)
{
    if (c == NULL)
        return;
    explicit_bzero(c, sizeof *c);
    c->set = false;
}

static bool user_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

/* Visible ASCII without the characters nats.c would have to escape in its CONNECT JSON. */
static bool password_char(char ch)
{
    return ch > ' ' && ch <= '~' && ch != '"' && ch != '\\';
}

/* One `user:password` line (n bytes, no newline) into *c; a reason (never the secret) in err. */
static jt_status_t parse_line(const char *path, int lineno, const char *s, size_t n,
                              jt_nats_credentials_t *c, jt_error_t *err)
{
    const char *colon = memchr(s, ':', n);
    if (colon == NULL)
        return jt_error_set(err, JT_ERR_CONFIG, ENV,
                            "%s=%s: line %d is not `user:password`", ENV, path, lineno);
    size_t ulen = (size_t)(colon - s), plen = n - ulen - 1;
    if (ulen == 0 || ulen > JT_NATS_USER_MAX)
        return jt_error_set(err, JT_ERR_CONFIG, ENV,
                            "%s=%s: line %d: the user must be 1..%d characters", ENV, path, lineno,
                            JT_NATS_USER_MAX);
    for (size_t i = 0; i < ulen; i++)
        if (!user_char(s[i]))
            return jt_error_set(err, JT_ERR_CONFIG, ENV,
                                "%s=%s: line %d: the user may hold only [A-Za-z0-9_.-]", ENV,
                                path, lineno);
    if (plen == 0 || plen > JT_NATS_PASSWORD_MAX)
        return jt_error_set(err, JT_ERR_CONFIG, ENV,
                            "%s=%s: line %d: the password must be 1..%d characters", ENV, path,
                            lineno, JT_NATS_PASSWORD_MAX);
    for (size_t i = 0; i < plen; i++)
        if (!password_char(colon[1 + i]))
            return jt_error_set(err, JT_ERR_CONFIG, ENV,
                                "%s=%s: line %d: the password may hold only visible ASCII "
                                "characters other than '\"' and '\\'",
                                ENV, path, lineno);
    memcpy(c->user, s, ulen);
    c->user[ulen] = '\0';
    memcpy(c->password, colon + 1, plen);
    c->password[plen] = '\0';
    c->set = true;
    return JT_OK;
}

/* The credential line of the file's text (len bytes): exactly one, besides '#' and blanks. */
static jt_status_t parse_text(const char *path, const char *text, size_t len,
                              jt_nats_credentials_t *c, jt_error_t *err)
{
    int lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;
        pos += n + (nl != NULL ? 1 : 0);
        lineno++;
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (n == 0 || s[0] == '#')
            continue;
        if (c->set)
            return jt_error_set(err, JT_ERR_CONFIG, ENV,
                                "%s=%s: line %d: only one `user:password` line is allowed", ENV,
                                path, lineno);
        jt_status_t st = parse_line(path, lineno, s, n, c, err);
        if (st != JT_OK)
            return st;
    }
    if (!c->set)
        return jt_error_set(err, JT_ERR_CONFIG, ENV, "%s=%s: no `user:password` line", ENV, path);
    return JT_OK;
}

jt_status_t jt_nats_credentials_load(const char *path, jt_nats_credentials_t *c,
                                     jt_error_t *err)
{
    char text[JT_NATS_CREDENTIALS_MAX_BYTES + 1];
    size_t len = 0;
    if (c == NULL)
        return jt_error_set(err, JT_ERR_INVALID, ENV, "no credentials to fill");
    jt_nats_credentials_wipe(c);
    if (path == NULL || path[0] == '\0')
        return jt_error_set(err, JT_ERR_CONFIG, ENV, "%s is empty", ENV);
    jt_status_t st = jt_private_file_read(path, ENV, "the NATS password", text,
                                          JT_NATS_CREDENTIALS_MAX_BYTES, &len, err);
    if (st != JT_OK) {
        explicit_bzero(text, sizeof text);
        return st;
    }
    if (memchr(text, '\0', len) != NULL)
        st = jt_error_set(err, JT_ERR_CONFIG, ENV, "%s=%s: holds a NUL byte", ENV, path);
    else
        st = parse_text(path, text, len, c, err);
    explicit_bzero(text, sizeof text);
    if (st != JT_OK)
        jt_nats_credentials_wipe(c);
    return st;
}

/* The bounds of one server of a URL list starting at p: [*auth, *end) is its authority
 * ("userinfo@host:port"), *next the start of the following server or NULL. */
static void server_bounds(const char *p, const char **auth, const char **end, const char **next)
{
    const char *comma = strchr(p, ',');
    const char *stop = comma != NULL ? comma : p + strlen(p);
    const char *scheme = strstr(p, "://");
    *auth = scheme != NULL && scheme < stop ? scheme + 3 : p;
    *end = *auth;
    while (*end < stop && **end != '/')
        (*end)++;
    *next = comma != NULL ? comma + 1 : NULL;
}

/* The last '@' of [auth, end), or NULL. */
static const char *userinfo_at(const char *auth, const char *end)
{
    const char *at = NULL;
    for (const char *q = auth; q < end; q++)
        if (*q == '@')
            at = q;
    return at;
}

bool jt_nats_url_has_userinfo(const char *url)
{
    for (const char *p = url; p != NULL && *p != '\0';) {
        const char *auth, *end, *next;
        server_bounds(p, &auth, &end, &next);
        if (userinfo_at(auth, end) != NULL)
            return true;
        p = next;
    }
    return false;
}

void jt_nats_url_redact(const char *url, char *out, size_t len)
{
    size_t o = 0;
    if (out == NULL || len == 0)
        return;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 < len)                                                                           \
            out[o++] = (ch);                                                                       \
    } while (0)
    for (const char *p = url; p != NULL && *p != '\0';) {
        const char *auth, *end, *next;
        server_bounds(p, &auth, &end, &next);
        const char *at = userinfo_at(auth, end);
        const char *stop = next != NULL ? next : p + strlen(p);
        for (const char *q = p; q < stop; q++) {
            if (at != NULL && q == auth) {
                for (const char *r = "***"; *r != '\0'; r++)
                    PUT(*r);
                q = at; /* the '@' itself is copied next */
            }
            PUT(*q);
        }
        p = next;
    }
#undef PUT
    out[o] = '\0';
}

jt_status_t jt_nats_auth_prepare(const char *url, const char *path, jt_nats_credentials_t *c,
                                 jt_error_t *err)
{
    char shown[512];
    if (c == NULL)
        return jt_error_set(err, JT_ERR_INVALID, ENV, "no credentials to fill");
    jt_nats_credentials_wipe(c);
    bool in_url = url != NULL && jt_nats_url_has_userinfo(url);
    if (path == NULL || path[0] == '\0') {
        if (in_url) {
            jt_nats_url_redact(url, shown, sizeof shown);
            jt_log_warn("JOULETRACE_NATS_URL (%s) carries credentials: every process that "
                        "inherits the environment can read them. Put `user:password` into a "
                        "file of mode 600 named by %s and drop them from the URL",
                        shown, ENV);
        }
        return JT_OK;
    }
    if (in_url) {
        jt_nats_url_redact(url, shown, sizeof shown);
        return jt_error_set(err, JT_ERR_CONFIG, "JOULETRACE_NATS_URL",
                            "JOULETRACE_NATS_URL (%s) carries credentials although %s is set: "
                            "keep them in the file only and remove `user:password@` from the URL",
                            shown, ENV);
    }
    return jt_nats_credentials_load(path, c, err);
}

natsStatus jt_nats_credentials_apply(natsOptions *opts, const jt_nats_credentials_t *c)
{
    if (c == NULL || !c->set)
        return NATS_OK;
    return natsOptions_SetUserInfo(opts, c->user, c->password);
}
