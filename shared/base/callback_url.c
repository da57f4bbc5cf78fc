/* callback_url.c -- webhook target URLs parsed strictly, normalised, and judged against the
 * allowlist. */
#include "callback_url.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define URL_PATH "callback_url"
#define ALLOW_ENV "JOULETRACE_CALLBACK_ALLOW"
#define LABEL_MAX 63

/* One allowlist entry, normalised. */
typedef struct {
    bool any_scheme; /* host[:port] form: http and https */
    bool https;      /* URL form: its scheme */
    bool wildcard;   /* "*.domain": hosts strictly below host */
    bool ipv6;
    char host[JT_CALLBACK_HOST_MAX + 1];
    int port;                             /* 0: the scheme's default */
    char prefix[JT_CALLBACK_URL_MAX + 1]; /* normalised path, without a trailing '/' ("" = any) */
} allow_entry_t;

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 pchar without pct-encoded (handled apart): unreserved, sub-delims, ':' and '@'. */
static bool is_pchar(char c)
{
    return is_unreserved(c) || strchr("!$&'()*+,;=:@", c) != NULL;
}

/* Whether s (n bytes) is a plain dotted quad: four decimal parts 0..255, no leading zeros. */
static bool is_dotted_quad(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;
    while (i <= n) {
        size_t start = i;
        int value = 0;
        while (i < n && is_digit(s[i])) {
            value = value * 10 + (s[i] - '0');
            if (i - start >= 3)
                return false;
            i++;
        }
        size_t len = i - start;
        if (len == 0 || value > 255 || (len > 1 && s[start] == '0'))
            return false;
        parts++;
        if (i == n)
            break;
        if (s[i] != '.')
            return false;
        i++;
    }
    return parts == 4;
}

/* A DNS name or IPv4 host (n bytes, no brackets) into host: lower case, one trailing dot
 * dropped, labels of letters, digits and inner '-', numeric forms only as dotted quads. */
static jt_status_t parse_name(const char *s, size_t n, const char *path, char *host,
                              jt_error_t *err)
{
    if (n > 0 && s[n - 1] == '.')
        n--; /* "example.com." names the same host */
    if (n == 0)
        return jt_error_set(err, JT_ERR_INVALID, path, "the host is empty");
    if (n > JT_CALLBACK_HOST_MAX)
        return jt_error_set(err, JT_ERR_INVALID, path, "the host is longer than %u bytes",
                            JT_CALLBACK_HOST_MAX);
    size_t label_start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            size_t len = i - label_start;
            if (len == 0)
                return jt_error_set(err, JT_ERR_INVALID, path, "the host has an empty label");
            if (len > LABEL_MAX)
                return jt_error_set(err, JT_ERR_INVALID, path,
                                    "a label of the host is longer than %d bytes", LABEL_MAX);
            if (s[label_start] == '-' || s[i - 1] == '-')
                return jt_error_set(err, JT_ERR_INVALID, path,
                                    "a label of the host starts or ends with '-'");
            label_start = i + 1;
            if (i < n)
                host[i] = '.';
            continue;
        }
        char c = s[i];
        if (c == '%')
            return jt_error_set(err, JT_ERR_INVALID, path,
                                "percent-encoding is not allowed in the host");
        if (!is_alpha(c) && !is_digit(c) && c != '-')
            return jt_error_set(err, JT_ERR_INVALID, path,
                                "the host may hold only letters, digits, '-' and '.' (got "
                                "character 0x%02x)",
                                (unsigned)(unsigned char)c);
        host[i] = lower(c);
    }
    host[n] = '\0';
    /* Resolvers read 127.1, 0x7f.0.0.1, 2130706433 and 0177.0.0.1 as IPv4 addresses: a
     * numeric-looking host must be the one unambiguous form. */
    const char *last = strrchr(host, '.');
    last = last != NULL ? last + 1 : host;
    bool numeric = true;
    for (const char *p = last; *p != '\0'; p++)
        numeric = numeric && is_digit(*p);
    bool hex = last[0] == '0' && last[1] == 'x';
    if ((numeric || hex) && !is_dotted_quad(host, n))
        return jt_error_set(err, JT_ERR_INVALID, path,
                            "a numeric host must be a dotted quad like 192.0.2.1 (no short, "
                            "octal, hexadecimal or decimal forms)");
    return JT_OK;
}

