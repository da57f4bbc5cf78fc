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
    r, w = os.pipe()
    fcntl.fcntl(r, fcntl.F_SETOWN, os.getppid())
    fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
    os.write(w, b"x")
    return "owner set"


def h_fcntl_async(arg):
    """O_ASYNC alone (and F_SETSIG): refused as well."""
    import fcntl
    r, w = os.pipe()
    fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
    return "async set"


def h_prlimit_parent(arg):
    """Lower the supervisor's open-file limit so that the next run cannot start."""
    import resource
    resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, (3, 3))
    return "parent limited"
