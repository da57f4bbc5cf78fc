/* main.c -- jouletrace-gateway: configuration, NATS view, civetweb server, clean stop on signals.
 *
 * The main thread blocks SIGINT/SIGTERM before any thread exists and waits
 * for them with sigwait; civetweb worker threads serve requests; the view
 * thread owns the NATS connection (see view.h).
 *
 * Environment: every JOULETRACE_* of shared/base/include/config.h that it uses
 * (HTTP address, NATS URL, threads, max pending jobs, ...) plus the front door's
 * JOULETRACE_CORS_ORIGINS, JOULETRACE_API_TOKENS[_FILE] and
 * JOULETRACE_REQUIRE_TOKENS_BEYOND_LOOPBACK (door.h). Tokens are never logged.
 * NATS credentials come from JOULETRACE_NATS_CREDENTIALS_FILE (nats_credentials.h): a file
 * that others may read, or a URL with credentials next to it, stops the start with exit 2.
 * Webhooks (webhook.h): a non-empty JOULETRACE_CALLBACK_ALLOW needs the signing secret of
 * JOULETRACE_CALLBACK_SECRET_FILE (webhook_sign.h); without it, or with a file others may read,
 * the start stops with exit 2. The deliverer starts once the bus is connected and stops before
 * the bus closes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "gateway.h"
#include "log.h"

#define STOP_NATS_WAIT_MS 5000 /* how long a stop waits for nats.c's threads to end */

/* civetweb's own messages go through the one log format. */
static int on_civetweb_log(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    jt_log_warn("civetweb: %s", message);
    return 1;
}

static void on_bus_connected(jt_bus_t *bus, void *arg)
{
    jt_gw_t *gw = arg;
    jt_publisher_t *pub = NULL;
    jt_metrics_watch_results(&gw->metrics, bus->nc);
    if (jt_publisher_create(&pub, bus->nc) != JT_OK)
        jt_log_error("cannot start the publisher: submissions will get 503");
    atomic_store(&gw->publisher, pub);

    jt_webhook_t *hooks = NULL;
    const jt_webhook_settings_t hs = {gw->cfg.callback_allow, &gw->webhook_secret,
                                      gw->cfg.callback_backoff_ms};
    if (jt_webhook_start(&hooks, bus, &hs) != JT_OK)
        jt_log_error("cannot start the webhook deliverer: callbacks stay queued");
    jt_webhook_secret_wipe(&gw->webhook_secret); /* the deliverer keeps the one copy */
    atomic_store(&gw->webhook, hooks);
}

/* The signing secret: required when callbacks are allowed, refused when others may read it. */
static int load_webhook_secret(jt_gw_t *gw)
{
    jt_error_t err;
    const char *file = gw->cfg.callback_secret_file;
    if (file[0] == '\0' && gw->cfg.callback_allow[strspn(gw->cfg.callback_allow, " \t,")] != '\0') {
        jt_log_error("configuration: JOULETRACE_CALLBACK_ALLOW is set but "
                     "JOULETRACE_CALLBACK_SECRET_FILE is not: webhooks are always signed (a file "
                     "of mode 600 holding 16..1024 bytes, e.g. openssl rand -hex 32)");
        return -1;
    }
    if (file[0] != '\0' && jt_webhook_secret_load(file, &gw->webhook_secret, &err) != JT_OK) {
        jt_log_error("configuration: %s", err.message);
        return -1;
    }
    return 0;
}

static int load_settings(jt_gw_t *gw)
{
    jt_error_t err;
    if (jt_config_load(&gw->cfg, &err) != JT_OK) {
        jt_log_setup("gateway", JT_LOG_INFO);
        jt_log_error("configuration: %s (%s)", err.message, err.path);
        return -1;
    }
    jt_log_setup("gateway", gw->cfg.log_level);
    char why[512];
    if (jt_door_load(&gw->door, gw->cfg.http_addr, why, sizeof why) != 0) {
        jt_log_error("configuration: %s", why);
        return -1;
    }
    gw->started_at = time(NULL);
    gw->sse_max = gw->cfg.http_threads / 2 > 0 ? gw->cfg.http_threads / 2 : 1;
    return 0;
}

/* civetweb's begin_request callback: the router answers every request (its status, non-zero,
 * tells civetweb the request is handled). */
static int route_request(struct mg_connection *conn)
{
    return jt_router_handle(conn, mg_get_user_data(mg_get_context(conn)));
}

