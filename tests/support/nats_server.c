/* nats_server.c -- a real nats-server with JetStream on free loopback ports, for one test. */
#include "nats_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "temp_dir.h"

const char *jt_nats_server_binary(void)
{
    const char *env = getenv("JT_NATS_SERVER");
    if (env != NULL && env[0] != '\0')
        return env;
    if (access("/usr/sbin/nats-server", X_OK) == 0)
        return "/usr/sbin/nats-server";
    return "nats-server";
}

void jt_nats_server_dump_log(const jt_nats_server_t *srv)
{
    jt_proc_dump_log("nats-server", srv->log_path, 4095);
}

int jt_nats_server_http_get(const jt_nats_server_t *srv, const char *path, char *body, size_t len)
{
    char req[512];
    char resp[65536];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)srv->monitor_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, resp + got, sizeof resp - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == sizeof resp - 1)
            break;
    }
    close(fd);
    resp[got] = '\0';
    int status = -1;
    if (sscanf(resp, "HTTP/%*s %d", &status) != 1)
        return -1;
    if (body != NULL && len > 0) {
        const char *b = strstr(resp, "\r\n\r\n");
        snprintf(body, len, "%s", b != NULL ? b + 4 : "");
    }
    return status;
}

/* Port number at the end of "scheme://host:PORT", or -1. */
static int jt_nats_url_port(const char *url)
{
    const char *colon = url != NULL ? strrchr(url, ':') : NULL;
    if (colon == NULL)
        return -1;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    return (end != colon + 1 && p > 0 && p < 65536) ? (int)p : -1;
}

/* Reads <dir>/nats-server_<pid>.ports: {"nats":["nats://..."],"monitoring":["http://..."]}. */
static int jt_nats_read_ports(jt_nats_server_t *srv)
{
    char path[256];
    snprintf(path, sizeof path, "%s/nats-server_%d.ports", srv->dir, (int)srv->pid);
    json_t *root = json_load_file(path, 0, NULL);
    if (root == NULL)
        return -1;
    const char *nats = json_string_value(json_array_get(json_object_get(root, "nats"), 0));
    const char *mon = json_string_value(json_array_get(json_object_get(root, "monitoring"), 0));
    int cp = jt_nats_url_port(nats);
    int mp = jt_nats_url_port(mon);
    json_decref(root);
    if (cp < 0 || mp < 0)
        return -1;
    srv->client_port = cp;
    srv->monitor_port = mp;
    snprintf(srv->url, sizeof srv->url, "nats://127.0.0.1:%d", cp);
    return 0;
}

/* Fork+exec the server on client port `port` (-1: free port) and wait until healthy. */
static int jt_nats_server_spawn(jt_nats_server_t *srv, int port)
{
    char port_arg[16];
    char store_env[256];
    const char *argv[20];
    int argc = 0;

    snprintf(port_arg, sizeof port_arg, "%d", port);
    snprintf(store_env, sizeof store_env, "JOULETRACE_JETSTREAM_DIR=%s", srv->store_dir);
    argv[argc++] = jt_nats_server_binary();
    argv[argc++] = "-c";
    argv[argc++] = srv->config;
    argv[argc++] = "-js";
    argv[argc++] = "-a";
    argv[argc++] = "127.0.0.1";
    argv[argc++] = "-p";
    argv[argc++] = port_arg;
    argv[argc++] = "-m";
    argv[argc++] = "-1";
    argv[argc++] = "--ports_file_dir";
    argv[argc++] = srv->dir;
    if (srv->pass_store_flag) {
        argv[argc++] = "-sd";
        argv[argc++] = srv->store_dir;
    }
    argv[argc] = NULL;

    /* The store directory replaces the test's own; the other JOULETRACE_*
     * variables stay (the config may reference passwords among them). */
    const char *vars[] = {store_env, NULL};
    char **envp = jt_proc_envp("JOULETRACE_JETSTREAM_DIR=", vars);
    if (envp == NULL)
        return -1;
    pid_t pid = jt_proc_spawn((char *const *)argv, envp, srv->log_path, SIGTERM, false);
    free(envp);
    if (pid < 0)
        return -1;
    srv->pid = pid;

    double deadline = jt_nats_now() + 15.0;
    int have_ports = 0;
    while (jt_nats_now() < deadline) {
        int wstatus;
        if (waitpid(pid, &wstatus, WNOHANG) == pid) {
            fprintf(stderr, "nats_server: %s exited during start (status %d)\n", argv[0],
                    WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -WTERMSIG(wstatus));
            srv->pid = 0;
            jt_nats_server_dump_log(srv);
            return -1;
        }
        if (!have_ports)
            have_ports = jt_nats_read_ports(srv) == 0;
        if (have_ports) {
            char body[256];
            if (jt_nats_server_http_get(srv, "/healthz", body, sizeof body) == 200 &&
                strstr(body, "ok") != NULL)
                return 0;
        }
        jt_nats_sleep_ms(20);
    }
    fprintf(stderr, "nats_server: not healthy within 15 s\n");
    jt_nats_server_dump_log(srv);
    jt_proc_stop(&srv->pid, SIGKILL, 10.0, false);
    return -1;
}

