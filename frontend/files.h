/* Opening the files a model names, and keeping outputs off them. Every reader of a
 * model, weights, external data, .npy input or calibration file opens it here:
 *
 * - Only regular files are read. A FIFO, device, socket, directory or /proc or /sys file
 *   is refused at once, naming the file: nothing is opened before stat says it is a
 *   regular file, and the open is O_NONBLOCK, so a FIFO swapped in meanwhile never waits
 *   for a writer (fstat then refuses it).
 * - ONNX external data stays in the model's folder (fe_open_inside): a symlink is
 *   followed only when its target lies inside that folder.
 * - The files a graph was read from are noted on it (fe_note_input), and every writer
 *   checks its output path against them (fe_check_output): an output never replaces one
 *   of the command's inputs, by name, through a symlink or a hard link. */
#ifndef SLIMC_FE_FILES_H
#define SLIMC_FE_FILES_H

#include "ir/diag.h"
#include "ir/graph.h"

#include <stdbool.h>
#include <sys/stat.h>

/* Opens path read-only (O_CLOEXEC, blocking once open) and fills *st. Returns the fd,
 * or -1: with *why NULL and errno set when the file cannot be opened, or with *why set
 * (a static phrase that follows the file's name: "is not a regular file (a FIFO)") when
 * it is not a regular file. */
int fe_open_regular(const char *path, struct stat *st, const char **why);

/* Opens rel, a path relative to the folder dir (which holds the model file model), like
 * fe_open_regular, but only when the file it resolves to lies inside that folder: inside
 * realpath(dir), or inside the folder of realpath(model) (a model that is itself a link,
 * as in the Hugging Face cache, where blobs sit beside each other). rel must have no
 * ".." component and must not be absolute (the caller refuses those with its own
 * message). A file outside is refused with *why "is a symbolic link that leads outside
 * the model's folder", a dangling link with "... that leads nowhere". The check is on
 * real paths, then the real path is opened with O_NOFOLLOW: a folder that another user
 * rewrites while slimc reads it is outside this model (the threat is the file's text). */
int fe_open_inside(const char *dir, const char *model, const char *rel, struct stat *st,
                   const char **why);

/* Notes on g that it was read from the file st describes (path: for messages). */
void fe_note_input(Graph *g, const char *path, const struct stat *st);
/* The same for a path (nothing when it cannot be stat'ed). */
void fe_note_input_path(Graph *g, const char *path);

/* Fails with an error naming out when out exists and is one of the files noted on g
 * (compared by device and inode after following symlinks, so a link or a second name of
 * an input is caught too). */
bool fe_check_output(const Graph *g, const char *out, Diag *d);

#endif
