/* test_daemon.c -- `jouletrace-worker run` end to end: real nats-server, real worker processes. */
#include "unit_main.h"

#include <stdio.h>
#include <sys/shm.h>
#include <unistd.h>

#include "bus_names.h"
#include "bus_record.h"
#include "candidate.h"
#include "daemon_fixture.h"
#include "daemon_job.h"
#include "daemon_record.h"
#include "json_path.h"
#include "lease.h"
#include "proc_scan.h"
#include "record_keys.h"
#include "task_state.h"
#include "unpack.h"

static const char *const RESULT_KEYS[] = {"validation",
                                          "energy_metrics",
                                          "statistics",
                                          "trials",
                                          "harness_overhead_joules_per_run",
                                          "repetition_mode",
                                          "measurement_environment",
                                          NULL};

/* Whether the measurement lease of this host's socket 0 is free (no key in the leases KV). */
static bool lease_free(fixture_t *f)
{
    char host[256], key[JT_LEASE_KEY_MAX];
    gethostname(host, sizeof host);
    jt_lease_key(key, sizeof key, host, 0);
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, f->bus.leases, key);
    kvEntry_Destroy(e);
    return s == NATS_NOT_FOUND;
}

/* A job published straight to NATS (task id only in Nats-Msg-Id): progress on
 * its progress subject, a complete record on its result subject and in KV. */
static void direct_job_completes(void **state)
{
    fixture_t *f = *state;
    start_ready_worker(f, "w1");
    const char *id = "direct-1";
    natsSubscription *prog = subscribe(f, JT_SUBJECT_PROGRESS_PREFIX, id);
    natsSubscription *res = subscribe(f, JT_SUBJECT_RESULT_PREFIX, id);
    char body[4096];
    job_json(body, sizeof body, NULL, ADD_SRC, ADD_CASES, 2, 0.05);
    publish_job(f, id, body);

    json_t *rec = jt_bus_record_next(res, WAIT_S);
    CHECK(f, rec != NULL);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "completed") == 0);
    CHECK(f, strcmp(jt_json_str(rec, "task_id"), id) == 0);
    CHECK(f, strcmp(jt_json_str(rec, "worker"), "w1") == 0);
    CHECK(f, strcmp(jt_json_str(rec, "candidate_id"), "cand-1") == 0);
    CHECK(f, strcmp(jt_json_str(rec, "problem_name"), "test-problem") == 0);
    check_fields(f, rec, RECORD_KEYS);
    check_fields(f, rec, RESULT_KEYS);
    check_fields(f, json_object_get(rec, "validation"), VALIDATION_KEYS);
    check_fields(f, json_object_get(rec, "energy_metrics"), ENERGY_KEYS);
    check_fields(f, json_object_get(rec, "statistics"), STATISTICS_KEYS);
    check_fields(f, json_object_get(rec, "measurement_environment"), ENVIRONMENT_KEYS);
    CHECK(f, json_is_true(json_object_get(json_object_get(rec, "validation"), "is_correct")));
    CHECK(f, json_array_size(json_object_get(rec, "trials")) >= 1);
    CHECK(f, strcmp(jt_json_str(json_object_get(rec, "measurement_environment"), "meter_type"),
                    "estimate") == 0);
    CHECK(f, json_number_value(json_object_get(rec, "progress")) == 1.0);
    json_decref(rec);

    /* progress came first, in order: validating .. measuring .. completed */
    bool validating = false, measuring = false, completed = false;
    json_t *p;
    while ((p = jt_bus_record_next(prog, 3.0)) != NULL) {
        const char *st = jt_json_str(p, "status");
        CHECK(f, !completed); /* nothing after the final record */
        check_fields(f, p, RECORD_KEYS);
        if (strcmp(st, "validating") == 0) {
            CHECK(f, !measuring);
            validating = true;
        }
        if (strcmp(st, "measuring") == 0) {
            measuring = true;
            CHECK(f, validating);
            CHECK(f, json_integer_value(json_object_get(p, "trials_total")) == 2);
        }
        completed = completed || strcmp(st, "completed") == 0;
        json_decref(p);
    }
    CHECK(f, validating && measuring && completed);

    jt_error_t err;
    CHECK(f, jt_task_get(f->bus.tasks, id, &rec, NULL, &err) == JT_OK);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "completed") == 0);
    check_fields(f, rec, RESULT_KEYS);
    json_decref(rec);
    CHECK(f, lease_free(f));
    natsSubscription_Destroy(prog);
    natsSubscription_Destroy(res);
}

