/* unit_main.h -- main() for cmocka test programs: run every case, or only argv[1]. */
#ifndef JT_UNIT_MAIN_H
#define JT_UNIT_MAIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

/* Define `static const struct CMUnitTest tests[] = {...};` then use JT_UNIT_MAIN(tests).
 * A case name that matches no test is an error, so a ctest entry can never
 * pass by running nothing. */
#define JT_UNIT_MAIN(table)                                                                       \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        if (argc > 1) {                                                                            \
            size_t found = 0;                                                                      \
            for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)                          \
                found += strcmp(table[i].name, argv[1]) == 0;                                      \
            if (found != 1) {                                                                      \
                fprintf(stderr, "no test case named %s\n", argv[1]);                               \
                return 1;                                                                          \
            }                                                                                      \
            cmocka_set_test_filter(argv[1]);                                                       \
        }                                                                                          \
        return cmocka_run_group_tests(table, NULL, NULL);                                          \
    }

#endif
