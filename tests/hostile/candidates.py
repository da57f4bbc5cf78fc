# Hostile candidates for tests/test_hostile.c: solve(kind, arg) calls h_<kind>(arg).
import os
import sys


def solve(kind, arg):
    return globals()["h_" + kind](arg)


def h_square(x):
    return x * x


def h_call_loop(arg):
    while True:
        pass


def h_memory(arg):
    return len(bytearray(10 * 2**30))


def h_fork_loop(arg):
    # A child that a leaky sandbox lets through leaves at once, so a broken
    # sandbox shows up as "timeout" instead of an exponential fork bomb on the
    # host; the first refused fork is what the test looks for.
    while True:
        if os.fork() == 0:
            os._exit(0)


def h_thread(arg):
    import threading

    threading.Thread(target=lambda: None).start()
    return "thread started"


def h_tcp(port):
    import socket

    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    return "connected"


def h_big_file(name):
    chunk = b"x" * 2**20
    with open(name, "wb") as f:
        for _ in range(100):
            f.write(chunk)
    return "written"


def h_big_print(arg):
    sys.stdout.write("x" * (100 * 2**20))
    return "printed"


def h_huge_result(arg):
    """Five million tiny elements: larger than any job body, so never an expected output;
    unpacked, such a frame would cost ~24 bytes per byte in every process on its way."""
    return [0] * 5000000


def h_print_loop(arg):
    line = "y" * 1023
    for _ in range(100 * 1024):
        print(line)
    return "printed"


def h_kill_parent(arg):
    os.kill(os.getppid(), 9)
    return "parent killed"


def h_killpg(arg):
    os.killpg(0, 9)
    return "group killed"


def h_shadow(arg):
    with open("/etc/shadow") as f:
        return f.read()


def h_sys_exit(arg):
    sys.exit()


def h_os_exit(arg):
    os._exit(3)


def h_segfault(arg):
    import ctypes

    return ctypes.string_at(0)


def h_recursion(x):
    return h_recursion(x)


def h_object(arg):
    return object()


def h_set(arg):
    return {1, 2, 3}


def h_secrets(arg):
    """Look for the worker's environment wherever a run can read one."""
    seen = [repr(dict(os.environ))]
    for pid in ("self", str(os.getppid())):
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                seen.append(f.read().decode("latin-1"))
        except OSError:
            pass
    text = "\n".join(seen)
    if "JOULETRACE_NATS_URL" in text or "jt-canary" in text:
        raise RuntimeError("leaked: " + text[:300])
    raise LookupError("no secret visible")


def h_fcntl_setown(arg):
    """Make the kernel signal the supervisor: owner + O_ASYNC on a pipe."""
    import fcntl
    with _Pipe() as (r, w):
        fcntl.fcntl(r, fcntl.F_SETOWN, os.getppid())
        fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
        os.write(w, b"x")
    return "owner set"


def h_fcntl_async(arg):
    """O_ASYNC alone (and F_SETSIG): refused as well."""
    import fcntl
    with _Pipe() as (r, w):
        fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
    return "async set"


def h_prlimit_parent(arg):
    """Lower the supervisor's open-file limit so that the next run cannot start."""
    import resource
    resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, (3, 3))
    return "parent limited"


# ---- helpers of the cases below: each returns "escaped: ..." when the
# protection is missing and raises RuntimeError("contained: ...") when it holds.

_SYSCALLS = {  # name: (x86_64, aarch64)
    "ioctl": (16, 29), "fcntl": (72, 25), "ptrace": (101, 117), "setuid": (105, 146),
    "setgid": (106, 144), "setresuid": (117, 147), "personality": (135, 92),
    "chroot": (161, 51), "pivot_root": (155, 41), "mount": (165, 40), "umount2": (166, 39),
    "sethostname": (170, 161), "tkill": (200, 130), "tgkill": (234, 131),
    "rt_sigqueueinfo": (129, 138), "rt_tgsigqueueinfo": (297, 240), "add_key": (248, 217),
    "request_key": (249, 218), "keyctl": (250, 219), "ioprio_set": (251, 30),
    "unshare": (272, 97), "perf_event_open": (298, 241), "prlimit64": (302, 261),
    "setns": (308, 268), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "kcmp": (312, 272), "sched_setattr": (314, 274), "memfd_create": (319, 279),
    "bpf": (321, 280), "userfaultfd": (323, 282), "pidfd_send_signal": (424, 424),
    "io_uring_setup": (425, 425), "open_tree": (428, 428), "fsopen": (430, 430),
    "fspick": (433, 433), "pidfd_open": (434, 434), "pidfd_getfd": (438, 438),
    "process_madvise": (440, 440), "mount_setattr": (442, 442), "shmget": (29, 194),
    "semget": (64, 190), "msgget": (68, 186), "migrate_pages": (256, 238),
    "move_pages": (279, 239),
}


