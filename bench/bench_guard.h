/* bench_guard.h -- a bench in a child process group, killed and its directory removed at the end.
 *
 * A bench that starts daemons (fake_rapl, nats-server, gateway, workers) must leave
 * nothing behind, also on SIGINT or a crash. jt_bench_guard_run forks: the child leads
 * a new process group and runs the bench; the parent waits and, when the child ends or
 * the parent gets SIGINT, SIGTERM or SIGHUP, kills the whole group with SIGKILL and
 * removes the bench's temporary directory. A SIGKILL of the parent leaves the directory
 * behind; the processes die with it through their parent-death signals. Call it once,
 * from the main thread, before any other thread exists.
 */
#ifndef JT_BENCH_GUARD_H
#define JT_BENCH_GUARD_H

/* Run body(arg) in the guarded child, then remove dir (a directory the bench made; its
 * whole tree) once the group is gone. Returns body's return value (0..255), 128 + the
 * signal when a signal stopped the bench, or 1 when the child could not run or died. */
int jt_bench_guard_run(const char *dir, int (*body)(void *arg), void *arg);

#endif