/* "[v6]" (n bytes, brackets included) into host: its canonical text, no zone id. */
static jt_status_t parse_ipv6(const char *s, size_t n, const char *path, char *host,
                              jt_error_t *err)
{
    char text[64];
    unsigned char addr[16];
    if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof text)
        return jt_error_set(err, JT_ERR_INVALID, path, "malformed IPv6 literal");
    memcpy(text, s + 1, n - 2);
    text[n - 2] = '\0';
    if (strchr(text, '%') != NULL)
        return jt_error_set(err, JT_ERR_INVALID, path, "IPv6 zone ids are not allowed");
    if (inet_pton(AF_INET6, text, addr) != 1)
        return jt_error_set(err, JT_ERR_INVALID, path, "malformed IPv6 literal");
    if (inet_ntop(AF_INET6, addr, host, JT_CALLBACK_HOST_MAX + 1) == NULL)
        return jt_error_set(err, JT_ERR_INVALID, path, "malformed IPv6 literal");
    return JT_OK;
}

/* host[:port] (n bytes) into host, *ipv6, *port (0 when not given); "*." first sets *wildcard
 * when wildcard is not NULL, and is refused otherwise. */
static jt_status_t parse_authority(const char *s, size_t n, const char *path, char *host,
                                   bool *ipv6, int *port, bool *wildcard, jt_error_t *err)
{
    if (memchr(s, '@', n) != NULL)
        return jt_error_set(err, JT_ERR_INVALID, path,
                            "userinfo (\"user@\") is not allowed in a callback URL");
    if (n == 0)
        return jt_error_set(err, JT_ERR_INVALID, path, "the host is empty");
    size_t host_len = n;
    *port = 0;
    *ipv6 = s[0] == '[';
    const char *colon = NULL;
    if (*ipv6) {
        const char *close = memchr(s, ']', n);
        if (close == NULL)
            return jt_error_set(err, JT_ERR_INVALID, path, "malformed IPv6 literal");
        host_len = (size_t)(close - s) + 1;
        if (host_len < n) {
            if (s[host_len] != ':')
                return jt_error_set(err, JT_ERR_INVALID, path, "malformed IPv6 literal");
            colon = s + host_len;
        }
    } else {
        colon = memchr(s, ':', n);
        if (colon != NULL)
            host_len = (size_t)(colon - s);
    }
    if (colon != NULL) {
        const char *p = colon + 1;
        size_t digits = n - (size_t)(p - s);
        long value = 0;
        if (digits == 0 || digits > 5)
            return jt_error_set(err, JT_ERR_INVALID, path, "the port must be 1..65535");
        for (size_t i = 0; i < digits; i++) {
            if (!is_digit(p[i]))
                return jt_error_set(err, JT_ERR_INVALID, path, "the port must be 1..65535");
            value = value * 10 + (p[i] - '0');
        }
        if (value < 1 || value > 65535)
            return jt_error_set(err, JT_ERR_INVALID, path, "the port must be 1..65535");
        *port = (int)value;
    }
    if (*ipv6)
        return parse_ipv6(s, host_len, path, host, err);
    if (host_len >= 2 && s[0] == '*' && s[1] == '.') {
        if (wildcard == NULL)
            return jt_error_set(err, JT_ERR_INVALID, path, "'*' is not allowed in a host");
        *wildcard = true;
        s += 2;
        host_len -= 2;
        jt_status_t st = parse_name(s, host_len, path, host, err);
        if (st == JT_OK && is_dotted_quad(host, strlen(host)))
            return jt_error_set(err, JT_ERR_INVALID, path, "'*.' must precede a domain name");
        return st;
    }
    return parse_name(s, host_len, path, host, err);
}

/* Path (s, n bytes, starting with '/' or empty) normalised into out (cap bytes): "%XX" of an
 * unreserved character decoded, others upper case; encoded '/', '\', NUL and dot segments
 * refused. Returns its length through *len. */
