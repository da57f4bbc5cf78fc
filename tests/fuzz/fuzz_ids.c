/* fuzz_ids.c -- libFuzzer target: the id and header rules of the gateway's front door.
 *
 * The input, as the C string a header or path segment arrives as, goes through the task-id
 * rule (shared/wire task_id.c, which the router applies to the id of /api/v1/tasks/{id}
 * as sent), the X-Request-Id and Idempotency-Key rules and the FNV-1a 128 key hash
 * (gateway/ids.c), and the Content-Type, bearer-token, Origin and listen-address checks
 * (gateway/door.c). Each verdict must equal that of a plain model of the documented rule;
 * the hash must equal a reference computed with 128-bit arithmetic.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "door.h"
#include "ids.h"
#include "task_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The one token and the two origins of the door every input meets. */
#define TOKEN "fuzz-token-0123456789abcdef"
#define ORIGINS "https://a.example, http://b.example:8080"

static jt_door_t door;

static void load_door(void)
{
    static bool loaded;
    char why[512];
    if (loaded)
        return;
    unsetenv("JOULETRACE_API_TOKENS_FILE");
    unsetenv("JOULETRACE_CORS_ORIGIN");
    unsetenv("JOULETRACE_REQUIRE_TOKENS_BEYOND_LOOPBACK");
    setenv("JOULETRACE_API_TOKENS", TOKEN, 1);
    setenv("JOULETRACE_CORS_ORIGINS", ORIGINS, 1);
    if (jt_door_load(&door, "127.0.0.1:8000", why, sizeof why) != 0 ||
        !jt_door_tokens_required(&door))
        abort();
    loaded = true;
}

/* Whether s is 1..max characters, each accepted by ok. */
static bool all_of(const char *s, size_t max, bool (*ok)(unsigned char c))
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!ok((unsigned char)s[i]))
            return false;
    return true;
}

static bool task_id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static bool request_id_char(unsigned char c)
{
    return task_id_char(c) || c == '.' || c == ':';
}

static bool key_char(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* FNV-1a 128 with the compiler's 128-bit integers, as lowercase hex. */
static void fnv_reference(const uint8_t *p, size_t n, char out[33])
{
    unsigned __int128 h = ((unsigned __int128)0x6c62272e07bb0142ull << 64) | 0x62b821756295c58dull;
    const unsigned __int128 prime = ((unsigned __int128)1 << 88) | 0x13b;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= prime;
    }
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++)
        out[i] = digits[(unsigned)(h >> (124 - 4 * i)) & 15];
    out[32] = '\0';
}

/* "application/json" in any case, blanks around it, then the end or parameters. */
static bool json_type_model(const char *s)
{
    s += strspn(s, " \t");
    if (strncasecmp(s, "application/json", 16) != 0)
        return false;
    s += 16;
    s += strspn(s, " \t");
    return *s == '\0' || *s == ';';
}

/* "Bearer " in any case, then the token with blanks (spaces) around it. */
static bool authorized_model(const char *s)
{
    if (strncasecmp(s, "Bearer ", 7) != 0)
        return false;
    s += 7;
    s += strspn(s, " ");
    size_t n = strlen(s);
    if (n > JT_DOOR_TOKEN_MAX)
        return false;
    while (n > 0 && s[n - 1] == ' ')
        n--;
    return n == strlen(TOKEN) && memcmp(s, TOKEN, n) == 0;
}

static void check_door(const char *s)
{
    if (jt_door_json_content_type(s) != json_type_model(s) ||
        jt_door_authorized(&door, s) != authorized_model(s))
        abort();
    const char *origin = jt_door_allowed_origin(&door, s);
    bool listed = strcmp(s, "https://a.example") == 0 || strcmp(s, "http://b.example:8080") == 0;
    if ((origin != NULL) != listed || (origin != NULL && strcmp(origin, s) != 0))
        abort();
    /* A bare port listens everywhere: a loopback verdict needs a host before a colon. */
    bool loopback = jt_door_addr_loopback(s);
    if (loopback != jt_door_addr_loopback(s) || (loopback && strchr(s, ':') == NULL))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_door();
    char *s = malloc(size + 1); /* what a C API sees: the bytes up to the first NUL */
    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    if (jt_task_id_valid(s) != all_of(s, JT_TASK_ID_MAX, task_id_char) ||
        jt_ids_valid_request_id(s) != all_of(s, JT_REQUEST_ID_MAX, request_id_char) ||
        jt_ids_valid_idempotency_key(s) != all_of(s, JT_IDEMPOTENCY_KEY_MAX, key_char))
        abort();
    char hash[JT_IDEMPOTENCY_HASH_LEN + 1], ref[33];
    jt_ids_fnv1a128_hex(data, size, hash);
    fnv_reference(data, size, ref);
    if (strcmp(hash, ref) != 0)
        abort();
    check_door(s);
    free(s);
    return 0;
}
