/* meter_estimate.c -- meter backend: a CPU-time energy model for machines without counters.
 *
 * package energy = idle_watts x elapsed time + active_watts x busy time of
 * the measurement core (cpu_busy.c). Every number is an estimate and the
 * meter says so (jt_meter_is_estimate). Called under meter.c's mutex.
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "cpu_busy.h"
#include "clock.h"
#include "meter_backend.h"

typedef struct {
    jt_cpu_busy_t busy;
    double idle_watts, active_watts;
    uint64_t t0_ns, busy0_ns;
    uint64_t last_busy_ns; /* busy time never runs backwards here */
} estimate_state_t;

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
    jt_status_t s = jt_cpu_busy_init(&st->busy, cfg->measurement_core, NULL, err);
    if (s == JT_OK)
        s = jt_cpu_busy_read(&st->busy, &st->busy0_ns, err);
    if (s != JT_OK) {
        free(st);
        return s;
    }
    st->t0_ns = (uint64_t)jt_clock_now_ns();
    st->last_busy_ns = st->busy0_ns;
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
    uint64_t busy;
    jt_status_t s = jt_cpu_busy_read(&st->busy, &busy, err);
    if (s != JT_OK)
        return s;
    uint64_t now = (uint64_t)jt_clock_now_ns();
    if (busy > st->last_busy_ns)
        st->last_busy_ns = busy;
    double elapsed_ns = (double)(now - st->t0_ns);
    double busy_ns = (double)(st->last_busy_ns - st->busy0_ns);
    /* W x ns = nJ; /1000 = uJ. Both terms only grow, so the total is monotonic. */
    raw_uj[0] = (uint64_t)((st->idle_watts * elapsed_ns + st->active_watts * busy_ns) / 1000.0);
    return JT_OK;
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
};
