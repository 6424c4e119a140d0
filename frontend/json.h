/* A small strict JSON (RFC 8259) reader and string writer, for the safetensors header.
 *
 * The reader is a pull parser: the caller walks the document with the schema it expects
 * (begin an object, read a key, read an integer...), so nothing but what the caller keeps
 * is allocated, whatever the input. It refuses what RFC 8259 refuses (trailing commas,
 * single quotes, comments, leading zeros, control characters and invalid UTF-8 in
 * strings, lone surrogate escapes), nests at most FE_JSON_MAX_DEPTH containers deep
 * (without recursing deeper than that), and converts integers with overflow checks.
 *
 * On the first error every call returns false and r->failed is set, with r->err saying
 * what was wrong and r->err_pos the byte offset where. The input need not be
 * NUL-terminated and may hold NUL bytes (they are errors outside strings). */
#ifndef SLIMC_FE_JSON_H
#define SLIMC_FE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FE_JSON_MAX_DEPTH 64

typedef enum JsonKind {
    FE_JSON_INVALID, /* end of input, or a byte that starts no value */
    FE_JSON_NULL,
    FE_JSON_BOOL,
    FE_JSON_NUMBER,
    FE_JSON_STRING,
    FE_JSON_ARRAY,
    FE_JSON_OBJECT,
} JsonKind;

typedef struct JsonReader {
    const char *text;
    size_t len;
    size_t pos;     /* next byte to read */
    int depth;      /* containers open */
    uint64_t first; /* bit k: the container at depth k+1 has had no member yet */
    bool failed;
    size_t err_pos;
    char err[160];
} JsonReader;

void fe_json_init(JsonReader *r, const char *text, size_t len);
/* The kind of the next value, after skipping whitespace; consumes nothing. */
JsonKind fe_json_peek(JsonReader *r);
/* A short name of a kind for messages ("a string", "an object"...). */
const char *fe_json_kind_name(JsonKind k);

/* Consumes '{'. Then call fe_json_next_key until it returns false: each true return has
 * read a key and its ':' (the caller must then read or skip the value); false means the
 * closing '}' was consumed, or an error (r->failed). *key is malloc'd, NUL-terminated,
 * decoded; *key_len is its length (the key may hold NUL bytes: compare with it). */
bool fe_json_begin_object(JsonReader *r);
bool fe_json_next_key(JsonReader *r, char **key, size_t *key_len);
/* Consumes '['. Then fe_json_next_item returns true before each element (which the
 * caller reads or skips) and false after consuming ']' or on an error. */
bool fe_json_begin_array(JsonReader *r);
bool fe_json_next_item(JsonReader *r);

/* A string value, decoded into a malloc'd NUL-terminated buffer. */
bool fe_json_string(JsonReader *r, char **out, size_t *len);
/* An integer value that fits int64_t: no fraction, no exponent. */
bool fe_json_int(JsonReader *r, int64_t *out);
/* Any value, checked but not kept. */
bool fe_json_skip(JsonReader *r);
/* True when only whitespace is left. */
bool fe_json_finish(JsonReader *r);
/* Sets the reader's error (first one wins) at the current position; returns false. */
bool fe_json_fail(JsonReader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes s[0..len) as a JSON string literal with its quotes. Returns false, writing
 * nothing, when s is not valid UTF-8. */
bool fe_json_write_string(FILE *f, const char *s, size_t len);
/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool fe_utf8_valid(const char *s, size_t len);
/* A printable excerpt of s[0..len) for messages, NUL-terminated in dst[0..cap): valid
 * UTF-8 is kept, control bytes and invalid bytes become \xHH, and a long text is cut
 * with "...". cap must be at least 8. Returns dst. */
char *fe_quote_for_message(char *dst, size_t cap, const char *s, size_t len);

#endif
