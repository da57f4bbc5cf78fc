/* json_text.c -- dump JSON at full precision, then shorten each real to its shortest exact text. */
#include "json_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REAL_TEXT_MAX 40 /* "%.17g" of any double, sign and exponent included */

/* The shortest "%.Ng" text of v that reads back as v, into buf. */
static void shortest_real(double v, char *buf, size_t len)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (strpbrk(buf, ".eEn") == NULL) /* "1" -> "1.0": a real stays a real */
        strncat(buf, ".0", len - strlen(buf) - 1);
}

char *jt_json_dumps(const json_t *json, size_t flags)
{
    char *text = json_dumps(json, flags | JSON_REAL_PRECISION(17));
    if (text == NULL)
        return NULL;
    size_t n = strlen(text);
    /* shortened reals are never longer than jansson's, ".0" included */
    char *out = malloc(n + 1);
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
            if (s <= tok) {
                memcpy(out + o, shortest, s);
                o += s;
                i = end;
                continue;
            }
        }
        memcpy(out + o, text + i, tok); /* an integer, or nothing shorter */
        o += tok;
        i = end;
    }
    out[o] = '\0';
    free(text);
    return out;
}
