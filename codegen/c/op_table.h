/* The C backend's op table: for each op kind, the emitter that writes a node's body and
 * the check of its dtypes the backend runs first. Indexed by OpKind; an op without an
 * emitter is one the C backend does not implement (tests/unit/test_backend.c checks this
 * against cg_backend_c.claims). */
#ifndef SLIMC_CODEGEN_C_OP_TABLE_H
#define SLIMC_CODEGEN_C_OP_TABLE_H

#include "codegen/c/text.h"

/* Which dtypes a node may have (emit.c, node_supported). */
typedef enum CgCheck {
    CG_CHECK_F32,   /* f32 data; IR_F_ANY_DTYPE ops any dtype but i4; elementwise ops in
                     * other dtypes go to elementwise_dtypes.c (the default) */
    CG_CHECK_PLAIN, /* plain (unpacked, unquantized) dtypes, no epilogue: the index ops */
    CG_CHECK_QUANT, /* dtypes checked by the shape function: the int8 ops */
} CgCheck;

typedef struct CgOpEmitter {
    void (*emit)(CgCtx *c, NodeId id, CgKernel *k); /* writes the body, fills k */
    CgCheck check;
} CgOpEmitter;

extern const CgOpEmitter cg_c_ops[IR_NUM_OPS];

#endif
