/* fuzz_frames.c -- libFuzzer target: the internal frames (frame reader over a pipe, then
 * jt_mp_unpack_one and the value rules every frame's payload meets).
 *
 * Input: byte 0 picks the reader's maximum frame length, byte 1 the size of the writes
 * into the pipe, the rest is the byte stream a peer (runner, sandbox child, run) sends.
 * The reader must yield exactly the frames a model of the format finds in the stream, in
 * order and byte for byte, then JT_ERR_TOO_LARGE at the first frame over the maximum or
 * JT_ERR_EOF at the end. Each payload must decode with jt_mp_unpack_one exactly when
 * jt_unpack_value accepts it, re-encode canonically, compare equal to itself with the
 * gate's comparison (symmetrically), survive the JSON conversion, and be wiped entirely
 * by jt_mp_wipe.
 */
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "compare.h"
#include "frame.h"
#include "fuzz_check.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reader's maximum frame length, picked by byte 0 of the input. */
static const size_t max_lens[8] = {0, 1, 16, 255, 4096, 65536, 1u << 20, JT_FRAME_MAX_BYTES};

/* Frames up to this size are also written with jt_frame_write and read back with
 * jt_frame_read through a fresh pipe (its buffer holds them whole). */
#define ROUND_TRIP_MAX 16384

/* ---- value properties --------------------------------------------------------------- */

/* Whether two map keys (strings in a checked value) are the same bytes. */
static bool same_key(const msgpack_object *a, const msgpack_object *b)
{
    return a->via.str.size == b->via.str.size &&
           (a->via.str.size == 0 || memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0);
}

/* A map that repeats a key (the gate's comparison says such a map equals nothing). */
static bool is_map_with_repeated_key(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return false;
    const msgpack_object_kv *kv = o->via.map.ptr;
    for (uint32_t i = 0; i < o->via.map.size; i++)
        for (uint32_t j = 0; j < i; j++)
            if (same_key(&kv[i].key, &kv[j].key))
                return true;
    return false;
}

static bool has_repeated_key(const msgpack_object *o)
{
    return fuzz_any(o, is_map_with_repeated_key);
}

/* A float JSON lacks (NaN, infinities: jt_value_to_json writes them as strings). */
static bool is_non_finite(const msgpack_object *o)
{
    return (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64) &&
           !isfinite(o->via.f64);
}

/* Whether every byte and number of o is zero, as jt_mp_wipe leaves it. */
static bool all_wiped(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        for (uint32_t i = 0; i < o->via.str.size; i++)
            if (o->via.str.ptr[i] != 0)
                return false;
        return true;
    case MSGPACK_OBJECT_EXT: /* a big integer's digits */
        for (uint32_t i = 0; i < o->via.ext.size; i++)
            if (o->via.ext.ptr[i] != 0)
                return false;
        return true;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (!all_wiped(&o->via.array.ptr[i]))
                return false;
        return true;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++)
            if (!all_wiped(&o->via.map.ptr[i].key) || !all_wiped(&o->via.map.ptr[i].val))
                return false;
        return true;
    default:
        return o->via.u64 == 0 && o->via.boolean == false;
    }
}

/* The canonical encoding decodes to a value that encodes to the same bytes. */
static void check_canonical(const msgpack_object *o)
{
    msgpack_sbuffer a;
    msgpack_unpacked u;
    fuzz_pack(&a, o);
    if (!jt_mp_unpack_one(&u, a.data, a.size) || !fuzz_packs_to(&u.data, a.data, a.size))
        abort();
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&a);
}

/* The value as JSON (what the gateway serves) converts back to a value the gate's
 * comparison finds equal without any tolerance, unless it holds floats JSON lacks, a string
 * that reads back as an integer (fuzz_is_marked_string) or a map that repeats a key (a
 * JSON object cannot). */