def _sys(name, *args):
    """(result, errno) of the raw system call name(*args)."""
    import ctypes
    import platform

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    nr = _SYSCALLS[name][0 if platform.machine() == "x86_64" else 1]
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    rc = libc.syscall(ctypes.c_long(nr), *conv)
    return rc, ctypes.get_errno()


def _ref(obj):
    import ctypes

    return ctypes.c_void_p(ctypes.addressof(obj))


class _Pipe:
    """A pipe closed again when the with block ends, however it ends."""

    def __enter__(self):
        self.r, self.w = os.pipe()
        return self.r, self.w

    def __exit__(self, *exc):
        os.close(self.r)
        os.close(self.w)


def _verdict(attempts, refused=(1,)):
    """attempts: {what: (rc, errno)}. Contained when every one failed with an
    errno in refused (EPERM by default: the seccomp answer)."""
    import errno

    got = ["%s=%s" % (k, "ok" if rc != -1 else errno.errorcode.get(e, e))
           for k, (rc, e) in sorted(attempts.items())]
    if all(rc == -1 and e in refused for rc, e in attempts.values()):
        raise RuntimeError("contained: " + " ".join(got))
    return "escaped: " + " ".join(got)


def _runner_pid():
    """The sandbox child's parent (the runner), or 0 when it cannot be read."""
    try:
        with open("/proc/%d/stat" % os.getppid()) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _targets():
    """Processes to aim at: the supervisor, the runner, init (those that exist)."""
    return [p for p in (os.getppid(), _runner_pid(), 1) if p > 0]


def h_pidfd_signal(arg):
    """A pidfd of the supervisor or the runner, then a signal through it."""
    tried = {}
    for pid in _targets():
        rc, e = _sys("pidfd_open", pid, 0)
        tried["pidfd_open(%d)" % pid] = (rc, e)
        if rc >= 0:
            tried["pidfd_send_signal(%d)" % pid] = _sys("pidfd_send_signal", rc, 0, 0, 0)
            tried["pidfd_getfd(%d)" % pid] = _sys("pidfd_getfd", rc, 3, 0)
    return _verdict(tried)


def _siginfo_queue():
    """A siginfo with si_code SI_QUEUE (the kernel refuses other codes by itself)."""
    import ctypes

    info = (ctypes.c_int * 32)()
    info[2] = -1
    return info


def h_sigqueue_parent(arg):
    """rt_sigqueueinfo / rt_tgsigqueueinfo to the supervisor and the runner (signal 0)."""
    tried = {}
    for pid in _targets():
        info = _siginfo_queue()
        tried["rt_sigqueueinfo(%d)" % pid] = _sys("rt_sigqueueinfo", pid, 0, _ref(info))
        tried["rt_tgsigqueueinfo(%d)" % pid] = _sys("rt_tgsigqueueinfo", pid, pid, 0, _ref(info))
    return _verdict(tried)


def h_tgkill_parent(arg):
    """tgkill and tkill to the supervisor's thread, and to the runner (signal 0)."""
    tried = {}
    for pid in _targets():
        tried["tgkill(%d)" % pid] = _sys("tgkill", pid, pid, 0)
        tried["tkill(%d)" % pid] = _sys("tkill", pid, 0)
    return _verdict(tried)


