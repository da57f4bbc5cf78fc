/* cli_summary.c -- the jouletrace client's readable summaries of task, batch and validation
 * records. */
#include "cli_summary.h"

#include <math.h>
#include <string.h>

#include "cli.h"

#define LABEL "%-12s"

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The number member key of o into *v; 0 when absent or not a finite number. */
static int num(const json_t *o, const char *key, double *v)
{
    const json_t *n = json_object_get(o, key);
    if (!json_is_number(n) || !isfinite(json_number_value(n)))
        return 0;
    *v = json_number_value(n);
    return 1;
}

/* An integer member of o, or -1. */
static long long count(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

#define LINE_MAX_CHARS 1024 /* characters of one message line shown */

/* The first line of s, at most LINE_MAX_CHARS characters. */
static void line_of(FILE *out, const char *s)
{
    int n = (int)strcspn(s, "\r\n");
    fprintf(out, "%.*s", n > LINE_MAX_CHARS ? LINE_MAX_CHARS : n, s);
}

int jt_cli_status_final(const json_t *rec)
{
    const char *s = str(rec, "status");
    return s &&
           (strcmp(s, "completed") == 0 || strcmp(s, "failed") == 0 || strcmp(s, "cancelled") == 0);
}

int jt_cli_status_exit(const json_t *rec)
{
    const char *s = str(rec, "status");
    return s && strcmp(s, "completed") == 0 ? JT_CLI_OK : JT_CLI_FAILED;
}

void jt_cli_summary_validation(FILE *out, const json_t *v)
{
    if (!json_is_object(v))
        return;
    long long passed = count(v, "passed_tests"), total = count(v, "total_tests");
    const json_t *ok = json_object_get(v, "is_correct");
    fprintf(out, LABEL "%s", "validation",
            json_is_true(ok) ? "correct" : (json_is_false(ok) ? "incorrect" : "unknown"));
    if (passed >= 0 && total >= 0)
        fprintf(out, ": %lld/%lld tests passed", passed, total);
    fputc('\n', out);
    const char *summary = str(v, "error_summary");
    if (summary) {
        fprintf(out, LABEL, "");
        line_of(out, summary);
        fputc('\n', out);
    }
    const json_t *tests = json_object_get(v, "test_results");
    size_t i, shown = 0;
    const json_t *t;
    json_array_foreach(tests, i, t)
    {
        if (!json_is_false(json_object_get(t, "passed")))
            continue;
        if (shown++ == JT_CLI_SUMMARY_TESTS_MAX) {
            fprintf(out, LABEL "...\n", "");
            break;
        }
        const char *id = str(t, "test_id"), *status = str(t, "status"), *msg = str(t, "message");
        fprintf(out, LABEL "%.64s %.32s", "", id ? id : "?", status ? status : "failed");
        if (msg) {
            fputs(": ", out);
            line_of(out, msg);
        }
        fputc('\n', out);
    }
}

/* energy_metrics, with the interval of statistics and the meter of measurement_environment. */
static void energy(FILE *out, const json_t *rec)
{
    const json_t *e = json_object_get(rec, "energy_metrics");
    const json_t *st = json_object_get(rec, "statistics");
    double total, lo, hi, v;
    if (!json_is_object(e) || !num(e, "median_total_energy_joules", &total))
        return;
    bool bound = json_is_true(json_object_get(e, "is_upper_bound"));
    fprintf(out, LABEL "%s%.4g J per run", "energy", bound ? "at most " : "", total);
    if (num(st, "ci95_low", &lo) && num(st, "ci95_high", &hi))
        fprintf(out, ", 95%% interval [%.4g, %.4g] J", lo, hi);
    fputc('\n', out);
    fprintf(out, LABEL, "");
    if (num(e, "median_package_energy_joules", &v))
        fprintf(out, "package %.4g J, ", v);
    if (num(e, "median_ram_energy_joules", &v))
        fprintf(out, "ram %.4g J, ", v);
    if (num(e, "median_execution_time_seconds", &v))
        fprintf(out, "time %.4g s, ", v);
    if (num(e, "power_consumption_watts", &v))
        fprintf(out, "power %.4g W, ", v);
    if (num(e, "energy_per_test_case_joules", &v))
        fprintf(out, "per test case %.4g J", v);
    fputc('\n', out);
    const json_t *env = json_object_get(rec, "measurement_environment");
    const char *meter = str(env, "meter_type");
    if (meter)
        fprintf(out, LABEL "meter %.32s%s\n", "", meter,
                json_is_true(json_object_get(env, "energy_is_estimated"))
                    ? " (estimated: a model, not a measurement)"
                    : "");
}

static void quality(FILE *out, const json_t *rec)
{
    const json_t *q = json_object_get(rec, "quality");
    const char *verdict = str(q, "verdict");
    if (!verdict)
        return;
    fprintf(out, LABEL "%.32s\n", "quality", verdict);
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(q, "reasons"), i, r)
    {
        if (i == JT_CLI_SUMMARY_TESTS_MAX)
            break;
        if (json_is_string(r)) {
            fprintf(out, LABEL, "");
            line_of(out, json_string_value(r));
            fputc('\n', out);
        }
    }
}

static void statistics(FILE *out, const json_t *rec)
{
    const json_t *st = json_object_get(rec, "statistics");
    long long trials = count(st, "trials"), repeats = count(st, "repeats_per_trial");
    double cv;
    if (trials < 0)
        return;
    fprintf(out, LABEL "%lld trials", "statistics", trials);
    if (repeats > 0)
        fprintf(out, " of %lld runs", repeats);
    if (num(st, "cv_percent", &cv))
        fprintf(out, ", CV %.2f %%", cv);
    const char *stop = str(st, "early_stop_reason");
    if (stop)
        fprintf(out, ", %.80s", stop);
    fputc('\n', out);
}