static void check_json(const msgpack_object *o)
{
    json_t *j = fuzz_value_json(o);
    if (j != NULL && !fuzz_any(o, is_non_finite) && !fuzz_any(o, fuzz_is_marked_string) &&
        !has_repeated_key(o)) {
        static const jt_tolerance_t exact = {0, 0};
        jt_error_t err;
        jt_blob_t blob = {NULL, 0};
        msgpack_unpacked u;
        if (jt_value_from_json(j, "", &blob, &err) != JT_OK ||
            !jt_mp_unpack_one(&u, blob.data, blob.len) || !jt_values_equal(&u.data, o, &exact))
            abort();
        msgpack_unpacked_destroy(&u);
        jt_blob_free(&blob);
    }
    json_decref(j);
}

/* The gate's comparison: every value equals itself unless a map repeats a key, and the
 * first two items of an array compare the same both ways. */
static void check_compare(const msgpack_object *o)
{
    if (jt_values_equal(o, o, NULL) == has_repeated_key(o))
        abort();
    if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size >= 2) {
        const msgpack_object *a = &o->via.array.ptr[0], *b = &o->via.array.ptr[1];
        if (jt_values_equal(a, b, NULL) != jt_values_equal(b, a, NULL))
            abort();
    }
}

/* The lookups frame handlers use, on every entry of a top-level map. */
static void check_lookups(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        char key[64];
        if (kv->key.via.str.size >= sizeof key ||
            memchr(kv->key.via.str.ptr, 0, kv->key.via.str.size) != NULL)
            continue;
        memcpy(key, kv->key.via.str.ptr, kv->key.via.str.size);
        key[kv->key.via.str.size] = '\0';
        /* jt_mp_find gives the value of the first entry with that key. */
        uint32_t first = 0;
        while (!jt_mp_str_eq(&o->via.map.ptr[first].key, key))
            first++;
        const msgpack_object *v = jt_mp_find(o, key);
        if (v != &o->via.map.ptr[first].val)
            abort();
        long long n;
        double d;
        bool is_int =
            (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= (uint64_t)LLONG_MAX) ||
            v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
        bool is_num = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                      v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
                      v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64;
        if (jt_mp_int(v, &n) != is_int || jt_mp_number(v, &d) != is_num)
            abort();
        char *s = jt_mp_strdup(v);
        if ((s != NULL) != (v->type == MSGPACK_OBJECT_STR) ||
            (s != NULL && memcmp(s, v->via.str.ptr, v->via.str.size) != 0))
            abort();
        free(s);
    }
}

/* One payload the reader delivered (len bytes, writable: jt_mp_wipe writes into it). */
static void check_payload(uint8_t *payload, size_t len)
{
    jt_error_t err;
    memset(&err, 0, sizeof err);
    msgpack_zone *z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    msgpack_object direct;
    if (z == NULL)
        abort();
    jt_status_t st = jt_unpack_value(payload, len, z, &direct, &err);
    msgpack_unpacked u;
    bool ok = jt_mp_unpack_one(&u, payload, len);
    if (ok != (st == JT_OK))
        abort();
    if (!ok) {
        fuzz_check_error(st, &err);
        if (st != JT_ERR_TRUNCATED && st != JT_ERR_TRAILING && st != JT_ERR_INVALID &&
            st != JT_ERR_TOO_DEEP && st != JT_ERR_TOO_LARGE)
            abort();
        msgpack_zone_free(z);
        return;
    }
    if (!fuzz_same_value(&u.data, &direct))
        abort();
    check_canonical(&u.data);
    check_compare(&u.data);
    check_json(&u.data);
    check_lookups(&u.data);
    jt_mp_wipe(&u.data);
    if (!all_wiped(&u.data))
        abort();
    msgpack_unpacked_destroy(&u);
    msgpack_zone_free(z);
}