void jt_nats_server_terminate(jt_nats_server_t *srv, int sig)
{
    jt_proc_stop(&srv->pid, sig, 10.0, false);
}

int jt_nats_server_start_config(jt_nats_server_t *srv, const char *config)
{
    memset(srv, 0, sizeof *srv);
    const char *tmp = getenv("TMPDIR");
    snprintf(srv->dir, sizeof srv->dir, "%s/jt-nats-XXXXXX",
             tmp != NULL && tmp[0] != '\0' && strlen(tmp) < 64 ? tmp : "/tmp");
    if (mkdtemp(srv->dir) == NULL) {
        fprintf(stderr, "nats_server: mkdtemp %s: %s\n", srv->dir, strerror(errno));
        return -1;
    }
    snprintf(srv->store_dir, sizeof srv->store_dir, "%s/store", srv->dir);
    snprintf(srv->log_path, sizeof srv->log_path, "%s/nats-server.log", srv->dir);
    if (mkdir(srv->store_dir, 0700) != 0)
        goto fail;

    if (config == NULL) {
        snprintf(srv->config, sizeof srv->config, "%s/test.conf", srv->dir);
        FILE *f = fopen(srv->config, "w");
        if (f == NULL)
            goto fail;
        fprintf(f, "# nats_server.h: test server\nmax_payload: %s\n", JT_NATS_TEST_MAX_PAYLOAD);
        fclose(f);
        srv->pass_store_flag = 1;
    } else {
        if (snprintf(srv->config, sizeof srv->config, "%s", config) >= (int)sizeof srv->config)
            goto fail;
        FILE *f = fopen(config, "r");
        if (f == NULL) {
            fprintf(stderr, "nats_server: cannot read %s: %s\n", config, strerror(errno));
            goto fail;
        }
        char line[1024];
        srv->pass_store_flag = 1;
        while (fgets(line, sizeof line, f) != NULL) {
            const char *p = line + strspn(line, " \t");
            if (*p != '#' && strstr(p, "store_dir") != NULL)
                srv->pass_store_flag = 0; /* nats-server refuses -sd next to store_dir */
        }
        fclose(f);
    }
    if (jt_nats_server_spawn(srv, -1) != 0)
        goto fail;
    return 0;

fail:
    jt_temp_dir_remove(srv->dir);
    srv->dir[0] = '\0';
    return -1;
}

int jt_nats_server_start(jt_nats_server_t *srv)
{
    return jt_nats_server_start_config(srv, NULL);
}

void jt_nats_server_kill(jt_nats_server_t *srv)
{
    jt_nats_server_terminate(srv, SIGKILL);
}

int jt_nats_server_restart(jt_nats_server_t *srv)
{
    jt_nats_server_terminate(srv, SIGTERM);
    double deadline = jt_nats_now() + 5.0;
    for (;;) { /* the port can stay busy for a moment after the old server exits */
        if (jt_nats_server_spawn(srv, srv->client_port) == 0)
            return 0;
        if (jt_nats_now() > deadline)
            return -1;
        jt_nats_sleep_ms(100);
    }
}

void jt_nats_server_stop(jt_nats_server_t *srv)
{
    jt_nats_server_terminate(srv, SIGTERM);
    if (srv->dir[0] != '\0')
        jt_temp_dir_remove(srv->dir);
    srv->dir[0] = '\0';
}
