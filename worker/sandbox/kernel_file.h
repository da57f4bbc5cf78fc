/* kernel_file.h -- write a setting into a kernel file (/proc/sys, /proc/self, cgroupfs) at once. */
#ifndef JT_KERNEL_FILE_H
#define JT_KERNEL_FILE_H

/* Write text to the existing file path in one write(2), as the kernel's
 * setting files expect. Returns 0, or -1 with errno set (the file is missing,
 * refused the value, or took only part of it). */
int jt_kernel_file_write(const char *path, const char *text);

#endif
