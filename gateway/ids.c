/* ids.c -- task ids and request ids from getrandom(2), FNV-1a 128 hashes of Idempotency-Keys. */
#include "ids.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void to_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* n random bytes; if the kernel refuses (it never should for <= 256 bytes),
 * a clock and counter mix keeps ids unique within this process. */
static void random_bytes(uint8_t *buf, size_t n)
{
    static atomic_uint_fast64_t counter;
    ssize_t got = getrandom(buf, n, 0);
    if (got == (ssize_t)n)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    uint64_t c = atomic_fetch_add(&counter, 1);
    for (size_t i = 0; i < n; i++) {
        x ^= c + 0x9e3779b97f4a7c15ull + (x << 6) + (x >> 2);
        buf[i] = (uint8_t)(x >> ((i % 8) * 8));
    }
}

void jt_ids_task_id(char out[JT_TASK_ID_HEX_LEN + 1])
{
    uint8_t b[JT_TASK_ID_HEX_LEN / 2];
    random_bytes(b, sizeof b);
    to_hex(b, sizeof b, out);
}

void jt_ids_request_id(char out[17])
{
    uint8_t b[8];
    random_bytes(b, sizeof b);
    to_hex(b, sizeof b, out);
}

static bool id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

bool jt_ids_valid_request_id(const char *s)
{
    size_t n = 0;
    if (s == NULL)
        return false;
    for (; s[n] != '\0'; n++) {
        if (n >= JT_REQUEST_ID_MAX || !(id_char(s[n]) || s[n] == '.' || s[n] == ':'))
            return false;
    }
    return n > 0;
}

bool jt_ids_valid_idempotency_key(const char *s)
{
    size_t n = 0;
    if (s == NULL)
        return false;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= JT_IDEMPOTENCY_KEY_MAX || c < 0x20 || c > 0x7e)
            return false;
    }
    return n > 0;
}

void jt_ids_fnv1a128_hex(const void *data, size_t len, char out[JT_IDEMPOTENCY_HASH_LEN + 1])
{
    /* 128-bit arithmetic on two 64-bit halves (hi, lo), so no compiler extension is needed.
     * The prime 2^88 + 0x13b is hi = 2^24, lo = 0x13b. */
    const uint8_t *p = data;
    uint64_t hi = 0x6c62272e07bb0142ull, lo = 0x62b821756295c58dull;
    for (size_t i = 0; i < len; i++) {
        lo ^= p[i];
        /* (hi, lo) * (2^88 + 0x13b) mod 2^128
         *   = (hi, lo) * 0x13b + (lo << 88) */
        uint64_t lo_lo = lo & 0xffffffffull, lo_hi = lo >> 32;
        uint64_t a = lo_lo * 0x13b;
        uint64_t b = lo_hi * 0x13b + (a >> 32);
        uint64_t new_lo = (a & 0xffffffffull) | (b << 32);
        uint64_t carry = b >> 32;
        uint64_t new_hi = hi * 0x13b + carry + (lo << 24);
        hi = new_hi;
        lo = new_lo;
    }
    uint8_t b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(hi >> (56 - 8 * i));
        b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
    to_hex(b, sizeof b, out);
}
