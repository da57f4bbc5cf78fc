/* cli_sse.h -- the jouletrace client's reader of the gateway's Server-Sent Events streams. */
#ifndef JT_CLI_SSE_H
#define JT_CLI_SSE_H

#include <stdbool.h>

#include "cli.h"
#include "cli_http.h"

#define JT_CLI_SSE_IDLE_S                                                                          \
    60 /* a stream silent this long is dead (the gateway comments every 15 s) */

/* Called for every complete event: its name ("message" when the stream named none) and its
 * data (lines joined by '\n', NUL-terminated). Return true to keep reading, false to stop. */
typedef bool (*jt_cli_event_fn)(void *ctx, const char *event, const char *data);

/* Read the event stream GET path until the server ends it or fn returns false. When the
 * answer is not 200, nothing is parsed: its status and body go to *refusal (freed by the
 * caller with jt_cli_resp_free). Returns JT_CLI_OK when the stream was read (to its end, or
 * stopped by fn) or a refusal came, JT_CLI_TRANSPORT or JT_CLI_TIMEOUT (a line on stderr)
 * otherwise. An event over JT_CLI_RESP_MAX bytes ends the stream with JT_CLI_TRANSPORT. */
int jt_cli_sse_read(const jt_cli_t *cli, const char *path, jt_cli_event_fn fn, void *ctx,
                    jt_cli_resp_t *refusal);

#endif