static jt_status_t normalise_path(const char *s, size_t n, const char *path, char *out, size_t cap,
                                  size_t *len, jt_error_t *err)
{
    size_t k = 0;
    if (n == 0)
        s = "/", n = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (k + 4 > cap)
            return jt_error_set(err, JT_ERR_TOO_LARGE, path, "the URL is too long");
        if (c == '%') {
            int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return jt_error_set(err, JT_ERR_INVALID, path,
                                    "'%%' in the path must be followed by two hex digits");
            char v = (char)(hi * 16 + lo);
            if (v == '/' || v == '\\' || v == '\0')
                return jt_error_set(err, JT_ERR_INVALID, path,
                                    "an encoded '/', '\\' or NUL is not allowed in the path");
            if (is_unreserved(v)) {
                out[k++] = v;
            } else {
                snprintf(out + k, 4, "%%%02X", (unsigned)(unsigned char)v);
                k += 3;
            }
            i += 2;
        } else if (c == '/' || is_pchar(c)) {
            out[k++] = c;
        } else {
            return jt_error_set(err, JT_ERR_INVALID, path,
                                "character 0x%02x is not allowed in the path",
                                (unsigned)(unsigned char)c);
        }
    }
    out[k] = '\0';
    /* "." and ".." segments: curl and the receiver would resolve them into another path. */
    for (size_t i = 0; i < k;) {
        size_t j = i + 1;
        while (j < k && out[j] != '/')
            j++;
        size_t seg = j - i - 1;
        if ((seg == 1 && out[i + 1] == '.') || (seg == 2 && out[i + 1] == '.' && out[i + 2] == '.'))
            return jt_error_set(err, JT_ERR_INVALID, path,
                                "'.' and '..' path segments are not allowed");
        i = j;
    }
    *len = k;
    return JT_OK;
}

/* The query (s, n bytes, after '?') checked and appended at out[k]: pchar, '/', '?', "%XX". */
static jt_status_t append_query(const char *s, size_t n, const char *path, char *out, size_t cap,
                                size_t k, jt_error_t *err)
{
    if (k + 1 + n + 1 > cap)
        return jt_error_set(err, JT_ERR_TOO_LARGE, path, "the URL is too long");
    out[k++] = '?';
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0)
                return jt_error_set(err, JT_ERR_INVALID, path,
                                    "'%%' in the query must be followed by two hex digits");
            out[k++] = '%';
            out[k++] = (char)(s[i + 1] >= 'a' ? s[i + 1] - 'a' + 'A' : s[i + 1]);
            out[k++] = (char)(s[i + 2] >= 'a' ? s[i + 2] - 'a' + 'A' : s[i + 2]);
            i += 2;
        } else if (c == '/' || c == '?' || is_pchar(c)) {
            out[k++] = c;
        } else {
            return jt_error_set(err, JT_ERR_INVALID, path,
                                "character 0x%02x is not allowed in the query",
                                (unsigned)(unsigned char)c);
        }
    }
    out[k] = '\0';
    return JT_OK;
}

/* "http://" or "https://" at the start of s (any case): its length, or 0. */
static size_t scheme_length(const char *s, bool *https)
{
    if (strncasecmp(s, "http://", 7) == 0) {
        *https = false;
        return 7;
    }
    if (strncasecmp(s, "https://", 8) == 0) {
        *https = true;
        return 8;
    }
    return 0;
}

/* The canonical text of u into buf (len bytes; buf may be NULL when len is 0): snprintf's
 * count of the bytes it needs, without the NUL. */
static int format_url(const jt_callback_url_t *u, char *buf, size_t len)
{
    bool default_port = u->port == (u->https ? 443 : 80);
    char port[8] = "";
    if (!default_port)
        snprintf(port, sizeof port, ":%d", u->port);
    return snprintf(buf, len, "%s://%s%s%s%s%s", u->https ? "https" : "http", u->ipv6 ? "[" : "",
                    u->host, u->ipv6 ? "]" : "", port, u->target);
}

/* url (already NUL-terminated and bounded) into *u; wildcard as in parse_authority. The
 * canonical form is bounded like the URL itself: normalising can lengthen a URL (an empty path
 * becomes "/"), and a canonical form that would not parse again must not be stored. */
