/* unpack.c -- strict, depth-bounded msgpack decoder of untrusted bytes (see unpack.h).
 *
 * Pure functions, callable from any thread. Our own decoder rather than
 * msgpack_unpack_next, whose nesting limit (32, MSGPACK_EMBED_STACK_SIZE compiled
 * into libmsgpackc) is below JT_MAX_DEPTH. It is iterative: an explicit stack of at
 * most JT_MAX_DEPTH frames, no recursion on input data.
 */
#include "unpack.h"

#include <stdbool.h>
#include <string.h>

#include "job.h"
#include "value.h"

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
} reader_t;

/* A container being filled: array items, or map entries (key, then value). */
typedef struct {
    msgpack_object *obj;
    uint32_t i;
    bool at_value;
} frame_t;

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static jt_status_t truncated(const reader_t *r, jt_error_t *err)
{
    return jt_error_set(err, JT_ERR_TRUNCATED, "",
                        "msgpack input ends inside a value (after %zu bytes)", r->len);
}

/* Read n bytes of payload at the cursor (for a header's length field or a body). */
static bool take(reader_t *r, size_t n, const uint8_t **out)
{
    if (r->len - r->pos < n)
        return false;
    *out = r->p + r->pos;
    r->pos += n;
    return true;
}

static void set_int(msgpack_object *o, int64_t v)
{
    if (v >= 0) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = (uint64_t)v;
    } else {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o->via.i64 = v;
    }
}

/* Decode one item header at the cursor into *o. Scalars, strings, bin and ext are
 * complete on return (their bytes stay in the input); for an array or map, *count is
 * set and the caller fills its elements. Element counts are checked against the bytes
 * left (one byte per item at least) before anything is allocated. */
static jt_status_t read_item(reader_t *r, msgpack_object *o, bool *container, uint32_t *count,
                             jt_error_t *err)
{
    const uint8_t *b;
    *container = false;
    if (!take(r, 1, &b))
        return truncated(r, err);
    uint8_t c = b[0];
    size_t hdr = 0, body = 0;
    int kind = 0; /* 's' str, 'b' bin, 'e' ext, 'a' array, 'm' map */

    if (c <= 0x7f) {
        set_int(o, c);
        return JT_OK;
    } else if (c >= 0xe0) {
        set_int(o, (int8_t)c);
        return JT_OK;
    } else if (c <= 0x8f) {
        kind = 'm', body = c & 0x0f;
    } else if (c <= 0x9f) {
        kind = 'a', body = c & 0x0f;
    } else if (c <= 0xbf) {
        kind = 's', body = c & 0x1f;
    } else {
        switch (c) {
        case 0xc0:
            o->type = MSGPACK_OBJECT_NIL;
            return JT_OK;
        case 0xc2:
        case 0xc3:
            o->type = MSGPACK_OBJECT_BOOLEAN;
            o->via.boolean = c == 0xc3;
            return JT_OK;
        case 0xc4:
        case 0xc5:
        case 0xc6:
            kind = 'b', hdr = (size_t)1 << (c - 0xc4);
            break;
        case 0xc7:
        case 0xc8:
        case 0xc9:
            kind = 'e', hdr = (size_t)1 << (c - 0xc7);
            break;
        case 0xca:
        case 0xcb: {
            size_t n = c == 0xca ? 4 : 8;
            if (!take(r, n, &b))
                return truncated(r, err);
            uint64_t bits = load_be(b, n);
            if (n == 4) {
                uint32_t b32 = (uint32_t)bits;
                float f;
                memcpy(&f, &b32, sizeof f);
                o->type = MSGPACK_OBJECT_FLOAT32;
                o->via.f64 = f;
            } else {
                double d;
                memcpy(&d, &bits, sizeof d);
                o->type = MSGPACK_OBJECT_FLOAT64;
                o->via.f64 = d;
            }
            return JT_OK;
        }
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf: {
            size_t n = (size_t)1 << (c - 0xcc);
            if (!take(r, n, &b))
                return truncated(r, err);
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            o->via.u64 = load_be(b, n);
            return JT_OK;
        }
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3: {
            size_t n = (size_t)1 << (c - 0xd0);
            if (!take(r, n, &b))
                return truncated(r, err);
            uint64_t u = load_be(b, n);
            /* sign-extend from n bytes */
            if (n < 8 && (u >> (8 * n - 1)) != 0)
                u |= ~(uint64_t)0 << (8 * n);
            set_int(o, (int64_t)u);
            return JT_OK;
        }
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            kind = 'e', body = (size_t)1 << (c - 0xd4);
            break;
        case 0xd9:
        case 0xda:
        case 0xdb:
            kind = 's', hdr = (size_t)1 << (c - 0xd9);
            break;
        case 0xdc:
        case 0xdd:
            kind = 'a', hdr = (size_t)2 << (c - 0xdc);
            break;
        case 0xde:
        case 0xdf:
            kind = 'm', hdr = (size_t)2 << (c - 0xde);
            break;
        default:
            return jt_error_set(err, JT_ERR_INVALID, "",
                                "byte 0x%02x at offset %zu is not a msgpack type", c, r->pos - 1);
        }
    }
    if (hdr > 0) {
        if (!take(r, hdr, &b))
            return truncated(r, err);
        body = (size_t)load_be(b, hdr);
    }
    if (kind == 'a' || kind == 'm') {
        size_t per = kind == 'm' ? 2 : 1;
        if (body > (r->len - r->pos) / per)
            return truncated(r, err);
        o->type = kind == 'm' ? MSGPACK_OBJECT_MAP : MSGPACK_OBJECT_ARRAY;
        *container = true;
        *count = (uint32_t)body;
        return JT_OK;
    }
    int8_t ext_type = 0;
    if (kind == 'e') {
        if (!take(r, 1, &b))
            return truncated(r, err);
        ext_type = (int8_t)b[0];
    }
    if (!take(r, body, &b))
        return truncated(r, err);
    if (kind == 's') {
        o->type = MSGPACK_OBJECT_STR;
        o->via.str.size = (uint32_t)body;
        o->via.str.ptr = (const char *)b;
    } else if (kind == 'b') {
        o->type = MSGPACK_OBJECT_BIN;
        o->via.bin.size = (uint32_t)body;
        o->via.bin.ptr = (const char *)b;
    } else {
        o->type = MSGPACK_OBJECT_EXT;
        o->via.ext.type = ext_type;
        o->via.ext.size = (uint32_t)body;
        o->via.ext.ptr = (const char *)b;
    }
    return JT_OK;
}

