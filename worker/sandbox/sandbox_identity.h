/* sandbox_identity.h -- the uids of a box: its supervisor's and its runs', and the switch between.
 *
 * Started as root in its own pid namespace, a sandbox child becomes the box's
 * supervisor uid S and keeps exactly three capabilities: CAP_SETUID and
 * CAP_SETGID, so that each run it forks can become the run uid R (= S + 1)
 * and drop them, and so that it can scrub what runs left acting as R;
 * CAP_KILL, so that it can kill a run of another uid (its pid
 * namespace holds nothing else to reach). A seccomp filter confines the first
 * two to S and R: the supervisor can never become root or any other uid, and
 * nothing else of root survives (the bounding set keeps only the three).
 * Called in freshly forked, single-threaded children.
 */
#ifndef JT_SANDBOX_IDENTITY_H
#define JT_SANDBOX_IDENTITY_H

#include <stddef.h>
#include <sys/types.h>

/* As root: become S (uid and gid) with CAP_SETUID, CAP_SETGID and CAP_KILL
 * only, no supplementary groups, and a bounding set of those three. Only for
 * a child that is pid 1 of its own pid namespace. Returns 0, or -1 with a
 * reason in err. */
int jt_identity_become_supervisor(uid_t supervisor, char *err, size_t errlen);

/* As root, without a pid namespace of its own: become S with no capability
 * at all; the runs then stay S too. Returns 0, or -1 with a reason in err. */
int jt_identity_become_plain(uid_t supervisor, char *err, size_t errlen);

/* After no_new_privs: load the filter that lets set*uid/set*gid name only S
 * or R (setuid, setreuid, setgroups and their gid twins fail with EPERM).
 * Returns 0, or -1 with a reason in err. */
int jt_identity_load_filter(uid_t supervisor, uid_t run, char *err, size_t errlen);

/* In a child just cloned into a user namespace of its own (by a runner that
 * is not root): map uid and gid 0 inside to the runner's outside (the only
 * mapping an unprivileged process may write), so that the child can make the
 * box's namespaces and mounts as root of its namespace. Returns 0, or -1
 * with a reason in err. */
int jt_identity_map_userns(uid_t outside_uid, gid_t outside_gid, char *err, size_t errlen);

/* In such a child, once the box is built: give up every capability for good
 * (bounding, ambient, permitted, effective; securebits that keep uid 0 from
 * regaining them), so that the supervisor and its runs hold nothing even in
 * their own namespace. Returns 0, or -1 with a reason in err. */
int jt_identity_drop_all(char *err, size_t errlen);

/* In a run forked from the supervisor: become R for good and drop every
 * capability. Returns 0, or -1 with a reason in err. */
int jt_identity_become_run(uid_t run, char *err, size_t errlen);

/* Supervisor: act as R (effective uid and gid, and so the filesystem ones)
 * when on, as S again when off, keeping its capabilities: what runs left
 * (files, SysV objects) is removed as their owner. Returns 0 or -1 (errno). */
int jt_identity_act_as_run(uid_t supervisor, uid_t run, int on);

#endif