def h_fcntl_setown_ex(arg):
    """F_SETOWN_EX (owner by pid, by process group) aimed at the supervisor."""
    import ctypes

    with _Pipe() as (r, w):
        tried = {}
        for kind, name in ((1, "pid"), (2, "pgrp")):  # F_OWNER_PID, F_OWNER_PGRP
            owner = (ctypes.c_int * 2)(kind, os.getppid())
            tried["F_SETOWN_EX(%s)" % name] = _sys("fcntl", r, 15, _ref(owner))
        return _verdict(tried)


def h_fcntl_setsig(arg):
    """F_SETSIG: the signal O_ASYNC would deliver, here SIGKILL."""
    with _Pipe() as (r, w):
        return _verdict({"F_SETSIG": _sys("fcntl", r, 10, 9)})


def h_fcntl_high_bits(arg):
    """The kernel reads fcntl's and ioctl's command as 32 bits: the refused
    commands with bit 32 set, aimed at the supervisor (no I/O follows)."""
    import ctypes

    with _Pipe() as (r, w):
        high = 1 << 32
        pid = ctypes.c_int(os.getppid())
        return _verdict({
            "F_SETOWN": _sys("fcntl", r, high | 8, os.getppid()),
            "F_SETSIG": _sys("fcntl", r, high | 10, 9),
            "F_SETFL(O_ASYNC)": _sys("fcntl", r, high | 4, os.O_ASYNC),
            "FIOSETOWN": _sys("ioctl", r, high | 0x8901, _ref(pid)),
            "FIOASYNC": _sys("ioctl", r, high | 0x5452, _ref(ctypes.c_int(1))),
        })


def h_ioctl_setown(arg):
    """The ioctl spellings of owner and O_ASYNC: FIOSETOWN, SIOCSPGRP, FIOASYNC."""
    import ctypes

    with _Pipe() as (r, w):
        pid = ctypes.c_int(os.getppid())
        return _verdict({
            "FIOSETOWN": _sys("ioctl", r, 0x8901, _ref(pid)),
            "SIOCSPGRP": _sys("ioctl", r, 0x8902, _ref(pid)),
            "FIOASYNC": _sys("ioctl", r, 0x5452, _ref(ctypes.c_int(1))),
        })


def h_lease_notify(arg):
    """A lease on an own file (stalls other openers) and a directory notification."""
    with open("jt_hostile_lease", "w"):
        pass
    fd = os.open("jt_hostile_lease", os.O_RDONLY)
    d = os.open(".", os.O_RDONLY)
    try:
        return _verdict({"F_SETLEASE": _sys("fcntl", fd, 1024, 0),  # F_RDLCK
                         "F_NOTIFY": _sys("fcntl", d, 1026, 0x80000004)})
    finally:
        os.close(fd)
        os.close(d)
        os.unlink("jt_hostile_lease")


def h_renice_others(arg):
    """setpriority of the supervisor, its process group, and every process of
    the sandbox user (other jobs), each to the value it has now."""
    tried = {}
    for which, who, name in ((os.PRIO_PROCESS, os.getppid(), "process"),
                             (os.PRIO_PGRP, os.getpgid(os.getppid()), "pgrp"),
                             (os.PRIO_USER, os.getuid(), "user")):
        try:
            os.setpriority(which, who, os.getpriority(which, who))
            tried[name] = (0, 0)
        except OSError as e:
            tried[name] = (-1, e.errno)
    return _verdict(tried)


def h_ioprio_others(arg):
    """ioprio_set of the supervisor and of every process of the sandbox user."""
    prio = (2 << 13) | 4  # best effort, level 4: the default
    return _verdict({"process": _sys("ioprio_set", 1, os.getppid(), prio),
                     "user": _sys("ioprio_set", 3, os.getuid(), prio)})


def h_sched_others(arg):
    """Scheduling of the supervisor: affinity, policy, attributes."""
    import ctypes

    tried = {}
    for name, call in (("setaffinity", lambda: os.sched_setaffinity(os.getppid(), {0})),
                       ("setscheduler", lambda: os.sched_setscheduler(
                           os.getppid(), os.SCHED_OTHER, os.sched_param(0))),
                       ("setparam", lambda: os.sched_setparam(os.getppid(),
                                                              os.sched_param(0)))):
        try:
            call()
            tried[name] = (0, 0)
        except OSError as e:
            tried[name] = (-1, e.errno)
    attr = (ctypes.c_uint32 * 14)()
    attr[0] = ctypes.sizeof(attr)  # size; SCHED_OTHER, nice 0
    tried["setattr"] = _sys("sched_setattr", os.getppid(), _ref(attr), 0)
    return _verdict(tried)