/* Decode one complete value into *root (strings point into the input). If a container
 * would sit deeper than JT_MAX_DEPTH, decoding stops there: that container becomes an
 * empty array, the elements not yet decoded stay nil (containers are zero-filled), and
 * *too_deep is set. jt_value_check on that partial tree then reports the error with the
 * same path as any other value error, so this decoder need not track paths. */
static jt_status_t decode(reader_t *r, msgpack_zone *zone, msgpack_object *root, bool *too_deep,
                          jt_error_t *err)
{
    frame_t stack[JT_MAX_DEPTH];
    size_t top = 0;
    msgpack_object *slot = root;
    *too_deep = false;
    for (;;) {
        bool container;
        uint32_t n = 0;
        memset(slot, 0, sizeof *slot);
        jt_status_t st = read_item(r, slot, &container, &n, err);
        if (st != JT_OK)
            return st;
        if (container && n > 0) {
            if (top == JT_MAX_DEPTH) {
                slot->type = MSGPACK_OBJECT_ARRAY;
                *too_deep = true;
                return JT_OK;
            }
            bool is_map = slot->type == MSGPACK_OBJECT_MAP;
            size_t size = (size_t)n * (is_map ? sizeof(msgpack_object_kv) : sizeof(msgpack_object));
            void *mem = msgpack_zone_malloc(zone, size);
            if (mem == NULL)
                return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory decoding msgpack");
            memset(mem, 0, size);
            stack[top++] = (frame_t){slot, 0, false};
            if (is_map) {
                slot->via.map.size = n;
                slot->via.map.ptr = mem;
                slot = &slot->via.map.ptr[0].key;
            } else {
                slot->via.array.size = n;
                slot->via.array.ptr = mem;
                slot = &slot->via.array.ptr[0];
            }
            continue;
        }
        /* slot is complete: move to the next slot of the innermost unfinished container */
        while (top > 0) {
            frame_t *f = &stack[top - 1];
            msgpack_object *c = f->obj;
            if (c->type == MSGPACK_OBJECT_MAP) {
                if (!f->at_value) {
                    f->at_value = true;
                    slot = &c->via.map.ptr[f->i].val;
                    break;
                }
                f->at_value = false;
                if (++f->i < c->via.map.size) {
                    slot = &c->via.map.ptr[f->i].key;
                    break;
                }
            } else if (++f->i < c->via.array.size) {
                slot = &c->via.array.ptr[f->i];
                break;
            }
            top--;
        }
        if (top == 0)
            return JT_OK;
    }
}

jt_status_t jt_unpack_value(const uint8_t *data, size_t len, msgpack_zone *zone,
                            msgpack_object *out, jt_error_t *err)
{
    reader_t r = {data, len, 0};
    bool too_deep;
    jt_status_t st = decode(&r, zone, out, &too_deep, err);
    if (st != JT_OK)
        return st;
    if (!too_deep && r.pos != len)
        return jt_error_set(err, JT_ERR_TRAILING, "",
                            "%zu unexpected bytes after the value (at offset %zu)", len - r.pos,
                            r.pos);
    st = jt_value_check(out, "", err);
    if (st == JT_OK && too_deep) /* not reached: the check meets the cut-off container */
        st = jt_error_set(err, JT_ERR_TOO_DEEP, "", "values may be nested at most %u levels deep",
                          JT_MAX_DEPTH);
    return st;
}

json_t *jt_unpack_json(const void *data, size_t len, jt_error_t *err)
{
    msgpack_zone zone;
    msgpack_object obj;
    json_t *out = NULL;
    msgpack_zone_init(&zone, 4096);
    if (jt_unpack_value(data, len, &zone, &obj, err) == JT_OK)
        out = jt_value_to_json(&obj, err);
    msgpack_zone_destroy(&zone);
    return out;
}
