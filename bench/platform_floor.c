/* platform_floor.c -- fork, copy-on-write and wake-up costs of this machine (platform_floor.h). */
#include "platform_floor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FORK_SAMPLES 101
#define COW_PAGES 512
#define COW_SAMPLES 21

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Touched private anonymous memory, or NULL. */
static char *touched(size_t bytes)
{
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 1, bytes);
    return p;
}

/* Wall microseconds of one fork/_exit/wait; the child first writes one byte
 * into each of `pages` pages of mem. Negative on failure. */
static double fork_once(char *mem, size_t pages)
{
    long page = sysconf(_SC_PAGESIZE);
    double t0 = now_us();
    pid_t pid = fork();
    if (pid == 0) {
        for (size_t i = 0; i < pages; i++)
            mem[i * (size_t)page] = 2;
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, NULL, 0) != pid)
        return -1.0;
    return now_us() - t0;
}

double jt_floor_fork_ms(size_t anon_mb)
{
    size_t bytes = anon_mb * 1024 * 1024;
    char *mem = bytes ? touched(bytes) : NULL;
    if (bytes && mem == NULL)
        return -1.0;
    double t[FORK_SAMPLES];
    for (size_t i = 0; i < FORK_SAMPLES; i++)
        t[i] = fork_once(mem, 0);
    if (mem)
        munmap(mem, bytes);
    return median(t, FORK_SAMPLES) / 1e3;
}

double jt_floor_cow_fault_us(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t bytes = (size_t)COW_PAGES * (size_t)page;
    char *mem = touched(bytes);
    if (mem == NULL)
        return -1.0;
    double with[COW_SAMPLES], without[COW_SAMPLES];
    for (size_t i = 0; i < COW_SAMPLES; i++) {
        without[i] = fork_once(mem, 0);
        with[i] = fork_once(mem, COW_PAGES);
    }
    munmap(mem, bytes);
    return (median(with, COW_SAMPLES) - median(without, COW_SAMPLES)) / COW_PAGES;
}

typedef struct {
    double hz, seconds, cpu_seconds;
} wakeup_arg_t;

static void *wakeup_loop(void *p)
{
    wakeup_arg_t *a = p;
    struct timespec next, cpu0, cpu1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
    clock_gettime(CLOCK_MONOTONIC, &next);
    long period_ns = (long)(1e9 / a->hz);
    long ticks = (long)(a->seconds * a->hz);
    for (long i = 0; i < ticks; i++) {
        next.tv_nsec += period_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
    a->cpu_seconds = (double)(cpu1.tv_sec - cpu0.tv_sec) +
                     (double)(cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
    return NULL;
}

double jt_floor_wakeup_percent(double hz, double seconds)
{
    wakeup_arg_t a = {.hz = hz, .seconds = seconds};
    pthread_t t;
    if (pthread_create(&t, NULL, wakeup_loop, &a) != 0)
        return -1.0;
    pthread_join(t, NULL);
    return 100.0 * a.cpu_seconds / seconds;
}

void jt_floor_print(size_t anon_mb)
{
    printf("# platform floor: fork+exit+wait of a process with %zu MiB touched: %.2f ms median;"
           " one copy-on-write fault: %.1f us; 1 kHz wake-ups alone: %.2f %% of a core\n",
           anon_mb, jt_floor_fork_ms(anon_mb), jt_floor_cow_fault_us(),
           jt_floor_wakeup_percent(1000.0, 2.0));
}
