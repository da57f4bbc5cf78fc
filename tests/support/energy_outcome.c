/* energy_outcome.c -- energy tests: one finished worker command, its output and its numbers. */
#include "energy_outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "energy_core_watch.h"
#include "json_path.h"

#define OUT_MAX (4u << 20)    /* stdout kept (a result is far smaller) */
#define JSON_TAIL_SHOWN 1500u /* bytes of stdout shown on a failure */

outcome_t *outcome_new(const char *label)
{
    outcome_t *o = calloc(1, sizeof *o);
    if (o == NULL || (o->out = malloc(OUT_MAX + 1)) == NULL) {
        free(o);
        return NULL;
    }
    o->out[0] = '\0';
    o->exit_code = -1;
    snprintf(o->label, sizeof o->label, "%s", label);
    return o;
}

void outcome_keep_out(outcome_t *o, const char *data, size_t n)
{
    o->out_total += n;
    size_t k = n < OUT_MAX - o->out_len ? n : OUT_MAX - o->out_len;
    memcpy(o->out + o->out_len, data, k);
    o->out_len += k;
    o->out[o->out_len] = '\0';
}

void outcome_keep_err(outcome_t *o, const char *data, size_t n)
{
    if (n >= ERR_TAIL) {
        data += n - ERR_TAIL;
        n = ERR_TAIL;
    }
    if (o->err_len + n > ERR_TAIL) {
        size_t drop = o->err_len + n - ERR_TAIL;
        memmove(o->err, o->err + drop, o->err_len - drop);
        o->err_len -= drop;
    }
    memcpy(o->err + o->err_len, data, n);
    o->err_len += n;
    o->err[o->err_len] = '\0';
}

void outcome_free(outcome_t *o)
{
    if (o == NULL)
        return;
    json_decref(o->json);
    free(o->out);
    free(o);
}

double num(const outcome_t *o, const char *path)
{
    return jt_json_number_at(o->json, path);
}

const char *str(const outcome_t *o, const char *path)
{
    const char *s = json_string_value(jt_json_at(o->json, path));
    return s ? s : "(absent)";
}

double energy(const outcome_t *o)
{
    return num(o, "energy_metrics.median_total_energy_joules");
}

void print_summary(const outcome_t *o)
{
    fprintf(stderr, "[%s] exit %d, %.1f s, foreign load on core %d in %ld of %ld scans", o->label,
            o->exit_code, o->wall, MEASURE_CORE, o->foreign, o->samples);
    if (o->json)
        fprintf(stderr, ", status %s", str(o, "status"));
    if (jt_json_at(o->json, "error_type"))
        fprintf(stderr, " (%s: %.300s)", str(o, "error_type"), str(o, "error"));
    fputc('\n', stderr);
    if (!jt_json_at(o->json, "energy_metrics"))
        return;
    fprintf(stderr,
            "  per run: total %.5f J (package %.5f, ram %.5f), %.5f s, power %.3f W; mode %s\n"
            "  statistics: trials %.0f, warmup %.0f, repeats %.0f, median %.5f, cv %.2f%%, "
            "stop '%s'\n"
            "  harness overhead %.5f J/run (package) %.5f s/run; meter %s, idle %.3f W\n",
            energy(o), num(o, "energy_metrics.median_package_energy_joules"),
            num(o, "energy_metrics.median_ram_energy_joules"),
            num(o, "energy_metrics.median_execution_time_seconds"),
            num(o, "energy_metrics.power_consumption_watts"), str(o, "repetition_mode"),
            num(o, "statistics.trials"), num(o, "statistics.warmup_trials"),
            num(o, "statistics.repeats_per_trial"), num(o, "statistics.median"),
            num(o, "statistics.cv_percent"), str(o, "statistics.early_stop_reason"),
            num(o, "harness_overhead_joules_per_run.package"),
            num(o, "harness_overhead_seconds_per_run"),
            str(o, "measurement_environment.meter_type"),
            num(o, "measurement_environment.calibration.idle_power_watts"));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(o->json, "trials"), i, t)
    {
        fprintf(stderr,
                "  trial %zu: %lld runs, %.4f s, gross package %.4f J, net %.5f J/run, "
                "%.5f s/run, %.3f W%s\n",
                i, (long long)json_integer_value(json_object_get(t, "repeats")),
                json_number_value(json_object_get(t, "seconds")),
                json_number_value(jt_json_at(t, "gross_joules.package")),
                json_number_value(json_object_get(t, "net_total_joules_per_run")),
                json_number_value(json_object_get(t, "net_seconds_per_run")),
                json_number_value(json_object_get(t, "net_power_watts")),
                json_is_true(json_object_get(t, "outlier")) ? " (outlier)" : "");
    }
}

void print_tails(const outcome_t *o)
{
    size_t shown = o->out_len < JSON_TAIL_SHOWN ? o->out_len : JSON_TAIL_SHOWN;
    fprintf(stderr, "---- [%s] stdout: %zu bytes, last %zu ----\n%.*s\n", o->label, o->out_total,
            shown, (int)shown, o->out + o->out_len - shown);
    fprintf(stderr, "---- [%s] stderr tail ----\n%.*s\n---- end [%s] ----\n", o->label,
            (int)o->err_len, o->err, o->label);
}