def h_prlimit_others(arg):
    """prlimit of the runner and of init, even only to read them."""
    import ctypes

    tried = {}
    for pid in _targets():
        old = (ctypes.c_uint64 * 2)()
        tried["prlimit(%d)" % pid] = _sys("prlimit64", pid, 7, None, _ref(old))
    return _verdict(tried)


def h_vm_read_parent(arg):
    """process_vm_readv / writev on the supervisor's memory."""
    import ctypes

    buf = ctypes.create_string_buffer(64)
    local = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 64)
    remote = (ctypes.c_void_p * 2)(0x400000, 64)
    pid = os.getppid()
    return _verdict({"readv": _sys("process_vm_readv", pid, _ref(local), 1, _ref(remote), 1, 0),
                     "writev": _sys("process_vm_writev", pid, _ref(local), 1, _ref(remote), 1,
                                    0)})


def h_proc_mem_parent(arg):
    """The supervisor's and the runner's memory, environment, descriptors and
    working directory through /proc (absent in a pid namespace: also fine)."""
    import errno

    tried = {}
    for pid in _targets()[:2]:
        for what in ("mem", "environ", "maps"):
            try:
                with open("/proc/%d/%s" % (pid, what), "rb") as f:
                    f.read(16)
                tried["%s(%d)" % (what, pid)] = (0, 0)
            except OSError as e:
                tried["%s(%d)" % (what, pid)] = (-1, e.errno)
        for what in ("fd", "cwd", "root"):
            try:
                os.listdir("/proc/%d/%s" % (pid, what))
                tried["%s(%d)" % (what, pid)] = (0, 0)
            except OSError as e:
                tried["%s(%d)" % (what, pid)] = (-1, e.errno)
    return _verdict(tried, (errno.EACCES, errno.EPERM, errno.ENOENT))


def h_ptrace_parent(arg):
    """ptrace: attach to and seize the supervisor, or be traced."""
    return _verdict({"ATTACH": _sys("ptrace", 16, os.getppid(), 0, 0),
                     "SEIZE": _sys("ptrace", 0x4206, os.getppid(), 0, 0),
                     "TRACEME": _sys("ptrace", 0, 0, 0, 0)})


def h_kcmp_parent(arg):
    """kcmp: whether the supervisor shares a file or memory with this run."""
    return _verdict({"KCMP_FILE": _sys("kcmp", os.getpid(), os.getppid(), 0, 0, 0),
                     "KCMP_VM": _sys("kcmp", os.getpid(), os.getppid(), 1, 0, 0)})


def h_userfaultfd(arg):
    """userfaultfd, by system call and through /dev/userfaultfd."""
    import errno

    tried = {"syscall": _sys("userfaultfd", 0),
             "syscall(user mode only)": _sys("userfaultfd", 1)}  # allowed to users
    try:
        os.close(os.open("/dev/userfaultfd", os.O_RDWR))
        tried["device"] = (0, 0)
    except OSError as e:
        tried["device"] = (-1, errno.EPERM if e.errno in (errno.EACCES, errno.ENOENT) else e.errno)
    return _verdict(tried)


def h_perf_event(arg):
    """perf_event_open of a software counter of this very run (allowed to users)."""
    import ctypes

    attr = (ctypes.c_uint32 * 32)()
    attr[0] = 1  # PERF_TYPE_SOFTWARE, config 0: PERF_COUNT_SW_CPU_CLOCK
    attr[1] = ctypes.sizeof(attr)
    return _verdict({"perf_event_open": _sys("perf_event_open", _ref(attr), 0, -1, -1, 0)})


def h_keyrings(arg):
    """The kernel's key store: add, look up, request."""
    return _verdict({
        "add_key": _sys("add_key", b"user", b"jt-hostile", b"secret", 6, -2),
        "keyctl": _sys("keyctl", 0, -3, 0),  # KEYCTL_GET_KEYRING_ID of the session
        "request_key": _sys("request_key", b"user", b"jt-hostile", None, 0),
    })


