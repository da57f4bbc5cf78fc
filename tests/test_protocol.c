/* test_protocol.c -- unit tests of the frame helpers in shared/wire/protocol.c: type peek, wipe. */
#include <stdlib.h>
#include <string.h>

#include "unit_main.h"

#include "protocol.h"

/* A frame as jt_mp_frame_begin makes it: {"t": type, "pad": <n bytes>}. */
static void pack_frame(msgpack_sbuffer *sb, const char *type, size_t pad)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    jt_mp_pack_cstr(&pk, "t");
    jt_mp_pack_cstr(&pk, type);
    jt_mp_pack_cstr(&pk, "pad");
    char *bytes = calloc(1, pad + 1);
    assert_non_null(bytes);
    memset(bytes, 'p', pad);
    jt_mp_pack_cstr(&pk, bytes);
    free(bytes);
}

/* The type is read from the first bytes, whatever follows. */
static void frame_type_is_read_from_the_head(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    pack_frame(&sb, "test", 3 * 1024 * 1024);
    const uint8_t *d = (const uint8_t *)sb.data;
    assert_true(jt_mp_frame_has_type(d, sb.size, "test"));
    assert_false(jt_mp_frame_has_type(d, sb.size, "tes"));
    assert_false(jt_mp_frame_has_type(d, sb.size, "tests"));
    assert_false(jt_mp_frame_has_type(d, sb.size, "end"));
    assert_false(jt_mp_frame_has_type(d, 5, "test")); /* cut short */
    assert_false(jt_mp_frame_has_type(d, 0, "test"));
    msgpack_sbuffer_destroy(&sb);

    /* a map16 header (16 keys or more) is recognised too */
    static const uint8_t map16[] = {0xDE, 0x00, 0x10, 0xA1, 't', 0xA3, 'e', 'n', 'd'};
    assert_true(jt_mp_frame_has_type(map16, sizeof map16, "end"));
    /* not a map, or "t" not first */
    static const uint8_t array[] = {0x92, 0xA1, 't', 0xA3, 'e', 'n', 'd'};
    assert_false(jt_mp_frame_has_type(array, sizeof array, "end"));
    static const uint8_t other_key[] = {0x81, 0xA1, 'u', 0xA3, 'e', 'n', 'd'};
    assert_false(jt_mp_frame_has_type(other_key, sizeof other_key, "end"));
}

/* Every number, boolean and string of an unpacked command reads zero after
 * the wipe, in the tree and in the buffer it was unpacked from. */
static void wipe_zeroes_every_value(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    jt_mp_pack_cstr(&pk, "code");
    jt_mp_pack_cstr(&pk, "def secret(): return 4242");
    jt_mp_pack_cstr(&pk, "inputs");
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int64(&pk, 987654321);
    msgpack_pack_double(&pk, 2.5);
    msgpack_pack_true(&pk);
    msgpack_pack_ext(&pk, 22, 1);
    msgpack_pack_ext_body(&pk, "1180591620717411303424", 22);
    msgpack_unpacked m;
    assert_true(jt_mp_unpack_one(&m, sb.data, sb.size));
    jt_mp_wipe(&m.data);
    const msgpack_object *inputs = &m.data.via.map.ptr[1].val; /* keys are wiped too */
    assert_int_equal(inputs->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(inputs->via.array.ptr[0].via.u64, 0);
    assert_true(inputs->via.array.ptr[1].via.f64 == 0.0);
    assert_false(inputs->via.array.ptr[2].via.boolean);
    assert_null(memmem(sb.data, sb.size, "secret", 6));
    assert_null(memmem(sb.data, sb.size, "1180591620717411303424", 22)); /* a big integer */
    assert_null(memmem(sb.data, sb.size, "code", 4)); /* keys too */
    msgpack_unpacked_destroy(&m);
    msgpack_sbuffer_destroy(&sb);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(frame_type_is_read_from_the_head),
    cmocka_unit_test(wipe_zeroes_every_value),
};

JT_UNIT_MAIN(tests)
