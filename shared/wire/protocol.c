/* protocol.c -- msgpack helpers for internal frames (see protocol.h). */
#include "protocol.h"

#include "frame.h"
#include "unpack.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const msgpack_object *jt_mp_find(const msgpack_object *map, const char *key)
{
    if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (jt_mp_str_eq(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

bool jt_mp_str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

char *jt_mp_strdup(const msgpack_object *o)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_STR)
        return NULL;
    char *s = malloc(o->via.str.size + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = '\0';
    return s;
}

bool jt_mp_number(const msgpack_object *o, double *out)
{
    if (o == NULL)
        return false;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)o->via.u64;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)o->via.i64;
        return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = o->via.f64;
        return true;
    default:
        return false;
    }
}

bool jt_mp_int(const msgpack_object *o, long long *out)
{
    if (o == NULL)
        return false;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)LLONG_MAX) {
        *out = (long long)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return true;
    }
    return false;
}

int jt_mp_pack_cstr(msgpack_packer *pk, const char *s)
{
    if (s == NULL)
        return msgpack_pack_nil(pk);
    size_t n = strlen(s);
    if (msgpack_pack_str(pk, n) < 0)
        return -1;
    return msgpack_pack_str_body(pk, s, n);
}

bool jt_mp_unpack_one(msgpack_unpacked *result, const void *data, size_t len)
{
    /* Not msgpack_unpack_next: it stops at 32 levels, our values go to 64. */
    msgpack_unpacked_init(result);
    result->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    if (result->zone == NULL)
        return false;
    jt_error_t err;
    if (jt_unpack_value(data, len, result->zone, &result->data, &err) != JT_OK) {
        msgpack_unpacked_destroy(result);
        msgpack_unpacked_init(result);
        return false;
    }
    return true;
}

void jt_mp_frame_begin(jt_mp_frame_t *f, size_t n_keys, const char *type)
{
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&f->pk, n_keys);
    if (type != NULL) {
        jt_mp_pack_cstr(&f->pk, "t");
        jt_mp_pack_cstr(&f->pk, type);
    }
}

jt_status_t jt_mp_frame_send(jt_mp_frame_t *f, int fd)
{
    jt_status_t s = f->sb.data ? jt_frame_write(fd, f->sb.data, f->sb.size) : JT_ERR_NOMEM;
    msgpack_sbuffer_destroy(&f->sb);
    return s;
}

void jt_mp_frame_discard(jt_mp_frame_t *f)
{
    msgpack_sbuffer_destroy(&f->sb);
}

const char *jt_box_feature_name(unsigned bit)
{
    switch (bit) {
    case JT_BOX_SLOT_UID:
        return "box_uid";
    case JT_BOX_PID_NS:
        return "pid_namespace";
    case JT_BOX_PROC:
        return "private_proc";
    case JT_BOX_MOUNT_NS:
        return "mount_namespace";
    case JT_BOX_NET_NS:
        return "network_namespace";
    case JT_BOX_IPC_NS:
        return "ipc_namespace";
    case JT_BOX_UTS_NS:
        return "uts_namespace";
    case JT_BOX_RUN_UID:
        return "run_uid";
    case JT_BOX_ROOT:
        return "minimal_root";
    case JT_BOX_USER_NS:
        return "user_namespace";
    default:
        return NULL;
    }
}

void jt_mp_wipe(msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        if (o->via.str.size > 0)
            explicit_bzero((void *)o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_EXT: /* a big integer's digits */
        if (o->via.ext.size > 0)
            explicit_bzero((void *)o->via.ext.ptr, o->via.ext.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++)
            jt_mp_wipe(&o->via.array.ptr[i]);
        break;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            jt_mp_wipe(&o->via.map.ptr[i].key);
            jt_mp_wipe(&o->via.map.ptr[i].val);
        }
        break;
    default:
        memset(&o->via, 0, sizeof o->via);
        break;
    }
}

bool jt_mp_frame_has_type(const uint8_t *data, size_t len, const char *type)
{
    size_t at;
    if (len == 0)
        return false;
    if ((data[0] & 0xF0) == 0x80) /* fixmap */
        at = 1;
    else if (data[0] == 0xDE) /* map 16 */
        at = 3;
    else if (data[0] == 0xDF) /* map 32 */
        at = 5;
    else
        return false;
    size_t n = strlen(type);
    if (n > 31 || len < at + 2 + 1 + n) /* "t" as fixstr, then type as fixstr */
        return false;
    return data[at] == 0xA1 && data[at + 1] == 't' && data[at + 2] == (uint8_t)(0xA0 | n) &&
           memcmp(data + at + 3, type, n) == 0;
}
