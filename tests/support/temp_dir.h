/* temp_dir.h -- a test's private temporary directory: made on tmpfs where there is one. */
#ifndef JT_TESTS_TEMP_DIR_H
#define JT_TESTS_TEMP_DIR_H

#include <stddef.h>

/* Make a fresh directory /dev/shm/<prefix>-XXXXXX into dir (len bytes, at least 64), or
 * /tmp/<prefix>-XXXXXX when /dev/shm refuses: memory-backed like sysfs, whereas a rename over
 * a file on ext4 costs a data flush (~0.7 ms). Returns 0, or -1 with errno set and dir
 * holding the last template tried. */
int jt_temp_dir_make(char *dir, size_t len, const char *prefix);

/* Remove the tree at path, depth first, without following links (missing is fine). */
void jt_temp_dir_remove(const char *path);

#endif
