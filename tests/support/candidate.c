/* candidate.c -- the candidates the end-to-end tests send, their test cases, what they return. */
#include "candidate.h"

#include <stdint.h>
#include <stdio.h>

const char ADD_SRC[] = "def solve(a, b):\n    return a + b\n";

const char WRONG_SRC[] = "def solve(a, b):\n    return a - b\n";

const char BURN_SOLVE_SRC[] = "def solve(n):\n"
                              "    s = 0\n"
                              "    for i in range(n):\n"
                              "        s = (s * 31 + i) & 0xFFFFFFFF\n"
                              "    return s\n";

long long jt_burn_expected(long n)
{
    uint32_t s = 0;
    for (long i = 0; i < n; i++)
        s = s * 31u + (uint32_t)i;
    return (long long)s;
}

void jt_burn_cases(char *buf, size_t len)
{
    snprintf(buf, len, "[{\"test_id\":\"b1\",\"inputs\":[%ld],\"expected_output\":%lld}]",
             BURN_CASE_N, jt_burn_expected(BURN_CASE_N));
}