static void proxies(FILE *out, const json_t *rec)
{
    const json_t *p = json_object_get(rec, "proxies");
    if (!json_is_object(p))
        return;
    static const struct {
        const char *key, *name, *unit;
    } rows[] = {{"cpu_seconds", "cpu", " s"},
                {"peak_rss_kb", "peak RSS", " KiB"},
                {"instructions", "instructions", ""},
                {"cycles", "cycles", ""},
                {"cache_misses", "cache misses", ""}};
    fprintf(out, LABEL, "proxies");
    const char *sep = "";
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double v;
        if (num(p, rows[i].key, &v)) {
            fprintf(out, "%s%s %.4g%s", sep, rows[i].name, v, rows[i].unit);
            sep = ", ";
        }
    }
    const json_t *absent = json_object_get(p, "absent");
    if (json_is_object(absent) && json_object_size(absent) > 0) {
        fprintf(out, "%sabsent:", sep);
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)absent, k, v) fprintf(out, " %.32s", k);
    }
    fputc('\n', out);
}

void jt_cli_summary_task(FILE *out, const json_t *rec)
{
    const char *id = str(rec, "task_id"), *status = str(rec, "status");
    fprintf(out, LABEL "%.128s\n", "task", id ? id : "?");
    fprintf(out, LABEL "%.32s\n", "status", status ? status : "unknown");
    const char *etype = str(rec, "error_type"), *error = str(rec, "error");
    if (etype || error) {
        fprintf(out, LABEL "%.64s%s", "error", etype ? etype : "", etype && error ? ": " : "");
        if (error)
            line_of(out, error);
        fputc('\n', out);
    }
    jt_cli_summary_validation(out, json_object_get(rec, "validation"));
    energy(out, rec);
    quality(out, rec);
    statistics(out, rec);
    proxies(out, rec);
}

/* The ranking table. */
static void ranking(FILE *out, const json_t *rec)
{
    const json_t *rows = json_object_get(rec, "ranking");
    if (!json_is_array(rows) || json_array_size(rows) == 0)
        return;
    fprintf(out, "\n%-5s %-11s %-5s %-24s %-11s %s\n", "rank", "interval", "tier", "candidate",
            "median J", "95% interval J");
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r)
    {
        char interval[48] = "?", tier[24] = "?", median[32] = "?", ci[64] = "?";
        long long rank = count(r, "rank"), lo = count(r, "rank_low"), hi = count(r, "rank_high");
        long long t = count(r, "tier");
        double m = 0, cl = 0, ch = 0;
        if (lo >= 0 && hi >= 0)
            snprintf(interval, sizeof interval, "%lld-%lld", lo, hi);
        if (t >= 0)
            snprintf(tier, sizeof tier, "%lld", t);
        if (num(r, "median_energy_joules", &m))
            snprintf(median, sizeof median, "%.4g", m);
        if (num(r, "ci95_low", &cl) && num(r, "ci95_high", &ch))
            snprintf(ci, sizeof ci, "[%.4g, %.4g]", cl, ch);
        const char *id = str(r, "candidate_id");
        fprintf(out, "%-5lld %-11s %-5s %-24.128s %-11s %s\n", rank, interval, tier, id ? id : "?",
                median, ci);
    }
}

void jt_cli_summary_batch(FILE *out, const json_t *rec)
{
    const char *id = str(rec, "batch_id"), *status = str(rec, "status");
    fprintf(out, LABEL "%.128s\n", "batch", id ? id : "?");
    fprintf(out, LABEL "%.32s\n", "status", status ? status : "unknown");
    const json_t *counts = json_object_get(rec, "counts");
    long long n = count(rec, "n_candidates");
    if (n >= 0)
        fprintf(out, LABEL "%lld: correct %lld, failed %lld, queued %lld\n", "candidates", n,
                count(counts, "correct"), count(counts, "failed"), count(counts, "queued"));
    const char *ref = str(rec, "reference");
    if (ref)
        fprintf(out, LABEL "%.128s\n", "reference", ref);
    ranking(out, rec);
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(rec, "failed"), i, f)
    {
        if (i == 0)
            fprintf(out, "\nfailed\n");
        const char *cid = str(f, "candidate_id"), *stage = str(f, "stage");
        const char *why = str(f, "error_summary");
        fprintf(out, "  %.128s (%.32s)", cid ? cid : "?", stage ? stage : "?");
        if (why) {
            fputs(": ", out);
            line_of(out, why);
        }
        fputc('\n', out);
    }
    const json_t *c = json_object_get(rec, "comparison");
    double ratio, lo, hi, p;
    const char *cerr = str(c, "error");
    if (cerr) {
        fprintf(out, "\n" LABEL "not computed: ", "comparison");
        line_of(out, cerr);
        fputc('\n', out);
    } else if (json_is_object(c) && num(c, "ratio", &ratio)) {
        fprintf(out, "\n" LABEL "B/A %.4g", "comparison", ratio);
        if (num(c, "ci95_low", &lo) && num(c, "ci95_high", &hi))
            fprintf(out, ", 95%% interval [%.4g, %.4g]", lo, hi);
        if (num(c, "p_value", &p))
            fprintf(out, ", p %.3g", p);
        fprintf(out, ": %s\n",
                json_is_true(json_object_get(c, "b_uses_less"))   ? "B uses less energy"
                : json_is_true(json_object_get(c, "b_uses_more")) ? "B uses more energy"
                                                                  : "not told apart");
    }
}
