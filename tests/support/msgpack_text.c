/* msgpack_text.c -- a compact text notation for msgpack values, parsed into one unpacked value. */
#include "msgpack_text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "unit_main.h"

typedef struct {
    const char *p;
    const char *text; /* for error messages */
} parser_t;

static void skip_space(parser_t *ps)
{
    while (isspace((unsigned char)*ps->p))
        ps->p++;
}

static void parse_fail(const parser_t *ps, const char *what)
{
    fail_msg("bad value description \"%s\" at offset %d: %s", ps->text, (int)(ps->p - ps->text),
             what);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse a quoted string at ps->p into buf (unescaped); returns its length. */
static size_t parse_quoted(parser_t *ps, char *buf, size_t cap)
{
    if (*ps->p != '"')
        parse_fail(ps, "expected '\"'");
    ps->p++;
    size_t n = 0;
    while (*ps->p != '"') {
        char c = *ps->p++;
        if (c == '\0')
            parse_fail(ps, "unterminated string");
        if (c == '\\') {
            char e = *ps->p++;
            if (e == 'n') {
                c = '\n';
            } else if (e == 'x') {
                int hi = hex_digit(ps->p[0]), lo = hi < 0 ? -1 : hex_digit(ps->p[1]);
                if (lo < 0)
                    parse_fail(ps, "bad \\x escape");
                c = (char)(hi * 16 + lo);
                ps->p += 2;
            } else if (e == '"' || e == '\\') {
                c = e;
            } else {
                parse_fail(ps, "unknown escape");
            }
        }
        if (n >= cap)
            parse_fail(ps, "string too long for the test buffer");
        buf[n++] = c;
    }
    ps->p++;
    return n;
}

static void parse_value(parser_t *ps, msgpack_sbuffer *out);

/* Parse elements until `close` into a side buffer, then emit header + body:
 * msgpack wants the element count before the elements. */
static void parse_container(parser_t *ps, msgpack_sbuffer *out, char close, bool is_map)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    uint32_t count = 0;
    ps->p++;
    skip_space(ps);
    while (*ps->p != close) {
        parse_value(ps, &body);
        if (is_map) {
            skip_space(ps);
            if (*ps->p != ':')
                parse_fail(ps, "expected ':'");
            ps->p++;
            parse_value(ps, &body);
        }
        count++;
        skip_space(ps);
        if (*ps->p == ',') {
            ps->p++;
            skip_space(ps);
        } else if (*ps->p != close) {
            parse_fail(ps, "expected ',' or the closing bracket");
        }
    }
    ps->p++;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if (is_map)
        msgpack_pack_map(&pk, count);
    else
        msgpack_pack_array(&pk, count);
    msgpack_sbuffer_write(out, body.data, body.size);
    msgpack_sbuffer_destroy(&body);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void parse_number(parser_t *ps, msgpack_packer *pk, bool f32)
{
    const char *start = ps->p;
    size_t n = strcspn(start, " \t\n,]}:");
    char tok[64];
    if (n == 0 || n >= sizeof tok)
        parse_fail(ps, "bad number");
    memcpy(tok, start, n);
    tok[n] = '\0';
    char *end;
    errno = 0;
    bool is_float = f32 || strpbrk(tok, ".eEin") != NULL;
    if (is_float) {
        double d = strtod(tok, &end);
        if (*end != '\0')
            parse_fail(ps, "bad float");
        if (f32)
            msgpack_pack_float(pk, (float)d);
        else
            msgpack_pack_double(pk, d);
    } else if (tok[0] == '-') {
        long long x = strtoll(tok, &end, 10);
        if (*end != '\0' || errno != 0)
            parse_fail(ps, "bad negative integer");
        msgpack_pack_int64(pk, x);
    } else {
        unsigned long long x = strtoull(tok, &end, 10);
        if (*end != '\0' || errno != 0)
            parse_fail(ps, "bad integer");
        msgpack_pack_uint64(pk, x);
    }
    ps->p += n;
}

static void parse_value(parser_t *ps, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    char buf[512];
    skip_space(ps);
    char c = *ps->p;
    if (c == '[' || c == '{') {
        parse_container(ps, out, c == '[' ? ']' : '}', c == '{');
    } else if (c == '"') {
        size_t n = parse_quoted(ps, buf, sizeof buf);
        msgpack_pack_str(&pk, n);
        msgpack_pack_str_body(&pk, buf, n);
    } else if (c == 'b' && ps->p[1] == '"') {
        ps->p++;
        size_t n = parse_quoted(ps, buf, sizeof buf);
        msgpack_pack_bin(&pk, n);
        msgpack_pack_bin_body(&pk, buf, n);
    } else if (c == 'e' && isdigit((unsigned char)ps->p[1])) {
        char *end;
        long type = strtol(ps->p + 1, &end, 10);
        ps->p = end;
        size_t n = parse_quoted(ps, buf, sizeof buf);
        msgpack_pack_ext(&pk, n, (int8_t)type);
        msgpack_pack_ext_body(&pk, buf, n);
    } else if (starts_with(ps->p, "x:")) {
        ps->p += 2;
        while (hex_digit(ps->p[0]) >= 0 && hex_digit(ps->p[1]) >= 0) {
            char byte = (char)(hex_digit(ps->p[0]) * 16 + hex_digit(ps->p[1]));
            msgpack_sbuffer_write(out, &byte, 1);
            ps->p += 2;
        }
    } else if (starts_with(ps->p, "f32:")) {
        ps->p += 4;
        parse_number(ps, &pk, true);
    } else if (starts_with(ps->p, "nil")) {
        ps->p += 3;
        msgpack_pack_nil(&pk);
    } else if (starts_with(ps->p, "true")) {
        ps->p += 4;
        msgpack_pack_true(&pk);
    } else if (starts_with(ps->p, "false")) {
        ps->p += 5;
        msgpack_pack_false(&pk);
    } else if (c == '-' || c == 'i' || c == 'n' || isdigit((unsigned char)c)) {
        parse_number(ps, &pk, false);
    } else {
        parse_fail(ps, "unexpected character");
    }
}

void value_parse(value_t *v, const char *text)
{
    parser_t ps = {text, text};
    msgpack_sbuffer_init(&v->buf);
    parse_value(&ps, &v->buf);
    skip_space(&ps);
    if (*ps.p != '\0')
        parse_fail(&ps, "trailing text");
    msgpack_unpacked_init(&v->up);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&v->up, v->buf.data, v->buf.size, &off);
    if (r != MSGPACK_UNPACK_SUCCESS || off != v->buf.size)
        fail_msg("\"%s\" did not unpack as one msgpack value (%d)", text, (int)r);
}

void value_free(value_t *v)
{
    msgpack_unpacked_destroy(&v->up);
    msgpack_sbuffer_destroy(&v->buf);
}
