/* Diagnostics for user mistakes: `file:line:col: error: message`, then the source line
 * and a caret under the column. Messages accumulate in a memory buffer so that the
 * public API can hand them to its caller instead of printing. */
#ifndef SLIMC_IR_DIAG_H
#define SLIMC_IR_DIAG_H

#include <stdbool.h>
#include <stdio.h>

typedef struct SrcLoc {
    const char *file; /* NULL when the place is unknown */
    int line, col;    /* 1-based; 0 when unknown */
} SrcLoc;

typedef struct DiagSource {
    const char *file;
    const char *text;
    size_t len;
    struct DiagSource *next;
} DiagSource;

typedef struct Diag {
    char *buf; /* all messages so far, NUL-terminated (owned) */
    size_t len;
    FILE *mem; /* open_memstream on buf */
    int n_errors, n_warnings;
    DiagSource *sources; /* source texts for printing the offending line (owned copies) */
} Diag;

void ir_diag_init(Diag *d);
void ir_diag_fini(Diag *d);
/* Remember a file's text so that messages about it can quote the line. */
void ir_diag_add_source(Diag *d, const char *file, const char *text, size_t len);
void ir_diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ir_diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ir_diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The text collected so far (valid until the next diag_* call). */
const char *ir_diag_text(Diag *d);
void ir_diag_clear(Diag *d);
/* Appends the messages of from (as formatted there) and their counts to d. */
void ir_diag_append(Diag *d, Diag *from);

#endif
