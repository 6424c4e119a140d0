#include "ir/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaBlock {
    ArenaBlock *next;
    size_t size, used;
    _Alignas(64) unsigned char data[];
};

enum { ARENA_BLOCK_BYTES = 64 * 1024, ARENA_ALIGN = 64 };

_Noreturn void slimc_assert_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "slimc: internal error: %s:%d: assertion failed: %s\n", file, line, what);
    abort();
}

Arena *ir_arena_new(void)
{
    Arena *a = calloc(1, sizeof *a);
    if (!a) {
        fputs("slimc: out of memory\n", stderr);
        abort();
    }
    return a;
}

void ir_arena_free(Arena *a)
{
    if (!a)
        return;
    for (ArenaBlock *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *ir_arena_alloc(Arena *a, size_t size)
{
    if (size > SIZE_MAX / 2) { /* rounding up below would wrap to a small block */
        fputs("slimc: out of memory\n", stderr);
        abort();
    }
    size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    ArenaBlock *b = a->head;
    if (!b || b->size - b->used < need) {
        size_t bs = need > ARENA_BLOCK_BYTES ? need : ARENA_BLOCK_BYTES;
        /* Big allocations get a block of their own, behind the current one, so that the
         * current block's free tail is not wasted. */
        b = aligned_alloc(ARENA_ALIGN,
                          (sizeof *b + bs + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));
        if (!b) {
            fputs("slimc: out of memory\n", stderr);
            abort();
        }
        b->size = bs;
        b->used = 0;
        if (need > ARENA_BLOCK_BYTES / 2 && a->head) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used_bytes += need;
    memset(p, 0, need);
    return p;
}

void *ir_arena_grow(Arena *a, void *old, size_t old_size, size_t new_size)
{
    void *p = ir_arena_alloc(a, new_size);
    if (old && old_size)
        memcpy(p, old, old_size < new_size ? old_size : new_size);
    return p;
}

char *ir_arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = ir_arena_alloc(a, n + 1);
    if (n) /* s may be NULL when n is 0 (protobuf-c's empty strings) */
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *ir_arena_strdup(Arena *a, const char *s)
{
    return ir_arena_strndup(a, s, strlen(s));
}

char *ir_arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    SLIMC_ASSERT(n >= 0);
    char *p = ir_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
