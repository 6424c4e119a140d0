/* The host side of a generated module that every backend writing C-family code shares: where
 * each value's buffer lies (an input, a weight, an output, or an offset in the arena from the
 * memory plan), the function that tells the caller the arena's size, the entry's checks of
 * the symbol values, and the copies of outputs no node wrote. The C backend's entry runs the
 * kernels on the CPU; the CUDA backend's host half (codegen/cuda/) launches them, with the
 * same pointers in device memory. A backend names how it copies bytes (memcpy, or the CUDA
 * runtime's copy), and the rest is one text. */
#ifndef SLIMC_CODEGEN_C_ENTRY_H
#define SLIMC_CODEGEN_C_ENTRY_H

#include "codegen/c/text.h"

/* The value whose buffer v uses (views share their input's storage). */
ValueId cg_storage_of(const Graph *g, ValueId v);
/* When the place pass decided the graph's devices (Graph.place.report): a comment saying
 * how, with the profile's source and hash, so that the file (and the JIT cache key made
 * from it) records every choice made from the profile. */
void cg_placement_comment(CgCtx *c);
/* A concat that memplan runs in place: its inputs already lie in its result. */
bool cg_concat_in_place(const Graph *g, const Node *n);
/* Whether node n's kernel may set the error flag (an index out of range): the entry
 * returns 3 right after it. */
bool cg_sets_error(const Node *n);
/* The position of v among the graph's outputs / inputs, or -1. */
int cg_output_index(const Graph *g, ValueId v);
int cg_input_index(const Graph *g, ValueId v);

/* `size_t P_arena_bytes(const int64_t *syms)`: the arena's size for these symbol values,
 * SIZE_MAX when it overflows. Sets c->arena_syms. */
void cg_entry_arena_fn(CgCtx *c);
/* `size_t P_host_arena_bytes(const int64_t *syms)`: a mixed-device graph's CPU arena
 * (Graph.host_arena_bytes), as cg_entry_arena_fn. Sets c->host_arena_syms. */
void cg_entry_host_arena_fn(CgCtx *c);
/* The entry's first statements after its opening brace: the symbol locals and the checks
 * (each symbol positive: return 1; the arena and each output's size fit: return 4; each view
 * keeps its element count: return 2). syms, the entry's parameter, holds the values. */
void cg_entry_checks(CgCtx *c);
/* Declares the pointer of every value the nodes use (`base` is the arena; consts, inputs
 * and outputs the entry's parameters; in a mixed-device graph also `hbase`, the CPU's
 * arena, and `host_consts`, the weights in host memory), then marks each used. */
void cg_entry_values(CgCtx *c);
/* Where value v's buffer lies (cg_entry_value_pointer). */
enum { CG_PTR_CONST, CG_PTR_INPUT, CG_PTR_OUTPUT, CG_PTR_ARENA };
typedef struct CgValuePtr {
    const char *ctype; /* its elements' C type */
    const char *expr;  /* the pointer as a C expression ("consts[3]", "base + (64 * sym_N)") */
    const char *note;  /* for a comment: its type, "a view", the concat it lies in */
    bool ro;           /* read-only (an input, a weight) */
    int kind;          /* CG_PTR_* */
    int64_t at;        /* the index into consts, inputs or outputs; the arena offset if fixed */
    bool fixed;        /* CG_PTR_ARENA: the offset does not depend on the symbols (at) */
} CgValuePtr;
/* Where value v's buffer lies, into *p; false for a value the entry does not point at. In a
 * mixed-device graph, constants read on the CPU come from host_consts and the CPU's
 * temporaries lie in its arena, hbase (the CUDA backend's host half declares both; such
 * an offset is never `fixed`); on_gpu (cg_entry_gpu_consts) says which constants the GPU
 * reads. */
bool cg_entry_value_pointer(CgCtx *c, int v, const bool *on_gpu, CgValuePtr *p);
/* The constants a mixed-device graph's GPU reads (NULL when the graph is not mixed). */
const bool *cg_entry_gpu_consts(CgCtx *c);

/* How a backend copies n bytes: prints the statement(s) at indentation 4 (dst, src and
 * bytes are C expressions; note, escaped text or NULL, says what is copied). */
typedef void (*CgCopyFn)(CgCtx *c, const char *dst, const char *src, const char *bytes,
                         const char *note);
/* A view that is an output of its own storage: its bytes copied from its input (nothing
 * for other views). */
void cg_entry_view_copy(CgCtx *c, NodeId id, CgCopyFn copy);
/* The outputs no node wrote: inputs, constants and repeated outputs, copied. */
void cg_entry_output_copies(CgCtx *c, CgCopyFn copy);

#endif
