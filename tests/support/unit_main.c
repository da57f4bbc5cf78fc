/* unit_main.c -- main() of the cmocka test programs: run every case, or only the one in argv[1]. */
#include "unit_main.h"

int jt_unit_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests, size_t n)
{
    if (argc > 1) {
        size_t found = 0;
        for (size_t i = 0; i < n; i++)
            found += strcmp(tests[i].name, argv[1]) == 0;
        if (found != 1) {
            fprintf(stderr, "no test case named %s\n", argv[1]);
            return 1;
        }
        cmocka_set_test_filter(argv[1]);
    }
    return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}
