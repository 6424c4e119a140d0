/* Opening the files a model names, and keeping outputs off them (see files.h). */
#include "frontend/files.h"

#include "ir/arena.h"
#include "runtime/model_desc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/magic.h>
#include <sys/vfs.h>
#endif

/* Opens path with extra open flags (O_NOFOLLOW); see fe_open_regular. */
static int open_regular(const char *path, int flags, struct stat *st, const char **why)
{
    *why = NULL;
    /* stat first, so that a device or FIFO is never opened (opening one can block or
     * act: a tape rewinds, a terminal becomes the controlling one) */
    if ((flags & O_NOFOLLOW ? lstat(path, st) : stat(path, st)) != 0)
        return -1;
    if (!S_ISREG(st->st_mode)) {
        *why = S_ISLNK(st->st_mode) ? "is a symbolic link" : rt_file_not_regular(st);
        return -1;
    }
    /* O_NONBLOCK: a FIFO swapped in since the stat must not wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | flags);
    if (fd < 0)
        return -1;
    const char *bad = NULL;
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st->st_mode))
        bad = rt_file_not_regular(st);
#ifdef __linux__
    /* /proc and /sys files say they are regular and empty, and are neither */
    struct statfs fs;
    if (!bad && fstatfs(fd, &fs) == 0 &&
        (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC))
        bad = "is not a regular file (a /proc or /sys file)";
#endif
    int fl = bad ? -1 : fcntl(fd, F_GETFL);
    if (!bad && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (bad) {
        close(fd);
        *why = bad;
        return -1;
    }
    return fd;
}

int fe_open_regular(const char *path, struct stat *st, const char **why)
{
    return open_regular(path, 0, st, why);
}

/* True when path (canonical) is root (canonical) or lies below it. */
static bool path_inside(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return path[0] == '/';
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == 0);
}

int fe_open_inside(const char *dir, const char *model, const char *rel, struct stat *st,
                   const char **why)
{
    *why = NULL;
    size_t len = strlen(dir) + strlen(rel) + 2;
    char *joined = malloc(len);
    char real[PATH_MAX], root[PATH_MAX], model_root[PATH_MAX];
    if (!joined) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(joined, len, "%s/%s", dir, rel);
    int fd = -1;
    if (!realpath(joined, real)) {
        /* a dangling link is reported as what it is, not as a missing file */
        if (errno == ENOENT && lstat(joined, st) == 0)
            *why = "is a symbolic link that leads nowhere";
        else
            fd = -2;
    } else {
        bool inside = realpath(dir, root) && path_inside(real, root);
        if (!inside && realpath(model, model_root)) {
            char *slash = strrchr(model_root, '/');
            if (slash == model_root)
                slash[1] = 0;
            else if (slash)
                *slash = 0;
            inside = path_inside(real, model_root);
        }
        if (inside)
            fd = open_regular(real, O_NOFOLLOW, st, why);
        else
            *why = "is a symbolic link that leads outside the model's folder";
    }
    int e = errno;
    free(joined);
    errno = e;
    return fd < 0 ? -1 : fd;
}

void fe_note_input(Graph *g, const char *path, const struct stat *st)
{
    for (GraphFile *f = g->files; f; f = f->next)
        if (f->dev == (unsigned long long)st->st_dev && f->ino == (unsigned long long)st->st_ino)
            return;
    GraphFile *f = ir_arena_alloc(g->arena, sizeof *f);
    f->path = ir_arena_strdup(g->arena, path);
    f->dev = (unsigned long long)st->st_dev;
    f->ino = (unsigned long long)st->st_ino;
    f->next = g->files;
    g->files = f;
}

void fe_note_input_path(Graph *g, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        fe_note_input(g, path, &st);
}

bool fe_check_output(const Graph *g, const char *out, Diag *d)
{
    struct stat st;
    if (stat(out, &st) != 0)
        return true; /* not there (yet): it cannot be an input */
    for (const GraphFile *f = g->files; f; f = f->next)
        if (f->dev == (unsigned long long)st.st_dev && f->ino == (unsigned long long)st.st_ino) {
            if (strcmp(out, f->path) == 0)
                ir_diag_error(d, (SrcLoc){out, 0, 0},
                              "is an input of this command: writing it would replace it "
                              "(choose another output)");
            else
                ir_diag_error(d, (SrcLoc){out, 0, 0},
                              "is an input of this command ('%s', the same file): writing it "
                              "would replace it (choose another output)",
                              f->path);
            return false;
        }
    return true;
}
