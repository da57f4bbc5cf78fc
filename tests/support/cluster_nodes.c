/* cluster_nodes.c -- a JetStream cluster of nats-server nodes on free loopback ports, for a test. */
#include "cluster_nodes.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "nats_server.h"
#include "temp_dir.h"

#define HEALTHY_WAIT_S 60.0

/* 3 ports per node, all different from one another. */
static int pick_ports(cl_nodes_t *c)
{
    int ports[3 * CL_MAX_NODES];
    int k = 0;
    for (int tries = 0; k < 3 * c->n && tries < 200; tries++) {
        int p = jt_proc_free_port();
        bool dup = p <= 0;
        for (int j = 0; j < k && !dup; j++)
            dup = ports[j] == p;
        if (!dup)
            ports[k++] = p;
    }
    if (k < 3 * c->n) {
        fprintf(stderr, "cluster_nodes: no %d free ports\n", 3 * c->n);
        return -1;
    }
    for (int i = 0; i < c->n; i++) {
        c->node[i].client_port = ports[3 * i];
        c->node[i].route_port = ports[3 * i + 1];
        c->node[i].monitor_port = ports[3 * i + 2];
    }
    return 0;
}

static int write_config(const cl_nodes_t *c, int i)
{
    const cl_node_t *nd = &c->node[i];
    FILE *f = fopen(nd->conf, "w");
    if (f == NULL) {
        fprintf(stderr, "cluster_nodes: cannot write %s: %s\n", nd->conf, strerror(errno));
        return -1;
    }
    fprintf(f,
            "# %s -- node %d of a test cluster (see broker/cluster/nats-%d.conf)\n"
            "server_name: %s\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\nmax_payload: %s\n"
            "jetstream {\n    store_dir: \"%s\"\n}\n",
            nd->conf, i + 1, i + 1, nd->name, nd->client_port, nd->monitor_port,
            JT_NATS_TEST_MAX_PAYLOAD, nd->store);
    if (c->n > 1) {
        fprintf(f, "cluster {\n    name: jt-test\n    listen: 127.0.0.1:%d\n    routes: [\n",
                nd->route_port);
        for (int j = 0; j < c->n; j++)
            fprintf(f, "        nats-route://127.0.0.1:%d\n", c->node[j].route_port);
        fprintf(f, "    ]\n}\n");
    }
    return fclose(f) == 0 ? 0 : -1;
}

int cl_node_http_get(const cl_nodes_t *c, int i, const char *path, char *body, size_t len)
{
    jt_nats_server_t probe;
    memset(&probe, 0, sizeof probe);
    probe.monitor_port = c->node[i].monitor_port;
    return jt_nats_server_http_get(&probe, path, body, len);
}

int cl_node_start(cl_nodes_t *c, int i)
{
    cl_node_t *nd = &c->node[i];
    if (nd->proc.pid > 0)
        return 0;
    char *argv[] = {(char *)jt_nats_server_binary(), (char *)"-c", nd->conf, NULL};
    if (mkdir(nd->store, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "cluster_nodes: mkdir %s: %s\n", nd->store, strerror(errno));
        return -1;
    }
    if (jt_proc_start(&nd->proc, argv, NULL, false) != 0) {
        fprintf(stderr, "cluster_nodes: cannot start %s\n", nd->name);
        return -1;
    }
    return 0;
}

int cl_node_wait_healthy(const cl_nodes_t *c, int i, double seconds)
{
    double until = jt_proc_now() + seconds;
    char body[512];
    while (jt_proc_now() < until) {
        if (c->node[i].proc.pid <= 0 || !jt_proc_alive(c->node[i].proc.pid)) {
            fprintf(stderr, "cluster_nodes: %s is not running\n", c->node[i].name);
            return -1;
        }
        if (cl_node_http_get(c, i, "/healthz", body, sizeof body) == 200)
            return 0;
        jt_proc_sleep_ms(100);
    }
    fprintf(stderr, "cluster_nodes: %s not healthy within %.0f s (last: %.200s)\n",
            c->node[i].name, seconds, body);
    return -1;
}

int cl_nodes_start(cl_nodes_t *c, const char *dir, int n)
{
    memset(c, 0, sizeof *c);
    if (n < 1 || n > CL_MAX_NODES ||
        snprintf(c->dir, sizeof c->dir, "%s", dir) >= (int)sizeof c->dir)
        return -1;
    c->n = n;
    if (pick_ports(c) != 0)
        return -1;
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        cl_node_t *nd = &c->node[i];
        snprintf(nd->name, sizeof nd->name, "jt-node-%d", i + 1);
        snprintf(nd->proc.id, sizeof nd->proc.id, "%s", nd->name);
        snprintf(nd->proc.log, sizeof nd->proc.log, "%s/node-%d.log", dir, i + 1);
        snprintf(nd->conf, sizeof nd->conf, "%s/node-%d.conf", dir, i + 1);
        snprintf(nd->store, sizeof nd->store, "%s/node-%d-store", dir, i + 1);
        snprintf(nd->url, sizeof nd->url, "nats://127.0.0.1:%d", nd->client_port);
        used += (size_t)snprintf(c->urls + used, sizeof c->urls - used, "%s%s", i ? "," : "",
                                 nd->url);
        if (write_config(c, i) != 0)
            return -1;
    }
    for (int i = 0; i < n; i++)
        if (cl_node_start(c, i) != 0) {
            cl_nodes_stop(c);
            return -1;
        }
    for (int i = 0; i < n; i++)
        if (cl_node_wait_healthy(c, i, HEALTHY_WAIT_S) != 0) {
            cl_nodes_dump_logs(c);
            cl_nodes_stop(c);
            return -1;
        }
    return 0;
}

void cl_node_kill(cl_nodes_t *c, int i, int sig)
{
    if (c->node[i].proc.pid > 0)
        jt_proc_stop(&c->node[i].proc.pid, sig, 20.0, false);
}

int cl_node_wipe(cl_nodes_t *c, int i)
{
    if (c->node[i].proc.pid > 0)
        return -1;
    jt_temp_dir_remove(c->node[i].store);
    return 0;
}

int cl_node_index(const cl_nodes_t *c, const char *name)
{
    for (int i = 0; name != NULL && i < c->n; i++)
        if (strcmp(c->node[i].name, name) == 0)
            return i;
    return -1;
}

void cl_nodes_dump_logs(const cl_nodes_t *c)
{
    for (int i = 0; i < c->n; i++)
        jt_proc_dump_log(c->node[i].name, c->node[i].proc.log, 3000);
}

void cl_nodes_stop(cl_nodes_t *c)
{
    for (int i = 0; i < c->n; i++)
        cl_node_kill(c, i, SIGTERM);
}
