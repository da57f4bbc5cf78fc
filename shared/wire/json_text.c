/* json_text.c -- dump JSON at full precision, then shorten each real to its shortest exact text. */
#include "json_text.h"

#include "value.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REAL_TEXT_MAX 40 /* "%.17g" of any double, sign and exponent included */

/* v as Python's repr() writes a float: the fewest significant digits that
 * read back as v, in fixed notation when the decimal exponent is in
 * [-4, 16) (with at least one decimal: 100.0, 0.3), else in scientific
 * notation (1e+16, 5e-324). */
static void shortest_real(double v, char *buf, size_t len)
{
    char sci[REAL_TEXT_MAX];
    int digits = 1;
    for (; digits <= 17; digits++) {
        snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    const char *e = strchr(sci, 'e');
    int exponent = e != NULL ? atoi(e + 1) : 0;
    if (exponent >= -4 && exponent < 16) {
        int decimals = digits - 1 - exponent;
        snprintf(buf, len, "%.*f", decimals < 1 ? 1 : decimals, v);
    } else {
        snprintf(buf, len, "%s", sci);
    }
}

/* JT_BIGINT_MARK as jansson escapes it in JSON text */
#define MARK_JSON "\\u0000jouletrace-bigint:"
#define MARK_JSON_LEN (sizeof MARK_JSON - 1)

/* At t (a '"'): the number of characters of the integer text of a marked
 * string "\u0000jouletrace-bigint:<-?digits>", or 0 when it is not one. */
static size_t marked_integer(const char *t, size_t left)
{
    if (left < 1 + MARK_JSON_LEN + 2 || memcmp(t + 1, MARK_JSON, MARK_JSON_LEN) != 0)
        return 0;
    const char *d = t + 1 + MARK_JSON_LEN;
    size_t n = 0, max = left - 1 - MARK_JSON_LEN - 1; /* d[max] is the text's last byte */
    while (n < max && (d[n] == '-' || (d[n] >= '0' && d[n] <= '9')))
        n++;
    return n > 0 && d[n] == '"' && jt_bigint_text_check(d, n) >= 0 ? n : 0;
}

char *jt_json_dumps(const json_t *json, size_t flags)
{
    char *text = json_dumps(json, flags | JSON_REAL_PRECISION(17));
    if (text == NULL)
        return NULL;
    size_t n = strlen(text);
    /* a real grows by at most 4 characters (scientific where jansson wrote
     * 17 digits), and every real takes at least 3 ("1.0") plus a separator */
    char *out = malloc(2 * n + 1);
    if (out == NULL) {
        free(text);
        return NULL;
    }
    size_t o = 0;
    bool in_string = false;
    for (size_t i = 0; i < n;) {
        char ch = text[i];
        if (in_string) {
            out[o++] = ch;
            if (ch == '\\' && i + 1 < n)
                out[o++] = text[++i];
            else if (ch == '"')
                in_string = false;
            i++;
            continue;
        }
        if (ch == '"') {
            size_t digits = marked_integer(text + i, n - i);
            if (digits > 0) { /* a big integer held as a marked string: its bare literal */
                size_t from = i + 1 + MARK_JSON_LEN;
                memcpy(out + o, text + from, digits);
                o += digits;
                i = from + digits + 1;
                continue;
            }
            in_string = true;
            out[o++] = text[i++];
            continue;
        }
        if (ch != '-' && (ch < '0' || ch > '9')) {
            out[o++] = text[i++];
            continue;
        }
        size_t end = i + 1;
        while (end < n && strchr("0123456789.eE+-", text[end]) != NULL)
            end++;
        size_t tok = end - i;
        bool real =
            memchr(text + i, '.', tok) || memchr(text + i, 'e', tok) || memchr(text + i, 'E', tok);
        char buf[REAL_TEXT_MAX];
        if (real && tok < sizeof buf) {
            memcpy(buf, text + i, tok);
            buf[tok] = '\0';
            char shortest[REAL_TEXT_MAX];
            shortest_real(strtod(buf, NULL), shortest, sizeof shortest);
            size_t s = strlen(shortest);
            memcpy(out + o, shortest, s);
            o += s;
            i = end;
            continue;
        }
        memcpy(out + o, text + i, tok); /* an integer, or nothing shorter */
        o += tok;
        i = end;
    }
    out[o] = '\0';
    free(text);
    return out;
}

/* Whether the integer literal t[0..n) (JSON grammar: "-"? digits) does not fit int64. */
static bool beyond_int64(const char *t, size_t n)
{
    bool negative = t[0] == '-';
    size_t digits = n - negative;
    const char *limit = negative ? "9223372036854775808" : "9223372036854775807";
    if (digits != 19)
        return digits > 19;
    return memcmp(t + negative, limit, 19) > 0;
}

int jt_json_mark_bigints(const char *text, size_t len, const char *mark_json, size_t mark_len,
                         char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    char *marked = NULL;
    size_t o = 0;
    bool in_string = false;
    for (size_t i = 0; i < len;) {
        char ch = text[i];
        size_t end = i + 1;
        bool big = false;
        if (in_string) {
            if (ch == '\\' && i + 1 < len)
                end = i + 2;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            while (end < len && strchr("0123456789.eE+-", text[end]) != NULL)
                end++;
            size_t tok = end - i;
            big = memchr(text + i, '.', tok) == NULL && memchr(text + i, 'e', tok) == NULL &&
                  memchr(text + i, 'E', tok) == NULL && tok > 1 && beyond_int64(text + i, tok);
        }
        if (big && marked == NULL) {
            /* each literal of 20+ characters grows by the mark and two quotes */
            marked = malloc(len + (len / 20 + 1) * (mark_len + 2) + 1);
            if (marked == NULL)
                return -1;
            memcpy(marked, text, i);
            o = i;
        }
        if (big) {
            marked[o++] = '"';
            memcpy(marked + o, mark_json, mark_len);
            o += mark_len;
            memcpy(marked + o, text + i, end - i);
            o += end - i;
            marked[o++] = '"';
        } else if (marked != NULL) {
            memcpy(marked + o, text + i, end - i);
            o += end - i;
        }
        i = end;
    }
    if (marked != NULL) {
        marked[o] = '\0';
        *out = marked;
        *out_len = o;
    }
    return 0;
}

void jt_json_error_text_ascii(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}
