/* callback_url.h -- webhook target URLs: a strict parser and the JOULETRACE_CALLBACK_ALLOW
 * allowlist.
 *
 * A callback URL is absolute http or https, at most JT_CALLBACK_URL_MAX bytes of visible ASCII:
 *     scheme "://" host [":" port] [path] ["?" query]
 * Refused outright: userinfo ("user@", any '@' before the path), percent-encoding or anything
 * but letters, digits, '-' and '.' in a host name, empty labels, numeric hosts that are not a
 * plain dotted quad (127.1, 0x7f.0.0.1, 2130706433, 0177.0.0.1: resolvers read them as IPv4),
 * IPv6 zone ids, an empty or out-of-range port, a fragment, '\', spaces and other characters
 * RFC 3986 does not allow, malformed "%XX", an encoded '/', '\' or NUL in the path, and "." or
 * ".." path segments (also encoded: curl and receivers would resolve them into another path).
 * Normalised: scheme and host in lower case, one trailing dot of the host dropped, IPv6 in its
 * canonical text, the port made explicit, "%XX" of unreserved characters decoded and the other
 * ones in upper case, an empty path as "/". The canonical form (jt_callback_url_format) is what
 * gets requested, so the service connects to exactly what the allowlist judged.
 *
 * JOULETRACE_CALLBACK_ALLOW is a comma-separated list (blanks around entries ignored; empty:
 * no callback is allowed) of
 *     http[s]://host[:port][/path-prefix]   that scheme, host and port (default 80/443), and a
 *                                           path equal to the prefix or below it: "/hooks" and
 *                                           "/hooks/" both allow "/hooks/a", never "/hooksx"
 *     host[:port]                           http and https to that host, on that port (without
 *                                           one: 80 for http, 443 for https), any path
 *     *.domain[:port]                       the same for every host below domain (not domain
 *                                           itself, never an IP literal)
 * host is a DNS name, a dotted quad or a bracketed IPv6 literal; entries are normalised like
 * URLs, and compared with a URL's parts, never with its text.
 *
 * Pure functions on caller storage; any thread.
 */
#ifndef JT_CALLBACK_URL_H
#define JT_CALLBACK_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define JT_CALLBACK_URL_MAX 2048u  /* bytes of a callback URL (JT_MAX_CALLBACK_URL_BYTES) */
#define JT_CALLBACK_HOST_MAX 253u  /* a DNS name without its trailing dot */
#define JT_CALLBACK_ALLOW_MAX 4096 /* bytes of JOULETRACE_CALLBACK_ALLOW */

/* A parsed, normalised callback URL. */
typedef struct {
    bool https;                           /* else http */
    bool ipv6;                            /* host is an IPv6 literal (without brackets) */
    char host[JT_CALLBACK_HOST_MAX + 1];  /* lower case, no trailing dot */
    int port;                             /* 1..65535, the scheme's default when not given */
    char target[JT_CALLBACK_URL_MAX + 1]; /* normalised path, then "?query" when present */
    size_t path_len;                      /* bytes of target before the '?' */
} jt_callback_url_t;

/* Parse and normalise url into *out. JT_OK, or JT_ERR_INVALID (JT_ERR_TOO_LARGE above
 * JT_CALLBACK_URL_MAX bytes, or when its canonical form would be) with err (path
 * "callback_url") saying why; *out is then unspecified. */
jt_status_t jt_callback_url_parse(const char *url, jt_callback_url_t *out, jt_error_t *err);

/* The canonical text of u ("https://host:port/path?query", IPv6 in brackets) into buf.
 * Returns its length, or 0 when buf (len bytes) is too small (buf then holds ""). A buffer of
 * JT_CALLBACK_URL_MAX + 64 bytes always suffices. */
size_t jt_callback_url_format(const jt_callback_url_t *u, char *buf, size_t len);

/* Whether allow_list is well formed: JT_OK (also for NULL or ""), else JT_ERR_CONFIG (path
 * JOULETRACE_CALLBACK_ALLOW) naming the first bad entry and why. */
jt_status_t jt_callback_allow_validate(const char *allow_list, jt_error_t *err);

/* Whether url may be called back under allow_list: JT_OK, or an error (path "callback_url")
 * whose message says why: JT_ERR_INVALID for a malformed URL or one that no entry allows
 * (also when allow_list is NULL, empty or malformed), JT_ERR_TOO_LARGE above
 * JT_CALLBACK_URL_MAX bytes. The message never quotes the allowlist. */
jt_status_t jt_callback_url_check(const char *allow_list, const char *url, jt_error_t *err);

/* jt_callback_url_check that also writes the canonical URL (jt_callback_url_format) into
 * canonical (len bytes; may be NULL) when the URL is allowed. */
jt_status_t jt_callback_url_check_canonical(const char *allow_list, const char *url,
                                            char *canonical, size_t len, jt_error_t *err);

#endif
