/* The expressions of elementwise ops in dtypes other than f32 (f64, f16 and bf16 computed in
 * double; the integers in uint64_t/int64_t), as C text that every C-family backend shares:
 * the C backend (codegen/c/elementwise_dtypes.c) and the CUDA backend
 * (codegen/cuda/elementwise_dtypes.c) differ only in the names of their integer helpers and
 * in how they spell infinities and 64-bit literals (a CgDialect). The operands are va, vb. */
#ifndef SLIMC_CODEGEN_C_TYPED_EXPR_H
#define SLIMC_CODEGEN_C_TYPED_EXPR_H

#include "codegen/c/text.h"

typedef struct CgDialect {
    const char *helper;    /* prefix of the integer helpers idiv, ipow, ishift: "slimc_cg_" */
    const char *inf, *nan; /* a double infinity and NaN: "INFINITY", "NAN" */
    const char *u64_pre, *u64_post; /* around the digits of a uint64_t literal: "UINT64_C(", ")" */
    /* A value of dtype t at x as a double (the float dtypes) or a uint64_t (the others), and
     * v (a double) written back as t. */
    const char *(*load)(CgCtx *c, DType t, const char *x);
    const char *(*store)(CgCtx *c, DType t, const char *v);
    const char *f2i64; /* applied to a double in parentheses: an int64_t ("(int64_t)") */
} CgDialect;

/* n's expression over va (and vb), in double; clip's and leaky_relu's attributes as
 * literals. An op without one is an error (cg_error) and gives "va". */
const char *cg_typed_float_expr(CgCtx *c, const Node *n, const CgDialect *dl);
/* n's expression over va (and vb) for integer dtype t (computed in 64 bits, wrapping as t's
 * C type when stored). An op without one is an error and gives "va". */
const char *cg_typed_int_expr(CgCtx *c, const Node *n, DType t, const CgDialect *dl);

/* The body of one element f of cast node n from or to float8, f4e2m1 or a packed integer
 * (as ir/eval_dtypes.c), indented for the loops both backends open around it: it reads x
 * (bytes for the packed dtypes) and writes dst[f], dsto[f], or element f's bits of the
 * output byte dst[it] when the output packs several a byte. The float8 helpers (the
 * dialect's f8_value, f8_bits, e8m0_*, f4_*, f2i) must be in the file. */
void cg_cast_element(CgCtx *c, const Node *n, const CgDialect *dl);

#endif