def h_bpf(arg):
    """bpf: create an array map."""
    import ctypes

    attr = (ctypes.c_uint32 * 32)(2, 4, 4, 1)  # BPF_MAP_TYPE_ARRAY, key 4, value 4, 1 entry
    return _verdict({"BPF_MAP_CREATE": _sys("bpf", 0, _ref(attr), ctypes.sizeof(attr))})


def h_io_uring(arg):
    """io_uring_setup: a ring would run system calls past the filter."""
    import ctypes

    params = (ctypes.c_uint32 * 30)()
    return _verdict({"io_uring_setup": _sys("io_uring_setup", 4, _ref(params))})


def h_namespaces(arg):
    """unshare a user, mount or network namespace; join the host's through setns."""
    tried = {"unshare(user)": _sys("unshare", 0x10000000),
             "unshare(user|mount)": _sys("unshare", 0x10020000),
             "unshare(net)": _sys("unshare", 0x40000000)}
    try:
        fd = os.open("/proc/1/ns/net", os.O_RDONLY)
        tried["setns(init net)"] = _sys("setns", fd, 0)
        os.close(fd)
    except OSError:
        fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        tried["setns(own net)"] = _sys("setns", fd, 0)
        os.close(fd)
    return _verdict(tried)


def h_mount_chroot(arg):
    """mount, umount, chroot, pivot_root and the new mount API."""
    return _verdict({
        "mount": _sys("mount", b"none", b".", b"tmpfs", 0, None),
        "umount2": _sys("umount2", b".", 2),
        "chroot": _sys("chroot", b"."),
        "pivot_root": _sys("pivot_root", b".", b"."),
        "fsopen": _sys("fsopen", b"tmpfs", 0),
        "open_tree": _sys("open_tree", -100, b".", 1),
        "fspick": _sys("fspick", -100, b".", 0),
        "mount_setattr": _sys("mount_setattr", -100, b".", 0, None, 0),
    })


def h_personality(arg):
    """personality: turn address randomisation off."""
    return _verdict({"ADDR_NO_RANDOMIZE": _sys("personality", 0x0040000)})


def h_sysv_ipc(arg):
    """System V shared memory, a semaphore set, a message queue under a fixed key:
    they must stay in the box (the host must not see them, during or after)."""
    made = []
    for name, size in (("shmget", 4096), ("semget", 1), ("msgget", 0)):
        args = (0x4A540002, size, 0o1600) if name != "msgget" else (0x4A540002, 0o1600)
        rc, e = _sys(name, *args)
        made.append("%s=%s" % (name, "made" if rc >= 0 else e))
    raise RuntimeError("contained: " + " ".join(made))


def h_posix_mq(arg):
    """POSIX message queues: mq_open of a new queue."""
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    ctypes.set_errno(0)
    rc = libc.mq_open(b"/jt-hostile", os.O_CREAT | os.O_RDWR, 0o600, None)
    if rc >= 0:
        libc.mq_unlink(b"/jt-hostile")
    return _verdict({"mq_open": (rc, ctypes.get_errno())}, (errno.EPERM, errno.EMFILE))


def h_memfd_memory(arg):
    """Memory files hold memory outside RLIMIT_AS: try to keep 640 MiB in them
    (the job's limit is 256 MiB)."""
    fds, held = [], 0
    try:
        while held < 640:
            rc, e = _sys("memfd_create", b"jt", 0)
            if rc < 0:
                raise RuntimeError("contained: memfd_create refused after %d MiB (errno %d)"
                                   % (held, e))
            fds.append(rc)
            for _ in range(16):
                os.write(rc, b"m" * (1 << 20))
                held += 1
        return "escaped: holding %d MiB in %d memory files" % (held, len(fds))
    finally:
        for fd in fds:
            os.close(fd)


