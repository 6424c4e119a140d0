/* Arena allocation: everything one compilation allocates lives in one Arena and is
 * released by a single ir_arena_free(). ir/ and passes/ never call free(). */
#ifndef SLIMC_IR_ARENA_H
#define SLIMC_IR_ARENA_H

#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
    ArenaBlock *head;  /* newest block first */
    size_t used_bytes; /* total handed out, for statistics */
} Arena;

Arena *ir_arena_new(void);
void ir_arena_free(Arena *a);
/* Zeroed memory, aligned to 64 bytes (enough for any SIMD load). Aborts on OOM. */
void *ir_arena_alloc(Arena *a, size_t size);
/* A copy of old[0..old_size) in a new block of new_size bytes (the rest zeroed). */
void *ir_arena_grow(Arena *a, void *old, size_t old_size, size_t new_size);
char *ir_arena_strdup(Arena *a, const char *s);
char *ir_arena_strndup(Arena *a, const char *s, size_t n);
char *ir_arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Internal-bug assertion: names the file and line and aborts. Never for user errors. */
#define SLIMC_ASSERT(cond) ((cond) ? (void)0 : slimc_assert_fail(#cond, __FILE__, __LINE__))
_Noreturn void slimc_assert_fail(const char *what, const char *file, int line);

#endif