/* jt_frame_write then jt_frame_read give the payload back; a smaller maximum refuses it. */
static void check_write_read(const uint8_t *payload, size_t len)
{
    int p[2];
    uint8_t *back = NULL;
    size_t back_len = 0;
    if (len > ROUND_TRIP_MAX || pipe2(p, O_CLOEXEC) != 0)
        return;
    if (jt_frame_write(p[1], payload, len) != JT_OK ||
        jt_frame_read(p[0], len, 0, &back, &back_len) != JT_OK || back == NULL || back_len != len ||
        (len > 0 && memcmp(back, payload, len) != 0))
        abort();
    free(back);
    if (len > 0 && (jt_frame_write(p[1], payload, len) != JT_OK ||
                    jt_frame_read(p[0], len - 1, 0, &back, &back_len) != JT_ERR_TOO_LARGE))
        abort();
    close(p[0]);
    close(p[1]);
}

/* ---- the stream --------------------------------------------------------------------- */

typedef struct {
    const uint8_t *s; /* the stream */
    size_t n;         /* its length */
    size_t written;   /* bytes written into the pipe so far */
    size_t next;      /* offset of the next frame's header (model) */
    size_t max_len;
    jt_frame_reader_t r;
    bool over; /* the reader reported TOO_LARGE or EOF */
} stream_t;

/* The length announced by the header at the model's position; false when the stream
 * (written so far) does not hold all 4 header bytes. */
static bool model_len(const stream_t *t, size_t upto, size_t *len)
{
    if (t->next > upto || upto - t->next < 4)
        return false;
    const uint8_t *h = t->s + t->next;
    *len = ((size_t)h[0] << 24) | ((size_t)h[1] << 16) | ((size_t)h[2] << 8) | h[3];
    return true;
}

/* One result of jt_frame_reader_read against the model; eof_ok once the writer closed. */
static void take_result(stream_t *t, jt_status_t st, int done, bool eof_ok)
{
    size_t len = 0;
    bool header = model_len(t, t->written, &len);
    if (st == JT_OK && done) {
        uint8_t *payload;
        size_t got;
        jt_frame_reader_take(&t->r, &payload, &got);
        if (!header || len > t->max_len || t->written - t->next - 4 < len || got != len ||
            payload == NULL || (len > 0 && memcmp(payload, t->s + t->next + 4, len) != 0))
            abort();
        t->next += 4 + len;
        check_write_read(payload, got);
        check_payload(payload, got);
        free(payload);
    } else if (st == JT_ERR_TOO_LARGE) {
        if (!header || len <= t->max_len)
            abort();
        t->over = true;
    } else if (st == JT_ERR_EOF) {
        /* Only at the end, and only when no whole frame is left undelivered. */
        bool whole_left = header && len <= t->max_len && t->n - t->next - 4 >= len;
        if (!eof_ok || whole_left || (header && len > t->max_len))
            abort();
        t->over = true;
    } else if (st != JT_OK) {
        abort();
    }
}

/* Let the reader take everything in the pipe (and, once the writer closed, reach EOF). */
static void drain(stream_t *t, int fd, bool closed)
{
    while (!t->over) {
        int avail = 0;
        if (ioctl(fd, FIONREAD, &avail) != 0)
            abort();
        if (avail == 0 && !closed)
            return;
        int done = 0;
        jt_status_t st = jt_frame_reader_read(&t->r, fd, &done);
        take_result(t, st, done, closed);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    stream_t t = {.s = data + 2, .n = size - 2, .max_len = max_lens[data[0] & 7]};
    size_t chunk = data[1] == 0 ? 4096 : data[1];
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
        abort();
    jt_frame_reader_init(&t.r, t.max_len);
    while (!t.over && t.written < t.n) {
        size_t k = t.n - t.written < chunk ? t.n - t.written : chunk;
        ssize_t w = write(p[1], t.s + t.written, k);
        if (w <= 0)
            abort(); /* the pipe is drained after every write: it always has room */
        t.written += (size_t)w;
        drain(&t, p[0], false);
    }
    close(p[1]);
    drain(&t, p[0], true);
    jt_frame_reader_cleanup(&t.r);
    close(p[0]);
    return 0;
}
