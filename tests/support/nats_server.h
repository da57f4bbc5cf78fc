/* nats_server.h -- a real nats-server with JetStream on free loopback ports, for one test.
 *
 * Usage:
 *     jt_nats_server_t srv;
 *     if (jt_nats_server_start(&srv) != 0) fail();
 *     ... connect to srv.url ("nats://127.0.0.1:PORT") ...
 *     jt_nats_server_stop(&srv);
 *
 * Each server gets a private temporary directory (srv.dir) holding its ports file, its log
 * (srv.log_path, shown on stderr when start fails) and its JetStream store (srv.store_dir);
 * stop removes it. Ports are chosen by the server (`-p -1 -m -1 --ports_file_dir`), so tests
 * never collide, and only 127.0.0.1 is used. Start returns once /healthz answers ok, so
 * JetStream is ready. The server gets PR_SET_PDEATHSIG(SIGTERM): it never outlives the test,
 * even when the test crashes (the signal is tied to the thread that called start: start from
 * the test's main thread).
 *
 * The binary is $JT_NATS_SERVER when set, else /usr/sbin/nats-server, else nats-server from
 * PATH. Functions return 0 on success and -1 (with a line on stderr) on failure; call them
 * from one thread. Needs jansson (the ports file) and libc, not libnats.
 */
#ifndef JT_TESTS_NATS_SERVER_H
#define JT_TESTS_NATS_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "process_harness.h"

/* The largest message the test servers accept: like broker/nats-server.conf, above a job's
 * JT_JOBS_MAX_MSG_BYTES (nats-server's own default is 1 MB). */
#define JT_NATS_TEST_MAX_PAYLOAD "8MB"

typedef struct {
    pid_t pid; /* 0 when not running */
    int client_port;
    int monitor_port;
    char url[64];        /* "nats://127.0.0.1:<client_port>" */
    char dir[128];       /* private temporary directory, removed by stop */
    char store_dir[192]; /* JetStream store, kept across restart */
    char log_path[192];  /* server log (stdout+stderr, appended across restarts) */
    char config[512];    /* the -c file */
    int pass_store_flag; /* 1: give -sd (the config names no store_dir) */
} jt_nats_server_t;

/* The clock of process_harness.h, under the names the NATS tests use. */
static inline double jt_nats_now(void)
{
    return jt_proc_now();
}

static inline void jt_nats_sleep_ms(long ms)
{
    jt_proc_sleep_ms(ms);
}

/* Path of the nats-server executable. */
const char *jt_nats_server_binary(void);

/* Print the last lines of the server log to stderr (for failing tests). */
void jt_nats_server_dump_log(const jt_nats_server_t *srv);

/* GET http://127.0.0.1:<monitor_port><path>; the body (NUL-terminated,
 * truncated to len-1) into body. Returns the HTTP status or -1. Handy for
 * /healthz and /jsz?streams=true&consumers=true. */
int jt_nats_server_http_get(const jt_nats_server_t *srv, const char *path, char *body, size_t len);

/* Send sig to the running server and reap it (SIGKILL after 10 s). */
void jt_nats_server_terminate(jt_nats_server_t *srv, int sig);

/* Start a server with the config file `config` (NULL: a built-in one that
 * only raises max_payload to JT_NATS_TEST_MAX_PAYLOAD). Flags override the
 * file's listen, http and store settings: client and monitor ports are free
 * ones on 127.0.0.1 and JetStream stores under srv->store_dir (passed as
 * $JOULETRACE_JETSTREAM_DIR, which broker/ configs use, or as -sd when the
 * file names no store_dir). Variables the file references ($JOULETRACE_NATS_*
 * passwords) come from the test's environment: setenv them before. */
int jt_nats_server_start_config(jt_nats_server_t *srv, const char *config);

/* Start a plain JetStream server (see jt_nats_server_start_config). */
int jt_nats_server_start(jt_nats_server_t *srv);

/* Kill the server with SIGKILL, as a crash; the store stays for restart. */
void jt_nats_server_kill(jt_nats_server_t *srv);

/* Stop (SIGTERM) if running, then start again on the same client port with
 * the same config and store: JetStream state survives, clients reconnect.
 * The monitor port may change. */
int jt_nats_server_restart(jt_nats_server_t *srv);

/* Stop with SIGTERM (SIGKILL after 10 s) and remove the directory. Safe to
 * call twice, or after a failed start. */
void jt_nats_server_stop(jt_nats_server_t *srv);

#endif
