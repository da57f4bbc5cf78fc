/* text_builder.c -- a growing NUL-terminated string, for test inputs built piece by piece. */
#include "text_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_main.h"

void text_add(text_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

void text_cat(text_t *t, const char *s)
{
    text_add(t, s, strlen(s));
}

void text_rep(text_t *t, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        text_cat(t, s);
}

char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    assert_true(n >= 0);
    return s;
}
