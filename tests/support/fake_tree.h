/* fake_tree.h -- tiny powercap trees written by hand: zone directories and their energy files.
 *
 * The meter tests build the trees they read with these (the moving tree of fake_rapl.h is the
 * other way). Functions return 0 on success and -1 (with a line on stderr) on failure.
 */
#ifndef JT_TESTS_FAKE_TREE_H
#define JT_TESTS_FAKE_TREE_H

#include <stddef.h>
#include <stdint.h>

/* Make a fresh temporary directory /dev/shm/jt-rapl-XXXXXX (else under /tmp) into dir (at
 * least 64 bytes); see jt_temp_dir_make. */
int jt_fake_tempdir(char *dir, size_t len);

/* Remove the directory tree at path (missing is fine). */
void jt_fake_tree_remove(const char *path);

/* Write text to root/rel atomically (temp + rename), creating nothing else. */
int jt_fake_write(const char *root, const char *rel, const char *text);

/* Write text to root/rel, making the directories on the way (mode 0755):
 * fake /proc and /sys files. */
int jt_fake_put(const char *root, const char *rel, const char *text);

/* Create root/rel as a zone directory with the given name, range and value. */
int jt_fake_zone(const char *root, const char *rel, const char *name, uint64_t range_uj,
                 uint64_t energy_uj);

/* Set root/rel/energy_uj to value, atomically. */
int jt_fake_set(const char *root, const char *rel, uint64_t value);

#endif