static jt_status_t parse_url(const char *url, const char *path, jt_callback_url_t *u,
                             bool *wildcard, jt_error_t *err)
{
    size_t n = strlen(url);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f)
            return jt_error_set(err, JT_ERR_INVALID, path,
                                "the URL may hold only visible ASCII characters (got 0x%02x)", c);
        if (c == '\\')
            return jt_error_set(err, JT_ERR_INVALID, path, "'\\' is not allowed in a URL");
        if (c == '#')
            return jt_error_set(err, JT_ERR_INVALID, path, "a fragment ('#') is not allowed");
    }
    memset(u, 0, sizeof *u);
    size_t at = scheme_length(url, &u->https);
    if (at == 0)
        return jt_error_set(err, JT_ERR_INVALID, path,
                            "must be an absolute http:// or https:// URL");
    const char *auth = url + at;
    size_t auth_len = strcspn(auth, "/?");
    jt_status_t st =
        parse_authority(auth, auth_len, path, u->host, &u->ipv6, &u->port, wildcard, err);
    if (st != JT_OK)
        return st;
    if (u->port == 0)
        u->port = u->https ? 443 : 80;
    const char *rest = auth + auth_len;
    size_t path_len = strcspn(rest, "?");
    st = normalise_path(rest, path_len, path, u->target, sizeof u->target, &u->path_len, err);
    if (st != JT_OK)
        return st;
    if (rest[path_len] == '?')
        st = append_query(rest + path_len + 1, strlen(rest + path_len + 1), path, u->target,
                          sizeof u->target, u->path_len, err);
    if (st == JT_OK && format_url(u, NULL, 0) > (int)JT_CALLBACK_URL_MAX)
        return jt_error_set(err, JT_ERR_TOO_LARGE, path,
                            "the URL's canonical form is longer than %u bytes",
                            JT_CALLBACK_URL_MAX);
    return st;
}

jt_status_t jt_callback_url_parse(const char *url, jt_callback_url_t *out, jt_error_t *err)
{
    if (url == NULL)
        return jt_error_set(err, JT_ERR_INVALID, URL_PATH, "no URL");
    if (strnlen(url, JT_CALLBACK_URL_MAX + 1) > JT_CALLBACK_URL_MAX)
        return jt_error_set(err, JT_ERR_TOO_LARGE, URL_PATH, "the URL is longer than %u bytes",
                            JT_CALLBACK_URL_MAX);
    return parse_url(url, URL_PATH, out, NULL, err);
}

size_t jt_callback_url_format(const jt_callback_url_t *u, char *buf, size_t len)
{
    int n = format_url(u, buf, len);
    if (n < 0 || (size_t)n >= len) {
        if (len > 0)
            buf[0] = '\0';
        return 0;
    }
    return (size_t)n;
}

/* One entry (s, n bytes, trimmed, not empty) into *e. */
static jt_status_t parse_entry(const char *s, size_t n, allow_entry_t *e, jt_error_t *err)
{
    char text[JT_CALLBACK_ALLOW_MAX + 1];
    memset(e, 0, sizeof *e);
    memcpy(text, s, n);
    text[n] = '\0';
    bool https = false;
    if (strstr(text, "://") != NULL) {
        if (scheme_length(text, &https) == 0)
            return jt_error_set(err, JT_ERR_INVALID, ALLOW_ENV,
                                "only http:// and https:// URLs can be allowed");
        if (strchr(text, '?') != NULL)
            return jt_error_set(err, JT_ERR_INVALID, ALLOW_ENV,
                                "an allowed URL prefix may not hold a query");
        jt_callback_url_t u;
        jt_status_t st = parse_url(text, ALLOW_ENV, &u, &e->wildcard, err);
        if (st != JT_OK)
            return st;
        e->https = u.https;
        e->ipv6 = u.ipv6;
        e->port = u.port;
        memcpy(e->host, u.host, sizeof e->host);
        size_t plen = u.path_len;
        while (plen > 0 && u.target[plen - 1] == '/')
            plen--;
        memcpy(e->prefix, u.target, plen);
        e->prefix[plen] = '\0';
        return JT_OK;
    }
    if (strpbrk(text, "/?#") != NULL)
        return jt_error_set(err, JT_ERR_INVALID, ALLOW_ENV,
                            "a path needs the URL form (http[s]://host[:port]/path)");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
            return jt_error_set(err, JT_ERR_INVALID, ALLOW_ENV,
                                "only visible ASCII characters are allowed");
    e->any_scheme = true;
    return parse_authority(text, n, ALLOW_ENV, e->host, &e->ipv6, &e->port, &e->wildcard, err);
}

