#include "ir/diag.h"

#include "ir/arena.h"
#include "ir/text_escape.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void ir_diag_init(Diag *d)
{
    memset(d, 0, sizeof *d);
    d->mem = open_memstream(&d->buf, &d->len);
    SLIMC_ASSERT(d->mem);
}

void ir_diag_fini(Diag *d)
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

void ir_diag_add_source(Diag *d, const char *file, const char *text, size_t len)
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

/* Errors past this many are counted but not shown: a binary file read as a model must not
 * flood the terminal. */
#define DIAG_MAX_SHOWN 50
/* Bytes of a source line quoted under a message (a window around the column). */
#define DIAG_QUOTE_MAX 160

/* Prints the source line of loc and a caret under its column, if the text is known. The
 * line is escaped for the terminal and, when long, cut to a window around the column. */
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
    const char *at = p + (loc.col > 1 ? loc.col - 1 : 0);
    if (at > eol)
        at = eol;
    const char *from = p, *to = eol;
    if (to - from > DIAG_QUOTE_MAX) {
        from = at - from > DIAG_QUOTE_MAX / 2 ? at - DIAG_QUOTE_MAX / 2 : p;
        to = eol - from > DIAG_QUOTE_MAX ? from + DIAG_QUOTE_MAX : eol;
    }
    fputs(from > p ? "  ..." : "  ", d->mem);
    ir_esc_term_putn(d->mem, from, (size_t)(to - from), false);
    fputs(to < eol ? "...\n  " : "\n  ", d->mem);
    if (from > p)
        fputs("   ", d->mem);
    /* the caret under the column: one space per character of the escaped text before it */
    char *pre = NULL;
    size_t pre_len = 0;
    FILE *f = open_memstream(&pre, &pre_len);
    SLIMC_ASSERT(f);
    ir_esc_term_putn(f, from, (size_t)((at < to ? at : to) - from), false);
    fclose(f);
    for (size_t i = 0; i < pre_len; i++)
        if (pre[i] == '\t' || ((unsigned char)pre[i] & 0xc0) != 0x80)
            fputc(pre[i] == '\t' ? '\t' : ' ', d->mem);
    free(pre);
    fputs("^\n", d->mem);
}

/* One message: the place, the kind, the text. Names in the text come from model files and
 * file names from the user: all of it is escaped for the terminal (ir_esc_term). Newlines
 * stay only in a message whose format has one (a list, a compiler's log): elsewhere a
 * newline came from a name. */
__attribute__((format(printf, 4, 0))) static void report(Diag *d, SrcLoc loc, const char *kind,
                                                         const char *fmt, va_list ap)
{
    const bool error = !strcmp(kind, "error"), warning = !strcmp(kind, "warning");
    if ((error && d->n_errors >= DIAG_MAX_SHOWN) || (warning && d->n_warnings >= DIAG_MAX_SHOWN)) {
        if ((error ? d->n_errors : d->n_warnings) == DIAG_MAX_SHOWN)
            fprintf(d->mem, "slimc: %s: too many %ss; the others are not shown\n", kind, kind);
        return;
    }
    if (!error && !warning && d->n_errors > DIAG_MAX_SHOWN)
        return; /* a note to an error not shown */
    if (loc.file) {
        ir_esc_term_put(d->mem, loc.file);
        if (loc.line > 0)
            fprintf(d->mem, ":%d:%d", loc.line, loc.col);
        fprintf(d->mem, ": %s: ", kind);
    } else {
        fprintf(d->mem, "slimc: %s: ", kind);
    }
    char small[512], *text = small;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    SLIMC_ASSERT(n >= 0);
    if ((size_t)n >= sizeof small) {
        text = malloc((size_t)n + 1);
        SLIMC_ASSERT(text);
        vsnprintf(text, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    ir_esc_term_putn(d->mem, text, (size_t)n, strchr(fmt, '\n') != NULL);
    if (text != small)
        free(text);
    fputc('\n', d->mem);
    quote_line(d, loc);
    fflush(d->mem);
}

void ir_diag_error(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "error", fmt, ap);
    va_end(ap);
    d->n_errors++;
}

void ir_diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "warning", fmt, ap);
    va_end(ap);
    d->n_warnings++;
}

void ir_diag_note(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "note", fmt, ap);
    va_end(ap);
}

const char *ir_diag_text(Diag *d)
{
    fflush(d->mem);
    return d->buf ? d->buf : "";
}

void ir_diag_clear(Diag *d)
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

void ir_diag_append(Diag *d, Diag *from)
{
    const char *text = ir_diag_text(from);
    fputs(text, d->mem);
    fflush(d->mem);
    d->n_errors += from->n_errors;
    d->n_warnings += from->n_warnings;
}
