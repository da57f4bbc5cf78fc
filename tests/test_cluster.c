/* test_cluster.c -- the system on a 3-node JetStream cluster under node loss, on loopback. */
#include "unit_main.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus_names.h"
#include "cluster_system.h"
#include "task_state.h"
#include "topology.h"
#include "value.h"

/* Every case (argv[1]) is one ctest entry (tests/cluster.cmake) and starts everything afresh
 * (support/cluster_system.h): 3 nodes (1 for the single-node cases), gateway, two workers.
 * Each prints what it measured: how long until the stream had a leader again, until the
 * gateway accepted jobs again, until a job completed again, and the outcome of every job. */

#define JOBS 30
#define SUBMIT_S 120.0   /* all jobs accepted within */
#define RECOVER_S 60.0   /* a leader elected, a node healthy, a job accepted within */
#define FINAL_S 300.0    /* every accepted job final within */

/* Seconds until one more result than `before` is seen, at most `seconds` (-1: none). */
static double wait_next_result(cs_t *cs, int before, double seconds)
{
    double t0 = jt_proc_now();
    while (jt_proc_now() - t0 < seconds) {
        if (cs_results_seen(cs) > before)
            return jt_proc_now() - t0;
        jt_proc_sleep_ms(50);
    }
    return -1;
}

/* Index of the node leading the jobs stream now; fails when there is none. */
static int jobs_leader(cs_t *cs)
{
    char leader[64];
    cs_stream_leader(cs, JT_STREAM_JOBS, leader, sizeof leader);
    int i = cl_node_index(&cs->nodes, leader);
    if (i < 0)
        cs_fail(cs, "no leader of %s (got '%s')", JT_STREAM_JOBS, leader);
    return i;
}

/* Restart node i and wait until it is healthy; prints how long that took. */
static void bring_back(cs_t *cs, int i, const char *label)
{
    double t0 = jt_proc_now();
    if (cl_node_start(&cs->nodes, i) != 0 ||
        cl_node_wait_healthy(&cs->nodes, i, RECOVER_S) != 0)
        cs_fail(cs, "%s: %s did not come back", label, cs->nodes.node[i].name);
    printf("%s: %s restarted and healthy in %.1f s\n", label, cs->nodes.node[i].name,
           jt_proc_now() - t0);
}

/* Kill node `victim` with sig while jobs run, measure the recovery, bring it back (wiped
 * first when `wipe`), and judge every job. */
static void kill_one(cs_t *cs, int victim, int sig, bool wipe, const char *label)
{
    char *name = cs->nodes.node[victim].name;
    int before = cs_results_seen(cs);
    double t_kill = jt_proc_now();
    cl_node_kill(&cs->nodes, victim, sig);
    printf("%s: killed %s (signal %d) with %d of %d jobs done\n", label, name, sig, before,
           cs->n_ids);
    /* the three waits run one after the other; each time is printed from the kill */
    double t_leader = cs_wait_leader(cs, JT_STREAM_JOBS, name, RECOVER_S);
    double leader_at = jt_proc_now() - t_kill;
    double t_accept = cs_wait_accepting(cs, label, RECOVER_S);
    double accept_at = jt_proc_now() - t_kill;
    double t_result = wait_next_result(cs, cs_results_seen(cs), RECOVER_S);
    double result_at = jt_proc_now() - t_kill;
    printf("%s: after the kill: jobs stream led again at %.1f s, a new job accepted at %.1f s, "
           "the next job completed at %.1f s\n",
           label, leader_at, accept_at, result_at);
    if (t_leader < 0 || t_accept < 0 || t_result < 0)
        cs_fail(cs, "%s: no recovery within %.0f s", label, RECOVER_S);
    if (wipe) {
        CS_CHECK(cs, cl_node_wipe(&cs->nodes, victim) == 0);
        printf("%s: %s lost its store for good\n", label, name);
    }
    bring_back(cs, victim, label);
    cs_check(cs, label, FINAL_S);
    printf("%s: recovery: leader %.1f s, accepting %.1f s, next completion %.1f s, all %d jobs "
           "final %.1f s after the kill\n",
           label, leader_at, accept_at, result_at, cs->n_ids, jt_proc_now() - t_kill);
}

/* Boot on `nodes` nodes, submit JOBS jobs (keys "<tag>-<i>") and wait until `done` of them
 * completed: the rest are queued when the fault comes. */
static void boot_with_jobs(cs_t *cs, int nodes, const char *tag, int done)
{
    cs_boot(cs, nodes);
    cs_submit(cs, tag, JOBS, SUBMIT_S);
    cs_wait_results(cs, done, FINAL_S);
}

