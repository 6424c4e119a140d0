/* .npz files: numpy's zip of .npy files (np.savez), one array per entry named NAME.npy.
 * Stored (uncompressed) entries only: slimc has no inflate, so an archive written by
 * np.savez_compressed is refused with a message naming the file and the entry. Every
 * zip structure is checked against the file's size (end record, zip64 end record,
 * central directory, local headers, names, CRC-32 of each entry); each entry's data goes
 * through the .npy reader (frontend/npy.h). docs/formats.md has the contract. */
#ifndef SLIMC_FE_NPZ_H
#define SLIMC_FE_NPZ_H

#include "frontend/npy.h"

typedef struct NpzEntry {
    char *name; /* the entry's name without ".npy" (malloc'd) */
    NpyArray arr;
} NpzEntry;

/* Whether buf starts as a zip archive does (a local header or an empty archive's end). */
bool fe_is_zip(const void *buf, size_t len);
/* Parses an in-memory .npz image (name: the file name for messages); *out (malloc'd,
 * *n entries in archive order) holds the arrays. False with an error naming the file (and
 * the entry) and *out NULL, *n 0. Free with fe_npz_free. */
bool fe_npz_parse(const char *name, const void *buf, size_t len, NpzEntry **out, int *n, Diag *d);
/* Reads path as fe_npz_parse parses. */
bool fe_npz_read(const char *path, NpzEntry **out, int *n, Diag *d);
void fe_npz_free(NpzEntry *e, int n);

#endif
