/* json_text.c -- dump JSON at full precision, then shorten each real to its shortest exact text. */
#include "json_text.h"

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
