/* bench_python.c -- python3's main() on the runner's shared libpython, for bench_integrity.
 *
 * Debian's /usr/bin/python3 links libpython statically and runs Python code
 * 20-30 % faster than the shared libpython3.x.so that jouletrace-runner embeds,
 * so a reference timed on /usr/bin/python3 would understate what a sandboxed run
 * costs. This program is Python's own main() on the shared library: the same
 * arguments, the same exit codes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int main(int argc, char **argv)
{
    return Py_BytesMain(argc, argv);
}
