/* door.h -- the gateway's front door: allowed CORS origins, bearer tokens, JSON-only bodies, raw
 * ids.
 *
 * jt_door_load runs once in main before civetweb starts; afterwards a
 * jt_door_t is read-only and every function here may run on any civetweb
 * worker thread.
 *
 * Environment:
 *   JOULETRACE_CORS_ORIGINS   comma-separated exact origins (https://a.example,https://b.example);
 *                             unset: no CORS headers. "*" is refused. JOULETRACE_CORS_ORIGIN (one
 *                             origin) is still read as an alias when the list is unset.
 *   JOULETRACE_API_TOKENS     comma-separated bearer tokens
 *   JOULETRACE_API_TOKENS_FILE  one token per line ('#' lines and blank lines skipped); the
 *                             file must not be readable by others (mode & 004 == 0)
 *   JOULETRACE_REQUIRE_TOKENS_BEYOND_LOOPBACK  1 (default): refuse to start when
 *                             JOULETRACE_HTTP_ADDR is not a loopback address and no token is
 *                             configured; 0: allow it (for a container whose port is published
 *                             on the host's loopback only)
 * Tokens are 16..JT_DOOR_TOKEN_MAX characters of visible ASCII (no ',' in the list variable)
 * and are never logged.
 */
#ifndef JT_GW_DOOR_H
#define JT_GW_DOOR_H

#include <stdbool.h>
#include <stddef.h>

#define JT_DOOR_ORIGINS_MAX 16
#define JT_DOOR_ORIGIN_LEN 256
#define JT_DOOR_TOKENS_MAX 32
#define JT_DOOR_TOKEN_MIN 16
#define JT_DOOR_TOKEN_MAX 256

typedef struct {
    char origins[JT_DOOR_ORIGINS_MAX][JT_DOOR_ORIGIN_LEN];
    int n_origins;
    char tokens[JT_DOOR_TOKENS_MAX][JT_DOOR_TOKEN_MAX + 1];
    size_t token_len[JT_DOOR_TOKENS_MAX];
    int n_tokens;
} jt_door_t;

/* Read the settings above from the environment into *door. http_addr is
 * civetweb's listening_ports value (JOULETRACE_HTTP_ADDR). Returns 0, or -1
 * with a message for people in why (never quoting a token). */
int jt_door_load(jt_door_t *door, const char *http_addr, char *why, size_t why_len);

/* Whether every listening address of http_addr ("127.0.0.1:8000",
 * "[::1]:8000", "localhost:8000", comma-separated) is a loopback one; a bare
 * port listens everywhere. */
bool jt_door_addr_loopback(const char *http_addr);

/* The configured origin equal to origin (the request's Origin header, may be
 * NULL), or NULL: the only value ever echoed in Access-Control-Allow-Origin. */
const char *jt_door_allowed_origin(const jt_door_t *door, const char *origin);

/* Whether requests must carry a bearer token. */
bool jt_door_tokens_required(const jt_door_t *door);

/* Whether an Authorization header value ("Bearer <token>", may be NULL)
 * names a configured token. Compares against every token over a fixed
 * JT_DOOR_TOKEN_MAX bytes: the time taken does not depend on where or
 * whether the value matches. */
bool jt_door_authorized(const jt_door_t *door, const char *authorization);

/* Whether a Content-Type header value (may be NULL) is application/json,
 * parameters such as "; charset=utf-8" allowed, the media type compared
 * case-insensitively. */
bool jt_door_json_content_type(const char *content_type);

#endif
