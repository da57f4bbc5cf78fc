/* text_builder.h -- a growing NUL-terminated string, for test inputs built piece by piece. */
#ifndef JT_TESTS_TEXT_BUILDER_H
#define JT_TESTS_TEXT_BUILDER_H

#include <stddef.h>

/* Start from text_t t = {0}; t.p is the text (malloc'd, the caller frees it). */
typedef struct {
    char *p;
    size_t len, cap;
} text_t;

/* Append n bytes of s to t (fails the cmocka case when out of memory). */
void text_add(text_t *t, const char *s, size_t n);

/* Append the string s to t. */
void text_cat(text_t *t, const char *s);

/* Append the string s to t `times` times. */
void text_rep(text_t *t, const char *s, size_t times);

/* A new string formatted as printf does (malloc'd; fails the cmocka case when out of memory). */
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

#endif
