/* test_workdir.c -- the sandbox's scrub removes whatever a run left, however deep or locked. */
#include "unit_main.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox_workdir.h"
#include "temp_dir.h"

typedef struct {
    char dir[128];     /* the working directory under test */
    char outside[160]; /* a file beside it that symlinks point at */
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    if (jt_temp_dir_make(f.dir, sizeof f.dir, "jt-workdir") < 0)
        return -1;
    snprintf(f.outside, sizeof f.outside, "%s-outside", f.dir);
    int fd = open(f.outside, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    close(fd);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    jt_temp_dir_remove(f->dir);
    unlink(f->outside);
    return 0;
}

/* Entries of dir besides . and .. */
static int count_entries(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    DIR *d = fdopendir(fd);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* A chain of `depth` directories named `name` below dir, built with
 * descriptors as a run would (no path is ever longer than one name), with a
 * file at every level; the deepest level gets mode 0 when lock is set. */
static void make_chain(const char *dir, int depth, const char *name, bool lock)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    for (int i = 0; i < depth; i++) {
        assert_int_equal(mkdirat(fd, name, 0700), 0);
        int file = openat(fd, "f", O_WRONLY | O_CREAT, 0600);
        assert_true(file >= 0);
        assert_int_equal(write(file, "x", 1), 1);
        close(file);
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY);
        assert_true(next >= 0);
        if (lock && i == depth - 1)
            assert_int_equal(fchmodat(fd, name, 0, 0), 0);
        close(fd);
        fd = next;
    }
    close(fd);
}

/* Deeper than PATH_MAX: the old path-based walk gave up and left it all. */
static void deeper_than_path_max_is_emptied(void **state)
{
    fixture_t *f = *state;
    char name[201];
    memset(name, 'd', 200);
    name[200] = '\0';
    int depth = 2 * PATH_MAX / 200; /* twice PATH_MAX */
    make_chain(f->dir, depth, name, true);
    assert_int_equal(jt_workdir_empty(f->dir), 0);
    assert_int_equal(count_entries(f->dir), 0);
}

/* Directories without permissions, at every level, are no obstacle. */
static void locked_directories_are_emptied(void **state)
{
    fixture_t *f = *state;
    make_chain(f->dir, 30, "locked", true);
    char path[256];
    snprintf(path, sizeof path, "%s/locked", f->dir);
    assert_int_equal(chmod(path, 0), 0);
    snprintf(path, sizeof path, "%s/plain", f->dir);
    assert_int_equal(mkdir(path, 0500), 0);
    assert_int_equal(jt_workdir_empty(f->dir), 0);
    assert_int_equal(count_entries(f->dir), 0);
}

/* A symlink to a file or directory outside is removed, never followed. */
static void symlinks_are_not_followed(void **state)
{
    fixture_t *f = *state;
    char link[256], dir_link[256], inner[256];
    snprintf(link, sizeof link, "%s/to-file", f->dir);
    assert_int_equal(symlink(f->outside, link), 0);
    snprintf(inner, sizeof inner, "%s/sub", f->dir);
    assert_int_equal(mkdir(inner, 0700), 0);
    snprintf(dir_link, sizeof dir_link, "%s/sub/to-parent", f->dir);
    assert_int_equal(symlink("/", dir_link), 0);
    assert_int_equal(jt_workdir_empty(f->dir), 0);
    assert_int_equal(count_entries(f->dir), 0);
    struct stat st;
    assert_int_equal(stat(f->outside, &st), 0);
    assert_int_equal(stat("/usr", &st), 0);
}

/* jt_workdir_remove takes the directory itself too, and a missing one is fine. */
static void remove_takes_the_directory(void **state)
{
    fixture_t *f = *state;
    make_chain(f->dir, 5, "r", true);
    assert_int_equal(jt_workdir_remove(f->dir), 0);
    struct stat st;
    assert_int_equal(lstat(f->dir, &st), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(jt_workdir_remove(f->dir), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(deeper_than_path_max_is_emptied, setup, teardown),
    cmocka_unit_test_setup_teardown(locked_directories_are_emptied, setup, teardown),
    cmocka_unit_test_setup_teardown(symlinks_are_not_followed, setup, teardown),
    cmocka_unit_test_setup_teardown(remove_takes_the_directory, setup, teardown),
};

JT_UNIT_MAIN(tests)
