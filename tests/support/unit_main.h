/* unit_main.h -- main() of the cmocka test programs: run every case, or only the one in argv[1]. */
#ifndef JT_TESTS_UNIT_MAIN_H
#define JT_TESTS_UNIT_MAIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

/* Run the cmocka group `group` of tests[0..n): every case without argv[1], else only the case
 * named argv[1]. A name that matches no case is an error (exit 1 with a line on stderr), so a
 * ctest entry can never pass by running nothing. Returns main's exit status. */
int jt_unit_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests,
                 size_t n);

/* Define `static const struct CMUnitTest tests[] = {...};` then write JT_UNIT_MAIN(tests). */
#define JT_UNIT_MAIN(table)                                                                        \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return jt_unit_main(argc, argv, #table, table, sizeof(table) / sizeof(table[0]));          \
    }

#endif