/* An incorrect solution ends failed with every validation detail. */
static void incorrect_solution_fails(void **state)
{
    fixture_t *f = *state;
    start_ready_worker(f, "w1");
    const char *id = "wrong-1";
    natsSubscription *res = subscribe(f, JT_SUBJECT_RESULT_PREFIX, id);
    char body[4096];
    job_json(body, sizeof body, id, WRONG_SRC, ADD_CASES, 2, 0.05);
    publish_job(f, id, body);
    json_t *rec = jt_bus_record_next(res, WAIT_S);
    CHECK(f, rec != NULL);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "failed") == 0);
    CHECK(f, strcmp(jt_json_str(rec, "error_type"), "incorrect") == 0);
    check_fields(f, rec, RECORD_KEYS);
    json_t *v = json_object_get(rec, "validation");
    check_fields(f, v, VALIDATION_KEYS);
    CHECK(f, json_is_false(json_object_get(v, "is_correct")));
    CHECK(f, json_integer_value(json_object_get(v, "passed_tests")) == 0);
    CHECK(f, json_integer_value(json_object_get(v, "total_tests")) == 2);
    json_t *tr = json_object_get(v, "test_results");
    CHECK(f, json_array_size(tr) == 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *t = json_array_get(tr, i);
        CHECK(f, strcmp(jt_json_str(t, "status"), "wrong_answer") == 0);
        CHECK(f, strstr(jt_json_str(t, "message"), "expected") != NULL);
    }
    CHECK(f, strlen(jt_json_str(v, "error_summary")) > 0);
    json_decref(rec);
    jt_error_t err;
    CHECK(f, jt_task_get(f->bus.tasks, id, &rec, NULL, &err) == JT_OK);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "failed") == 0);
    CHECK(f, json_array_size(json_object_get(json_object_get(rec, "validation"), "test_results")) ==
                 2);
    json_decref(rec);
    natsSubscription_Destroy(res);
}

/* Bad msgpack fails that task with a clear error; the worker goes on. */
static void bad_msgpack_fails_task(void **state)
{
    fixture_t *f = *state;
    int w = start_ready_worker(f, "w1");
    static const uint8_t garbage[] = {0x83, 0xa3, 'f', 'o', 'o', 0xc1, 0xff, 0x00};
    publish_raw(f, "bad-1", garbage, sizeof garbage);
    json_t *rec = wait_record(f, "bad-1", "failed completed", WAIT_S);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "failed") == 0);
    CHECK(f, strcmp(jt_json_str(rec, "error_type"), "invalid_job") == 0);
    CHECK(f, strstr(jt_json_str(rec, "error"), "invalid job") != NULL);
    json_decref(rec);
    publish_raw(f, "bad-2", "not msgpack at all", 18);
    rec = wait_record(f, "bad-2", "failed completed", WAIT_S);
    CHECK(f, strcmp(jt_json_str(rec, "error_type"), "invalid_job") == 0);
    json_decref(rec);

    char body[4096];
    job_json(body, sizeof body, "good-1", ADD_SRC, ADD_CASES, 1, 0.0);
    publish_job(f, "good-1", body);
    rec = wait_record(f, "good-1", "completed failed cancelled", WAIT_S);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "completed") == 0);
    json_decref(rec);
    CHECK(f, jt_proc_alive(f->w[w].pid)); /* still running */
    double until = jt_nats_now() + 10;
    while (jt_bus_pending_jobs(&f->bus) != 0 && jt_nats_now() < until)
        jt_nats_sleep_ms(50);
    CHECK(f, jt_bus_pending_jobs(&f->bus) == 0); /* the bad ones are gone from the queue */
}