/* ---- (a) the jobs stream's leader SIGKILLed mid-queue, then restarted --------------------- */

static void leader_killed(void **state)
{
    cs_t *cs = *state;
    boot_with_jobs(cs, 3, "leader", 5);
    kill_one(cs, jobs_leader(cs), SIGKILL, false, "leader_killed");
}

/* ---- (b) a follower of the jobs stream SIGKILLed, then restarted -------------------------- */

static void follower_killed(void **state)
{
    cs_t *cs = *state;
    boot_with_jobs(cs, 3, "follower", 5);
    kill_one(cs, (jobs_leader(cs) + 1) % cs->nodes.n, SIGKILL, false, "follower_killed");
}

/* ---- (c) the whole cluster restarted with jobs queued -------------------------------------- */

static void whole_cluster_restart(void **state)
{
    cs_t *cs = *state;
    boot_with_jobs(cs, 3, "restart", 3);
    int before = cs_results_seen(cs);
    double t_down = jt_proc_now();
    for (int i = 0; i < cs->nodes.n; i++)
        cl_node_kill(&cs->nodes, i, SIGTERM);
    printf("whole_cluster_restart: all %d nodes stopped in %.1f s with %d of %d jobs done\n",
           cs->nodes.n, jt_proc_now() - t_down, before, cs->n_ids);
    jt_proc_sleep_ms(2000);
    double t_up = jt_proc_now();
    for (int i = 0; i < cs->nodes.n; i++)
        CS_CHECK(cs, cl_node_start(&cs->nodes, i) == 0);
    for (int i = 0; i < cs->nodes.n; i++)
        if (cl_node_wait_healthy(&cs->nodes, i, RECOVER_S) != 0)
            cs_fail(cs, "node %d not healthy after the restart", i + 1);
    double t_healthy = jt_proc_now() - t_up;
    double t_leader = cs_wait_leader(cs, JT_STREAM_JOBS, NULL, RECOVER_S);
    double t_accept = cs_wait_accepting(cs, "restart-after", RECOVER_S);
    double t_result = wait_next_result(cs, cs_results_seen(cs), FINAL_S);
    printf("whole_cluster_restart: nodes healthy %.1f s after their start; jobs stream led "
           "after %.1f s more; a job accepted after %.1f s; the next job completed %.1f s after "
           "that\n",
           t_healthy, t_leader, t_accept, t_result);
    if (t_leader < 0 || t_accept < 0 || t_result < 0)
        cs_fail(cs, "whole_cluster_restart: no recovery");
    cs_check(cs, "whole_cluster_restart", FINAL_S);
    printf("whole_cluster_restart: all %d jobs final %.1f s after the nodes started again\n",
           cs->n_ids, jt_proc_now() - t_up);
}

/* ---- (d) a node lost for good: SIGKILLed and back with an empty store -------------------- */

static void node_lost_for_good(void **state)
{
    cs_t *cs = *state;
    boot_with_jobs(cs, 3, "lost", 5);
    kill_one(cs, jobs_leader(cs), SIGKILL, true, "node_lost_for_good");
}

/* ---- (e) a single node (no cluster) SIGKILLed with jobs queued ---------------------------- */

static void single_node_kill9(void **state)
{
    cs_t *cs = *state;
    boot_with_jobs(cs, 1, "single", 3);
    int before = cs_results_seen(cs);
    double t_kill = jt_proc_now();
    cl_node_kill(&cs->nodes, 0, SIGKILL);
    printf("single_node_kill9: killed the only node with %d of %d jobs done\n", before,
           cs->n_ids);
    jt_proc_sleep_ms(1000);
    bring_back(cs, 0, "single_node_kill9");
    double t_accept = cs_wait_accepting(cs, "single-after", RECOVER_S);
    double t_result = wait_next_result(cs, cs_results_seen(cs), FINAL_S);
    printf("single_node_kill9: a job accepted %.1f s after the restart; the next completed %.1f "
           "s after that\n",
           t_accept, t_result);
    if (t_accept < 0 || t_result < 0)
        cs_fail(cs, "single_node_kill9: no recovery");
    cs_check(cs, "single_node_kill9", FINAL_S);
    printf("single_node_kill9: all %d jobs final %.1f s after the kill\n", cs->n_ids,
           jt_proc_now() - t_kill);
}

/* ---- replicas: detected, raised, never lowered; start-up waits for a quorum -------------- */

