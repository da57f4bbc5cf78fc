/* protocol.h -- small msgpack helpers for the frames between worker, runner, sandbox child and runs. */
#ifndef JT_PROTOCOL_H
#define JT_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <msgpack.h>

#include "status.h"

/* Most runs in one trial: the worker's autorange never asks for more, the sandbox child
 * refuses a trial command that does. */
#define JT_MAX_REPEATS 1000000UL

/* What a sandbox box obtained, as the runner's {"t":"pong","box":{"slot",
 * "features","cgroup"}} reports it: namespaces and uids are best effort (a
 * container may withhold CAP_SYS_ADMIN), and the health endpoint names the
 * ones a worker's boxes lack. */
enum {
    JT_BOX_SLOT_UID = 1 << 0, /* the box has its slot's own unprivileged uid */
    JT_BOX_PID_NS = 1 << 1,   /* the supervisor is pid 1 of its own pid namespace */
    JT_BOX_PROC = 1 << 2,     /* /proc shows only the box's processes */
    JT_BOX_MOUNT_NS = 1 << 3, /* private tmpfs working directory and temporary dirs */
    JT_BOX_NET_NS = 1 << 4,   /* no network interface but its own loopback */
    JT_BOX_IPC_NS = 1 << 5,   /* SysV IPC and POSIX queues private, gone with the box */
    JT_BOX_UTS_NS = 1 << 6,   /* hostname changes stay in the box */
    JT_BOX_RUN_UID = 1 << 7,  /* runs have another uid than their supervisor */
    JT_BOX_ROOT = 1 << 8,     /* a minimal read-only root of its own (pivot_root) */
    JT_BOX_USER_NS = 1 << 9,  /* a user namespace of its own (a runner that is not root) */
};
#define JT_BOX_ALL 0x3FFu

/* The name of one JT_BOX_* bit ("pid_namespace", ...), NULL for others. A
 * box of a root runner needs no user namespace: its absence is no gap then. */
const char *jt_box_feature_name(unsigned bit);

/* Value of key in a msgpack map, or NULL when o is not a map or lacks it. */
const msgpack_object *jt_mp_find(const msgpack_object *map, const char *key);

/* Whether o is a str equal to s. */
bool jt_mp_str_eq(const msgpack_object *o, const char *s);

/* Copy a str value into a new NUL-terminated string (NULL if o is not a str
 * or on no memory). */
char *jt_mp_strdup(const msgpack_object *o);

/* Numeric value of an int or float object into *out; false if o is neither. */
bool jt_mp_number(const msgpack_object *o, double *out);

/* Integer value of an int object into *out; false otherwise. */
bool jt_mp_int(const msgpack_object *o, long long *out);

/* Whether data is a frame of jt_mp_frame_begin with the given type: a map
 * whose first pair is "t": type. Reads the first bytes only, so that a large
 * frame is recognised without unpacking it. */
bool jt_mp_frame_has_type(const uint8_t *data, size_t len, const char *type);

/* Overwrite every value of the unpacked tree o in place with zeros: numbers,
 * booleans, and the bytes of strings, binaries and extensions such as big
 * integers (which live in the buffer
 * it was unpacked from), so that no job value lingers in memory that is freed
 * next (msgpack zones free without wiping). o must come from
 * jt_mp_unpack_one (its depth is bounded). */
void jt_mp_wipe(msgpack_object *o);

/* Pack a NUL-terminated string (or nil when s is NULL). */
int jt_mp_pack_cstr(msgpack_packer *pk, const char *s);

/* Unpack exactly one msgpack object from data (no trailing bytes), with the
 * checks of jt_unpack_value (str keys, valid UTF-8, depth <= JT_MAX_DEPTH, no
 * bin/ext). Returns
 * true with *result holding it (caller calls msgpack_unpacked_destroy).
 * Strings in the result point into data: keep data alive until then. */
bool jt_mp_unpack_one(msgpack_unpacked *result, const void *data, size_t len);

/* A frame being built: one msgpack map, usually typed by its first key "t". */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} jt_mp_frame_t;

/* Start a map of n_keys entries; when type is not NULL the first entry is
 * "t": type (and counts among n_keys). Pack the other entries with f->pk. */
void jt_mp_frame_begin(jt_mp_frame_t *f, size_t n_keys, const char *type);

/* Write the frame to fd (jt_frame_write) and free it. */
jt_status_t jt_mp_frame_send(jt_mp_frame_t *f, int fd);

/* Free a frame without sending it. */
void jt_mp_frame_discard(jt_mp_frame_t *f);

#endif
