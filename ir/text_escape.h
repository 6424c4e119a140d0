/* Text from a model file is data, never code. A name, path or attribute string read from
 * a model reaches each of three targets only through that target's helper here:
 *
 *   generated C   ir_esc_c*     printable ASCII, safe in a comment and in a string literal
 *   Graphviz      ir_esc_dot*   the inside of a DOT quoted string
 *   the terminal  ir_esc_term*  control characters and bytes that are not UTF-8 as \xNN
 *
 * Identifiers in generated C are not text: codegen makes its own from [A-Za-z0-9_]. */
#ifndef SLIMC_IR_TEXT_ESCAPE_H
#define SLIMC_IR_TEXT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Bytes of a name kept in a generated comment or a DOT label; a longer one is cut and
 * ends in "...[N bytes, hash XXXXXXXX]" (FNV-1a of the whole name) so that two long names
 * still differ. */
#define IR_ESC_NAME_MAX 120
/* A buffer that holds any name escaped with max = IR_ESC_NAME_MAX. */
#define IR_ESC_NAME_BUF (4 * IR_ESC_NAME_MAX + 64)

/* Generated C. Writes s as printable ASCII that holds no newline, no comment delimiter
 * (slash-star or star-slash), no trigraph (two '?') and no bare quote or backslash: each
 * other byte is a three-digit octal escape (\057), so the text is inert in a comment and,
 * put between quotes, a string literal whose value is s itself (when max is 0: no cut).
 * max > 0 cuts s after max bytes (see IR_ESC_NAME_MAX). NULL writes "(null)". */
void ir_esc_c_put(FILE *f, const char *s, size_t max);
/* The same into buf (size bytes, NUL-terminated; cut at a whole escape if it is short). */
const char *ir_esc_c(char *buf, size_t size, const char *s, size_t max);

/* Graphviz: s for the inside of a DOT "quoted string" -- quotes and backslashes escaped,
 * control characters and bytes that are not UTF-8 as the text \xNN, cut as above. */
void ir_esc_dot_put(FILE *f, const char *s, size_t max);

/* The terminal: the n bytes at s with every control character (C0, DEL, C1), Unicode
 * direction override and byte that is not part of valid UTF-8 shown as \xNN. Tab stays;
 * newline stays only when keep_newlines (multi-line messages). */
void ir_esc_term_putn(FILE *f, const char *s, size_t n, bool keep_newlines);
static inline void ir_esc_term_put(FILE *f, const char *s)
{
    ir_esc_term_putn(f, s ? s : "(null)", s ? strlen(s) : 6, false);
}
/* The same into buf (size bytes, NUL-terminated, cut at a whole escape if short). */
const char *ir_esc_term(char *buf, size_t size, const char *s);

/* True when the n bytes at s are printable ASCII, newlines and tabs only: what generated C
 * must be (codegen checks its output with this). */
bool ir_text_is_plain_ascii(const char *s, size_t n);

#endif
