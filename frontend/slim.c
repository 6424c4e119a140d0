/* The model language's entry points: a .slim file (or text) to a checked Graph. */
#include "frontend/slim.h"

#include "frontend/ast.h"
#include "frontend/builder.h"
#include "frontend/files.h"
#include "runtime/model_desc.h" /* rt_file_kind */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* Bigger model files are surely not model files: a model's text is small (its weights are
 * in safetensors files). */
#define FE_MAX_FILE_BYTES ((size_t)16 << 20)

Graph *fe_slim_load(const char *path, Diag *d)
{
    return fe_slim_load_ex(path, NULL, d);
}

Graph *fe_slim_load_ex(const char *path, const FeSlimOptions *o, Diag *d)
{
    SrcLoc at = {path, 0, 0};
    struct stat st;
    const char *why;
    int fd = fe_open_regular(path, &st, &why); /* no FIFO, device, folder or /proc file */
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (why)
            ir_diag_error(d, at, "model file %s", why);
        else
            ir_diag_error(d, at, "cannot open model file: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    /* A regular file's size (st, from the open) is refused before reading it. */
    bool too_big = (uint64_t)st.st_size > FE_MAX_FILE_BYTES;
    while (!too_big) {
        if (len == cap) {
            cap = cap ? 2 * cap : 16384;
            if (cap > FE_MAX_FILE_BYTES + 1) {
                too_big = true;
                break;
            }
            char *grown = realloc(text, cap);
            SLIMC_ASSERT(grown);
            text = grown;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(f) != 0;
    int err = errno;
    fclose(f);
    Graph *g = NULL;
    if (failed)
        ir_diag_error(d, at, "cannot read model file: %s", strerror(err));
    else if (too_big)
        ir_diag_error(d, at, "model file is larger than %zu MB", FE_MAX_FILE_BYTES >> 20);
    else
        g = fe_slim_parse_ex(path, text ? text : "", len, o, d);
    if (g)
        fe_note_input(g, path, &st);
    free(text);
    return g;
}

Graph *fe_slim_parse(const char *path, const char *text, size_t len, Diag *d)
{
    return fe_slim_parse_ex(path, text, len, NULL, d);
}

Graph *fe_slim_parse_ex(const char *path, const char *text, size_t len, const FeSlimOptions *o,
                        Diag *d)
{
    int errors = d->n_errors;
    if (len > FE_MAX_FILE_BYTES) {
        ir_diag_error(d, (SrcLoc){path, 0, 0}, "model file is larger than %zu MB",
                      FE_MAX_FILE_BYTES >> 20);
        return NULL;
    }
    ir_diag_add_source(d, path, text, len);
    const char *hint = rt_file_kind_hint(rt_file_kind(text, len), RT_ROLE_MODEL);
    if (hint) { /* a binary file of a kind slimc knows: say what it is, not where it fails */
        ir_diag_error(d, (SrcLoc){path, 0, 0}, "not a model file: %s", hint);
        return NULL;
    }
    const char *nul = memchr(text, 0, len);
    if (nul) { /* a string would end there unseen; most likely not a text file at all */
        SrcLoc at = {path, 1, 1};
        for (const char *p = text; p < nul; p++)
            if (*p == '\n')
                at.line++, at.col = 1;
            else
                at.col++;
        ir_diag_error(d, at, "a NUL byte: a model file is text (is this a binary file?)");
        return NULL;
    }
    AstFile ast = {0};
    FeParse p = {0};
    p.arena = ir_arena_new();
    p.d = d;
    p.file = ir_arena_strdup(p.arena, path);
    p.ast = &ast;
    fe_parse_text(&p, text, len);
    /* The lines that parsed are elaborated even after syntax errors, to report the
     * semantic errors too. */
    Graph *g = fe_build_ex(&ast, p.file, o, d);
    ir_arena_free(p.arena);
    if (d->n_errors > errors) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}
