/* The text helpers of the C emitter: the emission state (CgCtx), the one printf-style
 * helper every emitter goes through, escaping of model text, C expressions of dims and
 * shapes, identifiers for values/nodes/symbols, and the frame of a node's body function.
 *
 * The include chain of codegen/c/ runs one way: text.h (this file; codegen/c/text.c) <-
 * the op-family files (conv.c, gemm.c, norm.c, ...; declared in cg_internal.h) <- the op
 * table (op_table.c) <- the C backend (emit.c, codegen/backend.h) <- the driver
 * (codegen/driver.c). Nothing here calls an op family or the backend.
 *
 * Every node becomes one body function `static void node_NAME(void *p, int64_t i0,
 * int64_t i1)` that computes the items [i0, i1) of the node's parallel split (rows,
 * planes, tiles...). p points to a `slimc_args` (declared in the generated prelude): the
 * node's input pointers in[], its output out, its epilogue operands ep[], the symbol
 * values syms and an error flag err. Inside a body the output is `out`, symbols are
 * locals `sym_NAME`, and a node with an epilogue has `epi_node_NAME(a, out, f0, len)`
 * applying the epilogue to out[f0, f0 + len). */
#ifndef SLIMC_CODEGEN_C_TEXT_H
#define SLIMC_CODEGEN_C_TEXT_H

#include "codegen/backend.h"
#include "ir/arena.h"
#include "ir/graph.h"

/* What a kernel emitter tells the driver about the body it wrote. */
typedef struct CgKernel {
    const char *items; /* C expression: number of parallel items of the body */
    const char *work;  /* C expression: rough multiply-adds of the whole node */
    bool ep_done;      /* the body applied the epilogue itself */
} CgKernel;

typedef struct CgCtx {
    const Graph *g;
    FILE *out;
    Diag *d;
    Arena *arena; /* strings made while emitting */
    const char *prefix;
    const char *label;      /* the backend, as diagnostics name it ("C backend") */
    const char **fn_names;  /* per node: its body function */
    const char **val_names; /* per value: its C identifier in P_run */
    const char **sym_names; /* per symbol: its C identifier ("sym_N") */
    CgKernel *kernels;      /* per node: what its emitter reported (emit.c) */
    bool arena_syms;        /* the arena's size depends on symbol values (emit.c) */
    bool host_arena_syms;   /* so does a mixed graph's CPU arena (cg_entry_host_arena_fn) */
    bool derive_emitted;    /* P_derive_syms is written (entry.c, derived symbols only) */
    bool profile;           /* timers around each node (CgOptions.profile) */
    CgSplit *split;         /* CgOptions.split when the file is cut into parts, else NULL */
    const char *fn_storage; /* what body functions are: "static", or "SLIMC_CG_FN" (split) */
    struct CgDedup *dedup;  /* JIT: the bodies written so far, to reuse identical ones (emit.c) */
    struct CgTable *table;  /* JIT, large graphs: P_run as tables (entry_table.c), else NULL */
    bool ok;
} CgCtx;

/* Output: the one printf-style helper every emitter goes through. */
void cg_printf(CgCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text of slimc's own (a helper's source): written as it is, checked for plain ASCII. */
void cg_puts(CgCtx *c, const char *text, size_t n);
/* Text from the model (a name, a path, an attribute string) made fit for a generated
 * comment: ir_esc_c, cut at IR_ESC_NAME_MAX. Every such string goes through this;
 * cg_printf refuses text that opens or closes a comment in an argument. */
const char *cg_text(CgCtx *c, const char *s);
/* A type as ir_type_str writes it (with its symbols' names), escaped the same way. */
const char *cg_type_text(CgCtx *c, const Type *t);
/* A user-facing error about node n (unsupported op/dtype/attribute); marks c failed. */
void cg_error(CgCtx *c, const Node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
char *cg_strf(CgCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ir_shape_numel of s for node id (IR_NONE: none); when the count is not a product of
 * symbols, reports it as cg_error does and returns false (*out is then 0). */
bool cg_numel(CgCtx *c, NodeId id, const Shape *s, Dim *out);

/* tmpl (a scalar expression of ops.def, spelled as C or CUDA text) with x, y, p0, p1 replaced by
 * args[0..3] (parenthesized unless a name or an indexed name). */
const char *cg_scalar_expand(CgCtx *c, const char *tmpl, const char *const args[4]);

/* A float literal of v rounded to f32 ("0.5f", "6.0f", "-INFINITY", "NAN"). */
const char *cg_float(CgCtx *c, double v);
/* C expression of a dimension ("28", "sym_N", "(800 * sym_N)"). */
const char *cg_dim(CgCtx *c, Dim d);
/* C expression of the product of dims [from, to) of s ("1" when empty). */
const char *cg_prod(CgCtx *c, const Shape *s, int from, int to);
/* How body functions are declared: "static", or SLIMC_CG_FN in a split file (CgSplit). */
static inline const char *cg_fn_storage(const CgCtx *c)
{
    return c->fn_storage ? c->fn_storage : "static";
}
static inline const Shape *cg_shape(const CgCtx *c, ValueId v)
{
    return &c->g->values[v].type.shape;
}

/* Opens a body function: its signature, `a`, the symbol locals the node needs, and the
 * typed restrict pointers `in_names[i]` for inputs (absent optional inputs are NULL) and
 * `out` for the output. in_names may be shorter than n_inputs (NULL entries skipped). */
void cg_body_begin(CgCtx *c, NodeId id, const char *const *in_names, int n_names);
void cg_body_end(CgCtx *c);
/* Prints, at the given indentation, the call applying n's epilogue to out[f0, f0 + len);
 * nothing when n has none. */
void cg_ep_call(CgCtx *c, NodeId id, int indent, const char *f0, const char *len);

/* The comment before a node's code: its name, op, inputs with their types, output,
 * attributes and fused epilogue. */
void cg_node_comment(CgCtx *c, const Node *n);

/* The dtype of value v. */
DType cg_dtype_of(CgCtx *c, ValueId v);
/* f32, f64, f16 or bf16. */
bool cg_dtype_is_float(DType t);
/* A signed integer dtype (not bool, not a float). */
bool cg_dtype_is_signed_int(DType t);
/* Declares `T *restrict dst`, node n's output in its own dtype (in a body). */
void cg_declare_dst(CgCtx *c, const Node *n);
/* `const int64_t NAME[R] = {d0, d1, ...};` for the dims of s (R >= 1). */
void cg_dims_array(CgCtx *c, const char *name, const Shape *s);
/* The element strides of s, as cg_dims_array. */
void cg_strides_array(CgCtx *c, const char *name, const Shape *s);

/* Names: fills c->val_names, c->fn_names and c->sym_names with unique C identifiers made
 * from the model's names (sanitized, never a keyword or one of the generated code's own). */
void cg_make_names(CgCtx *c);
/* The entry points' prefix as a C identifier: [A-Za-z0-9_], not led by a digit, at most
 * 120 bytes (a model named after its file, "my.model", gives "my_model"). */
const char *cg_entry_prefix(CgCtx *c, const char *prefix);

#endif
