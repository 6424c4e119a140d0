/* A strict pull parser for JSON (RFC 8259); see json.h for the contract. */
#include "frontend/json.h"
#include "runtime/model_desc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void fe_json_init(JsonReader *r, const char *text, size_t len)
{
    memset(r, 0, sizeof *r);
    r->text = text;
    r->len = len;
}

bool fe_json_fail(JsonReader *r, const char *fmt, ...)
{
    if (r->failed)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->failed = true;
    r->err_pos = r->pos;
    return false;
}

static void skip_ws(JsonReader *r)
{
    while (r->pos < r->len) {
        char c = r->text[r->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        r->pos++;
    }
}

bool fe_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = rt_utf8_seq(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

char *fe_quote_for_message(char *dst, size_t cap, const char *s, size_t len)
{
    return rt_quote_for_message(dst, cap, s, len);
}

/* Describes the byte at the current position for a message. */
static const char *found(JsonReader *r, char *buf, size_t cap)
{
    if (r->pos >= r->len)
        return "the end of the header";
    unsigned char c = (unsigned char)r->text[r->pos];
    if (c >= 0x20 && c < 0x7F)
        snprintf(buf, cap, "'%c'", c);
    else
        snprintf(buf, cap, "byte 0x%02X", c);
    return buf;
}

JsonKind fe_json_peek(JsonReader *r)
{
    skip_ws(r);
    if (r->failed || r->pos >= r->len)
        return FE_JSON_INVALID;
    char c = r->text[r->pos];
    switch (c) {
    case '{': return FE_JSON_OBJECT;
    case '[': return FE_JSON_ARRAY;
    case '"': return FE_JSON_STRING;
    case 't':
    case 'f': return FE_JSON_BOOL;
    case 'n': return FE_JSON_NULL;
    default: return c == '-' || (c >= '0' && c <= '9') ? FE_JSON_NUMBER : FE_JSON_INVALID;
    }
}

const char *fe_json_kind_name(JsonKind k)
{
    switch (k) {
    case FE_JSON_NULL: return "null";
    case FE_JSON_BOOL: return "a boolean";
    case FE_JSON_NUMBER: return "a number";
    case FE_JSON_STRING: return "a string";
    case FE_JSON_ARRAY: return "an array";
    case FE_JSON_OBJECT: return "an object";
    case FE_JSON_INVALID: break;
    }
    return "no JSON value";
}

/* Fails with "expected WHAT, found ...". */
static bool expected(JsonReader *r, const char *what)
{
    char buf[32];
    JsonKind k = fe_json_peek(r);
    if (k == FE_JSON_INVALID)
        return fe_json_fail(r, "expected %s, found %s", what, found(r, buf, sizeof buf));
    return fe_json_fail(r, "expected %s, found %s", what, fe_json_kind_name(k));
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits of a \u escape at r->pos. */
static bool read_hex4(JsonReader *r, unsigned *out)
{
    if (r->len - r->pos < 4)
        return fe_json_fail(r, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(r->text[r->pos + (size_t)i]);
        if (h < 0)
            return fe_json_fail(r, "invalid \\u escape (4 hex digits expected)");
        v = v * 16 + (unsigned)h;
    }
    r->pos += 4;
    *out = v;
    return true;
}

/* Appends code point cp as UTF-8 at dst+*o (dst may be NULL: only counts). */
static void put_utf8(char *dst, size_t *o, unsigned cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (dst)
        memcpy(dst + *o, b, n);
    *o += n;
}

/* Scans the string literal at r->pos (which is '"'), decoding it into dst when dst is
 * not NULL (dst needs *out_len bytes from a previous measuring call). */
static bool scan_string(JsonReader *r, char *dst, size_t *out_len)
{
    size_t o = 0;
    r->pos++; /* the opening quote */
    for (;;) {
        if (r->pos >= r->len)
            return fe_json_fail(r, "unterminated string");
        unsigned char c = (unsigned char)r->text[r->pos];
        if (c == '"') {
            r->pos++;
            break;
        }
        if (c < 0x20)
            return fe_json_fail(r, "control character 0x%02X in a string (must be escaped)", c);
        if (c != '\\') {
            size_t n = rt_utf8_seq((const unsigned char *)r->text + r->pos, r->len - r->pos);
            if (n == 0)
                return fe_json_fail(r, "invalid UTF-8 in a string");
            if (dst)
                memcpy(dst + o, r->text + r->pos, n);
            o += n;
            r->pos += n;
            continue;
        }
        if (r->pos + 1 >= r->len)
            return fe_json_fail(r, "unterminated string");
        char e = r->text[r->pos + 1];
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(from, e) : NULL;
        if (hit) {
            if (dst)
                dst[o] = to[hit - from];
            o++;
            r->pos += 2;
            continue;
        }
        if (e != 'u')
            return fe_json_fail(r, "invalid escape '\\%c' in a string",
                                e >= 0x20 && e < 0x7F ? e : '?');
        r->pos += 2;
        unsigned cp;
        if (!read_hex4(r, &cp))
            return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fe_json_fail(r, "lone low surrogate \\u%04X in a string", cp);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (r->len - r->pos < 2 || r->text[r->pos] != '\\' || r->text[r->pos + 1] != 'u')
                return fe_json_fail(r, "lone high surrogate \\u%04X in a string", cp);
            r->pos += 2;
            if (!read_hex4(r, &lo))
                return false;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return fe_json_fail(r, "high surrogate \\u%04X not followed by a low one", cp);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        put_utf8(dst, &o, cp);
    }
    *out_len = o;
    return true;
}

/* Reads a string literal into a malloc'd buffer (measured first, then decoded). */
static bool read_string(JsonReader *r, char **out, size_t *len)
{
    size_t start = r->pos, n;
    if (!scan_string(r, NULL, &n))
        return false;
    char *s = malloc(n + 1);
    if (!s)
        return fe_json_fail(r, "out of memory for a string of %zu bytes", n);
    r->pos = start;
    scan_string(r, s, &n); /* cannot fail: the same bytes passed above */
    s[n] = 0;
    *out = s;
    if (len)
        *len = n;
    return true;
}

bool fe_json_string(JsonReader *r, char **out, size_t *len)
{
    *out = NULL;
    if (fe_json_peek(r) != FE_JSON_STRING)
        return expected(r, "a string");
    return read_string(r, out, len);
}

static bool is_digit(const JsonReader *r)
{
    return r->pos < r->len && r->text[r->pos] >= '0' && r->text[r->pos] <= '9';
}

/* Scans the number at r->pos; *int_end is where its integer digits end, *is_int whether
 * it has neither fraction nor exponent. */
static bool scan_number(JsonReader *r, size_t *int_end, bool *is_int)
{
    if (r->text[r->pos] == '-')
        r->pos++;
    if (!is_digit(r))
        return fe_json_fail(r, "invalid number (a digit must follow '-')");
    if (r->text[r->pos] == '0') {
        r->pos++;
        if (is_digit(r))
            return fe_json_fail(r, "invalid number (leading zero)");
    } else
        while (is_digit(r))
            r->pos++;
    *int_end = r->pos;
    *is_int = true;
    if (r->pos < r->len && r->text[r->pos] == '.') {
        r->pos++;
        if (!is_digit(r))
            return fe_json_fail(r, "invalid number (a digit must follow '.')");
        while (is_digit(r))
            r->pos++;
        *is_int = false;
    }
    if (r->pos < r->len && (r->text[r->pos] == 'e' || r->text[r->pos] == 'E')) {
        r->pos++;
        if (r->pos < r->len && (r->text[r->pos] == '+' || r->text[r->pos] == '-'))
            r->pos++;
        if (!is_digit(r))
            return fe_json_fail(r, "invalid number (a digit must follow the exponent)");
        while (is_digit(r))
            r->pos++;
        *is_int = false;
    }
    return true;
}

bool fe_json_int(JsonReader *r, int64_t *out)
{
    *out = 0;
    if (fe_json_peek(r) != FE_JSON_NUMBER)
        return expected(r, "an integer");
    size_t start = r->pos, int_end;
    bool is_int;
    if (!scan_number(r, &int_end, &is_int))
        return false;
    if (!is_int) {
        size_t n = r->pos - start;
        r->pos = start;
        return fe_json_fail(r, "expected an integer, found '%.*s'%s", (int)(n < 40 ? n : 40),
                            r->text + start, n > 40 ? "..." : "");
    }
    bool neg = r->text[start] == '-';
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (size_t i = start + (neg ? 1 : 0); i < int_end; i++) {
        unsigned digit = (unsigned)(r->text[i] - '0');
        if (v > (limit - digit) / 10) {
            r->pos = start;
            return fe_json_fail(r, "integer %.*s%s out of range",
                                (int)(int_end - start < 40 ? int_end - start : 40), r->text + start,
                                int_end - start > 40 ? "..." : "");
        }
        v = v * 10 + digit;
    }
    /* -(2^63) is representable; converting through the unsigned negation avoids overflow */
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

static bool read_literal(JsonReader *r)
{
    static const char *const words[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if (r->len - r->pos >= n && memcmp(r->text + r->pos, words[i], n) == 0) {
            r->pos += n;
            return true;
        }
    }
    return fe_json_fail(r, "invalid literal (expected true, false or null)");
}

static bool open_container(JsonReader *r, JsonKind kind)
{
    if (fe_json_peek(r) != kind)
        return expected(r, fe_json_kind_name(kind));
    if (r->depth >= FE_JSON_MAX_DEPTH)
        return fe_json_fail(r, "nesting deeper than %d levels", FE_JSON_MAX_DEPTH);
    r->pos++;
    r->first |= (uint64_t)1 << r->depth;
    r->depth++;
    return true;
}

bool fe_json_begin_object(JsonReader *r)
{
    return open_container(r, FE_JSON_OBJECT);
}
bool fe_json_begin_array(JsonReader *r)
{
    return open_container(r, FE_JSON_ARRAY);
}

/* Before a member or element: consumes the ',' that separates it from the previous one,
 * or the closing bracket (returning false with r->failed unset). */
static bool next_member(JsonReader *r, char close)
{
    skip_ws(r);
    if (r->failed || r->depth <= 0)
        return false;
    uint64_t bit = (uint64_t)1 << (r->depth - 1);
    if (r->pos < r->len && r->text[r->pos] == close) {
        r->pos++;
        r->depth--;
        return false;
    }
    if (r->first & bit) {
        r->first &= ~bit;
        return true;
    }
    if (r->pos >= r->len || r->text[r->pos] != ',') {
        char buf[32];
        return fe_json_fail(r, "expected ',' or '%c', found %s", close, found(r, buf, sizeof buf));
    }
    r->pos++;
    return true;
}

/* Reads a key (into *key when key is not NULL) and the ':' after it. */
static bool read_key(JsonReader *r, char **key, size_t *key_len)
{
    if (fe_json_peek(r) != FE_JSON_STRING)
        return expected(r, "a string key");
    if (key) {
        if (!read_string(r, key, key_len))
            return false;
    } else {
        size_t n;
        if (!scan_string(r, NULL, &n))
            return false;
    }
    skip_ws(r);
    if (r->pos >= r->len || r->text[r->pos] != ':') {
        char buf[32];
        return fe_json_fail(r, "expected ':' after a key, found %s", found(r, buf, sizeof buf));
    }
    r->pos++;
    return true;
}

bool fe_json_next_key(JsonReader *r, char **key, size_t *key_len)
{
    *key = NULL;
    if (!next_member(r, '}'))
        return false;
    if (!read_key(r, key, key_len)) {
        free(*key);
        *key = NULL;
        return false;
    }
    return true;
}

bool fe_json_next_item(JsonReader *r)
{
    return next_member(r, ']');
}

/* Recursion is bounded: open_container refuses more than FE_JSON_MAX_DEPTH levels. */
bool fe_json_skip(JsonReader *r)
{
    size_t n, int_end;
    bool is_int;
    switch (fe_json_peek(r)) {
    case FE_JSON_OBJECT:
        if (!fe_json_begin_object(r))
            return false;
        while (next_member(r, '}'))
            if (!read_key(r, NULL, NULL) || !fe_json_skip(r))
                return false;
        return !r->failed;
    case FE_JSON_ARRAY:
        if (!fe_json_begin_array(r))
            return false;
        while (next_member(r, ']'))
            if (!fe_json_skip(r))
                return false;
        return !r->failed;
    case FE_JSON_STRING: return scan_string(r, NULL, &n);
    case FE_JSON_NUMBER: return scan_number(r, &int_end, &is_int);
    case FE_JSON_NULL:
    case FE_JSON_BOOL: return read_literal(r);
    case FE_JSON_INVALID: break;
    }
    return expected(r, "a value");
}

bool fe_json_finish(JsonReader *r)
{
    skip_ws(r);
    if (r->failed)
        return false;
    if (r->pos < r->len) {
        char buf[32];
        return fe_json_fail(r, "unexpected %s after the JSON value", found(r, buf, sizeof buf));
    }
    return true;
}

bool fe_json_write_string(FILE *f, const char *s, size_t len)
{
    if (!fe_utf8_valid(s, len))
        return false;
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (c < 0x20)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
    return true;
}
