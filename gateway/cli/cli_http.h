/* cli_http.h -- the jouletrace client's requests to the gateway: base URL, bearer token, bounded
 * answers. */
#ifndef JT_CLI_HTTP_H
#define JT_CLI_HTTP_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

#include "cli.h"

#define JT_CLI_RESP_MAX (64u << 20) /* bytes of one answer kept; a longer one is an error */
#define JT_CLI_REQUEST_S 30.0       /* a single request's limit when --timeout is not given */
#define JT_CLI_CONNECT_S 10.0       /* connecting's limit */
#define JT_CLI_PATH_MAX 512         /* a route with its ids */

/* One answer: status 0 when none came. body is NUL-terminated (NULL when empty); json is the
 * body parsed when it is JSON, else NULL. */
typedef struct {
    long status;
    char *body;
    size_t len;
    json_t *json;
} jt_cli_resp_t;

/* A growing buffer bounded by JT_CLI_RESP_MAX, used as a libcurl write target. */
typedef struct {
    char *data;
    size_t len, cap;
    int over; /* set once more than JT_CLI_RESP_MAX bytes came */
} jt_cli_buf_t;

/* Seconds on the monotonic clock. */
double jt_cli_now(void);

/* Append n bytes to b, keeping it NUL-terminated. Returns 0, or -1 (b->over set) when it would
 * pass JT_CLI_RESP_MAX or memory runs out. */
int jt_cli_buf_add(jt_cli_buf_t *b, const char *p, size_t n);

/* A libcurl easy handle for method on cli->url + path with the token, the connect limit and
 * the time left to the command (limit_s when the command has no deadline; 0: none). *hdrs
 * receives the header list to free after the transfer (curl_slist_free_all); errbuf holds
 * CURL_ERROR_SIZE bytes. NULL when libcurl could not make one. */
CURL *jt_cli_curl(const jt_cli_t *cli, const char *method, const char *path, double limit_s,
                  struct curl_slist **hdrs, char *errbuf);

/* The exit code for a failed transfer (JT_CLI_TIMEOUT or JT_CLI_TRANSPORT), after a line on
 * stderr naming cli->url. */
int jt_cli_transfer_failure(const jt_cli_t *cli, CURLcode rc, const char *errbuf);

/* Send method path with body (len bytes of JSON; NULL: no body) and read the whole answer
 * into *r (freed with jt_cli_resp_free). Returns JT_CLI_OK when an answer came, whatever its
 * status; JT_CLI_TRANSPORT or JT_CLI_TIMEOUT (a line on stderr) otherwise, *r then empty. */
int jt_cli_request(const jt_cli_t *cli, const char *method, const char *path, const char *body,
                   size_t len, jt_cli_resp_t *r);

/* Free what *r holds and empty it. */
void jt_cli_resp_free(jt_cli_resp_t *r);

/* For an answer that is not a success: print "jouletrace: <what>: HTTP <status> <error>:
 * <message> (field <path>)" from the error envelope (or the raw body's first line) on stderr.
 * Returns JT_CLI_REFUSED for a 4xx, JT_CLI_TRANSPORT otherwise. */
int jt_cli_refusal(const jt_cli_resp_t *r, const char *what);

#endif