static struct mg_context *start_http(jt_gw_t *gw)
{
    char threads[16];
    struct mg_callbacks cb;
    snprintf(threads, sizeof threads, "%d", gw->cfg.http_threads > 0 ? gw->cfg.http_threads : 32);
    /* No document_root: civetweb serves no files, only the handler below.
     * CORS is answered by the routes themselves (never "*"). Paths are not
     * percent-decoded: no route needs it, and the router judges task ids as
     * sent (a decoded "%00" would truncate them). civetweb gives
     * each connection a thread until it goes idle: a short keep-alive idle
     * time keeps a few quiet clients from starving the others. */
    const char *options[] = {"listening_ports",
                             gw->cfg.http_addr,
                             "num_threads",
                             threads,
                             "enable_keep_alive",
                             "yes",
                             "keep_alive_timeout_ms",
                             "500",
                             "enable_directory_listing",
                             "no",
                             "access_control_allow_origin",
                             "",
                             "access_control_allow_methods",
                             "",
                             "request_timeout_ms",
                             "30000",
                             "tcp_nodelay",
                             "1",
                             "listen_backlog",
                             "1024",
                             "connection_queue",
                             "1024",
                             "enable_auth_domain_check",
                             "no",
                             "decode_url",
                             "no",
                             NULL};
    memset(&cb, 0, sizeof cb);
    cb.log_message = on_civetweb_log;
    cb.http_error = jt_router_http_error;
    /* Every request goes to the router from the first one on: a handler set after mg_start
     * would leave a moment in which civetweb answers 404 itself. */
    cb.begin_request = route_request;
    return mg_start(&cb, gw, options);
}

int main(void)
{
    static jt_gw_t gw;
    sigset_t stop_signals;
    int sig = 0;

    if (load_settings(&gw) != 0 || load_webhook_secret(&gw) != 0)
        return 2;
    jt_nats_credentials_t creds;
    jt_error_t err;
    if (jt_nats_auth_prepare(gw.cfg.nats_url, gw.cfg.nats_credentials_file, &creds, &err) !=
        JT_OK) {
        jt_log_error("configuration: %s", err.message);
        return 2;
    }
    jt_metrics_init(&gw.metrics);
    atomic_init(&gw.stopping, false);
    atomic_init(&gw.sse_open, 0);
    atomic_init(&gw.publisher, NULL);
    atomic_init(&gw.webhook, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: not thread-safe in every build */

    /* Blocked here, inherited by every thread: only sigwait below sees them. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    /* Many civetweb threads share one connection: on few cores, spinning on
     * its lock burns the CPU the lock holder needs. Block at once instead. */
    nats_Open(0);
    jt_status_t started = jt_view_start(&gw.view, gw.cfg.nats_url, &creds, gw.cfg.max_ack_pending,
                                        on_bus_connected, &gw);
    jt_nats_credentials_wipe(&creds); /* the view keeps the one copy */
    if (started != JT_OK) {
        jt_log_error("cannot start the NATS view thread");
        return 1;
    }
    mg_init_library(0);
    struct mg_context *ctx = start_http(&gw);
    if (ctx == NULL) {
        jt_log_error("cannot listen on %s (JOULETRACE_HTTP_ADDR): address in use or invalid",
                     gw.cfg.http_addr);
        jt_view_stop(gw.view);
        jt_webhook_stop(atomic_exchange(&gw.webhook, NULL));
        jt_view_destroy(gw.view);
        mg_exit_library();
        return 1;
    }
    jt_log_info("gateway listening on http://%s (%d threads, max %ld pending jobs, %d bearer "
                "tokens, %d CORS origins)",
                gw.cfg.http_addr, gw.cfg.http_threads, gw.cfg.max_pending_jobs, gw.door.n_tokens,
                gw.door.n_origins);

    while (sigwait(&stop_signals, &sig) != 0)
        ;
    jt_log_info("gateway stopping (signal %d)", sig);
    atomic_store(&gw.stopping, true); /* event streams end within half a second */
    mg_stop(ctx);
    jt_view_stop(gw.view); /* joins the view thread: the publisher pointer is final */
    jt_webhook_stop(atomic_exchange(&gw.webhook, NULL)); /* aborts a request in flight */
    jt_publisher_t *pub = atomic_load(&gw.publisher);
    jt_publisher_stop(pub);
    jt_metrics_cleanup(&gw.metrics);
    jt_view_destroy(gw.view); /* the bus outlives the publisher and the metrics subscription */
    mg_exit_library();
    /* nats.c's threads may still be inside a callback (a late ack, an expired wait): the
     * publisher they point to is freed only once all of them have ended. */
    if (nats_CloseAndWait(STOP_NATS_WAIT_MS) == NATS_OK)
        jt_publisher_destroy(pub);
    else
        jt_log_warn("NATS threads still running %d ms after the connection closed",
                    STOP_NATS_WAIT_MS);
    curl_global_cleanup();
    jt_log_info("gateway stopped");
    return 0;
}