/* Replicas of stream name (-1 when it cannot be read). */
static int64_t replicas_of(jt_bus_t *bus, const char *name)
{
    jsStreamInfo *si = NULL;
    if (js_GetStreamInfo(&si, bus->js, name, NULL, NULL) != NATS_OK)
        return -1;
    int64_t r = si->Config->Replicas;
    jsStreamInfo_Destroy(si);
    return r;
}

typedef struct {
    const char *urls;
    jt_status_t st;
    jt_error_t err;
    double seconds;
} connect_job_t;

/* A program starting while the cluster has no quorum: jt_bus_connect on its own thread. */
static void *connect_thread(void *arg)
{
    connect_job_t *c = arg;
    jt_bus_t bus;
    double t0 = jt_proc_now();
    c->st = jt_bus_connect(c->urls, "test-quorum", NULL, &bus, &c->err);
    c->seconds = jt_proc_now() - t0;
    if (c->st == JT_OK)
        jt_bus_close(&bus);
    return NULL;
}

static void topology_replicas(void **state)
{
    cs_t *cs = *state;
    cs_boot_nodes(cs, 3);
    const char *urls = cs->nodes.urls;
    jt_error_t err;
    jt_bus_t bus;
    jt_topology_opts_t one;
    jt_topology_opts_init(&one);
    one.replicas = 1; /* a topology made with one replica, as before this change */
    CS_CHECK(cs, jt_bus_connect(urls, "test-r1", &one, &bus, &err) == JT_OK);
    CS_CHECK(cs, replicas_of(&bus, JT_STREAM_JOBS) == 1);
    jt_bus_close(&bus);

    /* Every URL given: 3 servers known, so everything is raised to 3. */
    CS_CHECK(cs, jt_bus_connect(urls, "test-auto", NULL, &bus, &err) == JT_OK);
    CS_CHECK(cs, replicas_of(&bus, JT_STREAM_JOBS) == 3);
    CS_CHECK(cs, replicas_of(&bus, "KV_" JT_KV_TASKS) == 3);
    CS_CHECK(cs, replicas_of(&bus, "KV_" JT_KV_LEASES) == 3);
    jsConsumerInfo *ci = NULL;
    CS_CHECK(cs, js_GetConsumerInfo(&ci, bus.js, JT_STREAM_JOBS, JT_CONSUMER_WORKERS, NULL,
                                    NULL) == NATS_OK);
    /* the leader, when one is elected already, plus the peers listed as replicas */
    const jsClusterInfo *cl = ci->Cluster;
    int consumer_peers = cl == NULL ? 1
                                    : (cl->Leader != NULL && cl->Leader[0] != '\0') +
                                          cl->ReplicasLen;
    jsConsumerInfo_Destroy(ci);
    printf("topology_replicas: raised from 1 to 3 replicas; the consumer has %d\n",
           consumer_peers);
    CS_CHECK(cs, consumer_peers == 3);
    jt_bus_close(&bus);

    /* Asked for fewer: the larger count is kept. */
    setenv(JT_REPLICAS_ENV, "1", 1);
    jt_status_t st = jt_bus_connect(urls, "test-down", NULL, &bus, &err);
    unsetenv(JT_REPLICAS_ENV);
    CS_CHECK(cs, st == JT_OK);
    CS_CHECK(cs, replicas_of(&bus, JT_STREAM_JOBS) == 3);
    CS_CHECK(cs, replicas_of(&bus, "KV_" JT_KV_IDEMPOTENCY) == 3);
    jt_bus_close(&bus);

    setenv(JT_REPLICAS_ENV, "9", 1);
    st = jt_bus_connect(urls, "test-bad", NULL, &bus, &err);
    unsetenv(JT_REPLICAS_ENV);
    CS_CHECK(cs, st == JT_ERR_CONFIG);
    CS_CHECK(cs, strstr(err.message, JT_REPLICAS_ENV) != NULL);

    /* Two of three nodes down: a program starting now waits for the quorum, then works. */
    cl_node_kill(&cs->nodes, 1, SIGKILL);
    cl_node_kill(&cs->nodes, 2, SIGKILL);
    connect_job_t job = {.urls = urls};
    pthread_t t;
    CS_CHECK(cs, pthread_create(&t, NULL, connect_thread, &job) == 0);
    jt_proc_sleep_ms(4000);
    double t_up = jt_proc_now();
    CS_CHECK(cs, cl_node_start(&cs->nodes, 1) == 0 && cl_node_start(&cs->nodes, 2) == 0);
    pthread_join(t, NULL);
    printf("topology_replicas: start-up without quorum waited %.1f s, %.1f s after the nodes "
           "came back: %s\n",
           job.seconds, jt_proc_now() - t_up, job.st == JT_OK ? "connected" : job.err.message);
    if (job.st != JT_OK)
        cs_fail(cs, "start-up without quorum failed: %s", job.err.message);
    CS_CHECK(cs, job.seconds >= 4.0);
}