/* Cancelled before a worker took it: stored cancelled, never run. */
static void cancel_queued_job(void **state)
{
    fixture_t *f = *state;
    const char *id = "queued-cancel-1";
    json_t *queued = jt_task_record_new(id, JT_TASK_QUEUED); /* what the gateway writes */
    jt_error_t err;
    assert_int_equal(jt_task_put(f->bus.tasks, id, queued, 0, NULL, &err), JT_OK);
    assert_int_equal(kvStore_PutString(NULL, f->bus.cancels, id, "1"), NATS_OK);
    char body[4096];
    job_json(body, sizeof body, id, ADD_SRC, ADD_CASES, 2, 0.05);
    publish_job(f, id, body);
    start_ready_worker(f, "w1");
    json_t *rec = wait_record(f, id, "cancelled completed failed", WAIT_S);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "cancelled") == 0);
    CHECK(f, strcmp(jt_json_str(rec, "error_type"), "cancelled") == 0);
    CHECK(f, json_object_get(rec, "validation") == NULL); /* the gate never ran */
    CHECK(f, json_object_get(rec, "trials") == NULL);
    CHECK(f, strcmp(jt_json_str(rec, "created_at"), jt_json_str(queued, "created_at")) == 0);
    json_decref(rec);
    json_decref(queued);
    double until = jt_nats_now() + 10;
    while (jt_bus_pending_jobs(&f->bus) != 0 && jt_nats_now() < until)
        jt_nats_sleep_ms(50);
    CHECK(f, jt_bus_pending_jobs(&f->bus) == 0);
}

/* Wait for a progress record of status measuring on sub. */
static void wait_measuring(fixture_t *f, natsSubscription *sub)
{
    double until = jt_nats_now() + WAIT_S;
    while (jt_nats_now() < until) {
        json_t *p = jt_bus_record_next(sub, 1.0);
        bool measuring = p != NULL && strcmp(jt_json_str(p, "status"), "measuring") == 0;
        json_decref(p);
        if (measuring)
            return;
    }
    daemon_dump_logs(f);
    fail_msg("the job never started measuring");
}

/* Cancelled while measuring: the trial is killed, the lease released. */
static void cancel_running_job(void **state)
{
    fixture_t *f = *state;
    int w = start_ready_worker(f, "w1");
    const char *id = "running-cancel-1";
    natsSubscription *prog = subscribe(f, JT_SUBJECT_PROGRESS_PREFIX, id);
    char cases[256], body[4096];
    jt_burn_cases(cases, sizeof cases);
    job_json(body, sizeof body, id, BURN_SOLVE_SRC, cases, 50, 10.0); /* minutes of trials */
    publish_job(f, id, body);
    wait_measuring(f, prog);
    long t0 = jt_scan_descendant_ticks(f->w[w].pid);
    jt_nats_sleep_ms(1500); /* a trial is in flight: the candidate burns the measurement core */
    long burning = jt_scan_descendant_ticks(f->w[w].pid) - t0;
    print_message("descendants of the worker used %ld ticks in 1.5 s before the cancel\n", burning);
    CHECK(f, burning > sysconf(_SC_CLK_TCK) / 4);
    assert_int_equal(kvStore_PutString(NULL, f->bus.cancels, id, "1"), NATS_OK);
    char subject[256];
    assert_true(jt_bus_task_subject(subject, sizeof subject, JT_SUBJECT_CANCEL_PREFIX, id));
    assert_int_equal(natsConnection_Publish(f->bus.nc, subject, NULL, 0), NATS_OK);
    json_t *rec = wait_record(f, id, "cancelled completed failed", 60);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "cancelled") == 0);
    CHECK(f, strcmp(jt_json_str(rec, "error_type"), "cancelled") == 0);
    CHECK(f, json_object_get(rec, "validation") != NULL); /* the gate had passed */
    json_decref(rec);
    CHECK(f, lease_free(f));
    /* no candidate left burning CPU under the worker */
    jt_nats_sleep_ms(1000);
    long before = jt_scan_descendant_ticks(f->w[w].pid);
    jt_nats_sleep_ms(2000);
    long used = jt_scan_descendant_ticks(f->w[w].pid) - before;
    print_message("descendants of the worker used %ld ticks in 2 s after the cancel\n", used);
    CHECK(f, used < sysconf(_SC_CLK_TCK) / 2);
    /* the worker goes on with the next job */
    job_json(body, sizeof body, "after-cancel", ADD_SRC, ADD_CASES, 1, 0.0);
    publish_job(f, "after-cancel", body);
    rec = wait_record(f, "after-cancel", "completed failed cancelled", WAIT_S);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "completed") == 0);
    json_decref(rec);
    natsSubscription_Destroy(prog);
}

