/* trial_usage.c -- sum, pack and decode the kernel-reported usage of a trial's runs. */
#include "trial_usage.h"

#include <limits.h>
#include <string.h>

#include "protocol.h"

static const char *const usage_keys[4] = {"user_us", "system_us", "max_rss_kb", "runs"};

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t timeval_us(const struct timeval *tv)
{
    if (tv->tv_sec < 0 || tv->tv_usec < 0)
        return 0;
    uint64_t sec = (uint64_t)tv->tv_sec;
    if (sec > (UINT64_MAX - 999999) / 1000000)
        return UINT64_MAX;
    return sec * 1000000 + (uint64_t)tv->tv_usec;
}

void jt_trial_usage_add(jt_trial_usage_t *u, const struct rusage *ru)
{
    u->present = true;
    u->user_us = add_saturating(u->user_us, timeval_us(&ru->ru_utime));
    u->system_us = add_saturating(u->system_us, timeval_us(&ru->ru_stime));
    uint64_t rss = ru->ru_maxrss > 0 ? (uint64_t)ru->ru_maxrss : 0; /* KiB on Linux */
    if (rss > u->max_rss_kb)
        u->max_rss_kb = rss;
    u->runs = add_saturating(u->runs, 1);
}

int jt_trial_usage_pack(msgpack_packer *pk, const jt_trial_usage_t *u)
{
    const uint64_t values[4] = {u->user_us, u->system_us, u->max_rss_kb, u->runs};
    if (msgpack_pack_map(pk, 4) != 0)
        return -1;
    for (size_t i = 0; i < 4; i++)
        if (jt_mp_pack_cstr(pk, usage_keys[i]) != 0 || msgpack_pack_uint64(pk, values[i]) != 0)
            return -1;
    return 0;
}

bool jt_trial_usage_decode(const msgpack_object *usage, jt_trial_usage_t *out)
{
    memset(out, 0, sizeof *out);
    if (usage == NULL || usage->type != MSGPACK_OBJECT_MAP)
        return false;
    uint64_t values[4];
    for (size_t i = 0; i < 4; i++) {
        const msgpack_object *v = jt_mp_find(usage, usage_keys[i]);
        if (v == NULL || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return false;
        values[i] = v->via.u64;
    }
    out->user_us = values[0];
    out->system_us = values[1];
    out->max_rss_kb = values[2];
    out->runs = values[3];
    out->present = true;
    return true;
}

static json_int_t clamp_json(uint64_t v)
{
    return v > (uint64_t)LLONG_MAX ? (json_int_t)LLONG_MAX : (json_int_t)v;
}

json_t *jt_trial_usage_json(const jt_trial_usage_t *u)
{
    if (!u->present)
        return json_null();
    return json_pack("{s:I, s:I, s:I, s:I}", usage_keys[0], clamp_json(u->user_us), usage_keys[1],
                     clamp_json(u->system_us), usage_keys[2], clamp_json(u->max_rss_kb),
                     usage_keys[3], clamp_json(u->runs));
}
