/* cli_follow.h -- the jouletrace client following a task or batch to its end over its event stream.
 */
#ifndef JT_CLI_FOLLOW_H
#define JT_CLI_FOLLOW_H

#include <jansson.h>

#include "cli.h"
#include "cli_http.h"
#include "cli_progress.h"

#define JT_CLI_ID_MAX 128        /* the gateway's longest task or batch id */
#define JT_CLI_RECONNECT_MS 1000 /* pause before reading a stream again that ended early */

/* What an id names: a task, a batch, or not known yet (try the task, then on 404 the batch). */
typedef enum { JT_CLI_KIND_AUTO, JT_CLI_KIND_TASK, JT_CLI_KIND_BATCH } jt_cli_kind_t;

/* Whether id is one the gateway takes: 1..128 of [A-Za-z0-9_-]. */
int jt_cli_id_ok(const char *id);

/* "/api/v1/tasks/<id>" or "/api/v1/batches/<id>" plus suffix (may be "") into path (cap bytes). */
void jt_cli_route(char *path, size_t cap, jt_cli_kind_t kind, const char *id, const char *suffix);

/* method on the record of id: with JT_CLI_KIND_AUTO the task's route first, the batch's when
 * that is 404; *kind becomes the kind that answered. Returns as jt_cli_request (*r holds the
 * last answer, whatever its status). */
int jt_cli_request_record(const jt_cli_t *cli, const char *method, const char *id,
                          jt_cli_kind_t *kind, jt_cli_resp_t *r);

/* Follow the record of id (*kind as above; it becomes the kind found) over its event stream
 * until an event `result`, showing each record on p (NULL: nothing shown); a stream that ends
 * early is read again after JT_CLI_RECONNECT_MS. Then GET the record into *final (the whole
 * answer, freed by the caller). Returns JT_CLI_OK; the refusal's code (a line on stderr) when
 * the gateway refused (404 for an unknown id); JT_CLI_TRANSPORT or JT_CLI_TIMEOUT. */
int jt_cli_follow(const jt_cli_t *cli, const char *id, jt_cli_kind_t *kind, jt_cli_progress_t *p,
                  jt_cli_resp_t *final);

#endif
