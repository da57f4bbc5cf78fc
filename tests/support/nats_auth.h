/* nats_auth.h -- a nats-server with the users scripts/up generates (service, client), for one test.
 *
 * jt_nats_auth_start runs scripts/lib.sh's jt_nats_auth_write (the very function scripts/up
 * calls) into a private temporary directory, then starts nats-server (nats_server.h) on free
 * 127.0.0.1 ports with the configuration it wrote. The credential files it wrote (mode 600,
 * `user:password`) are named in service_creds and client_creds. jt_nats_auth_stop stops the
 * server and removes the directory; call it on every path, failures included (the server also
 * dies with the test, PR_SET_PDEATHSIG). One thread; 0 on success, -1 with a line on stderr.
 */
#ifndef JT_TESTS_NATS_AUTH_H
#define JT_TESTS_NATS_AUTH_H

#include "nats_server.h"

typedef struct {
    jt_nats_server_t srv;
    char dir[128];           /* private directory: JOULETRACE_VAR_DIR of the generation */
    char conf[256];          /* <dir>/nats/nats-server.conf */
    char service_creds[256]; /* <dir>/nats/service.credentials */
    char client_creds[256];  /* <dir>/nats/client.credentials */
} jt_nats_auth_t;

/* Generate the users with repo_root's scripts/lib.sh and start the server. */
int jt_nats_auth_start(jt_nats_auth_t *a, const char *repo_root);

/* Stop the server and remove the directory (safe after a failed or no start). */
void jt_nats_auth_stop(jt_nats_auth_t *a);

#endif