def _fill(directory, cap_mib):
    """MiB written into directory (4 MiB files) before the first refusal, at most cap_mib;
    the files are removed again."""
    names, written = [], 0
    chunk = b"t" * (1 << 20)
    try:
        while written < cap_mib:
            name = os.path.join(directory, "jt-hostile-fill-%d" % len(names))
            names.append(name)
            with open(name, "wb") as f:
                for _ in range(4):
                    f.write(chunk)
                    f.flush()
                    written += 1
    except OSError:
        pass
    finally:
        for name in names:
            try:
                os.unlink(name)
            except OSError:
                pass
    return written


def h_tmpfs_full(arg):
    """The writable directories are size-limited: 16 MiB each for the temporary
    ones, 64 MiB for the working directory."""
    got = {}
    for d, limit in (("/tmp", 16), ("/var/tmp", 16), ("/dev/shm", 16), ("/run/lock", 16),
                     (".", 64)):
        if os.path.isdir(d):
            got[d] = (_fill(d, limit + 32), limit)
    text = " ".join("%s=%d/%d MiB" % (d, n, lim) for d, (n, lim) in sorted(got.items()))
    if all(n <= lim for n, lim in got.values()):
        raise RuntimeError("contained: " + text)
    return "escaped: " + text


def h_open_files(arg):
    """Descriptors are limited to 64."""
    fds = []
    try:
        while len(fds) < 1000:
            fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as e:
        if max(fds, default=0) < 64:
            raise RuntimeError("contained: %d opened, highest %d: %s"
                               % (len(fds), max(fds, default=-1), e.strerror))
    finally:
        for fd in fds:
            os.close(fd)
    return "escaped: %d descriptors, highest %d" % (len(fds), max(fds, default=-1))


def h_fds_clean(arg):
    """A run holds stdin, stdout, stderr and its result pipe, nothing else
    (fstat opens nothing, so the scan does not see itself)."""
    extra = []
    for fd in range(4, 1 << 16):
        try:
            os.fstat(fd)
        except OSError:
            continue
        try:
            extra.append("%d->%s" % (fd, os.readlink("/proc/self/fd/%d" % fd)))
        except OSError:
            extra.append(str(fd))
    kinds = [os.path.basename(os.readlink("/proc/self/fd/%d" % fd)) for fd in range(4)]
    if extra:
        return "escaped: " + " ".join(extra)
    raise RuntimeError("contained: 0-3 only (%s)" % " ".join(kinds))


def h_hostname(arg):
    """sethostname: refused, or at least private to the box."""
    import socket

    before = socket.gethostname()
    try:
        socket.sethostname("jt-hostile-box")
    except OSError as e:
        raise RuntimeError("contained: sethostname refused (%s), still %s"
                           % (e.strerror, before))
    return "escaped: host name set (was %s)" % before


def h_net_interfaces(arg):
    """The network namespace has loopback only."""
    with open("/proc/self/net/dev") as f:
        names = sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
    if names == ["lo"]:
        raise RuntimeError("contained: interfaces " + " ".join(names))
    return "escaped: interfaces " + " ".join(names)


def h_setuid_root(arg):
    """Not root, no capabilities, and no way back to root."""
    import errno

    with open("/proc/self/status") as f:
        caps = [line.split()[1] for line in f if line.startswith(("CapEff", "CapPrm"))]
    tried = {"uid": (-1 if os.getuid() and os.geteuid() else 0, errno.EPERM),
             "caps": (-1 if all(int(c, 16) == 0 for c in caps) else 0, errno.EPERM),
             "setuid(0)": _sys("setuid", 0),
             "setresuid(0)": _sys("setresuid", 0, 0, 0),
             "setgid(0)": _sys("setgid", 0)}
    return _verdict(tried)


def h_python_works(arg):
    """What the filters must leave alone: ctypes callbacks, temporary files,
    threads' absence handled by the standard library's pure-Python modules."""
    import ctypes
    import decimal
    import tempfile

    libc = ctypes.CDLL(None)
    cmp = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                           ctypes.POINTER(ctypes.c_int))
    arr = (ctypes.c_int * 5)(5, 1, 4, 2, 3)
    libc.qsort(arr, 5, ctypes.sizeof(ctypes.c_int), cmp(lambda a, b: a[0] - b[0]))
    with tempfile.TemporaryFile() as f:
        f.write(b"x" * 4096)
        f.seek(0)
        size = len(f.read())
    with open("jt-hostile-local", "w") as f:
        f.write("local")
    os.unlink("jt-hostile-local")
    return "python works: %s %d %s" % (list(arr), size, decimal.Decimal(1) / 8)


