/* platform_floor.h -- what this machine charges for the primitives every benchmark is built on.
 *
 * The benchmarks' targets assume bare-metal costs for fork, page faults and
 * timer wake-ups. On a virtual machine with para-virtualised paging these
 * costs can alone exceed a target; the benchmarks print them next to their
 * own figures so that a missed target can be told apart from slow code.
 */
#ifndef JT_PLATFORM_FLOOR_H
#define JT_PLATFORM_FLOOR_H

#include <stddef.h>

/* Median wall milliseconds of fork() + _exit(0) in the child + waitpid() in
 * the parent, for a process holding anon_mb MiB of touched private memory
 * (the child touches nothing). */
double jt_floor_fork_ms(size_t anon_mb);

/* Median microseconds one copy-on-write fault costs: a child of a process
 * with touched memory writes one byte into each of many pages. */
double jt_floor_cow_fault_us(void);

/* Percent of one core used by a thread that does nothing but wake up at hz
 * with clock_nanosleep(TIMER_ABSTIME) for `seconds`: the cost of any
 * timer-driven sampler before it reads anything. */
double jt_floor_wakeup_percent(double hz, double seconds);

/* Print the three floors as comment lines ("# platform floor: ..."). */
void jt_floor_print(size_t anon_mb);

#endif
