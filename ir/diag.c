#include "ir/diag.h"

#include "ir/arena.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_init(Diag *d)
{
    memset(d, 0, sizeof *d);
    d->mem = open_memstream(&d->buf, &d->len);
    SLIMC_ASSERT(d->mem);
}

void diag_fini(Diag *d)
{
    if (d->mem)
        fclose(d->mem);
    free(d->buf);
    for (DiagSource *s = d->sources, *next; s; s = next) {
        next = s->next;
        free((void *)s->text);
        free((void *)s->file);
        free(s);
    }
    memset(d, 0, sizeof *d);
}

void diag_add_source(Diag *d, const char *file, const char *text, size_t len)
{
    DiagSource *s = calloc(1, sizeof *s);
    char *t = malloc(len + 1);
    char *f = strdup(file);
    SLIMC_ASSERT(s && t && f);
    memcpy(t, text, len);
    t[len] = 0;
    s->file = f;
    s->text = t;
    s->len = len;
    s->next = d->sources;
    d->sources = s;
}

static const DiagSource *find_source(const Diag *d, const char *file)
{
    for (const DiagSource *s = d->sources; s; s = s->next)
        if (strcmp(s->file, file) == 0)
            return s;
    return NULL;
}

/* Prints the source line of loc and a caret under its column, if the text is known. */
static void quote_line(Diag *d, SrcLoc loc)
{
    if (!loc.file || loc.line <= 0)
        return;
    const DiagSource *s = find_source(d, loc.file);
    if (!s)
        return;
    const char *p = s->text, *end = s->text + s->len;
    for (int line = 1; line < loc.line && p < end; p++)
        if (*p == '\n')
            line++;
    if (p >= end && loc.line > 1)
        return;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    fprintf(d->mem, "  %.*s\n  ", (int)(eol - p), p);
    for (int c = 1; c < loc.col && p + c - 1 < eol; c++)
        fputc(p[c - 1] == '\t' ? '\t' : ' ', d->mem);
    fputs("^\n", d->mem);
}

__attribute__((format(printf, 4, 0))) static void report(Diag *d, SrcLoc loc, const char *kind,
                                                         const char *fmt, va_list ap)
{
    if (loc.file && loc.line > 0)
        fprintf(d->mem, "%s:%d:%d: %s: ", loc.file, loc.line, loc.col, kind);
    else if (loc.file)
        fprintf(d->mem, "%s: %s: ", loc.file, kind);
    else
        fprintf(d->mem, "slimc: %s: ", kind);
    vfprintf(d->mem, fmt, ap);
    fputc('\n', d->mem);
    quote_line(d, loc);
    fflush(d->mem);
}

void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "error", fmt, ap);
    va_end(ap);
    d->n_errors++;
}

void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "warning", fmt, ap);
    va_end(ap);
    d->n_warnings++;
}

void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "note", fmt, ap);
    va_end(ap);
}

const char *diag_text(Diag *d)
{
    fflush(d->mem);
    return d->buf ? d->buf : "";
}

void diag_clear(Diag *d)
{
    /* A memstream cannot be shortened: start a new one. */
    fclose(d->mem);
    free(d->buf);
    d->buf = NULL;
    d->len = 0;
    d->mem = open_memstream(&d->buf, &d->len);
    SLIMC_ASSERT(d->mem);
    d->n_errors = d->n_warnings = 0;
}