/* SIGTERM while idle: exit 0, heartbeat key gone. */
static void sigterm_idle_exits_clean(void **state)
{
    fixture_t *f = *state;
    int w = start_ready_worker(f, "w-idle");
    json_t *hb = heartbeat(f, "w-idle");
    CHECK(f, hb != NULL);
    static const char *const keys[] = {"worker_id",
                                       "host",
                                       "pid",
                                       "state",
                                       "task_id",
                                       "meter_type",
                                       "energy_is_estimated",
                                       "calibrated",
                                       "calibration_reason",
                                       "calibration_idle_watts",
                                       "calibrated_at",
                                       "calibration_valid_days",
                                       "measurement_core",
                                       "socket",
                                       "updated_at",
                                       NULL};
    check_fields(f, hb, keys);
    CHECK(f, json_integer_value(json_object_get(hb, "pid")) == f->w[w].pid);
    CHECK(f, strcmp(jt_json_str(hb, "state"), "idle") == 0);
    CHECK(f, json_is_null(json_object_get(hb, "task_id")));
    CHECK(f, strcmp(jt_json_str(hb, "meter_type"), "estimate") == 0);
    CHECK(f, json_is_true(json_object_get(hb, "energy_is_estimated")));
    CHECK(f, json_is_false(json_object_get(hb, "calibrated")));
    CHECK(f, strlen(jt_json_str(hb, "calibration_reason")) > 0);
    CHECK(f, json_is_null(json_object_get(hb, "calibrated_at"))); /* no calibration file */
    CHECK(f, json_integer_value(json_object_get(hb, "calibration_valid_days")) == 0);
    json_decref(hb);
    CHECK(f, stop_worker(f, w) == 0);
    hb = heartbeat(f, "w-idle");
    CHECK(f, hb == NULL);
    CHECK(f, lease_free(f));
}

/* SIGTERM while measuring: exit 0, the job goes back and another worker finishes it. */
static void sigterm_busy_gives_job_back(void **state)
{
    fixture_t *f = *state;
    int w1 = start_ready_worker(f, "w1");
    const char *id = "busy-1";
    natsSubscription *prog = subscribe(f, JT_SUBJECT_PROGRESS_PREFIX, id);
    char cases[256], body[4096];
    jt_burn_cases(cases, sizeof cases);
    job_json(body, sizeof body, id, BURN_SOLVE_SRC, cases, 3, 1.0);
    publish_job(f, id, body);
    wait_measuring(f, prog);
    CHECK(f, stop_worker(f, w1) == 0);
    json_t *rec = wait_record(f, id, "queued completed failed cancelled", 10);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "queued") == 0); /* given back, not lost */
    json_decref(rec);
    CHECK(f, heartbeat(f, "w1") == NULL);
    CHECK(f, lease_free(f));
    start_ready_worker(f, "w2");
    rec = wait_record(f, id, "completed failed cancelled", WAIT_S);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "completed") == 0);
    CHECK(f, strcmp(jt_json_str(rec, "worker"), "w2") == 0);
    json_decref(rec);
    natsSubscription_Destroy(prog);
}

/* A job JetStream gives up on (MaxDeliver deliveries, none acked: the workers
 * holding it died) is stored failed and removed from the queue. */
