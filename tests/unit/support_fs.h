/* File-system helpers the unit tests share: scratch folders and whole-file reads. */
#ifndef SLIMC_TESTS_SUPPORT_FS_H
#define SLIMC_TESTS_SUPPORT_FS_H

#include <stddef.h>

/* A fresh private folder under /tmp (a static buffer, valid until the next call). */
char *fs_make_tmp(void);
/* Removes dir and everything below it (making it writable first). */
void fs_rm_tree(const char *dir);
/* Entries in dir other than . and .. */
int fs_count_entries(const char *dir);
/* The whole file, malloc'd; its length in *len. Fails the test if it cannot be read. */
unsigned char *fs_slurp(const char *path, size_t *len);

#endif