/* ---- the gateway stops on SIGTERM while its subscriptions overflow ------------------------ */

#define FLOOD_TASK "sigterm-flood"
#define FLOOD_RECORDS 30000
#define FLOOD_ROUNDS 3
#define STOP_WITHIN_S 20.0

/* Open an event stream of FLOOD_TASK on the gateway without reading it. */
static int open_stream(cs_t *cs)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CS_CHECK(cs, fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)cs->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CS_CHECK(cs, connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET /api/v1/tasks/" FLOOD_TASK "/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Accept: text/event-stream\r\n\r\n");
    CS_CHECK(cs, write(fd, req, (size_t)n) == n);
    return fd;
}

/* Publish FLOOD_RECORDS distinct progress records of about 1 KB on FLOOD_TASK's subject. */
static void flood(cs_t *cs)
{
    char pad[900];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < FLOOD_RECORDS; i++) {
        json_t *rec = json_pack("{s:s, s:s, s:s, s:i, s:s}", "task_id", FLOOD_TASK, "status",
                                "measuring", "updated_at", "2099-01-01T00:00:00Z", "trial", i,
                                "stage", pad);
        jt_blob_t mp = {NULL, 0};
        CS_CHECK(cs, jt_value_from_json(rec, "", &mp, NULL) == JT_OK);
        json_decref(rec);
        natsConnection_Publish(cs->bus.nc, JT_SUBJECT_PROGRESS_PREFIX FLOOD_TASK, mp.data,
                               (int)mp.len);
        jt_blob_free(&mp);
    }
    natsConnection_FlushTimeout(cs->bus.nc, 10000);
}

/* Occurrences of needle in the file at path (0 when unreadable); reads at most 64 MiB. */
static int count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[4096];
    int n = 0;
    size_t read_total = 0;
    while (read_total < (64u << 20) && fgets(line, sizeof line, f) != NULL) {
        read_total += strlen(line);
        n += strstr(line, needle) != NULL;
    }
    fclose(f);
    return n;
}

static void gateway_sigterm_under_flood(void **state)
{
    cs_t *cs = *state;
    cs_boot(cs, 1);
    json_t *rec = jt_task_record_new(FLOOD_TASK, JT_TASK_MEASURING);
    jt_error_t err;
    CS_CHECK(cs, jt_task_put(cs->bus.tasks, FLOOD_TASK, rec, 0, NULL, &err) == JT_OK);
    json_decref(rec);
    for (int round = 1; round <= FLOOD_ROUNDS; round++) {
        if (round > 1) /* the previous round stopped it: a fresh gateway */
            cs_restart_gateway(cs);
        int fd = open_stream(cs);
        jt_proc_sleep_ms(500);
        flood(cs);
        double t0 = jt_proc_now();
        CS_CHECK(cs, kill(cs->gw.pid, SIGTERM) == 0);
        int status = -1;
        bool gone = false;
        char sink[65536];
        while (!gone && jt_proc_now() - t0 < STOP_WITHIN_S) {
            while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
                ;
            gone = jt_proc_reap(cs->gw.pid, 0.1, &status);
        }
        close(fd);
        if (!gone)
            cs_fail(cs, "round %d: the gateway did not stop within %.0f s of SIGTERM", round,
                    STOP_WITHIN_S);
        cs->gw.pid = 0;
        printf("gateway_sigterm_under_flood: round %d: stopped %.2f s after SIGTERM (exit %d); "
               "%d asynchronous NATS errors logged so far\n",
               round, jt_proc_now() - t0, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
               count_in_file(cs->gw.log, "NATS asynchronous error"));
        CS_CHECK(cs, WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(topology_replicas, cs_setup, cs_teardown),
    cmocka_unit_test_setup_teardown(leader_killed, cs_setup, cs_teardown),
    cmocka_unit_test_setup_teardown(follower_killed, cs_setup, cs_teardown),
    cmocka_unit_test_setup_teardown(whole_cluster_restart, cs_setup, cs_teardown),
    cmocka_unit_test_setup_teardown(node_lost_for_good, cs_setup, cs_teardown),
    cmocka_unit_test_setup_teardown(single_node_kill9, cs_setup, cs_teardown),
    cmocka_unit_test_setup_teardown(gateway_sigterm_under_flood, cs_setup, cs_teardown),
};

JT_UNIT_MAIN(tests)