static void max_deliveries_stores_failed(void **state)
{
    fixture_t *f = *state;
    const char *id = "poison-1";
    char body[4096];
    job_json(body, sizeof body, id, ADD_SRC, ADD_CASES, 1, 0.0);
    publish_job(f, id, body);
    /* play the dying workers: take the job and never finish it */
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = JT_STREAM_JOBS;
    so.Consumer = JT_CONSUMER_WORKERS;
    natsSubscription *sub = NULL;
    assert_int_equal(
        js_PullSubscribe(&sub, f->bus.js, JT_SUBJECT_JOBS_ALL, JT_CONSUMER_WORKERS, NULL, &so, NULL),
        NATS_OK);
    for (int i = 0; i < JT_JOBS_MAX_DELIVER; i++) {
        natsMsgList list = {0};
        assert_int_equal(natsSubscription_Fetch(&list, sub, 1, 10000, NULL), NATS_OK);
        assert_int_equal(list.Count, 1);
        assert_int_equal(natsMsg_Nak(list.Msgs[0], NULL), NATS_OK);
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub);
    start_ready_worker(f, "w1");
    json_t *rec = wait_record(f, id, "failed completed cancelled", WAIT_S);
    CHECK(f, strcmp(jt_json_str(rec, "status"), "failed") == 0);
    CHECK(f, strcmp(jt_json_str(rec, "error_type"), "max_deliveries") == 0);
    json_decref(rec);
    double until = jt_nats_now() + 10;
    while (jt_bus_pending_jobs(&f->bus) != 0 && jt_nats_now() < until)
        jt_nats_sleep_ms(50);
    CHECK(f, jt_bus_pending_jobs(&f->bus) == 0);
}

/* Request/reply validation: correct, incorrect, bad input. */
static json_t *validate(fixture_t *f, const void *data, size_t len)
{
    natsMsg *reply = NULL;
    natsStatus s =
        natsConnection_Request(&reply, f->bus.nc, JT_SUBJECT_VALIDATE, data, (int)len, 60000);
    CHECK(f, s == NATS_OK);
    jt_error_t err;
    json_t *j = jt_unpack_json(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), &err);
    natsMsg_Destroy(reply);
    CHECK(f, json_is_object(j)); /* a msgpack map, like every payload on the bus */
    return j;
}

/* The validate reply for code on ADD_CASES. */
static json_t *validate_code(fixture_t *f, const char *code)
{
    char body[8192];
    uint8_t *data;
    size_t len;
    job_json(body, sizeof body, NULL, code, ADD_CASES, 1, 0.0);
    make_job(body, &data, &len);
    json_t *r = validate(f, data, len);
    free(data);
    return r;
}

static void validate_request_reply(void **state)
{
    fixture_t *f = *state;
    start_ready_worker(f, "w1");
    json_t *r = validate_code(f, ADD_SRC);
    json_t *v = json_object_get(r, "validation");
    check_fields(f, v, VALIDATION_KEYS);
    CHECK(f, json_is_true(json_object_get(v, "is_correct")));
    CHECK(f, json_integer_value(json_object_get(v, "passed_tests")) == 2);
    CHECK(f, json_is_number(json_object_get(r, "processing_time_seconds")));
    json_decref(r);

    r = validate_code(f, WRONG_SRC);
    v = json_object_get(r, "validation");
    CHECK(f, json_is_false(json_object_get(v, "is_correct")));
    CHECK(f, json_array_size(json_object_get(v, "test_results")) == 2);
    json_decref(r);

    r = validate(f, "\xc1 nonsense", 10);
    CHECK(f, strcmp(jt_json_str(r, "error"), "invalid_job") == 0);
    CHECK(f, strlen(jt_json_str(r, "message")) > 0);
    json_decref(r);
}

/* Validate code (ADD_CASES) through the worker's validate service; whether it
 * was judged correct (the reply goes to stderr when not). */
static bool validate_tenant(fixture_t *f, const char *code, char tenant)
{
    json_t *r = validate_code(f, code);
    bool correct = json_is_true(json_object_get(json_object_get(r, "validation"), "is_correct"));
    if (!correct) {
        char *text = json_dumps(r, JSON_COMPACT);
        fprintf(stderr, "tenant %c: %.3000s\n", tenant, text ? text : "?");
        free(text);
    }
    json_decref(r);
    return correct;
}

/* The first tenant's code carries a canary; the second, validated next by the
 * same worker and runner, scans its own memory for it (in two halves, so that
 * its own source never holds the whole canary). */
static const char TENANT_A_SRC[] = "CANARY = 'jtcanaryQ7tenantX9zz'\n"
                                   "def solve(a, b):\n"
                                   "    return a + b\n";
