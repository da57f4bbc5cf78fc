/* door.c -- the gateway's front door: CORS origin list, bearer tokens, JSON-only bodies. */
#include "door.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define ORIGINS_ENV "JOULETRACE_CORS_ORIGINS"
#define ORIGIN_ALIAS_ENV "JOULETRACE_CORS_ORIGIN"
#define TOKENS_ENV "JOULETRACE_API_TOKENS"
#define TOKENS_FILE_ENV "JOULETRACE_API_TOKENS_FILE"
#define REQUIRE_ENV "JOULETRACE_REQUIRE_TOKENS_BEYOND_LOOPBACK"

/* [s, s+n) without leading and trailing blanks. */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static int add_origin(jt_door_t *door, const char *s, size_t n, char *why, size_t why_len)
{
    trim(&s, &n);
    if (n == 0)
        return 0;
    if (n == 1 && s[0] == '*') {
        snprintf(why, why_len, "%s: \"*\" is refused: list the exact origins allowed", ORIGINS_ENV);
        return -1;
    }
    bool ok = n < JT_DOOR_ORIGIN_LEN && door->n_origins < JT_DOOR_ORIGINS_MAX &&
              (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] > 0x20 && s[i] < 0x7f && s[i] != '*';
    if (!ok) {
        snprintf(why, why_len,
                 "%s must list at most %d exact origins such as https://a.example,"
                 "https://b.example (scheme://host[:port], no '*', no spaces)",
                 ORIGINS_ENV, JT_DOOR_ORIGINS_MAX);
        return -1;
    }
    memcpy(door->origins[door->n_origins], s, n);
    door->origins[door->n_origins][n] = '\0';
    door->n_origins++;
    return 0;
}

static int load_origins(jt_door_t *door, char *why, size_t why_len)
{
    const char *list = getenv(ORIGINS_ENV);
    if (list == NULL || list[0] == '\0')
        list = getenv(ORIGIN_ALIAS_ENV); /* the former one-origin setting */
    if (list == NULL)
        return 0;
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (add_origin(door, p, n, why, why_len) != 0)
            return -1;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

/* Add one token; where says where it came from (never the token itself). */
static int add_token(jt_door_t *door, const char *s, size_t n, const char *where, char *why,
                     size_t why_len)
{
    trim(&s, &n);
    if (n == 0)
        return 0;
    if (door->n_tokens >= JT_DOOR_TOKENS_MAX) {
        snprintf(why, why_len, "%s: more than %d tokens", where, JT_DOOR_TOKENS_MAX);
        return -1;
    }
    bool ok = n >= JT_DOOR_TOKEN_MIN && n <= JT_DOOR_TOKEN_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] > 0x20 && s[i] < 0x7f;
    if (!ok) {
        snprintf(why, why_len, "%s: token %d is not %d..%d characters of visible ASCII (no spaces)",
                 where, door->n_tokens + 1, JT_DOOR_TOKEN_MIN, JT_DOOR_TOKEN_MAX);
        return -1;
    }
    memcpy(door->tokens[door->n_tokens], s, n);
    door->tokens[door->n_tokens][n] = '\0';
    door->token_len[door->n_tokens] = n;
    door->n_tokens++;
    return 0;
}

static int load_token_list(jt_door_t *door, char *why, size_t why_len)
{
    const char *list = getenv(TOKENS_ENV);
    if (list == NULL || list[0] == '\0') /* set but empty: none, as unset */
        return 0;
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (add_token(door, p, n, TOKENS_ENV, why, why_len) != 0)
            return -1;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

static int load_token_file(jt_door_t *door, char *why, size_t why_len)
{
    const char *path = getenv(TOKENS_FILE_ENV);
    struct stat st;
    char line[JT_DOOR_TOKEN_MAX + 64];
    if (path == NULL || path[0] == '\0')
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(why, why_len, "%s=%s: cannot open: %s", TOKENS_FILE_ENV, path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        snprintf(why, why_len, "%s=%s: not a regular file", TOKENS_FILE_ENV, path);
        return -1;
    }
    if ((st.st_mode & S_IROTH) != 0) {
        fclose(f);
        snprintf(why, why_len,
                 "%s=%s is readable by every user (mode %03o): chmod o-r it (600 or 640) and start "
                 "again",
                 TOKENS_FILE_ENV, path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    int rc = 0, lineno = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            snprintf(why, why_len, "%s=%s: line %d is too long", TOKENS_FILE_ENV, path, lineno);
            rc = -1;
            break;
        }
        const char *s = line;
        trim(&s, &n);
        if (n == 0 || s[0] == '#')
            continue;
        rc = add_token(door, s, n, TOKENS_FILE_ENV, why, why_len);
    }
    explicit_bzero(line, sizeof line);
    fclose(f);
    return rc;
}

/* One listening address ("host:port", "[v6]:port", "port", with civetweb's
 * optional 's'/'r' suffix) of length n: whether its host is loopback. */
static bool one_addr_loopback(const char *s, size_t n)
{
    trim(&s, &n);
    if (n > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', n);
        return end != NULL && end - s - 1 == 3 && strncmp(s + 1, "::1", 3) == 0;
    }
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':')
            colon = s + i;
    if (colon == NULL) /* a bare port: every interface */
        return false;
    size_t hn = (size_t)(colon - s);
    if (hn == 9 && strncasecmp(s, "localhost", 9) == 0)
        return true;
    if (hn < 7 || strncmp(s, "127.", 4) != 0)
        return false;
    for (size_t i = 4; i < hn; i++)
        if (!(isdigit((unsigned char)s[i]) || s[i] == '.'))
            return false;
    return true;
}

