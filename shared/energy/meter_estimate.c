/* meter_estimate.c -- meter backend: a CPU-time energy model for machines without counters.
 *
 * package energy = idle_watts x elapsed time + active_watts x busy time, where
 * busy time is the CPU time of the measured box's cgroup while the meter
 * follows one (jt_meter_follow_cgroup: ns or us, only the box's processes),
 * else the busy time of the whole measurement core (cpu_busy.c). Every number
 * is an estimate and the meter says so (jt_meter_is_estimate). Called under
 * meter.c's mutex.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "cpu_busy.h"
#include "clock.h"
#include "meter_backend.h"

typedef struct {
    jt_cpu_busy_t core; /* the measurement core: the source without a box */
    jt_cpu_busy_t box;  /* the followed cgroup, when on_box */
    bool on_box;
    double idle_watts, active_watts;
    uint64_t t0_ns;
    uint64_t last_raw_ns; /* the current source's last reading */
    uint64_t busy_ns;     /* busy time since open, over every source used; never falls */
} estimate_state_t;

static const jt_cpu_busy_t *source(const estimate_state_t *st)
{
    return st->on_box ? &st->box : &st->core;
}

/* Add what the current source counted since its last reading. A count that
 * went back (a cgroup made again at the same path, a /proc/stat hiccup) is a
 * new start: nothing is added, nothing is taken away. */
static void advance(estimate_state_t *st, uint64_t raw)
{
    if (raw > st->last_raw_ns)
        st->busy_ns += raw - st->last_raw_ns;
    st->last_raw_ns = raw;
}

static jt_status_t estimate_open(const jt_meter_config_t *cfg, void **state,
                                 jt_meter_layout_t *layout, jt_error_t *err)
{
    double iw = cfg->estimate_idle_watts, aw = cfg->estimate_active_watts;
    if (!isfinite(iw) || !isfinite(aw) || iw < 0 || aw < 0 || iw + aw <= 0)
        return jt_error_set(err, JT_ERR_CONFIG, "estimate",
                            "estimate meter needs idle and active watts >= 0, not both 0 "
                            "(got idle %g W, active %g W)",
                            iw, aw);
    estimate_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    jt_status_t s = jt_cpu_busy_init(&st->core, cfg->measurement_core, NULL, err);
    if (s == JT_OK)
        s = jt_cpu_busy_read(&st->core, &st->last_raw_ns, err);
    if (s != JT_OK) {
        free(st);
        return s;
    }
    st->t0_ns = (uint64_t)jt_clock_now_ns();
    st->idle_watts = iw;
    st->active_watts = aw;
    layout->n = 1;
    layout->domain[0] = JT_DOMAIN_PACKAGE;
    layout->range_uj[0] = 0;
    *state = st;
    return JT_OK;
}

static jt_status_t estimate_read(void *state, uint64_t *raw_uj, jt_error_t *err)
{
    estimate_state_t *st = state;
    uint64_t raw;
    jt_status_t s = jt_cpu_busy_read(source(st), &raw, err);
    if (s != JT_OK)
        return s;
    uint64_t now = (uint64_t)jt_clock_now_ns();
    advance(st, raw);
    double elapsed_ns = (double)(now - st->t0_ns);
    /* W x ns = nJ; /1000 = uJ. Both terms only grow, so the total is monotonic. */
    raw_uj[0] =
        (uint64_t)((st->idle_watts * elapsed_ns + st->active_watts * (double)st->busy_ns) / 1000.0);
    return JT_OK;
}

/* Switch to the cgroup at dir ("": the core). The old source is read one
 * last time so that its busy time up to the switch is kept; the new one
 * counts from its reading now. */
static jt_status_t estimate_follow(void *state, const char *dir, jt_error_t *err)
{
    estimate_state_t *st = state;
    uint64_t raw;
    if (jt_cpu_busy_read(source(st), &raw, NULL) == JT_OK)
        advance(st, raw);
    jt_status_t why = JT_OK;
    jt_error_t box_err = {0};
    if (dir[0] != '\0') {
        jt_cpu_busy_t box;
        why = jt_cpu_busy_init_cgroup(&box, dir, &box_err);
        if (why == JT_OK)
            why = jt_cpu_busy_read(&box, &raw, &box_err);
        if (why == JT_OK) {
            st->box = box;
            st->on_box = true;
            st->last_raw_ns = raw;
            return JT_OK;
        }
    }
    st->on_box = false;
    jt_status_t s = jt_cpu_busy_read(&st->core, &raw, err);
    if (s != JT_OK)
        return s;
    st->last_raw_ns = raw;
    if (why != JT_OK)
        return jt_error_set(err, why, box_err.path,
                            "%.300s; the estimate meter counts the busy time of measurement core "
                            "%d (%s) instead",
                            box_err.message, st->core.core,
                            jt_cpu_busy_source_name(st->core.source));
    return JT_OK;
}

static const char *estimate_cpu_source(const void *state)
{
    return jt_cpu_busy_source_name(source(state)->source);
}

static void estimate_close(void *state)
{
    free(state);
}

const jt_meter_backend_t jt_estimate_backend = {
    .kind = JT_METER_ESTIMATE,
    .open = estimate_open,
    .read = estimate_read,
    .close = estimate_close,
    .follow = estimate_follow,
    .cpu_source = estimate_cpu_source,
};
