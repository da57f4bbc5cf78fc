/* candidate.h -- the candidates the end-to-end tests send, their test cases, what they return. */
#ifndef JT_TESTS_CANDIDATE_H
#define JT_TESTS_CANDIDATE_H

#include <stddef.h>

/* solve(a, b) returns a + b; ADD_CASES are its two test cases (t1, t2) as JSON text. */
extern const char ADD_SRC[];
#define ADD_CASES                                                                                  \
    "[{\"test_id\":\"t1\",\"inputs\":[1,2],\"expected_output\":3},"                                \
    "{\"test_id\":\"t2\",\"inputs\":[5,7],\"expected_output\":12}]"

/* solve(a, b) returns a - b: wrong on ADD_CASES. */
extern const char WRONG_SRC[];

/* solve(n) burns the CPU: s = (s * 31 + i) & 0xFFFFFFFF for i in range(n), from s = 0. */
extern const char BURN_SOLVE_SRC[];

/* The n of jt_burn_cases: a few tens of ms of Python per run. */
#define BURN_CASE_N 200000L

/* What the burn loop returns for n (BURN_SOLVE_SRC, and burn() of the energy tests). */
long long jt_burn_expected(long n);

/* The one test case (b1) of BURN_SOLVE_SRC, solve(BURN_CASE_N), as JSON text into buf. */
void jt_burn_cases(char *buf, size_t len);

#endif
