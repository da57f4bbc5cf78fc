/* burn.c -- the CPU work the candidates of the end-to-end tests burn: what it returns. */
#include "burn.h"

#include <stdint.h>

long long jt_burn_expected(long n)
{
    uint32_t s = 0;
    for (long i = 0; i < n; i++)
        s = s * 31u + (uint32_t)i;
    return (long long)s;
}
