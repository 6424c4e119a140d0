/* The escaping helpers of ir/text_escape.h: one per target (generated C, DOT, terminal).
 * Each walks the text once and hands its pieces to a small writer that goes either to a
 * FILE or to a caller's buffer; a buffer that is too short is cut at a whole piece, never
 * inside an escape. */
#include "ir/text_escape.h"

#include <stdint.h>
#include <string.h>

typedef struct EscOut {
    FILE *f;   /* or: */
    char *buf; /* size bytes, always NUL-terminated */
    size_t size, len;
    bool full; /* a piece did not fit: nothing more is written */
    char last; /* the last byte written (for the pairs generated C must not hold) */
} EscOut;

static void put(EscOut *o, const char *s, size_t n)
{
    if (n == 0 || o->full)
        return;
    if (o->f) {
        fwrite(s, 1, n, o->f);
    } else {
        if (o->len + n + 1 > o->size) {
            o->full = true;
            return;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        o->buf[o->len] = 0;
    }
    o->last = s[n - 1];
}

/* The escape of byte c: \ooo (octal) for generated C, \xNN for the terminal and DOT. */
static void put_byte_escape(EscOut *o, bool octal, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
    if (octal) {
        e[1] = (char)('0' + (c >> 6));
        e[2] = (char)('0' + ((c >> 3) & 7));
        e[3] = (char)('0' + (c & 7));
    }
    put(o, e, 4);
}

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The bytes of s to show (at most max, when max > 0, cut before a UTF-8 continuation). */
static size_t shown_len(const char *s, size_t n, size_t max)
{
    if (max == 0 || n <= max)
        return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    return k;
}

static void put_cut_note(EscOut *o, const char *s, size_t n)
{
    char note[64];
    int k = snprintf(note, sizeof note, "...[%zu bytes, hash %08x]", n, (unsigned)fnv1a(s, n));
    put(o, note, (size_t)k);
}

/* Length of the valid UTF-8 sequence at p (at most left bytes) and its code point; 0 when
 * the bytes are not one (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *p, size_t left, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t v, lo;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, v = c & 0x1fu, lo = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, v = c & 0x0fu, lo = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, v = c & 0x07u, lo = 0x10000;
    else
        return 0;
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3fu);
    }
    if (v < lo || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* Code points a terminal or a viewer may act on instead of showing: C0 and C1 controls,
 * DEL, and the bidirectional overrides and isolates that reorder what is shown. */
static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f;
}

/* ---- generated C ---- */

static void esc_c(EscOut *o, const char *s, size_t max)
{
    if (!s)
        s = "(null)";
    size_t n = strlen(s), shown = shown_len(s, n, max);
    for (size_t i = 0; i < shown && !o->full; i++) {
        unsigned char c = (unsigned char)s[i];
        bool pair = (c == '/' && o->last == '*') || (c == '*' && o->last == '/') ||
                    (c == '?' && o->last == '?');
        if (c < 0x20 || c > 0x7e || c == '\\' || c == '"' || pair)
            put_byte_escape(o, true, c);
        else
            put(o, (const char *)&s[i], 1);
    }
    if (shown < n)
        put_cut_note(o, s, n);
}

void ir_esc_c_put(FILE *f, const char *s, size_t max)
{
    EscOut o = {.f = f};
    esc_c(&o, s, max);
}

const char *ir_esc_c(char *buf, size_t size, const char *s, size_t max)
{
    EscOut o = {.buf = buf, .size = size};
    if (size)
        buf[0] = 0;
    esc_c(&o, s, max);
    return buf;
}

bool ir_text_is_plain_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c > 0x7e)
            return false;
    }
    return true;
}

/* ---- Graphviz ---- */

void ir_esc_dot_put(FILE *f, const char *s, size_t max)
{
    EscOut o = {.f = f};
    if (!s)
        s = "(null)";
    size_t n = strlen(s), shown = shown_len(s, n, max);
    for (size_t i = 0; i < shown;) {
        uint32_t cp;
        size_t k = utf8_seq((const unsigned char *)s + i, shown - i, &cp);
        if (k == 0 || is_control(cp)) {
            for (size_t j = 0; j < (k ? k : 1); j++) {
                put(&o, "\\", 1); /* DOT's escaped backslash, then the text \xNN */
                put_byte_escape(&o, false, (unsigned char)s[i + j]);
            }
            i += k ? k : 1;
            continue;
        }
        if (cp == '"' || cp == '\\')
            put(&o, "\\", 1);
        put(&o, s + i, k);
        i += k;
    }
    if (shown < n)
        put_cut_note(&o, s, n);
}

/* ---- the terminal ---- */

static void esc_term(EscOut *o, const char *s, size_t n, bool keep_newlines)
{
    for (size_t i = 0; i < n && !o->full;) {
        uint32_t cp;
        size_t k = utf8_seq((const unsigned char *)s + i, n - i, &cp);
        if (k == 0 || (is_control(cp) && cp != '\t' && !(keep_newlines && cp == '\n'))) {
            for (size_t j = 0; j < (k ? k : 1); j++)
                put_byte_escape(o, false, (unsigned char)s[i + j]);
            i += k ? k : 1;
            continue;
        }
        put(o, s + i, k);
        i += k;
    }
}

void ir_esc_term_putn(FILE *f, const char *s, size_t n, bool keep_newlines)
{
    EscOut o = {.f = f};
    esc_term(&o, s, n, keep_newlines);
}

const char *ir_esc_term(char *buf, size_t size, const char *s)
{
    EscOut o = {.buf = buf, .size = size};
    if (size)
        buf[0] = 0;
    if (!s)
        s = "(null)";
    esc_term(&o, s, strlen(s), false);
    return buf;
}