bool jt_door_addr_loopback(const char *http_addr)
{
    if (http_addr == NULL || http_addr[0] == '\0')
        return false;
    for (const char *p = http_addr;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (!one_addr_loopback(p, n))
            return false;
        if (comma == NULL)
            return true;
        p = comma + 1;
    }
}

int jt_door_load(jt_door_t *door, const char *http_addr, char *why, size_t why_len)
{
    memset(door, 0, sizeof *door);
    if (load_origins(door, why, why_len) != 0 || load_token_list(door, why, why_len) != 0 ||
        load_token_file(door, why, why_len) != 0)
        return -1;
    const char *req = getenv(REQUIRE_ENV);
    bool require = !(req != NULL && strcmp(req, "0") == 0);
    if (req != NULL && strcmp(req, "0") != 0 && strcmp(req, "1") != 0) {
        snprintf(why, why_len, "%s must be 0 or 1", REQUIRE_ENV);
        return -1;
    }
    if (require && door->n_tokens == 0 && !jt_door_addr_loopback(http_addr)) {
        snprintf(why, why_len,
                 "JOULETRACE_HTTP_ADDR=%s listens beyond loopback without authentication: set "
                 "%s (or %s) to the bearer tokens clients must send, listen on 127.0.0.1, or set "
                 "%s=0 when only the host's loopback can reach this address (a container port "
                 "published on 127.0.0.1)",
                 http_addr != NULL ? http_addr : "", TOKENS_ENV, TOKENS_FILE_ENV, REQUIRE_ENV);
        return -1;
    }
    return 0;
}

const char *jt_door_allowed_origin(const jt_door_t *door, const char *origin)
{
    if (origin == NULL)
        return NULL;
    for (int i = 0; i < door->n_origins; i++)
        if (strcmp(origin, door->origins[i]) == 0)
            return door->origins[i];
    return NULL;
}

bool jt_door_tokens_required(const jt_door_t *door)
{
    return door->n_tokens > 0;
}

bool jt_door_authorized(const jt_door_t *door, const char *authorization)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return false;
    const char *given = authorization + 7;
    while (*given == ' ')
        given++;
    size_t glen = strnlen(given, JT_DOOR_TOKEN_MAX + 1);
    while (glen > 0 && glen <= JT_DOOR_TOKEN_MAX && given[glen - 1] == ' ')
        glen--;
    /* Every token is compared over the same fixed span, padded with zeros:
     * no early exit, no dependence on the lengths beyond the final verdict. */
    volatile unsigned match = 0;
    for (int t = 0; t < door->n_tokens; t++) {
        unsigned diff = (unsigned)(glen ^ door->token_len[t]);
        for (size_t i = 0; i < JT_DOOR_TOKEN_MAX; i++) {
            unsigned char a = i < glen ? (unsigned char)given[i] : 0;
            unsigned char b = (unsigned char)door->tokens[t][i]; /* zero-filled past the end */
            diff |= (unsigned)(a ^ b);
        }
        match |= (unsigned)(diff == 0);
    }
    return match != 0;
}

bool jt_door_json_content_type(const char *ct)
{
    static const char json[] = "application/json";
    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, json, sizeof json - 1) != 0)
        return false;
    ct += sizeof json - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}