/* Calls fn(entry, ctx) for every entry of list until it returns true; JT_ERR_CONFIG on a
 * malformed entry (err names it). *matched tells whether fn returned true. */
static jt_status_t each_entry(const char *list, bool (*fn)(const allow_entry_t *, void *),
                              void *ctx, bool *matched, jt_error_t *err)
{
    allow_entry_t e;
    *matched = false;
    if (list == NULL)
        return JT_OK;
    if (strlen(list) > JT_CALLBACK_ALLOW_MAX)
        return jt_error_set(err, JT_ERR_CONFIG, ALLOW_ENV, "%s is longer than %d bytes", ALLOW_ENV,
                            JT_CALLBACK_ALLOW_MAX);
    int index = 0;
    for (const char *p = list; *p != '\0';) {
        size_t n = strcspn(p, ",");
        const char *s = p;
        p += n + (p[n] == ',' ? 1 : 0);
        while (n > 0 && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0)
            continue;
        index++;
        jt_error_t why;
        if (parse_entry(s, n, &e, &why) != JT_OK)
            return jt_error_set(err, JT_ERR_CONFIG, ALLOW_ENV, "%s: entry %d (\"%.*s\"): %s",
                                ALLOW_ENV, index, (int)(n > 200 ? 200 : n), s, why.message);
        if (fn != NULL && fn(&e, ctx)) {
            *matched = true;
            return JT_OK;
        }
    }
    return JT_OK;
}

jt_status_t jt_callback_allow_validate(const char *allow_list, jt_error_t *err)
{
    bool matched;
    return each_entry(allow_list, NULL, NULL, &matched, err);
}

/* Whether entry e allows the parsed URL ctx. */
static bool entry_allows(const allow_entry_t *e, void *ctx)
{
    const jt_callback_url_t *u = ctx;
    if (!e->any_scheme && e->https != u->https)
        return false;
    int port = e->port != 0 ? e->port : (u->https ? 443 : 80);
    if (port != u->port)
        return false;
    if (e->wildcard) {
        size_t hn = strlen(u->host), dn = strlen(e->host);
        if (u->ipv6 || is_dotted_quad(u->host, hn) || hn <= dn + 1 || u->host[hn - dn - 1] != '.' ||
            strcmp(u->host + hn - dn, e->host) != 0)
            return false;
    } else if (e->ipv6 != u->ipv6 || strcmp(e->host, u->host) != 0) {
        return false;
    }
    size_t pn = strlen(e->prefix);
    if (pn == 0)
        return true;
    if (u->path_len < pn || memcmp(u->target, e->prefix, pn) != 0)
        return false;
    return u->path_len == pn || u->target[pn] == '/';
}

jt_status_t jt_callback_url_check_canonical(const char *allow_list, const char *url,
                                            char *canonical, size_t len, jt_error_t *err)
{
    jt_callback_url_t u;
    jt_status_t st = jt_callback_url_parse(url, &u, err);
    if (st != JT_OK)
        return st;
    bool matched = false;
    jt_error_t cfg;
    if (each_entry(allow_list, entry_allows, &u, &matched, &cfg) != JT_OK)
        return jt_error_set(err, JT_ERR_INVALID, URL_PATH,
                            "callbacks are unavailable: the deployment's %s is malformed",
                            ALLOW_ENV);
    if (!matched)
        return jt_error_set(err, JT_ERR_INVALID, URL_PATH,
                            allow_list == NULL || allow_list[strspn(allow_list, " \t,")] == '\0'
                                ? "callbacks are not enabled on this deployment (%s is empty)"
                                : "the URL is not in the deployment's allowlist (%s)",
                            ALLOW_ENV);
    if (canonical != NULL && jt_callback_url_format(&u, canonical, len) == 0)
        return jt_error_set(err, JT_ERR_TOO_LARGE, URL_PATH, "the URL is too long");
    return JT_OK;
}

jt_status_t jt_callback_url_check(const char *allow_list, const char *url, jt_error_t *err)
{
    return jt_callback_url_check_canonical(allow_list, url, NULL, 0, err);
}
