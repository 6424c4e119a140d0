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
} CgDialect;

/* n's expression over va (and vb), in double; clip's and leaky_relu's attributes as
 * literals. An op without one is an error (cg_error) and gives "va". */
const char *cg_typed_float_expr(CgCtx *c, const Node *n, const CgDialect *dl);
/* n's expression over va (and vb) for integer dtype t (computed in 64 bits, wrapping as t's
 * C type when stored). An op without one is an error and gives "va". */
const char *cg_typed_int_expr(CgCtx *c, const Node *n, DType t, const CgDialect *dl);

#endif