static const char TENANT_B_SRC[] =
    "import ctypes\n"
    "def solve(a, b):\n"
    "    h1, h2 = b'jtcanaryQ7', b'tenantX9zz'\n"
    "    found = scanned = 0\n"
    "    with open('/proc/self/maps') as m:\n"
    "        maps = m.read().splitlines()\n"
    "    for line in maps:\n"
    "        fields = line.split()\n"
    "        lo, hi = (int(x, 16) for x in fields[0].split('-'))\n"
    "        name = fields[5] if len(fields) > 5 else ''\n"
    "        if not fields[1].startswith('r') or name.startswith('[v') or hi - lo > (1 << 30):\n"
    "            continue\n"
    "        chunk = ctypes.string_at(lo, hi - lo)\n"
    "        scanned += len(chunk)\n"
    "        i = chunk.find(h1)\n"
    "        while i >= 0:\n"
    "            if chunk[i + len(h1):i + len(h1) + len(h2)] == h2:\n"
    "                found += 1\n"
    "            i = chunk.find(h1, i + 1)\n"
    "    if scanned < (1 << 20):\n"
    "        raise RuntimeError('own memory not readable: %d bytes' % scanned)\n"
    "    return a + b if found == 0 else -found\n";

/* One runner, two tenants: nothing of the first job's bytes is in the memory
 * of the second job's sandbox child (forked before the first job's data was
 * wiped, it would hold the first job's command frame). */
static void previous_job_invisible(void **state)
{
    fixture_t *f = *state;
    start_ready_worker(f, "w1");
    CHECK(f, validate_tenant(f, TENANT_A_SRC, 'A'));
    CHECK(f, validate_tenant(f, TENANT_B_SRC, 'B'));
}

/* A first tenant leaves SysV shared memory and a lock file behind; the next
 * job on the same runner finds neither, and neither outlives the jobs on the
 * host (IPC namespace and tmpfs on /run/lock: only as root). */
#define IPC_KEY "0x4a540001"
static const char IPC_A_SRC[] =
    "import ctypes, os\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "def solve(a, b):\n"
    "    if libc.shmget(" IPC_KEY ", 4096, 0o1000 | 0o600) < 0:\n"
    "        raise OSError(ctypes.get_errno(), 'shmget')\n"
    "    with open('/run/lock/jt-tenant-a', 'w') as f:\n"
    "        f.write('cached answer')\n"
    "    return a + b\n";
static const char IPC_B_SRC[] =
    "import ctypes, os\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "def solve(a, b):\n"
    "    seen = libc.shmget(" IPC_KEY ", 0, 0) >= 0 or os.path.exists('/run/lock/jt-tenant-a')\n"
    "    return -1 if seen else a + b\n";

static bool host_has_shm_key(const char *key_hex)
{
    long want = strtol(key_hex, NULL, 16);
    FILE *fp = fopen("/proc/sysvipc/shm", "r");
    char line[512];
    bool found = false;
    if (fp == NULL)
        return false;
    while (!found && fgets(line, sizeof line, fp) != NULL)
        found = strtol(line, NULL, 10) == want;
    fclose(fp);
    return found;
}

static void ipc_and_locks_private(void **state)
{
    fixture_t *f = *state;
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: the IPC namespace and /run/lock tmpfs need root\n");
        skip();
    }
    start_ready_worker(f, "w1");
    bool a_correct = validate_tenant(f, IPC_A_SRC, 'A'); /* first A, then B */
    bool b_correct = validate_tenant(f, IPC_B_SRC, 'B');
    bool shm_left = host_has_shm_key(IPC_KEY);
    bool lock_left = access("/run/lock/jt-tenant-a", F_OK) == 0;
    /* Clean the host up before judging, so that a failure leaves nothing. */
    int id = shmget((key_t)strtol(IPC_KEY, NULL, 16), 0, 0);
    if (id >= 0)
        shmctl(id, IPC_RMID, NULL);
    unlink("/run/lock/jt-tenant-a");
    CHECK(f, a_correct && b_correct);
    CHECK(f, !shm_left);
    CHECK(f, !lock_left);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(direct_job_completes, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(incorrect_solution_fails, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(bad_msgpack_fails_task, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(cancel_queued_job, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(cancel_running_job, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(sigterm_idle_exits_clean, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(sigterm_busy_gives_job_back, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(max_deliveries_stores_failed, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(validate_request_reply, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(previous_job_invisible, daemon_setup, daemon_teardown),
    cmocka_unit_test_setup_teardown(ipc_and_locks_private, daemon_setup, daemon_teardown),
};

JT_UNIT_MAIN(tests)