def h_plant_files(arg):
    """Files in every writable place: none may reach the host or outlive the job."""
    planted = []
    for d in (".", "/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock"):
        try:
            with open(os.path.join(d, "jt-hostile-plant"), "w") as f:
                f.write("planted")
            planted.append(d)
        except OSError:
            pass
    raise RuntimeError("contained: planted in " + " ".join(planted))


def h_deep_path(arg):
    """A directory chain deeper than PATH_MAX in the working directory and in
    /tmp, a file at its bottom: the clean-up must still remove it."""
    made = []
    for top in (".", "/tmp"):
        fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
        depth = 0
        try:
            while depth < 40:  # 40 * 201 bytes: about 8 KiB of path
                name = "jt-hostile-deep-" + "d" * 185
                os.mkdir(name, dir_fd=fd)
                nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = nfd
                depth += 1
            os.close(os.open("bottom", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd))
        finally:
            os.close(fd)
        made.append("%s:%d" % (top, depth))
    raise RuntimeError("contained: planted " + " ".join(made))


def h_plant_everything(arg):
    """Job 1 of two through one runner: leave state wherever a run can."""
    import builtins
    import resource

    for d in (".", "/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        try:
            with open(os.path.join(d, "jt-hostile-plant"), "w") as f:
                f.write("planted")
        except OSError:
            pass
    for name in ("shmget", "semget", "msgget"):
        _sys(name, 0x4A540001, 4096 if name == "shmget" else 1, 0o1666 | 0o1000)
    builtins.jt_hostile_cache = "c" * (64 << 20)
    sys.modules["jt_hostile_cache"] = sys
    os.environ["JT_HOSTILE_PLANT"] = "1"
    sys.setrecursionlimit(77)
    resource.setrlimit(resource.RLIMIT_NOFILE, (8, 8))
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    os.umask(0o777)
    return "planted"


def h_check_clean(memory_mb):
    """Job 2 of two through one runner: nothing of job 1 is here."""
    import builtins
    import resource

    found = []
    for d in (".", "/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        if os.path.exists(os.path.join(d, "jt-hostile-plant")):
            found.append("file in " + d)
    for name in ("shmget", "semget", "msgget"):
        rc, e = _sys(name, 0x4A540001, 0, 0)
        if rc >= 0:
            found.append(name + " object")
    if hasattr(builtins, "jt_hostile_cache") or "jt_hostile_cache" in sys.modules:
        found.append("cached value")
    if "JT_HOSTILE_PLANT" in os.environ:
        found.append("environment")
    if sys.getrecursionlimit() == 77:
        found.append("recursion limit")
    limits = {"nofile": (resource.RLIMIT_NOFILE, 64), "fsize": (resource.RLIMIT_FSIZE, 16 << 20),
              "as": (resource.RLIMIT_AS, memory_mb << 20)}
    for name, (res, want) in limits.items():
        if resource.getrlimit(res) != (want, want):
            found.append("%s limit %r" % (name, resource.getrlimit(res)))
    mask = os.umask(0o022)
    os.umask(mask)
    if mask == 0o777:
        found.append("umask")
    return "clean" if not found else "found: " + ", ".join(found)


def h_cross_victim(canary):
    """The second worker's job: its files and its own process stay as they were
    while another worker's job attacks."""
    import resource
    import time

    paths = [os.path.join(d, "jt-hostile-victim") for d in (".", "/tmp", "/dev/shm")]
    for p in paths:
        with open(p, "w") as f:
            f.write(canary)
    holder = canary * 1000  # the canary in memory as well
    for _ in range(6):
        time.sleep(0.4)
        for p in paths:
            with open(p) as f:
                if f.read() != canary:
                    return "hurt: %s changed" % p
        if os.getpriority(os.PRIO_PROCESS, 0) != 0:
            return "hurt: reniced"
        if resource.getrlimit(resource.RLIMIT_NOFILE) != (64, 64):
            return "hurt: limits changed"
    for p in paths:
        os.unlink(p)
    return "intact %d" % len(holder)


def h_minimal_root(arg):
    """The box's own root: nothing of the host beyond what Python needs, and read-only."""
    import errno

    allowed = {"bin", "dev", "etc", "lib", "lib64", "proc", "run", "sandbox", "sbin", "tmp",
               "usr", "var"}
    found = sorted(set(os.listdir("/")) - allowed)
    found += [p for p in ("/root", "/home", "/etc/shadow", "/etc/passwd", "/var/log", "/work",
                          "/opt", "/sys/class/net") if os.path.exists(p)]
    for path in ("/escape", "/usr/escape", "/etc/escape"):
        try:
            with open(path, "w"):
                found.append("wrote " + path)
        except OSError as e:
            if e.errno != errno.EROFS:
                found.append("%s: %s" % (path, e))
    if os.getcwd() != "/sandbox":
        found.append("cwd " + os.getcwd())
    if found:
        return "escaped: " + ", ".join(found)
    raise RuntimeError("contained: / holds %s, read-only" % sorted(os.listdir("/")))


def _jouletrace_pids():
    """pid -> cmdline of every jouletrace process in sight but this run."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"jouletrace" in cmd:
            found[int(name)] = cmd
    return found


def _attack(pid, canary, hits):
    """Signal, renice, re-limit, read pid; what worked goes into hits."""
    import ctypes
    import signal

    for sig in (0, signal.SIGSTOP):
        try:
            os.kill(pid, sig)
            hits.append("signal %d to %d" % (sig, pid))
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
    try:
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, pid))
        hits.append("setpriority %d" % pid)
    except OSError:
        pass
    old = (ctypes.c_uint64 * 2)()
    if _sys("prlimit64", pid, 7, None, _ref(old))[0] == 0:
        hits.append("prlimit %d" % pid)
    for what in ("environ", "mem", "cmdline"):
        try:
            with open("/proc/%d/%s" % (pid, what), "rb") as f:
                data = f.read(1 << 16)
        except OSError:
            continue
        if what != "cmdline" or canary.encode() in data:
            hits.append("read %s of %d" % (what, pid))
    try:
        os.listdir("/proc/%d/cwd" % pid)
        hits.append("cwd of %d" % pid)
    except OSError:
        pass


# The box's read-only system trees: no job can have written its canary there.
_SYSTEM_TREES = ("/usr", "/proc", "/sys", "/lib", "/lib64", "/bin", "/sbin")
# The box's own writable mounts: writing there reaches no other box.
_OWN_SCRATCH = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


def _canary_in_files(top, canary, hits):
    """Files under top (not following links, not in system trees) that hold the canary."""
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in _SYSTEM_TREES]
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as f:
                    if canary.encode() in f.read(1 << 20):
                        hits.append("canary in " + os.path.join(root, name))
            except OSError:
                pass


def _write_beside(hits):
    """Write into the other boxes' working directories on the host (the shared sandbox
    directory): the host's disk, beyond any box's tmpfs."""
    parent = os.path.dirname(os.getcwd())
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        path = os.path.join(parent, name)
        if path == os.getcwd() or path in _OWN_SCRATCH:
            continue
        try:
            with open(os.path.join(path, "jt-hostile-beside"), "w") as f:
                f.write("x")
            os.unlink(os.path.join(path, "jt-hostile-beside"))
            hits.append("wrote into " + path)
        except OSError:
            pass


def h_cross_attack(canary):
    """The first worker's job: for 4 s find the other worker's processes and files
    and try to hurt or read them."""
    import time

    hits, seen = [], set()
    mine = {os.getppid(), _runner_pid()}
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline and len(hits) < 20:
        for pid in _jouletrace_pids():
            if pid not in mine:
                seen.add(pid)
            _attack(pid, canary, hits)
        for top in (os.path.dirname(os.getcwd()), "/tmp", "/dev/shm"):
            _canary_in_files(top, canary, hits)
        _write_beside(hits)
        time.sleep(0.2)
    if hits:
        return "escaped: " + "; ".join(sorted(set(hits))[:20])
    raise RuntimeError("contained: %d other jouletrace processes seen, none reached" % len(seen))
